"""The charts of both HTML reports (``streams drift`` and ``streams postmortem``), drawn
by Plotly with its JavaScript bundle embedded in the page.

Why Plotly and not matplotlib SVG: a reader of a drift or incident report wants the
number under the cursor (a bin's share and count, a window's value and time), zoom on
a stretch of hours and a legend that hides a series; Plotly gives all of that from a
figure description, where static SVG would need the hand-written tooltips these
charts replace. The ``plotly`` package is pure Python and ships the bundle, so the
page needs no network and no compiled dependency (matplotlib brings five). The cost:
about 4.8 MB of script per page, written once however many charts it holds.

>>> page = figure_html(bars("bins", [Bars("reference", [0.5, 0.5], [5, 5])], ["a", "b"]), "h1")
>>> '<div id="h1" class="plotly-graph-div"' in page and 'Plotly.newPlot' in page
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

REFERENCE, CURRENT = "#9e9e9e", "#ef6c00"
SERIES, THRESHOLD, FIRING = "#1565c0", "#6d4c41", "#e53935"
#: The mode bar without Plotly's logo and without tools that need a network.
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]}
#: No Plotly template (each would add 8 KB of JSON per chart): this style instead.
AXIS = {
    "automargin": True,
    "showline": True,
    "linecolor": "#9e9e9e",
    "gridcolor": "#eeeeee",
    "ticks": "outside",
}
LAYOUT = {
    "template": "none",
    "margin": {"l": 64, "r": 16, "t": 40, "b": 48},
    "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#212121"},
    "legend": {"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom"},
}


def plotly_script() -> str:
    """The Plotly bundle as one inline ``<script>``: put it in the page's head, once."""
    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def figure_html(figure: go.Figure, div_id: str) -> str:
    """One chart as a ``<div>`` and the call that draws it (needs :func:`plotly_script`)."""
    return pio.to_html(
        figure, include_plotlyjs=False, full_html=False, div_id=div_id, config=CONFIG
    )


@dataclass(frozen=True)
class Bars:
    """One side of a histogram: its share of values per bin and the counts behind them."""

    name: str
    shares: Sequence[float]
    counts: Sequence[float]
    colour: str = REFERENCE


def bars(x_title: str, sides: Sequence[Bars], labels: Sequence[str]) -> go.Figure:
    """Grouped bars of each side's share per bin or category, labelled on the x axis."""
    figure = go.Figure()
    for side in sides:
        figure.add_bar(
            name=side.name,
            x=list(labels),
            y=list(side.shares),
            customdata=list(side.counts),
            marker_color=side.colour,
            hovertemplate=f"%{{x}}<br>{side.name}: %{{y:.2%}} (%{{customdata:,}} values)"
            "<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        **LAYOUT,
        height=300,
        xaxis={**AXIS, "title": {"text": x_title}, "type": "category", "tickangle": -30},
        yaxis={**AXIS, "title": {"text": "share of values"}, "tickformat": ".0%"},
    )
    return figure


@dataclass(frozen=True)
class Band:
    """A shaded period on a time chart (epoch seconds), with what it was."""

    start: float
    end: float
    label: str


def utc(ts: float) -> str:
    """A time as Plotly's date axis reads it (it has no time zones: the axis says UTC)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def time_series(
    y_title: str,
    times: Sequence[float],
    values: Sequence[float | None],
    threshold: Sequence[float | None] | None = None,
    bands: Sequence[Band] = (),
) -> go.Figure:
    """A series over time (UTC), its threshold dashed, and the bands shaded."""
    x = [utc(t) for t in times]
    figure = go.Figure()
    figure.add_scatter(
        name="value",
        x=x,
        y=list(values),
        mode="lines+markers" if len(x) <= 90 else "lines",
        line={"color": SERIES, "width": 1.6},
        marker={"size": 4},
        hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC: %{y:.4g}<extra></extra>",
    )
    if threshold is not None:
        figure.add_scatter(
            name="threshold",
            x=x,
            y=list(threshold),
            mode="lines",
            line={"color": THRESHOLD, "dash": "dash", "width": 1.2},
            hovertemplate="threshold %{y:.4g}<extra></extra>",
        )
    for band in bands:  # a shape has no hover: the report lists the periods in words
        figure.add_vrect(
            x0=utc(band.start),
            x1=utc(band.end),
            fillcolor=FIRING,
            opacity=0.15,
            line_width=0,
            name=band.label,
        )
    figure.update_layout(
        **LAYOUT,
        height=240,
        showlegend=threshold is not None,
        xaxis={**AXIS, "title": {"text": "window end (UTC)"}, "type": "date"},
        yaxis={**AXIS, "title": {"text": y_title}, "rangemode": "tozero"},
    )
    return figure
