"""The local broker is a real Kafka: topics, produce/consume and group coordination work."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from streams.devtools.errors import BrokerStartError
from streams.devtools.local_broker import LocalBroker, free_ports
from streams.kafka.admin import TopicSpec, ensure_topics, topic_partition_count

pytestmark = pytest.mark.integration


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _port(bootstrap: str) -> int:
    return int(bootstrap.split(",")[0].rsplit(":", 1)[1])


def test_ensure_topics_creates_with_partition_counts(kafka_bootstrap: str) -> None:
    preds, labels, refs = _unique("predictions"), _unique("labels"), _unique("references")
    specs = {
        preds: TopicSpec(partitions=4),
        labels: TopicSpec(partitions=4),
        refs: TopicSpec(partitions=1, config={"cleanup.policy": "compact"}),
    }

    created = ensure_topics(kafka_bootstrap, specs, timeout_s=30)

    assert sorted(created) == sorted(specs)
    assert topic_partition_count(kafka_bootstrap, preds) == 4
    assert topic_partition_count(kafka_bootstrap, labels) == 4
    assert topic_partition_count(kafka_bootstrap, refs) == 1


def test_ensure_topics_is_idempotent(kafka_bootstrap: str) -> None:
    name = _unique("alerts")
    assert ensure_topics(kafka_bootstrap, {name: TopicSpec(2)}) == [name]

    assert ensure_topics(kafka_bootstrap, {name: TopicSpec(2)}) == []
    assert topic_partition_count(kafka_bootstrap, name) == 2


def test_partition_count_of_missing_topic_is_none_and_does_not_create_it(
    kafka_bootstrap: str,
) -> None:
    name = _unique("missing")

    assert topic_partition_count(kafka_bootstrap, name) is None
    assert topic_partition_count(kafka_bootstrap, name) is None


@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
def test_message_round_trip_through_consumer_group(
    kafka_bootstrap: str, group_protocol: str
) -> None:
    topic = _unique("roundtrip")
    ensure_topics(kafka_bootstrap, {topic: TopicSpec(partitions=3)})
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": "murmur2_random"})
    delivered: list[KafkaError | None] = []
    producer.produce(
        topic, key=b"pred-1", value=b'{"score": 0.5}', on_delivery=lambda e, _m: delivered.append(e)
    )
    assert producer.flush(10) == 0
    assert delivered == [None]

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": _unique("group"),
            "group.protocol": group_protocol,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        msg = None
        while msg is None and time.monotonic() < deadline:
            candidate = consumer.poll(0.5)
            if candidate is not None and candidate.error() is None:
                msg = candidate
        assert msg is not None, "no message within 30 s"
        assert (msg.key(), msg.value()) == (b"pred-1", b'{"score": 0.5}')
        consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()


def test_status_reports_reachable(kafka_bootstrap: str, tmp_path: Path) -> None:
    port = _port(kafka_bootstrap)

    foreign = LocalBroker(port=port, data_dir=tmp_path / "not-ours").status()

    assert foreign.reachable
    assert foreign.pid is None  # reachable, but no process of ours behind this data dir
    assert foreign.bootstrap == f"127.0.0.1:{port}"


@pytest.mark.skipif(
    bool(os.environ.get("STREAMS_TEST_BOOTSTRAP")), reason="broker not started by the fixture"
)
def test_fixture_broker_status_and_start_is_a_noop_when_running(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.getbasetemp() / "kafka-broker"
    broker = LocalBroker(port=_port(kafka_bootstrap), data_dir=data_dir)

    status = broker.status()
    assert status.running and status.reachable
    began = time.monotonic()
    again = broker.start()
    assert again.pid == status.pid
    assert time.monotonic() - began < 5


def test_broker_dying_during_start_reports_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Skipping the storage format makes the real broker exit at once (no meta.properties).
    monkeypatch.setattr(LocalBroker, "_format_storage", lambda self, java: None)
    port, controller_port = free_ports(2)
    broker = LocalBroker(port=port, controller_port=controller_port, data_dir=tmp_path / "data")

    with pytest.raises(BrokerStartError) as info:
        broker.start(timeout_s=60)

    assert "exited" in info.value.summary
    assert info.value.log_tail, "the error should carry the broker's last log lines"
    assert len(info.value.log_tail) <= 20
    assert "meta.properties" in str(info.value)
    assert broker.status().pid is None
    assert not broker.pid_path.exists()
