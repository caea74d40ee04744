"""Two-sample Kolmogorov-Smirnov test on the raw samples of both sides."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import kolmogorov


@dataclass(frozen=True, slots=True)
class KSResult:
    statistic: float  # sup |F_ref - F_cur| over the pooled values, in [0, 1]
    p_value: float


def ks_test(reference: np.ndarray, current: np.ndarray) -> KSResult:
    """Two-sided two-sample KS test; nan values are dropped.

    The ECDFs are evaluated with ``searchsorted(side="right")`` at every pooled value, so
    tied values move both ECDFs at once and ties never inflate the statistic. The p-value
    is the asymptotic Kolmogorov tail P(K > sqrt(n*m/(n+m)) * D). scipy's ``method="asymp"``
    instead takes the finite-n one-sample law ``kstwo(round(n*m/(n+m)))``; ours is never
    smaller, by at most about 0.3 / sqrt(n*m/(n+m)), and it is the closer of the two to the
    exact two-sample p-value for balanced sides. An empty side gives nan for both: there is
    no evidence either way, and nan keeps the verdict undecided instead of "no drift".

    >>> r = ks_test(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0]))
    >>> r.statistic, round(r.p_value, 4)
    (0.5, 0.6994)
    """
    a = np.sort(_without_nan(reference))
    b = np.sort(_without_nan(current))
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return KSResult(float("nan"), float("nan"))
    pooled = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, pooled, side="right") / n
    cdf_b = np.searchsorted(b, pooled, side="right") / m
    statistic = float(np.max(np.abs(cdf_a - cdf_b)))
    effective_size = n * m / (n + m)
    p_value = float(np.clip(kolmogorov(np.sqrt(effective_size) * statistic), 0.0, 1.0))
    return KSResult(statistic, p_value)


def _without_nan(values: np.ndarray) -> np.ndarray:
    """The values as a flat float array, nan dropped (infinities sort like any value)."""
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]
