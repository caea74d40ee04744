"""The batching rules: an envelope closes at max_events, before max_bytes, or after linger,
and its bytes are exactly what ``encode_batch`` makes of its events."""

from __future__ import annotations

import random

import orjson
import pytest

from streams.client.batching import Batcher
from streams.events.envelope import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, encode_batch


def event(i: int, padding: int = 0) -> bytes:
    return orjson.dumps({"prediction_id": f"p{i}", "pad": "x" * padding})


def decoded(value: bytes, kind: str = "predictions") -> list[dict]:
    body = orjson.loads(value)
    assert body["batch_version"] == 1 and set(body) == {"batch_version", kind}
    return body[kind]


def test_closes_at_max_events_with_the_first_events_key() -> None:
    batcher = Batcher("predictions", max_events=3, linger_s=60)
    closed = [batcher.add(0, b"p%d" % i, event(i), now=0.0) for i in range(7)]
    assert [c is not None for c in closed] == [False, False, True, False, False, True, False]
    first, second = closed[2], closed[5]
    assert (first.key, first.events, first.partition) == (b"p0", 3, 0)
    assert [e["prediction_id"] for e in decoded(second.value)] == ["p3", "p4", "p5"]
    assert batcher.events == 1
    [rest] = batcher.drain()
    assert rest.key == b"p6" and rest.events == 1 and batcher.events == 0


@pytest.mark.parametrize("kind", ["predictions", "labels"])
def test_envelope_bytes_equal_encode_batch(kind: str) -> None:
    batcher = Batcher(kind, max_events=MAX_BATCH_EVENTS, linger_s=60)
    values = [event(i, padding=i % 7) for i in range(40)]
    for i, value in enumerate(values):
        batcher.add(i % 3, b"p%d" % i, value, now=0.0)
    for envelope in batcher.drain():
        events = [orjson.loads(v) for v in values[envelope.partition :: 3]]
        assert envelope.value == encode_batch(kind, events)


def test_closes_before_the_event_that_would_pass_max_bytes() -> None:
    rng = random.Random(1)
    values = [event(i, padding=rng.randrange(0, 3000)) for i in range(400)]
    max_bytes = 20_000
    batcher = Batcher("labels", max_events=MAX_BATCH_EVENTS, max_bytes=max_bytes, linger_s=60)
    closed = [(i, batcher.add(0, b"k", v, now=0.0)) for i, v in enumerate(values)]
    envelopes = [(i, e) for i, e in closed if e is not None] + [(len(values), batcher.drain()[0])]
    start = 0
    for next_index, envelope in envelopes:
        assert len(envelope.value) <= max_bytes
        assert envelope.value == encode_batch(
            "labels", [orjson.loads(v) for v in values[start:next_index]]
        )
        if next_index < len(values):  # the next event would not have fitted
            assert len(envelope.value) + 1 + len(values[next_index]) > max_bytes
        start = next_index
    assert start == len(values) and len(envelopes) > 10


def test_linger_closes_each_partition_after_its_first_event() -> None:
    batcher = Batcher("predictions", max_events=100, linger_s=0.05)
    assert batcher.next_deadline() is None
    batcher.add(0, b"a", event(0), now=10.0)
    batcher.add(1, b"b", event(1), now=10.03)
    batcher.add(0, b"c", event(2), now=10.04)
    assert batcher.next_deadline() == pytest.approx(10.05)
    assert batcher.due(10.049) == []
    [p0] = batcher.due(10.05)
    assert (p0.partition, p0.events, p0.key) == (0, 2, b"a")
    assert batcher.next_deadline() == pytest.approx(10.08)
    [p1] = batcher.due(10.09)
    assert (p1.partition, p1.events) == (1, 1)
    assert batcher.next_deadline() is None and batcher.events == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_events": 0},
        {"max_events": MAX_BATCH_EVENTS + 1},
        {"max_bytes": MAX_BATCH_BYTES + 1},
        {"max_bytes": 10},
        {"linger_s": -1},
    ],
)
def test_rejects_limits_beyond_the_envelope_format(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Batcher("predictions", **kwargs)
