"""Alert lifecycle: from per-window findings to incidents that fire, grow and resolve.

One incident per (model, category): a broken upstream that zeroes twelve features of a
model pages once, listing them, not twelve times. A subject (a feature, an SLO rule,
a cohort) counts once it has breached ``fire_after`` windows in a row (per category: a
per-window drift test needs two by default, an online detection counts at once); the incident
fires when the first subject counts, is sent again when more subjects join (a state
change), and resolves after ``resolve_after`` decided clear windows after its latest
breaching window. Windows with no change send nothing: each state change goes out
exactly once. Findings a root cause explains (streams/alerting/rootcause.py) never
reach ``step``: they are recorded on the data-quality incident as corroboration.

No resolve on no evidence. In each window a subject is fired (it has a signal), clear
(decided: enough events or labels, and no signal) or unknown (too few to decide). An
unknown window is skipped: it neither counts towards resolving nor breaks a run of
clear windows, and it neither lengthens nor resets a subject's streak, so a window
with no labels yet can neither close an incident nor hide one. A window counts
towards resolving only when every announced subject is clear in it and it starts
after the incident's latest breaching window (by window start, not by evaluation
order: re-evaluating a pre-onset window as labels arrive proves nothing about the
present); a window older than that resets no streak either.

A flap is a resolve followed by a re-fire of the same incident (dedup key) within
``FLAP_WINDOWS`` distinct later windows; the firing transition says so.

Pure logic; the state lives in stage 2's per-model table entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from streams.events.models import AlertCategory, Severity

_RANK = {Severity.info: 0, Severity.warning: 1, Severity.error: 2, Severity.critical: 3}
#: A re-fire within this many distinct windows after a resolve is a flap.
FLAP_WINDOWS = 12


def highest(severities: list[Severity]) -> Severity:
    """The most urgent of some severities."""
    return max(severities, key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class Signal:
    """One subject breaching in one window: the input of the lifecycle."""

    category: AlertCategory
    subject: str
    severity: Severity
    statistic: str
    value: float
    threshold: float
    sequential: bool = False  # an online detection: evidence over many windows counts at once


@dataclass(frozen=True, slots=True)
class Decided:
    """The subjects one window had the evidence to decide (fired or clear): every
    subject of ``categories``, and the listed ``subjects``. Any other is unknown."""

    categories: frozenset[AlertCategory] = frozenset()
    subjects: frozenset[tuple[AlertCategory, str]] = frozenset()

    def __contains__(self, item: tuple[AlertCategory, str]) -> bool:
        return item[0] in self.categories or item in self.subjects


#: A window that decides every subject (enough events and labels everywhere).
EVERYTHING = Decided(frozenset(AlertCategory))


@dataclass
class Incident:
    category: AlertCategory
    streak: dict[str, int] = field(default_factory=dict)  # subject -> breaching windows
    clear_windows: list[float] = field(default_factory=list)  # decided clear, after last_breach
    firing: bool = False
    announced: list[str] = field(default_factory=list)  # subjects in the last alert
    first_seen: float = 0.0
    severity: Severity = Severity.info  # of the last firing alert, for its resolution
    last_breach: float | None = None  # start of the latest window with a breach
    resolved_at: float | None = None  # start of the resolving window, while a flap can come
    after_resolve: list[float] = field(default_factory=list)  # windows seen since
    corroborating: list[str] = field(default_factory=list)  # absorbed findings, as labels
    recovering: list[str] = field(default_factory=list)  # resolved subjects, while a flap can come

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "streak": self.streak,
            "clear_windows": self.clear_windows,
            "firing": self.firing,
            "announced": self.announced,
            "first_seen": self.first_seen,
            "severity": self.severity.value,
            "last_breach": self.last_breach,
            "resolved_at": self.resolved_at,
            "after_resolve": self.after_resolve,
            "corroborating": self.corroborating,
            "recovering": self.recovering,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Incident:
        """Read a saved incident; one saved before decided windows counted starts its
        clear run afresh (its old count may hold windows that proved nothing)."""
        return cls(
            AlertCategory(d["category"]),
            d["streak"],
            d.get("clear_windows", []),
            d["firing"],
            d["announced"],
            d["first_seen"],
            Severity(d["severity"]),
            d.get("last_breach"),
            d.get("resolved_at"),
            d.get("after_resolve", []),
            d.get("corroborating", []),
            d.get("recovering", []),
        )

    def forgettable(self) -> bool:
        """Nothing to remember: not firing, no streak, no flap to watch for."""
        return not self.firing and not self.streak and self.resolved_at is None


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change to announce: the incident's subjects and their evidence."""

    category: AlertCategory
    status: Literal["firing", "resolved"]
    severity: Severity
    subjects: list[str]
    signals: list[Signal]  # the counting subjects' signals in this window (firing only)
    first_seen: float
    flap: bool = False  # fires again soon after its resolve
    update: bool = False  # changes an incident already announced: not a new page
    corroborating: tuple[str, ...] = ()  # findings this incident's root cause explains


def step(
    incidents: dict[str, Incident],
    signals: list[Signal],
    window_start: float,
    fire_after: int | Mapping[AlertCategory, int],
    resolve_after: int,
    *,
    decided: Decided,
) -> list[Transition]:
    """Advance every incident of one model by one evaluated window; ``decided`` names
    the subjects the window could decide (signals' subjects are decided anyway).
    ``fire_after`` may differ by category (missing ones: 1); a ``sequential`` signal
    counts at once."""
    by_category: dict[AlertCategory, list[Signal]] = {}
    for signal in signals:
        by_category.setdefault(signal.category, []).append(signal)
    for category in by_category:
        incidents.setdefault(category.value, Incident(category))
    transitions = []
    for incident in incidents.values():
        current = {s.subject: s for s in by_category.get(incident.category, [])}
        _count_streaks(incident, current, window_start, decided)
        need = (
            fire_after.get(incident.category, 1) if isinstance(fire_after, Mapping) else fire_after
        )
        counting = sorted(
            s for s, sig in current.items() if incident.streak[s] >= need or sig.sequential
        )
        if counting:
            transition = _fire(incident, current, counting, window_start)
        elif incident.firing:
            transition = _clear(incident, bool(current), window_start, resolve_after, decided)
        else:
            transition = _watch_flap(incident, window_start)
        if transition is not None:
            transitions.append(transition)
    for key in [k for k, i in incidents.items() if i.forgettable()]:
        del incidents[key]
    return transitions


def _count_streaks(
    incident: Incident, current: dict[str, Signal], window_start: float, decided: Decided
) -> None:
    """Breaching subjects lengthen their streak; a decided clear subject loses it,
    unless the window is older than the latest breach; an unknown one keeps it."""
    stale = incident.last_breach is not None and window_start < incident.last_breach
    if current:
        incident.last_breach = max(window_start, incident.last_breach or window_start)
        incident.clear_windows = [w for w in incident.clear_windows if w > incident.last_breach]
    kept = {
        subject: n
        for subject, n in incident.streak.items()
        if stale or (incident.category, subject) not in decided
    }
    incident.streak = kept | {s: incident.streak.get(s, 0) + 1 for s in current}


def _fire(
    incident: Incident, current: dict[str, Signal], counting: list[str], window_start: float
) -> Transition | None:
    """Fire, or grow: a transition when subjects that were not announced count (a grow
    is an update of the incident already paged)."""
    flap, update = False, incident.firing
    if not incident.firing:
        flap = incident.resolved_at is not None
        incident.firing, incident.first_seen = True, window_start
        incident.resolved_at, incident.after_resolve, incident.recovering = None, [], []
    if set(counting) <= set(incident.announced):
        return None
    incident.announced = sorted(set(incident.announced) | set(counting))
    shown = [current[s] for s in counting]
    incident.severity = highest([s.severity for s in shown])
    return Transition(
        incident.category,
        "firing",
        incident.severity,
        incident.announced,
        shown,
        incident.first_seen,
        flap,
        update,
        tuple(incident.corroborating),
    )


def _clear(
    incident: Incident, breached: bool, window_start: float, resolve_after: int, decided: Decided
) -> Transition | None:
    """Count a decided clear window after the latest breach; resolve after enough."""
    after = incident.last_breach is None or window_start > incident.last_breach
    if breached or not after:
        return None
    if all((incident.category, s) in decided for s in incident.announced):
        if window_start not in incident.clear_windows:
            incident.clear_windows.append(window_start)
    elif window_start in incident.clear_windows:  # re-evaluated with less evidence
        incident.clear_windows.remove(window_start)
    if len(incident.clear_windows) < resolve_after:
        return None
    resolved = Transition(
        incident.category,
        "resolved",
        incident.severity,
        incident.announced,
        [],
        incident.first_seen,
        corroborating=tuple(incident.corroborating),
    )
    incident.recovering = incident.announced
    incident.firing, incident.announced, incident.clear_windows = False, [], []
    incident.corroborating = []
    incident.resolved_at, incident.after_resolve = window_start, []
    return resolved


def _watch_flap(incident: Incident, window_start: float) -> None:
    """After a resolve, count the later windows; past ``FLAP_WINDOWS`` a re-fire is a
    new incident, not a flap."""
    if incident.resolved_at is None or window_start <= incident.resolved_at:
        return
    if window_start not in incident.after_resolve:
        incident.after_resolve.append(window_start)
    if len(incident.after_resolve) >= FLAP_WINDOWS:
        incident.resolved_at, incident.after_resolve, incident.recovering = None, [], []
