"""Chi-squared test of a categorical feature, with an effect size next to the p-value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc

from streams.drift.distances import aligned_counts


@dataclass(frozen=True, slots=True)
class ChiSquaredResult:
    statistic: float
    p_value: float
    effect_size: float  # Cohen's w of the current proportions against the reference


def chi_squared(reference: Mapping[str, int], current: Mapping[str, int]) -> ChiSquaredResult:
    """Two-sample chi-squared test on the category counts of both sides.

    The p-value alone flags tiny differences on large windows, so callers gate it on
    Cohen's w (:func:`cohens_w`), which does not grow with sample size (0.1 small, 0.3
    medium, 0.5 large).

    >>> r = chi_squared({"a": 500, "b": 500}, {"a": 300, "b": 700})
    >>> round(r.statistic, 2), r.p_value < 1e-10, round(r.effect_size, 2)
    (83.33, True, 0.4)
    """
    categories, ref, cur = aligned_counts(reference, current)
    if len(categories) < 2 or ref.sum() == 0 or cur.sum() == 0:
        return ChiSquaredResult(0.0, 1.0, 0.0)
    # the 2 x k contingency test, by hand: scipy.stats costs 0.2 s to import, and
    # `streams drift` runs in data-pipeline CI (tests check it against chi2_contingency)
    table = np.vstack([ref, cur])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    p_value = float(chdtrc(len(categories) - 1, statistic))
    return ChiSquaredResult(float(statistic), float(p_value), cohens_w(ref, cur))


def cohens_w(reference: np.ndarray, current: np.ndarray) -> float:
    """Cohen's w of the current proportions q against the reference's p, over the
    categories the reference saw: sqrt(sum((q - p)^2 / p)), i.e. sqrt(chi2 / n) of the
    window's goodness of fit to the reference.

    A category the reference never saw has no expected share to divide by: floored at
    1e-4, one window of it alone scored 100 on a scale where 0.5 is large. Its share
    shows instead as the shortfall of the known categories (a new category taking a
    share s of an otherwise unchanged window gives w = s; a window of new categories
    only, w = 1), and the drift engine reports it as a new-category finding.

    >>> round(cohens_w(np.array([50, 50, 0]), np.array([45, 45, 10])), 3)
    0.1
    """
    seen = reference > 0
    p = reference[seen] / reference.sum()
    q = current[seen] / current.sum()
    return float(np.sqrt(np.sum((q - p) ** 2 / p)))
