"""A block of simulated predictions as columns, and as the events the ``predictions``
topic carries (built column-wise: per-event Python work is only the dicts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from streams.devtools.simulator.features import (
    CATEGORICAL_FEATURES,
    INTEGER_FEATURES,
    NUMERIC_FEATURES,
)

#: The shadow model of the simulated events (it scores the clean features).
SHADOW_MODEL_ID = "challenger"


def format_timestamps(ts_ms: np.ndarray) -> list[str]:
    """ISO 8601 UTC strings with millisecond precision, vectorised."""
    return np.datetime_as_string(ts_ms.astype("datetime64[ms]"), unit="ms", timezone="UTC").tolist()


def _column_values(name: str, values: np.ndarray) -> list[Any]:
    """JSON-ready values: ints for integer counts, None for NaN."""
    nan = np.isnan(values)
    has_nan = bool(nan.any())
    if name in INTEGER_FEATURES and not has_nan and np.array_equal(values, np.floor(values)):
        return values.astype(np.int64).tolist()
    out = values.tolist()
    if has_nan:
        for i in np.flatnonzero(nan).tolist():
            out[i] = None
    return out


@dataclass
class Block:
    """One block of generated predictions, as columns.

    ``numeric``/``categorical`` are the *served* features (after the scenario);
    ``true_score`` and ``label`` come from the clean features, ``score`` from
    the served ones.
    """

    model_id: str
    model_version: str
    timestamps_ms: np.ndarray
    prediction_ids: list[str]
    numeric: dict[str, np.ndarray]
    categorical: dict[str, np.ndarray]
    clean_numeric: dict[str, np.ndarray]
    score: np.ndarray
    true_score: np.ndarray
    label: np.ndarray
    latency_ms: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamps_ms.shape[0])

    @property
    def timestamps(self) -> np.ndarray:
        """Event times as float epoch seconds."""
        return self.timestamps_ms / 1000.0

    def feature_columns(self) -> dict[str, list[Any]]:
        """Served features, one JSON-ready list per feature (None for missing)."""
        cols: dict[str, list[Any]] = {
            name: _column_values(name, self.numeric[name]) for name in NUMERIC_FEATURES
        }
        for name in CATEGORICAL_FEATURES:
            cols[name] = self.categorical[name].tolist()
        return cols

    def to_events(self) -> list[dict[str, Any]]:
        """PredictionEvent-shaped dicts (timestamps as ISO strings)."""
        cols = self.feature_columns()
        names = list(cols)
        features = [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]
        scores = np.round(self.score, 6).tolist()
        shadows = np.round(self.true_score, 6).tolist()
        labels = np.where(self.score >= 0.5, "1", "0").tolist()
        mid, mver = self.model_id, self.model_version
        return [
            {
                "schema_version": 1,
                "model_id": mid,
                "model_version": mver,
                "prediction_id": pid,
                "timestamp": ts,
                "features": feats,
                "prediction": {"score": s, "label": lab},
                "latency_ms": lat,
                "segments": {"country": feats["country"], "device": feats["device"]},
                # a challenger that sees the clean features: shadow evaluation has a subject
                "shadow_predictions": {SHADOW_MODEL_ID: {"score": shadow}},
            }
            for pid, ts, feats, s, lab, lat, shadow in zip(
                self.prediction_ids,
                format_timestamps(self.timestamps_ms),
                features,
                scores,
                labels,
                self.latency_ms.tolist(),
                shadows,
                strict=True,
            )
        ]

    def to_json(self) -> list[bytes]:
        """The events serialised as the ``predictions`` topic carries them."""
        return list(map(orjson.dumps, self.to_events()))
