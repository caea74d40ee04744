"""The model of the synthetic world behind ``streams simulate``, and its labels.

Events must look like a real recommender's traffic, or the monitors are tested
against a toy: features are correlated (drawn from a few latent Gaussian
factors plus noise) and transformed into realistic shapes (log-normal counts, a
charm-priced price, bounded ratios), a few are sometimes missing, the event rate
and a few feature means follow a daily cycle, and the labels are drawn from the
model's own score on the clean features, so the model is calibrated until a
scenario corrupts what it is served.

Everything is generated in numpy blocks: the features in ``features.py``, the event
times in ``arrivals.py``, the events themselves in ``events.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from streams.devtools.simulator.arrivals import DAY_S
from streams.devtools.simulator.events import Block
from streams.devtools.simulator.features import (
    CATEGORICAL_SPECS,
    FEATURES,
    NUMERIC_FEATURES,
    NUMERIC_SPECS,
    USER_BEHAVIOUR_FEATURES,
    draw_clean,
)

#: The model's own names, and the feature tables callers look up beside the model.
__all__ = [
    "DEFAULT_MODEL_ID",
    "DEFAULT_MODEL_VERSION",
    "FEATURES",
    "USER_BEHAVIOUR_FEATURES",
    "EventGenerator",
    "ReferenceStats",
    "Scenario",
    "model_score",
    "reference_stats",
]

DEFAULT_MODEL_ID = "recsys-ranker"
DEFAULT_MODEL_VERSION = "3.2.0"
LATENCY_MEDIAN_MS = 20.0
LATENCY_SIGMA = 0.4
MODEL_INTERCEPT = -1.1
SEGMENTS = ("country", "device")
_WEIGHTS = np.array([s.weight for s in NUMERIC_SPECS])
_SKEWED = np.array([s.skewed for s in NUMERIC_SPECS])


@dataclass(frozen=True)
class ReferenceStats:
    """Mean and standard deviation of every numeric feature on clean whole-day data:
    ``raw`` as served (the scale that shift scenarios use), ``model`` after the model's
    own transform (log1p for skewed features), used to standardise its inputs."""

    raw_mean: dict[str, float]
    raw_std: dict[str, float]
    model_mean: np.ndarray
    model_std: np.ndarray


def _model_inputs(numeric: np.ndarray) -> np.ndarray:
    x = numeric.copy()
    x[:, _SKEWED] = np.log1p(np.maximum(x[:, _SKEWED], 0.0))
    return x


@lru_cache(maxsize=1)
def reference_stats(rows: int = 200_000) -> ReferenceStats:
    """Statistics of the clean world, from a large fixed-seed sample over whole days."""
    rng = np.random.default_rng(20_240_101)
    t_s = rng.uniform(0.0, 7 * DAY_S, rows)
    numeric, _ = draw_clean(rng, t_s, daily_cycle=True)
    model_x = _model_inputs(numeric)
    return ReferenceStats(
        raw_mean={
            n: float(v) for n, v in zip(NUMERIC_FEATURES, np.nanmean(numeric, axis=0), strict=True)
        },
        raw_std={
            n: float(v) for n, v in zip(NUMERIC_FEATURES, np.nanstd(numeric, axis=0), strict=True)
        },
        model_mean=np.nanmean(model_x, axis=0),
        model_std=np.nanstd(model_x, axis=0),
    )


def model_score(numeric: np.ndarray, codes: dict[str, np.ndarray]) -> np.ndarray:
    """The served model: sigmoid(w·x_standardised + categorical offsets + b).

    Missing values are imputed with the reference mean (z = 0) and z is clipped
    to ±6, as a production model's preprocessing would do.
    """
    stats = reference_stats()
    z = (_model_inputs(numeric) - stats.model_mean) / stats.model_std
    z = np.clip(np.nan_to_num(z, nan=0.0), -6.0, 6.0)
    logit = z @ _WEIGHTS + MODEL_INTERCEPT
    for spec in CATEGORICAL_SPECS:
        if spec.model_effects is not None:
            logit += np.asarray(spec.model_effects)[codes[spec.name]]
    return 1.0 / (1.0 + np.exp(-logit))


class Scenario(Protocol):
    """What the generator needs of a scenario (see ``streams.devtools.simulator.scenarios``)."""

    name: str
    daily_cycle: bool

    def apply(self, served: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        """Corrupt the served numeric features in place, given event times."""


#: A served model: numeric features and categorical codes -> positive-class scores.
Scorer = Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray]


class EventGenerator:
    """Produces blocks of prediction events for given event times. ``scorer`` is the
    served model (default: the logistic :func:`model_score`; tree_model.py has a tree).

    Deterministic: the same seed and the same sequence of timestamp blocks give
    the same events. Prediction ids are ``f"{run_id}-{i}"`` with i counting from
    0 over the generator's life.
    """

    def __init__(
        self,
        seed: int | np.random.SeedSequence = 0,
        *,
        model_id: str = DEFAULT_MODEL_ID,
        model_version: str = DEFAULT_MODEL_VERSION,
        run_id: str | None = None,
        scorer: Scorer = model_score,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.scorer = scorer
        self.model_id = model_id
        self.model_version = model_version
        self.run_id = run_id if run_id is not None else f"sim{seed}"
        self.count = 0
        self._cat_values = {s.name: np.asarray(s.values, dtype=object) for s in CATEGORICAL_SPECS}

    def generate(self, timestamps: np.ndarray, scenario: Scenario | None = None) -> Block:
        """Events at the given times (float epoch seconds, or int64 epoch ms when the
        dtype is an integer). ``scenario=None``: clean features with the daily cycle."""
        ts = np.asarray(timestamps)
        ts_ms = (
            ts.astype(np.int64) if ts.dtype.kind in "iu" else np.round(ts * 1000.0).astype(np.int64)
        )
        t_s = ts_ms / 1000.0
        n = ts_ms.shape[0]
        daily_cycle = True if scenario is None else scenario.daily_cycle
        clean, codes = draw_clean(self.rng, t_s, daily_cycle)
        true_score = self.scorer(clean, codes)
        label = (self.rng.random(n) < true_score).astype(np.int8)
        latency = np.round(
            np.exp(math.log(LATENCY_MEDIAN_MS) + LATENCY_SIGMA * self.rng.standard_normal(n)), 2
        )
        clean_cols = {name: clean[:, j] for j, name in enumerate(NUMERIC_FEATURES)}
        served = {name: col.copy() for name, col in clean_cols.items()}
        if scenario is not None:
            scenario.apply(served, t_s)
        if scenario is not None and any(
            not np.array_equal(served[k], clean_cols[k], equal_nan=True) for k in served
        ):
            score = self.scorer(np.column_stack([served[k] for k in NUMERIC_FEATURES]), codes)
        else:
            score = true_score
        ids = [f"{self.run_id}-{i}" for i in range(self.count, self.count + n)]
        self.count += n
        return Block(
            model_id=self.model_id,
            model_version=self.model_version,
            timestamps_ms=ts_ms,
            prediction_ids=ids,
            numeric=served,
            categorical={k: self._cat_values[k][c] for k, c in codes.items()},
            clean_numeric=clean_cols,
            score=score,
            true_score=true_score,
            label=label,
            latency_ms=latency,
        )
