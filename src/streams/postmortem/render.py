"""The two faces of a postmortem report: Markdown (sparklines in a code block, since
Markdown viewers strip inline SVG) and a self-contained HTML page (inline SVG charts,
no script, no external asset). Both show the same header, timeline, incidents, signals
and key windows (``tables.py``)."""

from __future__ import annotations

import html

from streams.postmortem.formats import iso
from streams.postmortem.report import Report
from streams.postmortem.sparklines import spark_block
from streams.postmortem.svg import FIRING, SERIES, THRESHOLD, line_chart
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
