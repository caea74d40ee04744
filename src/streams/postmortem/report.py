"""The incident report of one model over a time range, built from the records of the
``results`` and ``alerts`` topics as plain dicts: no Kafka here, so every rule is a
pure function of lists of records.

- results: the latest revision of each window wins (a late event re-evaluates a
  window and publishes it again with ``revision + 1``);
- alerts: every state change of the model, ordered by its evidence window, then
  firing before resolved; a state change delivered twice counts once;
- a record is kept when its window overlaps ``[start - margin, end + margin)``.

Times are epoch seconds throughout; a state change happens at the end of the window
whose evaluation made it (``evidence.window_end``), and charts put each window's
value at its end too, so the shaded firing periods line up with the timeline.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.config.models import P_VALUE_METHODS

STATUS_ORDER = {"firing": 0, "resolved": 1}
#: Breaches (in ``results``) of these categories name the feature that breached.
BREACH_CATEGORIES = ("data_quality", "data_drift")
#: A p-value of 0 is drawn as this -log10 p.
MAX_NEG_LOG10_P = 16.0

TIME_HELP = "ISO 8601 (2026-01-01T00:10:00Z; without an offset: UTC) or epoch seconds"


def parse_time(text: str | float) -> float:
    """Epoch seconds of an ISO 8601 time (UTC when it has no offset) or of epoch seconds.

    >>> parse_time("2026-01-01T00:10:00Z"), parse_time("1767226200")
    (1767226200.0, 1767226200.0)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip()
        try:
            value = float(s)
        except ValueError:
            try:
                moment = datetime.fromisoformat(s)
            except ValueError:
                raise ValueError(f"invalid time {text!r}: use {TIME_HELP}") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    if not math.isfinite(value):
        raise ValueError(f"invalid time {text!r}: use {TIME_HELP}")
    return value


def iso(ts: float) -> str:
    """UTC ISO 8601 with a Z, to the second (or microsecond when it has a fraction)."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def format_duration(seconds: float) -> str:
    """``45s``, ``17m 00s``, ``1h 05m``, ``2d 03h``.

    >>> format_duration(1020), format_duration(3900), format_duration(45)
    ('17m 00s', '1h 05m', '45s')
    """
    s = round(seconds)
    sign, s = ("-", -s) if s < 0 else ("", s)
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m {s % 60:02d}s"
    if s < 86_400:
        return f"{sign}{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{sign}{s // 86_400}d {s % 86_400 // 3600:02d}h"


def finite(value: Any) -> float | None:
    """A finite float, or None (missing, null for NaN, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# -- alerts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One alert state change, as on the ``alerts`` topic."""

    dedup_key: str
    category: str
    severity: str
    status: str
    subjects: tuple[str, ...]
    statistic: str
    value: float
    threshold: float
    window_start: float
    window_end: float
    summary: str = ""
    runbook_url: str | None = None

    @property
    def time(self) -> float:
        """When the state changed: the end of the window whose evaluation changed it."""
        return self.window_end


def parse_change(record: Mapping[str, Any]) -> Change | None:
    """The state change in an ``alerts`` record; None when the record is not one."""
    try:
        evidence = record["evidence"]
        status = record.get("status", "firing")
        if status not in STATUS_ORDER:
            return None
        subjects = record.get("subjects") or ([record["subject"]] if record.get("subject") else [])
        return Change(
            dedup_key=str(record["dedup_key"]),
            category=str(record["category"]),
            severity=str(record.get("severity", "")),
            status=status,
            subjects=tuple(str(s) for s in subjects),
            statistic=str(evidence["statistic"]),
            value=float(evidence["value"]),
            threshold=float(evidence["threshold"]),
            window_start=parse_time(evidence["window_start"]),
            window_end=parse_time(evidence["window_end"]),
            summary=str(record.get("summary", "")),
            runbook_url=record.get("runbook_url") or None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def select_changes(
    records: Iterable[Mapping[str, Any]], model_id: str, lo: float, hi: float
) -> list[Change]:
    """The model's alert state changes whose evidence window overlaps ``[lo, hi)``, in
    timeline order: evidence window, then firing before resolved, then dedup key."""
    kept: dict[tuple[str, str, float], Change] = {}
    for record in records:
        if record.get("model_id") != model_id:
            continue
        change = parse_change(record)
        if change is None or not (change.window_start < hi and change.window_end > lo):
            continue
        # a state change delivered twice (a producer retry, a worker restart) counts once
        kept[(change.dedup_key, change.status, change.window_start)] = change
    return sorted(
        kept.values(),
        key=lambda c: (c.window_start, c.window_end, STATUS_ORDER[c.status], c.dedup_key),
    )


@dataclass
class Incident:
    """One alert from its firing to its resolution (either may lie outside the range)."""

    dedup_key: str
    category: str
    severity: str
    subjects: list[str]
    fired: Change | None = None
    resolved: Change | None = None
    updates: int = 0  # further firing changes while open: subjects added

    @property
    def start(self) -> float | None:
        return self.fired.time if self.fired else None

    @property
    def end(self) -> float | None:
        return self.resolved.time if self.resolved else None

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    def _add(self, subjects: Iterable[str]) -> None:
        self.subjects.extend(s for s in subjects if s not in self.subjects)


def pair_incidents(changes: Iterable[Change]) -> list[Incident]:
    """Firing and resolved changes of one dedup key paired into incidents, in the order
    they started (an incident resolved in the range but fired before it comes first)."""
    open_: dict[str, Incident] = {}
    incidents: list[Incident] = []
    for change in changes:
        incident = open_.get(change.dedup_key)
        if change.status == "firing":
            if incident is None:
                incident = Incident(
                    change.dedup_key, change.category, change.severity, [], fired=change
                )
                open_[change.dedup_key] = incident
                incidents.append(incident)
            else:
                incident.updates += 1
                incident.severity = change.severity
            incident._add(change.subjects)
        else:
            if incident is None:  # fired before the range
                incident = Incident(change.dedup_key, change.category, change.severity, [])
                incidents.append(incident)
            else:
                del open_[change.dedup_key]
            incident._add(change.subjects)
            incident.resolved = change
    return sorted(incidents, key=lambda i: i.start if i.start is not None else -math.inf)


# -- results --------------------------------------------------------------------------


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


def _breaches(window: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    breaches = window.get("breaches")
    return [b for b in breaches if isinstance(b, Mapping)] if isinstance(breaches, list) else []


def first_breach(incident: Incident, windows: list[dict[str, Any]]) -> dict[str, Any] | None:
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
            for b in _breaches(windows[i])
        ):
            break
        found = windows[i]
    return found


# -- charts ---------------------------------------------------------------------------


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


def _shade(incident: Incident) -> Shade:
    start = iso(incident.start) if incident.start is not None else "before the range"
    end = iso(incident.end) if incident.end is not None else "still firing"
    return Shade(incident.start, incident.end, f"{incident.category} firing {start} to {end}")


def _neg_log10(p: float | None) -> float | None:
    if p is None:
        return None
    return MAX_NEG_LOG10_P if p <= 0 else min(-math.log10(p), MAX_NEG_LOG10_P)


def _feature(window: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    features = window.get("features")
    stats = features.get(name) if isinstance(features, Mapping) else None
    return stats if isinstance(stats, Mapping) else {}


def quality_charts(
    feature: str, windows: list[dict[str, Any]], changes: list[Change], shades: tuple[Shade, ...]
) -> list[Chart]:
    """The rate behind each data-quality statistic of the feature (``zero_rate`` for
    ``zero_rate_delta``), with the limit it was held to: the reference's rate (the
    window's rate less the breach's delta) plus the allowed increase."""
    stats = list(
        dict.fromkeys(
            str(b.get("statistic"))
            for w in windows
            for b in _breaches(w)
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
    times = tuple(w["window_end"] for w in windows)
    charts = []
    for stat in stats:
        rate = stat.removesuffix("_delta")
        values = tuple(finite(_feature(w, feature).get(rate)) for w in windows)
        baselines, limits = [], []
        for value, window in zip(values, windows, strict=True):
            for b in _breaches(window):
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
        charts.append(
            Chart(
                title=f"{feature}: {rate}",
                label=f"{feature} {rate}",
                note=note,
                times=times,
                values=values,
                threshold=threshold,
                shades=shades,
                feature=feature,
            )
        )
    return charts


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


def build_charts(
    windows: list[dict[str, Any]],
    changes: list[Change],
    incidents: list[Incident],
    dataset_share: float | None = None,
) -> list[Chart]:
    """Per alerted feature the statistic that decided (data quality: the rate; any
    other category: the drift statistic), then the dataset's share of drifted features,
    the mean prediction score and the events per window."""
    times = tuple(w["window_end"] for w in windows)
    charts: list[Chart] = []
    for feature, categories in alerted_features(changes, windows).items():
        shades = tuple(_shade(i) for i in incidents if feature in i.subjects)
        if "data_quality" in categories:
            charts += quality_charts(feature, windows, changes, shades)
        if any(c != "data_quality" for c in categories):
            charts += drift_charts(feature, windows, shades)
    every = tuple(_shade(i) for i in incidents)

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
            shades=every,
        ),
        Chart(
            title="Mean prediction score",
            label="score mean",
            note="mean of the model's prediction scores in each window",
            times=times,
            values=tuple(finite(w.get("score_mean")) for w in windows),
            shades=every,
        ),
        Chart(
            title="Events per window",
            label="events",
            note="predictions counted in each window",
            times=times,
            values=tuple(finite(w.get("count")) for w in windows),
            shades=every,
        ),
    ]
    return charts


# -- the report -----------------------------------------------------------------------


@dataclass
class Report:
    model_id: str
    start: float
    end: float
    margin: float
    windows: list[dict[str, Any]]
    changes: list[Change]
    incidents: list[Incident]
    charts: list[Chart] = field(default_factory=list)

    @property
    def lo(self) -> float:
        return self.start - self.margin

    @property
    def hi(self) -> float:
        return self.end + self.margin

    @property
    def empty(self) -> bool:
        return not self.windows and not self.changes

    @property
    def fired(self) -> int:
        return sum(c.status == "firing" for c in self.changes)

    @property
    def resolved(self) -> int:
        return sum(c.status == "resolved" for c in self.changes)

    @property
    def first_firing(self) -> float | None:
        return min((c.time for c in self.changes if c.status == "firing"), default=None)

    @property
    def last_resolve(self) -> float | None:
        return max((c.time for c in self.changes if c.status == "resolved"), default=None)

    @property
    def still_firing(self) -> list[Incident]:
        return [i for i in self.incidents if i.resolved is None]

    @property
    def time_to_resolve(self) -> float | None:
        """First firing to last resolve, once every incident is resolved; None while one
        still fires, when one fired before the range, or when none fired."""
        if self.first_firing is None or self.last_resolve is None or self.still_firing:
            return None
        if any(i.fired is None for i in self.incidents):  # fired before the range
            return None
        return self.last_resolve - self.first_firing

    @property
    def window_s(self) -> float | None:
        sizes = [w["window_end"] - w["window_start"] for w in self.windows]
        return statistics.median(sizes) if sizes else None


def build_report(
    model_id: str,
    start: float,
    end: float,
    results: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    margin: float = 0.0,
    dataset_share: float | None = None,
) -> Report:
    """The report of ``model_id`` over ``[start, end)`` widened by ``margin`` each side,
    from the records of the ``results`` and ``alerts`` topics."""
    if end <= start:
        raise ValueError(f"the range ends ({iso(end)}) before it starts ({iso(start)})")
    if margin < 0:
        raise ValueError("the margin must not be negative")
    lo, hi = start - margin, end + margin
    windows = select_windows(results, model_id, lo, hi)
    changes = select_changes(alerts, model_id, lo, hi)
    incidents = pair_incidents(changes)
    report = Report(model_id, start, end, margin, windows, changes, incidents)
    report.charts = build_charts(windows, changes, incidents, dataset_share)
    return report
