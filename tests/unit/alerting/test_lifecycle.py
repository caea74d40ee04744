"""Incidents: grouped per (model, category), fire after k windows, resolve after m."""

from __future__ import annotations

from streams.alerting.lifecycle import Incident, Signal, step
from streams.events.models import AlertCategory, Severity

DQ = AlertCategory.data_quality


def zeros(*features: str) -> list[Signal]:
    return [Signal(DQ, f, Severity.error, "zero_rate_delta", 0.99, 0.1) for f in features]


def run(windows: list[list[Signal]], fire_after: int = 1, resolve_after: int = 2) -> list:
    incidents: dict[str, Incident] = {}
    out = []
    for i, signals in enumerate(windows):
        out += [
            (i, t.status, t.subjects)
            for t in step(incidents, signals, i * 60, fire_after, resolve_after)
        ]
    return out


def test_one_incident_lists_every_feature_and_sends_each_change_once() -> None:
    windows = [[], zeros("a", "b"), zeros("a", "b", "c"), zeros("a", "b", "c"), [], [], []]
    assert run(windows) == [
        (1, "firing", ["a", "b"]),
        (2, "firing", ["a", "b", "c"]),  # grew: a state change
        (5, "resolved", ["a", "b", "c"]),  # after two clear windows
    ]


def test_hysteresis_ignores_a_single_noisy_window() -> None:
    assert run([zeros("a"), [], zeros("a"), []], fire_after=2) == []
    assert run([zeros("a"), zeros("a")], fire_after=2) == [(1, "firing", ["a"])]


def test_a_clear_window_in_between_does_not_resolve_early() -> None:
    windows = [zeros("a"), [], zeros("a"), [], [], []]
    assert run(windows, resolve_after=2) == [(0, "firing", ["a"]), (4, "resolved", ["a"])]


def test_categories_are_separate_incidents_and_severity_is_the_worst() -> None:
    incidents: dict[str, Incident] = {}
    signals = [
        *zeros("a"),
        Signal(AlertCategory.data_drift, "b", Severity.warning, "psi", 0.5, 0.2),
        Signal(AlertCategory.slo_burn, "ticket-3d", Severity.warning, "burn", 2, 1),
        Signal(AlertCategory.slo_burn, "page-1h", Severity.critical, "burn", 20, 14.4),
    ]
    transitions = step(incidents, signals, 0, 1, 2)
    assert {(t.category, t.severity) for t in transitions} == {
        (DQ, Severity.error),
        (AlertCategory.data_drift, Severity.warning),
        (AlertCategory.slo_burn, Severity.critical),
    }
    restored = {k: Incident.from_dict(i.to_dict()) for k, i in incidents.items()}
    assert restored == incidents
