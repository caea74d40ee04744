"""Proxy metrics: what the prediction scores say before any label arrives.

A window's scores are compared with the merge of the previous windows' scores (the
model's recent normal): the distance between the two score distributions, the change
of the mean score and of the positive rate, the mean confidence and the mean entropy.
A feature that drifts while the scores stay put is a warning; one that moves the scores
too changes the model's decisions, which is worth a page (streams/alerting/signals.py,
``correlate``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from streams.drift.distances import wasserstein_binned
from streams.labels.cbpe import ScoreHistogram
from streams.sketches import NumericSketch
from streams.windows.aggregate import SCORE_EDGES, WindowAggregate

#: Scores at or above this are positive decisions (it is a score-bin edge: exact).
DECISION_THRESHOLD = 0.5
assert DECISION_THRESHOLD in SCORE_EDGES
#: The first score bin of positive decisions: the bin the threshold itself falls in.
_POSITIVE_BINS = int(
    NumericSketch(SCORE_EDGES, 0.0, 1.0).bin_index(np.array([DECISION_THRESHOLD]))[0]
)


def score_baseline(earlier: Sequence[WindowAggregate]) -> NumericSketch | None:
    """The merged score sketch of the given windows (None without scores)."""
    merged: NumericSketch | None = None
    for window in earlier:
        if not window.score.n:
            continue
        if merged is None:
            merged = NumericSketch.from_bytes(window.score.to_bytes())
        else:
            merged += window.score
    return merged


def positive_rate(score: NumericSketch) -> float:
    """Share of scores at or above the decision threshold, exact from the bins."""
    return float(score.counts[_POSITIVE_BINS:].sum() / score.n) if score.n else float("nan")


def mean_confidence(score: NumericSketch) -> float:
    """Mean of max(p, 1 - p), exact from the bin counts and sums (bins split at 0.5)."""
    if not score.n:
        return float("nan")
    counts, sums = score.counts.astype(float), score.sums
    high = sums[_POSITIVE_BINS:].sum()
    low = counts[:_POSITIVE_BINS].sum() - sums[:_POSITIVE_BINS].sum()
    return float((high + low) / score.n)


def mean_entropy(scores: ScoreHistogram) -> float:
    """Mean binary entropy of the scores, in bits: 1 for coin flips, 0 for certainty.
    Each fine bin (width 1/200) counts at its mean score; the entropy is concave, so
    this overstates the exact mean by the spread within a bin, under 0.003 bits.

    >>> h = ScoreHistogram(); h.add(np.array([0.5, 0.5, 1.0, 0.0]))
    >>> mean_entropy(h)
    0.5
    """
    counts = scores.counts
    if not counts.sum():
        return float("nan")
    p = np.divide(scores.sums, counts, out=np.zeros(counts.shape), where=counts > 0)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        bits = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(q > 0, q * np.log2(q), 0.0))
    return float((bits * counts).sum() / counts.sum())


def proxy_metrics(window: WindowAggregate, baseline: NumericSketch | None) -> dict[str, float]:
    """The window's proxy metrics, and their changes against ``baseline`` when there is one.

    >>> from streams.windows.aggregate import WindowAggregate
    >>> w = WindowAggregate("m", 0, {})
    >>> w.score.update_batch(np.array([0.2, 0.9, 0.6, 0.1]))
    >>> m = proxy_metrics(w, None)
    >>> m["positive_rate"], round(m["mean_confidence"], 3)  # by hand: (.8 + .9 + .6 + .9) / 4
    (0.5, 0.8)
    """
    score = window.score
    if not score.n:
        return {}
    out = {
        "score_mean": score.mean,
        "positive_rate": positive_rate(score),
        "mean_confidence": mean_confidence(score),
    }
    if window.scores.n:
        out["entropy"] = mean_entropy(window.scores)
    if baseline is not None and baseline.n:
        out["score_wasserstein"] = wasserstein_binned(
            baseline.bounds(score),
            (baseline.counts, baseline.sums),
            (score.counts, score.sums),
            float(np.sqrt(baseline.variance)),
        )
        out["score_mean_delta"] = score.mean - baseline.mean
        out["positive_rate_delta"] = out["positive_rate"] - positive_rate(baseline)
    return out
