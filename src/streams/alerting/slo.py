"""Latency SLO burn rates in event time, from per-window counts of slow predictions.

The burn rate over a span is the span's share of slow events divided by the error
budget (1 - objective): 1 spends the budget exactly over the SLO period. The alert
rules are the Google SRE workbook's multiwindow, multi-burn-rate set: a long window
says the burn is significant, a short one that it is still going on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from streams.config.models import LatencySLO
from streams.events.models import Severity
from streams.windows.aggregate import WindowAggregate

HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class BurnRule:
    name: str
    severity: Severity
    long_s: int
    short_s: int
    factor: float


#: 30-day SLO: 2 % of the budget in 1 h, 5 % in 6 h page; 10 % in 3 days is a ticket.
RULES = (
    BurnRule("page-1h", Severity.critical, HOUR_S, 5 * 60, 14.4),
    BurnRule("page-6h", Severity.critical, 6 * HOUR_S, 30 * 60, 6.0),
    BurnRule("ticket-3d", Severity.warning, 72 * HOUR_S, 6 * HOUR_S, 1.0),
)
#: The history kept per model: the longest window of any rule.
HISTORY_S = max(r.long_s for r in RULES)


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """One evaluated window's latency counts: events with a latency, and the slow ones."""

    start: int
    end: int
    total: int
    slow: int


def burn_rate(
    history: Iterable[WindowCounts], end: int, span_s: int, slo: LatencySLO
) -> float | None:
    """Burn rate over the windows ending within ``span_s`` before ``end`` (at least the
    window ending at ``end``); None without events. Windows longer than the span count
    whole: a 1-hour window answers for "the last 5 minutes" as well as it can."""
    total = slow = 0
    for w in history:
        if end - span_s < w.end <= end or w.end == end:
            total += w.total
            slow += w.slow
    if total == 0:
        return None
    return (slow / total) / (1 - slo.objective)


@dataclass(frozen=True, slots=True)
class BurnAlert:
    rule: BurnRule
    long_burn: float
    short_burn: float


def breached(history: list[WindowCounts], end: int, slo: LatencySLO) -> list[BurnAlert]:
    """The rules whose long and short windows both burn faster than their factor."""
    alerts = []
    for rule in RULES:
        long_burn = burn_rate(history, end, rule.long_s, slo)
        short_burn = burn_rate(history, end, rule.short_s, slo)
        if long_burn is None or short_burn is None:
            continue
        if long_burn > rule.factor and short_burn > rule.factor:
            alerts.append(BurnAlert(rule, long_burn, short_burn))
    return alerts


def prune(history: list[WindowCounts], end: int) -> list[WindowCounts]:
    """Drop windows no rule will look at again."""
    return [w for w in history if w.end > end - HISTORY_S]


def latency_summary(
    window: WindowAggregate, history: list[WindowCounts], end: int, slo: LatencySLO | None
) -> dict[str, float | None]:
    """The latency part of a window's result: quantiles, slow share, burn rates."""
    sketch = window.latency
    summary: dict[str, float | None] = {
        "count": sketch.n,
        "p50_ms": sketch.quantile(0.5) if sketch.n else None,
        "p95_ms": sketch.quantile(0.95) if sketch.n else None,
        "p99_ms": sketch.quantile(0.99) if sketch.n else None,
        "max_ms": sketch.max if sketch.n else None,
    }
    if slo is not None:
        summary["slow_ratio"] = window.latency_slow / sketch.n if sketch.n else None
        for rule in RULES:
            for span in (rule.long_s, rule.short_s):
                summary[f"burn_rate_{span // 60}m"] = burn_rate(history, end, span, slo)
    return summary
