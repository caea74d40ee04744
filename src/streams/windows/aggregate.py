"""Partial aggregates: everything one window of one model needs, folded from events.

Stage 1 builds one per (partition, model, window) and stage 2 merges them; because
every part is mergeable, the merge of all partitions' partials equals one pass over
all events. They travel as explicit versioned bytes, never pickles: a JSON envelope
whose sketches are their compact binary form (base64).

Reservoir keys are the hash of each event's prediction id, so a window's samples are
a function of its set of events: a replay or another partitioning gives the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from streams.events.models import Prediction, PredictionEvent
from streams.sketches import CategoricalSketch, FeatureSketch, NumericSketch, stable_keys
from streams.sketches.base import Sketch
from streams.sketches.bytes import from_text, to_text
from streams.sketches.score_histogram import ScoreHistogram

#: The decision threshold of aggregates written before it was saved with them.
DEFAULT_DECISION_THRESHOLD = 0.5
SCORE_EDGES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
#: Latency bins (ms): roughly log-spaced, dense around common SLO thresholds.
LATENCY_EDGES_MS = [1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000]
LATENCY_MAX_MS = 3_600_000.0


class WindowAggregate:
    """Sketches of every configured feature and of the score, plus counts and latency."""

    __slots__ = (
        "count",
        "decision_threshold",
        "features",
        "late",
        "latency",
        "latency_slow",
        "model_id",
        "score",
        "scores",
        "shadows",
        "slow_threshold_ms",
        "window_start",
    )

    def __init__(
        self,
        model_id: str,
        window_start: int,
        features: dict[str, FeatureSketch],
        slow_threshold_ms: float | None = None,
        decision_threshold: float = DEFAULT_DECISION_THRESHOLD,
    ) -> None:
        """``decision_threshold``: the model's score of a positive (its
        ``performance.threshold``), at which shadow models and proxy metrics decide."""
        self.model_id = model_id
        self.window_start = window_start
        self.features = features
        self.score = NumericSketch(SCORE_EDGES, 0.0, 1.0)
        self.scores = ScoreHistogram()  # fine bins: label-free performance estimation
        self.latency = NumericSketch(LATENCY_EDGES_MS, 0.0, LATENCY_MAX_MS, reservoir_size=0)
        self.slow_threshold_ms = slow_threshold_ms
        self.decision_threshold = decision_threshold
        self.latency_slow = 0  # events slower than the SLO threshold
        self.count = 0
        self.late = 0
        # per shadow model: [predictions, decisions agreeing with the champion's,
        # sum of |shadow score - champion score|]
        self.shadows: dict[str, list[float]] = {}

    def fold(self, events: Sequence[PredictionEvent]) -> None:
        """Fold a batch of this window's events, one vectorised update per feature."""
        if not events:
            return
        self.count += len(events)
        keys = stable_keys([e.prediction_id for e in events])
        for name, sketch in self.features.items():
            values = [e.features.get(name) for e in events]
            if isinstance(sketch, NumericSketch):
                sketch.update_batch(values, keys=keys)
            else:
                sketch.update_batch(values)
        scores = [e.prediction.score for e in events]
        self.score.update_batch(scores, keys=keys)
        known = np.array([s for s in scores if s is not None], dtype=float)
        known = known[np.isfinite(known) & (known >= 0) & (known <= 1)]
        if known.size:
            self.scores.update_batch(known)
        latencies = np.array([e.latency_ms for e in events if e.latency_ms is not None])
        if latencies.size:
            self.latency.update_batch(latencies)
            if self.slow_threshold_ms is not None:
                self.latency_slow += int(np.count_nonzero(latencies > self.slow_threshold_ms))
        for e in events:
            if e.shadow_predictions and e.prediction.score is not None:
                self._compare_shadows(e.prediction.score, e.shadow_predictions)

    def _compare_shadows(self, score: float, shadows: Mapping[str, Prediction]) -> None:
        """Before labels, a shadow model is compared with the champion on decisions (at
        the decision threshold) and scores; after labels, on metrics (labels/join.py)."""
        threshold = self.decision_threshold
        for name, shadow in shadows.items():
            if shadow.score is None:
                continue
            tally = self.shadows.setdefault(name, [0, 0, 0.0])
            tally[0] += 1
            tally[1] += (shadow.score >= threshold) == (score >= threshold)
            tally[2] += abs(shadow.score - score)

    def shadow_summary(self) -> dict[str, dict[str, float]]:
        """Agreement rate and mean score gap of each shadow model in this window."""
        return {
            name: {"predictions": n, "agreement": agree / n, "mean_score_gap": gap / n}
            for name, (n, agree, gap) in self.shadows.items()
            if n
        }

    def __iadd__(self, other: WindowAggregate) -> WindowAggregate:
        if (other.model_id, other.window_start) != (self.model_id, self.window_start):
            raise ValueError("cannot merge aggregates of different models or windows")
        for name, sketch in other.features.items():
            self.features[name] += sketch  # type: ignore[operator]
        self.score += other.score
        self.scores += other.scores
        self.count += other.count
        self.late += other.late
        self.latency += other.latency
        self.latency_slow += other.latency_slow
        for name, (n, agree, gap) in other.shadows.items():
            mine = self.shadows.setdefault(name, [0, 0, 0.0])
            mine[0], mine[1], mine[2] = mine[0] + n, mine[1] + agree, mine[2] + gap
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "window_start": self.window_start,
            "count": self.count,
            "late": self.late,
            "latency": _text(self.latency),
            "latency_slow": self.latency_slow,
            "shadows": self.shadows,
            "slow_threshold_ms": self.slow_threshold_ms,
            "decision_threshold": self.decision_threshold,
            "score": _text(self.score),
            "scores": _text(self.scores),
            "numeric": {
                n: _text(s) for n, s in self.features.items() if isinstance(s, NumericSketch)
            },
            "categorical": {
                n: _text(s) for n, s in self.features.items() if isinstance(s, CategoricalSketch)
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowAggregate:
        features: dict[str, FeatureSketch] = {
            n: NumericSketch.from_bytes(from_text(s)) for n, s in d["numeric"].items()
        }
        features.update(
            {n: CategoricalSketch.from_bytes(from_text(s)) for n, s in d["categorical"].items()}
        )
        agg = cls(
            d["model_id"],
            d["window_start"],
            features,
            d["slow_threshold_ms"],
            d.get("decision_threshold", DEFAULT_DECISION_THRESHOLD),
        )
        agg.score = NumericSketch.from_bytes(from_text(d["score"]))
        agg.scores = ScoreHistogram.from_bytes(from_text(d["scores"]))
        agg.latency = NumericSketch.from_bytes(from_text(d["latency"]))
        agg.count, agg.late, agg.latency_slow = d["count"], d["late"], d["latency_slow"]
        agg.shadows = {name: list(v) for name, v in d["shadows"].items()}
        return agg


def _text(sketch: Sketch) -> str:
    return to_text(sketch.to_bytes())
