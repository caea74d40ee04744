"""``PredictionLogger`` and ``LabelLogger``: what a model server calls to log to Kafka.

    logger = PredictionLogger("kafka:9092")
    logger.log(event)        # returns at once; never blocks, never raises on Kafka trouble
    logger.close(10)         # delivers what is queued

``log()`` checks and encodes the event in the caller's thread (a bad event raises
``InvalidEvent`` there: it is the caller's bug) and hands it to a bounded queue; when
the queue is full the event is dropped and counted, so a slow or absent broker never
slows inference. One background thread owns the confluent-kafka producer: it computes
each event's partition with Kafka's murmur2 (``streams.kafka.partitioner``, as the Java
client and aiokafka do, so labels land with their predictions), batches each
partition's events into envelopes (``streams.events.envelope``) by count, bytes and
linger, and produces them with that partition set explicitly, idempotently, acks=all,
compressed. ``single=True`` sends one message per event instead, for consumers that
do not read envelopes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from streams.client.batching import Batcher, Envelope
from streams.client.events import InvalidEvent, encode_event, encode_raw
from streams.client.metrics import RateLimitedLog, metrics_for
from streams.client.queue import DropQueue
from streams.config.models import KafkaSecurity
from streams.events.envelope import MAX_BATCH_BYTES, BatchKind
from streams.kafka.partitioner import partition_for, partitions_for
from streams.kafka.security import as_security, client_settings
from streams.privacy.redaction import Redactor
from streams.quiet_logs import librdkafka_log

log = logging.getLogger("streams.client")
_KAFKA_LOG = librdkafka_log("streams.client.kafka")

#: Events the thread takes from the queue at a time.
DRAIN = 4096
#: From this many keys, hashing them as numpy columns beats one call per key.
VECTOR_MIN = 32
METADATA_TIMEOUT_S = 2.0
#: librdkafka's own buffer; beyond it ``log()`` drops rather than holding a gigabyte.
BUFFER_KBYTES = 131_072


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of one logger: where its events are, and what became of them."""

    logged: int
    queued: int
    batched: int
    in_flight: int
    delivered_events: int
    delivered_messages: int
    delivery_errors: int
    dropped: dict[str, int]
    partitions: int | None
    last_error: str | None


class EventLogger:
    """Batches events of one kind to one topic; see the module docstring.

    ``security`` connects to a secured cluster: a dict with the keys of the monitor
    config's ``kafka.security`` (docs/security.md), e.g. ``{"protocol": "SASL_SSL",
    "sasl": {"mechanism": "SCRAM-SHA-512", "username": "svc", "password_env": "PW"},
    "tls": {"ca_file": "ca.pem"}}``; secrets are read when the producer is built.
    ``config`` is passed to librdkafka as is (``client.id``...) and wins over the
    defaults. ``partitions`` fixes the partition count instead of reading
    it from the topic's metadata (then refreshed every ``metadata_refresh_s``).
    ``when_full="wait"`` makes ``log()`` wait for room instead of dropping: for batch
    jobs, never for a model server. ``producer`` replaces the confluent-kafka Producer
    (tests). ``redact`` (``Redactor.from_config(model.pii)``) applies the model's
    redaction rules to every event before it is encoded.
    """

    kind: ClassVar[BatchKind]
    default_topic: ClassVar[str]

    def __init__(
        self,
        bootstrap: str,
        topic: str | None = None,
        *,
        single: bool = False,
        max_events: int = 500,
        max_bytes: int = 900_000,
        linger_ms: float = 50.0,
        queue_size: int = 100_000,
        compression: str = "zstd",
        config: Mapping[str, Any] | None = None,
        security: KafkaSecurity | Mapping[str, Any] | None = None,
        registry: CollectorRegistry | None = None,
        partitions: int | None = None,
        metadata_refresh_s: float = 60.0,
        when_full: Literal["drop", "wait"] = "drop",
        log_every_s: float = 10.0,
        producer: Any = None,
        redact: Redactor | None = None,
    ) -> None:
        if when_full not in ("drop", "wait"):
            raise ValueError(f"when_full must be 'drop' or 'wait', got {when_full!r}")
        if partitions is not None and partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        self.topic = topic or self.default_topic
        self.single = single
        self._redact = redact
        self._batcher = Batcher(self.kind, max_events, max_bytes, linger_ms / 1000)
        self._max_value = min(self._batcher.max_event_bytes, MAX_BATCH_BYTES)
        self._queue = DropQueue(queue_size)
        self._wait = when_full == "wait"
        self._metrics = metrics_for(registry)
        self._labels = {"kind": self.kind}
        self._drop_log = RateLimitedLog(
            log, f"{self.kind} logger on {self.topic}: dropped %d event(s) %s", log_every_s
        )
        self._error_log = RateLimitedLog(
            log, f"{self.kind} logger on {self.topic}: %d event(s) not delivered: %s", log_every_s
        )
        self._metadata_log = RateLimitedLog(
            log, f"{self.kind} logger: %d metadata look-up(s) failed, last: %s", log_every_s
        )
        self._producer = (
            producer
            if producer is not None
            else self._connect(
                bootstrap, compression, linger_ms, max_bytes, config or {}, as_security(security)
            )
        )
        self._fixed = partitions
        self._partitions = partitions
        self._refresh_s = metadata_refresh_s
        self._next_metadata = 0.0
        self._known = threading.Event()
        if partitions is not None:
            self._known.set()
        self._ready: deque[tuple[int, bytes, bytes, int]] = deque()  # BufferError: retry
        self._lock = threading.Lock()
        self._done = threading.Condition()
        self._flush_want = self._flush_done = 0
        self._flush_deadline = 0.0
        self._flush_target = 0
        self._closed = False
        self._stop = threading.Event()
        self._in_flight = self._delivered = self._messages = self._failed = 0
        self._dropped = {"queue_full": 0, "closed": 0}
        self._last_error: str | None = None
        self._on_single = functools.partial(self._on_delivery, 1)
        self._thread = threading.Thread(
            target=self._run, name=f"streams-client-{self.kind}", daemon=True
        )
        self._thread.start()

    # --- the caller's side: any thread, never blocks (unless when_full="wait")

    def log(self, event: Mapping[str, Any] | BaseModel) -> bool:
        """Queue one event; False when it was dropped (counted). Raises InvalidEvent
        for something that is not an event of this kind. With ``redact``, the event
        is redacted first: its personal data never leaves the process."""
        if self._redact is not None:
            if isinstance(event, BaseModel):
                event = event.model_dump(mode="json", exclude_none=True)
            event = self._redact.apply(event)
        return self._enqueue(*encode_event(self.kind, event))

    def log_json(self, prediction_id: str, value: bytes) -> bool:
        """Queue one event already encoded as JSON (unchecked but for its id)."""
        return self._enqueue(*encode_raw(prediction_id, value))

    def _enqueue(self, key: bytes, value: bytes) -> bool:
        if len(value) > self._max_value:
            raise InvalidEvent(
                f"{self.kind} event {key.decode()!r} takes {len(value)} bytes, "
                f"more than an envelope may hold ({self._max_value})"
            )
        if self._closed:
            self._drop("closed", "after close()")
            return False
        if self._wait:
            accepted = self._queue.put_wait((key, value))
        else:
            accepted = self._queue.put((key, value))
        if not accepted:
            self._drop("queue_full", f"(queue full: {self._queue.capacity} events)")
        return accepted

    def _drop(self, reason: str, detail: str) -> None:
        with self._lock:
            self._dropped[reason] += 1
        self._metrics.dropped.labels(reason=reason, **self._labels).inc()
        self._drop_log.add(1, detail)

    def flush(self, timeout_s: float | None = None) -> int:
        """Deliver every event logged so far; the number still undelivered after
        ``timeout_s`` (0 when all were acknowledged or failed)."""
        deadline = time.monotonic() + (1e9 if timeout_s is None else timeout_s)
        with self._done:
            self._flush_want += 1
            ticket = self._flush_want
            self._flush_deadline = max(self._flush_deadline, deadline)
            self._flush_target = max(self._flush_target, self._queue.total)
        self._queue.wake.set()
        with self._done:
            while self._flush_done < ticket and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._done.wait(min(left, 0.1))
        return self.pending()

    def close(self, timeout_s: float | None = 30.0) -> int:
        """Deliver what is queued (``flush``), then stop; the number undelivered.
        ``log()`` after ``close()`` drops (reason ``closed``)."""
        if self._closed and not self._thread.is_alive():
            return self.pending()
        self._closed = True
        start = time.monotonic()
        left = self.flush(timeout_s)
        self._stop.set()
        self._queue.wake.set()
        rest = None if timeout_s is None else max(0.0, timeout_s - (time.monotonic() - start))
        self._thread.join(rest)
        return left

    def pending(self) -> int:
        """Events logged and neither acknowledged nor failed yet."""
        return self._queue.total - self._delivered - self._failed

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the topic's partition count became known within ``timeout_s`` (the
        broker answered): a model server may check this at start-up."""
        return self._known.wait(timeout_s)

    def stats(self) -> ClientStats:
        """Where this logger's events are now."""
        with self._lock:
            dropped = dict(self._dropped)
        return ClientStats(
            logged=self._queue.total,
            queued=len(self._queue),
            batched=self._batcher.events,
            in_flight=self._in_flight,
            delivered_events=self._delivered,
            delivered_messages=self._messages,
            delivery_errors=self._failed,
            dropped=dropped,
            partitions=self._partitions,
            last_error=self._last_error,
        )

    def __enter__(self) -> EventLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def aflush(self, timeout_s: float | None = None) -> int:
        """``flush`` without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout_s)

    async def aclose(self, timeout_s: float | None = 30.0) -> int:
        """``close`` without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.close, timeout_s)

    async def __aenter__(self) -> EventLogger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the client's thread: owns the producer

    def _connect(
        self,
        bootstrap: str,
        compression: str,
        linger_ms: float,
        max_bytes: int,
        config: Mapping[str, Any],
        security: KafkaSecurity,
    ) -> Any:
        from confluent_kafka import Producer

        settings = {
            **client_settings(bootstrap, security),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": compression,
            # envelopes are batched here already; single events are batched by librdkafka
            "linger.ms": linger_ms if self.single else 5,
            "queue.buffering.max.kbytes": BUFFER_KBYTES,
            # no deadline on delivery: through a broker outage of any length the bounds
            # are the buffer and the queue, whose overflow is dropped and counted, not
            # librdkafka's default 5 minutes, after which every event in it was lost
            "message.timeout.ms": 0,
            "message.max.bytes": max(1_000_000, max_bytes + 4096),
            "logger": _KAFKA_LOG,
            **config,
        }
        return Producer(settings)

    def _run(self) -> None:
        try:
            while not self._step():
                pass
        except Exception:  # a bug here must not pass silently: log() then drops
            log.exception("%s logger on %s stopped", self.kind, self.topic)
            self._closed = True

    def _step(self) -> bool:
        """One turn of the thread's loop; True when it is time to stop."""
        self._refresh_partitions()
        self._retry_ready()
        if self._partitions and not self._ready:
            self._route(self._queue.take(DRAIN))
            self._send_all(self._batcher.due(time.monotonic()))
        self._producer.poll(0)
        self._drop_log.tick()
        self._error_log.tick()
        self._metadata_log.tick()
        if self._flush_done < self._flush_want:
            self._serve_flush()
        elif self._stop.is_set():
            return True
        self._idle()
        return False

    def _idle(self) -> None:
        if self._ready:
            self._producer.poll(0.05)  # librdkafka is full: let it deliver
            return
        if len(self._queue) and self._partitions:
            return
        wait = 0.1
        deadline = self._batcher.next_deadline()
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        self._queue.wake.wait(wait)

    def _serve_flush(self) -> None:
        with self._done:
            ticket, deadline, target = self._flush_want, self._flush_deadline, self._flush_target
        while time.monotonic() < deadline:
            self._refresh_partitions()
            self._retry_ready()
            if self._partitions and not self._ready:
                self._route(self._queue.take(DRAIN))
                if not len(self._queue):
                    self._send_all(self._batcher.drain())
            if self._delivered + self._failed >= target:
                break
            self._producer.flush(min(0.1, max(0.0, deadline - time.monotonic())))
        with self._done:
            self._flush_done = ticket
            self._done.notify_all()

    def _refresh_partitions(self) -> None:
        now = time.monotonic()
        if self._fixed is not None or now < self._next_metadata:
            return
        self._next_metadata = now + 1.0  # retry soon unless the answer is good
        try:
            md = self._producer.list_topics(self.topic, timeout=METADATA_TIMEOUT_S)
        except Exception as exc:  # KafkaException: broker unreachable
            self._metadata_log.add(1, f"no metadata for {self.topic}: {exc}")
            return
        topic = md.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            reason = topic.error if topic is not None else "unknown topic"
            self._metadata_log.add(1, f"topic {self.topic} has no partitions yet: {reason}")
            return
        count = len(topic.partitions)
        if count != self._partitions:
            if self._partitions is not None:
                log.warning(
                    "%s now has %d partitions (was %d)", self.topic, count, self._partitions
                )
                self._send_all(self._batcher.drain())  # routed on the old count
            self._partitions = count
            self._known.set()
        self._next_metadata = now + self._refresh_s

    def _route(self, items: list[tuple[bytes, bytes]]) -> None:
        if not items:
            return
        n = self._partitions
        assert n is not None
        keys = [key for key, _ in items]
        if len(keys) >= VECTOR_MIN:
            parts = partitions_for(keys, n).tolist()
        else:
            parts = [partition_for(key, n) for key in keys]
        if self.single:
            for (key, value), partition in zip(items, parts, strict=True):
                self._send(partition, key, value, 1)
            return
        add, now = self._batcher.add, time.monotonic()
        for (key, value), partition in zip(items, parts, strict=True):
            closed = add(partition, key, value, now)
            if closed is not None:
                self._send(closed.partition, closed.key, closed.value, closed.events)

    def _send_all(self, envelopes: list[Envelope]) -> None:
        for e in envelopes:
            self._send(e.partition, e.key, e.value, e.events)

    def _send(self, partition: int, key: bytes, value: bytes, events: int) -> None:
        if self._ready or not self._produce(partition, key, value, events):
            self._ready.append((partition, key, value, events))

    def _retry_ready(self) -> None:
        while self._ready and self._produce(*self._ready[0]):
            self._ready.popleft()

    def _produce(self, partition: int, key: bytes, value: bytes, events: int) -> bool:
        """Hand one message to librdkafka; False when its buffer is full (retry later)."""
        callback = self._on_single if events == 1 else functools.partial(self._on_delivery, events)
        try:
            self._producer.produce(
                self.topic, value, key, partition=partition, on_delivery=callback
            )
        except BufferError:
            return False
        except Exception as exc:  # KafkaException: refused at once (size, partition)
            self._fail(events, exc)
            return True
        self._in_flight += events
        return True

    def _on_delivery(self, events: int, err: Any, msg: Any) -> None:
        self._in_flight -= events
        if err is None:
            self._delivered += events
            self._messages += 1
            self._metrics.events.labels(**self._labels).inc(events)
            self._metrics.messages.labels(**self._labels).inc()
        else:
            self._fail(events, err)

    def _fail(self, events: int, err: Any) -> None:
        self._failed += events
        self._last_error = err.str() if hasattr(err, "str") else str(err)
        self._metrics.delivery_errors.labels(**self._labels).inc(events)
        self._error_log.add(events, self._last_error)


class PredictionLogger(EventLogger):
    """Logs ``PredictionEvent``s (or their dicts) to ``predictions``."""

    kind = "predictions"
    default_topic = "predictions"


class LabelLogger(EventLogger):
    """Logs ``LabelEvent``s (or their dicts) to ``labels``, partitioned as their predictions."""

    kind = "labels"
    default_topic = "labels"
