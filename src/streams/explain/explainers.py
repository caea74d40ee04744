"""Pick and build the explainer of a model: exact for linear models, shap's
TreeExplainer for tree ensembles, shap's KernelExplainer for anything else.

Every explainer explains the same output of the model (:func:`model_output`): the
margin (``decision_function``) of a binary classifier that has one, else the
probability of the positive class, or a regressor's value. shap is imported only
here and only when a tree or kernel explainer is built, so the linear path and the
rest of the package run without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from streams.explain.artifact import ModelArtifact
from streams.explain.attributions import Attributions
from streams.explain.background import Background
from streams.explain.errors import ArtifactError, MissingExtra
from streams.explain.linear import LinearShap, linear_weights

__all__ = [
    "ExplainerSettings",
    "KernelShap",
    "ShapExplainer",
    "TreeShap",
    "make_explainer",
    "model_output",
]

#: Modules whose models shap's TreeExplainer reads natively.
TREE_MODULES = ("sklearn.ensemble", "sklearn.tree", "xgboost", "lightgbm")


class ShapExplainer(Protocol):
    name: str
    version: str
    shap_version: str | None
    output: str
    background: Background

    def explain(self, x: np.ndarray) -> Attributions: ...


@dataclass(frozen=True)
class ExplainerSettings:
    """``kernel_samples``: coalitions KernelExplainer evaluates per row (fixed, so the
    cost per row is known); ``kernel_background``: k-means centres it integrates over;
    ``tree_background``: rows TreeExplainer's interventional expectation runs over."""

    kernel_samples: int = 200
    kernel_background: int = 10
    tree_background: int = 100
    seed: int = 0


def model_output(model: Any) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """The output every explainer of ``model`` explains, and how to compute it."""
    classes = getattr(model, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise ArtifactError(f"{type(model).__name__} has {len(classes)} classes: binary only")
    if classes is not None and hasattr(model, "decision_function"):
        return "margin", lambda x: np.ravel(model.decision_function(x))
    if classes is not None:
        return "probability", lambda x: model.predict_proba(x)[:, 1]
    return "value", lambda x: np.ravel(model.predict(x))


def _shap() -> Any:
    try:
        import shap
    except ImportError as exc:
        raise MissingExtra(
            "tree and kernel explainers need shap: pip install 'streams[explain]'"
        ) from exc
    return shap


class TreeShap:
    """shap's TreeExplainer, interventional over a background sample: exact Shapley
    values of the expected output with absent features drawn from the background,
    the same game KernelShap approximates."""

    name = "tree"
    output = "margin"

    def __init__(self, model: Any, background: Background) -> None:
        shap = _shap()
        self.shap_version = shap.__version__
        self.version = f"shap {shap.__version__}"
        self.background = background
        self.output, self._f = model_output(model)
        self._explainer = shap.TreeExplainer(
            model, background.rows, feature_perturbation="interventional", model_output="raw"
        )

    def explain(self, x: np.ndarray) -> Attributions:
        values = np.asarray(self._explainer.shap_values(x, check_additivity=False))
        base = np.ravel(self._explainer.expected_value)
        if values.ndim == 3:  # a forest's class probabilities: the positive class
            values, base = values[..., 1], base[1:]
        return Attributions(values, np.full(x.shape[0], float(base[0])), self._f(x))


class KernelShap:
    """shap's KernelExplainer with a fixed number of coalitions per row and a small
    weighted k-means background: model-agnostic, approximate, slow (docs/explain.md)."""

    name = "kernel"

    def __init__(self, model: Any, background: Background, samples: int, seed: int = 0) -> None:
        shap = _shap()
        self.shap_version = shap.__version__
        self.version = f"shap {shap.__version__}"
        self.background = background
        self.samples = samples
        self.seed = seed
        self.output, self._f = model_output(model)
        data = shap.utils._legacy.DenseData(
            background.rows,
            [str(i) for i in range(background.rows.shape[1])],
            None,
            background.weights,
        )
        self._explainer = shap.KernelExplainer(self._f, data)

    def explain(self, x: np.ndarray) -> Attributions:
        # KernelExplainer samples coalitions from numpy's global generator: seeded
        # here so an explanation can be reproduced, and the caller's state restored
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            values = self._explainer.shap_values(
                x, nsamples=self.samples, l1_reg=False, silent=True
            )
        finally:
            np.random.set_state(state)
        base = float(np.ravel(self._explainer.expected_value)[0])
        return Attributions(
            np.asarray(values).reshape(x.shape), np.full(x.shape[0], base), self._f(x)
        )


def make_explainer(
    artifact: ModelArtifact, settings: ExplainerSettings = ExplainerSettings()
) -> ShapExplainer:
    """The explainer for the artifact's model (the module docstring says which)."""
    model, rows = artifact.model, artifact.background
    if rows.shape[0] == 0:
        raise ArtifactError("the artifact has no background rows: SHAP values need them")
    linear = linear_weights(model)
    if linear is not None:
        return LinearShap(*linear, Background.of(rows), model_output(model)[0])
    if type(model).__module__.startswith(TREE_MODULES):
        return TreeShap(model, Background.sample(rows, settings.tree_background, settings.seed))
    background = Background.kmeans(rows, settings.kernel_background)
    return KernelShap(model, background, settings.kernel_samples, settings.seed)
