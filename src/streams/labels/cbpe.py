"""Confidence-based performance estimation (as NannyML's CBPE): before labels arrive, a
calibrated classifier's scores are its expected labels, so the expected confusion matrix,
and so expected accuracy, precision, recall, f1 and ROC AUC, follow from the scores of
all of a window's predictions. It assumes calibration on the current data: under concept
drift (P(y | x) changes) the estimate is wrong, however many predictions it sees."""

from __future__ import annotations

import math

from streams.labels.metrics import binned_auc
from streams.sketches.performance import SCORE_BINS
from streams.sketches.score_histogram import ScoreHistogram


def estimate_performance(histogram: ScoreHistogram, threshold: float) -> dict[str, float]:
    """Expected accuracy, precision, recall, f1 and ROC AUC at ``threshold`` (the model's
    ``performance.threshold``, a multiple of 1 / SCORE_BINS: the decision must not split a
    bin), the predicted positive rate, the expected base rate (the mean score) and n.

    A prediction of score p is a positive with probability p, so a bin with count c and
    score sum S adds S expected positives and c - S expected negatives: expected TP, FP,
    FN, TN are sums over the bins above and below the threshold. Precision, recall and f1
    are ratios of expected counts (close to the expected ratios for more than a few dozen
    predictions); AUC is that of the expected positive and negative histograms.

    >>> h = ScoreHistogram()
    >>> h.update_batch([0.2, 0.9, 0.6])  # TP .9+.6, FP .1+.4, FN .2, TN .8
    >>> m = estimate_performance(h, threshold=0.5)
    >>> [round(m[k], 4) for k in ("accuracy", "precision", "recall", "roc_auc")]
    [0.7667, 0.75, 0.8824, 0.8167]

    By hand, accuracy (.8 + .9 + .6) / 3; AUC: positives .2, .6, .9 and negatives .8, .4, .1
    in the bins of .2, .6, .9: (.9 (.8 + .4) + .6 (.8) + .5 (.2 .8 + .6 .4 + .9 .1)) / (1.7 1.3).
    """
    edge = threshold * SCORE_BINS
    k = round(edge)
    if not (0 <= k <= SCORE_BINS and math.isclose(edge, k, abs_tol=1e-9)):
        raise ValueError(f"threshold {threshold} is not a multiple of 1/{SCORE_BINS} in [0, 1]")
    counts, sums = histogram.counts.astype(float), histogram.sums
    n = float(counts.sum())
    if not n:
        keys = ("accuracy", "precision", "recall", "f1", "roc_auc", "positive_rate", "base_rate")
        return dict.fromkeys(keys, math.nan) | {"n": 0.0}
    tp, fn = float(sums[k:].sum()), float(sums[:k].sum())
    fp, tn = float(counts[k:].sum()) - tp, float(counts[:k].sum()) - fn
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "recall": tp / (tp + fn) if tp + fn else math.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan,
        "roc_auc": binned_auc(sums, counts - sums),
        "positive_rate": (tp + fp) / n,
        "base_rate": (tp + fn) / n,
        "n": n,
    }
