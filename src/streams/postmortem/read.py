"""Reading a time range of topics without a consumer group: every partition is
assigned by hand, each starts at the first offset whose timestamp is at or after the
range start (``offsets_for_times``) and is read up to its end offset as it was when
reading began, so the read terminates however busy the topic is. Nothing is committed.

Message timestamps are when the worker produced a record, which is after the end of
the window it describes: seeking to the range start therefore never skips a window
that overlaps the range.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streams.config.models import KafkaSecurity
from streams.errors import StreamsError
from streams.kafka.security import client_settings

#: librdkafka logs each failed connection on stderr; errors here are one line of ours.
_QUIET = logging.getLogger("streams.postmortem.kafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class ReadError(StreamsError):
    """The topics cannot be read: check the broker address and the topic names it gives."""


class MissingTopicError(ReadError):
    """A topic is not on the broker: name the worker's topics (its monitor config has them)."""

    def __init__(self, topic: str, bootstrap: str) -> None:
        super().__init__(f"topic {topic!r} does not exist at {bootstrap}")
        self.topic = topic


@dataclass
class TopicRead:
    """What was read from one topic: the records kept, and what the others were."""

    topic: str
    records: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0
    undecodable: int = 0
    models: set[str] = field(default_factory=set)


def _consumer(bootstrap: str, errors: list[KafkaError], security: KafkaSecurity | None) -> Consumer:
    return Consumer(
        {
            **client_settings(bootstrap, security),
            # required by the client, never joined: partitions are assigned by hand
            "group.id": f"streams-postmortem-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "error_cb": errors.append,
            "logger": _QUIET,
        }
    )


def _unreachable(
    consumer: Consumer, bootstrap: str, timeout_s: float, errors: list[KafkaError]
) -> ReadError:
    consumer.poll(0)  # serves the error callbacks: why the broker cannot be reached
    why = f" ({errors[-1].str()})" if errors else ""
    return ReadError(f"cannot reach Kafka at {bootstrap} within {timeout_s:g} s{why}")


def read_topics(
    bootstrap: str,
    topics: Sequence[str],
    since_s: float,
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
    timeout_s: float = 10.0,
    security: KafkaSecurity | None = None,
) -> dict[str, TopicRead]:
    """The JSON records of each topic from ``since_s`` (message time, epoch seconds) up
    to the end offsets when the read starts, those ``keep`` accepts. ``timeout_s``
    bounds each call to the broker and any stretch of reading without progress."""
    errors: list[KafkaError] = []
    try:
        consumer = _consumer(bootstrap, errors, security)
    except KafkaException as exc:  # e.g. a malformed bootstrap list
        raise ReadError(f"cannot use Kafka at {bootstrap}: {exc.args[0].str()}") from None
    try:
        return _read(consumer, bootstrap, topics, since_s, keep, timeout_s, errors)
    finally:
        consumer.close()


def _read(
    consumer: Consumer,
    bootstrap: str,
    topics: Sequence[str],
    since_s: float,
    keep: Callable[[dict[str, Any]], bool],
    timeout_s: float,
    errors: list[KafkaError],
) -> dict[str, TopicRead]:
    assign, pending = _start_offsets(consumer, bootstrap, topics, since_s, timeout_s, errors)
    reads = {topic: TopicRead(topic) for topic in topics}
    if assign:
        consumer.assign(assign)
        _drain(consumer, bootstrap, reads, pending, keep, timeout_s)
    return reads


def _start_offsets(
    consumer: Consumer,
    bootstrap: str,
    topics: Sequence[str],
    since_s: float,
    timeout_s: float,
    errors: list[KafkaError],
) -> tuple[list[TopicPartition], dict[tuple[str, int], int]]:
    """Where each partition with a message since ``since_s`` starts, and the end offset
    it is read up to (partitions with nothing to read are left out of both)."""
    try:
        metadata = consumer.list_topics(timeout=timeout_s)
    except KafkaException:
        raise _unreachable(consumer, bootstrap, timeout_s, errors) from None
    partitions: list[TopicPartition] = []
    for topic in topics:
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise MissingTopicError(topic, bootstrap)
        partitions += [TopicPartition(topic, p) for p in sorted(found.partitions)]
    since_ms = max(int(since_s * 1000), 0)
    try:
        ends = {
            (tp.topic, tp.partition): consumer.get_watermark_offsets(
                tp, timeout=timeout_s, cached=False
            )[1]
            for tp in partitions
        }
        starts = consumer.offsets_for_times(
            [TopicPartition(tp.topic, tp.partition, since_ms) for tp in partitions],
            timeout=timeout_s,
        )
    except KafkaException:
        raise _unreachable(consumer, bootstrap, timeout_s, errors) from None
    assign, pending = [], {}
    for tp in starts:
        end = ends[(tp.topic, tp.partition)]
        if tp.error is None and 0 <= tp.offset < end:  # -1: no message since since_ms
            assign.append(TopicPartition(tp.topic, tp.partition, tp.offset))
            pending[(tp.topic, tp.partition)] = end
    return assign, pending


def _drain(
    consumer: Consumer,
    bootstrap: str,
    reads: dict[str, TopicRead],
    pending: dict[tuple[str, int], int],
    keep: Callable[[dict[str, Any]], bool],
    timeout_s: float,
) -> None:
    """Poll until every pending partition reached its end offset."""
    last_progress = time.monotonic()
    while pending:
        if time.monotonic() - last_progress > timeout_s:
            left = ", ".join(f"{t}[{p}]" for t, p in sorted(pending))
            raise ReadError(f"no progress reading {left} from {bootstrap} for {timeout_s:g} s")
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        key = (msg.topic(), msg.partition())
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                _done(consumer, pending, key)
            elif err.fatal() or not err.retriable():
                raise ReadError(f"reading {msg.topic()} from {bootstrap}: {err.str()}")
            continue
        end = pending.get(key)
        if end is None or msg.offset() >= end:
            continue
        last_progress = time.monotonic()
        _take(reads[msg.topic()], msg.value(), keep)
        if msg.offset() + 1 >= end:
            _done(consumer, pending, key)


def _take(read: TopicRead, value: bytes | None, keep: Callable[[dict[str, Any]], bool]) -> None:
    """Count one message, and keep its record when it is a JSON object ``keep`` accepts."""
    read.messages += 1
    try:
        record = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        read.undecodable += 1
        return
    if not isinstance(record, dict):
        read.undecodable += 1
        return
    if isinstance(record.get("model_id"), str):
        read.models.add(record["model_id"])
    if keep(record):
        read.records.append(record)


def _done(consumer: Consumer, pending: dict[tuple[str, int], int], key: tuple[str, int]) -> None:
    if pending.pop(key, None) is not None:
        consumer.pause([TopicPartition(*key)])
