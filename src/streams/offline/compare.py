"""Offline comparison of two files with the live engine: profile the reference (or load
its stored profile), sketch the current file on the reference's bins, and compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.config.models import DriftConfig, ModelConfig
from streams.drift.engine import DriftReport, Sketch, compare
from streams.offline.columns import TextColumn, read_columns
from streams.sketches import NumericSketch
from streams.windows.reference_profile import (
    ReferenceProfile,
    ReferenceProfileError,
    build_profile,
    categorical_names,
    fold_column,
    row_keys,
)

#: Key seeds of the two sides' rows: fixed, so the same files give the same report.
CURRENT_SEED = 2


@dataclass
class Comparison:
    report: DriftReport
    reference: dict[str, Sketch]
    current: dict[str, Sketch]
    meta: dict[str, Any]


def _profile(path: Path, types: dict[str, str] | None) -> ReferenceProfile:
    if path.suffix == ".json":
        if not path.exists():
            raise ReferenceProfileError(f"{path}: reference not found")
        return ReferenceProfile.from_json(path.read_bytes(), str(path))
    columns = read_columns(path, categorical=categorical_names(types))
    return build_profile(columns, types, source=str(path))


def run_comparison(
    reference: Path,
    current: Path,
    model: ModelConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Compare the configured features (or every column of the reference)."""
    types = dict(model.features) if model else None
    profile = _profile(reference, types)
    if progress:
        progress("reference")
    names = list(types or profile.features)
    absent = sorted(set(names) - set(profile.features))
    if absent:
        raise ReferenceProfileError(f"{reference}: reference lacks features: {', '.join(absent)}")
    columns = read_columns(current, categorical=categorical_names(types))
    absent = sorted(set(names) - set(columns))
    if absent:
        raise ReferenceProfileError(f"{current}: current data lacks columns: {', '.join(absent)}")
    rows = len(columns[names[0]]) if names else 0
    keys = row_keys(rows, CURRENT_SEED)
    sketches = profile.empty_sketches(names)
    for name, sketch in sketches.items():
        column = columns[name]
        if isinstance(sketch, NumericSketch) and isinstance(column, TextColumn):
            raise ReferenceProfileError(
                f"{current}: column {name!r} is numeric in the reference, not here"
            )
        fold_column(sketch, column, keys)
    if progress:
        progress("current")
    drift = model.drift if model else DriftConfig()
    report = compare(profile.features, sketches, drift)
    meta = {
        "reference": str(reference),
        "current": str(current),
        "reference_rows": profile.rows,
        "current_rows": rows,
        "settings": {
            "large_window": drift.large_window,
            "p_value": drift.p_value,
            "correction": drift.correction,
            "dataset_share": drift.dataset_share,
        },
    }
    return Comparison(report, {n: profile.features[n] for n in names}, sketches, meta)
