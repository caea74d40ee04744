"""The agent's Prometheus metrics: names, the latest-sample collector, the registry.

Metric values that mirror a monotonic count kept elsewhere (network bytes, ECC errors)
are rendered by a custom collector from the latest sample, so they are typed counters
with ``_total`` without the agent adding anything up itself; readings that are unknown
in the latest sample (a failed NVML call, a GPU gone) are simply absent, never a stale
or made-up value.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.events.models import TelemetryEvent
from streams.telemetry.nvml import NVML_CALLS, THROTTLE_REASONS, NvmlError

__all__ = ["METRIC_NAMES", "AgentMetrics", "agent_registry"]

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
