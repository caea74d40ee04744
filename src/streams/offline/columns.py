"""Read a tabular file (CSV, Parquet, JSONL) as numpy columns, through Arrow's readers.

Profiling and offline comparison read training-size files, so this path never makes a
Python object per numeric cell: numeric columns become float64 arrays (missing values
as NaN) and text columns dictionary codes (:class:`TextColumn`), or object arrays of
``str`` (missing values as None) for callers that want the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from streams.errors import StreamsError

if TYPE_CHECKING:  # pyarrow is imported where files are read: the worker never needs it
    import pyarrow as pa

SUFFIXES = (".csv", ".parquet", ".jsonl")


class ColumnsError(StreamsError, ValueError):
    """The data file is not a table of numbers and strings: fix or convert the file it names."""


def _read_table(path: Path) -> pa.Table:
    import pyarrow as pa

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ColumnsError(f"{path}: unsupported file type; use one of {', '.join(SUFFIXES)}")
    if not path.exists():
        raise ColumnsError(f"{path}: file not found")
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            # text read as dictionaries: no string per cell is materialised
            text = [f.name for f in pq.read_schema(path) if _is_text(f.type)]
            return pq.read_table(path, read_dictionary=text)
        if suffix == ".csv":
            import pyarrow.csv as pacsv

            # an empty text cell is missing, as an empty number cell is
            options = pacsv.ConvertOptions(strings_can_be_null=True)
            return pacsv.read_csv(path, convert_options=options)
        import pyarrow.json as pajson

        return pajson.read_json(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ColumnsError(f"{path}: cannot read: {exc}") from None


def _is_numeric(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)


@dataclass(frozen=True)
class TextColumn:
    """A text column as dictionary codes: counting its categories is one bincount, not
    a pass over a Python object per cell. The last name is None, the code of missing
    cells."""

    codes: np.ndarray  # one code per row, indexing ``names``
    names: tuple[str | None, ...]

    @classmethod
    def encode(cls, column: pa.ChunkedArray) -> TextColumn:
        import pyarrow as pa

        encoded = column.combine_chunks()  # unifies the chunks' dictionaries
        if not pa.types.is_dictionary(encoded.type):
            encoded = encoded.dictionary_encode()
        names = (*encoded.dictionary.to_pylist(), None)
        codes = encoded.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False)
        return cls(codes, names)

    def __len__(self) -> int:
        return int(self.codes.size)

    def counts(self) -> dict[str | None, int]:
        """Rows per category (None: missing), present ones only."""
        counts = np.bincount(self.codes, minlength=len(self.names)).tolist()
        return {name: n for name, n in zip(self.names, counts, strict=True) if n}

    def objects(self) -> np.ndarray:
        """An object array whose cells share one ``str`` per distinct value."""
        return np.array(self.names, dtype=object)[self.codes]


Column = np.ndarray | TextColumn


def read_columns(path: Path | str) -> dict[str, Column]:
    """Every column of the file, by name: numbers as float64 arrays (missing as NaN),
    text as a :class:`TextColumn`."""
    import pyarrow as pa

    path = Path(path)
    table = _read_table(path)
    out: dict[str, Column] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
            if not _is_text(kind):
                column = column.cast(kind)
        if _is_numeric(kind):
            out[name] = column.cast(pa.float64()).to_numpy()
        elif _is_text(kind):
            out[name] = TextColumn.encode(column)
        else:
            raise ColumnsError(
                f"{path}: column {name!r} has type {kind}; only numbers and strings are supported"
            )
    return out


def read_arrays(path: Path | str) -> dict[str, np.ndarray]:
    """Every column of the file, by name, text as object arrays (None for missing).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
    >>> _ = open(p, "w").write("x,c\\n1.5,a\\n,b\\n")
    >>> cols = read_arrays(p)
    >>> cols["x"].tolist(), cols["c"].tolist()
    ([1.5, nan], ['a', 'b'])
    """
    return {
        name: column.objects() if isinstance(column, TextColumn) else column
        for name, column in read_columns(path).items()
    }


def infer_types(columns: dict[str, np.ndarray]) -> dict[str, str]:
    """Numeric for float columns, categorical for text ones."""
    return {n: "numeric" if a.dtype.kind == "f" else "categorical" for n, a in columns.items()}
