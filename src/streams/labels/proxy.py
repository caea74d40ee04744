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
from streams.sketches import NumericSketch
from streams.sketches.score_histogram import ScoreHistogram
from streams.windows.aggregate import SCORE_EDGES, WindowAggregate

#: The first score bin at or above 0.5, where max(p, 1 - p) switches from 1 - p to p
#: (0.5 is a score-bin edge, so the mean confidence is exact).
_UPPER_HALF = int(NumericSketch(SCORE_EDGES, 0.0, 1.0).bin_index(np.array([0.5]))[0])


def score_baseline(earlier: Sequence[WindowAggregate]) -> NumericSketch | None:
    """The merged score sketch of the given windows (None without scores)."""
    merged: NumericSketch | None = None
    for window in earlier:
        if not window.score.n:
            continue
        if merged is None:
            merged = window.score.copy()
        else:
            merged += window.score
    return merged


def positive_rate(score: NumericSketch, threshold: float) -> float:
    """Share of scores at or above ``threshold`` (the model's decision threshold): exact
    from the bins when it is a bin edge (SCORE_EDGES), else linear within its bin.

    >>> s = NumericSketch(SCORE_EDGES, 0.0, 1.0); s.update_batch(np.array([0.62, 0.68, 0.9]))
    >>> positive_rate(s, 0.6), round(positive_rate(s, 0.65), 4)  # (1 + 2 * 0.5) / 3
    (1.0, 0.6667)
    """
    if not score.n:
        return float("nan")
    i = int(score.bin_index(np.array([threshold]))[0])
    lo, hi = score.bounds()[i : i + 2]
    share = (hi - threshold) / (hi - lo) if hi > lo else 1.0
    return float((score.counts[i + 1 :].sum() + share * score.counts[i]) / score.n)


def mean_confidence(score: NumericSketch) -> float:
    """Mean of max(p, 1 - p), exact from the bin counts and sums (bins split at 0.5)."""
    if not score.n:
        return float("nan")
    counts, sums = score.counts.astype(float), score.sums
    high = sums[_UPPER_HALF:].sum()
    low = counts[:_UPPER_HALF].sum() - sums[:_UPPER_HALF].sum()
    return float((high + low) / score.n)


def mean_entropy(scores: ScoreHistogram) -> float:
    """Mean binary entropy of the scores, in bits: 1 for coin flips, 0 for certainty.
    Each fine bin (width 1/200) counts at its mean score; the entropy is concave, so
    this overstates the exact mean by the spread within a bin, under 0.003 bits.

    >>> h = ScoreHistogram(); h.update_batch(np.array([0.5, 0.5, 1.0, 0.0]))
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
    """The window's proxy metrics, and their changes against ``baseline`` when there is one;
    decisions at the window's ``decision_threshold`` (the model's configured one).

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
        "positive_rate": positive_rate(score, window.decision_threshold),
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
        baseline_rate = positive_rate(baseline, window.decision_threshold)
        out["positive_rate_delta"] = out["positive_rate"] - baseline_rate
    return out
