"""The categorical sketch's Misra-Gries summary: exact within the capacity, within
n/(k+1) beyond it, whatever the split of the stream and the shape of the merges."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sketches import OTHER, CategoricalSketch

# skewed: a few frequent categories and a long tail
category = st.one_of(st.none(), st.sampled_from("abc"), st.integers(0, 40).map(str))
parts = st.lists(st.lists(category, max_size=60), min_size=1, max_size=6)


def sketch_of(values: list, capacity: int) -> CategoricalSketch:
    s = CategoricalSketch(capacity)
    for i in range(0, len(values), 17):  # several batches per part
        s.update_batch(values[i : i + 17])
    return s


def merged_sequentially(chunks: list[list], capacity: int) -> CategoricalSketch:
    s = sketch_of(chunks[0], capacity)
    for c in chunks[1:]:
        s += sketch_of(c, capacity)
    return s


def merged_as_tree(chunks: list[list], capacity: int) -> CategoricalSketch:
    level = [sketch_of(c, capacity) for c in chunks]
    while len(level) > 1:
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = []
        for pair in pairs:
            for other in pair[1:]:
                pair[0] += other
            level.append(pair[0])
    return level[0]


@settings(max_examples=300, deadline=None)
@given(parts, st.integers(1, 8))
def test_error_bound_and_exact_totals(chunks: list[list], capacity: int) -> None:
    values = [v for c in chunks for v in c]
    truth = Counter(v for v in values if v is not None)
    n = sum(truth.values())
    for s in (
        sketch_of(values, capacity),
        *(m(chunks, capacity) for m in (merged_sequentially, merged_as_tree)),
    ):
        counts = s.counts
        assert (s.n, s.missing) == (n, values.count(None))
        assert sum(counts.values()) == n and counts.get(OTHER, 1) > 0
        assert len(s.tracked) <= capacity
        assert s.max_error <= n / (capacity + 1)
        for c, true in truth.items():
            assert 0 <= true - s.tracked.get(c, 0) <= s.max_error


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.sampled_from("abcdefgh")), max_size=50),
        min_size=1,
        max_size=6,
    )
)
def test_exact_while_distinct_within_capacity(chunks: list[list]) -> None:
    values = [v for c in chunks for v in c]
    whole = sketch_of(values, 8)
    for s in (merged_sequentially(chunks, 8), merged_as_tree(chunks, 8)):
        assert s.counts == whole.counts == Counter(v for v in values if v is not None)
        assert (s.n, s.missing, s.max_error) == (whole.n, whole.missing, 0.0)


def test_default_capacity_is_exact_for_100_categories() -> None:
    values = [str(i % 100) for i in range(10_000)]
    whole = CategoricalSketch()
    whole.update_batch(values)
    merged = CategoricalSketch()
    for i in range(0, 10_000, 999):
        part = merged.empty_like()
        part.update_batch(values[i : i + 999])
        merged += part
    assert merged.counts == whole.counts == Counter(values) and OTHER not in merged.counts


def test_a_heavy_hitter_survives_a_flood_of_ids() -> None:
    """A category with more than n/(k+1) events is always tracked, even among unbounded ids."""
    s = CategoricalSketch(max_categories=10)
    for i in range(100):
        s.update_batch(["hot"] * 30 + [f"id-{i}-{j}" for j in range(70)])
    assert s.n == 10_000 and len(s.tracked) <= 10
    assert 3000 - s.max_error <= s.tracked["hot"] <= 3000


def test_values_are_named_canonically_in_any_order() -> None:
    """1, "1", 1.0 and True are one category (sketches/categories.py), whichever
    Counter key comes first; unhashable values are named by str."""
    a, b = CategoricalSketch(), CategoricalSketch()
    a.update_batch([1, "1", 1.0, True, None, ["x"]])
    b.update_batch([True, 1.0, 1, "1", None, ["x"]])
    assert a.counts == b.counts == Counter({"1": 4, "['x']": 1})
    a.update_batch(v for v in ["z", None])  # any iterable
    assert (a.counts["z"], a.missing, a.n) == (1, 2, 6)


def test_capacity_of_a_merge_is_the_smaller() -> None:
    small, large = CategoricalSketch(2), CategoricalSketch(5)
    small.update_batch(["a", "b"])
    large.update_batch(["a", "c", "d", "e", "e"])
    large += small
    assert large.max_categories == 2 and len(large.tracked) <= 2 and large.n == 7


def test_reads_the_older_dict_form() -> None:
    old = {"max_categories": 2, "counts": {"a": 3, "b": 1, OTHER: 2}, "missing": 1}
    s = CategoricalSketch.from_dict(old)
    assert (s.n, s.missing, dict(s.tracked)) == (6, 1, {"a": 3, "b": 1})
    assert s.counts == Counter(old["counts"])
    assert CategoricalSketch.from_dict(s.to_dict()).to_dict() == s.to_dict()
