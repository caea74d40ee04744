"""Read stored audit records back: from the audit topic, or from JSON-lines files."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from streams.audit.verify import StoredRecord
from streams.config.models import KafkaSecurity
from streams.kafka.errors import BrokerError
from streams.kafka.security import client_settings

__all__ = ["from_files", "from_topic"]

READ_TIMEOUT_S = 30.0


def from_files(paths: Sequence[Path]) -> Iterator[StoredRecord]:
    """Every line of every file, in order, named ``path:line``."""
    for path in paths:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield StoredRecord(f"{path}:{number}", line.rstrip(b"\n"))


def from_topic(
    bootstrap: str, topic: str, security: KafkaSecurity | None = None
) -> Iterator[StoredRecord]:
    """Every record of ``topic`` from its first offset to its end, partition by
    partition, named ``topic[p]@offset``; BrokerError when the end is not reached."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **client_settings(bootstrap, security),
            "group.id": f"streams-audit-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise BrokerError(f"no topic {topic!r} on {bootstrap}")
        for partition in sorted(metadata.partitions):
            tp = TopicPartition(topic, partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            yield from _read_partition(consumer, topic, partition, high)
    finally:
        consumer.close()


def _read_partition(
    consumer: object, topic: str, partition: int, high: int
) -> Iterator[StoredRecord]:
    deadline = time.monotonic() + READ_TIMEOUT_S
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)  # type: ignore[attr-defined]
        if msg is None or msg.error():
            continue
        yield StoredRecord(f"{topic}[{partition}]@{msg.offset()}", msg.value(), msg.offset())
        if msg.offset() + 1 >= high:
            return
        deadline = time.monotonic() + READ_TIMEOUT_S
    raise BrokerError(f"{topic}[{partition}]: end offset {high} not reached")
