"""The window side of a postmortem: the ``results`` records kept, and the first
breach behind an incident.

The latest revision of each window wins (a late event re-evaluates a window and
publishes it again with ``revision + 1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streams.postmortem.formats import finite
from streams.postmortem.timeline import IncidentHistory

#: Breaches (in ``results``) of these categories name the feature that breached.
BREACH_CATEGORIES = ("data_quality", "data_drift")


def select_windows(
    records: Iterable[Mapping[str, Any]], model_id: str, lo: float, hi: float
) -> list[dict[str, Any]]:
    """The latest revision of each of the model's windows that overlap ``[lo, hi)``,
    by window start; of two records with the same revision, the later one read."""
    latest: dict[float, dict[str, Any]] = {}
    for record in records:
        if record.get("model_id") != model_id or record.get("kind", "window") != "window":
            continue  # performance records share the topic (docs/performance.md)
        start, end = finite(record.get("window_start")), finite(record.get("window_end"))
        if start is None or end is None or not (start < hi and end > lo):
            continue
        previous = latest.get(start)
        if previous is None or record.get("revision", 0) >= previous.get("revision", 0):
            latest[start] = dict(record)
    return [latest[k] for k in sorted(latest)]


def breaches(window: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The window's breach records; none when the field is missing or malformed."""
    found = window.get("breaches")
    return [b for b in found if isinstance(b, Mapping)] if isinstance(found, list) else []


def first_breach(incident: IncidentHistory, windows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first window of the run of breaching windows that made the incident fire:
    walks back from the firing window while a window breaches for one of its subjects."""
    if incident.fired is None or incident.category not in BREACH_CATEGORIES:
        return None
    subjects = set(incident.subjects)
    fired = [i for i, w in enumerate(windows) if w["window_end"] <= incident.fired.time]
    found = None
    for i in reversed(fired):
        if not any(
            b.get("category") == incident.category and b.get("feature") in subjects
            for b in breaches(windows[i])
        ):
            break
        found = windows[i]
    return found
