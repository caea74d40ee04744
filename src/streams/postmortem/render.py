"""The two faces of a postmortem report: Markdown (sparklines in a code block, since
Markdown viewers strip inline SVG) and a self-contained HTML page (inline SVG charts,
no script, no external asset). Both show the same header, timeline, incidents, signals
and key windows."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from streams.postmortem.report import Chart, Report, first_breach, format_duration, iso
from streams.postmortem.svg import FIRING, SERIES, THRESHOLD, line_chart, number

SPARKS = "▁▂▃▄▅▆▇█"
#: A sparkline longer than this shows the maximum of each run of windows.
SPARK_WIDTH = 80


# -- what both formats show -----------------------------------------------------------


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
    rows.append(
        (
            "Alerts",
            f"{report.fired} fired, {report.resolved} resolved "
            f"({n} incident{'' if n == 1 else 's'})",
        )
    )
    breaches = [b for b in (first_breach(i, report.windows) for i in report.incidents) if b]
    if breaches:
        first = min(breaches, key=lambda w: w["window_start"])
        rows.append(
            ("First breach", f"window {window_label(first['window_start'], first['window_end'])}")
        )
    if report.first_firing is not None:
        firing = next(c for c in report.changes if c.status == "firing")
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


def runbook(url: str | None, base: str | None) -> str | None:
    """The runbook's address: relative paths joined to ``base`` when given; only web
    and relative addresses are linked."""
    if not url:
        return None
    if base and not urlsplit(url).scheme and not url.startswith("/"):
        url = base.rstrip("/") + "/" + url
    return url if urlsplit(url).scheme in ("", "http", "https") else None


def timeline_rows(report: Report, runbook_base: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "time": iso(c.time),
            "category": c.category,
            "severity": c.severity,
            "status": c.status,
            "subjects": ", ".join(c.subjects),
            "evidence": evidence_text(c.statistic, c.value, c.threshold),
            "window": window_label(c.window_start, c.window_end),
            "runbook": runbook(c.runbook_url, runbook_base),
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
    starts = {w["window_start"] for w in windows}
    for change in report.changes:
        if change.window_start in starts:
            add(change.window_start, f"{change.status} ({change.category})")
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


# -- Markdown -------------------------------------------------------------------------


def _buckets(n: int, width: int) -> list[range]:
    width = min(n, width)
    return [range(j * n // width, (j + 1) * n // width) for j in range(width)]


def sparkline(
    values: Sequence[float | None],
    lo: float | None = None,
    hi: float | None = None,
    width: int = SPARK_WIDTH,
) -> str:
    """One block character per window (per run of windows, their maximum, beyond
    ``width``); ``·`` where a window has no value.

    >>> sparkline([0, 0, 1, 1, None, 0])
    '▁▁██·▁'
    """
    known = [v for v in values if v is not None]
    lo = min(known, default=0.0) if lo is None else lo
    hi = max(known, default=0.0) if hi is None else hi
    out = []
    for bucket in _buckets(len(values), width):
        present = [values[i] for i in bucket if values[i] is not None]
        if not present:
            out.append("·")
            continue
        v = max(present)  # type: ignore[type-var]
        level = 0 if hi <= lo else round((v - lo) / (hi - lo) * (len(SPARKS) - 1))
        out.append(SPARKS[min(max(level, 0), len(SPARKS) - 1)])
    return "".join(out)


def firing_marks(chart: Chart, width: int = SPARK_WIDTH) -> str:
    """``━`` under each sparkline character whose windows were inside a firing period."""
    if not chart.times:
        return ""
    t0, t1 = chart.times[0], chart.times[-1]
    spans = [
        (t0 if s.start is None else s.start, t1 if s.end is None else s.end) for s in chart.shades
    ]
    marks = []
    for bucket in _buckets(len(chart.times), width):
        inside = any(a <= chart.times[i] <= b for i in bucket for a, b in spans)
        marks.append("━" if inside else " ")
    return "".join(marks).rstrip()


def _threshold_text(chart: Chart) -> str:
    limits = {v for v in chart.threshold or () if v is not None}
    if not limits:
        return ""
    if len(limits) == 1:
        return f", threshold {number(next(iter(limits)))}"
    return f", threshold {number(min(limits))} to {number(max(limits))}"


def spark_block(report: Report) -> str:
    """The charts as aligned sparklines, a firing row under each that fired."""
    charts = [c for c in report.charts if c.times]
    if not charts:
        return ""
    width = max(len(c.label) for c in charts) + 2
    first = charts[0]
    line = sparkline(first.values)
    t0, t1 = first.times[0], first.times[-1]
    fmt = "%H:%M:%S" if t1 - t0 < 86_400 else "%m-%d %H:%M"
    start, end = (datetime.fromtimestamp(t, tz=UTC).strftime(fmt) for t in (t0, t1))
    lines = []
    if len(line) >= len(start) + len(end) + 1:
        lines.append(" " * width + start + " " * (len(line) - len(start) - len(end)) + end)
    for chart in charts:
        known = [v for v in (*chart.values, *(chart.threshold or ())) if v is not None]
        spark = sparkline(chart.values, min(known, default=0.0), max(known, default=0.0))
        values = [v for v in chart.values if v is not None]
        summary = (
            f"min {number(min(values))}, max {number(max(values))}{_threshold_text(chart)}"
            if values
            else "no values"
        )
        lines.append(f"{chart.label:<{width}}{spark}  {summary}")
        marks = firing_marks(chart)
        if marks.strip():
            lines.append(f"{'  firing':<{width}}{marks}")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(c) for c in columns) + " |"]
    out.append("|" + "---|" * len(columns))
    out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return out


def render_markdown(
    report: Report, source: str | None = None, runbook_base: str | None = None
) -> str:
    out = [f"# Postmortem: {report.model_id}, {iso(report.start)} → {iso(report.end)}", ""]
    out += [f"- **{label}:** {value}" for label, value in summary_rows(report, source)]
    out += ["", "## Timeline", ""]
    if report.changes:
        rows = []
        for r in timeline_rows(report, runbook_base):
            name = r["runbook"].rstrip("/").rsplit("/", 1)[-1] if r["runbook"] else ""
            link = f"[{name}]({r['runbook']})" if r["runbook"] else "-"
            rows.append(
                [
                    r["time"],
                    r["category"],
                    r["severity"],
                    f"**{r['status']}**",
                    r["subjects"],
                    r["evidence"],
                    r["window"],
                    link,
                ]
            )
        columns = ["Time (UTC)", "Category", "Severity", "Status", "Subjects"]
        columns += ["Statistic = value (threshold)", "Evidence window", "Runbook"]
        out += _md_table(columns, rows)
    else:
        out.append("No alert of this model in the range.")
    if report.incidents:
        out += ["", "## Incidents", ""]
        out += _md_table(INCIDENT_COLUMNS, incident_rows(report))
    out += ["", "## Signals", ""]
    if report.windows:
        out.append(
            "One character per window, placed at the window's end (the maximum of several "
            "windows when there are many), scaled from the lowest to the highest value or "
            "threshold; `━` marks the windows while an alert that concerns the series was "
            "firing."
        )
        out += ["", "```text", spark_block(report), "```", ""]
        out += [f"- **{c.title}:** {c.note}" for c in report.charts]
        out += ["", "## Key windows", ""]
        out += _md_table(*key_window_table(report))
    else:
        out.append("No evaluated window of this model in the range.")
    return "\n".join(out) + "\n"


# -- HTML -----------------------------------------------------------------------------

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:64em;color:#212121}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #e0e0e0;padding:.25em .6em;text-align:left;vertical-align:top;"
    "font-size:.92em}th{background:#f5f5f5}"
    "table.summary th{width:11em}"
    ".firing{color:#c62828;font-weight:600}.resolved{color:#2e7d32;font-weight:600}"
    "figure{margin:0 0 1.2em}figcaption{font-size:.92em;margin-bottom:.2em}"
    "figcaption .note{color:#616161}"
    ".legend span{display:inline-block;width:1.6em;height:.7em;margin:0 .3em 0 1em}"
)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(
    columns: list[str], rows: list[list[str]], cls: str | None = None, raw: bool = False
) -> str:
    """A table; cells are escaped unless ``raw`` (then the caller escaped them)."""
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{v if raw else _esc(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report, source: str | None = None, runbook_base: str | None = None) -> str:
    title = f"Postmortem: {report.model_id}, {iso(report.start)} → {iso(report.end)}"
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        '<table class="summary"><tbody>',
        *(
            f"<tr><th>{_esc(label)}</th><td>{_esc(value)}</td></tr>"
            for label, value in summary_rows(report, source)
        ),
        "</tbody></table>",
        "<h2>Timeline</h2>",
    ]
    if report.changes:
        rows = []
        for r in timeline_rows(report, runbook_base):
            url = r["runbook"]
            link = f'<a href="{_esc(url)}">{_esc(url.rsplit("/", 1)[-1])}</a>' if url else "-"
            rows.append(
                [
                    _esc(r["time"]),
                    _esc(r["category"]),
                    _esc(r["severity"]),
                    f'<span class="{_esc(r["status"])}">{_esc(r["status"])}</span>',
                    _esc(r["subjects"]),
                    _esc(r["evidence"]),
                    _esc(r["window"]),
                    link,
                ]
            )
        columns = ["Time (UTC)", "Category", "Severity", "Status", "Subjects"]
        columns += ["Statistic = value (threshold)", "Evidence window", "Runbook"]
        parts.append(_html_table(columns, rows, raw=True))
    else:
        parts.append("<p>No alert of this model in the range.</p>")
    if report.incidents:
        parts += ["<h2>Incidents</h2>", _html_table(INCIDENT_COLUMNS, incident_rows(report))]
    parts.append("<h2>Signals</h2>")
    if report.windows:
        parts.append(
            '<p class="legend">per window, at its end:'
            f'<span style="background:{SERIES};height:.2em"></span>value'
            f'<span style="border-top:2px dashed {THRESHOLD};height:0"></span>threshold'
            f'<span style="background:{FIRING};opacity:.25"></span>alert firing</p>'
        )
        for chart in report.charts:
            parts.append(
                f"<figure><figcaption><b>{_esc(chart.title)}</b> "
                f'<span class="note">{_esc(chart.note)}</span></figcaption>'
                f"{line_chart(chart)}</figure>"
            )
        parts += ["<h2>Key windows</h2>", _html_table(*key_window_table(report))]
    else:
        parts.append("<p>No evaluated window of this model in the range.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
