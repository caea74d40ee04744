"""Small compacted topics that every worker reads whole (references, silences): the
latest value per key, loaded at start and refreshed while running.

No consumer group: each reader assigns every partition from the beginning, so every
worker sees every key, whatever partitions of the data topics it owns.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from streams.config.models import KafkaSecurity
from streams.kafka.errors import BrokerError
from streams.kafka.security import client_settings
from streams.quiet_logs import librdkafka_log

_KAFKA_LOG = librdkafka_log("streams.kafka.broadcast.kafka")

#: Large enough for a reference profile with big reservoirs (topics get the same limit).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
BROADCAST_TOPIC_CONFIG = {"cleanup.policy": "compact", "max.message.bytes": str(MAX_MESSAGE_BYTES)}


class BroadcastReader:
    """The latest value of every key of one topic; a tombstone removes its key."""

    def __init__(self, bootstrap: str, topic: str, security: KafkaSecurity | None = None) -> None:
        self.topic = topic
        self.values: dict[str, bytes] = {}
        self._consumer: Any = Consumer(
            {
                **client_settings(bootstrap, security),
                "group.id": f"streams-broadcast-{topic}",  # never committed, never joined
                "enable.auto.commit": False,
                "fetch.message.max.bytes": MAX_MESSAGE_BYTES,
                "log_level": 3,
                "logger": _KAFKA_LOG,  # an outage: one line per kind per 30 s
            }
        )

    def load(self, timeout_s: float = 30.0) -> dict[str, bytes]:
        """Read the topic up to its end at the time of the call."""
        deadline = time.monotonic() + timeout_s
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=timeout_s)
            partitions = sorted(metadata.topics[self.topic].partitions)
            ends = {}
            for p in partitions:
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self.topic, p), timeout=max(deadline - time.monotonic(), 0.5)
                )
                ends[p] = high
        except KafkaException as exc:
            raise BrokerError(f"cannot read topic {self.topic}: {exc}") from None
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        position = dict.fromkeys(partitions, 0)
        while any(position[p] < ends[p] for p in partitions):
            if time.monotonic() > deadline:
                raise BrokerError(f"timed out reading topic {self.topic} to its end")
            msg = self._consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                continue  # partition EOF and transient errors: the deadline bounds the loop
            self._apply(msg)
            position[msg.partition()] = msg.offset() + 1
        return dict(self.values)

    def poll(self) -> dict[str, bytes | None]:
        """Changes since the last call, without waiting; None marks a removed key."""
        changes: dict[str, bytes | None] = {}
        for msg in self._consumer.consume(num_messages=1000, timeout=0):
            if not msg.error():
                key = self._apply(msg)
                if key is not None:
                    changes[key] = self.values.get(key)
        return changes

    def _apply(self, msg: Any) -> str | None:
        if msg.key() is None:
            return None
        key = msg.key().decode("utf-8", "replace")
        if msg.value() is None:
            self.values.pop(key, None)
        else:
            self.values[key] = msg.value()
        return key

    def close(self) -> None:
        self._consumer.close()
