"""Partial aggregates: everything one window of one model needs, folded from events.

Stage 1 builds one per (partition, model, window) and stage 2 merges them; because
every part is mergeable, the merge of all partitions' partials equals one pass over
all events. They travel as explicit versioned bytes, never pickles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.codec import pack, unpack
from streams.events import PredictionEvent
from streams.sketches import CategoricalSketch, NumericSketch

AGGREGATE_VERSION = 1
SCORE_EDGES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
Sketch = NumericSketch | CategoricalSketch


class WindowAggregate:
    """Sketches of every configured feature and of the score, plus counts and latency."""

    __slots__ = (
        "count",
        "features",
        "late",
        "latency_max_ms",
        "latency_sum_ms",
        "model_id",
        "score",
        "window_start",
    )

    def __init__(self, model_id: str, window_start: int, features: dict[str, Sketch]) -> None:
        self.model_id = model_id
        self.window_start = window_start
        self.features = features
        self.score = NumericSketch(SCORE_EDGES, 0.0, 1.0)
        self.count = 0
        self.late = 0
        self.latency_sum_ms = 0.0
        self.latency_max_ms = 0.0

    def fold(self, events: Sequence[PredictionEvent]) -> None:
        """Fold a batch of this window's events, one vectorised update per feature."""
        if not events:
            return
        self.count += len(events)
        for name, sketch in self.features.items():
            sketch.update_batch([e.features.get(name) for e in events])
        self.score.update_batch([e.prediction.score for e in events])
        latencies = [e.latency_ms for e in events if e.latency_ms is not None]
        if latencies:
            self.latency_sum_ms += sum(latencies)
            self.latency_max_ms = max(self.latency_max_ms, max(latencies))

    def __iadd__(self, other: WindowAggregate) -> WindowAggregate:
        if (other.model_id, other.window_start) != (self.model_id, self.window_start):
            raise ValueError("cannot merge aggregates of different models or windows")
        for name, sketch in other.features.items():
            self.features[name] += sketch  # type: ignore[operator]
        self.score += other.score
        self.count += other.count
        self.late += other.late
        self.latency_sum_ms += other.latency_sum_ms
        self.latency_max_ms = max(self.latency_max_ms, other.latency_max_ms)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "window_start": self.window_start,
            "count": self.count,
            "late": self.late,
            "latency_sum_ms": self.latency_sum_ms,
            "latency_max_ms": self.latency_max_ms,
            "score": self.score.to_dict(),
            "numeric": {
                n: s.to_dict() for n, s in self.features.items() if isinstance(s, NumericSketch)
            },
            "categorical": {
                n: s.to_dict() for n, s in self.features.items() if isinstance(s, CategoricalSketch)
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowAggregate:
        features: dict[str, Sketch] = {
            n: NumericSketch.from_dict(s) for n, s in d["numeric"].items()
        }
        features.update({n: CategoricalSketch.from_dict(s) for n, s in d["categorical"].items()})
        agg = cls(d["model_id"], d["window_start"], features)
        agg.score = NumericSketch.from_dict(d["score"])
        agg.count, agg.late = d["count"], d["late"]
        agg.latency_sum_ms, agg.latency_max_ms = d["latency_sum_ms"], d["latency_max_ms"]
        return agg

    def serialize(self) -> bytes:
        return pack(AGGREGATE_VERSION, self.to_dict())

    @classmethod
    def deserialize(cls, raw: bytes) -> WindowAggregate:
        return cls.from_dict(unpack(raw, AGGREGATE_VERSION, "aggregate"))
