"""The consume loop of ``streams explain serve``: predictions in, explanations out.

Each round takes up to ``max_messages`` messages, decodes them with the worker's own
decoders (single events and envelopes), keeps the explanation tier of every model
that has an explainer, explains each model's rows in batches (records.py), produces
the explanations keyed by ``prediction_id`` (murmur2: the prediction's partition)
and the refusals to the dead-letter topic, waits until the broker has them all, and
only then commits the round's offsets. A crash re-explains at most one round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from streams.config.models import KafkaSecurity
from streams.events.decode import (
    Decoded,
    Rejection,
    deadletter_key,
    deadletter_record,
    decode_message,
    encode_row,
)
from streams.explain.models import ExplainedModel
from streams.explain.records import explain_events
from streams.kafka.security import client_settings
from streams.quiet_logs import librdkafka_log
from streams.sampling import Tier

__all__ = ["ExplainMetrics", "ExplanationService"]

log = logging.getLogger(__name__)
_KAFKA_LOG = librdkafka_log("streams.explain.kafka")
FLUSH_STEP_S = 1.0


class ExplainMetrics:
    """The service's counters, in ``registry`` (a fresh one in tests)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        common = {"namespace": "streams", "subsystem": "explain", "registry": registry}
        self.explained = Counter(
            "explanations", "Predictions explained.", ["model", "explainer"], **common
        )
        self.deadlettered = Counter(
            "deadletter", "Messages or events dead-lettered, by reason.", ["reason"], **common
        )
        self.skipped = Counter(
            "skipped",
            "Valid predictions not explained: not in the tier, or no explainer.",
            ["reason"],
            **common,
        )
        self.batch_seconds = Histogram(
            "batch_seconds", "Time to explain one model's rows of a round.", ["model"], **common
        )


class ExplanationService:
    """Explain ``models``' explanation tier from ``topic`` to ``explanations_topic``.
    ``consumer`` and ``producer`` may be injected, else made on ``run()``."""

    def __init__(
        self,
        models: Mapping[str, ExplainedModel],
        *,
        bootstrap: str,
        topic: str,
        explanations_topic: str,
        deadletter_topic: str,
        group: str,
        security: KafkaSecurity | None = None,
        max_event_bytes: int = 65536,
        deadletter_max_bytes: int = 16384,
        max_messages: int = 500,
        start: str = "earliest",
        metrics: ExplainMetrics | None = None,
    ) -> None:
        self.models = models
        self.bootstrap, self.security = bootstrap, security
        self.topic, self.explanations_topic = topic, explanations_topic
        self.deadletter_topic, self.group, self.start = deadletter_topic, group, start
        self.max_event_bytes, self.deadletter_max_bytes = max_event_bytes, deadletter_max_bytes
        self.max_messages = max_messages
        self.metrics = metrics or ExplainMetrics()
        self._consumer: Any = None
        self._producer: Any = None
        self._failed: list[Any] = []

    def __repr__(self) -> str:
        return f"ExplanationService(topic={self.topic!r}, models={sorted(self.models)})"

    # ------------------------------------------------------------------ Kafka

    def consumer(self) -> Any:
        if self._consumer is None:
            from confluent_kafka import Consumer

            self._consumer = Consumer(
                {
                    **client_settings(self.bootstrap, self.security),
                    "group.id": self.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": self.start,
                    "log_level": 3,
                    "logger": _KAFKA_LOG,
                }
            )
        return self._consumer

    def producer(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            self._producer = Producer(
                {
                    **client_settings(self.bootstrap, self.security),
                    "partitioner": "murmur2_random",  # as the predictions: same partition
                    "enable.idempotence": True,
                    "allow.auto.create.topics": False,
                    "message.timeout.ms": 0,  # no deadline: a round is committed once delivered
                    "linger.ms": 20,
                    "log_level": 3,
                    "logger": _KAFKA_LOG,
                }
            )
        return self._producer

    def _send(self, topic: str, key: bytes | None, value: bytes) -> None:
        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                self._failed.append(err)

        while True:
            try:
                self.producer().produce(topic, value, key, on_delivery=delivered)
                return
            except BufferError:  # the local queue is full: let it drain
                self.producer().poll(0.1)

    def _deadletter(
        self, msg: Any, rejection: Rejection, raw: bytes | None, index: int | None
    ) -> None:
        record = deadletter_record(
            rejection,
            raw,
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            max_bytes=self.deadletter_max_bytes,
            index=index,
            key=msg.key(),
        )
        self._send(self.deadletter_topic, deadletter_key(msg.key()), record)
        self.metrics.deadlettered.labels(rejection.reason).inc()
        log.warning(
            "%s[%d]@%d dead-lettered: %s: %s",
            msg.topic(),
            msg.partition(),
            msg.offset(),
            rejection.reason,
            rejection.detail[:300],
        )

    # ------------------------------------------------------------------ one round

    def handle(self, messages: list[Any]) -> None:
        """Explain and dead-letter one round's messages (produced, not yet flushed)."""
        wanted: dict[str, list[tuple[Any, Decoded, int]]] = {}
        for msg in messages:
            decoded = decode_message(msg.value(), "predictions", self.max_event_bytes)
            if isinstance(decoded, Rejection):
                self._deadletter(msg, decoded, msg.value(), None)
                continue
            for bad in decoded.bad:
                self._deadletter(msg, bad.rejection, bad.raw, bad.index)
            for position, event in enumerate(decoded.events):
                model = self.models.get(event.model_id)
                if model is None:
                    self.metrics.skipped.labels("no_explainer").inc()
                elif model.sampler.keeps(Tier.explanation, event.prediction_id, event.segments):
                    wanted.setdefault(event.model_id, []).append((msg, decoded, position))
                else:
                    self.metrics.skipped.labels("not_in_tier").inc()
        for model_id, items in wanted.items():
            self._explain(self.models[model_id], items)

    def _explain(self, model: ExplainedModel, items: list[tuple[Any, Decoded, int]]) -> None:
        events = [decoded.events[position] for _, decoded, position in items]
        began = time.perf_counter()
        result = explain_events(model, events)
        self.metrics.batch_seconds.labels(model.model_id).observe(time.perf_counter() - began)
        for prediction_id, value in result.records:
            self._send(self.explanations_topic, prediction_id.encode(), value)
        self.metrics.explained.labels(model.model_id, model.explainer.name).inc(len(result.records))
        for i, rejection in result.refused:
            msg, decoded, position = items[i]
            index = decoded.indices[position] if decoded.envelope else None
            self._deadletter(msg, rejection, _event_bytes(events[i]), index)

    def _delivered(self, stop: threading.Event) -> bool:
        """Wait until the broker has every record produced; False when stopped first
        or a record failed (then the round must not be committed)."""
        producer = self.producer()
        while producer.flush(FLUSH_STEP_S) > 0:
            if stop.is_set():
                return False
        failed, self._failed = self._failed, []
        for err in failed[:3]:
            log.warning("a record was not delivered (%s): the round will be read again", err)
        return not failed

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; the round in flight is finished first."""
        consumer = self.consumer()
        consumer.subscribe([self.topic])
        try:
            while not stop.is_set():
                messages = [m for m in consumer.consume(self.max_messages, 0.5) if _ok(m)]
                if not messages:
                    continue
                self.handle(messages)
                if self._delivered(stop):
                    _commit(consumer)
                else:
                    _rewind(consumer, messages)
        finally:
            if self._producer is not None:
                self._producer.flush(10)
            consumer.close()


def _ok(msg: Any) -> bool:
    if msg.error() is None:
        return True
    log.warning("kafka: %s", msg.error().str())
    return False


def _commit(consumer: Any) -> None:
    """Commit the round; a failed commit (a rebalance) only means a later re-read."""
    from confluent_kafka import KafkaException

    try:
        consumer.commit(asynchronous=False)
    except KafkaException as exc:
        log.warning("commit failed (%s): the round may be explained again", exc)


def _rewind(consumer: Any, messages: list[Any]) -> None:
    """Read a round again from its first message of each partition."""
    from confluent_kafka import TopicPartition

    first: dict[tuple[str, int], int] = {}
    for m in messages:
        first.setdefault((m.topic(), m.partition()), m.offset())
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))


def _event_bytes(event: Any) -> bytes:
    """An event's JSON for its dead letter: a pydantic event or an envelope row."""
    to_json = getattr(event, "to_json", None)
    return to_json() if to_json is not None else encode_row(event)
