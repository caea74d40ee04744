"""``run_comparison``'s data-quality findings: the worker's checks (missing, zero and
out-of-range shares against the reference's) on two files.

Oracles: shares counted from the written files with the csv module or pyarrow's own
null counts, never through the project's readers; and the live worker's evaluation
of the same rows folded as events."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pytest
from tests.unit.offline.tables import (
    ROWS,
    Value,
    clean,
    csv_cells,
    csv_missing,
    parquet_missing,
    with_nulls,
    write_csv,
    write_parquet,
)

from streams.alerting.evaluate import evaluate_window
from streams.config.models import ModelConfig, OnlineConfig
from streams.events.models import PredictionEvent
from streams.offline.compare import Comparison, run_comparison
from streams.offline.html_report import render_html
from streams.offline.render import render_json, render_table, report_dict
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState, take_ready

Writer = Callable[[Path, dict[str, list[Value]]], Path]
FORMATS = [
    pytest.param(write_csv, ".csv", csv_missing, id="csv"),
    pytest.param(write_parquet, ".parquet", parquet_missing, id="parquet"),
]


def _compare(tmp_path: Path, write: Writer, suffix: str, current: dict) -> tuple[Comparison, Path]:
    reference = write(tmp_path / f"ref{suffix}", clean(0))
    path = write(tmp_path / f"cur{suffix}", current)
    return run_comparison(reference, path), path


def _findings(result: Comparison) -> dict[tuple[str, str], float]:
    return {(b.feature, b.statistic): b.value for b in result.quality_breaches}


def _feature_json(result: Comparison, name: str) -> dict:
    (feature,) = [f for f in report_dict(result)["features"] if f["name"] == name]
    return feature


@pytest.mark.parametrize(("write", "suffix", "missing"), FORMATS)
def test_a_clean_pair_has_no_finding(
    tmp_path: Path, write: Writer, suffix: str, missing: Callable
) -> None:
    result, _ = _compare(tmp_path, write, suffix, clean(1))
    assert result.quality_judged and result.quality_breaches == []
    for f in report_dict(result)["features"]:
        assert f["quality"]["missing_rate"] == 0 and f["quality"]["findings"] == []
    assert "data quality: no finding (3 features checked)" in render_table(result)


@pytest.mark.parametrize(("write", "suffix", "missing"), FORMATS)
def test_a_half_null_column_is_a_finding_with_its_missing_rate(
    tmp_path: Path, write: Writer, suffix: str, missing: Callable
) -> None:
    current = clean(1)
    current["x"] = with_nulls(current["x"], 2)
    result, path = _compare(tmp_path, write, suffix, current)
    nulls, rows = missing(path, "x")
    assert 0 < nulls < rows  # the oracle saw a half-null column
    assert _findings(result) == {("x", "missing_rate_delta"): nulls / rows}  # reference: 0
    quality = _feature_json(result, "x")["quality"]
    assert (quality["missing"], quality["values"]) == (nulls, rows)
    assert quality["missing_rate"] == nulls / rows
    assert quality["findings"][0]["message"].startswith(
        f"missing rate {nulls / rows:.1%} ({nulls:,} of {rows:,} values"
    )


@pytest.mark.parametrize(("write", "suffix", "missing"), FORMATS)
def test_an_all_null_column_reads_all_values_missing(
    tmp_path: Path, write: Writer, suffix: str, missing: Callable
) -> None:
    current = clean(1)
    current["x"] = [None] * ROWS
    result, path = _compare(tmp_path, write, suffix, current)
    nulls, rows = missing(path, "x")
    assert nulls == rows == ROWS
    assert list(_findings(result)) == [("x", "missing_rate_delta")]
    feature = _feature_json(result, "x")
    assert feature["quality"]["findings"][0]["message"] == f"all {rows:,} values missing"
    # nothing to rate or test: null, never NaN, and never "no drift"
    assert feature["quality"]["zero_rate"] is None and feature["value"] is None
    assert not feature["tested"] and not feature["drifted"]
    assert "NaN" not in render_json(result)
    table = render_table(result)
    assert "untested (no values)" in table and f"x: all {rows:,} values missing" in table
    assert f"all {rows:,} values missing" in render_html(result)


def test_silent_zeros_are_a_zero_rate_finding(tmp_path: Path) -> None:
    current = clean(1)
    current["price"] = [0.0 if i % 3 == 0 else v for i, v in enumerate(current["price"])]
    result, path = _compare(tmp_path, write_csv, ".csv", current)
    cells = [float(c) for c in csv_cells(path, "price")]
    zeros = sum(c == 0 for c in cells) / len(cells)
    ref = [float(c) for c in csv_cells(tmp_path / "ref.csv", "price")]
    outside = sum(not min(ref) <= c <= max(ref) for c in cells) / len(cells)
    assert min(ref) > 0 and outside == zeros  # the zeros lie below the reference's range
    assert _findings(result) == {
        ("price", "zero_rate_delta"): zeros,
        ("price", "out_of_range_rate_delta"): outside,
    }


def test_values_outside_the_reference_range_are_a_finding(tmp_path: Path) -> None:
    current = clean(1)
    current["x"] = [v * 10 for v in current["x"]]  # a unit change upstream
    result, path = _compare(tmp_path, write_csv, ".csv", current)
    ref = [float(c) for c in csv_cells(tmp_path / "ref.csv", "x")]
    cells = [float(c) for c in csv_cells(path, "x")]
    outside = sum(not min(ref) <= c <= max(ref) for c in cells) / len(cells)
    assert outside > result.meta["thresholds"]["out_of_range_rate_delta"]
    assert _findings(result) == {("x", "out_of_range_rate_delta"): outside}
    assert _feature_json(result, "x")["quality"]["out_of_range_rate"] == outside
    assert "of values outside the reference range" in render_table(result)


def test_a_file_smaller_than_a_window_minimum_is_not_judged(tmp_path: Path) -> None:
    current = {name: values[:50] for name, values in clean(1).items()}
    current["x"] = [None] * 50
    result, _ = _compare(tmp_path, write_csv, ".csv", current)
    assert not result.quality_judged and result.quality_breaches == []
    assert report_dict(result)["quality"]["judged"] is False
    assert "data quality: not judged (50 rows" in render_table(result)


# --- offline = live ---------------------------------------------------------------

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
LIVE_ROWS = 400


def _broken_rows(rng: np.random.Generator) -> dict[str, list[Value]]:
    """One feature per failure: missing, zeros, out of range, missing categories."""
    n = LIVE_ROWS
    return {
        "missing": with_nulls(rng.normal(size=n).tolist(), 3),
        "zeros": [0.0 if i % 2 else v for i, v in enumerate(rng.normal(5, 1, size=n).tolist())],
        "range": [50.0 if i % 8 == 0 else v for i, v in enumerate(rng.normal(size=n).tolist())],
        "clean": rng.normal(size=n).tolist(),
        "c": with_nulls(rng.choice(["a", "b"], size=n).tolist(), 4),
    }


def _live_record(spec: ModelSpec, rows: dict[str, list[Value]]) -> dict:
    """The worker's record of one window of these rows: events folded by stage 1,
    closed by stage 2 and evaluated as the worker does."""
    agg = spec.new_window(T0)
    agg.fold(
        [
            PredictionEvent(
                model_id="m",
                model_version="1",
                prediction_id=f"p{i}",
                timestamp=datetime.fromtimestamp(T0 + i * 0.1, UTC),
                features={name: values[i] for name, values in rows.items()},
                prediction={"score": 0.5},
                latency_ms=10.0,
            )
            for i in range(LIVE_ROWS)
        ]
    )
    state = ModelState("m")
    state.num_partitions, state.open[T0], state.watermarks[0] = 1, agg, T0 + spec.config.window_s
    (ready,) = take_ready(state, spec.config.window_s)
    config = spec.config
    chooser = ReferenceChooser(
        config.id, spec.reference.features, config.drift.reference, config.window_s, {}.get
    )
    return evaluate_window(spec, state, ready, chooser, float(T0 + 3600)).record


def test_the_worker_and_streams_drift_find_the_same_quality_findings(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    reference = {
        "missing": rng.normal(size=2000).tolist(),
        "zeros": rng.normal(5, 1, size=2000).tolist(),
        "range": rng.normal(size=2000).tolist(),
        "clean": rng.normal(size=2000).tolist(),
        "c": rng.choice(["a", "b"], size=2000).tolist(),
    }
    types = {n: "categorical" if n == "c" else "numeric" for n in reference}
    config = ModelConfig(
        id="m",
        features=types,
        reference=tmp_path / "ref.json",
        window_s=60,
        drift={"online": OnlineConfig(enabled=False)},
    )
    profile = build_profile(reference, config.features)
    (tmp_path / "ref.json").write_bytes(profile.to_json())
    rows = _broken_rows(rng)

    live = _live_record(ModelSpec(config, profile), rows)
    offline = run_comparison(tmp_path / "ref.json", write_csv(tmp_path / "cur.csv", rows), config)

    live_findings = {
        (b["feature"], b["statistic"]): (b["value"], b["threshold"])
        for b in live["breaches"]
        if b["category"] == "data_quality"
    }
    offline_findings = {
        (b.feature, b.statistic): (b.value, b.threshold) for b in offline.quality_breaches
    }
    assert offline_findings == live_findings
    assert {f for f, _ in live_findings} == {"missing", "zeros", "range", "c"}
    rates = ("missing_rate", "zero_rate", "out_of_range_rate")
    for f in offline.features:
        live_stats = live["features"][f.name]
        assert {r: f.statistics.get(r) for r in rates} == {r: live_stats.get(r) for r in rates}
        assert all(math.isfinite(live_stats[r]) for r in rates if r in live_stats)
    assert orjson.loads(render_json(offline))["quality"]["features_with_findings"] == sorted(
        {f for f, _ in live_findings}, key=list(rows).index
    )
