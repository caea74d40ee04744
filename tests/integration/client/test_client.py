"""The producer client on the real broker: envelopes land on the partition of each of
their events, and labels logged through it join their predictions in a worker."""

from __future__ import annotations

import time
import uuid

import numpy as np
import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry
from tests.integration.conftest import read_topic

from streams.client import LabelLogger, PredictionLogger
from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.scenarios import Stationary
from streams.kafka.admin import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
PERF_WINDOW_S = 600


def raw_messages(bootstrap: str, topic: str) -> list[tuple[int, bytes, dict]]:
    """(partition, key, decoded value) of every message now in ``topic``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4()}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in pending])
        out: list[tuple[int, bytes, dict]] = []
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            out.append((msg.partition(), msg.key(), orjson.loads(msg.value())))
            if msg.offset() + 1 >= ends[msg.partition()]:
                pending.discard(msg.partition())
        assert not pending, f"could not read {topic} to its end"
        return out
    finally:
        consumer.close()


def test_envelopes_hold_only_events_of_their_partition(kafka_bootstrap: str) -> None:
    topic = f"client-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, {topic: TopicSpec(6)})
    events = EventGenerator(seed=1).generate(T0 + np.arange(20_000) * 0.01).to_events()
    registry = CollectorRegistry()
    with PredictionLogger(kafka_bootstrap, topic, max_events=300, registry=registry) as logger:
        assert logger.wait_ready(30) and logger.stats().partitions == 6  # from metadata
        for event in events:
            assert logger.log(event)
    assert logger.pending() == 0 and logger.stats().delivery_errors == 0

    messages = raw_messages(kafka_bootstrap, topic)
    everything = list(range(6))
    seen: list[str] = []
    for partition, key, value in messages:
        batch = value["predictions"]
        assert value["batch_version"] == 1 and 1 <= len(batch) <= 300
        assert key == batch[0]["prediction_id"].encode()
        for e in batch:  # the oracle: aiokafka's partitioner, as the worker's consumer sees it
            assert DefaultPartitioner()(e["prediction_id"].encode(), everything, everything) == (
                partition
            )
        seen += [e["prediction_id"] for e in batch]
    assert sorted(seen) == sorted(e["prediction_id"] for e in events)
    assert len(messages) < len(events) / 50
    stats = logger.stats()
    assert stats.delivered_messages == len(messages) and stats.delivered_events == len(events)
    assert registry.get_sample_value(
        "streams_client_produced_events_total", {"kind": "predictions"}
    ) == len(events)


@pytest.mark.parametrize("single", [True, False], ids=["single", "envelopes"])
def test_every_label_logged_through_the_client_joins(deploy, single: bool) -> None:
    d = deploy(window_s=60, model={"performance": {"window_s": PERF_WINDOW_S}})
    block = EventGenerator(seed=8).generate(T0 + np.arange(6_000) * 0.1, Stationary())
    events = block.to_events()
    d.start_worker()
    registry = CollectorRegistry()
    with PredictionLogger(
        d.bootstrap, d.topic("predictions"), single=single, registry=registry
    ) as predictions:
        for e in events:
            predictions.log(e)
    assert predictions.pending() == 0
    # as in production (labels come hours later): the predictions are stored first
    d.results({T0 + 60 * m for m in range(10)}, timeout_s=90)
    with LabelLogger(d.bootstrap, d.topic("labels"), single=single, registry=registry) as labels:
        for e, y in zip(events, block.label.tolist(), strict=True):
            labels.log(
                {
                    "model_id": e["model_id"],
                    "prediction_id": e["prediction_id"],
                    "timestamp": "2026-01-02T00:00:00Z",
                    "label": str(int(y)),
                }
            )
    assert labels.pending() == 0 and labels.stats().delivery_errors == 0

    def counts(records: list[dict]) -> dict[str, int]:
        perf = [r for r in records if r.get("kind") == "performance"]
        return perf[-1]["label_counts"] if perf else {}

    records = read_topic(
        d.bootstrap,
        d.topic("results"),
        120,
        until=lambda r: sum(counts(r).values()) >= len(events),
    )
    assert counts(records) == {"joined": len(events)}, d.worker_logs()[-3000:]
