"""Find one prediction on the predictions topic by its id, for on-demand anchors.

The id's murmur2 hash names its partition (the producers key by it), so only that
partition is read, from its start to its end as of the call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from streams.config.models import KafkaSecurity
from streams.events.decode import Rejection, decode_message
from streams.explain.errors import ExplainError
from streams.kafka.partitioner import partition_for
from streams.kafka.security import client_settings

__all__ = ["find_prediction"]

TIMEOUT_S = 30.0


def find_prediction(
    bootstrap: str,
    topic: str,
    prediction_id: str,
    *,
    security: KafkaSecurity | None = None,
    max_event_bytes: int = 65536,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """The last event with ``prediction_id`` on its partition of ``topic`` (an event
    or envelope row); ExplainError when it is not there."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **client_settings(bootstrap, security),
            "group.id": f"streams-explain-lookup-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise ExplainError(f"topic {topic!r} does not exist on {bootstrap}")
        partition = partition_for(prediction_id.encode(), len(metadata.partitions))
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), TIMEOUT_S)
        consumer.assign([TopicPartition(topic, partition, low)])
        found, offset = None, low
        while offset < high:
            msg = consumer.poll(TIMEOUT_S)
            if msg is None:
                raise ExplainError(f"{topic}[{partition}]: no message within {TIMEOUT_S:g} s")
            if msg.error():
                continue
            offset = msg.offset() + 1
            if progress is not None:
                progress(1)
            decoded = decode_message(msg.value(), "predictions", max_event_bytes)
            if isinstance(decoded, Rejection):
                continue
            found = next((e for e in decoded.events if e.prediction_id == prediction_id), found)
        if found is None:
            raise ExplainError(
                f"no prediction {prediction_id!r} on {topic}[{partition}] ({high - low} messages)"
            )
        return found
    finally:
        consumer.close()
