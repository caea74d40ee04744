"""Alert events: findings become lifecycle signals, state changes become AlertEvents
with one-line summaries for people (and node conditions, edge-triggered, alerts of
their own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from streams.alerting.clock_skew import clock_skew_decided
from streams.alerting.infra import Finding
from streams.alerting.lifecycle import EVERYTHING, Decided, Signal, Transition
from streams.alerting.slo import BurnAlert
from streams.config.models import CorrelationConfig, Thresholds
from streams.drift.online import OnlineDrift
from streams.events.models import AlertCategory, AlertEvent, Evidence, Severity
from streams.windows.report import SCORE_SERIES, Breach, FeatureResult

#: Data-quality breaches lead: "the pipeline serves zeros" explains the drift it causes.
_PRIORITY = {AlertCategory.data_quality: 0, AlertCategory.data_drift: 1}
_SEVERITY = {AlertCategory.data_quality: Severity.error, AlertCategory.data_drift: Severity.warning}
RUNBOOK_BASE = "deploy/runbooks"


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def lead_breach(breaches: list[Breach]) -> Breach:
    return min(breaches, key=lambda b: _PRIORITY.get(b.category, 9))


def feature_signals(features: list[FeatureResult]) -> list[Signal]:
    """One signal per breaching feature, led by its most telling breach."""
    signals = []
    for feature in features:
        if feature.breaches:
            b = lead_breach(feature.breaches)
            signals.append(
                Signal(
                    b.category,
                    b.feature,
                    _SEVERITY.get(b.category, Severity.warning),
                    b.statistic,
                    b.value,
                    b.threshold,
                )
            )
    return signals


#: What a feature window's events decide: its features and its scores.
_WINDOW_CATEGORIES = frozenset(
    {AlertCategory.data_quality, AlertCategory.data_drift, AlertCategory.prediction_drift}
)


def window_decided(count: int, limits: Thresholds, skew_refused: int = 0) -> Decided:
    """A window of fewer than ``min_window_events`` events decides none of its features
    or scores (they are unknown, not clear: no breach there is no evidence of health),
    nor, counting the events refused for their time, the producers' clocks; the latency
    SLO's burn rates span many windows and are decided all the same."""
    if count >= limits.min_window_events:
        return EVERYTHING
    categories = EVERYTHING.categories - _WINDOW_CATEGORIES
    if not clock_skew_decided(skew_refused, count, limits):
        categories -= {AlertCategory.clock_skew}
    return Decided(categories)


def online_signals(detections: list[OnlineDrift]) -> list[Signal]:
    """One signal per detection, with its detector's statistic and threshold: the
    score's series is prediction drift, a feature's is data drift. Sequential: the
    detector already weighed many windows, so it needs no streak of them."""
    return [
        Signal(
            AlertCategory.prediction_drift
            if d.series == SCORE_SERIES
            else AlertCategory.data_drift,
            d.series,
            Severity.warning,
            d.statistic,
            d.score,
            d.threshold,
            sequential=True,
        )
        for d in detections
    ]


#: The categories that a moving score corroborates (or a seasonal match explains away).
_CORROBORATED = (AlertCategory.data_drift, AlertCategory.data_quality)


def correlate(
    signals: list[Signal],
    proxy: Mapping[str, float],
    rules: CorrelationConfig,
    seasonal: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Signal]:
    """Severity by corroboration. Drift or data-quality findings while the scores moved
    more than ``rules.score_wasserstein`` are escalated (to critical by default: a
    page); drift of a feature that the same hour last week also shows (``seasonal``) is
    info. Scores that moved with no finding are a prediction-drift warning of their own.
    """
    if not rules.enabled:
        return signals
    shift = proxy.get("score_wasserstein", 0.0)
    corroborated = shift > rules.score_wasserstein
    out = []
    for s in signals:
        if s.category in _CORROBORATED and corroborated:
            s = replace(s, severity=Severity(rules.escalate_to))
        elif s.category == AlertCategory.data_drift and s.subject in seasonal:
            s = replace(s, severity=Severity.info)
        out.append(s)
    if corroborated and not any(s.category in _CORROBORATED for s in signals):
        out.append(score_signal(shift, rules))
    return out


def score_signal(shift: float, rules: CorrelationConfig) -> Signal:
    """The scores' movement against their baseline, as a prediction-drift finding."""
    return Signal(
        AlertCategory.prediction_drift,
        SCORE_SERIES,
        Severity.warning,
        "score_wasserstein",
        shift,
        rules.score_wasserstein,
    )


def slo_signals(burns: list[BurnAlert]) -> list[Signal]:
    """One signal per breached burn-rate rule: the rules are the incident's subjects."""
    return [
        Signal(
            AlertCategory.slo_burn,
            b.rule.name,
            b.rule.severity,
            f"burn_rate_{b.rule.name}",
            b.long_burn,
            b.rule.factor,
        )
        for b in burns
    ]


_LAYER = {AlertCategory.slo_burn: "application"}


def _describe(model_id: str, t: Transition, window_start: float, window_end: float) -> str:
    start, end = _utc(window_start), _utc(window_end)
    when = f"window {start:%Y-%m-%d %H:%M:%S}-{end:%H:%M:%S} UTC"
    if t.status == "resolved":
        return f"{model_id}: {t.category.value} resolved ({', '.join(t.subjects)}), {when}"
    shown = "; ".join(
        f"{s.subject} {s.statistic} = {s.value:.3g} (threshold {s.threshold:.3g})"
        for s in t.signals
    )
    noun = "subject" if len(t.subjects) == 1 else "subjects"
    head = f"{t.category.value} on {len(t.subjects)} {noun}"
    if t.update:  # the incident is known: name its subjects, then what is new
        head = f"{t.category.value} update ({', '.join(t.subjects)})"
    by = f"; corroborated by {', '.join(t.corroborating)}" if t.corroborating else ""
    return f"{model_id}: {head}: {shown}{by}, {when}"


def _root_cause(t: Transition) -> str | None:
    """A data-quality incident is its own hypothesis: the upstream serves bad values
    for its subjects (streams/alerting/rootcause.py)."""
    if t.category != AlertCategory.data_quality:
        return None
    return f"data_quality on {', '.join(t.subjects)}"


def transition_alert(
    model_id: str, t: Transition, window_start: float, window_end: float
) -> AlertEvent:
    """The AlertEvent of one incident state change (dedup_key: model and category)."""
    lead = t.signals[0] if t.signals else None
    evidence = Evidence(
        statistic=lead.statistic if lead else "clear_windows",
        value=lead.value if lead else 0.0,
        threshold=lead.threshold if lead else 0.0,
        window_start=_utc(window_start),
        window_end=_utc(window_end),
    )
    summary = _describe(model_id, t, window_start, window_end)
    return AlertEvent(
        category=t.category,
        layer=_LAYER.get(t.category, "ml_pipeline"),
        severity=t.severity,
        model_id=model_id,
        subject=", ".join(t.subjects),
        subjects=t.subjects,
        evidence=evidence,
        summary=summary[:1024],
        dedup_key=f"{model_id}:{t.category.value}",
        status=t.status,
        update=t.update,
        root_cause=_root_cause(t),
        corroborating=list(t.corroborating),
        first_seen=_utc(t.first_seen),
        last_seen=_utc(window_end),
        runbook_url=f"{RUNBOOK_BASE}/{t.category.value}.md",
    )


def infra_alert(finding: Finding, sample_ts: float, now_s: float) -> AlertEvent:
    """An alert for a node or GPU condition; the evidence spans the node's last sample
    up to now (for a silent node, the silence itself)."""
    return AlertEvent(
        category=finding.category,
        layer="infrastructure",
        severity=finding.severity,
        subject=finding.subject,
        evidence=Evidence(
            statistic=finding.statistic,
            value=finding.value,
            threshold=finding.threshold,
            window_start=_utc(sample_ts),
            window_end=_utc(max(now_s, sample_ts)),
        ),
        summary=(
            f"{finding.subject}: {finding.statistic} = {finding.value:.3g} "
            f"(threshold {finding.threshold:.3g})"
        ),
        dedup_key=f"{finding.subject}:{finding.category.value}:{finding.statistic}",
        first_seen=_utc(sample_ts),
        last_seen=_utc(max(now_s, sample_ts)),
        runbook_url=f"{RUNBOOK_BASE}/{finding.category.value}.md",
    )
