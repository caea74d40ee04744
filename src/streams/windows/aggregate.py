"""Partial aggregates: everything one window of one model needs, folded from events.

Stage 1 builds one per (partition, model, window) and stage 2 merges them; because
every part is mergeable, the merge of all partitions' partials equals one pass over
all events. They travel as explicit versioned bytes, never pickles: a JSON envelope
whose sketches are their compact binary form (base64).

Reservoir keys are the hash of each event's prediction id, so a window's samples are
a function of its set of events: a replay or another partitioning gives the same.

Sampling (streams/sampling): only the drift tier's events enter the feature sketches,
so the drift tests see the sample size they have; every event still counts in the
volume, latency, score sketches and, in ``quality`` (bins and counts only, no
quantiles or reservoir), the data-quality counts. ``drift_sample`` tallies the drift
tier with its inclusion probabilities (Horvitz-Thompson).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import compress
from typing import Any

import numpy as np

from streams.events.columns import feature_columns
from streams.events.models import Prediction, PredictionEvent
from streams.sampling import KEEP_ALL, Sampler, Tier, WeightedTally
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
        "drift_sample",
        "features",
        "late",
        "latency",
        "latency_slow",
        "model_id",
        "quality",
        "sampler",
        "score",
        "scores",
        "shadows",
        "skew_refused",
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
        sampler: Sampler = KEEP_ALL,
    ) -> None:
        """``decision_threshold``: the model's score of a positive (its
        ``performance.threshold``), at which shadow models and proxy metrics decide.
        ``sampler``: the model's sampling tiers; its drift tier feeds ``features``."""
        self.model_id = model_id
        self.window_start = window_start
        self.features = features
        self.sampler = sampler
        self.drift_sample = WeightedTally()
        # exact data-quality counts, needed only when the feature sketches are a sample
        self.quality: dict[str, FeatureSketch] | None = (
            None if sampler.rates[Tier.drift] >= 1 and not sampler.rules else light(features)
        )
        self.score = NumericSketch(SCORE_EDGES, 0.0, 1.0)
        self.scores = ScoreHistogram()  # fine bins: label-free performance estimation
        self.latency = NumericSketch(LATENCY_EDGES_MS, 0.0, LATENCY_MAX_MS, reservoir_size=0)
        self.slow_threshold_ms = slow_threshold_ms
        self.decision_threshold = decision_threshold
        self.latency_slow = 0  # events slower than the SLO threshold
        self.count = 0
        self.late = 0
        # events of this window's partitions dead-lettered as future_timestamp or
        # too_old, counted in the window of their partition's newest event time: the
        # share of a producer whose clock is off (alerting/clock_skew.py)
        self.skew_refused = 0
        # per shadow model: [predictions, decisions agreeing with the champion's,
        # sum of |shadow score - champion score|]
        self.shadows: dict[str, list[float]] = {}

    def fold(self, events: Sequence[PredictionEvent]) -> None:
        """Fold a batch of this window's events, one vectorised update per feature."""
        if not events:
            return
        self.count += len(events)
        ids = [e.prediction_id for e in events]
        keys = stable_keys(ids)
        mask = self._drift_tier(events, ids)
        columns = feature_columns([e.features for e in events], self.features)
        if self.quality is not None:
            for name, sketch in self.quality.items():
                sketch.update_batch(columns[name])
        sampled_keys = keys
        if not mask.all():
            columns = {name: list(compress(c, mask)) for name, c in columns.items()}
            sampled_keys = keys[mask]
        for name, sketch in self.features.items():
            if isinstance(sketch, NumericSketch):
                sketch.update_batch(columns[name], keys=sampled_keys)
            else:
                sketch.update_batch(columns[name])
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

    def _drift_tier(self, events: Sequence[PredictionEvent], ids: list[str]) -> np.ndarray:
        """Which events the drift tier keeps (a boolean mask), tallied with their
        inclusion probabilities."""
        tier, sampler = Tier.drift, self.sampler
        segments = [e.segments for e in events] if sampler.rules else None
        mask = sampler.keep_mask(tier, ids, segments)
        if sampler.rules:
            kept = compress(events, mask)
            probabilities = np.array([sampler.probability(tier, e.segments) for e in kept])
        else:
            probabilities = np.full(int(np.count_nonzero(mask)), sampler.probability(tier))
        self.drift_sample.add_batch(np.ones(probabilities.size), probabilities)
        return mask

    def quality_sketches(self) -> dict[str, FeatureSketch]:
        """The sketches whose counts saw every event: what data quality is judged on."""
        return self.features if self.quality is None else self.quality

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
        if self.quality is not None or other.quality is not None:
            # a side without one saw every event in its features: their counts are exact
            if self.quality is None:
                self.quality = {n: _light_copy(s) for n, s in self.features.items()}
            for name, sketch in other.quality_sketches().items():
                self.quality[name] += sketch  # type: ignore[operator]
        self.drift_sample += other.drift_sample
        self.count += other.count
        self.late += other.late
        self.skew_refused += other.skew_refused
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
            "skew_refused": self.skew_refused,
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
            "sampler": self.sampler.to_dict(),
            "drift_sample": self.drift_sample.to_list(),
            "quality": None
            if self.quality is None
            else {n: [type(s).__name__, _text(s)] for n, s in self.quality.items()},
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
            Sampler.from_dict(d["sampler"]) if "sampler" in d else KEEP_ALL,
        )
        if "drift_sample" in d:  # aggregates written before sampling saw every event
            agg.drift_sample = WeightedTally.from_list(d["drift_sample"])
            agg.quality = None if d["quality"] is None else _read_quality(d["quality"])
        else:
            agg.drift_sample.add_batch(np.ones(d["count"]), np.ones(d["count"]))
        agg.score = NumericSketch.from_bytes(from_text(d["score"]))
        agg.scores = ScoreHistogram.from_bytes(from_text(d["scores"]))
        agg.latency = NumericSketch.from_bytes(from_text(d["latency"]))
        agg.count, agg.late, agg.latency_slow = d["count"], d["late"], d["latency_slow"]
        agg.skew_refused = d.get("skew_refused", 0)  # absent from partials of before
        agg.shadows = {name: list(v) for name, v in d["shadows"].items()}
        return agg


def _text(sketch: Sketch) -> str:
    return to_text(sketch.to_bytes())


def light(features: Mapping[str, FeatureSketch]) -> dict[str, FeatureSketch]:
    """Empty sketches on the same bins that keep counts only (no quantile sketch, no
    reservoir): cheap enough for every event."""
    out: dict[str, FeatureSketch] = {}
    for name, sketch in features.items():
        if isinstance(sketch, NumericSketch):
            out[name] = NumericSketch(sketch.edges, sketch.lo, sketch.hi, 0, quantile_k=0)
        else:
            out[name] = sketch.empty_like()
    return out


def _light_copy(sketch: FeatureSketch) -> FeatureSketch:
    """A count-only copy of a sketch (a full one's quantiles and reservoir dropped)."""
    if isinstance(sketch, NumericSketch) and (sketch.reservoir_size or sketch.quantile_k):
        copy = light({"x": sketch})["x"]
        copy += sketch  # type: ignore[operator]
        return copy
    return type(sketch).from_bytes(sketch.to_bytes())


def _read_quality(d: Mapping[str, list[str]]) -> dict[str, FeatureSketch]:
    kinds: dict[str, type[FeatureSketch]] = {"NumericSketch": NumericSketch}
    kinds["CategoricalSketch"] = CategoricalSketch
    return {n: kinds[kind].from_bytes(from_text(text)) for n, (kind, text) in d.items()}
