"""The incident report of one model over a time range, built from the records of the
``results`` and ``alerts`` topics as plain dicts: no Kafka here, so every rule is a
pure function of lists of records.

- results: the latest revision of each window wins (``results.py``);
- alerts: every state change of the model, in timeline order, paired into incidents
  (``timeline.py``);
- a record is kept when its window overlaps ``[start - margin, end + margin)``;
- the charts are built by ``charts.py``.

Times are epoch seconds throughout (``formats.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.postmortem.charts import Chart, build_charts
from streams.postmortem.formats import iso
from streams.postmortem.results import select_windows
from streams.postmortem.timeline import Change, IncidentHistory, pair_incidents, select_changes


@dataclass
class Report:
    """Everything a postmortem shows of one model over ``[start, end)`` and its margin."""

    model_id: str
    start: float
    end: float
    margin: float
    windows: list[dict[str, Any]]
    changes: list[Change]
    incidents: list[IncidentHistory]
    charts: list[Chart] = field(default_factory=list)

    @property
    def lo(self) -> float:
        return self.start - self.margin

    @property
    def hi(self) -> float:
        return self.end + self.margin

    @property
    def empty(self) -> bool:
        return not self.windows and not self.changes

    @property
    def fired(self) -> int:
        """New pages: firing changes that are not updates of an open incident."""
        return sum(c.kind == "firing" for c in self.changes)

    @property
    def updates(self) -> int:
        return sum(c.kind == "update" for c in self.changes)

    @property
    def resolved(self) -> int:
        return sum(c.status == "resolved" for c in self.changes)

    @property
    def first_firing(self) -> float | None:
        return min((c.time for c in self.changes if c.kind == "firing"), default=None)

    @property
    def last_resolve(self) -> float | None:
        return max((c.time for c in self.changes if c.status == "resolved"), default=None)

    @property
    def still_firing(self) -> list[IncidentHistory]:
        return [i for i in self.incidents if i.resolved is None]

    @property
    def time_to_resolve(self) -> float | None:
        """First firing to last resolve, once every incident is resolved; None while one
        still fires, when one fired before the range, or when none fired."""
        if self.first_firing is None or self.last_resolve is None or self.still_firing:
            return None
        if any(i.fired is None for i in self.incidents):  # fired before the range
            return None
        return self.last_resolve - self.first_firing

    @property
    def window_s(self) -> float | None:
        sizes = [w["window_end"] - w["window_start"] for w in self.windows]
        return statistics.median(sizes) if sizes else None


def build_report(
    model_id: str,
    start: float,
    end: float,
    results: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    margin: float = 0.0,
    dataset_share: float | None = None,
) -> Report:
    """The report of ``model_id`` over ``[start, end)`` widened by ``margin`` each side,
    from the records of the ``results`` and ``alerts`` topics."""
    if end <= start:
        raise ValueError(f"the range ends ({iso(end)}) before it starts ({iso(start)})")
    if margin < 0:
        raise ValueError("the margin must not be negative")
    lo, hi = start - margin, end + margin
    windows = select_windows(results, model_id, lo, hi)
    changes = select_changes(alerts, model_id, lo, hi)
    incidents = pair_incidents(changes)
    report = Report(model_id, start, end, margin, windows, changes, incidents)
    report.charts = build_charts(windows, changes, incidents, dataset_share)
    return report
