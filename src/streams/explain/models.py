"""The models ``streams explain serve`` explains: each configured model with an
``explain`` section, its artifact loaded, its explainer built and its sampler."""

from __future__ import annotations

from dataclasses import dataclass

from streams.config.models import ModelConfig, MonitorConfig
from streams.explain.artifact import ModelArtifact, load_artifact
from streams.explain.errors import ArtifactError, ExplainError
from streams.explain.explainers import ExplainerSettings, ShapExplainer, make_explainer
from streams.sampling import Sampler

__all__ = ["ExplainedModel", "explained_models"]


@dataclass(frozen=True)
class ExplainedModel:
    """One model's explainer, the explanation tier's sampler and the batch bound."""

    model_id: str
    artifact: ModelArtifact
    explainer: ShapExplainer
    sampler: Sampler
    batch_size: int

    @classmethod
    def from_config(cls, model: ModelConfig) -> ExplainedModel:
        assert model.explain is not None
        artifact = load_artifact(model.explain.artifact)
        unknown = sorted(set(artifact.features) - set(model.features))
        if unknown:
            raise ArtifactError(
                f"model {model.id!r}: the artifact reads features the config lacks: {unknown}"
            )
        settings = ExplainerSettings(
            kernel_samples=model.explain.kernel_samples,
            kernel_background=model.explain.kernel_background,
            tree_background=model.explain.tree_background,
        )
        return cls(
            model.id,
            artifact,
            make_explainer(artifact, settings),
            Sampler.from_config(model.sampling),
            model.explain.batch_size,
        )


def explained_models(config: MonitorConfig) -> dict[str, ExplainedModel]:
    """Every model of ``config`` that has an ``explain`` section, by id."""
    models = {m.id: ExplainedModel.from_config(m) for m in config.models if m.explain}
    if not models:
        raise ExplainError("no model of the config has an `explain:` section (docs/explain.md)")
    return models
