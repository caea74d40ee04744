"""The drift report's faces say why each feature drifted: the deciding statistic by
name, the raw and the corrected p-value, the effect size and its gate; the HTML page
sorts its summary by severity and labels its histograms.

Oracles: scipy's Benjamini-Hochberg (``false_discovery_control``) for the corrected
p-values; the configured gates (``EffectGates``) for the thresholds; the written files
for the categories and the bin counts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import false_discovery_control
from tests.unit.offline.tables import clean, write_csv

from streams.config.models import DistanceThresholds, EffectGates
from streams.offline.compare import Comparison, run_comparison
from streams.offline.html_report import bins, render_html
from streams.offline.render import render_table, report_dict


def _compare(tmp_path: Path, current: dict, rows: int | None = None) -> Comparison:
    reference = write_csv(tmp_path / "ref.csv", clean(0))
    if rows is not None:
        current = {k: v[:rows] for k, v in current.items()}
    return run_comparison(reference, write_csv(tmp_path / "cur.csv", current))


def _shifted(seed: int = 1) -> dict:
    """``x`` shifted by half a standard deviation, ``c`` skewed to ``a``."""
    current = clean(seed)
    current["x"] = [v + 0.5 for v in current["x"]]
    current["c"] = ["a" if i % 2 else v for i, v in enumerate(current["c"])]
    return current


def test_p_value_methods_show_raw_and_corrected_p_and_the_effect_gate(tmp_path: Path) -> None:
    result = _compare(tmp_path, _shifted(), rows=500)  # below large_window: KS, chi2
    features = {f["name"]: f for f in report_dict(result)["features"]}
    assert {f["method"] for f in features.values()} == {"ks", "chi2"}
    raw = [features[n]["statistics"][features[n]["statistic"]] for n in features]
    corrected = false_discovery_control(raw, method="bh")
    gates = EffectGates()
    for (name, f), p, bh in zip(features.items(), raw, corrected, strict=True):
        assert f["statistic"] == f"{f['method']}_p_value"
        assert f["p_value"] == p
        assert f["p_value_corrected"] == pytest.approx(min(bh, 1.0), rel=1e-12), name
        assert f["value"] == f["p_value_corrected"]
        effect = f["effect_size"]
        assert effect["statistic"] == {"ks": "ks", "chi2": "chi2_effect_size"}[f["method"]]
        assert effect["value"] == f["statistics"][effect["statistic"]]
        assert effect["threshold"] == getattr(gates, f["method"])
    assert features["x"]["drifted"] and not features["price"]["drifted"]
    # the table names the rule and shows both p-values of each feature
    table = render_table(result)
    (x_line,) = [line for line in table.splitlines() if line.startswith("x ")]
    assert "ks_p_value (bh) < 0.01 and ks > 0.15" in x_line
    assert f"{features['x']['p_value']:.2e}" in x_line
    assert f"{features['x']['p_value_corrected']:.2e}" in x_line
    assert table.splitlines()[0].split()[:6] == [
        "feature",
        "type",
        "drifts",
        "when",
        "p-value",
        "p",
    ]


def test_distance_methods_have_no_p_value_and_their_distance_is_the_effect(
    tmp_path: Path,
) -> None:
    result = _compare(tmp_path, _shifted())  # 3,000 rows: distances decide
    thresholds = DistanceThresholds()
    for f in report_dict(result)["features"]:
        assert f["method"] in ("wasserstein", "jensen_shannon")
        assert f["p_value"] is None and f["p_value_corrected"] is None
        assert f["effect_size"] == {
            "statistic": f["method"],
            "value": f["statistics"][f["method"]],
            "threshold": getattr(thresholds, f["method"]),
        }
    table = render_table(result)
    assert "wasserstein > 0.25" in table and "jensen_shannon > 0.1" in table
    assert re.search(
        r"^multivariate: MMD\^2 \S+, permutation p-value \S+ on \d+ joint", table, re.M
    )


def _summary_features(page: str) -> list[str]:
    summary = page.split('<table id="summary">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="#feature-\d+">([^<]+)</a>', summary)


def test_html_summary_is_sorted_by_severity_and_the_page_says_what_it_compares(
    tmp_path: Path,
) -> None:
    current = _shifted()
    current["price"] = [0.0 if i % 3 == 0 else v for i, v in enumerate(current["price"])]
    result = _compare(tmp_path, current)
    drifted = {f["name"]: f["drifted"] for f in report_dict(result)["features"]}
    assert drifted == {"x": True, "price": True, "c": True}  # zeros move price too
    page = render_html(result)
    assert "<title>Drift report: cur.csv against ref.csv</title>" in page
    # price: drift and a data-quality finding; then the drifts, the largest effect first
    found = report_dict(result)["features"]
    ratio = {f["name"]: f["effect_size"]["value"] / f["effect_size"]["threshold"] for f in found}
    rest = sorted(("x", "c"), key=lambda n: -ratio[n])
    assert _summary_features(page) == ["price", *rest]
    assert "drift, data quality" in page and "zero rate" in page
    assert "multivariate: MMD^2 " in page
    assert page.count('class="plotly-graph-div"') == 3


def test_a_clean_feature_sorts_after_every_finding(tmp_path: Path) -> None:
    current = clean(1)
    current["x"] = [None if i % 2 else v for i, v in enumerate(current["x"])]
    page = render_html(_compare(tmp_path, current))
    order = _summary_features(page)
    assert order[0] == "x" and set(order) == {"x", "price", "c"}


def test_histogram_bins_are_labelled_with_edges_and_categories(tmp_path: Path) -> None:
    current = _shifted()
    result = _compare(tmp_path, current)
    ref, cur = result.reference["x"], result.current["x"]
    labels, ref_counts, cur_counts, title = bins(ref, cur)
    edges = [f"{e:.3g}" for e in ref.edges]
    assert len(labels) == len(edges) + 3 and "quantile edges" in title
    assert labels[0] == f"< {ref.lo:.3g}" and labels[-1] == f"> {ref.hi:.3g}"
    for label, left in zip(labels[2:-1], edges, strict=True):
        assert label.startswith(f"[{left}, ")
    assert cur_counts.sum() == len(current["x"]) and ref_counts.sum() == len(clean(0)["x"])
    labels, ref_counts, cur_counts, title = bins(result.reference["c"], result.current["c"])
    written = {name: current["c"].count(name) for name in set(current["c"])}
    assert dict(zip(labels, cur_counts.tolist(), strict=True)) == written
    assert title == "category (all)"
    assert np.all(ref_counts > 0)
