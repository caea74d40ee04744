"""Read and write small tabular files (reference data) by extension.

One reader for every format keeps the reference-profile builder format-agnostic:
``read_columns`` always returns plain Python lists with floats for numbers,
``str`` for strings and None for missing values (NaN included), whatever the
file held.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson

SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".jsonl")

Columns = Mapping[str, "list[Any] | np.ndarray"]


def _format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ValueError(
            f"unsupported file extension {suffix or '(none)'!r} for {path}; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return suffix


def _normalise(value: Any) -> Any:
    """One cell as read: float for numbers, str for strings, None for missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return None if math.isnan(number) else number
    raise ValueError(
        f"unsupported value {value!r} ({type(value).__name__}): only numbers and strings"
    )


def _to_list(name: str, values: list[Any] | np.ndarray) -> list[Any]:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"column {name!r} must be one-dimensional")
        values = values.tolist()
    return [_normalise(v) for v in values]


def _prepare(columns: Columns) -> dict[str, list[Any]]:
    out = {str(name): _to_list(str(name), values) for name, values in columns.items()}
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in out.items())
        raise ValueError(f"columns differ in length: {sizes}")
    return out


def write_rows(path: str | Path, columns: Columns) -> None:
    """Write columns (name -> list or 1-d array; None or NaN for missing) to ``path``,
    in the format its extension names (creating the parent directory)."""
    fmt = _format(path)
    data = _prepare(columns)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ".csv":
        _write_csv(path, data)
    elif fmt == ".parquet":
        _write_parquet(path, data)
    else:
        _write_jsonl(path, data)


def read_columns(path: str | Path) -> dict[str, list[Any]]:
    """Read a file written by ``write_rows`` (or any simple table in one of the formats)."""
    fmt = _format(path)
    if fmt == ".csv":
        return _read_csv(Path(path))
    if fmt == ".parquet":
        return _read_parquet(Path(path))
    return _read_jsonl(Path(path))


def _rows(data: dict[str, list[Any]]) -> Iterable[tuple[Any, ...]]:
    return zip(*data.values(), strict=True)


# --- CSV: an empty field is missing; a column whose fields all parse as numbers is numeric


def _write_csv(path: Path, data: dict[str, list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(data)
        for row in _rows(data):
            writer.writerow(
                "" if v is None else repr(v) if isinstance(v, float) else v for v in row
            )


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path: Path) -> dict[str, list[Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return {}
        raw: list[list[str]] = [[] for _ in header]
        for lineno, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(
                    f"{path}:{lineno}: {len(row)} fields, the header has {len(header)}"
                )
            for cells, cell in zip(raw, row, strict=True):
                cells.append(cell)
    out: dict[str, list[Any]] = {}
    for name, cells in zip(header, raw, strict=True):
        numbers = [None if c == "" else _parse_float(c) for c in cells]
        if all(n is not None or c == "" for n, c in zip(numbers, cells, strict=True)):
            out[name] = [None if n is None or math.isnan(n) else n for n in numbers]
        else:
            out[name] = [None if c == "" else c for c in cells]
    return out


# --- Parquet: numbers as float64, strings as string, missing as null


def _write_parquet(path: Path, data: dict[str, list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in data.items():
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {float}:
            arrays[name] = pa.array(values, type=pa.float64())
        elif kinds <= {str}:
            arrays[name] = pa.array(values, type=pa.string())
        else:
            raise ValueError(f"column {name!r} mixes numbers and strings: parquet needs one type")
    pq.write_table(pa.table(arrays), path)


def _read_parquet(path: Path) -> dict[str, list[Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: [_normalise(v) for v in values] for name, values in table.to_pydict().items()}


# --- JSON lines: one object per row, null for missing; absent keys are missing too


def _write_jsonl(path: Path, data: dict[str, list[Any]]) -> None:
    names = list(data)
    with path.open("wb") as fh:
        for row in _rows(data):
            fh.write(orjson.dumps(dict(zip(names, row, strict=True))))
            fh.write(b"\n")


def _read_jsonl(path: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    count = 0
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object per line")
            for name, value in row.items():
                if name not in out:
                    out[name] = [None] * count
                try:
                    out[name].append(_normalise(value))
                except ValueError as exc:
                    raise ValueError(f"{path}:{lineno}: column {name!r}: {exc}") from None
            count += 1
            for values in out.values():
                if len(values) < count:
                    values.append(None)
    return out
