"""The consume loop of ``streams alert-router``: one alert at a time, offset committed
only after the alert was delivered, dropped by a rule, or dead-lettered.

Why one at a time: an offset may only be committed once everything before it is
settled, and alerts are few (state changes, not samples), so a synchronous loop is
both simplest and fast enough. A crash between PagerDuty's 202 and the commit sends
the event again on restart; PagerDuty folds it into the same incident by dedup_key,
so each state change takes effect exactly once.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO

from pydantic import SecretStr

from streams.audit.writer import AuditLog
from streams.backoff import Backoff
from streams.config.models import KafkaSecurity
from streams.events.decode import Rejection, deadletter_key, deadletter_record, decode_event
from streams.events.models import AlertEvent
from streams.kafka.security import client_settings
from streams.quiet_logs import librdkafka_log
from streams.router.pagerduty import PagerDutySender, Rejected, event_body, masked
from streams.router.rules import RoutingConfig

__all__ = ["AlertRouter", "RouterStats"]

log = logging.getLogger(__name__)
_KAFKA_LOG = librdkafka_log("streams.router.kafka")

MAX_ALERT_BYTES = 65536
DEADLETTER_MAX_BYTES = 16384
DEADLETTER_TIMEOUT_S = 10.0


@dataclass
class RouterStats:
    delivered: int = 0
    deadlettered: int = 0
    dropped: int = 0
    printed: int = 0
    silenced: int = 0


class AlertRouter:
    """Route ``topic`` to PagerDuty. ``keys`` comes from ``resolve_keys``; ``consumer``
    and ``producer`` may be injected (tests), else they are created on ``run()``."""

    def __init__(
        self,
        routes: RoutingConfig,
        keys: dict[str, SecretStr | None],
        *,
        bootstrap: str = "127.0.0.1:9092",
        security: KafkaSecurity | None = None,
        topic: str = "alerts",
        deadletter_topic: str = "deadletter",
        group: str = "streams-alert-router",
        sender: PagerDutySender | None = None,
        dry_run: bool = False,
        start: str = "earliest",
        out: TextIO | None = None,
        consumer: Any = None,
        producer: Any = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.routes = routes
        self._keys = keys
        self.bootstrap = bootstrap
        self.security = security
        self.topic = topic
        self.deadletter_topic = deadletter_topic
        self.group = group
        self.sender = sender or PagerDutySender()
        self.dry_run = dry_run
        self.start = start
        self.out = out or sys.stdout
        self.stats = RouterStats()
        self._consumer = consumer
        self._producer = producer
        self._retry = Backoff(base_s=0.5, cap_s=30.0)
        self.audit = audit

    def __repr__(self) -> str:
        return (
            f"AlertRouter(topic={self.topic!r}, group={self.group!r}, "
            f"routes={len(self.routes.rules)} rules + default, dry_run={self.dry_run})"
        )

    # ------------------------------------------------------------------ Kafka

    def consumer(self) -> Any:
        if self._consumer is None:
            from confluent_kafka import Consumer

            self._consumer = Consumer(
                {
                    **client_settings(self.bootstrap, self.security),
                    "group.id": self.group,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": self.start,
                    # a 30-minute PagerDuty outage keeps one poll() in flight that long
                    "max.poll.interval.ms": 86_400_000,
                    "log_level": 3,
                    "logger": _KAFKA_LOG,  # an outage: one line per kind per 30 s
                }
            )
        return self._consumer

    def producer(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            self._producer = Producer(
                {
                    **client_settings(self.bootstrap, self.security),
                    "partitioner": "murmur2_random",
                    "enable.idempotence": True,
                    "allow.auto.create.topics": False,
                    "log_level": 3,
                    "logger": _KAFKA_LOG,
                }
            )
        return self._producer

    def _commit(self, msg: Any) -> None:
        """Synchronous commit of exactly this message (offset + 1)."""
        if self.dry_run:
            return
        from confluent_kafka import KafkaException, TopicPartition

        tp = TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)
        try:
            self.consumer().commit(offsets=[tp], asynchronous=False)
        except KafkaException as exc:
            # settled but not committed: a restart re-sends it, and PagerDuty dedups
            log.warning("commit of %s[%d]@%d failed: %s", *_where(msg), exc)

    def _deadletter(self, msg: Any, rejection: Rejection, stop: threading.Event) -> bool:
        """Produce the dead-letter record and wait for the broker's ack; retried until
        acked (False only when stopped first: then nothing may be committed)."""
        record = deadletter_record(
            rejection,
            msg.value(),
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            max_bytes=DEADLETTER_MAX_BYTES,
            key=msg.key(),
        )
        if self.dry_run:
            print(json.dumps({"deadletter": json.loads(record)}), file=self.out, flush=True)
            return True
        producer = self.producer()
        attempt = 0
        while True:
            outcome: list[Any] = []
            try:
                producer.produce(
                    self.deadletter_topic,
                    record,
                    deadletter_key(msg.key()),
                    on_delivery=lambda err, _m, acks=outcome: acks.append(err),
                )
                producer.flush(DEADLETTER_TIMEOUT_S)
            except Exception as exc:  # BufferError or KafkaException: retry like a failed ack
                outcome.append(exc)
            if outcome and outcome[0] is None:
                self.stats.deadlettered += 1
                log.warning(
                    "%s[%d]@%d dead-lettered: %s: %s",
                    *_where(msg),
                    rejection.reason,
                    rejection.detail[:300],
                )
                return True
            delay = self._retry.delay(attempt)
            attempt += 1
            problem = outcome[0] if outcome else "no acknowledgement in time"
            log.warning("dead-letter to %s failed (%s); retry in %.1fs", self.topic, problem, delay)
            if stop.wait(delay):
                return False

    # ------------------------------------------------------------------ one message

    def handle(self, msg: Any, stop: threading.Event) -> bool:
        """Settle one message: True when it may be committed."""
        alert = decode_event(msg.value(), AlertEvent, MAX_ALERT_BYTES)
        if isinstance(alert, Rejection):
            return self._deadletter(msg, alert, stop)
        if alert.silenced is not None and alert.status == "firing":
            self.stats.silenced += 1
            s = alert.silenced
            log.info(
                "firing %r silenced by %s until %s: %s", alert.dedup_key, s.by, s.until, s.reason
            )
            return True
        decision = self.routes.route(alert)
        if decision.route.drop:
            self.stats.dropped += 1
            log.info("%s %r dropped by %s", alert.status, alert.dedup_key, decision.rule)
            return True
        body = event_body(
            alert,
            decision.route,
            self._keys.get(decision.where),
            runbook_base_url=self.routes.runbook_base_url,
        )
        if self.dry_run:
            print(json.dumps(masked(body), sort_keys=True), file=self.out, flush=True)
            self.stats.printed += 1
            return True
        result = self.sender.send(body, stop)
        if result is None:
            return False
        if isinstance(result, Rejected):
            detail = f"PagerDuty answered {result.status}: {result.body}"
            return self._deadletter(msg, Rejection("pagerduty_rejected", detail), stop)
        self.stats.delivered += 1
        if self.audit is not None:
            delivery = {"dedup_key": alert.dedup_key, "event_action": body["event_action"]}
            delivery |= {"model": alert.model_id, "team": decision.route.team}
            self.audit.append("pagerduty_delivery", delivery | {"rule": str(decision.rule)})
        log.info(
            "%s %r delivered to %s (%s)",
            body["event_action"],
            alert.dedup_key,
            decision.route.team,
            decision.rule,
        )
        return True

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> RouterStats:
        """Consume until ``stop`` is set; the message in flight is settled first (or, if
        it is still waiting for PagerDuty, left uncommitted for the next run)."""
        consumer = self.consumer()
        consumer.subscribe([self.topic])
        try:
            while not stop.is_set():
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    log.warning("kafka %s: %s", self.bootstrap, msg.error().str())
                    continue
                if not self.handle(msg, stop):
                    break
                self._commit(msg)
        finally:
            if self._producer is not None:
                self._producer.flush(DEADLETTER_TIMEOUT_S)
            consumer.close()
        return self.stats


def _where(msg: Any) -> tuple[str, int, int]:
    return msg.topic(), msg.partition(), msg.offset()
