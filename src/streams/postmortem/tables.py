"""What both faces of a postmortem show, as plain text: the header, the timeline,
the incidents and the key windows. ``render`` lays them out as Markdown or HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.postmortem.formats import format_duration, iso, number
from streams.postmortem.report import Report
from streams.postmortem.results import first_breach
from streams.postmortem.runbooks import runbook_link


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M:%S")


def window_label(start: float, end: float) -> str:
    """``2026-01-01T00:15:00Z → 00:16:00`` (the end in full when on another day)."""
    same_day = int(start // 86_400) == int((end - 1e-9) // 86_400)
    return f"{iso(start)} → {_clock(end) if same_day else iso(end)}"


def resolve_text(report: Report) -> str:
    if not report.changes:
        return "no alert in the range"
    if any(i.fired is None for i in report.incidents):
        return "unknown: an alert resolved in the range fired before it (widen --margin)"
    if report.still_firing:
        keys = ", ".join(i.dedup_key for i in report.still_firing)
        return f"not resolved: still firing at the end of the range ({keys})"
    ttr = report.time_to_resolve
    return "-" if ttr is None else f"{format_duration(ttr)} (first firing to last resolve)"


def summary_rows(report: Report, source: str | None = None) -> list[tuple[str, str]]:
    """The header: label and plain-text value."""
    span = format_duration(report.end - report.start)
    rows = [
        ("Model", report.model_id),
        ("Time range (UTC)", f"{iso(report.start)} → {iso(report.end)} ({span})"),
        (
            "Records kept",
            f"windows and alerts overlapping {iso(report.lo)} → {iso(report.hi)} "
            f"(margin {format_duration(report.margin)})",
        ),
    ]
    if report.windows:
        size = report.window_s
        rows.append(
            (
                "Windows",
                f"{len(report.windows)} windows of {format_duration(size or 0)}, "
                f"{iso(report.windows[0]['window_start'])} → "
                f"{iso(report.windows[-1]['window_end'])}",
            )
        )
    else:
        rows.append(("Windows", "0 (no result in the range)"))
    n = len(report.incidents)
    updates = f"{report.updates} update{'' if report.updates == 1 else 's'}, "
    rows.append(
        (
            "Alerts",
            f"{report.fired} fired, {updates if report.updates else ''}{report.resolved} "
            f"resolved ({n} incident{'' if n == 1 else 's'})",
        )
    )
    breaches = [b for b in (first_breach(i, report.windows) for i in report.incidents) if b]
    if breaches:
        first = min(breaches, key=lambda w: w["window_start"])
        rows.append(
            ("First breach", f"window {window_label(first['window_start'], first['window_end'])}")
        )
    if report.first_firing is not None:
        firing = next(c for c in report.changes if c.kind == "firing")
        rows.append(
            (
                "First firing",
                f"{iso(report.first_firing)} ({firing.category}: {', '.join(firing.subjects)})",
            )
        )
    else:
        rows.append(("First firing", "-"))
    rows.append(
        ("Last resolve", iso(report.last_resolve) if report.last_resolve is not None else "-")
    )
    rows.append(("Time to resolve", resolve_text(report)))
    if source:
        rows.append(("Source", source))
    return rows


def evidence_text(statistic: str, value: float, threshold: float) -> str:
    if statistic == "clear_windows":
        return "clear"
    return f"{statistic} = {number(value)} ({number(threshold)})"


def timeline_rows(report: Report, runbook_base: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "time": iso(c.time),
            "category": c.category,
            "severity": c.severity,
            "status": c.kind,
            "subjects": ", ".join(c.subjects),
            "evidence": evidence_text(c.statistic, c.value, c.threshold),
            "window": window_label(c.window_start, c.window_end),
            "runbook": runbook_link(c.runbook_url, runbook_base),
            "runbook_path": c.runbook_url,
        }
        for c in report.changes
    ]


def incident_rows(report: Report) -> list[list[str]]:
    rows = []
    for i in report.incidents:
        start = iso(i.start) if i.start is not None else "before the range"
        end = iso(i.end) if i.end is not None else "still firing"
        open_for = format_duration(i.duration) if i.duration is not None else "-"
        rows.append([i.dedup_key, i.severity, ", ".join(i.subjects), start, end, open_for])
    return rows


INCIDENT_COLUMNS = ["Incident", "Severity", "Subjects", "Fired", "Resolved", "Open for"]


def key_windows(report: Report) -> list[tuple[dict[str, Any], list[str]]]:
    """The windows worth a row: the first and last, each incident's first breach and
    each state change, with why."""
    windows = report.windows
    if not windows:
        return []
    reasons: dict[float, list[str]] = {}

    def add(start: float, reason: str) -> None:
        if reason not in reasons.setdefault(start, []):
            reasons[start].append(reason)

    add(windows[0]["window_start"], "first window")
    for incident in report.incidents:
        breach = first_breach(incident, windows)
        if breach is not None:
            add(breach["window_start"], f"first breach ({incident.category})")
    # a change belongs to the window that made it, not to one of another size that
    # merely starts at the same time
    spans = {(w["window_start"], w["window_end"]) for w in windows}
    for change in report.changes:
        if (change.window_start, change.window_end) in spans:
            add(change.window_start, f"{change.kind} ({change.category})")
    add(windows[-1]["window_start"], "last window")
    by_start = {w["window_start"]: w for w in windows}
    return [(by_start[s], reasons[s]) for s in sorted(reasons)]


def key_window_table(report: Report) -> tuple[list[str], list[list[str]]]:
    feature_charts = [c for c in report.charts if c.feature]
    general = {c.label: c for c in report.charts if not c.feature}
    columns = ["Window (UTC)", "Why", "Events", "Score mean", "Share drifted"]
    columns += [c.label for c in feature_charts]
    index = {w["window_start"]: i for i, w in enumerate(report.windows)}
    rows = []
    for window, why in key_windows(report):
        i = index[window["window_start"]]
        row = [
            window_label(window["window_start"], window["window_end"]),
            "; ".join(why),
            number(general["events"].values[i]) if "events" in general else "-",
            number(general["score mean"].values[i]) if "score mean" in general else "-",
            number(general["share drifted"].values[i]) if "share drifted" in general else "-",
        ]
        row += [number(c.values[i]) for c in feature_charts]
        rows.append(row)
    return columns, rows
