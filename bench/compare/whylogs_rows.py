"""Benchmark whylogs logging throughput: per-row (streaming style) and batch (pandas).

Runs in the benchmark venv only (``bash bench/compare/setup.sh`` makes it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")  # no usage-stats thread phoning home

import pandas as pd
import whylogs as why
from data import make_frames

WARMUP_ROWS = 100


def to_rows(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn column arrays into per-row dicts of plain Python values (str/float)."""
    names = list(columns)
    values = [columns[n].tolist() for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def run(
    rows: int, features: int, seed: int, per_row_limit: int, frame_rows: int | None = None
) -> dict[str, Any]:
    if frame_rows is not None and frame_rows < rows:
        raise ValueError(f"frame_rows ({frame_rows}) must be at least rows ({rows})")
    columns, _ = make_frames(frame_rows or rows, features, seed)
    columns = {name: values[:rows] for name, values in columns.items()}
    records = to_rows(columns)
    frame = pd.DataFrame(columns)
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for our own result
        for record in records[:WARMUP_ROWS]:  # first calls build type resolvers etc.
            why.log(row=record)

        per_row = records[:per_row_limit]
        start = time.perf_counter()
        for record in per_row:
            why.log(row=record)  # one new profile per row, as per-row users call it
        per_row_s = time.perf_counter() - start

        start = time.perf_counter()
        profile = why.log(pandas=frame).profile()
        batch_s = time.perf_counter() - start

        rolling = why.logger(mode="rolling", interval=1, when="H", base_name="bench")
        for record in records[:WARMUP_ROWS]:
            rolling.log(row=record)
        start = time.perf_counter()
        for record in records:
            rolling.log(row=record)  # documented streaming logger: one profile per hour
        rolling_s = time.perf_counter() - start
        rolling.close()  # no writers attached: nothing is written

    counted = profile.view().get_column(next(iter(columns))).to_summary_dict()["counts/n"]
    if counted != rows:
        raise RuntimeError(f"whylogs batch profile counted {counted} rows, expected {rows}")
    return {
        "tool": "whylogs",
        "version": why.__version__,
        "rows": rows,
        "features": features,
        "per_row_rows": len(per_row),
        "seconds_per_row_mode": per_row_s,
        "rows_per_s_per_row": len(per_row) / per_row_s,
        "seconds_batch": batch_s,
        "rows_per_s_batch": rows / batch_s,
        "seconds_rolling": rolling_s,
        "rows_per_s_rolling": rows / rolling_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(
            "Time whylogs on rows from data.make_frames (reference frame). "
            "per_row: why.log(row=dict) once per row, each call making a new profile "
            f"(after {WARMUP_ROWS} untimed warm-up rows); batch: one why.log(pandas=df) "
            "over all rows; rolling: why.logger(mode='rolling').log(row=dict) per row into one "
            "accumulating profile (also after warm-up). "
            "Building the dicts and the DataFrame is not timed."
        )
    )
    parser.add_argument("--rows", type=int, default=20_000, help="rows to log (default 20000)")
    parser.add_argument("--features", type=int, default=25, help="features (default 25)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    parser.add_argument(
        "--per-row-limit",
        type=int,
        default=2_000,
        help="time why.log(row=...) on at most this many rows (default 2000; ~50 rows/s)",
    )
    parser.add_argument(
        "--frame-rows",
        type=int,
        help="make the frame with this many rows and log its first --rows rows, so the rows "
        "equal those of a benchmark that uses make_frames(frame_rows) (default: --rows)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    result = run(args.rows, args.features, args.seed, args.per_row_limit, args.frame_rows)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"whylogs {result['version']}: {result['rows']} rows x {result['features']} features\n"
            f"  per-row why.log(row=...): {result['rows_per_s_per_row']:,.0f} rows/s "
            f"({result['seconds_per_row_mode']:.2f} s for {result['per_row_rows']} rows)\n"
            f"  batch why.log(pandas=...): {result['rows_per_s_batch']:,.0f} rows/s "
            f"({result['seconds_batch']:.3f} s)\n"
            f"  rolling logger.log(row=...): {result['rows_per_s_rolling']:,.0f} rows/s "
            f"({result['seconds_rolling']:.2f} s)"
        )


if __name__ == "__main__":
    main()
