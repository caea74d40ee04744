"""The drift report as one HTML page for people: a summary table of the features, most
severe first, the dataset and multivariate results, then per feature its verdict with
the numbers behind it, its data quality, and the histograms of both sides (Plotly,
``streams.plots``: the page works offline from the one file)."""

from __future__ import annotations

import html
import itertools
from pathlib import Path

import numpy as np

from streams.drift.distances import aligned_counts
from streams.drift.engine import Sketch
from streams.offline.compare import Comparison
from streams.offline.render import (
    dataset_line,
    multivariate_line,
    number,
    quality_dict,
    quality_summary,
)
from streams.offline.verdicts import Verdict, severity_order, verdicts
from streams.plots import CURRENT, REFERENCE, Bars, bars, figure_html, plotly_script
from streams.sketches import NumericSketch
from streams.windows.report import FeatureResult

#: Categories drawn per categorical feature, the most frequent of both sides.
HTML_MAX_CATEGORIES = 20

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;"
    "color:#212121}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #e0e0e0;padding:.25em .6em;text-align:left;vertical-align:top;"
    "font-size:.92em}th{background:#f5f5f5}"
    "td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    ".drift{color:#c62828;font-weight:600}.quality{color:#ad1457}"
    ".ok{color:#2e7d32}.muted{color:#616161;font-size:.92em}section{margin-bottom:2em}"
    "h3 small{font-weight:normal;color:#616161}"
)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def bins(reference: Sketch, current: Sketch) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """Bin labels (numeric: the reference's range and quantile edges; categorical: the
    most frequent categories), both sides' counts, and the x axis title."""
    if isinstance(reference, NumericSketch) and isinstance(current, NumericSketch):
        bounds = [reference.lo, *reference.edges.tolist(), reference.hi]
        inner = [f"[{a:.3g}, {b:.3g})" for a, b in itertools.pairwise(bounds)]
        inner[-1] = inner[-1][:-1] + "]"
        labels = [f"< {reference.lo:.3g}", *inner, f"> {reference.hi:.3g}"]
        title = "bin: the reference's min, quantile edges and max (outside: below, above)"
        return labels, reference.counts.astype(float), current.counts.astype(float), title
    names, ref, cur = aligned_counts(reference.counts, current.counts)  # type: ignore[union-attr]
    top = np.argsort(-(ref + cur), kind="stable")[:HTML_MAX_CATEGORIES]
    shown = f"the {len(top)} most frequent of {len(names)}" if len(names) > len(top) else "all"
    return [names[i] for i in top], ref[top], cur[top], f"category ({shown})"


def _shares(counts: np.ndarray, total: float) -> list[float]:
    return (counts / total if total else counts).tolist()


def histogram(index: int, reference: Sketch, current: Sketch) -> str:
    """Both sides' shares per bin (of all their values, so a category beyond the top
    ones still counts in the total)."""
    labels, ref, cur, title = bins(reference, current)
    if isinstance(reference, NumericSketch):
        ref_total, cur_total = ref.sum(), cur.sum()
    else:
        ref_total, cur_total = float(reference.n), float(current.n)
    sides = [
        Bars("reference", _shares(ref, ref_total), ref.tolist(), REFERENCE),
        Bars("current", _shares(cur, cur_total), cur.tolist(), CURRENT),
    ]
    return figure_html(bars(title, sides, labels), f"histogram-{index}")


def _verdict_cell(why: Verdict) -> str:
    cls = "drift" if why.drifted else "quality" if why.quality_findings else "ok"
    return f'<span class="{cls}">{_esc(why.verdict)}</span>'


def _summary_table(result: Comparison, ordered: list[tuple[int, Verdict]]) -> str:
    correction = result.meta["settings"]["correction"]
    head = ["Feature", "Type", "Verdict", "Drifts when", "p-value", f"p ({correction})"]
    head += ["Effect size", "Data quality"]
    rows = []
    for index, why in ordered:
        f = result.features[index]
        messages = [x["message"] for x in quality_dict(f, result.current[f.name])["findings"]]
        cells = [
            f'<a href="#feature-{index}">{_esc(why.name)}</a>',
            _esc(why.kind),
            _verdict_cell(why),
            f"<code>{_esc(why.rule)}</code>",
            f'<td class="num">{number(why.p_value)}',
            f'<td class="num">{number(why.p_value_corrected)}',
            f'<td class="num">{_esc(why.effect_statistic)} {number(why.effect)}',
            "<br>".join(_esc(m) for m in messages) or "-",
        ]
        rows.append(
            "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}" for c in cells) + "</tr>"
        )
    header = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join(rows)
    return f'<table id="summary"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _numbers(why: Verdict) -> str:
    """The verdict's numbers: the deciding statistic with its threshold, the effect."""
    if why.p_value is not None or why.p_value_corrected is not None:
        p = (
            f"{_esc(why.statistic)} {number(why.p_value)}, after the {_esc(why.correction)} "
            f"correction {number(why.p_value_corrected)} (drift below {why.threshold:.4g}); "
        )
    else:
        p = ""
    effect = (
        f"effect size {_esc(why.effect_statistic)} {number(why.effect)} "
        f"(drift above {why.effect_threshold:.4g})"
    )
    return f"<p>{p}{effect}</p>"


def _quality(f: FeatureResult, current: Sketch) -> str:
    """A feature's data-quality rates, and its findings."""
    quality = quality_dict(f, current)
    named = (
        ("missing", "missing_rate"),
        ("zeros", "zero_rate"),
        ("outside the reference range", "out_of_range_rate"),
    )
    rates = ", ".join(f"{n} {quality[k]:.2%}" for n, k in named if quality[k] is not None)
    found = "".join(f"<li class='quality'>{_esc(x['message'])}</li>" for x in quality["findings"])
    return f"<p>data quality: {rates or '-'}</p>" + (f"<ul>{found}</ul>" if found else "")


def _section(index: int, why: Verdict, result: Comparison) -> str:
    f = result.features[index]
    drift = result.report.features[index]
    stats = ", ".join(f"{k} {number(v)}" for k, v in drift.statistics.items())
    return (
        f'<section id="feature-{index}"><h3>{_esc(why.name)} <small>{_esc(why.kind)}, '
        f"{_esc(why.method)}</small> {_verdict_cell(why)}</h3>{_numbers(why)}"
        f"{_quality(f, result.current[f.name])}"
        f"{histogram(index, result.reference[f.name], result.current[f.name])}"
        f'<p class="muted">every statistic: {_esc(stats) or "-"}</p></section>'
    )


def title(result: Comparison) -> str:
    """``Drift report: today.parquet against train.parquet``."""
    reference, current = (Path(str(result.meta.get(k))).name for k in ("reference", "current"))
    return f"Drift report: {current} against {reference}"


def _settings(result: Comparison) -> str:
    s = result.meta["settings"]
    gates = ", ".join(f"{k} > {v:.4g}" for k, v in s["effect_gates"].items())
    return (
        f"Settings: p-value methods below {s['large_window']:,} values, level {s['p_value']:.4g} "
        f"after the {s['correction']} correction, effect gates {gates}; the dataset drifts "
        f"when a share of {s['dataset_share']:.2f} of its features does."
    )


def render_html(result: Comparison) -> str:
    """The page: title, verdict lines, the summary sorted by severity, the features."""
    ordered = sorted(enumerate(verdicts(result)), key=lambda p: severity_order(p[1]))
    meta = result.meta
    lines = [dataset_line(result), *quality_summary(result).split("\n  ")]
    lines.append(multivariate_line(result.report))
    page_title = _esc(title(result))
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            f"<title>{page_title}</title><style>{STYLE}</style>{plotly_script()}</head><body>",
            f"<h1>{page_title}</h1>",
            f'<p class="muted">reference {_esc(meta.get("reference"))} '
            f"({meta.get('reference_rows')} rows), current {_esc(meta.get('current'))} "
            f"({meta.get('current_rows')} rows)</p>",
            "<ul>" + "".join(f"<li>{_esc(line)}</li>" for line in lines) + "</ul>",
            "<h2>Features, most severe first</h2>",
            _summary_table(result, ordered),
            "<h2>Per feature</h2>",
            *(_section(i, why, result) for i, why in ordered),
            f'<p class="muted">{_esc(_settings(result))}</p></body></html>',
        ]
    )
