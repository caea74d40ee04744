"""One name per category, whatever type carried it: live events, CSV, Parquet, JSONL.

A warehouse served as ``3`` (JSON integer), ``3.0`` (JSON float, or a Parquet/CSV integer
column with nulls, which readers hand back as floats) or ``"3"`` is one category, named
``"3"``; if the reference and the live windows named it apart, the feature would drift in
every window. The rules (docs/drift.md, "How categories are named"):

- strings are names as they are (``"3.0"`` sent as text stays ``"3.0"``);
- integers, and floats with an integral value (up to 2**53, where floats are exact),
  are named by their decimal integer: ``3``, ``3.0`` and ``np.int64(3)`` are ``"3"``;
- other floats by their shortest round-trip repr (``0.1`` is ``"0.1"``);
- booleans are the integers 1 and 0 (``"1"``, ``"0"``): the event schema has no
  boolean (a served ``true`` arrives as ``1.0``), so only this reading agrees between a
  boolean reference column, a 0/1 one and live events;
- ``None`` and NaN are missing, not a category.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

#: Floats are exact integers up to here; beyond it a float keeps its repr.
_EXACT = 2.0**53
#: A name as an older profile gave an integral float ("3.0", "-12.0").
_FLOAT_CODED = re.compile(r"-?\d+\.0")
#: Distinct values at or above this share of a reference's values: id-like, unbounded.
UNBOUNDED_SHARE = 0.5
#: ... from this many values (a handful of rows says nothing about cardinality).
UNBOUNDED_MIN_VALUES = 20


def category_name(value: object) -> str | None:
    """The canonical name of one value; None for a missing one.

    >>> [category_name(v) for v in (3, 3.0, "3", True, 0.1, -0.0, None, float("nan"))]
    ['3', '3', '3', '1', '0.1', '0', None, None]
    """
    if value is None or type(value) is str:
        return value  # type: ignore[return-value]
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        x = float(value)
        if math.isnan(x):
            return None
        if x.is_integer() and abs(x) < _EXACT:
            return str(int(x))
        return repr(x)
    return str(value)


def name_counts(counts: Mapping[object, int]) -> Counter[str | None]:
    """Counts by canonical name (None: missing); values that name alike add up."""
    named: Counter[str | None] = Counter()
    for value, n in counts.items():
        named[category_name(value)] += n
    return named


def float_counts(values: np.ndarray) -> Counter[str | None]:
    """Counts by canonical name of a float column (NaN: missing), one pass in numpy."""
    missing = np.isnan(values)
    distinct, counts = np.unique(values[~missing], return_counts=True)
    named = name_counts(dict(zip(distinct.tolist(), counts.tolist(), strict=True)))
    if missing.any():
        named[None] += int(missing.sum())
    return named


def value_counts(values: Iterable[object]) -> Counter[str | None]:
    """Counts by canonical name of any values: strings are counted as they are, other
    values named once per distinct value (unhashable ones one by one, by ``str``)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return float_counts(values)
    values = values if isinstance(values, list | tuple | np.ndarray) else list(values)
    try:
        raw: Counter[object] = Counter(values)
    except TypeError:  # unhashable values
        return Counter(category_name(v) for v in values)
    if all(c is None or type(c) is str for c in raw):
        return raw  # type: ignore[return-value]
    return name_counts(raw)


def is_integral_name(name: str | None) -> bool:
    """Whether a canonical name is an integer's (``"3"``, ``"-12"``)."""
    return name is not None and name.lstrip("-").isdigit()


def looks_float_coded(names: Iterable[str]) -> bool:
    """Whether every name is an integral float's repr (``"3.0"``): what profiles built
    before names were canonical hold for integer-coded features."""
    names = list(names)
    return bool(names) and all(_FLOAT_CODED.fullmatch(n) for n in names)


def looks_unbounded(distinct: int, values: int, capacity: int) -> bool:
    """Whether a reference's category set looks unbounded (ids, not categories): more
    distinct values than the sketch tracks, or about one per value."""
    if distinct > capacity:
        return True
    return values >= UNBOUNDED_MIN_VALUES and distinct >= UNBOUNDED_SHARE * values
