"""Canonical category names: one name per category whatever type carried it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from streams.sketches import CategoricalSketch
from streams.sketches.categories import (
    UNBOUNDED_MIN_VALUES,
    category_name,
    float_counts,
    looks_float_coded,
    looks_unbounded,
)

EXACT = 2**53


@given(st.integers(-EXACT + 1, EXACT - 1))
def test_an_integer_has_one_name_whatever_carries_it(n: int) -> None:
    carriers = [n, float(n), str(n), np.int64(n), np.float64(n)]
    assert {category_name(v) for v in carriers} == {str(n)}


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()))
def test_a_non_integral_float_keeps_a_name_that_reads_back_as_itself(x: float) -> None:
    assert float(category_name(x)) == x  # type: ignore[arg-type]
    assert category_name(np.float64(x)) == category_name(x)


def test_booleans_are_the_integers_one_and_zero() -> None:
    """The event schema has no boolean: a served true arrives as 1.0."""
    for value, number in ((True, 1), (False, 0), (np.bool_(True), 1), (np.bool_(False), 0)):
        assert category_name(value) == category_name(number) == category_name(float(number))


def test_missing_and_text() -> None:
    assert category_name(None) is None and category_name(math.nan) is None
    assert category_name("3.0") == "3.0" and category_name(" a ") == " a "  # text as is


def test_a_sketch_counts_every_carrier_of_a_category_as_one() -> None:
    s = CategoricalSketch()
    s.update_batch([3, 3.0, "3", np.int64(3), None, math.nan, 2.5])
    assert dict(s.counts) == {"3": 4, "2.5": 1} and s.missing == 2
    column = CategoricalSketch()
    column.update_batch(np.array([3.0, 3.0, np.nan, 2.5]))  # a float column, vectorised
    assert dict(column.counts) == {"3": 2, "2.5": 1} and column.missing == 1


def test_float_counts_agree_with_naming_one_by_one() -> None:
    values = np.random.default_rng(3).integers(-5, 5, size=1000) / 2.0
    values[::7] = np.nan
    by_hand: dict[str | None, int] = {}
    for v in values.tolist():
        by_hand[category_name(v)] = by_hand.get(category_name(v), 0) + 1
    assert dict(float_counts(values)) == by_hand


def test_float_coded_and_unbounded_shapes() -> None:
    assert looks_float_coded(["3.0", "-12.0"]) and not looks_float_coded(["3.0", "3.5"])
    assert not looks_float_coded(["3", "4"]) and not looks_float_coded([])
    assert looks_unbounded(101, 10_000, 100)  # over the capacity
    assert looks_unbounded(UNBOUNDED_MIN_VALUES, UNBOUNDED_MIN_VALUES, 100)  # one per value
    assert not looks_unbounded(5, 10_000, 100)
    assert not looks_unbounded(4, 4, 100)  # too few values to say
