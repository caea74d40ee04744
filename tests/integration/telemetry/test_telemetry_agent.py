"""The telemetry agent against the real broker: what it produces is what consumers read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.events.models import TelemetryEvent
from streams.kafka.admin import delete_topics_with_prefix, topic_partition_count
from streams.telemetry.agent import TelemetryAgent

pytestmark = pytest.mark.integration


def murmur2(data: bytes) -> int:
    """Kafka's Java ``Utils.murmur2`` (unsigned 32 bits), to check the partitioner."""
    m, length = 0x5BD1E995, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[length - length % 4 :]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def _signed(h: int) -> int:
    return h - (1 << 32) if h >= 1 << 31 else h


def test_murmur2_matches_kafka() -> None:
    # test vectors of Kafka's UtilsTest.testMurmur2
    assert _signed(murmur2(b"21")) == -973932308
    assert _signed(murmur2(b"foobar")) == -790332482
    assert _signed(murmur2(b"a-little-bit-long-string")) == -985981536
    assert _signed(murmur2(b"abc")) == 479470107


def _consume(bootstrap: str, topic: str, count: int, timeout_s: float = 30) -> list:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    deadline = time.monotonic() + timeout_s
    try:
        # the agent creates the topic itself: wait for it (never auto-create it from here)
        while (partitions := topic_partition_count(bootstrap, topic)) is None:
            assert time.monotonic() < deadline, f"topic {topic} never appeared"
            time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        messages = []
        while len(messages) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                messages.append(msg)
        return messages
    finally:
        consumer.close()


@pytest.fixture
def topic(kafka_bootstrap: str) -> object:
    prefix = f"telemetry-{uuid.uuid4().hex[:8]}"
    yield prefix
    delete_topics_with_prefix(kafka_bootstrap, prefix)


NODES = ("it-node-a", "it-node-b", "it-node-c", "it-node-d")
"""Several keys: one key could land on the murmur2 partition under CRC32 by chance."""


def test_agent_produces_telemetry_events_a_consumer_reads_back(
    kafka_bootstrap: str, topic: str
) -> None:
    for node in NODES:
        agent = TelemetryAgent(kafka_bootstrap, topic, node, interval_s=0.2, metrics_port=None)
        assert agent.run(threading.Event(), max_samples=2) == 2
        assert agent.delivered == 2 and agent.failed == 0

    # the topic did not exist: the agent created it with 4 partitions, not auto-created with 1
    assert topic_partition_count(kafka_bootstrap, topic) == 4
    messages = _consume(kafka_bootstrap, topic, 2 * len(NODES))
    assert len(messages) == 2 * len(NODES)
    events: dict[str, list[TelemetryEvent]] = {}
    for msg in messages:
        event = TelemetryEvent.model_validate_json(msg.value())
        assert msg.key() == event.node_id.encode()
        # murmur2, as the Java clients and the rest of the pipeline
        assert msg.partition() == (murmur2(msg.key()) & 0x7FFFFFFF) % 4, event.node_id
        events.setdefault(event.node_id, []).append(event)
    assert sorted(events) == sorted(NODES)
    for node_events in events.values():
        first, second = node_events
        assert first.timestamp < second.timestamp
        for event in node_events:
            assert event.host is not None
            assert event.host.memory_total_bytes and event.host.memory_total_bytes > 0
            assert event.host.cpu_utilization_ratio is not None


def test_cli_agent_produces_until_sigterm(kafka_bootstrap: str, topic: str) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streams",
            "telemetry-agent",
            "--bootstrap",
            kafka_bootstrap,
            "--topic",
            topic,
            "--node-id",
            "it-node-2",
            "--interval",
            "0.5",
            "--metrics-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        messages = _consume(kafka_bootstrap, topic, 2, timeout_s=60)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped after" in err
    assert len(messages) == 2
    for msg in messages:
        assert TelemetryEvent.model_validate_json(msg.value()).node_id == "it-node-2"
