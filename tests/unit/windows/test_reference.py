"""Reference profiles: built from CSV, Parquet or JSONL, stored, and loaded back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streams.cli.main import main
from streams.devtools.simulator.datafiles import write_rows
from streams.sketches import NumericSketch
from streams.windows.reference_profile import (
    DEFAULT_BINS,
    ReferenceProfile,
    ReferenceProfileError,
    build_profile,
    infer_type,
    load_reference,
    numeric_bins,
)

CONFIG = """
models:
  - id: m
    features: {x: numeric, c: categorical}
    reference: ref.json
"""


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_reference_build_cli(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=1000)
    data = tmp_path / f"train{suffix}"
    write_rows(data, {"x": x, "c": rng.choice(["a", "b"], 1000), "unused": x})
    (tmp_path / "monitor.yaml").write_text(CONFIG)
    out = tmp_path / "ref.json"
    code = main(
        [
            "reference",
            "build",
            "--input",
            str(data),
            "--output",
            str(out),
            "--config",
            str(tmp_path / "monitor.yaml"),
        ]
    )
    assert code == 0
    profile = load_reference(out, {"x": "numeric", "c": "categorical"})
    assert set(profile.features) == {"x", "c"} and profile.rows == 1000
    sketch = profile.features["x"]
    assert isinstance(sketch, NumericSketch)
    # deciles of the data: each of the 10 inner bins holds a tenth of the rows
    assert np.allclose(sketch.counts[1:-1] / 1000, 0.1, atol=0.002)
    assert np.allclose(sketch.edges, np.quantile(x, np.linspace(0.1, 0.9, 9)))
    assert main(["config", "check", str(tmp_path / "monitor.yaml")]) == 0


def test_profile_round_trip_and_type_errors(tmp_path: Path) -> None:
    profile = build_profile({"x": [1.0, 2.0, None, 0.0], "c": ["u", None, "v", "u"]})
    assert profile.types == {"x": "numeric", "c": "categorical"}
    back = ReferenceProfile.from_json(profile.to_json())
    assert back.features["x"].to_dict() == profile.features["x"].to_dict()
    path = tmp_path / "p.json"
    path.write_bytes(profile.to_json())
    with pytest.raises(ReferenceProfileError, match="types differ from the config for: x"):
        load_reference(path, {"x": "categorical"})
    with pytest.raises(ReferenceProfileError, match="lacks configured features: y"):
        load_reference(path, {"y": "numeric"})
    with pytest.raises(ReferenceProfileError, match="is numeric in the config but holds 'oops'"):
        build_profile({"x": [1.0, "oops"]}, {"x": "numeric"})


@pytest.mark.parametrize("size", [1, 2, 7, 1000])
def test_reference_bins_are_numpys_quantiles(size: int) -> None:
    """The bins come from a sorted copy; numpy's own quantile is the oracle."""
    values = np.random.default_rng(size).lognormal(size=size)
    values[::5] = np.round(values[::5])  # ties
    sketch = numeric_bins(values)
    expected = np.unique(np.quantile(values, np.linspace(0, 1, DEFAULT_BINS + 1)[1:-1]))
    np.testing.assert_allclose(sketch.edges, expected, rtol=1e-12, atol=0)
    assert (sketch.lo, sketch.hi) == (values.min(), values.max())


def test_type_inference_reads_text_columns_by_their_first_value() -> None:
    assert infer_type([None, "a", 1.0]) == "categorical"
    assert infer_type([None, 1, 2.5]) == "numeric"
    assert infer_type([1, 2, "x"]) == "categorical"
    assert infer_type([None, None]) == "categorical"
    assert infer_type([True, 1]) == "categorical"  # booleans are categories


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_text_columns_count_from_their_codes_as_from_their_values(
    tmp_path: Path, suffix: str
) -> None:
    """Oracle: a Counter over the values read back one by one."""
    from collections import Counter

    from streams.offline.columns import TextColumn, read_arrays, read_columns

    rng = np.random.default_rng(4)
    text = [None if i % 7 == 0 else str(v) for i, v in enumerate(rng.choice(["a", "b", "c"], 500))]
    path = tmp_path / f"data{suffix}"
    write_rows(path, {"c": text, "x": rng.normal(size=500)})
    column = read_columns(path)["c"]
    assert isinstance(column, TextColumn) and len(column) == 500
    assert column.counts() == dict(Counter(text))
    assert read_arrays(path)["c"].tolist() == text
    coded, plain = build_profile(read_columns(path)), build_profile(read_arrays(path))
    for a, b in (
        (coded.features["c"], plain.features["c"]),
        (coded.features["x"], plain.features["x"]),
    ):
        assert a.to_bytes() == b.to_bytes()


def test_parquet_text_over_many_row_groups_counts_whole(tmp_path: Path) -> None:
    """Each row group has its own dictionary; the column's codes must span them all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from streams.offline.columns import read_columns

    values = ["a", "b"] * 500 + ["c"] * 10 + [None] * 3
    pq.write_table(pa.table({"s": values}), tmp_path / "rg.parquet", row_group_size=100)
    column = read_columns(tmp_path / "rg.parquet")["s"]
    assert column.counts() == {"a": 500, "b": 500, "c": 10, None: 3}  # type: ignore[union-attr]


def test_output_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`streams drift ... | head`: no traceback, the shell's code for SIGPIPE."""
    import subprocess
    import sys

    data = tmp_path / "d.csv"
    write_rows(data, {"x": np.arange(100.0)})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streams",
            "drift",
            "--reference",
            str(data),
            "--current",
            str(data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # type: ignore[union-attr]  # the reader is gone before the output
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 141 and b"Traceback" not in stderr, stderr.decode()
