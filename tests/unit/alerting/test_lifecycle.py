"""Incidents: grouped per (model, category), fire after k windows, resolve after m
decided clear windows after the latest breach; unknown windows prove nothing.

Oracles: the rules as the module states them, applied by hand to window sequences the
tests write out (window i starts at i * 60)."""

from __future__ import annotations

from dataclasses import dataclass

from streams.alerting.lifecycle import EVERYTHING, FLAP_WINDOWS, Decided, Incident, Signal, step
from streams.events.models import AlertCategory, Severity

DQ = AlertCategory.data_quality
UNKNOWN = Decided()  # a window with too few events or labels to decide anything


def zeros(*features: str) -> list[Signal]:
    return [Signal(DQ, f, Severity.error, "zero_rate_delta", 0.99, 0.1) for f in features]


@dataclass(frozen=True)
class W:
    """One evaluation: the window (its index), its breaches and what it could decide."""

    index: int
    signals: tuple[Signal, ...] = ()
    decided: Decided = EVERYTHING


def run(
    windows: list, fire_after: int | dict[AlertCategory, int] = 1, resolve_after: int = 2
) -> list:
    """(evaluation number, status, subjects) of each transition; a plain list of signals
    is the next window in order, deciding everything."""
    incidents: dict[str, Incident] = {}
    out = []
    for i, w in enumerate(windows):
        w = w if isinstance(w, W) else W(i, tuple(w))
        transitions = step(
            incidents, list(w.signals), w.index * 60, fire_after, resolve_after, decided=w.decided
        )
        out += [(i, t.status, t.subjects) for t in transitions]
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


def test_unknown_windows_neither_resolve_nor_clear() -> None:
    # fired, then ten windows with too little evidence: still firing
    unknown = [W(i, decided=UNKNOWN) for i in range(1, 11)]
    assert run([zeros("a"), *unknown], resolve_after=2) == [(0, "firing", ["a"])]
    # an unknown window neither counts nor breaks the run of decided clear windows
    windows = [zeros("a"), [], W(2, decided=UNKNOWN), []]
    assert run(windows, resolve_after=2) == [(0, "firing", ["a"]), (3, "resolved", ["a"])]
    # nor does it reset a streak: breach, unknown, breach is two breaching windows
    windows = [zeros("a"), W(1, decided=UNKNOWN), zeros("a")]
    assert run(windows, fire_after=2) == [(2, "firing", ["a"])]


def test_a_window_is_clear_only_when_every_announced_subject_is_decided() -> None:
    only_a = Decided(subjects=frozenset({(DQ, "a")}))
    windows = [zeros("a", "b"), W(1, decided=only_a), W(2, decided=only_a), W(3), W(4)]
    assert run(windows, resolve_after=2) == [(0, "firing", ["a", "b"]), (4, "resolved", ["a", "b"])]


def test_re_evaluating_pre_onset_windows_after_a_firing_does_not_resolve() -> None:
    # windows 0 and 1 clear, the model breaks in window 2; then labels keep reaching the
    # old windows (and the firing one itself), which re-evaluate clear again and again
    windows = [[], [], zeros("a"), *[W(i % 3) for i in range(9)]]
    assert run(windows, resolve_after=2) == [(2, "firing", ["a"])]
    # clear windows after the breach resolve it; a re-evaluated old breach changes nothing
    later = [W(3), W(1, tuple(zeros("a"))), W(4)]
    assert run([*windows, *later], resolve_after=2) == [
        (2, "firing", ["a"]),
        (len(windows) + 2, "resolved", ["a"]),  # at W(4), the second after window 2
    ]


def test_m_decided_clear_windows_after_the_latest_breach_resolve_exactly_once() -> None:
    windows = [
        zeros("a"),  # fires
        [],  # clear: 1 of 3
        zeros("a"),  # breaches again: the latest breach, the run starts over
        W(3),
        W(3),  # the same window re-evaluated counts once
        W(4),
        W(1),  # before the latest breach: counts for nothing
        W(5),  # the third decided clear window after window 2
        W(6),
        W(7),
    ]
    assert run(windows, resolve_after=3) == [(0, "firing", ["a"]), (7, "resolved", ["a"])]
    # a breach in a later window while clear windows count starts the run afresh
    windows = [zeros("a"), W(1), W(3, tuple(zeros("a"))), W(2), W(4), W(5)]
    assert run(windows, resolve_after=2) == [(0, "firing", ["a"]), (5, "resolved", ["a"])]


def flaps(windows: list) -> list[int]:
    """The evaluations whose firing transition is a flap."""
    incidents: dict[str, Incident] = {}
    out = []
    for i, signals in enumerate(windows):
        for t in step(incidents, signals, i * 60, 1, 1, decided=EVERYTHING):
            if t.flap:
                out.append(i)
    return out


def test_a_flap_is_counted_once_and_a_late_recurrence_is_none() -> None:
    # fire, resolve, fire again two windows later (and stay): one flap
    assert flaps([zeros("a"), [], [], zeros("a"), zeros("a", "b"), zeros("a")]) == [3]
    # the recurrence FLAP_WINDOWS windows after the resolve is a new incident
    quiet = [[] for _ in range(FLAP_WINDOWS)]
    assert flaps([zeros("a"), [], *quiet, zeros("a")]) == []
    assert flaps([zeros("a"), [], *quiet[:-1], zeros("a")]) == [FLAP_WINDOWS + 1]


def test_categories_are_separate_incidents_and_severity_is_the_worst() -> None:
    incidents: dict[str, Incident] = {}
    signals = [
        *zeros("a"),
        Signal(AlertCategory.data_drift, "b", Severity.warning, "psi", 0.5, 0.2),
        Signal(AlertCategory.slo_burn, "ticket-3d", Severity.warning, "burn", 2, 1),
        Signal(AlertCategory.slo_burn, "page-1h", Severity.critical, "burn", 20, 14.4),
    ]
    transitions = step(incidents, signals, 0, 1, 2, decided=EVERYTHING)
    assert {(t.category, t.severity) for t in transitions} == {
        (DQ, Severity.error),
        (AlertCategory.data_drift, Severity.warning),
        (AlertCategory.slo_burn, Severity.critical),
    }
    step(incidents, [], 60, 1, 2, decided=EVERYTHING)
    restored = {k: Incident.from_dict(i.to_dict()) for k, i in incidents.items()}
    assert restored == incidents


def test_an_incident_saved_before_decided_windows_counted_still_reads() -> None:
    old = {
        "category": "data_quality",
        "streak": {"a": 1},
        "clear": 2,
        "firing": True,
        "announced": ["a"],
        "first_seen": 0.0,
        "severity": "error",
    }
    incident = Incident.from_dict(old)
    assert incident.firing and incident.announced == ["a"]
    assert incident.clear_windows == []  # its clear run starts afresh


DRIFT = AlertCategory.data_drift


def drift(feature: str, sequential: bool = False) -> list[Signal]:
    return [Signal(DRIFT, feature, Severity.warning, "wasserstein", 0.3, 0.25, sequential)]


def test_fire_after_is_per_category_and_an_online_detection_counts_at_once() -> None:
    need = {DRIFT: 2, DQ: 1}
    # one window's drift crossing is noise: it needs a second in a row; quality fires at once
    assert run([drift("x"), [], drift("x")], fire_after=need) == []
    assert run([drift("x"), drift("x")], fire_after=need) == [(1, "firing", ["x"])]
    assert run([zeros("x")], fire_after=need) == [(0, "firing", ["x"])]
    # a sequential detector weighed many windows already: no streak needed
    assert run([drift("y", sequential=True)], fire_after=need) == [(0, "firing", ["y"])]
