"""Alert events from a window's breaches: one per breaching feature.

The lifecycle (hysteresis, grouping, resolve) is the alerting issue's; this module only
turns findings into well-formed ``AlertEvent``s and one-line summaries for people.
"""

from __future__ import annotations

from datetime import UTC, datetime

from streams.evaluate import Breach, FeatureResult
from streams.events import AlertCategory, AlertEvent, Evidence, Severity
from streams.infra import Finding
from streams.slo import BurnAlert

#: Data-quality breaches lead: "the pipeline serves zeros" explains the drift it causes.
_PRIORITY = {AlertCategory.data_quality: 0, AlertCategory.data_drift: 1}
_SEVERITY = {AlertCategory.data_quality: Severity.error, AlertCategory.data_drift: Severity.warning}
RUNBOOK_BASE = "deploy/runbooks"


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def lead_breach(breaches: list[Breach]) -> Breach:
    return min(breaches, key=lambda b: _PRIORITY.get(b.category, 9))


def summary(model_id: str, breach: Breach, window_start: float, window_end: float) -> str:
    start, end = _utc(window_start), _utc(window_end)
    return (
        f"{model_id}: feature {breach.feature} {breach.statistic} = {breach.value:.3g} "
        f"(threshold {breach.threshold:.3g}) in window {start:%Y-%m-%d %H:%M:%S}"
        f"-{end:%H:%M:%S} UTC"
    )


def alerts_for_window(
    model_id: str, window_start: float, window_end: float, features: list[FeatureResult]
) -> list[AlertEvent]:
    alerts = []
    for feature in features:
        if not feature.breaches:
            continue
        breach = lead_breach(feature.breaches)
        alerts.append(
            AlertEvent(
                category=breach.category,
                layer="ml_pipeline",
                severity=_SEVERITY.get(breach.category, Severity.warning),
                model_id=model_id,
                subject=breach.feature,
                evidence=Evidence(
                    statistic=breach.statistic,
                    value=breach.value,
                    threshold=breach.threshold,
                    window_start=_utc(window_start),
                    window_end=_utc(window_end),
                ),
                summary=summary(model_id, breach, window_start, window_end),
                dedup_key=f"{model_id}:{breach.category.value}:{breach.feature}",
                first_seen=_utc(window_start),
                last_seen=_utc(window_end),
                runbook_url=f"{RUNBOOK_BASE}/{breach.category.value}.md",
            )
        )
    return alerts


def slo_alerts(
    model_id: str, window_start: float, window_end: float, burns: list[BurnAlert]
) -> list[AlertEvent]:
    """One alert per breached burn-rate rule of the model's latency SLO."""
    return [
        AlertEvent(
            category=AlertCategory.slo_burn,
            layer="application",
            severity=b.rule.severity,
            model_id=model_id,
            subject="latency",
            evidence=Evidence(
                statistic=f"burn_rate_{b.rule.name}",
                value=b.long_burn,
                threshold=b.rule.factor,
                window_start=_utc(window_start),
                window_end=_utc(window_end),
            ),
            summary=(
                f"{model_id}: latency SLO burning {b.long_burn:.1f}x over "
                f"{b.rule.long_s // 60} min and {b.short_burn:.1f}x over "
                f"{b.rule.short_s // 60} min (threshold {b.rule.factor:g}x), "
                f"window ending {_utc(window_end):%Y-%m-%d %H:%M:%S} UTC"
            ),
            dedup_key=f"{model_id}:slo_burn:{b.rule.name}",
            first_seen=_utc(window_start),
            last_seen=_utc(window_end),
            runbook_url=f"{RUNBOOK_BASE}/slo_burn.md",
        )
        for b in burns
    ]


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
