"""Merge laws of the sketches and the statistics against independent oracles."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from streams.drift import chi_squared, psi
from streams.sketches import CategoricalSketch, NumericSketch
from streams.sketches.numeric import FEW_EDGES
from streams.windows.aggregate import WindowAggregate
from streams.windows.reference_profile import build_profile

values = st.lists(
    st.one_of(
        st.none(),
        st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from([0.0, float("inf"), float("nan")]),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(values, values)
def test_numeric_merge_equals_one_pass(a: list, b: list) -> None:
    edges, lo, hi = [-10.0, 0.0, 10.0], -100.0, 100.0
    left, right, whole = (NumericSketch(edges, lo, hi) for _ in range(3))
    left.update_batch(a)
    right.update_batch(b)
    whole.update_batch(a + b)
    left += right
    assert left.counts.tolist() == whole.counts.tolist()
    assert (left.n, left.missing, left.nan, left.inf, left.zeros) == (
        whole.n,
        whole.missing,
        whole.nan,
        whole.inf,
        whole.zeros,
    )
    assert np.isclose(left.mean, whole.mean, rtol=1e-9, atol=1e-6)
    assert np.isclose(left.m2, whole.m2, rtol=1e-9, atol=1e-3)
    assert NumericSketch.from_dict(left.to_dict()).to_dict() == left.to_dict()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from("abcde")), max_size=50),
    st.lists(st.one_of(st.none(), st.sampled_from("abcde")), max_size=50),
)
def test_categorical_merge_equals_one_pass(a: list, b: list) -> None:
    left, right, whole = CategoricalSketch(), CategoricalSketch(), CategoricalSketch()
    left.update_batch(a)
    right.update_batch(b)
    whole.update_batch(a + b)
    left += right
    assert left.counts == whole.counts and left.missing == whole.missing


def test_moments_match_numpy() -> None:
    x = np.random.default_rng(3).normal(5, 2, size=1001)
    s = NumericSketch([5.0], 0.0, 10.0)
    for part in np.array_split(x, 7):
        s.update_batch(part)
    assert np.isclose(s.mean, x.mean()) and np.isclose(s.variance, x.var(ddof=1))
    assert (s.min, s.max) == (x.min(), x.max())


def test_psi_by_hand() -> None:
    ref, cur = np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.25, 0.25])
    by_hand = (0.5 - 0.25) * np.log(0.5 / 0.25) + 0 + (0.25 - 0.5) * np.log(0.25 / 0.5)
    assert np.isclose(psi(ref, cur), by_hand)
    assert psi(ref, ref) == 0.0


def test_chi_squared_matches_scipy() -> None:
    ref = {"a": 400, "b": 350, "c": 250}
    cur = {"a": 100, "b": 120, "c": 80, "d": 5}
    table = np.array([[400, 350, 250, 0], [100, 120, 80, 5]])
    oracle = stats.chi2_contingency(table, correction=False)
    result = chi_squared(ref, cur)
    assert np.isclose(result.statistic, oracle.statistic)
    assert np.isclose(result.p_value, oracle.pvalue)


def test_aggregate_json_round_trip() -> None:
    """As partials and stage state carry it: through JSON, the decision threshold too."""
    rng = np.random.default_rng(0)
    profile = build_profile(
        {"x": rng.normal(size=500).tolist(), "c": rng.choice(["u", "v"], 500).tolist()}
    )
    agg = WindowAggregate("m", 60, profile.empty_sketches(), decision_threshold=0.7)
    agg.features["x"].update_batch(rng.normal(size=50).tolist())
    agg.features["c"].update_batch(["u", None, "v"])
    back = WindowAggregate.from_dict(orjson.loads(orjson.dumps(agg.to_dict())))
    assert back.to_dict() == agg.to_dict() and back.decision_threshold == 0.7


@pytest.mark.parametrize("n_edges", [1, 9, FEW_EDGES, FEW_EDGES + 1, 200])
def test_bin_index_matches_searchsorted_on_both_paths(n_edges: int) -> None:
    """Oracle: numpy's searchsorted (right side), values on the edges and outside the range."""
    rng = np.random.default_rng(n_edges)
    edges = np.sort(rng.choice(np.arange(-50.0, 50.0, 0.5), n_edges, replace=False))
    sketch = NumericSketch(edges, -40.0, 40.0)
    x = np.concatenate([rng.uniform(-60, 60, 5_000), edges, [-40.0, 40.0, -40.5, 40.5]])
    expected = np.searchsorted(edges, x, side="right") + 1
    expected[x < -40.0] = 0
    expected[x > 40.0] = n_edges + 2
    np.testing.assert_array_equal(sketch.bin_index(x), expected)
