"""Performance metrics from a merged :class:`PerformanceSketch`, and the small-sample
statistics that keep performance alerts from firing on the noise of a small window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from streams.sketches.performance import DELAY_BINS, DELAY_EDGES_S, PerformanceSketch

NAN = float("nan")


def _ratio(num: float, den: float) -> float:
    return num / den if den else NAN


def binned_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC AUC from the score histograms (counts or weights) of the two classes on the same
    ascending bins: P(s+ > s-) + 0.5 P(same bin); nan unless both classes have mass.

    >>> binned_auc(np.array([0, 1, 2]), np.array([2, 1, 0]))  # (1*2 + 2*3 + .5*1) / 9
    0.9444444444444444
    """
    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    total = pos.sum() * neg.sum()
    if not total:
        return NAN
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / total)


def auc_tie_bound(positives: np.ndarray, negatives: np.ndarray) -> float:
    """How far :func:`binned_auc` can be from the AUC of the unbinned scores: half the
    share of (positive, negative) pairs that fall in the same bin."""
    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    total = pos.sum() * neg.sum()
    return float(0.5 * (pos * neg).sum() / total) if total else NAN


def classification_metrics(sketch: PerformanceSketch) -> dict[str, float]:
    """Accuracy, precision, recall and f1 at the sketch's threshold, ROC AUC (binned, see
    :func:`auc_tie_bound`), log loss, expected calibration error over 10 equal-width bins,
    predicted positive rate, label base rate and n; nan where a ratio has no denominator.

    >>> from streams.sketches.performance import PerformanceSketch
    >>> s = PerformanceSketch()
    >>> s.update_batch(np.array([0.9, 0.4, 0.7, 0.2]), np.array([1, 1, 0, 0]), np.ones(4))
    >>> m = classification_metrics(s)
    >>> m["accuracy"], m["precision"], m["roc_auc"], round(m["ece"], 3)  # (.1+.6+.7+.2)/4
    (0.5, 0.5, 0.75, 0.4)
    """
    tp, fp, tn, fn = sketch.tp, sketch.fp, sketch.tn, sketch.fn
    n = tp + fp + tn + fn
    gaps = np.abs(sketch.calibration_label_sums - sketch.calibration_score_sums)
    return {
        "accuracy": _ratio(tp + tn, n),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": binned_auc(sketch.positive_counts, sketch.negative_counts),
        "log_loss": _ratio(sketch.log_loss_sum, n),
        # sum_k (count_k / n) |mean label_k - mean score_k| = sum_k |labels_k - scores_k| / n
        "ece": _ratio(float(gaps.sum()), n),
        "positive_rate": _ratio(tp + fp, n),
        "base_rate": _ratio(tp + fn, n),
        "n": float(n),
    }


def regression_metrics(sketch: PerformanceSketch) -> dict[str, float]:
    """MAE, RMSE and MAPE (a fraction, as sklearn's; over the non-zero true values only,
    with ``mape_excluded`` saying how many zeros were left out) and n.

    >>> from streams.sketches.performance import PerformanceSketch
    >>> s = PerformanceSketch()
    >>> s.update_batch([1.0, 3.0, 1.0], [2.0, 2.0, 0.0], np.zeros(3), regression=True)
    >>> regression_metrics(s)
    {'mae': 1.0, 'rmse': 1.0, 'mape': 0.5, 'mape_excluded': 1.0, 'n': 3.0}
    """
    n = sketch.n_regression
    return {
        "mae": _ratio(sketch.abs_error_sum, n),
        "rmse": math.sqrt(sketch.squared_error_sum / n) if n else NAN,
        "mape": _ratio(sketch.ape_sum, n - sketch.ape_excluded),
        "mape_excluded": float(sketch.ape_excluded),
        "n": float(n),
    }


def delay_quantiles(
    sketch: PerformanceSketch, qs: Sequence[float] = (0.5, 0.9, 0.99)
) -> dict[float, float]:
    """Label-delay quantiles (seconds) from the log-spaced histogram: geometric within a
    bin, so within one bin (under 10%) of the true quantile; the underflow and overflow
    bins are linear up from the least delay and up to the greatest.

    >>> from streams.sketches.performance import PerformanceSketch
    >>> s = PerformanceSketch()
    >>> s.update_batch(np.zeros(3), np.zeros(3), [30.0, 3600.0, 86_400.0], regression=True)
    >>> {q: round(v, -1) for q, v in delay_quantiles(s, (0.0, 1.0)).items()}
    {0.0: 30.0, 1.0: 86400.0}
    """
    counts = sketch.delay_counts
    total = int(counts.sum())
    if not total:
        return {float(q): NAN for q in qs}
    lo, hi = sketch.delay_min, sketch.delay_max
    edges = DELAY_EDGES_S
    bounds = np.concatenate(([min(lo, edges[0])], edges, [max(hi, edges[-1])]))
    cumulative = np.cumsum(counts)
    out = {}
    for q in qs:
        target = q * total
        i = int(np.searchsorted(cumulative, target, side="left"))
        before = cumulative[i - 1] if i else 0
        share = (target - before) / counts[i] if counts[i] else 0.0
        a, b = bounds[i], bounds[i + 1]
        value = a * (b / a) ** share if 1 <= i <= DELAY_BINS else a + share * (b - a)
        out[float(q)] = float(np.clip(value, lo, hi))
    return out


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence} is not in (0, 1)")
    return float(ndtri(0.5 + confidence / 2))


def accuracy_interval(
    correct: int, n: int, confidence: float = 0.95, *, continuity: bool = False
) -> tuple[float, float]:
    """Wilson score interval for a proportion: unlike the normal (Wald) interval it stays
    inside [0, 1] and keeps near-nominal coverage for small n and proportions near 0 or 1,
    as accuracies are. ``continuity`` adds the continuity correction (Newcombe's method 4):
    wider, and conservative where the plain interval dips below its coverage on the few
    outcomes of a small n. (nan, nan) without trials.

    >>> tuple(round(x, 4) for x in accuracy_interval(81, 263))  # Newcombe (1998), Table I
    (0.2553, 0.3662)
    >>> tuple(round(x, 4) for x in accuracy_interval(81, 263, continuity=True))
    (0.2535, 0.3682)
    """
    if not 0 <= correct <= n:
        raise ValueError(f"{correct} successes out of {n} trials")
    z = _z(confidence)
    if not n:
        return NAN, NAN
    p, z2 = correct / n, z * z
    if not continuity:
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
        return max(0.0, centre - half), min(1.0, centre + half)
    q, den = 1 - p, 2 * (n + z2)
    lo = (2 * n * p + z2 - 1 - z * math.sqrt(z2 - 2 - 1 / n + 4 * p * (n * q + 1))) / den
    hi = (2 * n * p + z2 + 1 + z * math.sqrt(z2 + 2 - 1 / n + 4 * p * (n * q - 1))) / den
    return (max(0.0, lo) if correct else 0.0), (min(1.0, hi) if correct < n else 1.0)


@dataclass(frozen=True, slots=True)
class ProportionDrop:
    dropped: bool  # the whole interval for the difference lies below zero
    difference: float  # current proportion - reference proportion
    lo: float  # bounds of the two-sided interval for the difference
    hi: float


def proportion_drop(
    ref_successes: int, ref_n: int, cur_successes: int, cur_n: int, confidence: float = 0.95
) -> ProportionDrop:
    """Is the current proportion (an accuracy, a recall) significantly below the reference?

    The interval for the difference is Newcombe's hybrid score interval from the two
    continuity-corrected Wilson intervals (his method 11). ``dropped`` when its upper bound
    is below zero: a one-sided test at nominal level (1 - confidence) / 2. The correction
    is what keeps alerts off noise: at confidence 0.95, with a reference of 100 to 10,000
    trials at a true rate of 0.5 to 0.99 and windows of 5 to 500, the exact false-alarm
    rate is at most 3.5% (1.7% on average), where the uncorrected method 10 reaches 9.6%
    (a window of 10 at 0.99) and the two-proportion z-test is worse still. Asking that
    the two intervals not overlap would be far more conservative. Without trials on
    either side nothing is known: nan bounds, not dropped.

    >>> r = proportion_drop(48, 80, 56, 70)  # Newcombe (1998), 56/70 - 48/80
    >>> r.dropped, round(r.difference, 4), round(r.lo, 4), round(r.hi, 4)
    (False, 0.2, 0.0428, 0.3422)
    """
    ref_lo, ref_hi = accuracy_interval(ref_successes, ref_n, confidence, continuity=True)
    cur_lo, cur_hi = accuracy_interval(cur_successes, cur_n, confidence, continuity=True)
    if not (ref_n and cur_n):
        return ProportionDrop(False, NAN, NAN, NAN)
    ref, cur = ref_successes / ref_n, cur_successes / cur_n
    difference = cur - ref
    lo = difference - math.hypot(cur - cur_lo, ref_hi - ref)
    hi = difference + math.hypot(cur_hi - cur, ref - ref_lo)
    return ProportionDrop(hi < 0, difference, lo, hi)


@dataclass(frozen=True, slots=True)
class ErrorRise:
    difference: float  # current MAE - reference MAE
    lo: float  # bounds of the two-sided interval for the difference
    hi: float


def mae_rise(
    reference: PerformanceSketch, current: PerformanceSketch, confidence: float = 0.95
) -> ErrorRise:
    """Interval for the change in mean absolute error between two sketches.

    The absolute errors' variance comes from the sketch's sums of |e| and e^2, so the
    interval is Welch's normal interval for a difference of means: with the hundreds of
    labels a window needs before it may alert, the means are close to normal. Fewer than
    two pairs on a side: nan bounds.

    >>> a, b = PerformanceSketch(), PerformanceSketch()
    >>> a.update_batch([1.0, 2, 3, 4], [1.5, 1.5, 3.5, 3.5], np.zeros(4), regression=True)
    >>> b.update_batch([1.0, 2, 3, 4], [2.0, 3, 4, 5], np.zeros(4), regression=True)
    >>> r = mae_rise(a, b)
    >>> r.difference, r.lo, r.hi  # both sides have no spread in |e|
    (0.5, 0.5, 0.5)
    """
    z = _z(confidence)
    sides = []
    for sketch in (reference, current):
        n = sketch.n_regression
        if n < 2:
            return ErrorRise(NAN, NAN, NAN)
        mean = sketch.abs_error_sum / n
        variance = max(sketch.squared_error_sum / n - mean * mean, 0.0) * n / (n - 1)
        sides.append((mean, variance / n))
    (ref, ref_var), (cur, cur_var) = sides
    half = z * math.sqrt(ref_var + cur_var)
    return ErrorRise(cur - ref, cur - ref - half, cur - ref + half)
