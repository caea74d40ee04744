"""Binary and dict forms of both sketches: identity round trips, refusal of other
versions, kinds and damaged bytes, and the size of a default feature-window sketch."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sketches import CategoricalSketch, NumericSketch

edges = st.lists(st.floats(-1e3, 1e3), max_size=12, unique=True).map(sorted)
values = st.lists(
    st.one_of(
        st.none(),
        st.floats(-1e100, 1e100),  # beyond ~1e154 the squares in m2 overflow to nan
        st.sampled_from([float("nan"), float("inf"), -0.0]),
    ),
    max_size=50,
)
keys = st.lists(st.integers(2**64 - 4, 2**64 - 1) | st.integers(0, 2**64 - 1), max_size=50)


@settings(max_examples=200, deadline=None)
@given(edges, values, keys, st.integers(0, 20))
def test_numeric_round_trips(e: list[float], xs: list, ks: list[int], size: int) -> None:
    s = NumericSketch(e, -1e4, 1e4, reservoir_size=size)
    n = min(len(xs), len(ks))
    s.update_batch(xs[:n], keys=np.array(ks[:n], dtype=np.uint64))
    raw = s.to_bytes()
    back = NumericSketch.from_bytes(raw)
    assert back.to_bytes() == raw and back.to_dict() == s.to_dict()
    assert back.sample.dtype == np.float64 and back.sample_keys.dtype == np.uint64
    via_json = NumericSketch.from_dict(orjson.loads(orjson.dumps(s.to_dict())))
    assert via_json.to_bytes() == raw
    back += s  # arrays read back are writable and mergeable
    assert back.n == 2 * s.n


names = st.text(max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), names), max_size=60), st.integers(1, 6))
def test_categorical_round_trips(xs: list, capacity: int) -> None:
    s = CategoricalSketch(capacity)
    s.update_batch(xs)
    raw = s.to_bytes()
    back = CategoricalSketch.from_bytes(raw)
    assert back.to_bytes() == raw and back.to_dict() == s.to_dict()
    assert back.counts == s.counts and (back.n, back.missing) == (s.n, s.missing)
    assert CategoricalSketch.from_dict(orjson.loads(orjson.dumps(s.to_dict()))).to_bytes() == raw


def test_equal_categorical_sketches_give_equal_bytes() -> None:
    a, b = CategoricalSketch(), CategoricalSketch()
    a.update_batch(["x", "y", "y"])
    b.update_batch(["y", "x", "y"])
    assert a.to_bytes() == b.to_bytes()


def _filled(kind: type) -> NumericSketch | CategoricalSketch:
    if kind is NumericSketch:
        s = NumericSketch([1.0], 0.0, 2.0)
        s.update_batch([1.0, None])
        return s
    c = CategoricalSketch()
    c.update_batch(["a", None])
    return c


@pytest.mark.parametrize(
    ("kind", "other", "version"),
    [(NumericSketch, CategoricalSketch, 2), (CategoricalSketch, NumericSketch, 1)],
)
def test_other_versions_kinds_and_damage_are_refused(kind: type, other: type, version: int) -> None:
    raw = _filled(kind).to_bytes()
    assert raw[0] == version
    with pytest.raises(
        ValueError, match=rf"format version 9 \(this code reads version {version}\)"
    ):
        kind.from_bytes(b"\x09" + raw[1:])
    with pytest.raises(ValueError, match="truncated"):
        kind.from_bytes(raw[:-1])
    with pytest.raises(ValueError, match="1 extra"):
        kind.from_bytes(raw + b"\x00")
    with pytest.raises(ValueError, match="too short"):
        kind.from_bytes(b"")
    with pytest.raises(ValueError, match="not a"):
        kind.from_bytes(_filled(other).to_bytes())


@pytest.mark.parametrize("events", [5_000, 1_000_000])
def test_default_feature_window_fits_16_kib(events: int) -> None:
    """10 inner edges, a full 512 sample and the quantile sketch at k = 200, which grows
    with the log of the window: about 13.5 KiB at a million events, 16 KiB allowed."""
    s = NumericSketch(np.linspace(-1, 1, 10), -3.0, 3.0)
    x = np.random.default_rng(1).normal(size=events)
    keys = np.random.default_rng(2).integers(0, 2**64 - 1, size=events, dtype=np.uint64)
    for start in range(0, events, 2000):
        s.update_batch(x[start : start + 2000], keys=keys[start : start + 2000])
    assert s.sample.size == 512 and s.quantiles is not None and s.quantiles.n == events
    assert len(s.to_bytes()) <= 16 * 1024
