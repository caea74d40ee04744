"""Node telemetry through the worker: GPU conditions and silent nodes become alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from tests.integration.conftest import read_topic
from tests.integration.prometheus import wait_until

from streams.events.models import GpuReading, TelemetryEvent

pytestmark = pytest.mark.integration


def messages_in(bootstrap: str, topic: str) -> int:
    """Messages in a topic so far; 0 while it is still being created."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "offsets"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
    except KafkaException:  # e.g. no leader elected yet
        return 0
    finally:
        consumer.close()


GIB = 1 << 30


def telemetry(node: str, used_gib: int, reasons: list[str], ecc: int) -> bytes:
    gpu = GpuReading(
        index=0,
        memory_used_bytes=used_gib * GIB,
        memory_total_bytes=80 * GIB,
        throttle_reasons=reasons,
        ecc_uncorrected_errors=ecc,
    )
    return TelemetryEvent(node_id=node, timestamp=datetime.now(UTC), gpus=[gpu]).to_json()


def test_gpu_conditions_and_a_silent_node_raise_infrastructure_alerts(deploy) -> None:
    d = deploy(infrastructure={"silent_after_s": 3})
    d.start_worker()
    producer = Producer({"bootstrap.servers": d.bootstrap, "partitioner": "murmur2_random"})
    samples = [
        ("healthy", telemetry("healthy", 10, [], 0)),
        ("hot", telemetry("hot", 10, [], 0)),
        ("hot", telemetry("hot", 79, ["hw_thermal"], 0)),  # memory and heat start
        ("hot", telemetry("hot", 79, ["hw_thermal"], 2)),  # ... go on; 2 ECC errors
        ("broken", b"{not json"),
    ]
    for node, raw in samples:
        producer.produce(d.topic("node-telemetry"), key=node.encode(), value=raw)
    assert producer.flush(30) == 0

    def complete(alerts: list[dict]) -> bool:
        return {"healthy", "hot"} <= {
            a["subject"] for a in alerts if a["category"] == "node_silent"
        }

    alerts = read_topic(d.bootstrap, d.topic("alerts"), 90, until=complete)
    found = sorted((a["subject"], a["evidence"]["statistic"]) for a in alerts)
    assert found == [
        ("healthy", "seconds_since_last_sample"),
        ("hot", "seconds_since_last_sample"),
        ("hot/gpu0", "ecc_uncorrected_errors_increase"),
        ("hot/gpu0", "memory_used_ratio"),
        ("hot/gpu0", "thermal_throttling"),
    ]
    assert {a["layer"] for a in alerts} == {"infrastructure"}
    dead = read_topic(d.bootstrap, d.topic("deadletter"), 30, until=bool)
    assert [(r["reason"], r["topic"]) for r in dead] == [("bad_json", d.topic("node-telemetry"))]


def test_a_node_that_dies_while_the_worker_restarts_is_still_found_silent(deploy) -> None:
    d = deploy(infrastructure={"silent_after_s": 8})
    first = d.start_worker()
    producer = Producer({"bootstrap.servers": d.bootstrap, "partitioner": "murmur2_random"})
    producer.produce(d.topic("node-telemetry"), key=b"lonely", value=telemetry("lonely", 10, [], 0))
    assert producer.flush(30) == 0
    changelog = f"{d.prefix}-monitor-infra-state-changelog"
    wait_until(
        lambda: messages_in(d.bootstrap, changelog) > 0,
        60,
        "the first worker to save the node's state",
    )
    d.stop_worker(first)  # before the node could count as silent
    assert read_topic(d.bootstrap, d.topic("alerts")) == []
    d.start_worker()  # the node never reports again
    alerts = read_topic(d.bootstrap, d.topic("alerts"), 60, until=bool)
    assert [(a["category"], a["subject"]) for a in alerts] == [("node_silent", "lonely")]
