"""Two faces of an offline drift report: JSON for machines and a table for terminals
(the third, an HTML page for people, is ``html_report.py``). Each shows, per feature,
the drift verdict with the statistic that decided it (``verdicts.py``), and the
worker's data-quality rates and findings; then the dataset and multivariate results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from streams.drift.engine import DriftReport, FeatureDrift, Sketch
from streams.events.models import AlertCategory
from streams.offline.compare import Comparison
from streams.offline.verdicts import Verdict, verdicts
from streams.sketches import NumericSketch
from streams.windows.report import Breach, FeatureResult


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _share(value: float) -> str:
    return "<0.1%" if 0 < value < 0.0005 else f"{value:.1%}"


def _missing(sketch: Sketch) -> int:
    return sketch.missing + (sketch.nan if isinstance(sketch, NumericSketch) else 0)


def finding_message(breach: Breach, stats: Mapping[str, float], current: Sketch) -> str:
    """One data-quality finding in words: the rate, the reference's, and the limit."""
    rate = breach.statistic.removesuffix("_delta")
    value = stats.get(rate, 0.0)
    against = f"reference {_share(value - breach.value)}, limit +{_share(breach.threshold)}"
    if rate == "missing_rate":
        missing, total = _missing(current), current.total
        if missing == total:
            return f"all {total:,} values missing"
        return f"missing rate {_share(value)} ({missing:,} of {total:,} values; {against})"
    if rate == "zero_rate":
        return f"zero rate {_share(value)} ({against})"
    if rate == "out_of_range_rate" and isinstance(current, NumericSketch):
        bounds = f"[{current.lo:.4g}, {current.hi:.4g}]"
        return f"{_share(value)} of values outside the reference range {bounds} ({against})"
    return f"{breach.statistic} {breach.value:.4g} (limit {breach.threshold:.4g})"


def _quality_breaches(feature: FeatureResult) -> list[Breach]:
    return [b for b in feature.breaches if b.category is AlertCategory.data_quality]


def _pairs(result: Comparison) -> list[tuple[FeatureDrift, FeatureResult]]:
    """Each feature's drift verdict with its evaluation (the two lists share order)."""
    return list(zip(result.report.features, result.features, strict=True))


def quality_dict(feature: FeatureResult, current: Sketch) -> dict[str, Any]:
    """A feature's data-quality rates (null where no value is present to rate) and
    findings; the rates are the worker's, from the same function."""
    present = current.n > 0
    stats = feature.statistics
    return {
        "values": current.total,
        "missing": _missing(current),
        "missing_rate": stats["missing_rate"],
        "zero_rate": stats.get("zero_rate") if present else None,
        "out_of_range_rate": stats.get("out_of_range_rate") if present else None,
        "findings": [
            {
                "statistic": b.statistic,
                "value": b.value,
                "threshold": b.threshold,
                "message": finding_message(b, stats, current),
            }
            for b in _quality_breaches(feature)
        ],
    }


def quality_summary(result: Comparison) -> str:
    """The data-quality line: the findings by feature, or why there is none."""
    if not result.quality_judged:
        least = result.meta["thresholds"]["min_window_events"]
        return (
            f"data quality: not judged ({result.meta['current_rows']} rows, fewer than "
            f"thresholds.min_window_events = {least})"
        )
    found = [
        f"{f.name}: {finding_message(b, f.statistics, result.current[f.name])}"
        for f in result.features
        for b in _quality_breaches(f)
    ]
    if not found:
        return f"data quality: no finding ({len(result.features)} features checked)"
    flagged = sum(bool(_quality_breaches(f)) for f in result.features)
    head = f"data quality: {len(found)} findings on {flagged} of {len(result.features)} features"
    return "\n  ".join([head, *found])


def _drift_dict(f: FeatureDrift, why: Verdict) -> dict[str, Any]:
    return {
        "name": f.name,
        "type": f.kind,
        "method": f.method,
        "threshold": f.threshold,
        "value": _finite(f.value),
        **why.as_dict(),
        "drifted": f.drifted,
        "tested": bool(f.statistics),
        "statistics": {k: _finite(v) for k, v in f.statistics.items()},
    }


def report_dict(result: Comparison) -> dict[str, Any]:
    """The documented JSON shape (docs/drift.md); non-finite numbers become null."""
    report = result.report
    flagged = [f.name for f in result.features if _quality_breaches(f)]
    return {
        **result.meta,
        "features": [
            {**_drift_dict(drift, why), "quality": quality_dict(f, result.current[f.name])}
            for (drift, f), why in zip(_pairs(result), verdicts(result), strict=True)
        ],
        "dataset": {
            "drifted": report.dataset_drifted,
            "share_drifted": report.share_drifted,
            "drifted_features": [f.name for f in report.features if f.drifted],
        },
        "quality": {
            "judged": result.quality_judged,
            "findings": len(result.quality_breaches),
            "features_with_findings": flagged,
        },
        "multivariate": {k: _finite(v) for k, v in report.multivariate.items()},
    }


def render_json(result: Comparison) -> str:
    return orjson.dumps(report_dict(result), option=orjson.OPT_INDENT_2).decode()


def number(value: float | None) -> str:
    """A statistic for people: 4 decimals, or 3 significant digits below 0.001."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4f}"


def _rate_cell(value: float | None) -> str:
    return "-" if value is None else _share(value)


def quality_flags(f: FeatureResult) -> str:
    """The failing data-quality checks: ``MISSING ZERO``."""
    return " ".join(b.statistic.removesuffix("_rate_delta").upper() for b in _quality_breaches(f))


def _table_row(why: Verdict, f: FeatureResult, current: Sketch) -> tuple[str, ...]:
    quality = quality_dict(f, current)
    drifted = "untested (no values)" if not why.tested else "DRIFT" if why.drifted else ""
    return (
        f.name,
        f.kind,
        why.rule,
        number(why.p_value),
        number(why.p_value_corrected),
        f"{why.effect_statistic} {number(why.effect)}",
        drifted,
        _rate_cell(quality["missing_rate"]),
        _rate_cell(quality["zero_rate"]),
        _rate_cell(quality["out_of_range_rate"]),
        quality_flags(f),
    )


def dataset_line(result: Comparison) -> str:
    report, meta = result.report, result.meta
    drifted = sum(f.drifted for f in report.features)
    verdict = "DRIFT" if report.dataset_drifted else "no drift"
    return (
        f"dataset: {verdict} ({drifted} of {len(report.features)} features, "
        f"share {report.share_drifted:.2f}, drifts from {meta['settings']['dataset_share']:.2f}; "
        f"reference {meta.get('reference_rows')} rows, current {meta.get('current_rows')} rows)"
    )


def multivariate_line(report: DriftReport) -> str:
    """The MMD result in words; it is reported, never a verdict of its own."""
    mv = report.multivariate
    if not mv:
        return "multivariate: not tested (fewer than 2 numeric rows on a side, or disabled)"
    return (
        f"multivariate: MMD^2 {number(mv['mmd'])}, permutation p-value "
        f"{number(mv['mmd_p_value'])} on {mv['mmd_rows']:.0f} joint rows of the numeric "
        "features (reported, does not decide)"
    )


def render_table(result: Comparison) -> str:
    """One line per feature (drift, then data quality), then the dataset, data-quality
    and MMD lines."""
    correction = result.meta["settings"]["correction"]
    header = ("feature", "type", "drifts when", "p-value", f"p ({correction})", "effect size")
    header += ("drifted", "missing", "zeros", "out of range", "quality")
    rows = [
        _table_row(why, f, result.current[f.name])
        for why, f in zip(verdicts(result), result.features, strict=True)
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.append("")
    lines += [dataset_line(result), quality_summary(result), multivariate_line(result.report)]
    return "\n".join(lines)
