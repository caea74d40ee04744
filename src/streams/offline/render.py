"""The three faces of an offline drift report: JSON for machines, a table for terminals,
and a self-contained HTML page (inline SVG, no scripts) for people. Each shows, per
feature, the drift verdict and the worker's data-quality rates and findings."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from streams.drift.distances import aligned_counts
from streams.drift.engine import FeatureDrift, Sketch
from streams.events.models import AlertCategory
from streams.offline.compare import Comparison
from streams.sketches import NumericSketch
from streams.windows.report import Breach, FeatureResult

#: Categories drawn per categorical feature in the HTML histograms.
HTML_MAX_CATEGORIES = 20


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


def _drift_dict(f: FeatureDrift) -> dict[str, Any]:
    return {
        "name": f.name,
        "type": f.kind,
        "method": f.method,
        "threshold": f.threshold,
        "value": _finite(f.value),
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
            {**_drift_dict(drift), "quality": quality_dict(f, result.current[f.name])}
            for drift, f in _pairs(result)
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


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4f}"


def _verdict(f: FeatureDrift) -> str:
    if not f.statistics:
        return "untested (no values)"
    return "DRIFT" if f.drifted else ""


def _rate_cell(value: float | None) -> str:
    return "-" if value is None else _share(value)


def _table_row(drift: FeatureDrift, f: FeatureResult, current: Sketch) -> tuple[str, ...]:
    quality = quality_dict(f, current)
    flags = [b.statistic.removesuffix("_rate_delta").upper() for b in _quality_breaches(f)]
    return (
        f.name,
        f.kind,
        drift.method,
        _number(drift.value),
        _number(drift.threshold),
        _verdict(drift),
        _rate_cell(quality["missing_rate"]),
        _rate_cell(quality["zero_rate"]),
        _rate_cell(quality["out_of_range_rate"]),
        " ".join(flags),
    )


def render_table(result: Comparison) -> str:
    """One line per feature (drift, then data quality), then the dataset, data-quality
    and MMD lines."""
    header = ("feature", "type", "method", "value", "threshold", "drifted")
    header += ("missing", "zeros", "out of range", "quality")
    rows = [_table_row(d, f, result.current[f.name]) for d, f in _pairs(result)]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(0, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    report, meta = result.report, result.meta
    drifted = sum(f.drifted for f in report.features)
    verdict = "DRIFT" if report.dataset_drifted else "no drift"
    lines.append(
        f"\ndataset: {verdict} ({drifted} of {len(report.features)} features, "
        f"share {report.share_drifted:.2f}, reference {meta.get('reference_rows')} rows, "
        f"current {meta.get('current_rows')} rows)"
    )
    lines.append(quality_summary(result))
    mv = report.multivariate
    if mv:
        lines.append(
            f"multivariate MMD^2 {_number(mv['mmd'])}, p-value {_number(mv['mmd_p_value'])}"
        )
    return "\n".join(lines)


def _bins(reference: Sketch, current: Sketch) -> tuple[list[str], np.ndarray, np.ndarray]:
    if isinstance(reference, NumericSketch) and isinstance(current, NumericSketch):
        edges = [f"{e:.3g}" for e in reference.edges]
        labels = [f"< {reference.lo:.3g}", f"{reference.lo:.3g} to {edges[0] if edges else '…'}"]
        labels += [f"{a} to {b}" for a, b in itertools.pairwise(edges)]
        labels += [f"{edges[-1] if edges else '…'} to {reference.hi:.3g}", f"> {reference.hi:.3g}"]
        return labels, reference.counts.astype(float), current.counts.astype(float)
    names, ref, cur = aligned_counts(reference.counts, current.counts)  # type: ignore[union-attr]
    top = np.argsort(-(ref + cur), kind="stable")[:HTML_MAX_CATEGORIES]
    return [names[i] for i in top], ref[top], cur[top]


def _svg(labels: list[str], ref: np.ndarray, cur: np.ndarray) -> str:
    """Grouped bars of both sides' proportions: reference grey, current orange."""
    ref_p = ref / ref.sum() if ref.sum() else ref
    cur_p = cur / cur.sum() if cur.sum() else cur
    top = max(float(ref_p.max(initial=0)), float(cur_p.max(initial=0)), 1e-9)
    slot, height, pad = 28, 120, 4
    bars = []
    for i, (label, r, c) in enumerate(zip(labels, ref_p, cur_p, strict=True)):
        x = i * slot + pad
        for dx, value, colour, side in (
            (0, r, "#9e9e9e", "reference"),
            (11, c, "#ef6c00", "current"),
        ):
            h = value / top * height
            bars.append(
                f'<rect x="{x + dx}" y="{height - h:.1f}" width="10" height="{h:.1f}" '
                f'fill="{colour}"><title>{html.escape(label)}: {side} {value:.3%}</title></rect>'
            )
    width = len(labels) * slot + 2 * pad
    return (
        f'<svg width="{width}" height="{height + 2}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


def _html_quality(f: FeatureResult, current: Sketch) -> str:
    """A feature's data-quality rates, and its findings in red."""
    quality = quality_dict(f, current)
    named = (
        ("missing", "missing_rate"),
        ("zeros", "zero_rate"),
        ("outside the reference range", "out_of_range_rate"),
    )
    rates = ", ".join(f"{n} {_share(quality[k])}" for n, k in named if quality[k] is not None)
    found = "".join(
        f"<li class='drift'>{html.escape(x['message'])}</li>" for x in quality["findings"]
    )
    return f"<p>data quality: {rates}</p>" + (f"<ul>{found}</ul>" if found else "")


def _html_section(drift: FeatureDrift, f: FeatureResult, result: Comparison) -> str:
    labels, ref, cur = _bins(result.reference[f.name], result.current[f.name])
    stats = ", ".join(f"{k} {_number(v)}" for k, v in drift.statistics.items())
    mark = '<b class="drift">drifted</b>' if drift.drifted else "no drift"
    if not drift.statistics:
        mark = "untested (no values)"
    return (
        f"<section><h2>{html.escape(f.name)} <small>{f.kind}</small></h2>"
        f"<p>{mark}: {drift.method} {_number(drift.value)} "
        f"(threshold {_number(drift.threshold)})</p>{_html_quality(f, result.current[f.name])}"
        f"{_svg(labels, ref, cur)}<p class='stats'>{html.escape(stats)}</p></section>"
    )


def render_html(result: Comparison) -> str:
    """A page per comparison: the verdicts, then each feature's data quality and
    histograms side by side."""
    report, meta = result.report, result.meta
    sections = "".join(_html_section(d, f, result) for d, f in _pairs(result))
    verdict = "drift" if report.dataset_drifted else "no drift"
    if result.quality_breaches:
        verdict += ", data-quality findings"
    summary = html.escape(quality_summary(result)).replace("\n", "<br>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Drift report</title>"
        "<style>body{font-family:sans-serif;margin:2em}section{margin-bottom:1.5em}"
        ".drift{color:#c62828}.stats{color:#555;font-size:smaller}"
        ".legend span{display:inline-block;width:1em;height:1em;margin:0 .3em}</style>"
        "</head><body>"
        f"<h1>Drift report: {verdict}</h1>"
        f"<p>reference {html.escape(str(meta.get('reference')))} "
        f"({meta.get('reference_rows')} rows) vs current {html.escape(str(meta.get('current')))} "
        f"({meta.get('current_rows')} rows); {sum(f.drifted for f in report.features)} of "
        f"{len(report.features)} features drifted (share {report.share_drifted:.2f}).</p>"
        f"<p>{summary}</p>"
        "<p class='legend'><span style='background:#9e9e9e'></span>reference"
        "<span style='background:#ef6c00'></span>current</p>"
        f"{sections}</body></html>"
    )
