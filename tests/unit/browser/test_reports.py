"""Both HTML reports in a real browser: no console message, every chart drawn with
its axes and labels, the severity summary first, no table wider than the page.

Skipped without Debian's ``chromium`` (``.ci/run`` installs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.browser.chromium import CHROMIUM, NOT_INSTALLED, open_page
from tests.unit.offline.tables import clean, write_csv
from tests.unit.postmortem.test_postmortem import MODEL, T0, W, alert, result

from streams.events.models import AlertCategory
from streams.offline.compare import run_comparison
from streams.offline.html_report import render_html as drift_html
from streams.postmortem.render import render_html as postmortem_html
from streams.postmortem.report import build_report

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NOT_INSTALLED)


def test_the_drift_report_draws_a_labelled_histogram_per_feature(tmp_path: Path) -> None:
    current = clean(1)
    current["x"] = [v + 0.5 for v in current["x"]]
    reference = write_csv(tmp_path / "ref.csv", clean(0))
    result = run_comparison(reference, write_csv(tmp_path / "cur.csv", current))
    page = open_page(drift_html(result), tmp_path)
    assert page.console == []
    probe = page.probe
    assert probe["title"] == "Drift report: cur.csv against ref.csv"
    plots = {p["id"]: p for p in probe["plots"]}
    assert len(plots) == len(result.features) == 3
    for i, feature in enumerate(result.features):
        plot = plots[f"histogram-{i}"]
        assert plot["svg"] >= 1 and plot["ytitle"] == "share of values"
        sketch = result.reference[feature.name]
        if feature.kind == "categorical":
            assert plot["xtitle"] == "category (all)"
            assert sorted(plot["xticks"]) == ["a", "b", "c"]
        else:
            assert "quantile edges" in plot["xtitle"]
            assert plot["xticks"][0] == f"< {sketch.lo:.3g}"
            assert len(plot["xticks"]) == len(sketch.counts)
        assert plot["bars"] == 2 * len(plot["xticks"])  # reference and current per bin
    assert probe["tables"][0]["id"] == "summary"
    assert probe["scrollWidth"] <= probe["pageWidth"]


def test_the_postmortem_draws_every_signal_and_its_tables_fit_the_page(tmp_path: Path) -> None:
    results = [result(i, zeroed=15 <= i < 30) for i in range(40)]
    drift = AlertCategory.data_drift
    alerts = [
        alert("firing", 16),
        alert("firing", 18, update=True),
        alert("firing", 20, ["item_price"], drift),
        alert("resolved", 25, ["item_price"], drift),
        alert("resolved", 32),
    ]
    report = build_report(MODEL, T0, T0 + 40 * W, results, alerts)
    page = open_page(postmortem_html(report, source="topics at broker:9092"), tmp_path)
    assert page.console == []
    probe = page.probe
    plots = {p["id"]: p for p in probe["plots"]}
    assert len(plots) == len(report.charts)
    for i, chart in enumerate(report.charts):
        plot = plots[f"signal-{i}"]
        assert plot["svg"] >= 1 and plot["xtitle"] == "window end (UTC)"
        assert plot["ytitle"] and len(plot["xticks"]) >= 2
        assert plot["shades"] == len(chart.shades), chart.title
    # the key-windows table (8 columns of series here) and the timeline fit the page
    assert probe["scrollWidth"] <= probe["pageWidth"]
    assert all(t["right"] <= probe["pageWidth"] for t in probe["tables"]), probe["tables"]
