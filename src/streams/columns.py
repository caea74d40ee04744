"""Read a tabular file (CSV, Parquet, JSONL) as numpy columns, through Arrow's readers.

Profiling and offline comparison read training-size files, so this path never makes a
Python object per numeric cell: numeric columns become float64 arrays (missing values
as NaN) and text columns object arrays of ``str`` (missing values as None).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

SUFFIXES = (".csv", ".parquet", ".jsonl")


class ColumnsError(ValueError):
    """The file cannot be read as a table of numbers and strings; says which and why."""


def _read_table(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ColumnsError(f"{path}: unsupported file type; use one of {', '.join(SUFFIXES)}")
    if not path.exists():
        raise ColumnsError(f"{path}: file not found")
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix == ".csv":
            import pyarrow.csv as pacsv

            return pacsv.read_csv(path)
        import pyarrow.json as pajson

        return pajson.read_json(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ColumnsError(f"{path}: cannot read: {exc}") from None


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """A text column as an object array whose cells share one ``str`` per distinct value
    (dictionary-encoded first: no Python object per cell is made)."""
    encoded = column.combine_chunks().dictionary_encode()
    names = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    codes = encoded.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False)
    return names[codes]


def read_arrays(path: Path | str) -> dict[str, np.ndarray]:
    """Every column of the file, by name.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
    >>> _ = open(p, "w").write("x,c\\n1.5,a\\n,b\\n")
    >>> cols = read_arrays(p)
    >>> cols["x"].tolist(), cols["c"].tolist()
    ([1.5, nan], ['a', 'b'])
    """
    path = Path(path)
    table = _read_table(path)
    out: dict[str, np.ndarray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if _is_numeric(kind):
            out[name] = column.cast(pa.float64()).to_numpy()
        elif _is_text(kind):
            out[name] = _objects(column)
        else:
            raise ColumnsError(
                f"{path}: column {name!r} has type {kind}; only numbers and strings are supported"
            )
    return out


def infer_types(columns: dict[str, np.ndarray]) -> dict[str, str]:
    """Numeric for float columns, categorical for text ones."""
    return {n: "numeric" if a.dtype.kind == "f" else "categorical" for n, a in columns.items()}
