"""GPU and silent-node findings from telemetry samples."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.alerting.infra import NodeState, newly_silent, observe
from streams.config.models import InfraConfig
from streams.events.models import AlertCategory, GpuReading, TelemetryEvent

CONFIG = InfraConfig(silent_after_s=60, gpu_memory_ratio=0.95)
GIB = 1 << 30


def sample(**gpu: object) -> TelemetryEvent:
    reading = {
        "index": 0,
        "memory_used_bytes": 10 * GIB,
        "memory_total_bytes": 80 * GIB,
        "ecc_uncorrected_errors": 0,
        "throttle_reasons": [],
        **gpu,
    }
    return TelemetryEvent(
        node_id="n1", timestamp=datetime(2026, 1, 1, tzinfo=UTC), gpus=[GpuReading(**reading)]
    )


def stats(findings: list) -> list[str]:
    return [f.statistic for f in findings]


def test_conditions_alert_when_they_start_not_while_they_last() -> None:
    state = NodeState("n1", 0)
    assert observe(state, sample(), 0, CONFIG) == []
    full = sample(memory_used_bytes=78 * GIB, throttle_reasons=["hw_thermal"])
    started = observe(state, full, 10, CONFIG)
    assert stats(started) == ["memory_used_ratio", "thermal_throttling"]
    assert started[0].value == 78 / 80 and started[0].subject == "n1/gpu0"
    assert observe(state, full, 20, CONFIG) == []  # still going on: no new alert
    assert observe(state, sample(), 30, CONFIG) == []  # over
    assert stats(observe(state, full, 40, CONFIG)) == ["memory_used_ratio", "thermal_throttling"]


def test_memory_exactly_at_the_threshold_and_power_throttling() -> None:
    state = NodeState("n1", 0)
    at = sample(memory_used_bytes=int(0.95 * 80 * GIB), throttle_reasons=["sw_power_cap"])
    assert stats(observe(state, at, 0, CONFIG)) == ["power_throttling"]


def test_every_ecc_increase_alerts_with_the_number_of_new_errors() -> None:
    state = NodeState("n1", 0)
    assert observe(state, sample(ecc_uncorrected_errors=2), 0, CONFIG) == []  # first reading
    found = observe(state, sample(ecc_uncorrected_errors=5), 10, CONFIG)
    assert stats(found) == ["ecc_uncorrected_errors_increase"] and found[0].value == 3
    assert observe(state, sample(ecc_uncorrected_errors=5), 20, CONFIG) == []
    assert stats(observe(state, sample(ecc_uncorrected_errors=6), 30, CONFIG)) == [
        "ecc_uncorrected_errors_increase"
    ]


def test_a_silent_node_alerts_once_until_it_reports_again() -> None:
    state = NodeState("n1", 0)
    observe(state, sample(), 100, CONFIG)
    assert newly_silent([state], 160, CONFIG) == []  # exactly 60 s: not yet
    found = newly_silent([state], 161, CONFIG)
    assert [(f.category, f.subject, f.value) for f in found] == [
        (AlertCategory.node_silent, "n1", 61)
    ]
    assert newly_silent([state], 500, CONFIG) == []
    observe(state, sample(), 600, CONFIG)
    assert len(newly_silent([state], 700, CONFIG)) == 1
    assert NodeState.deserialize(state.serialize()) == state
