"""The two faces of a postmortem report: Markdown (sparklines in a code block, since
Markdown viewers strip scripts and inline SVG) and one HTML page that works offline
from the file (Plotly charts, ``streams.plots``, its bundle inline). Both show the
same header, timeline, incidents, signals and key windows (``tables.py``)."""

from __future__ import annotations

import html

from streams.plots import Band, figure_html, plotly_script, time_series
from streams.postmortem.charts import Chart
from streams.postmortem.formats import iso
from streams.postmortem.report import Report
from streams.postmortem.runbooks import runbook_name
from streams.postmortem.sparklines import spark_block
from streams.postmortem.tables import (
    INCIDENT_COLUMNS,
    incident_rows,
    key_window_table,
    summary_rows,
    timeline_rows,
)


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
            url, path = r["runbook"], r["runbook_path"]
            link = f"[{runbook_name(url)}]({url})" if url else f"`{path}`" if path else "-"
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


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:64em;color:#212121}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #e0e0e0;padding:.25em .6em;text-align:left;vertical-align:top;"
    "font-size:.92em}th{background:#f5f5f5}"
    "table.summary th{width:11em}"
    ".firing{color:#c62828;font-weight:600}.resolved{color:#2e7d32;font-weight:600}"
    ".update{color:#ef6c00;font-weight:600}"
    "figure{margin:0 0 1.2em}figcaption{font-size:.92em;margin-bottom:.2em}"
    ".note{color:#616161}"
    # wide tables wrap their headers (at the <wbr> after each _) and scroll, never the page
    ".wide{overflow-x:auto;max-width:100%}table.keys th{overflow-wrap:anywhere;min-width:4em}"
    "table.keys td{white-space:nowrap}table.keys td:nth-child(2){white-space:normal}"
)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _header(text: str) -> str:
    """A header that may wrap after each underscore of a long feature name."""
    return _esc(text).replace("_", "_<wbr>")


def _html_table(
    columns: list[str], rows: list[list[str]], cls: str | None = None, raw: bool = False
) -> str:
    """A table; cells are escaped unless ``raw`` (then the caller escaped them)."""
    head = "".join(f"<th>{_header(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{v if raw else _esc(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bands(chart: Chart) -> list[Band]:
    """The chart's firing periods, an open end at the chart's first or last window."""
    if not chart.times:
        return []
    first, last = chart.times[0], chart.times[-1]
    return [
        Band(first if s.start is None else s.start, last if s.end is None else s.end, s.label)
        for s in chart.shades
    ]


def _figure(index: int, chart: Chart) -> str:
    """One signal: its title, what it shows, its firing periods in words, the chart."""
    y_title = chart.label.removeprefix(f"{chart.feature} ") if chart.feature else chart.label
    figure = time_series(y_title, chart.times, chart.values, chart.threshold, _bands(chart))
    periods = "; ".join(s.label for s in chart.shades)
    shaded = f'<br><span class="note">shaded: {_esc(periods)}</span>' if periods else ""
    return (
        f'<figure class="signal"><figcaption><b>{_esc(chart.title)}</b> '
        f'<span class="note">{_esc(chart.note)}</span>{shaded}</figcaption>'
        f"{figure_html(figure, f'signal-{index}')}</figure>"
    )


def _runbook_cell(url: str | None, path: str | None) -> str:
    if url:
        return f'<a href="{_esc(url)}">{_esc(runbook_name(url))}</a>'
    return f'<span title="not found here: give --runbook-base">{_esc(path)}</span>' if path else "-"


def render_html(report: Report, source: str | None = None, runbook_base: str | None = None) -> str:
    title = f"Postmortem: {report.model_id}, {iso(report.start)} → {iso(report.end)}"
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title><style>{STYLE}</style>{plotly_script()}</head><body>",
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
            rows.append(
                [
                    _esc(r["time"]),
                    _esc(r["category"]),
                    _esc(r["severity"]),
                    f'<span class="{_esc(r["status"])}">{_esc(r["status"])}</span>',
                    _esc(r["subjects"]),
                    _esc(r["evidence"]),
                    _esc(r["window"]),
                    _runbook_cell(r["runbook"], r["runbook_path"]),
                ]
            )
        columns = ["Time (UTC)", "Category", "Severity", "Status", "Subjects"]
        columns += ["Statistic = value (threshold)", "Evidence window", "Runbook"]
        parts.append(_html_table(columns, rows, cls="timeline", raw=True))
    else:
        parts.append("<p>No alert of this model in the range.</p>")
    if report.incidents:
        parts += ["<h2>Incidents</h2>", _html_table(INCIDENT_COLUMNS, incident_rows(report))]
    parts.append("<h2>Signals</h2>")
    if report.windows:
        parts.append(
            '<p class="note">Each window\'s value at its end; the threshold dashed; shaded '
            "while an alert of the detector the chart draws was firing.</p>"
        )
        parts += [_figure(i, chart) for i, chart in enumerate(report.charts)]
        parts += [
            "<h2>Key windows</h2>",
            f'<div class="wide">{_html_table(*key_window_table(report), cls="keys")}</div>',
        ]
    else:
        parts.append("<p>No evaluated window of this model in the range.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
