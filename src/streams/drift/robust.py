"""One extreme value must not decide a window: a histogram's under/overflow bins are
winsorized before a distance or a mean is taken from them.

A schema-valid 1e308 in one event of a window moves the window's mean by 1e308 / n,
and the binned Wasserstein distance with it: the online detectors and the Wasserstein
test would fire on that one event (issue 18). A value beyond the reference's range
counts as lying at most ``TAIL_REACH`` reference ranges beyond it: a real shift out of
the range still moves the window by several reference sd, one outlier in n events by
at most a 1/n share of that.

>>> import numpy as np
>>> from streams.sketches import NumericSketch
>>> ref = NumericSketch([0.0], -1.0, 1.0); ref.update_batch(np.array([-1.0, -0.5, 0.5, 1.0]))
>>> cur = ref.empty_like(); cur.update_batch(np.array([-0.5, 0.5, 0.5, 1e100]))
>>> robust_mean(ref, cur)  # 1e100 counts as 3.0: the reference's max plus its range
0.875
"""

from __future__ import annotations

import numpy as np

from streams.sketches import NumericSketch

#: How far beyond the reference's [lo, hi] a value counts, in reference ranges.
TAIL_REACH = 1.0
#: (counts, sums) of one side's bins.
Bins = tuple[np.ndarray, np.ndarray]


def tail_limits(reference: NumericSketch) -> tuple[float, float]:
    """The farthest a value below or above the reference's range counts as lying."""
    span = reference.hi - reference.lo
    if not span > 0:  # a constant (or empty) reference: its own scale, at least 1
        span = max(abs(reference.lo), 1.0)
    return reference.lo - TAIL_REACH * span, reference.hi + TAIL_REACH * span


def winsorized_bins(
    reference: NumericSketch, current: NumericSketch
) -> tuple[np.ndarray, Bins, Bins]:
    """Both sides' bins on the reference's boundaries, the outer boundaries held to
    :func:`tail_limits` and each tail bin's mean with them."""
    bounds = reference.bounds(current).copy()
    lo, hi = tail_limits(reference)
    bounds[0], bounds[-1] = max(bounds[0], lo), min(bounds[-1], hi)
    return bounds, _clip_tails(reference, bounds), _clip_tails(current, bounds)


def robust_mean(reference: NumericSketch, current: NumericSketch) -> float:
    """The mean of ``current``'s finite values, its tails winsorized; NaN when empty."""
    _, _, (counts, sums) = winsorized_bins(reference, current)
    n = int(counts.sum())
    return float(sums.sum() / n) if n else float("nan")


def _clip_tails(sketch: NumericSketch, bounds: np.ndarray) -> Bins:
    counts = sketch.counts
    sums = sketch.sums.astype(float)  # a copy: the sketch's own sums stay as they are
    for tail, (low, high) in ((0, bounds[:2]), (-1, bounds[-2:])):
        if counts[tail]:
            with np.errstate(over="ignore", invalid="ignore"):
                mean = sums[tail] / counts[tail]
            mean = np.nan_to_num(mean, nan=high if tail else low)
            sums[tail] = counts[tail] * float(np.clip(mean, low, high))
    return counts, sums
