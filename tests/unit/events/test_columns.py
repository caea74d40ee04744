"""Feature columns and the batched catalog check, against the per-value lookups they
replace (the oracle: one ``dict.get`` per feature and event)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from streams.events.columns import feature_columns, string_positions
from streams.events.decode import catalog_rejection, catalog_rejections
from streams.events.rows import PredictionOutput, PredictionRow
from streams.sketches import NumericSketch

NAMES = ["a", "b", "c", "d"]
values = st.none() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.sampled_from("xy")
maps = st.dictionaries(st.sampled_from([*NAMES, "extra"]), values)


@given(st.lists(maps, max_size=8))
def test_columns_equal_a_lookup_per_value(batch: list[dict[str, object]]) -> None:
    columns = feature_columns(batch, NAMES)
    assert list(columns) == NAMES
    for name in NAMES:
        assert list(columns[name]) == [m.get(name) for m in batch]


@given(st.lists(st.tuples(*(values for _ in NAMES)), min_size=1, max_size=8))
def test_maps_in_one_order_take_the_transpose(rows: list[tuple[object, ...]]) -> None:
    batch = [dict(zip(NAMES, row, strict=True)) for row in rows]
    columns = feature_columns(batch, [*NAMES, "absent"])
    for i, name in enumerate(NAMES):
        assert list(columns[name]) == [row[i] for row in rows]
    assert list(columns["absent"]) == [None] * len(rows)


@given(st.lists(values, max_size=12))
def test_string_positions(column: list[object]) -> None:
    assert string_positions(column) == [i for i, v in enumerate(column) if isinstance(v, str)]


def row(model_id: str, features: dict[str, object]) -> PredictionRow:
    return PredictionRow(
        model_id, "v1", "p", "2026-01-01T00:00:00Z", features, PredictionOutput(score=0.5)
    )


CATALOG = {"m": {"a": "numeric", "b": "categorical"}, "n": {"b": "numeric"}}


@given(
    st.lists(st.tuples(st.sampled_from(["m", "n", "unknown"]), maps), max_size=10),
)
def test_batched_catalog_check_equals_one_event_at_a_time(
    events: list[tuple[str, dict[str, object]]],
) -> None:
    rows = [row(model_id, features) for model_id, features in events]
    expected = {
        i: why for i, r in enumerate(rows) if (why := catalog_rejection(r, CATALOG)) is not None
    }
    assert catalog_rejections(rows, CATALOG) == expected


def test_a_string_in_a_numeric_feature_of_one_model_envelope() -> None:
    rows = [row("m", {"a": 1.0, "b": "x"}), row("m", {"a": "2", "b": "y"})]
    refused = catalog_rejections(rows, CATALOG)
    assert list(refused) == [1] and refused[1].reason == "wrong_type"


def test_numeric_columns_count_none_as_missing_and_nan_as_nan() -> None:
    sketch = NumericSketch([0.0, 1.0], -10.0, 10.0)
    sketch.update_batch((0.5, None, math.nan, math.inf, 2, None))
    assert (sketch.n, sketch.missing, sketch.nan, sketch.inf) == (2, 2, 1, 1)
    array = NumericSketch([0.0, 1.0], -10.0, 10.0)
    array.update_batch(np.array([0.5, np.nan]))  # an array's NaN is a NaN
    assert (array.n, array.missing, array.nan) == (1, 0, 1)
