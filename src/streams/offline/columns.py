"""Read a tabular file (CSV, Parquet, JSONL) as numpy columns, through Arrow's readers.

Profiling and offline comparison read training-size files, so this path never makes a
Python object per numeric cell: numeric columns become float64 arrays (missing values
as NaN) and text columns dictionary codes (:class:`TextColumn`), or object arrays of
``str`` (missing values as None) for callers that want the values.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from streams.errors import StreamsError
from streams.sketches.categories import category_name, is_integral_name

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


#: What a categorical column was stored as: text, or numbers named as categories.
SourceKind = Literal["text", "integer", "float", "boolean"]


def _source_kind(kind: pa.DataType) -> SourceKind:
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "integer"
    return "float" if pa.types.is_floating(kind) else "text"


@dataclass(frozen=True)
class TextColumn:
    """A categorical column as dictionary codes: counting its categories is one
    bincount, not a pass over a Python object per cell. ``names`` are canonical
    category names (sketches/categories.py); the last is None, the code of missing
    cells. ``kind`` says what the file stored, so a float-coded column can be told."""

    codes: np.ndarray  # one code per row, indexing ``names``
    names: tuple[str | None, ...]
    kind: SourceKind = "text"

    @classmethod
    def encode(cls, column: pa.ChunkedArray) -> TextColumn:
        """Text kept as it is; numbers and booleans named by :func:`category_name`."""
        import pyarrow as pa

        encoded = column.combine_chunks()  # unifies the chunks' dictionaries
        if not pa.types.is_dictionary(encoded.type):
            encoded = encoded.dictionary_encode()
        kind = _source_kind(encoded.type.value_type)
        values = encoded.dictionary.to_pylist()
        names = (*(values if kind == "text" else map(category_name, values)), None)
        codes = encoded.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False)
        return cls(codes, names, kind)

    def __len__(self) -> int:
        return int(self.codes.size)

    def counts(self) -> dict[str | None, int]:
        """Rows per category (None: missing), present ones only; names that a float
        column's NaN shares with missing cells add up."""
        counts = np.bincount(self.codes, minlength=len(self.names)).tolist()
        out: dict[str | None, int] = {}
        for name, n in zip(self.names, counts, strict=True):
            if n:
                out[name] = out.get(name, 0) + n
        return out

    @property
    def float_coded(self) -> bool:
        """Stored as floats, every value integral: integer codes that a reader (or a
        null) turned into floats."""
        present = [n for n in self.names if n is not None]
        return self.kind == "float" and bool(present) and all(map(is_integral_name, present))

    def objects(self) -> np.ndarray:
        """An object array whose cells share one ``str`` per distinct value."""
        return np.array(self.names, dtype=object)[self.codes]


Column = np.ndarray | TextColumn


def read_columns(path: Path | str, categorical: Collection[str] = ()) -> dict[str, Column]:
    """Every column of the file, by name: numbers as float64 arrays (missing as NaN),
    text as a :class:`TextColumn`. Columns named in ``categorical`` are read as
    categories whatever their type: integers exactly (no detour through floats),
    booleans as 1 and 0, by the names live events get."""
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
        if _is_text(kind) or (name in categorical and _is_numeric(kind)):
            out[name] = TextColumn.encode(column)
        elif _is_numeric(kind):
            out[name] = column.cast(pa.float64()).to_numpy()
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
