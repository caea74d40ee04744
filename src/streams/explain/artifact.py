"""A model artifact: the fitted model, the feature columns it reads, how a prediction
event's features become that row, and a background sample of training rows.

Why a bundle and not the bare estimator: an event's features are a mapping with
missing values and category strings, the model reads a numeric matrix. The bundle
says the column order, each categorical's codes and the value a missing feature
takes (what the model server imputes), so the service feeds the model exactly what
it saw; the background rows are what linear and kernel SHAP take expectations over.

Artifacts are pickles (joblib): load only files you trust, as you would the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from streams.explain.errors import ArtifactError, MissingExtra

__all__ = ["ModelArtifact", "load_artifact", "save_artifact"]

ARTIFACT_VERSION = 1


@dataclass(frozen=True)
class ModelArtifact:
    """``model`` reads rows of ``features`` (in that order); ``categories`` maps a
    categorical feature to its values (code = position); ``fill`` is each column's
    value when the event lacks it (NaN: the model takes NaN); ``background``: training
    rows, already encoded, (n, len(features))."""

    model: Any
    features: tuple[str, ...]
    background: np.ndarray
    fill: np.ndarray
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = len(self.features)
        if self.background.ndim != 2 or self.background.shape[1] != d:
            raise ArtifactError(f"background must be (rows, {d}), got {self.background.shape}")
        if self.fill.shape != (d,):
            raise ArtifactError(f"fill must hold {d} values, got {self.fill.shape}")

    def encode(self, features: Mapping[str, Any]) -> np.ndarray | str:
        """One event's features as the model's row, or why they cannot be."""
        row = self.fill.copy()
        for j, name in enumerate(self.features):
            value = features.get(name)
            if value is None:
                continue
            values = self.categories.get(name)
            if values is not None:
                if value not in values:
                    return f"feature {name!r}: {value!r} is not a category the model knows"
                row[j] = values.index(value)
            elif isinstance(value, str | bool):
                return f"feature {name!r} is numeric, got {value!r}"
            else:
                row[j] = float(value)
        return row

    def encode_many(self, rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, list[str | None]]:
        """Rows that encode, stacked, and per input row None or why it did not."""
        encoded, problems = [], []
        for features in rows:
            row = self.encode(features)
            problems.append(row if isinstance(row, str) else None)
            if not isinstance(row, str):
                encoded.append(row)
        matrix = np.vstack(encoded) if encoded else np.empty((0, len(self.features)))
        return matrix, problems


def _joblib() -> Any:
    try:
        import joblib
    except ImportError as exc:  # pragma: no cover - joblib comes with scikit-learn
        raise MissingExtra("model artifacts need joblib: pip install 'streams[explain]'") from exc
    return joblib


def save_artifact(
    path: str | Path,
    model: Any,
    features: Sequence[str],
    background: np.ndarray,
    *,
    fill: Mapping[str, float] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write the bundle ``streams explain serve`` loads (``explain.artifact``)."""
    bundle = {
        "artifact_version": ARTIFACT_VERSION,
        "model": model,
        "features": list(features),
        "background": np.asarray(background, dtype=np.float64),
        "fill": {k: float(v) for k, v in (fill or {}).items()},
        "categories": {k: list(v) for k, v in (categories or {}).items()},
    }
    path = Path(path)
    _joblib().dump(bundle, path)
    return path


def load_artifact(path: str | Path) -> ModelArtifact:
    """Read a bundle written by :func:`save_artifact`; ArtifactError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"model artifact {path} does not exist")
    try:
        bundle = _joblib().load(path)
    except Exception as exc:  # a pickle can fail in any way its classes do
        raise ArtifactError(f"cannot read model artifact {path}: {exc}") from exc
    if not isinstance(bundle, dict) or bundle.get("artifact_version") != ARTIFACT_VERSION:
        raise ArtifactError(
            f"{path} is not a streams model artifact (version {ARTIFACT_VERSION}): "
            "write it with streams.explain.save_artifact"
        )
    features = tuple(bundle["features"])
    fills = bundle["fill"]
    unknown = sorted(set(fills) - set(features))
    if unknown:
        raise ArtifactError(f"{path}: fill names features the model lacks: {unknown}")
    fill = np.array([fills.get(name, np.nan) for name in features], dtype=np.float64)
    categories = {k: tuple(v) for k, v in bundle["categories"].items()}
    return ModelArtifact(bundle["model"], features, bundle["background"], fill, categories)
