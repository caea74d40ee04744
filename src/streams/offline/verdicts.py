"""Why each feature of an offline comparison drifted or not, in the terms a reader can
check: the statistic that decided by name, the raw and the corrected p-value (p-value
methods only), the effect size with its threshold, and a severity to sort by.

A corrected p-value alone misleads: Benjamini-Hochberg gives many features of a clean
pair the same value (0.9967), and a p-value method also needs its effect size above a
gate (docs/drift.md), so both are shown with their thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.config.models import P_VALUE_METHODS
from streams.drift.engine import DECIDING_STATISTIC, EFFECT_STATISTIC, FeatureDrift
from streams.events.models import AlertCategory
from streams.offline.compare import Comparison


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class Verdict:
    """One feature's drift verdict and the numbers behind it."""

    name: str
    kind: str
    method: str
    statistic: str  # the deciding statistic: ks_p_value, wasserstein, ...
    threshold: float  # the deciding statistic's: the level of a p-value
    p_value: float | None  # raw; p-value methods only
    p_value_corrected: float | None
    correction: str
    effect_statistic: str
    effect: float | None
    effect_threshold: float
    drifted: bool
    tested: bool
    quality_findings: int

    @property
    def rule(self) -> str:
        """When the feature drifts: ``ks_p_value (bh) < 0.01 and ks > 0.15``."""
        effect = f"{self.effect_statistic} > {self.effect_threshold:.4g}"
        if self.method not in P_VALUE_METHODS:
            return effect
        return f"{self.statistic} ({self.correction}) < {self.threshold:.4g} and {effect}"

    @property
    def severity(self) -> int:
        """3 drift and a data-quality finding, 2 drift, 1 a finding, 0 neither, -1 untested."""
        if not self.tested and not self.quality_findings:
            return -1
        return 2 * self.drifted + bool(self.quality_findings)

    @property
    def verdict(self) -> str:
        parts = ["drift"] if self.drifted else []
        if self.quality_findings:
            parts.append("data quality")
        if not self.tested:
            parts.append("untested (no values)")
        return ", ".join(parts) or "ok"

    @property
    def effect_ratio(self) -> float:
        """The effect in thresholds: past 1 it is large enough to count."""
        if self.effect is None or self.effect_threshold <= 0:
            return 0.0
        return self.effect / self.effect_threshold

    def as_dict(self) -> dict[str, object]:
        """The fields the JSON report adds to each feature."""
        return {
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_value_corrected": self.p_value_corrected,
            "effect_size": {
                "statistic": self.effect_statistic,
                "value": self.effect,
                "threshold": self.effect_threshold,
            },
        }


def verdict(drift: FeatureDrift, quality_findings: int, settings: dict) -> Verdict:
    """The verdict of one feature; ``settings`` as in :class:`Comparison`'s meta."""
    statistic = DECIDING_STATISTIC.get(drift.method, drift.method)
    p_method = drift.method in P_VALUE_METHODS
    if p_method:
        effect_statistic = EFFECT_STATISTIC[drift.method]
        effect = drift.statistics.get(effect_statistic)
        effect_threshold = float(settings["effect_gates"][drift.method])
    else:
        effect_statistic, effect, effect_threshold = drift.method, drift.value, drift.threshold
    return Verdict(
        name=drift.name,
        kind=drift.kind,
        method=drift.method,
        statistic=statistic,
        threshold=drift.threshold,
        p_value=finite(drift.statistics.get(statistic)) if p_method else None,
        p_value_corrected=finite(drift.value) if p_method else None,
        correction=str(settings["correction"]),
        effect_statistic=effect_statistic,
        effect=finite(effect),
        effect_threshold=effect_threshold,
        drifted=drift.drifted,
        tested=bool(drift.statistics),
        quality_findings=quality_findings,
    )


def verdicts(result: Comparison) -> list[Verdict]:
    """Every feature's verdict, in the comparison's order."""
    settings = result.meta["settings"]
    out = []
    for drift, feature in zip(result.report.features, result.features, strict=True):
        found = sum(b.category is AlertCategory.data_quality for b in feature.breaches)
        out.append(verdict(drift, found, settings))
    return out


def severity_order(v: Verdict) -> tuple[int, float, str]:
    """Sort key, most severe first; within a level, the largest effect (in thresholds)."""
    return (-v.severity, -v.effect_ratio, v.name)
