"""The numeric sketch's bottom-k reservoir: merge laws against a sorted oracle, stable keys,
and (with random keys) uniform inclusion and an unbiased mean."""

from __future__ import annotations

import hashlib
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from streams.sketches import DEFAULT_RESERVOIR, NumericSketch, stable_keys

EDGES, LO, HI = [-10.0, 0.0, 10.0], -100.0, 100.0
value = st.one_of(
    st.none(),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.0, float("inf"), float("-inf"), float("nan")]),
)
# small keys force ties on the key, which the value must break
key = st.one_of(st.integers(0, 3), st.integers(0, 2**64 - 1))
part = st.lists(st.tuples(value, key), max_size=40)


def sketch_of(pairs: list[tuple], size: int) -> NumericSketch:
    s = NumericSketch(EDGES, LO, HI, reservoir_size=size)
    s.update_batch([v for v, _ in pairs], keys=np.array([k for _, k in pairs], dtype=np.uint64))
    return s


def bottom_k(pairs: list[tuple], size: int) -> list[tuple[int, float]]:
    finite = [(k, v + 0.0) for v, k in pairs if v is not None and math.isfinite(v)]
    return sorted(finite)[:size]


def close(a: float, b: float, scale: float) -> bool:
    """Equal to 1e-9 relative to the data's magnitude (m2 near 0 has no relative scale).
    Squares of values under 1e-154 are subnormal, with few significant bits: below the
    smallest normal double (2.2e-308) the moments agree to rounding, not to 1e-9."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=max(1e-9 * scale, sys.float_info.min))


@settings(max_examples=300, deadline=None)
@given(st.lists(part, min_size=1, max_size=5), st.integers(0, 10))
def test_merge_of_parts_equals_one_pass(parts: list[list[tuple]], size: int) -> None:
    whole = sketch_of([p for ps in parts for p in ps], size)
    merged = sketch_of(parts[0], size)
    for ps in parts[1:]:
        merged += sketch_of(ps, size)
    backwards = sketch_of(parts[-1], size)
    for ps in reversed(parts[:-1]):
        backwards += sketch_of(ps, size)
    oracle = bottom_k([p for ps in parts for p in ps], size)
    scale = max((abs(v) for ps in parts for v, _ in ps if v and math.isfinite(v)), default=1.0)
    for s in (whole, merged, backwards):
        assert list(zip(s.sample_keys.tolist(), s.sample.tolist(), strict=True)) == oracle
        assert s.sample.dtype == np.float64 and s.sample_keys.dtype == np.uint64
        assert s.counts.tolist() == whole.counts.tolist()
        assert (s.n, s.missing, s.nan, s.inf, s.zeros) == (
            whole.n,
            whole.missing,
            whole.nan,
            whole.inf,
            whole.zeros,
        )
        assert (s.min, s.max) == (whole.min, whole.max)
        assert close(s.mean, whole.mean, scale)
        assert close(s.m2, whole.m2, scale * scale * max(whole.n, 1))


@given(part, part, st.integers(0, 6), st.integers(0, 6))
def test_different_sizes_merge_to_the_smaller(a: list, b: list, ka: int, kb: int) -> None:
    left = sketch_of(a, ka)
    left += sketch_of(b, kb)
    k = min(ka, kb)
    assert left.reservoir_size == k
    assert list(zip(left.sample_keys.tolist(), left.sample.tolist(), strict=True)) == bottom_k(
        a + b, k
    )


def test_reservoir_basics() -> None:
    s = NumericSketch(EDGES, LO, HI)
    assert s.reservoir_size == DEFAULT_RESERVOIR == s.empty_like().reservoir_size
    s.update_batch(np.arange(1000.0))  # no keys: random ones
    assert s.sample.size == DEFAULT_RESERVOIR and np.all(np.diff(s.sample_keys) > 0)
    assert set(s.sample.tolist()) <= set(range(1000))
    with pytest.raises(ValueError, match="read-only"):
        s.sample[0] = 1.0
    off = NumericSketch(EDGES, LO, HI, reservoir_size=0)
    off.update_batch([1.0, 2.0], keys=np.array([1, 2], dtype=np.uint64))
    assert off.sample.size == 0 and off.n == 2
    with pytest.raises(TypeError, match="uint64"):
        s.update_batch([1.0], keys=np.array([1]))
    with pytest.raises(ValueError, match="2 keys for 1 values"):
        s.update_batch([1.0], keys=np.array([1, 2], dtype=np.uint64))
    with pytest.raises(ValueError, match="at least 0"):
        NumericSketch(EDGES, LO, HI, reservoir_size=-1)


def test_same_events_same_sample_however_split() -> None:
    """Stable keys make the sample a function of the events: any split, any order."""
    rng = np.random.default_rng(7)
    ids = [f"event-{i}" for i in range(5000)]
    x = rng.normal(size=5000)
    whole = NumericSketch(EDGES, LO, HI)
    whole.update_batch(x, keys=stable_keys(ids))
    order = rng.permutation(5000)
    merged = NumericSketch(EDGES, LO, HI)
    for chunk in np.array_split(order, 7):
        part = merged.empty_like()
        part.update_batch(x[chunk], keys=stable_keys([ids[i] for i in chunk]))
        merged += part
    assert np.array_equal(merged.sample_keys, whole.sample_keys)
    assert np.array_equal(merged.sample, whole.sample)


@given(st.lists(st.text(), max_size=20))
def test_stable_keys_are_blake2b_64_little_endian(ids: list[str]) -> None:
    keys = stable_keys(ids)
    assert keys.dtype == np.uint64 and keys.shape == (len(ids),)
    expected = [
        int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in ids
    ]
    assert keys.tolist() == expected


def test_inclusion_is_uniform_and_the_mean_unbiased() -> None:
    """With random keys every item is kept with probability k/N, and the sample is a simple
    random sample: its mean is unbiased with the without-replacement variance."""
    rng = np.random.default_rng(20240501)
    n_items, k, trials = 40, 8, 5000
    population = rng.exponential(size=n_items)  # skewed, distinct values
    included = np.zeros(n_items)
    means = np.empty(trials)
    for t in range(trials):
        keys = rng.integers(0, 2**64, size=n_items, dtype=np.uint64)
        s = NumericSketch(EDGES, LO, HI, reservoir_size=k)
        s.update_batch(population[:15], keys=keys[:15])
        rest = s.empty_like()
        rest.update_batch(population[15:], keys=keys[15:])
        s += rest
        included += np.isin(population, s.sample)
        means[t] = s.sample.mean()
    assert included.sum() == trials * k
    # Pearson's statistic on inclusions; without replacement it is chi2(N-1) once scaled by
    # (N-1) / (N (1-p)), the inclusion counts' covariance being p(1-p) N/(N-1) (I - J/N)
    p = k / n_items
    expected = trials * p
    statistic = ((included - expected) ** 2 / expected).sum() * (n_items - 1)
    statistic /= n_items * (1 - p)
    assert stats.chi2.sf(statistic, n_items - 1) > 1e-3
    se = means.std(ddof=1) / math.sqrt(trials)
    assert 2 * stats.norm.sf(abs(means.mean() - population.mean()) / se) > 1e-3
    srs_var = population.var(ddof=1) / k * (n_items - k) / n_items
    assert means.var(ddof=1) == pytest.approx(srs_var, rel=0.1)
