"""A category the reference never saw: a new-category finding with its share, and
Cohen's w on its documented scale (0.1 small, 0.5 large), checked against scipy."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from streams.config.models import DriftConfig
from streams.drift.chi_squared import chi_squared
from streams.drift.engine import compare
from streams.sketches import CategoricalSketch

REFERENCE = {"a": 5000, "b": 3000, "c": 2000}


def sketch(counts: dict[str, int], capacity: int = 100) -> CategoricalSketch:
    s = CategoricalSketch(capacity)
    s.update_counts(counts)
    return s


def by_hand_w(reference: dict[str, int], current: dict[str, int]) -> float:
    """sqrt(chi2 / n) of the window's goodness of fit to the reference's proportions,
    over the categories the reference saw: scipy's chi-squared when the window has no
    new category; with one, its observed counts fall short of the expected ones (which
    scipy refuses), so the same sum is taken by hand."""
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    observed = [current.get(c, 0) for c in reference]
    expected = [n_cur * r / n_ref for r in reference.values()]
    if sum(observed) == n_cur:
        chi2 = stats.chisquare(observed, expected).statistic
    else:
        chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    return math.sqrt(chi2 / n_cur)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=2, max_size=12), st.data())
def test_effect_size_is_cohens_w_of_the_window_against_the_reference(
    ref: list[int], data: st.DataObject
) -> None:
    cur = data.draw(st.lists(st.integers(0, 2000), min_size=len(ref), max_size=len(ref)))
    new = data.draw(st.integers(0, 500))
    reference = {f"c{i}": r for i, r in enumerate(ref)}
    current = {f"c{i}": c for i, c in enumerate(cur)} | ({"new": new} if new else {})
    if sum(current.values()) == 0:
        return
    result = chi_squared(reference, current)
    assert math.isclose(result.effect_size, by_hand_w(reference, current), rel_tol=1e-9)
    table = np.array([[reference.get(c, 0), current.get(c, 0)] for c in current | reference]).T
    table = table[:, table.sum(axis=0) > 0]
    oracle = stats.chi2_contingency(table, correction=False)
    assert math.isclose(result.statistic, oracle.statistic, rel_tol=1e-9)


@given(st.floats(0.0, 1.0))
def test_a_new_category_alone_scores_its_share(share: float) -> None:
    """The rest of the window as the reference: w = s, never the old floor's 100."""
    n = 10_000
    new = round(share * n)
    current = {c: (n - new) * v // 10_000 for c, v in REFERENCE.items()}
    current["new"] = n - sum(current.values())
    w = chi_squared(REFERENCE, current).effect_size
    assert 0.0 <= w <= 1.0 + 1e-12
    assert math.isclose(w, current["new"] / n, abs_tol=2e-3)


def test_a_new_category_is_a_finding_with_its_share() -> None:
    window = {"a": 400, "b": 240, "c": 160, "3": 150, "4": 50}
    (f,) = compare({"x": sketch(REFERENCE)}, {"x": sketch(window)}, DriftConfig()).features
    n = sum(window.values())
    assert f.new_categories == {"3": 150 / n, "4": 50 / n}  # largest first
    assert list(f.new_categories) == ["3", "4"]
    assert math.isclose(f.statistics["new_category_share"], 200 / n)
    # the known categories kept their proportions: w is the new share, 0.2 (not 100)
    assert math.isclose(f.statistics["chi2_effect_size"], 200 / n)
    assert f.drifted  # chi-squared: p tiny and w above the 0.1 gate


def test_no_category_is_new_against_a_reference_over_its_capacity() -> None:
    """It may hold any category in __other__: an unseen one is compared as __other__."""
    ids = Counter({f"id{i}": 1 for i in range(50)} | {"hot": 100})
    reference = sketch(dict(ids), capacity=5)
    assert "__other__" in reference.counts
    window = sketch({"hot": 20, "id77": 3})
    (f,) = compare({"x": reference}, {"x": window}, DriftConfig()).features
    assert f.new_categories == {} and f.statistics["new_category_share"] == 0.0
