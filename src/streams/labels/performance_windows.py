"""Stage 2 for labels: merge the performance partials of all partitions per (model,
performance window, cohort), re-evaluate a window each time labels reach it (with the
next revision), and find cohorts whose accuracy fell below the baseline's.

Performance windows are kept for the label horizon, each under its own table key
(written when labels reach it), with the sequence number of the last partial merged
from each partition, so that a crash between writing them and the model state never
merges a resent partial twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.alerting.lifecycle import Signal
from streams.codec import pack, unpack
from streams.config.models import PerformanceConfig
from streams.events.models import AlertCategory, Severity
from streams.labels.cbpe import estimate_performance
from streams.labels.join import ALL, SHADOW
from streams.labels.metrics import (
    classification_metrics,
    delay_quantiles,
    mae_rise,
    proportion_drop,
    regression_metrics,
)
from streams.sampling import WeightedTally
from streams.sketches.bytes import from_text, to_text
from streams.sketches.performance import PerformanceSketch
from streams.sketches.score_histogram import ScoreHistogram

ENTRY_VERSION = 1
#: Label-delay quantiles in each performance record (``label_delay_s``).
DELAY_QUANTILES = (0.5, 0.9, 0.99)
#: Recent labels (decayed) below which no orphan rate is judged.
MIN_RECENT_LABELS = 100
#: The subject of the orphan-rate signal.
ORPHAN_SUBJECT = "labels"


@dataclass
class PerformanceWindow:
    revision: int = -1
    sketches: dict[str, PerformanceSketch] = field(default_factory=dict)
    seqs: dict[int, int] = field(default_factory=dict)
    flagged: bool = False  # had an alerting cohort: left out of later baselines
    scores: ScoreHistogram = field(default_factory=ScoreHistogram)  # all predictions
    #: per cohort, the Horvitz-Thompson tally of its labelled pairs (streams/sampling)
    tallies: dict[str, WeightedTally] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        body = {
            "revision": self.revision,
            "tallies": {c: t.to_list() for c, t in self.tallies.items()},
            "flagged": self.flagged,
            "scores": to_text(self.scores.to_bytes()),
            "seqs": {str(p): s for p, s in self.seqs.items()},
            "sketches": {c: to_text(s.to_bytes()) for c, s in self.sketches.items()},
        }
        return pack(ENTRY_VERSION, body)

    @classmethod
    def from_bytes(cls, raw: bytes) -> PerformanceWindow:
        b = unpack(raw, ENTRY_VERSION, "performance window")
        sketches = {c: PerformanceSketch.from_bytes(from_text(s)) for c, s in b["sketches"].items()}
        seqs = {int(p): s for p, s in b["seqs"].items()}
        scores = ScoreHistogram.from_bytes(from_text(b["scores"]))
        # windows saved before sampling: their pairs were all kept, none tallied
        tallies = {c: WeightedTally.from_list(t) for c, t in b.get("tallies", {}).items()}
        return cls(b["revision"], sketches, seqs, b["flagged"], scores, tallies)


def perf_key(model_id: str, window_start: int) -> str:
    return f"{model_id}\x00perf\x00{window_start}"


@dataclass
class PerformanceState:
    """A model's performance windows, label counts and label-stream sequence numbers."""

    windows: dict[int, PerformanceWindow] = field(default_factory=dict)
    label_seq: dict[int, int] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    predictions: Counter[int] = field(default_factory=Counter)  # per performance window
    # recent labels and orphans, halved at each batch: "sustained" without a clock
    recent: list[float] = field(default_factory=lambda: [0.0, 0.0])
    dirty: set[int] = field(default_factory=set)  # to re-evaluate
    changed: set[int] = field(default_factory=set)  # to save

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": sorted(self.windows),
            "label_seq": {str(p): s for p, s in self.label_seq.items()},
            "counts": dict(self.counts),
            "recent": self.recent,
            "predictions": {str(w): n for w, n in self.predictions.items()},
            "dirty": sorted(self.dirty),
        }

    @classmethod
    def from_json(cls, b: dict[str, Any], read: Any, model_id: str) -> PerformanceState:
        state = cls(
            label_seq={int(p): s for p, s in b["label_seq"].items()},
            counts=Counter(b["counts"]),
            predictions=Counter({int(w): n for w, n in b["predictions"].items()}),
            dirty=set(b["dirty"]),
            recent=list(b["recent"]),
        )
        for start in b["windows"]:
            raw = read(perf_key(model_id, start))
            if raw is not None:
                state.windows[start] = PerformanceWindow.from_bytes(raw)
        return state

    def entries(self, model_id: str) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for start in sorted(self.changed):
            window = self.windows.get(start)
            out[perf_key(model_id, start)] = window.to_bytes() if window else None
        self.changed.clear()
        return out

    def apply(self, body: dict[str, Any], config: PerformanceConfig) -> bool:
        """Merge one labels partial; False when it was merged before (a resend)."""
        p, seq = body["partition"], body["seq"]
        fresh = seq > self.label_seq.get(p, 0)
        if fresh:
            self.label_seq[p] = seq
            self.counts.update(body["counts"])
            labels = sum(body["counts"].values())
            self.recent = [
                self.recent[0] / 2 + labels,
                self.recent[1] / 2 + body["counts"].get("orphan", 0),
            ]
        merged = False
        for start_text, cohorts in body["windows"].items():
            start = int(start_text)
            window = self.windows.setdefault(start, PerformanceWindow())
            if seq <= window.seqs.get(p, 0):
                continue  # this window has it already (saved before a crash)
            window.seqs[p] = seq
            for cohort, blob in cohorts.items():
                sketch = PerformanceSketch.from_bytes(from_text(blob))
                if cohort in window.sketches:
                    window.sketches[cohort] += sketch
                else:
                    window.sketches[cohort] = sketch
            tallies = body.get("weighted", {}).get(start_text, {})
            for cohort, sums in tallies.items():
                tally = window.tallies.setdefault(cohort, WeightedTally())
                tally += WeightedTally.from_list(sums)
            self.dirty.add(start)
            self.changed.add(start)
            merged = True
        return fresh or merged

    def add_predictions(self, start: int, count: int, scores: ScoreHistogram) -> None:
        """A feature window of this performance window was evaluated: its predictions
        count for label coverage, and its scores feed the label-free estimate."""
        self.predictions[start] += count
        window = self.windows.setdefault(start, PerformanceWindow())
        window.scores += scores
        self.dirty.add(start)
        self.changed.add(start)

    def prune(self, now_event_ts: float, config: PerformanceConfig) -> None:
        """Forget windows whose predictions are past the label horizon (and their
        pending re-evaluation: a far-future event may prune a window labels just
        reached)."""
        horizon = now_event_ts - config.label_horizon_s - config.window_s
        for start in [s for s in self.windows if s < horizon]:
            del self.windows[start]
            self.predictions.pop(start, None)
            self.dirty.discard(start)
            self.changed.add(start)


def baseline(
    state: PerformanceState, start: int, cohort: str, config: PerformanceConfig
) -> PerformanceSketch | None:
    """The merged sketches of the cohort in the earlier windows without alerts."""
    earlier = [
        w.sketches[cohort]
        for s, w in sorted(state.windows.items())
        if s < start and not w.flagged and cohort in w.sketches
    ][-config.baseline_windows :]
    if not earlier:
        return None
    merged = PerformanceSketch.from_bytes(earlier[0].to_bytes())
    for sketch in earlier[1:]:
        merged += sketch
    return merged


def label_delays(sketch: PerformanceSketch | None) -> dict[str, float] | None:
    """Quantiles of the time from prediction to label (seconds) of a window's labels;
    within one log-spaced bin (under 10%) of the exact ones."""
    if sketch is None or not sketch.n:
        return None
    quantiles = delay_quantiles(sketch, DELAY_QUANTILES)
    return {f"p{round(q * 100)}": v for q, v in quantiles.items()} | {"max": sketch.delay_max}


def window_metrics(
    sketch: PerformanceSketch, tally: WeightedTally | None = None, confidence: float = 0.95
) -> dict[str, float]:
    """The classification metrics, the regression ones, or both, of the pairs folded;
    with a tally, their Horvitz-Thompson estimates (:func:`weighted_metrics`)."""
    metrics: dict[str, float] = {}
    if sketch.n_classification:
        metrics |= classification_metrics(sketch)
    if sketch.n_regression:
        metrics |= regression_metrics(sketch)
    metrics["n"] = float(sketch.n)
    if tally is not None and tally.n:
        metrics |= weighted_metrics(
            tally, regression=bool(sketch.n_regression), confidence=confidence
        )
    return metrics


def weighted_metrics(
    tally: WeightedTally, regression: bool, confidence: float = 0.95
) -> dict[str, float]:
    """What the label tier's sample says of all labelled predictions, each pair weighted
    by 1 / its inclusion probability: their number, and the accuracy (or MAE), each
    with its interval at ``confidence`` (streams/sampling/estimates.py)."""
    labels, share = tally.count(confidence), tally.mean(confidence)
    name = "weighted_mae" if regression else "weighted_accuracy"
    return {
        "weighted_labels": labels.value,
        "weighted_labels_lo": labels.lo,
        "weighted_labels_hi": labels.hi,
        name: share.value,
        f"{name}_lo": share.lo,
        f"{name}_hi": share.hi,
    }


@dataclass(frozen=True, slots=True)
class Verdict:
    """A cohort against its baseline: which statistic, the limit it is held to, whether
    its point estimate is past the tolerance, and whether its whole interval is."""

    statistic: str
    limit: float
    past_tolerance: bool
    significant: bool


def _verdict(
    sketch: PerformanceSketch,
    base: PerformanceSketch,
    metrics: dict[str, float],
    config: PerformanceConfig,
) -> Verdict:
    """Accuracy for a classifier, MAE for a regression model; the baseline and the
    interval of the change go into ``metrics``."""
    if sketch.n_regression:
        base_mae = regression_metrics(base)["mae"]
        rise = mae_rise(base, sketch, config.confidence)
        metrics["baseline_mae"] = base_mae
        metrics["mae_change_lo"], metrics["mae_change_hi"] = rise.lo, rise.hi
        tolerated = config.mae_rise * base_mae
        # significant: the whole interval of the rise lies beyond the tolerated one
        return Verdict(
            "mae", base_mae + tolerated, rise.difference > tolerated, rise.lo > tolerated
        )
    base_accuracy = classification_metrics(base)["accuracy"]
    n, base_n = sketch.n_classification, base.n_classification
    drop = proportion_drop(
        round(base_accuracy * base_n),
        base_n,
        round(metrics["accuracy"] * n),
        n,
        config.confidence,
    )
    metrics["baseline_accuracy"] = base_accuracy
    metrics["accuracy_change_lo"], metrics["accuracy_change_hi"] = drop.lo, drop.hi
    tolerated = -config.accuracy_drop
    # significant: the whole interval of the change lies beyond the tolerated loss
    return Verdict(
        "accuracy",
        base_accuracy + tolerated,
        drop.difference < tolerated,
        drop.hi < tolerated,
    )


def paged(verdicts: Mapping[str, Verdict]) -> list[str]:
    """The subjects whose significant drop pages: the cohorts that locate it, else the
    model.

    An attribute (``country``) locates a drop when one of its cohorts with enough labels
    is within tolerance: the drop is in its other cohorts. Cohorts of an attribute that
    does not locate it (every ``device`` is down because Germany is) page only when no
    attribute locates it; the model (``*``) pages only when no cohort does and no
    attribute locates it (labels arrive out of order, so the model's sample often
    reaches significance before the guilty cohort's does: that cohort pages by name
    once it has its labels).

    >>> v = lambda significant, past: Verdict("accuracy", 0.85, past, significant)
    >>> paged({"*": v(True, True), "country=DE": v(True, True), "country=US": v(False, False),
    ...        "device=ios": v(True, True), "device=web": v(True, True)})
    ['country=DE']
    >>> paged({"*": v(True, True), "country=DE": v(False, True), "country=US": v(False, False)})
    []
    >>> paged({"*": v(True, True), "country=DE": v(False, True), "country=US": v(False, True)})
    ['*']
    """
    attributes: dict[str, list[Verdict]] = {}
    for cohort, verdict in verdicts.items():
        if cohort != ALL:
            attributes.setdefault(cohort.split("=", 1)[0], []).append(verdict)
    locating = {a for a, vs in attributes.items() if any(not v.past_tolerance for v in vs)}
    cohorts = [
        c
        for c, v in sorted(verdicts.items())
        if c != ALL and v.significant and (not locating or c.split("=", 1)[0] in locating)
    ]
    if cohorts or locating:
        return cohorts
    return [ALL] if ALL in verdicts and verdicts[ALL].significant else []


def worst_cohorts(cohorts: Mapping[str, dict[str, float]], config: PerformanceConfig) -> list[str]:
    """The cohorts with enough labels, worst first: lowest accuracy, or highest error
    for a regression model."""
    return sorted(
        (c for c in cohorts if c != ALL and cohorts[c].get("n", 0) >= config.min_labels),
        key=lambda c: cohorts[c].get("accuracy", -cohorts[c].get("mae", 0.0)),
    )


def add_shadow_deltas(
    shadows: Mapping[str, dict[str, float]], champion: Mapping[str, float]
) -> None:
    """Each shadow's metrics minus the champion's, on the same labelled predictions."""
    for metrics in shadows.values():
        for name in ("accuracy", "roc_auc", "log_loss", "f1", "mae", "rmse"):
            if name in champion:
                metrics[f"{name}_delta"] = metrics[name] - champion[name]


def evaluate(
    state: PerformanceState, start: int, config: PerformanceConfig
) -> tuple[dict[str, Any], list[Signal], list[str]]:
    """A performance window's record body, its cohorts' accuracy-drop signals, and the
    cohorts it found clear: enough labels (``min_labels``, baseline too) and within
    tolerance. Any other cohort without a signal is unknown in this window: too few
    labels, or a drop past tolerance that is not yet significant or that other cohorts
    explain, so it neither fires nor counts towards resolving."""
    window = state.windows[start]
    window.revision += 1
    cohorts: dict[str, dict[str, float]] = {}
    verdicts: dict[str, Verdict] = {}
    shadows: dict[str, dict[str, float]] = {}
    for cohort, sketch in sorted(window.sketches.items()):
        metrics = window_metrics(sketch, window.tallies.get(cohort), config.confidence)
        if cohort.startswith(SHADOW):
            shadows[cohort.removeprefix(SHADOW)] = metrics
            continue
        cohorts[cohort] = metrics
        base = baseline(state, start, cohort, config)
        if base is None or sketch.n < config.min_labels or base.n < config.min_labels:
            continue
        verdicts[cohort] = _verdict(sketch, base, metrics, config)
    # a degraded window stays out of later baselines even when its page is withheld
    window.flagged = any(v.significant for v in verdicts.values())
    signals = [
        Signal(
            AlertCategory.performance,
            c,
            Severity.critical,
            verdicts[c].statistic,
            cohorts[c][verdicts[c].statistic],
            verdicts[c].limit,
        )
        for c in paged(verdicts)
    ]
    add_shadow_deltas(shadows, cohorts.get(ALL, {}))
    predictions = state.predictions.get(start, 0)
    labels = cohorts.get(ALL, {}).get("n", 0)
    # the labelled share of all predictions: the label tier's labels stand for 1/p each
    covered = cohorts.get(ALL, {}).get("weighted_labels", labels)
    body = {
        "kind": "performance",
        "window_start": start,
        "window_end": start + config.window_s,
        "revision": window.revision,
        "predictions": predictions,
        "labels": labels,
        "label_coverage": covered / predictions if predictions else None,
        "label_delay_s": label_delays(window.sketches.get(ALL)),
        "cohorts": cohorts,
        "worst_cohorts": worst_cohorts(cohorts, config)[:5],
        "shadows": shadows,
        # CBPE: what calibrated scores predict, before (and beside) the labels
        "estimated": estimate_performance(window.scores, config.threshold)
        if window.scores.n
        else None,
        "label_counts": dict(state.counts),
    }
    clear = sorted(c for c, v in verdicts.items() if not v.past_tolerance)
    return body, signals, clear


def orphan_signals(state: PerformanceState, config: PerformanceConfig) -> list[Signal]:
    """A pipeline signal while most recent labels find no prediction: labels keyed or
    partitioned unlike predictions, or a label feed for the wrong model.

    >>> s = PerformanceState(recent=[500.0, 400.0])
    >>> [x.statistic for x in orphan_signals(s, PerformanceConfig())]
    ['orphan_rate']
    """
    labels, orphans = state.recent
    if labels < MIN_RECENT_LABELS or orphans / labels <= config.orphan_rate:
        return []
    return [
        Signal(
            AlertCategory.pipeline,
            ORPHAN_SUBJECT,
            Severity.error,
            "orphan_rate",
            orphans / labels,
            config.orphan_rate,
        )
    ]
