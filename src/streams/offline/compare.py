"""Offline comparison of two files with the live engine: profile the reference (or load
its stored profile), sketch the current file on the reference's bins, and evaluate them
as the worker evaluates a window (:func:`evaluate_features`): drift and data quality.
With two data files, KS and Wasserstein are exact on the full columns (the sketches then
keep no quantile sketch: nothing would read it); against a stored profile they come from
the quantile sketches, within their rank error (docs/drift.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streams.config.models import ModelConfig
from streams.drift.engine import Columns, DriftReport, Sketch
from streams.events.models import AlertCategory
from streams.offline.columns import Column, TextColumn, read_columns
from streams.sketches import NumericSketch
from streams.sketches.quantiles import DEFAULT_QUANTILE_K
from streams.windows.reference_profile import (
    ReferenceProfile,
    ReferenceProfileError,
    build_profile,
    categorical_names,
    fold_column,
    row_keys,
)
from streams.windows.report import Breach, FeatureResult, evaluate_features

#: Key seeds of the two sides' rows: fixed, so the same files give the same report.
CURRENT_SEED = 2

#: The model id of a comparison without ``--config``.
OFFLINE_MODEL = "offline"


@dataclass
class Comparison:
    report: DriftReport
    reference: dict[str, Sketch]
    current: dict[str, Sketch]
    meta: dict[str, Any]
    #: Per feature, the worker's statistics and breaches (drift and data quality).
    features: list[FeatureResult]
    #: False when the file has fewer rows than ``min_window_events``: as in a live
    #: window, nothing is a finding then.
    quality_judged: bool = True

    @property
    def quality_breaches(self) -> list[Breach]:
        """The data-quality findings, feature by feature."""
        return [
            b for f in self.features for b in f.breaches if b.category is AlertCategory.data_quality
        ]


def _profile(
    path: Path, types: dict[str, str] | None
) -> tuple[ReferenceProfile, dict[str, Column] | None]:
    """The reference's profile, and its columns when it is a data file."""
    if path.suffix == ".json":
        if not path.exists():
            raise ReferenceProfileError(f"{path}: reference not found")
        return ReferenceProfile.from_json(path.read_bytes(), str(path)), None
    columns = read_columns(path, categorical=categorical_names(types))
    return build_profile(columns, types, source=str(path), quantile_k=0), columns


def _numeric_column(name: str, column: Column, path: Path) -> Column:
    """A column for a numeric sketch: a text column holding only missing cells (how
    CSV and Parquet type an all-empty column) is all-NaN numbers; other text refused."""
    if isinstance(column, TextColumn):
        if any(column.names[code] is not None for code in np.unique(column.codes)):
            raise ReferenceProfileError(
                f"{path}: column {name!r} is numeric in the reference, not here"
            )
        return np.full(len(column), np.nan)
    return column


def _sketch_current(
    profile: ReferenceProfile, names: list[str], current: Path, quantile_k: int
) -> tuple[dict[str, Sketch], dict[str, Column], int]:
    """The current file's columns folded into sketches on the reference's bins, and the
    columns."""
    kinds = {n: t for n, t in profile.types.items() if n in names}
    columns = read_columns(current, categorical=categorical_names(kinds))
    absent = sorted(set(names) - set(columns))
    if absent:
        raise ReferenceProfileError(f"{current}: current data lacks columns: {', '.join(absent)}")
    rows = len(columns[names[0]]) if names else 0
    keys = row_keys(rows, CURRENT_SEED)
    sketches = profile.empty_sketches(names, quantile_k)
    for name, sketch in sketches.items():
        if isinstance(sketch, NumericSketch):
            columns[name] = _numeric_column(name, columns[name], current)
        fold_column(sketch, columns[name], keys)
    return sketches, columns, rows


def _numeric_pairs(
    sketches: dict[str, Sketch], reference: dict[str, Column], current: dict[str, Column]
) -> Columns:
    """Both files' values of every numeric feature, for exact KS and Wasserstein."""
    return {
        name: (reference[name], current[name])  # type: ignore[misc]
        for name, sketch in sketches.items()
        if isinstance(sketch, NumericSketch) and isinstance(reference[name], np.ndarray)
    }


def run_comparison(
    reference: Path,
    current: Path,
    model: ModelConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Compare the configured features (or every column of the reference)."""
    types = dict(model.features) if model else None
    profile, ref_columns = _profile(reference, types)
    if progress:
        progress("reference")
    names = list(types or profile.features)
    absent = sorted(set(names) - set(profile.features))
    if absent:
        raise ReferenceProfileError(f"{reference}: reference lacks features: {', '.join(absent)}")
    quantile_k = DEFAULT_QUANTILE_K if ref_columns is None else 0  # exact: none needed
    sketches, cur_columns, rows = _sketch_current(profile, names, current, quantile_k)
    pairs = _numeric_pairs(sketches, ref_columns, cur_columns) if ref_columns else None
    if progress:
        progress("current")
    if model is None:
        model = ModelConfig(id=OFFLINE_MODEL, features=profile.types, reference=reference)
    ref = {n: profile.features[n] for n in names}
    window = evaluate_features(sketches, ref, model, rows, columns=pairs)
    drift = model.drift
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
            "effect_gates": drift.effect_gates.model_dump(),
        },
        "thresholds": model.thresholds.model_dump(),
    }
    judged = rows >= model.thresholds.min_window_events
    return Comparison(window.drift, ref, sketches, meta, window.features, judged)
