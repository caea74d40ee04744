"""One ``streams explain anchor`` request: the prediction's row (from the topic or
given), the model's artifact, and the anchor search over its background rows."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from streams.config.models import ModelConfig, MonitorConfig
from streams.explain.anchors import AnchorSearch
from streams.explain.artifact import load_artifact
from streams.explain.errors import ArtifactError, ExplainError

__all__ = ["anchor_of"]


def _features(config: MonitorConfig, args: argparse.Namespace) -> dict[str, Any]:
    if args.row is not None:
        try:
            row = orjson.loads(args.row)
        except orjson.JSONDecodeError as exc:
            raise ExplainError(f"--row is not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ExplainError("--row must be a JSON object of features")
        return row
    from tqdm import tqdm

    from streams.explain.lookup import find_prediction

    kafka = config.kafka
    with tqdm(desc=f"looking for {args.prediction_id}", unit=" msg", leave=False) as bar:
        event = find_prediction(
            kafka.bootstrap,
            kafka.topics.predictions,
            args.prediction_id,
            security=kafka.security,
            max_event_bytes=config.worker.max_event_bytes,
            progress=bar.update,
        )
    return dict(event.features)


def anchor_of(config: MonitorConfig, model: ModelConfig, args: argparse.Namespace) -> dict:
    """The anchor as a JSON-ready dict: rule, predicates, precision, coverage."""
    if model.explain is None:
        raise ExplainError(f"model {model.id!r} has no `explain:` section (docs/explain.md)")
    artifact = load_artifact(model.explain.artifact)
    if not hasattr(artifact.model, "classes_"):
        raise ArtifactError(f"model {model.id!r} is no classifier: anchors explain classes")
    row = artifact.encode(_features(config, args))
    if isinstance(row, str):
        raise ExplainError(row)
    categories = {
        artifact.features.index(name): values for name, values in artifact.categories.items()
    }
    search = AnchorSearch(
        artifact.model.predict,
        artifact.background,
        artifact.features,
        categories=categories,
        precision=args.precision,
        seed=args.seed,
    )
    anchor = search.explain(row)
    return {
        "model_id": model.id,
        "prediction_id": args.prediction_id,
        "rule": anchor.rule(),
        "predicates": [str(p) for p in anchor.predicates],
        "answer": anchor.answer,
        "precision": anchor.precision,
        "precision_lower": anchor.precision_lower,
        "coverage": anchor.coverage,
        "valid": anchor.valid,
        "samples": anchor.samples,
    }
