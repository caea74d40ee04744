"""Corrections for testing many features of one model at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np


def adjust_p_values(
    p_values: Sequence[float], method: Literal["bh", "bonferroni", "none"]
) -> np.ndarray:
    """Adjusted p-values, to compare against the unadjusted alpha.

    With 50 features at alpha = 0.05, about 2.5 flag drift by chance every window.
    Benjamini-Hochberg ("bh") bounds the expected share of false alarms among the flagged
    features (the false discovery rate); Bonferroni bounds the chance of any false alarm,
    at the cost of power. BH's adjusted p-value is min over k >= rank of p_(k) * m / k,
    capped at 1, so it is monotone in p. nan p-values (features not tested) stay nan and
    do not count in m.

    >>> adjust_p_values([0.01, 0.04, float("nan"), 0.03], "bh").tolist()
    [0.03, 0.04, nan, 0.04]
    >>> adjust_p_values([0.01, 0.5], "bonferroni").tolist()
    [0.02, 1.0]
    """
    p = np.array(p_values, dtype=float).ravel()
    tested = ~np.isnan(p)
    if np.any((p[tested] < 0) | (p[tested] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = int(tested.sum())
    if method == "none" or m == 0:
        return p
    if method == "bonferroni":
        p[tested] = np.minimum(p[tested] * m, 1.0)
        return p
    if method != "bh":
        raise ValueError(f"unknown correction {method!r}")
    values = p[tested]
    order = np.argsort(values)
    scaled = values[order] * (m / np.arange(1, m + 1))  # m / k >= 1, so never below p
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    result = np.empty(m)
    result[order] = adjusted
    p[tested] = result
    return p
