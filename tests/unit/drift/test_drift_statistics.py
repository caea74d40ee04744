"""Drift statistics against independent oracles: scipy, or a hand computation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from streams.drift import (
    adjust_p_values,
    aligned_counts,
    chi_squared,
    hellinger,
    jensen_shannon,
    ks_test,
    mmd_test,
    wasserstein,
)

tied = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=60)
spread = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=60)
samples = st.one_of(tied, spread)
counts = st.lists(st.integers(0, 1000), min_size=1, max_size=12)

#: Near zero a distance is the square root of a divergence that rounds at ~1e-16, so two
#: correct formulas can differ by ~1e-8 there.
SQRT_ROUNDING = 1e-7


# scipy's own asymp p-value divides by round(en) = 0 for two single values.
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(samples, samples)
def test_ks_statistic_matches_scipy(a: list, b: list) -> None:
    ours = ks_test(np.array(a), np.array(b))
    oracle = stats.ks_2samp(a, b, method="asymp")
    assert abs(ours.statistic - oracle.statistic) <= 1e-12
    assert 0.0 <= ours.p_value <= 1.0


@pytest.mark.parametrize(("n", "m"), [(20, 30), (100, 100), (100, 1000), (1000, 1000), (5000, 300)])
@pytest.mark.parametrize("shift", [0.0, 0.1, 0.3])
def test_ks_p_value_against_scipy_asymp(n: int, m: int, shift: float) -> None:
    # scipy's asymp takes the one-sample law kstwo(round(en)); ours the Kolmogorov limit,
    # which is never smaller and differs by at most ~0.28 / sqrt(en) (en >= 10).
    rng = np.random.default_rng(n + m)
    a, b = rng.normal(size=n), rng.normal(shift, size=m)
    ours = ks_test(a, b)
    oracle = stats.ks_2samp(a, b, method="asymp")
    effective_size = n * m / (n + m)
    assert ours.p_value >= oracle.pvalue - 1e-12
    assert ours.p_value - oracle.pvalue <= 0.3 / math.sqrt(effective_size)


def test_ks_p_value_by_hand() -> None:
    # D = 0.5 at en = 2: P(K > 1/sqrt(2)) from the Kolmogorov series 2 sum (-1)^(k-1) e^(-2k^2x^2).
    x = 0.5 * math.sqrt(2)
    series = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k**2 * x**2) for k in range(1, 50))
    r = ks_test(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0]))
    assert r.statistic == 0.5 and math.isclose(r.p_value, series, rel_tol=1e-12)


def test_ks_empty_side_and_nan() -> None:
    r = ks_test(np.array([]), np.array([1.0, 2.0]))
    assert math.isnan(r.statistic) and math.isnan(r.p_value)
    assert math.isnan(ks_test(np.array([np.nan]), np.array([1.0])).p_value)
    with_nan = ks_test(np.array([1.0, np.nan, 2.0]), np.array([1.5, 3.0]))
    assert with_nan == ks_test(np.array([1.0, 2.0]), np.array([1.5, 3.0]))


@settings(max_examples=300, deadline=None)
@given(samples, samples, st.sampled_from([2.5, 1.0, 0.0, float("nan")]))
def test_wasserstein_matches_scipy(a: list, b: list, std: float) -> None:
    scale = std if std > 0 else 1.0
    oracle = stats.wasserstein_distance(a, b) / scale
    assert math.isclose(wasserstein(np.array(a), np.array(b), std), oracle, abs_tol=1e-9)


def test_wasserstein_empty_side() -> None:
    assert math.isnan(wasserstein(np.array([1.0]), np.array([]), 1.0))


@settings(max_examples=300, deadline=None)
@given(counts, st.data())
def test_jensen_shannon_matches_scipy(ref: list, data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 1000), min_size=len(ref), max_size=len(ref)))
    ours = jensen_shannon(np.array(ref), np.array(cur))
    if sum(ref) == 0 or sum(cur) == 0:
        assert math.isnan(ours)
        return
    oracle = jensenshannon(ref, cur, base=2)
    assert 0.0 <= ours <= 1.0
    assert math.isclose(ours, oracle, abs_tol=SQRT_ROUNDING)


@settings(max_examples=300, deadline=None)
@given(counts, st.data())
def test_hellinger_by_bhattacharyya(ref: list, data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 1000), min_size=len(ref), max_size=len(ref)))
    ours = hellinger(np.array(ref), np.array(cur))
    if sum(ref) == 0 or sum(cur) == 0:
        assert math.isnan(ours)
        return
    p = [r / sum(ref) for r in ref]
    q = [c / sum(cur) for c in cur]
    by_hand = math.sqrt(max(0.0, 1 - sum(math.sqrt(pi * qi) for pi, qi in zip(p, q, strict=True))))
    assert 0.0 <= ours <= 1.0
    assert math.isclose(ours, by_hand, abs_tol=SQRT_ROUNDING)


def test_distances_reject_misaligned_bins() -> None:
    with pytest.raises(ValueError, match="bins differ"):
        jensen_shannon(np.array([1, 2]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="bins differ"):
        hellinger(np.array([1, 2]), np.array([1, 2, 3]))


def test_aligned_counts_and_chi_squared() -> None:
    ref, cur = {"b": 3, "a": 1, "gone": 0}, {"a": 2, "new": 5}
    categories, r, c = aligned_counts(ref, cur)
    assert categories == ["a", "b", "new"]
    assert r.tolist() == [1.0, 3.0, 0.0] and c.tolist() == [2.0, 0.0, 5.0]
    oracle = stats.chi2_contingency(np.array([[1, 3, 0], [2, 0, 5]]), correction=False)
    result = chi_squared(ref, cur)
    assert np.isclose(result.statistic, oracle.statistic)
    assert np.isclose(result.p_value, oracle.pvalue)


def naive_mmd2(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Unbiased MMD^2 by double loops, with the median heuristic over nonzero distances."""
    pooled = [*x, *y]
    distances = [
        math.dist(u, v) for u, v in itertools.combinations(pooled, 2) if math.dist(u, v) > 0
    ]
    sigma = float(np.median(distances))

    def k(u: np.ndarray, v: np.ndarray) -> float:
        return math.exp(-(math.dist(u, v) ** 2) / (2 * sigma**2))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy, sigma


def test_mmd2_by_hand() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.5, size=(9, 3))
    x[1] = x[0]  # a duplicate row: its zero distance must not enter the median
    mmd2, sigma = naive_mmd2(x, y)
    result = mmd_test(x, y, permutations=50)
    assert math.isclose(result.bandwidth, sigma, rel_tol=1e-12)
    assert math.isclose(result.mmd2, mmd2, rel_tol=1e-10, abs_tol=1e-12)


def test_mmd_p_value_is_calibrated_under_no_drift() -> None:
    p_values = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
        p_values.append(mmd_test(x, y, permutations=200, seed=seed).p_value)
    assert np.mean(np.array(p_values) < 0.05) <= 0.12
    assert min(p_values) >= 1 / 201


def test_mmd_detects_a_half_sigma_shift() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 5)), rng.normal(0.5, size=(300, 5))
    result = mmd_test(x, y, permutations=200)
    assert result.p_value == 1 / 201 and result.mmd2 > 0


def test_mmd_is_reproducible_and_capped() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(60, 3)), rng.normal(0.1, size=(80, 3))
    assert mmd_test(x, y, seed=5) == mmd_test(x, y, seed=5)
    assert mmd_test(x, y, max_rows=50) == mmd_test(x[:50], y[:50])
    y_nan = np.vstack([y[:10], [[np.nan, 0.0, 0.0]], y[10:]])
    assert mmd_test(x, y_nan) == mmd_test(x, y)


def test_mmd_degenerate_inputs() -> None:
    one = mmd_test(np.zeros((1, 2)), np.zeros((5, 2)))
    assert math.isnan(one.mmd2) and math.isnan(one.p_value)
    same = mmd_test(np.ones((5, 2)), np.ones((6, 2)))
    assert same.bandwidth == 1.0 and abs(same.mmd2) < 1e-12 and same.p_value == 1.0
    with pytest.raises(ValueError, match="features differ"):
        mmd_test(np.zeros((3, 2)), np.zeros((3, 3)))


p_lists = st.lists(
    st.one_of(st.floats(0, 1), st.just(float("nan")), st.sampled_from([0.0, 0.01, 1.0])),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(p_lists)
def test_bh_matches_scipy(p: list) -> None:
    adjusted = adjust_p_values(p, "bh")
    values = np.array(p, dtype=float)
    tested = ~np.isnan(values)
    assert np.array_equal(np.isnan(adjusted), ~tested)
    if tested.any():
        oracle = stats.false_discovery_control(values[tested], method="bh")
        assert np.allclose(adjusted[tested], oracle, rtol=1e-12, atol=1e-15)
        order = np.argsort(values[tested])
        assert np.all(np.diff(adjusted[tested][order]) >= 0)
        assert np.all(adjusted[tested] <= 1.0)
        assert np.all(adjusted[tested] >= values[tested])


@settings(max_examples=200, deadline=None)
@given(p_lists)
def test_bonferroni_and_none_by_hand(p: list) -> None:
    m = sum(not math.isnan(x) for x in p)
    expected = [x if math.isnan(x) else min(1.0, x * m) for x in p]
    assert np.array_equal(adjust_p_values(p, "bonferroni"), expected, equal_nan=True)
    assert np.array_equal(adjust_p_values(p, "none"), p, equal_nan=True)


def test_adjust_p_values_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        adjust_p_values([0.5, 1.5], "bh")
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p_values([0.5], "holm")  # type: ignore[arg-type]
    assert adjust_p_values([], "bh").size == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)).filter(lambda t: sum(t) > 0),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: all(sum(side) > 0 for side in zip(*rows, strict=True)))
)
def test_chi_squared_matches_scipys_contingency_test(rows: list[tuple[int, int]]) -> None:
    ref = {f"c{i}": r for i, (r, _) in enumerate(rows)}
    cur = {f"c{i}": c for i, (_, c) in enumerate(rows)}
    oracle = stats.chi2_contingency(np.array(rows).T, correction=False)
    result = chi_squared(ref, cur)
    assert np.isclose(result.statistic, oracle.statistic, rtol=1e-9, atol=1e-9)
    assert np.isclose(result.p_value, oracle.pvalue, rtol=1e-9, atol=1e-300)
