"""The telemetry agent: sample the node at an interval, produce to Kafka, serve /metrics.

One ``TelemetryEvent`` per interval goes to ``node-telemetry`` keyed by node id (murmur2,
like every producer of the project), and the same readings are served as Prometheus
metrics, so that a node is visible both to the pipeline (silent-node detection, GPU
alerts) and to Prometheus directly. Kafka being down never stops sampling or /metrics:
each failure is logged as one line and the next interval tries again.

Metric values that mirror a monotonic count kept elsewhere (network bytes, ECC errors)
are rendered by a custom collector from the latest sample, so they are typed counters
with ``_total`` without the agent adding anything up itself; readings that are unknown
in the latest sample (a failed NVML call, a GPU gone) are simply absent, never a stale
or made-up value.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import ValidationError

from streams.events.models import MAX_GPUS, MAX_NVML_ERRORS, GpuReading, TelemetryEvent
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.telemetry.gpu import NVML_CALLS, THROTTLE_REASONS, GpuSnapshot, Nvml, NvmlError
from streams.telemetry.host import HostSampler

__all__ = [
    "DEFAULT_METRICS_PORT",
    "DEFAULT_TOPIC",
    "METRIC_NAMES",
    "PRODUCER_CONFIG",
    "TelemetryAgent",
    "agent_registry",
]

log = logging.getLogger(__name__)
_KAFKA_LOG = logging.getLogger("streams.telemetry.kafka")

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

#: name -> (type, labels, help). The names are a contract with the Prometheus rules
#: and dashboards; the dcgm-exporter equivalents are listed in docs/telemetry.md.
METRIC_NAMES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "streams_node_cpu_utilization_ratio": (
        "gauge",
        ("node",),
        "Busy share of all CPUs since the previous sample (0..1).",
    ),
    "streams_node_memory_used_bytes": (
        "gauge",
        ("node",),
        "Memory not available to new processes (total - available).",
    ),
    "streams_node_memory_total_bytes": ("gauge", ("node",), "Physical memory."),
    "streams_node_disk_used_bytes": ("gauge", ("node",), "Used bytes of the root filesystem."),
    "streams_node_disk_total_bytes": ("gauge", ("node",), "Size of the root filesystem."),
    "streams_node_network_received_bytes_total": (
        "counter",
        ("node",),
        "Bytes received on all interfaces but loopback, since boot.",
    ),
    "streams_node_network_transmitted_bytes_total": (
        "counter",
        ("node",),
        "Bytes sent on all interfaces but loopback, since boot.",
    ),
    "streams_gpu_utilization_ratio": (
        "gauge",
        ("node", "gpu"),
        "Share of the last sample period a kernel ran on the GPU (0..1).",
    ),
    "streams_gpu_memory_used_bytes": ("gauge", ("node", "gpu"), "GPU memory allocated."),
    "streams_gpu_memory_total_bytes": ("gauge", ("node", "gpu"), "GPU memory in total."),
    "streams_gpu_temperature_celsius": ("gauge", ("node", "gpu"), "GPU core temperature."),
    "streams_gpu_power_watts": ("gauge", ("node", "gpu"), "GPU board power draw."),
    "streams_gpu_ecc_uncorrected_errors_total": (
        "counter",
        ("node", "gpu"),
        "Uncorrected ECC errors since the driver loaded (absent when ECC is off).",
    ),
    "streams_gpu_throttle_active": (
        "gauge",
        ("node", "gpu", "reason"),
        "1 when the reason is holding the GPU's clocks down, 0 when not.",
    ),
    "streams_gpu_nvml_errors_total": (
        "counter",
        ("node", "call"),
        "NVML calls that failed (nvmlInit counted once per agent start).",
    ),
    "streams_telemetry_samples_total": ("counter", ("node",), "Samples taken by the agent."),
    "streams_telemetry_last_sample_timestamp_seconds": (
        "gauge",
        ("node",),
        "Unix time of the agent's last sample.",
    ),
}

_HOST_GAUGES = {
    "streams_node_cpu_utilization_ratio": "cpu_utilization_ratio",
    "streams_node_memory_used_bytes": "memory_used_bytes",
    "streams_node_memory_total_bytes": "memory_total_bytes",
    "streams_node_disk_used_bytes": "disk_used_bytes",
    "streams_node_disk_total_bytes": "disk_total_bytes",
}
_HOST_COUNTERS = {
    "streams_node_network_received_bytes_total": "network_received_bytes",
    "streams_node_network_transmitted_bytes_total": "network_transmitted_bytes",
}
_GPU_GAUGES = {
    "streams_gpu_utilization_ratio": "utilization_ratio",
    "streams_gpu_memory_used_bytes": "memory_used_bytes",
    "streams_gpu_memory_total_bytes": "memory_total_bytes",
    "streams_gpu_temperature_celsius": "temperature_celsius",
    "streams_gpu_power_watts": "power_watts",
}
_GPU_COUNTERS = {"streams_gpu_ecc_uncorrected_errors_total": "ecc_uncorrected_errors"}


def _family(name: str) -> Metric:
    kind, labels, doc = METRIC_NAMES[name]
    if kind == "counter":  # prometheus_client adds the _total of the samples itself
        return CounterMetricFamily(name.removesuffix("_total"), doc, labels=labels)
    return GaugeMetricFamily(name, doc, labels=labels)


class _LatestSampleCollector(Collector):
    """Renders the readings of the latest sample at each scrape."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._event: TelemetryEvent | None = None
        self._lock = threading.Lock()

    def update(self, event: TelemetryEvent) -> None:
        with self._lock:
            self._event = event

    def describe(self) -> Iterator[Metric]:
        names = [*_HOST_GAUGES, *_HOST_COUNTERS, *_GPU_GAUGES, *_GPU_COUNTERS]
        yield from (_family(n) for n in [*names, "streams_gpu_throttle_active"])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            event = self._event
        host = event.host if event is not None else None
        gpus = event.gpus if event is not None else []
        for name, attr in {**_HOST_GAUGES, **_HOST_COUNTERS}.items():
            family = _family(name)
            value = getattr(host, attr) if host is not None else None
            if value is not None:
                family.add_metric([self.node], value)
            yield family
        for name, attr in {**_GPU_GAUGES, **_GPU_COUNTERS}.items():
            family = _family(name)
            for gpu in gpus:
                value = getattr(gpu, attr)
                if value is not None:
                    family.add_metric([self.node, str(gpu.index)], value)
            yield family
        family = _family("streams_gpu_throttle_active")
        for gpu in gpus:
            if gpu.throttle_reasons is None:
                continue  # unknown: no series rather than a false "not throttled"
            for reason in THROTTLE_REASONS:
                active = 1.0 if reason in gpu.throttle_reasons else 0.0
                family.add_metric([self.node, str(gpu.index), reason], active)
        yield family


class AgentMetrics:
    """Every metric of the agent, registered on ``registry``."""

    def __init__(self, node: str, registry: CollectorRegistry) -> None:
        self.node = node
        self.latest = _LatestSampleCollector(node)
        registry.register(self.latest)

        def labels(name: str) -> list[str]:
            return list(METRIC_NAMES[name][1])

        def doc(name: str) -> str:
            return METRIC_NAMES[name][2]

        n = "streams_telemetry_samples_total"
        self.samples = Counter(n.removesuffix("_total"), doc(n), labels(n), registry=registry)
        n = "streams_telemetry_last_sample_timestamp_seconds"
        self.last_sample = Gauge(n, doc(n), labels(n), registry=registry)
        n = "streams_gpu_nvml_errors_total"
        self.nvml_errors = Counter(n.removesuffix("_total"), doc(n), labels(n), registry=registry)
        self.samples.labels(node)
        for call in NVML_CALLS:  # zero series first, so increase() sees the first error
            self.nvml_errors.labels(node, call)

    def observe(self, event: TelemetryEvent, errors: list[NvmlError], at: float) -> None:
        self.latest.update(event)
        for err in errors:
            self.nvml_errors.labels(self.node, err.call).inc()
        self.samples.labels(self.node).inc()
        self.last_sample.labels(self.node).set(at)


def agent_registry() -> CollectorRegistry:
    """A registry with the agent's own process metrics (CPU, memory, fds, GC) and nothing
    else of the process-global default registry."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class TelemetryAgent:
    """Samples the host and its GPUs; ``run()`` produces every ``interval_s`` until stopped.

    ``metrics_port=None`` serves no /metrics (tests, ``--once``); 0 picks a free port
    (``metrics_port`` then holds the bound one). NVML is initialised once, at the first
    sample, and shut down by ``close()`` (``run()`` closes on its way out).
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
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval must be positive, got {interval_s}")
        self.bootstrap = bootstrap
        self.topic = topic
        self.node_id = node_id or socket.gethostname()
        self.interval_s = interval_s
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = AgentMetrics(self.node_id, self.registry)
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self.host = HostSampler(disk_path)
        self.nvml = Nvml()
        self.produced = 0
        self.delivered = 0
        self.failed = 0
        self._producer = producer
        self._topic_ready = producer is not None  # an injected producer: tests, no admin
        self._topic_retry_s = 0.5
        self._next_topic_try = 0.0
        self._init_counted = False
        self._server: Any = None
        self._kafka_errors: set[str] = set()

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
            self._server, _ = start_http_server(
                self.metrics_port, addr=self.metrics_host, registry=self.registry
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
        once per outage, not at every reconnect attempt."""
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
        log.warning("telemetry sample not delivered to %s: %s", self.topic, err.str())

    def producer(self) -> Any:
        """The Kafka producer, created on first use (``sample()`` needs none)."""
        if self._producer is None:
            from confluent_kafka import Producer

            timeout_ms = int(max(30.0, 3 * self.interval_s) * 1000)
            self._producer = Producer(
                {
                    "bootstrap.servers": self.bootstrap,
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
        except Exception:  # KafkaException: unreachable; error_cb has said so already
            self._topic_backoff()
            return
        meta = metadata.topics.get(self.topic)
        if meta is None or meta.error is not None:
            try:
                ensure_topics(
                    self.bootstrap,
                    {self.topic: TopicSpec(TOPIC_PARTITIONS)},
                    timeout_s=TOPIC_TIMEOUT_S,
                )
            except Exception as exc:  # any broker problem: sampling goes on regardless
                log.warning("topic %s not ready on %s: %s", self.topic, self.bootstrap, exc)
                self._topic_backoff()
                return
        self._topic_ready = True

    def _topic_backoff(self) -> None:
        self._topic_retry_s = min(self._topic_retry_s * 2, 60.0)
        self._next_topic_try = time.monotonic() + self._topic_retry_s

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
        delays nor skips a sample.
        """
        self.serve_metrics()
        producer = self.producer()
        samples = 0
        next_at = time.monotonic()
        try:
            while not stop_event.is_set():
                self.produce(self.sample())
                samples += 1
                if max_samples is not None and samples >= max_samples:
                    break
                next_at = self._next_tick(next_at)
                while not stop_event.is_set():
                    left = next_at - time.monotonic()
                    if left <= 0:
                        break
                    if not self._topic_ready and time.monotonic() >= self._next_topic_try:
                        self._ensure_topic(min(left, TOPIC_TIMEOUT_S))
                        continue
                    producer.poll(min(left, 0.2))  # delivery reports while waiting
            if max_samples is not None and not self._topic_ready:
                self._ensure_topic(TOPIC_TIMEOUT_S)  # a short run must still get its topic
        finally:
            left = producer.flush(FLUSH_TIMEOUT_S)
            if left:
                self.failed += left
                log.warning("%d telemetry sample(s) not delivered at shutdown", left)
            self.stop_metrics()
            self.close()
        return samples
