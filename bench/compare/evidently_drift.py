"""Benchmark Evidently's DataDriftPreset on a reference and a current Parquet file.

Runs in the benchmark venv only (``bash bench/compare/setup.sh`` makes it). Make the
files with ``python bench/compare/data.py --rows 100000 --out DIR``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's telemetry opt-out

import evidently
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def column_types(schema: pa.Schema) -> tuple[list[str], list[str]]:
    """Split columns into (numerical, categorical) by Arrow type: numbers vs strings/bools."""
    numerical = [
        f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
    ]
    categorical = [f.name for f in schema if f.name not in numerical]
    return numerical, categorical


def load(path: Path) -> tuple[pd.DataFrame, pa.Schema]:
    table = pq.read_table(path)
    return table.to_pandas(), table.schema


def run(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    ref_df, schema = load(reference)
    cur_df, _ = load(current)
    load_s = time.perf_counter() - start
    numerical, categorical = column_types(schema)

    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for our own result
        start = time.perf_counter()
        definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
        ref = Dataset.from_pandas(ref_df, data_definition=definition)
        cur = Dataset.from_pandas(cur_df, data_definition=definition)
        snapshot = Report([DataDriftPreset()], include_tests=True).run(cur, ref)
        compute_s = time.perf_counter() - start

    drifted: list[str] = []
    scores: dict[str, dict[str, Any]] = {}
    for test in snapshot.dict()["tests"]:
        params = test["metric_config"]["params"]
        if not params["type"].endswith(":ValueDrift"):
            continue
        column = params["column"]
        scores[column] = {"method": params["method"], "threshold": params["threshold"]}
        if test["status"] == "FAIL":
            drifted.append(column)
    for metric in snapshot.dict()["metrics"]:
        column = metric.get("config", {}).get("column")
        if column in scores:
            scores[column]["score"] = metric["value"]
    return {
        "tool": "evidently",
        "version": evidently.__version__,
        "rows": len(cur_df),
        "reference_rows": len(ref_df),
        "features": len(schema),
        "numerical": len(numerical),
        "categorical": len(categorical),
        "seconds": compute_s,
        "load_seconds": load_s,
        "drifted_columns": drifted,
        "columns": scores,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(
            "Run Evidently's DataDriftPreset (default per-column tests) on two Parquet files. "
            "Numeric Arrow columns are declared numerical, all others categorical. "
            "'seconds' times Dataset.from_pandas + Report.run (per-column tests included); "
            "'load_seconds' times reading both files into pandas."
        )
    )
    parser.add_argument("--reference", type=Path, required=True, help="reference Parquet file")
    parser.add_argument("--current", type=Path, required=True, help="current Parquet file")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    result = run(args.reference, args.current)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"evidently {result['version']}: {result['reference_rows']} vs {result['rows']} "
            f"rows x {result['features']} features ({result['numerical']} num, "
            f"{result['categorical']} cat)\n"
            f"  report {result['seconds']:.2f} s, load {result['load_seconds']:.2f} s\n"
            f"  drifted: {', '.join(result['drifted_columns']) or 'none'}"
        )


if __name__ == "__main__":
    main()
