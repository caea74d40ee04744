"""Explanations of a batch of prediction events, as ``explanations`` records: pure
(no Kafka), so the service's loop stays thin and this is tested on its own.

Batches, because an explainer's cost per call dwarfs its cost per row for trees and
linear models (bench/explain.py); a batch that fails is retried row by row, so one
row the model refuses costs only that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streams.events.decode import Rejection
from streams.events.models import ExplanationEvent
from streams.explain.models import ExplainedModel
from streams.sampling import Tier

__all__ = ["Explained", "explain_events"]


@dataclass
class Explained:
    """``records``: (prediction_id, explanation JSON) per explained event;
    ``refused``: (position in the input, rejection) per event that could not be."""

    records: list[tuple[str, bytes]] = field(default_factory=list)
    refused: list[tuple[int, Rejection]] = field(default_factory=list)


def explain_events(model: ExplainedModel, events: Sequence[Any]) -> Explained:
    """Explain ``events`` (pydantic events or envelope rows of ``model``), at most
    ``model.batch_size`` per explainer call."""
    out = Explained()
    for start in range(0, len(events), model.batch_size):
        _explain_chunk(model, events[start : start + model.batch_size], start, out)
    return out


def _explain_chunk(
    model: ExplainedModel, events: Sequence[Any], offset: int, out: Explained
) -> None:
    matrix, problems = model.artifact.encode_many([e.features for e in events])
    kept = [i for i, problem in enumerate(problems) if problem is None]
    for i, problem in enumerate(problems):
        if problem is not None:
            out.refused.append((offset + i, Rejection("unexplainable", problem)))
    try:
        rows = _rows(model, matrix)
    except Exception:  # some row the model refuses: find it, explain the others
        rows = [_one(model, matrix[j : j + 1]) for j in range(len(kept))]
    for i, row in zip(kept, rows, strict=True):
        if isinstance(row, Rejection):
            out.refused.append((offset + i, row))
        else:
            out.records.append(_record(model, events[i], *row))


def _rows(model: ExplainedModel, matrix: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
    if matrix.shape[0] == 0:
        return []
    result = model.explainer.explain(matrix)
    if not (np.all(np.isfinite(result.values)) and np.all(np.isfinite(result.outputs))):
        raise ValueError("non-finite SHAP values")
    return list(
        zip(result.values, result.base_values.tolist(), result.outputs.tolist(), strict=True)
    )


def _one(model: ExplainedModel, row: np.ndarray) -> tuple[np.ndarray, float, float] | Rejection:
    try:
        return _rows(model, row)[0]
    except Exception as exc:
        return Rejection("explain_failed", f"{type(exc).__name__}: {exc}"[:300])


def _record(
    model: ExplainedModel, event: Any, values: np.ndarray, base: float, output: float
) -> tuple[str, bytes]:
    explainer = model.explainer
    record = ExplanationEvent(
        model_id=event.model_id,
        model_version=event.model_version,
        prediction_id=event.prediction_id,
        timestamp=event.timestamp,
        explainer=explainer.name,
        explainer_version=explainer.version,
        shap_version=explainer.shap_version,
        background_hash=explainer.background.hash,
        output=explainer.output,
        base_value=base,
        model_output=output,
        attributions=dict(zip(model.artifact.features, values.tolist(), strict=True)),
        inclusion_probability=model.sampler.probability(Tier.explanation, event.segments),
    )
    return event.prediction_id, record.to_json()
