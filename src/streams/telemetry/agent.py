"""The telemetry agent: sample the node at an interval, produce to Kafka, serve /metrics.

One ``TelemetryEvent`` per interval goes to ``node-telemetry`` keyed by node id (murmur2,
like every producer of the project), and the same readings are served as Prometheus
metrics, so that a node is visible both to the pipeline (silent-node detection, GPU
alerts) and to Prometheus directly. Kafka being down never stops sampling or /metrics:
each failure is logged as one line and the next interval tries again. A broker that
refuses the login or the TLS handshake does stop it: retrying cannot fix a wrong
password, so ``run()`` raises the one-line BrokerRefused every other command gives.

The metrics themselves are declared and rendered in ``metrics.py``; the GPUs are read
in ``nvml.py``.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from streams.backoff import Backoff
from streams.config.models import KafkaSecurity, MetricsBasicAuth, MetricsTLS
from streams.events.models import MAX_GPUS, MAX_NVML_ERRORS, GpuReading, TelemetryEvent
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.kafka.reachability import BrokerRefused, refusal
from streams.kafka.security import client_settings
from streams.metrics_server import serve_metrics
from streams.quiet_logs import librdkafka_log
from streams.telemetry.host import HostSampler
from streams.telemetry.metrics import AgentMetrics
from streams.telemetry.nvml import GpuSnapshot, Nvml, NvmlError

__all__ = [
    "DEFAULT_METRICS_PORT",
    "DEFAULT_TOPIC",
    "PRODUCER_CONFIG",
    "TelemetryAgent",
]

log = logging.getLogger(__name__)
_KAFKA_LOG = librdkafka_log("streams.telemetry.kafka")

DEFAULT_TOPIC = "node-telemetry"
DEFAULT_METRICS_PORT = 9109
TOPIC_PARTITIONS = 4

PRODUCER_CONFIG: dict[str, Any] = {
    "partitioner": "murmur2_random",  # the project's partitioner (Java/aiokafka compatible)
    "compression.type": "lz4",
    # never let a metadata request auto-create the topic with the broker's partition count
    "allow.auto.create.topics": False,
    # an outage must not grow memory without bound: old samples are given up
    "queue.buffering.max.messages": 10_000,
    # connection errors come through error_cb, one line each; librdkafka's own
    # reconnect log would repeat them
    "log_level": 0,
}
FLUSH_TIMEOUT_S = 5.0
TOPIC_TIMEOUT_S = 5.0
#: Between failed topic checks; no jitter: one agent per node, nothing to spread.
TOPIC_BACKOFF = Backoff(base_s=1.0, cap_s=60.0, jitter=0.0)


class TelemetryAgent:
    """Samples the host and its GPUs; ``run()`` produces every ``interval_s`` until stopped.

    ``metrics_port=None`` serves no /metrics (tests, ``--once``); 0 picks a free port
    (``metrics_port`` then holds the bound one); ``metrics_tls`` and ``metrics_auth``
    put it behind HTTPS and basic auth (streams/metrics_server.py). NVML is initialised
    once, at the first sample, and shut down by ``close()`` (``run()`` closes on its way
    out).
    """

    def __init__(
        self,
        bootstrap: str = "127.0.0.1:9092",
        topic: str = DEFAULT_TOPIC,
        node_id: str | None = None,
        interval_s: float = 10.0,
        registry: CollectorRegistry | None = None,
        *,
        metrics_host: str = "127.0.0.1",
        metrics_port: int | None = DEFAULT_METRICS_PORT,
        disk_path: str = "/",
        producer: Any = None,
        metrics_tls: MetricsTLS | None = None,
        metrics_auth: MetricsBasicAuth | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval must be positive, got {interval_s}")
        self.bootstrap = bootstrap
        self.security = security
        self.topic = topic
        self.node_id = node_id or socket.gethostname()
        self.interval_s = interval_s
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = AgentMetrics(self.node_id, self.registry)
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self.metrics_tls = metrics_tls
        self.metrics_auth = metrics_auth
        self.host = HostSampler(disk_path)
        self.nvml = Nvml()
        self.produced = 0
        self.delivered = 0
        self.failed = 0
        self._producer = producer
        self._topic_ready = producer is not None  # an injected producer: tests, no admin
        self._topic_failures = 0
        self._next_topic_try = 0.0
        self._init_counted = False
        self._server: Any = None
        self._kafka_errors: set[str] = set()
        self._refused: BrokerRefused | None = None

    # ------------------------------------------------------------------ sampling

    def sample(self) -> TelemetryEvent:
        """Read the node now, update the metrics and return the event. Never raises for
        a reading that fails (it is absent, and NVML failures are in ``nvml_errors``)."""
        host = self.host.read()
        snapshot = self.nvml.read()
        at = time.time()
        gpus, errors = self._gpu_models(snapshot)
        event = TelemetryEvent(
            node_id=self.node_id,
            timestamp=datetime.fromtimestamp(at, UTC),
            host=host,
            gpus=gpus[:MAX_GPUS],
            nvml_errors=[str(e)[:500] for e in errors[:MAX_NVML_ERRORS]],
        )
        counted = [e for e in errors if e.call != "nvmlInit" or not self._init_counted]
        self._init_counted = self._init_counted or any(e.call == "nvmlInit" for e in errors)
        self.metrics.observe(event, counted, at)
        return event

    def _gpu_models(self, snapshot: GpuSnapshot) -> tuple[list[GpuReading], list[NvmlError]]:
        gpus, errors = [], list(snapshot.errors)
        for reading in snapshot.gpus:
            try:
                gpus.append(GpuReading.model_validate(asdict(reading)))
            except ValidationError as exc:  # a value NVML should never give: keep the rest
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                errors.append(
                    NvmlError("invalid_reading", f"{where}: {first['msg']}", reading.index)
                )
        return gpus, errors

    def close(self) -> None:
        """Shut NVML down (the next ``sample()`` initialises it again)."""
        error = self.nvml.close()
        if error is not None:
            log.warning("%s", error)

    # ------------------------------------------------------------------ /metrics

    def serve_metrics(self) -> int:
        """Start the /metrics server (if configured); returns the bound port, 0 when none."""
        if self.metrics_port is None:
            return 0
        if self._server is None:
            self._server = serve_metrics(
                self.metrics_port,
                self.metrics_host,
                self.registry,
                tls=self.metrics_tls,
                auth=self.metrics_auth,
            )
            self.metrics_port = int(self._server.server_port)
        return self.metrics_port

    def stop_metrics(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------ Kafka

    def _on_error(self, err: Any) -> None:
        """librdkafka's client-level errors (broker down, ...): each distinct one is logged
        once per outage, not at every reconnect attempt; a refusal is kept for ``run()``
        to raise, unlogged (its error line says it)."""
        self._refused = self._refused or refusal(self.bootstrap, [err])
        if self._refused is not None:
            return
        text = err.str() if hasattr(err, "str") else str(err)
        if text not in self._kafka_errors:
            self._kafka_errors.add(text)
            log.warning("kafka %s: %s", self.bootstrap, text)

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is None:
            self.delivered += 1
            if self._kafka_errors:
                self._kafka_errors.clear()
                log.info("kafka %s: delivering again", self.bootstrap)
            return
        self.failed += 1
        if self._refused is None:  # refused: the exit line says why, once
            log.warning("telemetry sample not delivered to %s: %s", self.topic, err.str())

    def producer(self) -> Any:
        """The Kafka producer, created on first use (``sample()`` needs none)."""
        if self._producer is None:
            from confluent_kafka import Producer

            timeout_ms = int(max(30.0, 3 * self.interval_s) * 1000)
            self._producer = Producer(
                {
                    **client_settings(self.bootstrap, self.security),
                    **PRODUCER_CONFIG,
                    # a sample is given up after a few intervals: newer ones matter more
                    "message.timeout.ms": timeout_ms,
                    "error_cb": self._on_error,
                    "logger": _KAFKA_LOG,
                }
            )
        return self._producer

    def _ensure_topic(self, timeout_s: float) -> None:
        """Create the topic if missing. Tried in the waits between samples, so that a
        broker that is down never delays sampling; retried with a growing backoff."""
        producer = self.producer()
        try:
            # the producer's own (quiet) connection first: an AdminClient against a
            # dead broker would log every reconnect attempt on stderr
            metadata = producer.list_topics(timeout=max(timeout_s, 0.1))
        except Exception as exc:  # KafkaException: unreachable; error_cb has said so already
            self._refused = self._refused or refusal(self.bootstrap, list(exc.args[:1]))
            self._topic_backoff()
            return
        meta = metadata.topics.get(self.topic)
        if meta is None or meta.error is not None:
            try:
                ensure_topics(
                    self.bootstrap,
                    {self.topic: TopicSpec(TOPIC_PARTITIONS)},
                    timeout_s=TOPIC_TIMEOUT_S,
                    security=self.security,
                )
            except Exception as exc:  # any broker problem: sampling goes on regardless
                log.warning("topic %s not ready on %s: %s", self.topic, self.bootstrap, exc)
                self._topic_backoff()
                return
        self._topic_ready = True

    def _topic_backoff(self) -> None:
        """The next topic check after a failure: 1 s, 2 s, ... up to a minute."""
        delay = TOPIC_BACKOFF.delay(self._topic_failures)
        self._topic_failures += 1
        self._next_topic_try = time.monotonic() + delay

    def produce(self, event: TelemetryEvent) -> bool:
        """Queue one event; False (and one log line) when the local queue refuses it.

        Before the topic is confirmed, the event waits in the producer's queue (the
        producer never auto-creates topics) and goes out once the topic exists.
        """
        producer = self.producer()
        try:
            producer.produce(
                self.topic,
                event.to_json(),
                self.node_id.encode(),
                on_delivery=self._on_delivery,
            )
        except BufferError:
            self.failed += 1
            log.warning("telemetry sample dropped: local Kafka queue full (broker down?)")
            return False
        except Exception as exc:  # KafkaException: e.g. a topic name the client rejects
            self.failed += 1
            log.warning("telemetry sample not produced to %s: %s", self.topic, exc)
            return False
        self.produced += 1
        producer.poll(0)
        return True

    # ------------------------------------------------------------------ loop

    def _next_tick(self, previous: float) -> float:
        """The next tick of the schedule after now: ticks missed while a sample or a
        broker call blocked are skipped, and the phase is kept."""
        now = time.monotonic()
        ticks = max(1, math.ceil((now - previous) / self.interval_s))
        next_at = previous + ticks * self.interval_s
        return next_at if next_at > now else next_at + self.interval_s

    def run(self, stop_event: threading.Event, max_samples: int | None = None) -> int:
        """Sample, produce and serve /metrics every interval until ``stop_event`` is set
        (or ``max_samples`` were taken); returns the number of samples.

        Samples are kept on a monotonic schedule: Kafka work (delivery reports, topic
        creation) happens in the waits between them, so an unreachable broker neither
        delays nor skips a sample. BrokerRefused as soon as the broker refuses the login
        or the TLS handshake; the samples still queued are given up.
        """
        self.serve_metrics()
        producer = self.producer()
        samples = 0
        next_at = time.monotonic()
        try:
            while not stop_event.is_set():
                self._raise_if_refused()
                self.produce(self.sample())
                samples += 1
                if max_samples is not None and samples >= max_samples:
                    break
                next_at = self._next_tick(next_at)
                while not stop_event.is_set():
                    self._raise_if_refused()
                    left = next_at - time.monotonic()
                    if left <= 0:
                        break
                    if not self._topic_ready and time.monotonic() >= self._next_topic_try:
                        self._ensure_topic(min(left, TOPIC_TIMEOUT_S))
                        continue
                    producer.poll(min(left, 0.2))  # delivery reports while waiting
            if max_samples is not None and not self._topic_ready:
                self._ensure_topic(TOPIC_TIMEOUT_S)  # a short run must still get its topic
                self._raise_if_refused()
        finally:
            if self._refused is not None:
                producer.purge()  # nothing queued can be delivered: do not wait for it
            left = producer.flush(FLUSH_TIMEOUT_S)
            if left and self._refused is None:
                self.failed += left
                log.warning("%d telemetry sample(s) not delivered at shutdown", left)
            self.stop_metrics()
            self.close()
        return samples

    def _raise_if_refused(self) -> None:
        if self._refused is not None:
            raise self._refused
