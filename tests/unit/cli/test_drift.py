"""``streams drift``'s exit contract with data quality: 0 without a finding, 1 on drift
or a data-quality finding (named, with its rate, in the report), 2 on bad input.

Oracles: the missing and zero shares counted from the written CSV with the csv module."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from tests.unit.offline.tables import ROWS, clean, csv_cells, csv_missing, with_nulls, write_csv

from streams.cli.main import main


def _drift(tmp_path: Path, current: dict, *extra: str) -> list[str]:
    reference = write_csv(tmp_path / "ref.csv", clean(0))
    path = write_csv(tmp_path / "cur.csv", current)
    return ["drift", "--reference", str(reference), "--current", str(path), *extra]


def test_a_clean_pair_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_drift(tmp_path, clean(1))) == 0
    assert "data quality: no finding" in capsys.readouterr().out


def test_a_half_null_column_exits_1_naming_it_and_its_missing_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    current = clean(1)
    current["price"] = with_nulls(current["price"], 2)
    argv = _drift(tmp_path, current)
    assert main(argv) == 1
    nulls, rows = csv_missing(tmp_path / "cur.csv", "price")
    out = capsys.readouterr().out
    assert f"price: missing rate {nulls / rows:.1%} ({nulls:,} of {rows:,} values" in out
    # a finding however drift is judged
    assert main([*argv, "--fail-on", "dataset"]) == 1


def test_an_all_null_column_exits_1_with_all_values_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    current = clean(1)
    current["x"] = [None] * ROWS
    assert main(_drift(tmp_path, current)) == 1
    out = capsys.readouterr().out
    assert f"x: all {ROWS:,} values missing" in out
    assert "nan" not in out.lower()


def test_a_zero_inflated_column_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    current = clean(1)
    current["price"] = [0.0 if i % 4 else v for i, v in enumerate(current["price"])]
    assert main(_drift(tmp_path, current)) == 1
    cells = csv_cells(tmp_path / "cur.csv", "price")
    zeros = sum(float(c) == 0 for c in cells) / len(cells)
    assert f"price: zero rate {zeros:.1%}" in capsys.readouterr().out


def test_json_output_carries_the_quality_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    current = clean(1)
    current["x"] = with_nulls(current["x"], 2)
    out = tmp_path / "report.json"
    assert main([*_drift(tmp_path, current), "--format", "json", "--output", str(out)]) == 1
    report = orjson.loads(out.read_bytes())
    nulls, rows = csv_missing(tmp_path / "cur.csv", "x")
    features = {f["name"]: f for f in report["features"]}
    assert features["x"]["quality"]["missing_rate"] == nulls / rows
    assert features["x"]["quality"]["findings"][0]["statistic"] == "missing_rate_delta"
    assert set(features["price"]["quality"]) >= {"zero_rate", "out_of_range_rate"}
    assert report["quality"] == {"judged": True, "findings": 1, "features_with_findings": ["x"]}


def test_html_output_shows_the_findings(tmp_path: Path) -> None:
    current = clean(1)
    current["x"] = [None] * ROWS
    out = tmp_path / "report.html"
    assert main([*_drift(tmp_path, current), "--format", "html", "--output", str(out)]) == 1
    page = out.read_text()
    summary = page.split('<table id="summary">', 1)[1].split("</table>", 1)[0]
    assert "data quality" in summary and f"all {ROWS:,} values missing" in summary


def test_help_states_the_exit_contract(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["drift", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "0 no finding, 1 drift or a data-quality finding, 2 error" in help_text


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = _drift(tmp_path, clean(1))
    argv[argv.index("--current") + 1] = str(tmp_path / "absent.csv")
    assert main(argv) == 2
    assert "file not found" in capsys.readouterr().err
