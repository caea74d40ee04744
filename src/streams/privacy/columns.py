"""The redaction rules on a reference's columns: live events arrive redacted, so the
reference they are compared with must be too (a hashed category against the raw one
would be a new category in every window)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from streams.offline.columns import TextColumn
from streams.privacy.redaction import PiiConfig, Redactor

Columns = Mapping[str, Sequence[object] | np.ndarray | TextColumn]


def redact_columns(redactor: Redactor, columns: Columns) -> dict[str, Any]:
    """The columns as the feature rules would leave each value (dropped ones gone)."""
    out: dict[str, Any] = {}
    for name, column in columns.items():
        rule = redactor.rules.get(f"features.{name}")
        if rule == "drop":
            continue
        if rule is None:
            out[name] = column
        elif isinstance(column, TextColumn):
            out[name] = _recoded(column, [redactor.value(rule, n) for n in column.names])
        elif isinstance(column, np.ndarray):
            out[name] = np.array([redactor.value(rule, float(v)) for v in column], dtype=float)
        else:
            out[name] = [redactor.value(rule, v) for v in column]
    return out


def _recoded(column: TextColumn, names: list[Any]) -> TextColumn:
    """Categories renamed; two that now share a name (a mask) become one."""
    unique = list(dict.fromkeys(n for n in names if n is not None))
    index = {n: i for i, n in enumerate(unique)}
    missing = len(unique)
    remap = np.array([missing if n is None else index[n] for n in names], dtype=np.int64)
    return replace(column, codes=remap[column.codes], names=(*unique, None))


def redactor_for(pii: PiiConfig | None) -> Redactor | None:
    """The model's redactor (its key read now), or None when it has no rules."""
    return None if pii is None else Redactor.from_config(pii)
