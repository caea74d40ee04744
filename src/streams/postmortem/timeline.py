"""The alert side of a postmortem: the state changes of the ``alerts`` topic, in
timeline order, paired into incidents.

A change happens at the end of the window whose evaluation made it
(``evidence.window_end``): every state change of the model is ordered by that time
(alerts of windows of other sizes interleave), then firing before update before
resolved; a state change delivered twice counts once. An update (``update: true``, a
PagerDuty trigger with the dedup key of an open incident: new subjects, corroboration,
severity) is its own kind of row, not a new firing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.postmortem.formats import parse_time

STATUS_ORDER = {"firing": 0, "resolved": 1}
#: Order of the rows of one time: what a reader follows, a page before its updates.
KIND_ORDER = {"firing": 0, "update": 1, "resolved": 2}


@dataclass(frozen=True, slots=True)
class Change:
    """One alert state change, as on the ``alerts`` topic."""

    dedup_key: str
    category: str
    severity: str
    status: str
    subjects: tuple[str, ...]
    statistic: str
    value: float
    threshold: float
    window_start: float
    window_end: float
    summary: str = ""
    runbook_url: str | None = None
    update: bool = False  # a firing that changes an open incident, not a new page

    @property
    def time(self) -> float:
        """When the state changed: the end of the window whose evaluation changed it."""
        return self.window_end

    @property
    def kind(self) -> str:
        """``firing``, ``update`` or ``resolved``: what the timeline calls it."""
        return "update" if self.update and self.status == "firing" else self.status


def parse_change(record: Mapping[str, Any]) -> Change | None:
    """The state change in an ``alerts`` record; None when the record is not one."""
    try:
        evidence = record["evidence"]
        status = record.get("status", "firing")
        if status not in STATUS_ORDER:
            return None
        subjects = record.get("subjects") or ([record["subject"]] if record.get("subject") else [])
        return Change(
            dedup_key=str(record["dedup_key"]),
            category=str(record["category"]),
            severity=str(record.get("severity", "")),
            status=status,
            subjects=tuple(str(s) for s in subjects),
            statistic=str(evidence["statistic"]),
            value=float(evidence["value"]),
            threshold=float(evidence["threshold"]),
            window_start=parse_time(evidence["window_start"]),
            window_end=parse_time(evidence["window_end"]),
            summary=str(record.get("summary", "")),
            runbook_url=record.get("runbook_url") or None,
            update=bool(record.get("update", False)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def select_changes(
    records: Iterable[Mapping[str, Any]], model_id: str, lo: float, hi: float
) -> list[Change]:
    """The model's alert state changes whose evidence window overlaps ``[lo, hi)``, in
    timeline order: time (the window's end), then firing, update, resolved, then the
    dedup key and the window's start."""
    kept: dict[tuple[str, str, float, float], Change] = {}
    for record in records:
        if record.get("model_id") != model_id:
            continue
        change = parse_change(record)
        if change is None or not (change.window_start < hi and change.window_end > lo):
            continue
        # a state change delivered twice (a producer retry, a worker restart) counts once
        kept[(change.dedup_key, change.kind, change.window_start, change.window_end)] = change
    return sorted(
        kept.values(),
        key=lambda c: (c.time, KIND_ORDER[c.kind], c.dedup_key, c.window_start),
    )


@dataclass
class IncidentHistory:
    """One alert from its firing to its resolution (either may lie outside the range),
    as read back from the ``alerts`` topic; the live state machine that made it is
    ``streams.alerting.lifecycle.Incident``."""

    dedup_key: str
    category: str
    severity: str
    subjects: list[str]
    fired: Change | None = None
    resolved: Change | None = None
    updates: int = 0  # updates while open: subjects, corroboration or severity changed

    @property
    def start(self) -> float | None:
        return self.fired.time if self.fired else None

    @property
    def end(self) -> float | None:
        return self.resolved.time if self.resolved else None

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    def _add(self, subjects: Iterable[str]) -> None:
        self.subjects.extend(s for s in subjects if s not in self.subjects)


def pair_incidents(changes: Iterable[Change]) -> list[IncidentHistory]:
    """Firing and resolved changes of one dedup key paired into incidents, in the order
    they started (an incident resolved in the range but fired before it comes first)."""
    open_: dict[str, IncidentHistory] = {}
    incidents: list[IncidentHistory] = []
    for change in changes:
        incident = open_.get(change.dedup_key)
        if change.status == "firing":
            if incident is None:
                # an update with no open incident: its page came before the range
                fired = None if change.update else change
                incident = IncidentHistory(
                    change.dedup_key, change.category, change.severity, [], fired=fired
                )
                incident.updates = int(change.update)
                open_[change.dedup_key] = incident
                incidents.append(incident)
            else:
                incident.updates += 1
                incident.severity = change.severity
            incident._add(change.subjects)
        else:
            if incident is None:  # fired before the range
                incident = IncidentHistory(change.dedup_key, change.category, change.severity, [])
                incidents.append(incident)
            else:
                del open_[change.dedup_key]
            incident._add(change.subjects)
            incident.resolved = change
    return sorted(incidents, key=lambda i: i.start if i.start is not None else -math.inf)
