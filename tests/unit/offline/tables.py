"""Small data files for the offline tests, and oracles that read them back without
the project's readers (the csv module; pyarrow's own null counts for Parquet)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

Value = float | str | None
ROWS = 3000


def write_csv(path: Path, columns: dict[str, list[Value]]) -> Path:
    """One column per key; None is an empty cell."""
    names = list(columns)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in zip(*columns.values(), strict=True):
            writer.writerow(["" if v is None else v for v in row])
    return path


def write_parquet(path: Path, columns: dict[str, list[Value]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({n: pa.array(v) for n, v in columns.items()}), path)
    return path


def csv_cells(path: Path, column: str) -> list[str]:
    with path.open(newline="") as f:
        return [row[column] for row in csv.DictReader(f)]


def csv_missing(path: Path, column: str) -> tuple[int, int]:
    """Empty cells of ``column``, and its rows."""
    cells = csv_cells(path, column)
    return sum(c == "" for c in cells), len(cells)


def parquet_missing(path: Path, column: str) -> tuple[int, int]:
    import pyarrow.parquet as pq

    values = pq.read_table(path, columns=[column]).column(column)
    return values.null_count, len(values)


def clean(seed: int, rows: int = ROWS) -> dict[str, list[Value]]:
    """A numeric feature ``x`` (standard normal), a positive one ``price`` and a
    categorical ``c``: no missing values, no zeros."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=rows).tolist(),
        "price": rng.uniform(5.0, 50.0, size=rows).tolist(),
        "c": rng.choice(["a", "b", "c"], size=rows).tolist(),
    }


def with_nulls(values: list[Value], every: int) -> list[Value]:
    """``values`` with every ``every``-th one missing (every=1: all)."""
    return [None if i % every == 0 else v for i, v in enumerate(values)]
