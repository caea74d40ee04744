"""Evaluation of one merged window against the model's reference.

Drift comes from the drift engine (streams/drift/engine.py: each feature's method by
type and window size, p-values corrected across the model's features). Data quality
is checked here: increases over the reference of the missing rate, the zero rate (the
"feature pipeline serves zeros" failure) and the share of values outside the
reference's range. Any breach is a finding for its feature. ``streams drift`` calls
:func:`evaluate_features` too, so offline and live findings are one computation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.config.models import ModelConfig, Thresholds
from streams.drift.engine import Columns, DriftReport, FeatureDrift, Sketch, compare
from streams.drift.robust import robust_mean
from streams.events.models import AlertCategory
from streams.labels.cbpe import estimate_performance
from streams.sketches import NumericSketch
from streams.windows.aggregate import WindowAggregate


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
    drift: FeatureDrift | None = None


@dataclass
class WindowReport:
    features: list[FeatureResult]
    drift: DriftReport


def _rate(part: int, total: int) -> float:
    return part / total if total else 0.0


def out_of_range(sketch: NumericSketch) -> int:
    """Finite values below the bins' ``lo`` or above their ``hi``: on a reference's bins
    (its min and max), the values outside the reference's range."""
    return int(sketch.counts[0] + sketch.counts[-1])


def _range_rates(cur: NumericSketch, ref: NumericSketch) -> tuple[float, float] | None:
    """The current and reference shares outside the reference's range; None when the
    reference has no values (no range) or the two sides are not on the same bounds."""
    if not ref.n or (cur.lo, cur.hi) != (ref.lo, ref.hi):
        return None
    return _rate(out_of_range(cur), cur.n), _rate(out_of_range(ref), ref.n)


def quality(name: str, cur: Sketch, ref: Sketch, limits: Thresholds) -> tuple[dict, list[Breach]]:
    """Missing (and NaN) share, and for numeric features the zero share and the share
    outside the reference's [min, max], each against the reference's own. The one
    data-quality check of the worker and of ``streams drift``."""
    stats: dict[str, float] = {}
    increases: list[tuple[str, float, float]] = []  # (rate, current - reference, limit)
    if isinstance(cur, NumericSketch) and isinstance(ref, NumericSketch):
        cur_missing, ref_missing = cur.missing + cur.nan, ref.missing + ref.nan
        stats["zero_rate"] = _rate(cur.zeros, cur.n)
        stats["mean"] = cur.mean if cur.n else float("nan")
        zero_delta = stats["zero_rate"] - _rate(ref.zeros, ref.n)
        increases.append(("zero_rate", zero_delta, limits.zero_rate_delta))
        rates = _range_rates(cur, ref)
        if rates is not None:
            stats["out_of_range_rate"] = rates[0]
            increases.append(
                ("out_of_range_rate", rates[0] - rates[1], limits.out_of_range_rate_delta)
            )
    else:
        cur_missing, ref_missing = cur.missing, ref.missing
    stats["missing_rate"] = _rate(cur_missing, cur.total)
    missing_delta = stats["missing_rate"] - _rate(ref_missing, ref.total)
    increases.insert(0, ("missing_rate", missing_delta, limits.missing_rate_delta))
    breaches = [
        Breach(name, AlertCategory.data_quality, f"{rate}_delta", delta, limit)
        for rate, delta, limit in increases
        if delta > limit
    ]
    return stats, breaches


def _new_category_breach(drift: FeatureDrift, limits: Thresholds) -> Breach | None:
    """The new-category finding: categories the reference never saw take more than
    ``new_category_share`` of the window. It comes before the feature's drift breach,
    so an alert on the feature names it: it is usually why the feature drifted."""
    share = drift.statistics.get("new_category_share", 0.0)
    if share <= limits.new_category_share:
        return None
    return Breach(
        drift.name,
        AlertCategory.data_drift,
        "new_category_share",
        share,
        limits.new_category_share,
    )


def evaluate_features(
    current: Mapping[str, Sketch],
    reference: Mapping[str, Sketch],
    config: ModelConfig,
    count: int,
    baseline: Mapping[str, Sketch] | None = None,
    columns: Columns | None = None,
    exact: Mapping[str, Sketch] | None = None,
) -> WindowReport:
    """Every configured feature's statistics and breaches; none below the minimum size.
    Drift is against ``reference``, data quality against ``baseline`` (the static
    profile; default: ``reference``), so a rolling reference cannot absorb a feature
    that keeps serving zeros. ``columns``: raw values of both sides, for exact KS and
    Wasserstein (``streams drift`` on two data files). ``exact``: sketches whose counts
    saw every event, when ``current`` holds only the drift tier's sample
    (WindowAggregate.quality_sketches): data quality is judged on them."""
    report = compare(reference, current, config.drift, columns)
    baseline = baseline or reference
    results = []
    for drift in report.features:
        stats, breaches = quality(
            drift.name, (exact or current)[drift.name], baseline[drift.name], config.thresholds
        )
        new = _new_category_breach(drift, config.thresholds)
        if new:
            breaches.append(new)
        if drift.drifted:
            breaches.append(
                Breach(
                    drift.name, AlertCategory.data_drift, drift.method, drift.value, drift.threshold
                )
            )
        if count < config.thresholds.min_window_events:
            breaches = []
        results.append(
            FeatureResult(drift.name, drift.kind, {**drift.statistics, **stats}, breaches, drift)
        )
    return WindowReport(results, report)


#: The online detectors' series of the prediction score.
SCORE_SERIES = "prediction_score"


def window_summaries(
    report: WindowReport,
    window: WindowAggregate,
    reference: Mapping[str, Sketch],
    score_baseline: NumericSketch | None = None,
) -> dict[str, float]:
    """One number per series for the online detectors, in standard deviations so that one
    ``min_shift`` means the same everywhere: a numeric feature's mean from the reference
    mean (its tails winsorized, drift/robust.py: one extreme value must not move it)
    in reference sd, and the mean prediction score in the sd of the scores'
    baseline (earlier clear windows; no score value until there is one). Categorical
    features have no such scale; their own tests watch them."""
    out: dict[str, float] = {}
    for f in report.features:
        ref = reference[f.name]
        if isinstance(ref, NumericSketch):
            std = ref.variance**0.5 or 1.0
            current = window.features[f.name]
            mean = robust_mean(ref, current) if isinstance(current, NumericSketch) else math.nan
            out[f.name] = (mean - ref.mean) / std
    spread = score_baseline.variance**0.5 if score_baseline is not None and score_baseline.n else 0
    if window.score.n and spread > 0:
        out[SCORE_SERIES] = window.score.mean / spread
    return out


def _breach_records(report: WindowReport) -> list[dict[str, Any]]:
    """Every breach of the window, flat: what routers and dashboards filter on."""
    return [
        {
            "feature": b.feature,
            "category": b.category.value,
            "statistic": b.statistic,
            "value": b.value,
            "threshold": b.threshold,
        }
        for f in report.features
        for b in f.breaches
    ]


def _drift_sample(window: WindowAggregate) -> dict[str, float]:
    """The drift tier's size, and the window's count it estimates (Horvitz-Thompson, 95 %
    interval): next to the exact ``count``, a check that the sample is what it claims."""
    estimate = window.drift_sample.count()
    return {"n": window.drift_sample.n, "estimated_count": estimate.value} | {
        "estimated_count_lo": estimate.lo,
        "estimated_count_hi": estimate.hi,
    }


def result_record(
    window: WindowAggregate,
    config: ModelConfig,
    revision: int,
    report: WindowReport,
    evaluated_at: float,
    latency: dict[str, float | None],
    *,
    reference: str,
    proxy: Mapping[str, float],
    reference_source: str,
) -> dict[str, Any]:
    """The value written to ``results``: one per window evaluation (revisions included),
    with the kind of reference it was compared with and its proxy metrics."""
    return {
        "kind": "window",
        "model_id": window.model_id,
        "window_start": window.window_start,
        "window_end": window.window_start + config.window_s,
        "revision": revision,
        "count": window.count,
        "drift_sample": _drift_sample(window),
        "late": window.late,
        "evaluated_at": evaluated_at,
        "latency": latency,
        "score_mean": window.score.mean if window.score.n else None,
        "shadows": window.shadow_summary(),
        "estimated_performance": estimate_performance(window.scores, config.performance.threshold)
        if window.scores.n
        else None,
        "features": {f.name: f.statistics for f in report.features},
        "drift": {
            f.name: {
                "method": f.drift.method,
                "value": f.drift.value,
                "threshold": f.drift.threshold,
                "drifted": f.drift.drifted,
            }
            for f in report.features
            if f.drift
        },
        "dataset": {
            "drifted": report.drift.dataset_drifted,
            "share_drifted": report.drift.share_drifted,
        },
        "multivariate": report.drift.multivariate,
        "new_categories": {
            f.name: f.drift.new_categories
            for f in report.features
            if f.drift and f.drift.new_categories
        },
        "breaches": _breach_records(report),
        "reference": reference,
        "proxy": dict(proxy),
        "reference_source": reference_source,
    }
