"""Evaluation of one merged window against the model's reference profile.

Per numeric feature: PSI on the reference's quantile bins. Per categorical feature:
chi-squared, gated on effect size. Per feature: missing-rate and zero-rate increases
over the reference (the "feature pipeline serves zeros" failure). A breach of any of
them is one finding for that feature; the most telling statistic leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.aggregate import WindowAggregate
from streams.config import ModelConfig
from streams.drift import chi_squared, psi
from streams.events import AlertCategory
from streams.reference import ReferenceProfile
from streams.sketches import CategoricalSketch, NumericSketch


@dataclass(frozen=True, slots=True)
class Breach:
    feature: str
    category: AlertCategory
    statistic: str
    value: float
    threshold: float


@dataclass
class FeatureResult:
    name: str
    kind: str
    statistics: dict[str, float]
    breaches: list[Breach] = field(default_factory=list)


def _rate(part: int, total: int) -> float:
    return part / total if total else 0.0


def _quality(
    name: str,
    cur_total: int,
    cur_missing: int,
    ref_total: int,
    ref_missing: int,
    config: ModelConfig,
    stats: dict[str, float],
) -> list[Breach]:
    missing_rate = _rate(cur_missing, cur_total)
    delta = missing_rate - _rate(ref_missing, ref_total)
    stats["missing_rate"] = missing_rate
    limit = config.thresholds.missing_rate_delta
    if delta > limit:
        return [Breach(name, AlertCategory.data_quality, "missing_rate_delta", delta, limit)]
    return []


def evaluate_numeric(
    name: str, cur: NumericSketch, ref: NumericSketch, config: ModelConfig
) -> FeatureResult:
    stats: dict[str, float] = {}
    breaches = _quality(
        name, cur.total, cur.missing + cur.nan, ref.total, ref.missing + ref.nan, config, stats
    )
    zero_rate = _rate(cur.zeros, cur.n)
    zero_delta = zero_rate - _rate(ref.zeros, ref.n)
    stats["zero_rate"] = zero_rate
    stats["mean"] = cur.mean if cur.n else float("nan")
    if cur.n:
        stats["psi"] = psi(ref.counts, cur.counts)
    limits = config.thresholds
    if zero_delta > limits.zero_rate_delta:
        breaches.append(
            Breach(
                name,
                AlertCategory.data_quality,
                "zero_rate_delta",
                zero_delta,
                limits.zero_rate_delta,
            )
        )
    if stats.get("psi", 0.0) > limits.psi:
        breaches.append(Breach(name, AlertCategory.data_drift, "psi", stats["psi"], limits.psi))
    return FeatureResult(name, "numeric", stats, breaches)


def evaluate_categorical(
    name: str, cur: CategoricalSketch, ref: CategoricalSketch, config: ModelConfig
) -> FeatureResult:
    stats: dict[str, float] = {}
    breaches = _quality(name, cur.total, cur.missing, ref.total, ref.missing, config, stats)
    if cur.n:
        test = chi_squared(ref.counts, cur.counts)
        stats.update(
            chi2=test.statistic, chi2_p_value=test.p_value, chi2_effect_size=test.effect_size
        )
        limits = config.thresholds
        if test.p_value < limits.chi2_p_value and test.effect_size > limits.chi2_effect_size:
            breaches.append(
                Breach(
                    name,
                    AlertCategory.data_drift,
                    "chi2_effect_size",
                    test.effect_size,
                    limits.chi2_effect_size,
                )
            )
    return FeatureResult(name, "categorical", stats, breaches)


def evaluate_window(
    window: WindowAggregate, reference: ReferenceProfile, config: ModelConfig
) -> list[FeatureResult]:
    """Every configured feature's statistics and breaches; none below the minimum size."""
    results = []
    for name, cur in window.features.items():
        ref = reference.features[name]
        if isinstance(cur, NumericSketch):
            assert isinstance(ref, NumericSketch)
            result = evaluate_numeric(name, cur, ref, config)
        else:
            assert isinstance(ref, CategoricalSketch)
            result = evaluate_categorical(name, cur, ref, config)
        if window.count < config.thresholds.min_window_events:
            result.breaches = []
        results.append(result)
    return results


def result_record(
    window: WindowAggregate,
    config: ModelConfig,
    revision: int,
    features: list[FeatureResult],
    evaluated_at: float,
    latency: dict[str, float | None],
) -> dict[str, Any]:
    """The value written to ``results``: one per window evaluation (revisions included)."""
    return {
        "model_id": window.model_id,
        "window_start": window.window_start,
        "window_end": window.window_start + config.window_s,
        "revision": revision,
        "count": window.count,
        "late": window.late,
        "evaluated_at": evaluated_at,
        "latency": latency,
        "score_mean": window.score.mean if window.score.n else None,
        "features": {f.name: f.statistics for f in features},
        "breaches": [
            {
                "feature": b.feature,
                "category": b.category.value,
                "statistic": b.statistic,
                "value": b.value,
                "threshold": b.threshold,
            }
            for f in features
            for b in f.breaches
        ],
    }
