"""The Markdown face's charts: one block character per window, in a code block
(Markdown viewers strip inline SVG), with a firing row under each series that fired."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from streams.postmortem.charts import Chart
from streams.postmortem.formats import number
from streams.postmortem.report import Report

SPARKS = "▁▂▃▄▅▆▇█"

#: A sparkline longer than this shows the maximum of each run of windows.
SPARK_WIDTH = 80


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
