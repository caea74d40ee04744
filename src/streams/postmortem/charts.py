"""The signals of a postmortem: per alerted feature the statistic that decided, then
the dataset's share of drifted features, the mean score and the events per window.

Each window's value sits at its end, where the state change it made happens, so the
shaded firing periods line up with the timeline. A chart is shaded only by the alerts
of the detector it draws (``SHADED_BY``): a feature's zero rate by its data-quality
incidents, its drift statistic by its data-drift incidents, the score by prediction
drift; per-window tests and online detectors of one category share its incident.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.config.models import P_VALUE_METHODS
from streams.postmortem.formats import finite, iso
from streams.postmortem.results import breaches
from streams.postmortem.timeline import Change, IncidentHistory

#: A p-value of 0 is drawn as this -log10 p.
MAX_NEG_LOG10_P = 16.0

#: The alert categories whose firing periods shade each kind of chart.
SHADED_BY = {
    "quality": ("data_quality",),
    "drift": ("data_drift",),
    "share drifted": ("data_drift",),
    "score mean": ("prediction_drift",),
    "events": (),
}


@dataclass(frozen=True, slots=True)
class Shade:
    """A firing period on a chart; None: before (after) the chart's first (last) window."""

    start: float | None
    end: float | None
    label: str


@dataclass(frozen=True)
class Chart:
    """One series over the windows (at their ends), its threshold and firing periods."""

    title: str
    label: str  # short: a sparkline's and a table column's name
    note: str
    times: tuple[float, ...]
    values: tuple[float | None, ...]
    threshold: tuple[float | None, ...] | None = None
    shades: tuple[Shade, ...] = ()
    feature: str | None = None


def _shade(incident: IncidentHistory) -> Shade:
    start = iso(incident.start) if incident.start is not None else "before the range"
    end = iso(incident.end) if incident.end is not None else "still firing"
    return Shade(incident.start, incident.end, f"{incident.category} firing {start} to {end}")


def shades(
    incidents: list[IncidentHistory], chart: str, feature: str | None = None
) -> tuple[Shade, ...]:
    """The firing periods of the incidents that shade a ``chart`` kind (``SHADED_BY``),
    of those naming ``feature`` when given."""
    categories = SHADED_BY[chart]
    return tuple(
        _shade(i)
        for i in incidents
        if i.category in categories and (feature is None or feature in i.subjects)
    )


def _neg_log10(p: float | None) -> float | None:
    if p is None:
        return None
    return MAX_NEG_LOG10_P if p <= 0 else min(-math.log10(p), MAX_NEG_LOG10_P)


def _feature(window: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    features = window.get("features")
    stats = features.get(name) if isinstance(features, Mapping) else None
    return stats if isinstance(stats, Mapping) else {}


def _quality_statistics(
    feature: str, windows: list[dict[str, Any]], changes: list[Change]
) -> list[str]:
    """The data-quality statistics to chart for the feature: those it breached, else the
    one its alert names, else the zero rate's (or missing rate's) delta."""
    stats = list(
        dict.fromkeys(
            str(b.get("statistic"))
            for w in windows
            for b in breaches(w)
            if b.get("feature") == feature and b.get("category") == "data_quality"
        )
    )
    if not stats:
        stats = [
            c.statistic
            for c in changes
            if c.category == "data_quality"
            and feature in c.subjects
            and c.statistic.endswith("_rate_delta")
        ][:1]
    if not stats:
        has_zeros = any("zero_rate" in _feature(w, feature) for w in windows)
        stats = ["zero_rate_delta" if has_zeros else "missing_rate_delta"]
    return stats


def _quality_chart(
    feature: str, stat: str, windows: list[dict[str, Any]], shades: tuple[Shade, ...]
) -> Chart:
    """The rate behind ``stat`` per window, and the limit it was held to when it breached."""
    rate = stat.removesuffix("_delta")
    values = tuple(finite(_feature(w, feature).get(rate)) for w in windows)
    baselines, limits = [], []
    for value, window in zip(values, windows, strict=True):
        for b in breaches(window):
            if value is None or b.get("feature") != feature or b.get("statistic") != stat:
                continue
            delta, limit = finite(b.get("value")), finite(b.get("threshold"))
            if delta is not None and limit is not None:
                baselines.append(value - delta)
                limits.append(limit)
    threshold = None
    if baselines:
        baseline = statistics.median(baselines)
        limit = limits[-1]
        threshold = tuple(baseline + limit for _ in windows)
        note = (
            f"{rate} per window; alert statistic {stat}: the rate above the reference's "
            f"{baseline:.3g} by more than {limit:.3g} (dashed line)"
        )
    else:
        note = f"{rate} per window (alert statistic {stat}: its increase over the reference)"
    return Chart(
        title=f"{feature}: {rate}",
        label=f"{feature} {rate}",
        note=note,
        times=tuple(w["window_end"] for w in windows),
        values=values,
        threshold=threshold,
        shades=shades,
        feature=feature,
    )


def quality_charts(
    feature: str, windows: list[dict[str, Any]], changes: list[Change], shades: tuple[Shade, ...]
) -> list[Chart]:
    """The rate behind each data-quality statistic of the feature (``zero_rate`` for
    ``zero_rate_delta``), with the limit it was held to: the reference's rate (the
    window's rate less the breach's delta) plus the allowed increase."""
    return [
        _quality_chart(feature, stat, windows, shades)
        for stat in _quality_statistics(feature, windows, changes)
    ]


def drift_charts(
    feature: str, windows: list[dict[str, Any]], shades: tuple[Shade, ...]
) -> list[Chart]:
    """The statistic that decided the feature's drift and its threshold, per window;
    one chart per method (a window's size picks it). P-values are drawn as -log10 p, so
    that drift is above the threshold for every method."""
    n = len(windows)
    by_method: dict[str, tuple[list[float | None], list[float | None]]] = {}
    for i, window in enumerate(windows):
        drift = window.get("drift")
        decided = drift.get(feature) if isinstance(drift, Mapping) else None
        if not isinstance(decided, Mapping):
            continue
        method = str(decided.get("method") or "drift")
        values, limits = by_method.setdefault(method, ([None] * n, [None] * n))
        value, limit = finite(decided.get("value")), finite(decided.get("threshold"))
        if method in P_VALUE_METHODS:
            value, limit = _neg_log10(value), _neg_log10(limit)
        values[i], limits[i] = value, limit
    times = tuple(w["window_end"] for w in windows)
    charts = []
    for method, (values, limits) in by_method.items():
        p_value = method in P_VALUE_METHODS
        shown = f"-log10 p ({method})" if p_value else method
        charts.append(
            Chart(
                title=f"{feature}: drift, {shown}",
                label=f"{feature} {'-log10 p ' + method if p_value else method}",
                note=f"{shown} per window: drift above the threshold (dashed line)"
                + (", p-values after the multiple-testing correction" if p_value else ""),
                times=times,
                values=tuple(values),
                threshold=tuple(limits) if any(v is not None for v in limits) else None,
                shades=shades,
                feature=feature,
            )
        )
    return charts


def feature_names(windows: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for window in windows:
        for key in ("features", "drift"):
            part = window.get(key)
            if isinstance(part, Mapping):
                names.update(part)
    return names


def alerted_features(changes: list[Change], windows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each feature named by an alert, in order of first mention, with the categories
    of the alerts that named it."""
    names = feature_names(windows)
    out: dict[str, list[str]] = {}
    for change in changes:
        for subject in change.subjects:
            if subject in names:
                categories = out.setdefault(subject, [])
                if change.category not in categories:
                    categories.append(change.category)
    return out


#: The plain per-window series every report ends with: title, label (a ``SHADED_BY``
#: key), note, record field.
WINDOW_SERIES = (
    (
        "Mean prediction score",
        "score mean",
        "mean of the model's prediction scores in each window",
        "score_mean",
    ),
    ("Events per window", "events", "predictions counted in each window", "count"),
)


def build_charts(
    windows: list[dict[str, Any]],
    changes: list[Change],
    incidents: list[IncidentHistory],
    dataset_share: float | None = None,
) -> list[Chart]:
    """Per alerted feature the statistic that decided (data quality: the rate; any
    other category: the drift statistic), then the dataset's share of drifted features,
    the mean prediction score and the events per window."""
    times = tuple(w["window_end"] for w in windows)
    charts: list[Chart] = []
    for feature, categories in alerted_features(changes, windows).items():
        if "data_quality" in categories:
            quality = shades(incidents, "quality", feature)
            charts += quality_charts(feature, windows, changes, quality)
        if any(c != "data_quality" for c in categories):
            charts += drift_charts(feature, windows, shades(incidents, "drift", feature))

    def dataset(w: Mapping[str, Any]) -> float | None:
        part = w.get("dataset")
        return finite(part.get("share_drifted")) if isinstance(part, Mapping) else None

    share_note = "share of the model's features that drifted in each window"
    if dataset_share is not None:
        share_note += f"; the dataset drifts from {dataset_share:.3g} (dashed line)"
    charts += [
        Chart(
            title="Dataset: share of features drifted",
            label="share drifted",
            note=share_note,
            times=times,
            values=tuple(dataset(w) for w in windows),
            threshold=tuple(dataset_share for _ in windows) if dataset_share is not None else None,
            shades=shades(incidents, "share drifted"),
        ),
    ]
    charts += [
        Chart(
            title,
            label,
            note,
            times,
            tuple(finite(w.get(key)) for w in windows),
            shades=shades(incidents, label),
        )
        for title, label, note, key in WINDOW_SERIES
    ]
    return charts
