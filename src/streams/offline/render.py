"""The three faces of an offline drift report: JSON for machines, a table for terminals,
and a self-contained HTML page (inline SVG, no scripts) for people."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from streams.drift.distances import aligned_counts
from streams.drift.engine import DriftReport, Sketch
from streams.sketches import NumericSketch

#: Categories drawn per categorical feature in the HTML histograms.
HTML_MAX_CATEGORIES = 20


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def report_dict(report: DriftReport, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The documented JSON shape (docs/drift.md); non-finite numbers become null."""
    return {
        **meta,
        "features": [
            {
                "name": f.name,
                "type": f.kind,
                "method": f.method,
                "threshold": f.threshold,
                "value": _finite(f.value),
                "drifted": f.drifted,
                "statistics": {k: _finite(v) for k, v in f.statistics.items()},
            }
            for f in report.features
        ],
        "dataset": {
            "drifted": report.dataset_drifted,
            "share_drifted": report.share_drifted,
            "drifted_features": [f.name for f in report.features if f.drifted],
        },
        "multivariate": {k: _finite(v) for k, v in report.multivariate.items()},
    }


def render_json(report: DriftReport, meta: Mapping[str, Any]) -> str:
    return orjson.dumps(report_dict(report, meta), option=orjson.OPT_INDENT_2).decode()


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4f}"


def render_table(report: DriftReport, meta: Mapping[str, Any]) -> str:
    """One line per feature, drifted ones marked, then the dataset and MMD lines."""
    header = ("feature", "type", "method", "value", "threshold", "drifted")
    rows = [
        (
            f.name,
            f.kind,
            f.method,
            _number(f.value),
            _number(f.threshold),
            "DRIFT" if f.drifted else "",
        )
        for f in report.features
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(0, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    drifted = sum(f.drifted for f in report.features)
    verdict = "DRIFT" if report.dataset_drifted else "no drift"
    lines.append(
        f"\ndataset: {verdict} ({drifted} of {len(report.features)} features, "
        f"share {report.share_drifted:.2f}, reference {meta.get('reference_rows')} rows, "
        f"current {meta.get('current_rows')} rows)"
    )
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


def render_html(
    report: DriftReport,
    meta: Mapping[str, Any],
    reference: Mapping[str, Sketch],
    current: Mapping[str, Sketch],
) -> str:
    """A page per comparison: the verdicts, then each feature's histograms side by side."""
    sections = []
    for f in report.features:
        labels, ref, cur = _bins(reference[f.name], current[f.name])
        stats = ", ".join(f"{k} {_number(v)}" for k, v in f.statistics.items())
        mark = '<b class="drift">drifted</b>' if f.drifted else "no drift"
        sections.append(
            f"<section><h2>{html.escape(f.name)} <small>{f.kind}</small></h2>"
            f"<p>{mark}: {f.method} {_number(f.value)} (threshold {_number(f.threshold)})</p>"
            f"{_svg(labels, ref, cur)}<p class='stats'>{html.escape(stats)}</p></section>"
        )
    verdict = "drift" if report.dataset_drifted else "no drift"
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
        "<p class='legend'><span style='background:#9e9e9e'></span>reference"
        "<span style='background:#ef6c00'></span>current</p>"
        f"{''.join(sections)}</body></html>"
    )
