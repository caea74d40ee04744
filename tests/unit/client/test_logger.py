"""The loggers without a broker (a stand-in producer, or an unreachable address): routing
equal to aiokafka's partitioner, full queues that drop and count without blocking,
flush and close that deliver, bad events refused at the caller."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import CollectorRegistry
from tests.unit.client.fakes import FakeProducer

from streams.client import InvalidEvent, LabelLogger, PredictionLogger
from streams.events.models import LabelEvent, PredictionEvent

UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1


def prediction(pid: str, **extra: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "model_id": "m",
        "model_version": "1",
        "prediction_id": pid,
        "timestamp": "2026-01-01T00:00:00Z",
        "features": {"x": 1.5, "country": "DE"},
        "prediction": {"score": 0.25},
        **extra,
    }


def label(pid: str) -> dict[str, Any]:
    return {
        "model_id": "m",
        "prediction_id": pid,
        "timestamp": "2026-01-02T00:00:00Z",
        "label": "1",
    }


def sample(registry: CollectorRegistry, metric: str, **labels: str) -> float:
    return registry.get_sample_value(f"streams_client_{metric}", labels) or 0.0


def unpack(value: bytes, kind: str) -> list[dict]:
    body = orjson.loads(value)
    return body[kind] if "batch_version" in body else [body]


@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("partitions", [4, 7])
def test_routing_equals_aiokafka_for_10000_random_keys(single: bool, partitions: int) -> None:
    rng = random.Random(partitions)
    ids = [uuid.UUID(int=rng.getrandbits(128)).hex[: rng.randrange(1, 33)] for _ in range(10_000)]
    fake = FakeProducer()
    logger = PredictionLogger(
        "unused",
        topic="t",
        producer=fake,
        partitions=partitions,
        single=single,
        registry=CollectorRegistry(),
    )
    for pid in ids:
        assert logger.log(prediction(pid))
    assert logger.close(10) == 0
    everything = list(range(partitions))
    aiokafka = DefaultPartitioner()
    seen = []
    for message in fake.sent:
        events = unpack(message.value, "predictions")
        assert message.key == events[0]["prediction_id"].encode()  # key: the first event's id
        for e in events:
            assert message.partition == aiokafka(
                e["prediction_id"].encode(), everything, everything
            )
        seen += [e["prediction_id"] for e in events]
    assert sorted(seen) == sorted(ids)
    assert (len(fake.sent) == len(ids)) is single


def test_an_unreachable_broker_fills_the_queue_then_drops_and_counts() -> None:
    registry = CollectorRegistry()
    logger = PredictionLogger(UNREACHABLE, registry=registry, queue_size=100, log_every_s=60)
    try:
        accepted = [logger.log(prediction(f"p{i}")) for i in range(1000)]
        assert accepted == [True] * 100 + [False] * 900  # never waits for room
        stats = logger.stats()
        assert (stats.logged, stats.queued, stats.dropped["queue_full"]) == (100, 100, 900)
        assert stats.partitions is None and not logger.wait_ready(0.1)
        assert sample(registry, "dropped_total", kind="predictions", reason="queue_full") == 900
    finally:
        assert logger.close(0.5) == 100  # nothing could be delivered


def test_a_paused_producer_backs_up_into_drops_not_into_the_caller() -> None:
    fake, registry = FakeProducer(), CollectorRegistry()
    fake.paused = True  # librdkafka's own queue is full
    logger = LabelLogger("unused", producer=fake, partitions=4, queue_size=50, registry=registry)
    results = [logger.log(label(f"p{i}")) for i in range(5000)]
    dropped = results.count(False)
    assert dropped > 0 and logger.stats().dropped["queue_full"] == dropped
    assert sample(registry, "dropped_total", kind="labels", reason="queue_full") == dropped
    fake.paused = False  # the broker is back: what was accepted is delivered
    assert logger.close(10) == 0
    delivered = sum(len(unpack(m.value, "labels")) for m in fake.sent)
    assert delivered == 5000 - dropped == logger.stats().delivered_events
    assert sample(registry, "produced_events_total", kind="labels") == delivered


def test_close_delivers_what_is_queued_and_then_drops() -> None:
    fake, registry = FakeProducer(), CollectorRegistry()
    with PredictionLogger(
        "unused", producer=fake, partitions=3, linger_ms=60_000, registry=registry
    ) as logger:
        for i in range(1234):
            logger.log(prediction(f"p{i}"))
    # lingering for a minute, the batches went out on close
    assert sum(len(unpack(m.value, "predictions")) for m in fake.sent) == 1234
    assert logger.pending() == 0 and logger.stats().delivered_messages == len(fake.sent)
    assert not logger.log(prediction("late"))
    assert logger.stats().dropped["closed"] == 1
    assert sample(registry, "dropped_total", kind="predictions", reason="closed") == 1


def test_linger_sends_a_quiet_partitions_batch_without_flush() -> None:
    fake = FakeProducer()
    logger = PredictionLogger(
        "unused", producer=fake, partitions=1, linger_ms=20, registry=CollectorRegistry()
    )
    try:
        for i in range(3):
            logger.log(prediction(f"p{i}"))
        deadline = time.monotonic() + 10
        while not fake.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        [message] = fake.sent
        assert [e["prediction_id"] for e in unpack(message.value, "predictions")] == [
            "p0",
            "p1",
            "p2",
        ]
    finally:
        logger.close(5)


def test_max_events_bounds_every_envelope() -> None:
    fake = FakeProducer()
    with PredictionLogger(
        "unused", producer=fake, partitions=2, max_events=100, registry=CollectorRegistry()
    ) as logger:
        for i in range(2000):
            logger.log(prediction(f"p{i}"))
    sizes = [len(unpack(m.value, "predictions")) for m in fake.sent]
    assert sum(sizes) == 2000 and max(sizes) == 100


def test_delivery_errors_are_counted_by_event() -> None:
    fake, registry = FakeProducer(fail=frozenset({b"p0", b"p1"})), CollectorRegistry()
    logger = PredictionLogger(
        "unused", producer=fake, partitions=1, single=True, registry=registry, log_every_s=60
    )
    for i in range(10):
        logger.log(prediction(f"p{i}"))
    assert logger.close(5) == 0
    stats = logger.stats()
    assert (stats.delivered_events, stats.delivery_errors) == (8, 2)
    assert stats.last_error == "broker says no"
    assert sample(registry, "delivery_errors_total", kind="predictions") == 2


def test_log_from_many_threads_loses_nothing() -> None:
    fake = FakeProducer()
    logger = LabelLogger("unused", producer=fake, partitions=4, registry=CollectorRegistry())

    def work(t: int) -> None:
        for i in range(2000):
            assert logger.log(label(f"t{t}-{i}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logger.close(10) == 0
    ids = [e["prediction_id"] for m in fake.sent for e in unpack(m.value, "labels")]
    assert len(ids) == len(set(ids)) == 16_000
    # within a partition, each thread's events keep the order it logged them in
    for p in range(4):
        here = [
            e["prediction_id"]
            for m in fake.sent
            if m.partition == p
            for e in unpack(m.value, "labels")
        ]
        for t in range(8):
            mine = [int(i.split("-")[1]) for i in here if i.startswith(f"t{t}-")]
            assert mine == sorted(mine)


def test_asyncio_server_logs_and_closes_without_blocking_the_loop() -> None:
    fake = FakeProducer()

    async def serve() -> int:
        async with PredictionLogger(
            "unused", producer=fake, partitions=2, registry=CollectorRegistry()
        ) as logger:
            for i in range(100):
                logger.log(prediction(f"p{i}"))
                await asyncio.sleep(0)
            return await logger.aflush(5)

    assert asyncio.run(serve()) == 0
    assert sum(len(unpack(m.value, "predictions")) for m in fake.sent) == 100


def test_pydantic_events_are_encoded_as_their_json() -> None:
    fake = FakeProducer()
    event = PredictionEvent.model_validate(prediction("p1", latency_ms=3.5))
    with PredictionLogger(
        "unused", producer=fake, partitions=1, single=True, registry=CollectorRegistry()
    ) as logger:
        logger.log(event)
        with pytest.raises(InvalidEvent, match="PredictionEvent"):
            logger.log(LabelEvent.model_validate(label("p1")))
    [message] = fake.sent
    assert PredictionEvent.model_validate_json(message.value) == event
    assert message.key == b"p1"


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ([1, 2], "dict or a pydantic event"),
        ({"prediction_id": "p"}, "without"),
        (prediction(""), "prediction_id"),
        (prediction(7), "prediction_id"),  # type: ignore[arg-type]
        (prediction("p", features={"x": {1, 2}}), "JSON"),
        (prediction("p", features={"x": "y" * 2_000_000}), "bytes"),
    ],
)
def test_a_bad_event_raises_to_the_caller(event: Any, match: str) -> None:
    logger = PredictionLogger(
        "unused", producer=FakeProducer(), partitions=1, registry=CollectorRegistry()
    )
    try:
        with pytest.raises(InvalidEvent, match=match):
            logger.log(event)
        assert logger.stats().logged == 0
    finally:
        logger.close(1)


def test_loggers_share_one_registry_by_kind() -> None:
    registry = CollectorRegistry()
    fake = FakeProducer()
    loggers = [
        PredictionLogger("unused", producer=fake, partitions=1, registry=registry),
        LabelLogger("unused", producer=fake, partitions=1, registry=registry),
        PredictionLogger("unused", topic="other", producer=fake, partitions=1, registry=registry),
    ]
    for logger in loggers:
        logger.log(prediction("p") if logger.kind == "predictions" else label("p"))
        logger.close(5)
    assert sample(registry, "produced_events_total", kind="predictions") == 2
    assert sample(registry, "produced_events_total", kind="labels") == 1


def test_bad_settings_raise_at_construction() -> None:
    with pytest.raises(ValueError, match="when_full"):
        PredictionLogger("unused", when_full="block")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_events"):
        PredictionLogger("unused", max_events=5000)
    from confluent_kafka import KafkaException

    with pytest.raises(KafkaException):
        PredictionLogger("unused", config={"no.such.setting": 1})


def test_importable_without_faust() -> None:
    code = (
        "import sys, streams.client; "
        "print(sorted(m for m in ('faust', 'aiokafka', 'mode') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
