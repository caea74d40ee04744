"""A scikit-learn gradient-boosting model the simulator can serve instead of its
logistic scorer, so that the tree path of ``streams explain`` runs end to end.

It is fitted once per seed on clean whole-day traffic, with labels drawn from the
logistic world: the served model approximates the true one, as a real model does.
Its columns are the numeric features then the categorical codes (position in the
spec's values); a missing numeric feature takes the reference mean, as the logistic
scorer imputes it. Needs scikit-learn (the ``explain`` extra).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from streams.devtools.simulator.arrivals import DAY_S
from streams.devtools.simulator.features import CATEGORICAL_SPECS, NUMERIC_FEATURES, draw_clean
from streams.devtools.simulator.model import model_score, reference_stats

__all__ = ["MODEL_COLUMNS", "TreeScorer", "save_tree_artifact", "tree_model"]

MODEL_COLUMNS = (*NUMERIC_FEATURES, *(s.name for s in CATEGORICAL_SPECS))
TRAIN_ROWS = 8_000
BACKGROUND_ROWS = 1_000


def _fill() -> np.ndarray:
    means = reference_stats().raw_mean
    return np.array([means[name] for name in NUMERIC_FEATURES])


def model_matrix(numeric: np.ndarray, codes: dict[str, np.ndarray]) -> np.ndarray:
    """The model's rows: numeric features (missing -> reference mean), then codes."""
    filled = np.where(np.isnan(numeric), _fill(), numeric)
    return np.column_stack([filled, *(codes[s.name] for s in CATEGORICAL_SPECS)])


def _clean_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    numeric, codes = draw_clean(rng, rng.uniform(0.0, 7 * DAY_S, rows), daily_cycle=True)
    labels = (rng.random(rows) < model_score(numeric, codes)).astype(int)
    return model_matrix(numeric, codes), labels


@lru_cache(maxsize=2)
def tree_model(seed: int = 0) -> Any:
    """The fitted GradientBoostingClassifier (80 trees of depth 3) of ``seed``."""
    from sklearn.ensemble import GradientBoostingClassifier

    x, y = _clean_rows(TRAIN_ROWS, seed)
    return GradientBoostingClassifier(n_estimators=80, max_depth=3, random_state=seed).fit(x, y)


class TreeScorer:
    """The simulator's scorer interface (numeric, codes) -> score, from the tree."""

    def __init__(self, seed: int = 0) -> None:
        self.model = tree_model(seed)

    def __call__(self, numeric: np.ndarray, codes: dict[str, np.ndarray]) -> np.ndarray:
        return self.model.predict_proba(model_matrix(numeric, codes))[:, 1]


def save_tree_artifact(path: str | Path, seed: int = 0) -> Path:
    """The served tree model as a ``streams explain`` artifact, with background rows."""
    from streams.explain.artifact import save_artifact

    background, _ = _clean_rows(BACKGROUND_ROWS, seed + 1)
    fill = dict(zip(NUMERIC_FEATURES, _fill().tolist(), strict=True))
    categories = {s.name: s.values for s in CATEGORICAL_SPECS}
    return save_artifact(
        path, tree_model(seed), MODEL_COLUMNS, background, fill=fill, categories=categories
    )
