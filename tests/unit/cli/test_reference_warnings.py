"""``streams reference build`` and ``streams config check`` warn, one line each on stderr
and with an unchanged exit status, about float-coded and unbounded categorical
references; clean references get no warning."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from streams.cli.main import main

ROWS = 400


def write_reference(path: Path, warehouse: pa.Array) -> None:
    colors = pa.array(["red", "blue"] * (ROWS // 2))
    pq.write_table(pa.table({"warehouse": warehouse, "color": colors}), path)


def monitor(tmp_path: Path, reference: str) -> Path:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "models: [{id: m, features: {warehouse: categorical, color: categorical}, "
        f"reference: {reference}}}]\n"
    )
    return config


COLUMNS = {
    "clean": pa.array([1, 2, None, 3] * (ROWS // 4), type=pa.int64()),
    "float-coded": pa.array([1.0, 2.0, None, 3.0] * (ROWS // 4)),
    "unbounded": pa.array([f"order-{i}" for i in range(ROWS)]),
    "ids-within-capacity": pa.array([f"order-{i // 5}" for i in range(ROWS // 5)] * 5),
}
EXPECTED = {
    "clean": None,
    "float-coded": "integral floats",
    "unbounded": "more than 100 distinct categories",
    "ids-within-capacity": None,  # 80 categories of 5 rows each: bounded
}


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": warning: " in line]


@pytest.mark.parametrize("case", sorted(COLUMNS))
def test_reference_build_warns_and_still_succeeds(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "ref.parquet"
    write_reference(data, COLUMNS[case])
    config = monitor(tmp_path, "ref.json")
    out = tmp_path / "ref.json"
    assert main(["reference", "build", "--input", str(data), "--output", str(out),
                 "--config", str(config)]) == 0  # fmt: skip
    lines = warnings(capsys.readouterr().err)
    if EXPECTED[case] is None:
        assert lines == []
    else:
        (line,) = lines
        assert line.startswith("streams reference build: warning: ")
        assert "warehouse" in line and EXPECTED[case] in line
    assert out.exists()


@pytest.mark.parametrize("case", sorted(COLUMNS))
def test_config_check_warns_on_a_data_file_reference(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    write_reference(tmp_path / "ref.parquet", COLUMNS[case])
    config = monitor(tmp_path, "ref.parquet")
    assert main(["config", "check", str(config)]) == 0
    captured = capsys.readouterr()
    lines = warnings(captured.err)
    assert len(lines) == (EXPECTED[case] is not None)
    assert all(EXPECTED[case] in line and "m: " in line for line in lines)
    assert ": ok: " in captured.out


def test_config_check_warns_on_a_profile_with_float_coded_names(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A profile built before names were canonical holds "3.0" where events say "3"."""
    write_reference(tmp_path / "ref.parquet", COLUMNS["clean"])
    config = monitor(tmp_path, "ref.json")
    build = ["reference", "build", "--input", str(tmp_path / "ref.parquet")]
    assert main([*build, "--output", str(tmp_path / "ref.json"), "--config", str(config)]) == 0
    assert main(["config", "check", str(config)]) == 0
    assert warnings(capsys.readouterr().err) == []
    profile = orjson.loads((tmp_path / "ref.json").read_bytes())
    tracked = profile["features"]["warehouse"]["sketch"]["tracked"]
    profile["features"]["warehouse"]["sketch"]["tracked"] = {
        f"{k}.0": v for k, v in tracked.items()
    }
    (tmp_path / "ref.json").write_bytes(orjson.dumps(profile))
    assert main(["config", "check", str(config)]) == 0
    (line,) = warnings(capsys.readouterr().err)
    assert "warehouse" in line and "float-coded" in line and "rebuild" in line
