"""What one evaluation decides, as plain functions over plain state: no Kafka, no Faust.

The worker's agents (streams/worker/) read messages, call these functions and send
what they return; every decision is here, so a unit test can construct a
``ModelState``, call a function and check the record and the alerts it gets.

- ``evaluate_window``: a merged feature window (first evaluation or revision) against
  its reference: the result record, the incident steps and their alerts, the table
  writes the seasonal reference implies.
- ``evaluate_performance_windows``: the performance windows labels reached: one
  record each, and the cohorts' (and orphan labels') incident alerts.
- ``telemetry_alerts`` and ``silent_node_alerts``: node conditions that just started.
- ``apply_silences``: the active silence recorded on each alert it covers.

Time comes in as an argument (``now``), so every function is deterministic. The
functions advance the state they are given (incidents, flags, detectors, latency
history) exactly as the worker saves it afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.alerting.clock_skew import clock_skew_signal
from streams.alerting.infra import NodeState, newly_silent, observe
from streams.alerting.lifecycle import Decided, Incident, Signal, step
from streams.alerting.rootcause import ROOT, Split, corroborate, hidden_findings, split
from streams.alerting.signals import (
    correlate,
    feature_signals,
    infra_alert,
    online_signals,
    slo_signals,
    transition_alert,
    window_decided,
)
from streams.alerting.silences import active_silence
from streams.alerting.slo import breached, latency_summary
from streams.config.models import AlertingConfig, InfraConfig, ModelConfig
from streams.drift.engine import Sketch, compare
from streams.events.models import AlertCategory, AlertEvent, TelemetryEvent
from streams.labels.performance_windows import MIN_RECENT_LABELS, ORPHAN_SUBJECT, orphan_signals
from streams.labels.performance_windows import evaluate as evaluate_performance
from streams.labels.proxy import proxy_metrics, score_baseline
from streams.sketches import NumericSketch
from streams.windows.aggregate import WindowAggregate
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.report import (
    WindowReport,
    evaluate_features,
    result_record,
    window_summaries,
)
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState, Ready


@dataclass(frozen=True, slots=True)
class WindowDecision:
    """One window evaluation: its record on ``results``, the alerts to deliver before
    it, the report (for the metrics), the table writes it implies (None: delete) and
    the categories whose incident flapped (fired again soon after its resolve)."""

    record: dict[str, Any]
    alerts: list[AlertEvent]
    report: WindowReport
    writes: dict[str, bytes | None]
    flaps: list[AlertCategory] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PerformanceDecision:
    """One step of a performance evaluation: alerts to deliver, then its record (None
    when only orphan labels spoke and no window was re-evaluated), and the categories
    whose incident flapped."""

    alerts: list[AlertEvent]
    record: dict[str, Any] | None
    flaps: list[AlertCategory] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stepped:
    """The alerts of one lifecycle step, and the categories that flapped in it."""

    alerts: list[AlertEvent]
    flaps: list[AlertCategory]


_DRIFT = (AlertCategory.data_drift, AlertCategory.prediction_drift)


def fire_after(alerting: AlertingConfig) -> dict[AlertCategory, int]:
    """Breaching windows in a row before a subject counts, by category."""
    return {
        c: alerting.drift_fire_after_windows if c in _DRIFT else alerting.fire_after_windows
        for c in AlertCategory
    }


def step_alerts(
    config: ModelConfig,
    incidents: dict[str, Incident],
    signals: Split,
    window: tuple[int, int],
    decided: Decided,
    roots: dict[str, Incident],
) -> Stepped:
    """Step a model's incidents by one window (start, end) with the signals of their
    own, fold what the root cause explains into its incident (in ``roots``): the
    transitions as alerts."""
    alerting = config.alerting
    transitions = step(
        incidents,
        signals.own,
        window[0],
        fire_after(alerting),
        alerting.resolve_after_windows,
        decided=decided,
    )
    transitions = corroborate(roots.get(ROOT.value), transitions, signals)
    alerts = [transition_alert(config.id, t, *window) for t in transitions]
    return Stepped(alerts, [t.category for t in transitions if t.flap])


def evaluate_window(
    spec: ModelSpec, state: ModelState, ready: Ready, chooser: ReferenceChooser, now: float
) -> WindowDecision:
    """Evaluate one ready window; a revision (``ready.revision > 0``) updates its record
    only: the lifecycle, detectors and seasonal slots saw the first evaluation."""
    config, window = spec.config, ready.aggregate
    start, end = window.window_start, window.window_start + config.window_s
    earlier = {s: a for s, (_, a) in state.evaluated.items() if s < start}
    reference, reference_kind = chooser.choose(start, {s: a.features for s, a in earlier.items()})
    report = evaluate_features(
        window.features,
        reference,
        config,
        window.count,
        baseline=spec.reference.features,
        exact=window.quality_sketches(),
    )
    baseline = score_baseline(_clear_windows(state, earlier, config))
    proxy = proxy_metrics(window, baseline)
    if any(f.breaches for f in report.features):
        state.flagged.add(start)
    else:
        state.flagged.discard(start)
    state.record_latency(window, config.window_s)
    latency = latency_summary(window, state.latency_history, end, config.latency_slo)
    stepped = Stepped([], [])
    writes: dict[str, bytes | None] = {}
    if ready.revision == 0:
        writes = chooser.observe(start, window.features)
        _count_predictions(state, window, config)
        signals = _window_signals(
            config, state, window, report, reference, proxy, baseline, chooser
        )
        correlation = config.alerting.correlation
        signals_of = split(
            signals,
            state.incidents.get(ROOT.value),
            correlation.root_cause,
            hidden_findings(report.features, proxy, correlation),
        )
        decided = window_decided(window.count, config.thresholds, window.skew_refused)
        stepped = step_alerts(
            config, state.incidents, signals_of, (start, end), decided, state.incidents
        )
    record = result_record(
        window,
        config,
        ready.revision,
        report,
        now,
        latency,
        reference=reference_kind,
        proxy=proxy,
        reference_source=spec.reference.source,
    )
    return WindowDecision(record, stepped.alerts, report, writes, stepped.flaps)


def _clear_windows(
    state: ModelState, earlier: Mapping[int, WindowAggregate], config: ModelConfig
) -> list[WindowAggregate]:
    """The latest earlier windows without findings: the proxy metrics' score baseline,
    so an incident's windows never become the normal its recovery is compared with."""
    clear = [s for s in sorted(earlier) if s not in state.flagged]
    return [earlier[s] for s in clear[-config.alerting.correlation.baseline_windows :]]


def _count_predictions(state: ModelState, window: WindowAggregate, config: ModelConfig) -> None:
    """The window's predictions and scores join its performance window (label coverage,
    the label-free estimate); windows past the label horizon are forgotten."""
    perf_window = config.performance.window_s
    perf_start = window.window_start // perf_window * perf_window
    state.perf.add_predictions(perf_start, window.count, window.scores)
    state.perf.prune(window.window_start, config.performance)


def _window_signals(
    config: ModelConfig,
    state: ModelState,
    window: WindowAggregate,
    report: WindowReport,
    reference: Mapping[str, Sketch],
    proxy: Mapping[str, float],
    baseline: NumericSketch | None,
    chooser: ReferenceChooser,
) -> list[Signal]:
    """The window's findings as lifecycle signals: feature breaches, what the online
    detectors found alone, severities by corroboration, a producer's clock (its share
    of events refused for their time), then the latency SLO's burns.
    A window under ``min_window_events`` raises none of its own (its score shift
    included) and feeds no detector: the detectors are calibrated to windows of at
    least that size, and one event must not move them."""
    signals: list[Signal] = []
    if window.count >= config.thresholds.min_window_events:
        signals = _sized_window_signals(config, state, window, report, reference, baseline)
        signals = correlate(
            signals,
            proxy,
            config.alerting.correlation,
            seasonal_matches(chooser, window, report, config),
        )
    skewed = clock_skew_signal(window.skew_refused, window.count, config.thresholds)
    signals += [skewed] if skewed is not None else []
    if config.latency_slo:
        end = window.window_start + config.window_s
        signals += slo_signals(breached(state.latency_history, end, config.latency_slo))
    return signals


def _sized_window_signals(
    config: ModelConfig,
    state: ModelState,
    window: WindowAggregate,
    report: WindowReport,
    reference: Mapping[str, Sketch],
    baseline: NumericSketch | None,
) -> list[Signal]:
    """Feature breaches and what the online detectors found alone."""
    signals = feature_signals(report.features)
    if config.drift.online.enabled:
        summaries = window_summaries(report, window, reference, baseline)
        seen = {(s.category, s.subject) for s in signals}
        online = online_signals(state.feed_online(window.window_start, summaries))
        # a subject's own test leads; a detector only adds subjects it found alone
        signals += [s for s in online if (s.category, s.subject) not in seen]
    return signals


def seasonal_matches(
    chooser: ReferenceChooser, window: WindowAggregate, report: WindowReport, config: ModelConfig
) -> set[str]:
    """Drifted features that the same hour of last week shows too (when kept): drift
    the season explains."""
    drifted = [f.name for f in report.features if f.drift and f.drift.drifted]
    if not (chooser.keep_seasons and chooser.mode.kind != "seasonal" and drifted):
        return set()
    slot = chooser.last_week(window.window_start)
    names = [n for n in drifted if n in slot]
    if not names:
        return set()
    again = compare(
        {n: slot[n] for n in names}, {n: window.features[n] for n in names}, config.drift
    )
    return {f.name for f in again.features if not f.drifted}


def _performance_pending(spec: ModelSpec, state: ModelState) -> bool:
    """Whether labels gave the performance side anything to evaluate or announce."""
    performance = spec.config.performance
    return performance.enabled and bool(state.perf.dirty or orphan_signals(state.perf, performance))


def evaluate_performance_windows(
    spec: ModelSpec, state: ModelState, now: float
) -> list[PerformanceDecision]:
    """Re-evaluate every performance window labels reached (each with its next revision),
    in order; the orphan-label signal joins each step, or stands alone when no window
    changed (a step that decides no cohort). Empty when performance is off or nothing
    changed."""
    if not _performance_pending(spec, state):
        return []
    config = spec.config
    orphans = orphan_signals(state.perf, config.performance)
    decisions = []
    if orphans and not state.perf.dirty:  # only orphans came: nothing to re-evaluate
        latest = max(state.perf.windows, default=0)
        stepped = _performance_step(config, state, orphans, latest, [])
        decisions.append(PerformanceDecision(stepped.alerts, None, stepped.flaps))
    for start in sorted(state.perf.dirty):
        body, signals, clear = evaluate_performance(state.perf, start, config.performance)
        stepped = _performance_step(config, state, signals + orphans, start, clear)
        record = {"model_id": config.id, "evaluated_at": now, **body}
        decisions.append(PerformanceDecision(stepped.alerts, record, stepped.flaps))
    state.perf.dirty.clear()
    return decisions


def _performance_step(
    config: ModelConfig, state: ModelState, signals: list[Signal], start: int, clear: list[str]
) -> Stepped:
    """Step the performance incidents (apart from the per-window ones): the window
    decides its ``clear`` cohorts, and the orphan rate once enough labels came."""
    decided = {(AlertCategory.performance, cohort) for cohort in clear}
    if state.perf.recent[0] >= MIN_RECENT_LABELS:
        decided.add((AlertCategory.pipeline, ORPHAN_SUBJECT))
    window = (start, start + config.performance.window_s)
    root = state.incidents.get(ROOT.value)
    signals_of = split(signals, root, config.alerting.correlation.root_cause)
    return step_alerts(
        config,
        state.perf_incidents,
        signals_of,
        window,
        Decided(subjects=frozenset(decided)),
        state.incidents,
    )


def telemetry_alerts(
    state: NodeState, event: TelemetryEvent, now: float, config: InfraConfig
) -> list[AlertEvent]:
    """Fold one node sample into its state: the alerts of the conditions it started."""
    sample_ts = event.timestamp.timestamp()
    return [infra_alert(f, sample_ts, now) for f in observe(state, event, now, config)]


def silent_node_alerts(
    states: Mapping[str, NodeState], now: float, config: InfraConfig
) -> list[tuple[NodeState, AlertEvent]]:
    """Nodes that just went quiet (marked silent in their state), with their alert."""
    found = newly_silent(list(states.values()), now, config)
    return [
        (states[f.subject], infra_alert(f, states[f.subject].last_sample_ts, now)) for f in found
    ]


def apply_silences(
    alerts: Sequence[AlertEvent], silences: Mapping[str, bytes], now: datetime
) -> list[AlertEvent]:
    """Each alert with the silence that covers it now recorded on it: still produced,
    so the incident's record stays complete, but the router does not page it."""
    out = []
    for alert in alerts:
        silence = active_silence(silences, alert, now)
        out.append(alert if silence is None else alert.model_copy(update={"silenced": silence}))
    return out
