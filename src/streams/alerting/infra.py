"""Infrastructure findings from node telemetry: GPU memory, throttling, ECC errors, and
nodes that stopped reporting.

Pure logic, no Kafka. Findings are edge-triggered: a condition raises an alert when it
starts, not on every sample while it lasts (the alert lifecycle resolves and repeats).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.codec import pack, unpack
from streams.config.models import InfraConfig
from streams.events.models import AlertCategory, Severity, TelemetryEvent

STATE_VERSION = 1
THERMAL = frozenset({"sw_thermal", "hw_thermal"})
POWER = frozenset({"sw_power_cap", "hw_power_brake"})


@dataclass(frozen=True, slots=True)
class Finding:
    category: AlertCategory
    severity: Severity
    subject: str
    statistic: str
    value: float
    threshold: float

    @property
    def key(self) -> str:
        return f"{self.subject}:{self.statistic}"


@dataclass
class NodeState:
    node_id: str
    partition: int
    last_seen_s: float = 0.0  # processing (wall) time of the last sample
    last_sample_ts: float = 0.0  # the node's own sample time
    silent: bool = False
    ecc: dict[int, int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)

    def serialize(self) -> bytes:
        return pack(
            STATE_VERSION,
            {
                "node_id": self.node_id,
                "partition": self.partition,
                "last_seen_s": self.last_seen_s,
                "last_sample_ts": self.last_sample_ts,
                "silent": self.silent,
                "ecc": {str(k): v for k, v in self.ecc.items()},
                "active": sorted(self.active),
            },
        )

    @classmethod
    def deserialize(cls, raw: bytes) -> NodeState:
        b = unpack(raw, STATE_VERSION, "node state")
        return cls(
            b["node_id"],
            b["partition"],
            b["last_seen_s"],
            b["last_sample_ts"],
            b["silent"],
            {int(k): v for k, v in b["ecc"].items()},
            set(b["active"]),
        )


def gpu_findings(state: NodeState, event: TelemetryEvent, config: InfraConfig) -> list[Finding]:
    """Every GPU condition present in this sample (ECC: errors since the previous one)."""
    found = []
    for gpu in event.gpus:
        subject = f"{event.node_id}/gpu{gpu.index}"
        if gpu.memory_used_bytes is not None and gpu.memory_total_bytes:
            ratio = gpu.memory_used_bytes / gpu.memory_total_bytes
            if ratio > config.gpu_memory_ratio:
                found.append(
                    Finding(
                        AlertCategory.gpu,
                        Severity.warning,
                        subject,
                        "memory_used_ratio",
                        ratio,
                        config.gpu_memory_ratio,
                    )
                )
        reasons = set(gpu.throttle_reasons or ())
        if reasons & THERMAL:
            found.append(
                Finding(AlertCategory.gpu, Severity.error, subject, "thermal_throttling", 1.0, 0.0)
            )
        if reasons & POWER:
            found.append(
                Finding(AlertCategory.gpu, Severity.warning, subject, "power_throttling", 1.0, 0.0)
            )
        if gpu.ecc_uncorrected_errors is not None:
            previous = state.ecc.get(gpu.index)
            if previous is not None and gpu.ecc_uncorrected_errors > previous:
                found.append(
                    Finding(
                        AlertCategory.gpu,
                        Severity.error,
                        subject,
                        "ecc_uncorrected_errors_increase",
                        gpu.ecc_uncorrected_errors - previous,
                        0.0,
                    )
                )
            state.ecc[gpu.index] = gpu.ecc_uncorrected_errors
    return found


def observe(
    state: NodeState, event: TelemetryEvent, now_s: float, config: InfraConfig
) -> list[Finding]:
    """Fold one sample into the node's state; returns the conditions that just started."""
    state.last_seen_s = now_s
    state.last_sample_ts = max(state.last_sample_ts, event.timestamp.timestamp())
    state.silent = False
    findings = gpu_findings(state, event, config)
    # ECC increases are events, not states: they alert every time they happen
    started = [f for f in findings if f.key not in state.active or f.statistic.startswith("ecc")]
    state.active = {f.key for f in findings if not f.statistic.startswith("ecc")}
    return started


def newly_silent(states: list[NodeState], now_s: float, config: InfraConfig) -> list[Finding]:
    """Nodes quiet for longer than ``silent_after_s``, once each until they report again."""
    found = []
    for state in states:
        quiet_s = now_s - state.last_seen_s
        if not state.silent and quiet_s > config.silent_after_s:
            state.silent = True
            found.append(
                Finding(
                    AlertCategory.node_silent,
                    Severity.error,
                    state.node_id,
                    "seconds_since_last_sample",
                    quiet_s,
                    config.silent_after_s,
                )
            )
    return found
