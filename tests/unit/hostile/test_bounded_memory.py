"""A categorical feature with 1,000,000 distinct values over time (an id leaking into
a feature) keeps stage 1's state, its partials and the process's memory bounded: the
categorical sketch holds its top categories and an ``other`` bucket, never all.

The million go through the window sketches as stage 1 folds and stage 2 merges them;
the whole pipeline (decode, stage 1, stage 2) sees the first 100,000 of them (a
million events through it would take a minute of the unit suite)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.hostile.corpus import iso
from tests.unit.hostile.harness import T0, Pipeline, make_spec

DISTINCT = 1_000_000
THROUGH_PIPELINE = 100_000
PER_ENVELOPE = 500


def rss_bytes() -> int:
    """The process's resident memory now (Linux), not its peak."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def envelope(batch: int) -> bytes:
    """500 events 1 ms apart (60,000 a window), each with a category never seen before."""
    first = batch * PER_ENVELOPE
    events = [
        b'{"model_id":"m","model_version":"1","prediction_id":"p%d","timestamp":"%s",'
        b'"features":{"x":0.0,"color":"user-%d"},"prediction":{"score":0.5}}'
        % (i, iso(T0 + i / 1000).encode(), i)
        for i in range(first, first + PER_ENVELOPE)
    ]
    return b'{"batch_version":1,"predictions":[' + b",".join(events) + b"]}"


def test_distinct_categories_through_the_pipeline_keep_state_and_memory_bounded() -> None:
    pipeline = Pipeline()
    pipeline.pending = BoundedPending()
    sizes, growth = [], []
    start = None
    for batch in range(THROUGH_PIPELINE // PER_ENVELOPE):
        pipeline.predictions([(None, envelope(batch))])
        if batch % 20 == 19:  # every 10,000 events
            sizes.append(len(pipeline.partition.serialize()))
            rss = rss_bytes()
            start = start or rss
            growth.append(rss - start)
    pipeline.finish()
    assert pipeline.accepted == THROUGH_PIPELINE and not pipeline.deadletters
    counted = sum(r["count"] for r in pipeline.records if r["revision"] == 0)
    assert counted == THROUGH_PIPELINE
    # the partition state holds one or two open windows, whatever came before
    assert max(sizes) < 4 * min(sizes)
    # 90,000 events after the first measurement: far less than their 10+ MB
    assert max(growth) < 16 * 1024 * 1024, growth


def test_a_million_distinct_categories_fold_and_merge_into_bounded_sketches() -> None:
    spec = make_spec()
    merged = None
    sizes = []
    for window in range(DISTINCT // 50_000):  # 20 windows of 50,000 new categories
        values = [f"user-{window * 50_000 + i}" for i in range(50_000)]
        sketch = spec.new_window(T0).features["color"]
        sketch.update_batch(values)
        if merged is None:
            merged = sketch
        else:
            merged += sketch
        sizes.append(len(merged.to_bytes()))
    assert merged is not None and merged.n == DISTINCT
    assert max(sizes) < 2 * sizes[0]  # a million categories cost what 50,000 did


class BoundedPending(dict):
    """The pending table lives on disk in the worker (RocksDB): not in this process's
    memory, so this test keeps none of it."""

    def __setitem__(self, key: str, value: bytes) -> None:
        pass
