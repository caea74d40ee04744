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
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.postmortem.charts import Chart
from streams.postmortem.formats import iso

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


@dataclass(frozen=True)
class _Frame:
    """The plot area of one chart: times ``t0..t1`` across, values ``lo..hi`` up."""

    t0: float
    t1: float
    lo: float
    hi: float
    width: int
    height: int

    @property
    def plot_w(self) -> int:
        return self.width - LEFT - RIGHT

    @property
    def plot_h(self) -> int:
        return self.height - TOP - BOTTOM

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / (self.t1 - self.t0) * self.plot_w

    def y(self, v: float) -> float:
        return TOP + (self.hi - v) / (self.hi - self.lo) * self.plot_h


def _shade_rects(chart: Chart, f: _Frame) -> list[str]:
    """A red band per firing period, clipped to the chart (at least 2 px wide)."""
    parts = []
    for shade in chart.shades:
        a = f.t0 if shade.start is None else max(shade.start, f.t0)
        b = f.t1 if shade.end is None else min(shade.end, f.t1)
        if b < a:
            continue
        left, right = f.x(a), max(f.x(b), f.x(a) + 2)
        parts.append(
            f'<rect x="{left:.1f}" y="{TOP}" width="{right - left:.1f}" height="{f.plot_h}" '
            f'fill="{FIRING}" fill-opacity="0.15"><title>{_esc(shade.label)}</title></rect>'
        )
    return parts


def _axes(f: _Frame, y_ticks: list[float]) -> list[str]:
    """Both axes, a grid line per value tick and a label per time tick (UTC)."""
    parts = [
        f'<path d="M{LEFT},{TOP} V{TOP + f.plot_h} H{LEFT + f.plot_w}" fill="none" '
        f'stroke="{AXIS}"/>'
    ]
    for v in y_ticks:
        parts.append(
            f'<line x1="{LEFT - 4}" y1="{f.y(v):.1f}" x2="{LEFT + f.plot_w}" y2="{f.y(v):.1f}" '
            f'stroke="{AXIS}" stroke-opacity="0.3"/>'
            f'<text x="{LEFT - 6}" y="{f.y(v) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_esc(number(v))}</text>"
        )
    ticks, fmt = time_ticks(f.t0, f.t1)
    bottom = TOP + f.plot_h
    for t in ticks:
        px = f.x(t)
        anchor = "start" if px < LEFT + 20 else "end" if px > LEFT + f.plot_w - 20 else "middle"
        label = datetime.fromtimestamp(t, tz=UTC).strftime(fmt)
        parts.append(
            f'<line x1="{px:.1f}" y1="{bottom}" x2="{px:.1f}" y2="{bottom + 4}" '
            f'stroke="{AXIS}"/><text x="{px:.1f}" y="{f.height - 8}" text-anchor="{anchor}" '
            f'font-size="11">{_esc(label)}</text>'
        )
    return parts


def _threshold_lines(chart: Chart, f: _Frame) -> list[str]:
    """The threshold dashed; a lone known value gets a short stroke of its own."""
    parts = []
    points = [(f.x(t), v) for t, v in zip(chart.times, chart.threshold or (), strict=True)]
    for run in _segments(points):
        line = [(px, f.y(v)) for px, v in run]
        if len(line) == 1:
            line = [(line[0][0] - 3, line[0][1]), (line[0][0] + 3, line[0][1])]
        parts.append(_polyline(line, THRESHOLD, ' stroke-dasharray="5 4"'))
    return parts


def _series(chart: Chart, f: _Frame) -> list[str]:
    """The values as a line broken at gaps, with a dot per window when there are few
    (and always for a value alone between gaps, which has no line)."""
    runs = _segments([(f.x(t), v) for t, v in zip(chart.times, chart.values, strict=True)])
    parts = [_polyline([(px, f.y(v)) for px, v in run], SERIES) for run in runs]
    dots = len(chart.times) <= DOTS_UP_TO
    alone = {run[0][0] for run in runs if len(run) == 1}
    for t, v in zip(chart.times, chart.values, strict=True):
        if v is not None and (dots or f.x(t) in alone):
            parts.append(
                f'<circle cx="{f.x(t):.1f}" cy="{f.y(v):.1f}" r="2" fill="{SERIES}">'
                f"<title>{_esc(iso(t))}: {_esc(number(v))}</title></circle>"
            )
    return parts


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
    known = [v for v in (*chart.values, *(chart.threshold or ())) if v is not None]
    y_ticks = value_ticks(min([0.0, *known]), max(known, default=1.0))
    frame = _Frame(t0, t1, y_ticks[0], y_ticks[-1], width, height)
    parts = [head, *_shade_rects(chart, frame), *_axes(frame, y_ticks)]
    if chart.threshold:
        parts += _threshold_lines(chart, frame)
    parts += _series(chart, frame)
    parts.append("</svg>")
    return "".join(parts)
