"""Alert lifecycle: from per-window findings to incidents that fire, grow and resolve.

One incident per (model, category): a broken upstream that zeroes twelve features of a
model pages once, listing them, not twelve times. A subject (a feature, an SLO rule)
counts once it has breached ``fire_after`` windows in a row; the incident fires when
the first subject counts, is sent again when more subjects join (a state change), and
resolves after ``resolve_after`` windows in a row with no breach. Windows with no
change send nothing: each state change goes out exactly once.

Pure logic; the state lives in stage 2's per-model table entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from streams.events.models import AlertCategory, Severity

_RANK = {Severity.info: 0, Severity.warning: 1, Severity.error: 2, Severity.critical: 3}


@dataclass(frozen=True, slots=True)
class Signal:
    """One subject breaching in one window: the input of the lifecycle."""

    category: AlertCategory
    subject: str
    severity: Severity
    statistic: str
    value: float
    threshold: float


@dataclass
class Incident:
    category: AlertCategory
    streak: dict[str, int] = field(default_factory=dict)  # subject -> breaching windows
    clear: int = 0
    firing: bool = False
    announced: list[str] = field(default_factory=list)  # subjects in the last alert
    first_seen: float = 0.0
    severity: Severity = Severity.info  # of the last firing alert, for its resolution

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "streak": self.streak,
            "clear": self.clear,
            "firing": self.firing,
            "announced": self.announced,
            "first_seen": self.first_seen,
            "severity": self.severity.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Incident:
        return cls(
            AlertCategory(d["category"]),
            d["streak"],
            d["clear"],
            d["firing"],
            d["announced"],
            d["first_seen"],
            Severity(d["severity"]),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change to announce: the incident's subjects and their evidence."""

    category: AlertCategory
    status: Literal["firing", "resolved"]
    severity: Severity
    subjects: list[str]
    signals: list[Signal]  # the counting subjects' signals in this window (firing only)
    first_seen: float


def step(
    incidents: dict[str, Incident],
    signals: list[Signal],
    window_start: float,
    fire_after: int,
    resolve_after: int,
) -> list[Transition]:
    """Advance every incident of one model by one evaluated window."""
    by_category: dict[AlertCategory, list[Signal]] = {}
    for signal in signals:
        by_category.setdefault(signal.category, []).append(signal)
    for category in by_category:
        incidents.setdefault(category.value, Incident(category))
    transitions = []
    for incident in incidents.values():
        current = {s.subject: s for s in by_category.get(incident.category, [])}
        incident.streak = {subject: incident.streak.get(subject, 0) + 1 for subject in current}
        counting = sorted(s for s, n in incident.streak.items() if n >= fire_after)
        if counting:
            incident.clear = 0
            if not incident.firing:
                incident.firing, incident.first_seen = True, window_start
            if not set(counting) <= set(incident.announced):
                incident.announced = sorted(set(incident.announced) | set(counting))
                shown = [current[s] for s in counting]
                severity = max((s.severity for s in shown), key=_RANK.__getitem__)
                incident.severity = severity
                transitions.append(
                    Transition(
                        incident.category,
                        "firing",
                        severity,
                        incident.announced,
                        shown,
                        incident.first_seen,
                    )
                )
        elif incident.firing:
            incident.clear += 1
            if incident.clear >= resolve_after:
                transitions.append(
                    Transition(
                        incident.category,
                        "resolved",
                        incident.severity,
                        incident.announced,
                        [],
                        incident.first_seen,
                    )
                )
                incident.firing, incident.announced, incident.clear = False, [], 0
    for key in [k for k, i in incidents.items() if not i.firing and not i.streak]:
        del incidents[key]
    return transitions
