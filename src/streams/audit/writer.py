"""Append audit records without ever blocking or crashing the component that writes.

``AuditLog.append`` builds the next record of this writer's chain, writes it to the
local JSON-lines file (when the component has a data dir) and queues it for the audit
topic; a daemon thread sends the queue in order, one record at a time (the chain must
reach the topic in ``seq`` order), and keeps a record that failed for the next try,
with backoff. Failures are counted (``send_failures``) and logged at most once per
30 s. ``close`` sends what it can within its timeout; what is still unsent stays in
the local file, and is lost from the topic when there is none (docs/audit.md).
"""

from __future__ import annotations

import getpass
import logging
import os
import secrets
import socket
import threading
from collections import deque
from pathlib import Path
from typing import Any

import orjson

from streams.audit.records import GENESIS, make_record
from streams.backoff import Backoff
from streams.config.models import KafkaSecurity
from streams.kafka.security import client_settings
from streams.quiet_logs import RateLimit, librdkafka_log

__all__ = ["AUDIT_TOPIC_CONFIG", "AuditLog", "actor", "file_head"]

log = logging.getLogger(__name__)
_KAFKA_LOG = librdkafka_log("streams.audit.kafka")
log.addFilter(RateLimit())

#: Kept for ever, never compacted: an audit trail is the whole history.
AUDIT_TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
SEND_TIMEOUT_S = 10.0


def actor(component: str) -> dict[str, str]:
    """Who acts: the login name, the host and the component."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "component": component}


def file_head(path: Path) -> tuple[str, int, str] | None:
    """(writer, last seq, last hash) of the chain in a local audit file, None if empty."""
    if not path.exists():
        return None
    last = None
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                last = line
    if last is None:
        return None
    record = orjson.loads(last)
    return record["writer"], record["seq"], record["hash"]


class AuditLog:
    """One writer's chain. ``bootstrap=None`` writes the file only (tests, dry runs).

    >>> audit = AuditLog("cli", bootstrap=None)
    >>> audit.append("silence_added", {"model": "m"})["seq"]
    0
    """

    def __init__(
        self,
        component: str,
        bootstrap: str | None,
        topic: str = "audit",
        path: Path | None = None,
        writer: str | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.actor = actor(component)
        self.security = security
        self.topic, self.bootstrap, self.path = topic, bootstrap, path
        head = file_head(path) if path is not None else None
        if head is not None:
            self.writer, self.seq, self.prev = head[0], head[1] + 1, head[2]
        else:
            run = secrets.token_hex(4)
            self.writer = writer or f"{component}@{self.actor['host']}/{run}"
            self.seq, self.prev = 0, GENESIS
        self.sent = 0
        self.send_failures = 0
        self._pending: deque[dict[str, Any]] = deque()
        self._lock = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def append(self, action: str, details: dict[str, Any]) -> dict[str, Any]:
        """Chain, store and queue one record; returns it. Never raises for I/O."""
        with self._lock:
            record = make_record(self.writer, self.seq, self.prev, self.actor, action, details)
            self.seq, self.prev = self.seq + 1, record["hash"]
            self._write_file(record)
            if self.bootstrap is not None:
                self._pending.append(record)
                self._start()
                self._lock.notify()
        return record

    @property
    def unsent(self) -> int:
        return len(self._pending)

    def close(self, timeout_s: float = SEND_TIMEOUT_S) -> int:
        """Send what is queued within ``timeout_s``; the number of records left unsent."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
        left = self.unsent
        if left:
            kept = f"kept in {self.path}" if self.path else "not kept anywhere"
            log.error("%d audit record(s) not delivered to %s (%s)", left, self.topic, kept)
        return left

    def _write_file(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as out:
                out.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n")
        except OSError as exc:
            log.warning("audit record not written to %s: %s", self.path, exc)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._send_loop, name="audit", daemon=True)
            self._thread.start()

    def _send_loop(self) -> None:
        from confluent_kafka import Producer

        assert self.bootstrap is not None
        producer = Producer(
            {
                **client_settings(self.bootstrap, self.security),
                "acks": "all",
                "log_level": 3,
                "logger": _KAFKA_LOG,  # an outage: one line per kind per 30 s
                "message.timeout.ms": int(SEND_TIMEOUT_S * 1000),
            }
        )
        backoff, attempt = Backoff(base_s=0.5, cap_s=30.0), 0
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._lock.wait()
                if not self._pending:
                    return
                record = self._pending[0]
            if self._send(producer, record):
                with self._lock:
                    self._pending.popleft()
                self.sent, attempt = self.sent + 1, 0
                continue
            self.send_failures += 1
            if self._closing:
                return
            delay = backoff.delay(attempt)
            attempt += 1
            with self._lock:
                self._lock.wait(delay)

    def _send(self, producer: Any, record: dict[str, Any]) -> bool:
        """Produce one record and wait for its acknowledgement."""
        errors: list[Any] = []
        try:
            producer.produce(
                self.topic,
                key=self.writer.encode(),
                value=orjson.dumps(record, option=orjson.OPT_SORT_KEYS),
                on_delivery=lambda err, _m: errors.append(err),
            )
            producer.flush(SEND_TIMEOUT_S)
        except Exception as exc:  # BufferError, KafkaException: kept for the next try
            errors.append(exc)
        if errors and errors[0] is None:
            return True
        problem = errors[0] if errors else "no acknowledgement in time"
        log.warning("audit record not delivered to %s (%s); kept for retry", self.topic, problem)
        return False
