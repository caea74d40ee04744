"""Line charts as inline SVG: no script, no external asset, no dependency.

A chart is a time axis (UTC), a value axis from the series' and threshold's range,
red bands for the firing periods, the threshold dashed and the series as a line
(with a dot per window when there are few). Every element that matters has a
``<title>``, which browsers show on hover.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from streams.postmortem.report import Chart, iso

WIDTH, HEIGHT = 760, 190
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 28
SERIES, THRESHOLD, FIRING, AXIS = "#1565c0", "#6d4c41", "#e53935", "#9e9e9e"
#: Up to this many windows, each gets a dot.
DOTS_UP_TO = 90


def number(value: float | None) -> str:
    """A short, readable number: integers as such, others to 3 significant digits."""
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


#: Time-axis steps in seconds: the first that gives at most six ticks is used.
TIME_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10_800,
    21_600,
    43_200,
    86_400,
    172_800,
    604_800,
)


def value_ticks(lo: float, hi: float, most: int = 4) -> list[float]:
    """Round values from at or below ``lo`` to at or above ``hi``: 1, 2, 2.5 or 5 times
    a power of ten apart, at most ``most`` intervals.

    >>> value_ticks(0, 1.05)
    [0.0, 0.5, 1.0, 1.5]
    """
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / most
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def time_ticks(t0: float, t1: float, most: int = 6) -> tuple[list[float], str]:
    """Round times within ``[t0, t1]`` at most ``most`` of them, and their strftime format."""
    span = t1 - t0
    step = next((s for s in TIME_STEPS if span / s <= most), None)
    if step is None:
        step = math.ceil(span / most / 86_400) * 86_400
    first = math.ceil(t0 / step) * step
    ticks = [first + k * step for k in range(int((t1 - first) // step) + 1)]
    if step >= 86_400:
        fmt = "%m-%d"
    elif span >= 2 * 86_400:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%H:%M" if step >= 60 else "%H:%M:%S"
    return ticks, fmt


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value: a gap (None) breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [r for r in runs if r]


def _polyline(run: list[tuple[float, float]], colour: str, extra: str = "") -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.6"{extra}/>'


def line_chart(chart: Chart, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The chart as one ``<svg>`` element."""
    title = _esc(chart.title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
    )
    times = chart.times
    if not times:
        return (
            f'{head}<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            f'font-size="12" fill="{AXIS}">no windows in the range</text></svg>'
        )
    t0, t1 = min(times), max(times)
    if t1 == t0:
        t0, t1 = t0 - 30, t1 + 30
    thresholds = chart.threshold or ()
    known = [v for v in (*chart.values, *thresholds) if v is not None]
    y_ticks = value_ticks(min([0.0, *known]), max(known, default=1.0))
    lo, hi = y_ticks[0], y_ticks[-1]
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * plot_h

    parts = [head]
    for shade in chart.shades:
        a = t0 if shade.start is None else max(shade.start, t0)
        b = t1 if shade.end is None else min(shade.end, t1)
        if b < a:
            continue
        left, right = x(a), max(x(b), x(a) + 2)
        parts.append(
            f'<rect x="{left:.1f}" y="{TOP}" width="{right - left:.1f}" height="{plot_h}" '
            f'fill="{FIRING}" fill-opacity="0.15"><title>{_esc(shade.label)}</title></rect>'
        )
    parts.append(
        f'<path d="M{LEFT},{TOP} V{TOP + plot_h} H{LEFT + plot_w}" fill="none" stroke="{AXIS}"/>'
    )
    for v in y_ticks:
        parts.append(
            f'<line x1="{LEFT - 4}" y1="{y(v):.1f}" x2="{LEFT + plot_w}" y2="{y(v):.1f}" '
            f'stroke="{AXIS}" stroke-opacity="0.3"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_esc(number(v))}</text>"
        )
    ticks, fmt = time_ticks(t0, t1)
    for t in ticks:
        px = x(t)
        anchor = "start" if px < LEFT + 20 else "end" if px > LEFT + plot_w - 20 else "middle"
        label = datetime.fromtimestamp(t, tz=UTC).strftime(fmt)
        parts.append(
            f'<line x1="{px:.1f}" y1="{TOP + plot_h}" x2="{px:.1f}" y2="{TOP + plot_h + 4}" '
            f'stroke="{AXIS}"/><text x="{px:.1f}" y="{height - 8}" text-anchor="{anchor}" '
            f'font-size="11">{_esc(label)}</text>'
        )
    if chart.threshold:
        for run in _segments([(x(t), v) for t, v in zip(times, chart.threshold, strict=True)]):
            line = [(px, y(v)) for px, v in run]
            if len(line) == 1:
                line = [(line[0][0] - 3, line[0][1]), (line[0][0] + 3, line[0][1])]
            parts.append(_polyline(line, THRESHOLD, ' stroke-dasharray="5 4"'))
    runs = _segments([(x(t), v) for t, v in zip(times, chart.values, strict=True)])
    for run in runs:
        parts.append(_polyline([(px, y(v)) for px, v in run], SERIES))
    dots = len(times) <= DOTS_UP_TO
    alone = {run[0][0] for run in runs if len(run) == 1}  # a point between gaps: no line
    for t, v in zip(times, chart.values, strict=True):
        if v is not None and (dots or x(t) in alone):
            parts.append(
                f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2" fill="{SERIES}">'
                f"<title>{_esc(iso(t))}: {_esc(number(v))}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
