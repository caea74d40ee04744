"""The contract of every sketch, found by walking the sketches package: a new sketch is
checked without editing this file. For each: the merge law (the merge of two parts'
sketches answers as the whole's sketch, within the sketch's documented bound), merging
with an empty sketch on either side, the bytes round trip, refusal of other sketches'
bytes, ``copy`` and ``+`` independent of their operands, ``n`` and ``is_empty``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping

import numpy as np
import pytest

import streams.sketches
from streams.sketches.base import Sketch

#: Float statistics are sums in another order after a merge: equal up to rounding.
RTOL = 1e-9


def _all_sketches() -> list[type[Sketch]]:
    for module in pkgutil.iter_modules(streams.sketches.__path__):
        importlib.import_module(f"{streams.sketches.__name__}.{module.name}")
    found, todo = [], list(Sketch.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if not inspect.isabstract(cls):
            found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


SKETCHES = _all_sketches()


def test_every_sketch_is_found() -> None:
    names = {c.__name__ for c in SKETCHES}
    assert {"NumericSketch", "CategoricalSketch", "ScoreHistogram", "PerformanceSketch"} <= names


def _values(seed: int, size: int) -> np.ndarray:
    return np.random.default_rng(seed).random(size)


def assert_answers_alike(a: Sketch, b: Sketch, bounds: Mapping[str, float] | None = None) -> None:
    """Every statistic of ``a`` equals ``b``'s, up to its bound and float rounding."""
    left, right = a._contract_statistics(), b._contract_statistics()
    assert left.keys() == right.keys()
    for name in left:
        bound = (bounds or {}).get(name, 0.0)
        x, y = left[name], right[name]
        if isinstance(x, Mapping):  # {key: number}; a key one side lacks counts 0
            keys = sorted(set(x) | set(y))
            x, y = [x.get(k, 0) for k in keys], [y.get(k, 0) for k in keys]
        assert np.shape(x) == np.shape(y), name
        close = np.isclose(x, y, rtol=RTOL, atol=bound + 1e-12, equal_nan=True)
        assert np.all(close), f"{type(a).__name__}.{name}: {x} != {y} (bound {bound})"


def _bounds(*sketches: Sketch) -> dict[str, float]:
    """The widest of the sketches' documented bounds, statistic by statistic: a sketch
    with randomised compactions (the KLL quantile sketch) may answer two merges of the
    same parts differently, each within its bound."""
    names = {name for s in sketches for name in s._contract_bounds()}
    return {n: max(s._contract_bounds().get(n, 0.0) for s in sketches) for n in names}


@pytest.mark.parametrize("kind", SKETCHES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_equals_the_sketch_of_the_union(kind: type[Sketch], seed: int) -> None:
    values = _values(seed, 600)
    cut = [17, 250, 599][seed]
    left, right = kind._contract_example(values[:cut]), kind._contract_example(values[cut:])
    whole = kind._contract_example(values)
    merged = left + right
    bounds = _bounds(merged, whole)
    assert_answers_alike(merged, whole, bounds)
    assert merged.n == left.n + right.n == whole.n
    left += right  # in place, the same answers
    assert_answers_alike(left, merged, bounds)


@pytest.mark.parametrize("kind", SKETCHES, ids=lambda c: c.__name__)
def test_empty_sketches_change_nothing_on_either_side(kind: type[Sketch]) -> None:
    empty = kind._contract_example(np.empty(0))
    assert empty.is_empty and empty.n == 0
    full = kind._contract_example(_values(3, 300))
    assert not full.is_empty and full.n > 0
    assert_answers_alike(full + empty, full)
    assert_answers_alike(empty + full, full)
    assert_answers_alike(empty + empty, empty)


@pytest.mark.parametrize("kind", SKETCHES, ids=lambda c: c.__name__)
def test_bytes_round_trip_and_other_kinds_are_refused(kind: type[Sketch]) -> None:
    for sketch in (kind._contract_example(_values(4, 300)), kind._contract_example(np.empty(0))):
        raw = sketch.to_bytes()
        back = kind.from_bytes(raw)
        assert back.to_bytes() == raw
        assert_answers_alike(back, sketch)
        back += sketch  # what is read back is mergeable
        assert back.n == 2 * sketch.n
    for other in SKETCHES:
        if other is not kind:
            with pytest.raises(ValueError, match="not a"):
                kind.from_bytes(other._contract_example(_values(5, 10)).to_bytes())


@pytest.mark.parametrize("kind", SKETCHES, ids=lambda c: c.__name__)
def test_copy_and_add_leave_their_operands_alone(kind: type[Sketch]) -> None:
    original = kind._contract_example(_values(6, 300))
    other = kind._contract_example(_values(7, 300))
    before, other_before = original.to_bytes(), other.to_bytes()  # the whole state
    copy = original.copy()
    assert type(copy) is kind and copy.to_bytes() == before
    copy += other
    total = original + other
    assert_answers_alike(copy, total, _bounds(copy, total))
    assert copy.n == original.n + other.n
    assert original.to_bytes() == before and other.to_bytes() == other_before
