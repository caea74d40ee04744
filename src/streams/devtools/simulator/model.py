"""The synthetic world behind ``streams simulate``: features, a model, labels.

Events must look like a real recommender's traffic, or the monitors are tested
against a toy: features are correlated (drawn from a few latent Gaussian
factors plus noise) and transformed into realistic shapes (log-normal counts, a
charm-priced price, bounded ratios), a few are sometimes missing, the event rate
and a few feature means follow a daily cycle, and the labels are drawn from the
model's own score on the clean features, so the model is calibrated until a
scenario corrupts what it is served.

Everything is generated in numpy blocks: per-event Python work is limited to
building the event dicts and serialising them with orjson.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np
import orjson

#: The shadow model of the simulated events (it scores the clean features).
SHADOW_MODEL_ID = "challenger"
DEFAULT_MODEL_ID = "recsys-ranker"
DEFAULT_MODEL_VERSION = "3.2.0"

DAY_S = 86_400.0
RATE_AMPLITUDE = 0.5
"""Relative amplitude of the daily cycle of the event rate (peak at RATE_PEAK_HOUR)."""
RATE_PEAK_HOUR = 20.0
MISSING_RATE = 0.01
LATENCY_MEDIAN_MS = 20.0
LATENCY_SIGMA = 0.4

FACTORS = ("engagement", "item_quality", "price_level", "intent")
"""Latent factors: the user's engagement, the item's quality/popularity, the
price level of the item and basket, and the intent of the current session."""


def _lognormal(
    median: float, sigma: float, decimals: int = 2
) -> Callable[[np.ndarray], np.ndarray]:
    mu = math.log(median)
    return lambda g: np.round(np.exp(mu + sigma * g), decimals)


def _count(median: float, sigma: float, offset: int = 0, cap: float = np.inf):
    """A positive count: floor of a log-normal, zero only far in the lower tail."""
    mu = math.log(median)
    return lambda g: np.minimum(np.floor(np.exp(mu + sigma * g)) + offset, cap)


def _bounded(lo: float, hi: float, centre: float, sigma: float, decimals: int):
    """A ratio in [lo, hi]: a logistic transform of the Gaussian."""
    return lambda g: np.round(lo + (hi - lo) / (1.0 + np.exp(-(centre + sigma * g))), decimals)


def _price(median: float, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    """Charm pricing: whole amounts minus one cent (9.99, 34.99, ...)."""
    mu = math.log(median)
    return lambda g: np.round(np.maximum(np.round(np.exp(mu + sigma * g)), 1.0) - 0.01, 2)


@dataclass(frozen=True)
class NumericSpec:
    """How one numeric feature is made and how much the model relies on it."""

    name: str
    loadings: dict[str, float]
    transform: Callable[[np.ndarray], np.ndarray]
    weight: float
    integer: bool = False
    skewed: bool = False
    """The model sees log1p(x): heavy-tailed inputs would otherwise dominate its score."""
    cycle: float = 0.0
    """Amplitude of the daily cycle of the mean, in standard deviations of the Gaussian."""
    missing: bool = False


NUMERIC_SPECS: tuple[NumericSpec, ...] = (
    # user behaviour: positive, zero in well under 2 % of events
    NumericSpec("user_clicks_7d", {"engagement": 0.8, "intent": 0.2}, _count(15, 0.9), 0.45,
                integer=True, skewed=True),
    NumericSpec("user_sessions_30d", {"engagement": 0.75}, _count(8, 0.7), 0.25,
                integer=True, skewed=True),
    NumericSpec("user_purchases_90d", {"engagement": 0.6, "price_level": -0.2}, _count(5, 0.6),
                0.35, integer=True, skewed=True),
    NumericSpec("user_dwell_time_avg_s", {"engagement": 0.5, "intent": 0.3}, _lognormal(45, 0.6, 1),
                0.3, skewed=True, cycle=0.2),
    NumericSpec("user_cart_adds_7d", {"engagement": 0.6, "intent": 0.3}, _count(6, 0.7), 0.3,
                integer=True, skewed=True),
    # item
    NumericSpec("item_price", {"price_level": 0.85}, _price(35, 0.85), -0.35, skewed=True),
    NumericSpec("item_rating", {"item_quality": 0.5}, _bounded(1, 5, 0.9, 0.8, 1), 0.3,
                missing=True),
    NumericSpec("item_age_days", {"item_quality": 0.3, "price_level": -0.1}, _count(200, 1.0, 1),
                -0.1, integer=True, skewed=True),
    NumericSpec("item_popularity", {"item_quality": 0.8}, _count(500, 1.3), 0.3, integer=True,
                skewed=True),
    NumericSpec("discount_pct", {"price_level": 0.3, "item_quality": -0.2},
                _bounded(0, 0.6, -1.0, 1.0, 2), 0.25),
    # query and session
    NumericSpec("query_length", {"intent": 0.4}, _count(3, 0.5, 1, 30), 0.05, integer=True),
    NumericSpec("session_depth", {"intent": 0.6, "engagement": 0.3}, _count(4, 0.8, 1), 0.15,
                integer=True, skewed=True, cycle=0.2),
    NumericSpec("page_position", {"item_quality": -0.4, "intent": -0.2}, _count(5, 0.9, 1, 50),
                -0.4, integer=True, skewed=True),
    NumericSpec("hours_since_last_visit", {"engagement": -0.6}, _lognormal(30, 1.2), -0.2,
                skewed=True, cycle=-0.2, missing=True),
    NumericSpec("basket_value", {"price_level": 0.5, "intent": 0.4}, _lognormal(80, 0.8), 0.1,
                skewed=True, cycle=0.15),
    NumericSpec("search_similarity", {"intent": 0.5, "item_quality": 0.2},
                _bounded(0, 1, 0.5, 1.0, 4), 0.45, missing=True),
    NumericSpec("ctr_item_30d", {"item_quality": 0.6}, _bounded(0, 1, -3.5, 0.6, 5), 0.35,
                missing=True),
    NumericSpec("return_rate_item", {"item_quality": -0.3, "price_level": 0.2},
                _bounded(0, 1, -2.5, 0.5, 4), -0.2),
    NumericSpec("shipping_days", {"price_level": 0.2, "item_quality": -0.2}, _count(2, 0.5, 1, 14),
                -0.15, integer=True),
    NumericSpec("stock_level", {"item_quality": 0.5}, _count(120, 1.1), 0.05, integer=True,
                skewed=True),
)  # fmt: skip


@dataclass(frozen=True)
class CategoricalSpec:
    """A categorical feature drawn by Gumbel-max from base logits plus factor effects."""

    name: str
    values: tuple[str, ...]
    probs: tuple[float, ...]
    factor_effects: dict[str, tuple[float, ...]] = field(default_factory=dict)
    model_effects: tuple[float, ...] | None = None
    """Offsets added to the model's logit, one per value."""


CATEGORICAL_SPECS: tuple[CategoricalSpec, ...] = (
    CategoricalSpec("country", ("US", "DE", "GB", "FR", "BR", "IN", "JP", "ES"),
                    (0.30, 0.15, 0.12, 0.10, 0.10, 0.10, 0.08, 0.05),
                    model_effects=(0.05, 0.0, 0.05, -0.05, -0.15, -0.2, 0.1, 0.0)),
    CategoricalSpec("device", ("mobile", "desktop", "tablet"), (0.6, 0.3, 0.1),
                    {"engagement": (-0.3, 0.4, 0.0)}, model_effects=(-0.1, 0.15, 0.0)),
    CategoricalSpec("channel", ("organic", "search", "email", "social", "ads"),
                    (0.35, 0.25, 0.10, 0.15, 0.15), {"intent": (0.0, 0.5, 0.2, -0.3, -0.2)},
                    model_effects=(0.0, 0.1, 0.2, -0.15, -0.1)),
    CategoricalSpec("category", ("electronics", "fashion", "home", "beauty", "sports", "books",
                                 "toys", "grocery", "garden", "automotive"),
                    (0.15, 0.18, 0.12, 0.09, 0.08, 0.08, 0.07, 0.10, 0.06, 0.07),
                    {"price_level": (0.8, 0.0, 0.2, -0.3, 0.1, -0.6, -0.2, -0.8, 0.0, 0.5)},
                    model_effects=(0.0, 0.1, 0.0, 0.05, 0.0, -0.1, 0.0, 0.15, -0.05, -0.1)),
    CategoricalSpec("payment_method", ("card", "paypal", "apple_pay", "google_pay", "klarna",
                                       "bank_transfer"),
                    (0.50, 0.20, 0.10, 0.08, 0.07, 0.05), {"engagement": (0, 0.2, 0.1, 0, 0, 0)}),
)  # fmt: skip

# payment methods depend on the country (rows: country, columns: payment method)
_PAYMENT_BY_COUNTRY = np.array(
    [
        [0.5, 0.0, 0.4, 0.1, -1.0, -1.5],  # US
        [-0.5, 0.5, -0.3, -0.3, 1.2, 1.0],  # DE
        [0.3, 0.2, 0.3, 0.0, 0.0, -1.0],  # GB
        [0.4, 0.0, 0.0, 0.0, -0.5, 0.0],  # FR
        [0.0, -0.3, -1.0, 0.5, -1.5, 0.8],  # BR
        [-0.2, -0.5, -1.5, 1.0, -2.0, 0.5],  # IN
        [0.5, -0.5, 0.5, 0.0, -2.0, 0.0],  # JP
        [0.3, 0.3, 0.0, 0.0, -0.5, 0.0],  # ES
    ]
)

NUMERIC_FEATURES: tuple[str, ...] = tuple(s.name for s in NUMERIC_SPECS)
CATEGORICAL_FEATURES: dict[str, tuple[str, ...]] = {s.name: s.values for s in CATEGORICAL_SPECS}
FEATURES: dict[str, Literal["numeric", "categorical"]] = {
    **{name: "numeric" for name in NUMERIC_FEATURES},
    **{name: "categorical" for name in CATEGORICAL_FEATURES},
}
USER_BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "user_clicks_7d",
    "user_sessions_30d",
    "user_purchases_90d",
    "user_dwell_time_avg_s",
    "user_cart_adds_7d",
)
MISSING_FEATURES: tuple[str, ...] = tuple(s.name for s in NUMERIC_SPECS if s.missing)
CYCLE_FEATURES: dict[str, float] = {s.name: s.cycle for s in NUMERIC_SPECS if s.cycle}
INTEGER_FEATURES: frozenset[str] = frozenset(s.name for s in NUMERIC_SPECS if s.integer)
MODEL_INTERCEPT = -1.1
SEGMENTS = ("country", "device")

_LOADINGS = np.array([[s.loadings.get(f, 0.0) for f in FACTORS] for s in NUMERIC_SPECS])
_NOISE_SD = np.sqrt(1.0 - (_LOADINGS**2).sum(axis=1))
_CYCLE = np.array([s.cycle for s in NUMERIC_SPECS])
_WEIGHTS = np.array([s.weight for s in NUMERIC_SPECS])
_SKEWED = np.array([s.skewed for s in NUMERIC_SPECS])
_MISSING_IDX = [i for i, s in enumerate(NUMERIC_SPECS) if s.missing]


def daily_phase(t_s: np.ndarray) -> np.ndarray:
    """Angle of the daily cycle (UTC), zero at the traffic peak."""
    hours = np.mod(t_s, DAY_S) / 3600.0
    return 2.0 * np.pi * (hours - RATE_PEAK_HOUR) / 24.0


def feature_cycle(t_s: np.ndarray) -> np.ndarray:
    """The daily shape of feature means: sin of the phase, i.e. a quarter day off the
    traffic peak (cos). Because every moment of sin(θ) is the same under the
    rate-weighted and the uniform measure over a day, the features of whole days of
    Poisson traffic have exactly the distribution of a reference that samples time
    uniformly: the seasonal scenario cannot look like drift against whole days."""
    return np.sin(daily_phase(t_s))


def rate_factor(t_s: np.ndarray, amplitude: float = RATE_AMPLITUDE) -> np.ndarray:
    """Relative event rate at time t; its mean over a whole day is 1."""
    return 1.0 + amplitude * np.cos(daily_phase(t_s))


class ArrivalProcess:
    """Poisson arrivals with a daily-cycle rate, generated in deterministic blocks.

    Unit-rate exponential gaps give the integrated rate Λ at each arrival; the
    times solve Λ(t) = target by vectorised Newton steps (Λ is strictly increasing
    since the rate never drops below rate * (1 - amplitude)). Times are integer
    epoch milliseconds, the resolution of the events' timestamps, so that counts
    per window agree exactly with what a consumer parses.
    """

    def __init__(
        self,
        rate: float,
        start_s: float,
        *,
        seed: int | np.random.SeedSequence = 0,
        daily_cycle: bool = True,
        block_size: int = 8192,
    ) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number of events per second, got {rate}")
        self.rate = float(rate)
        self.start_s = float(start_s)
        self.amplitude = RATE_AMPLITUDE if daily_cycle else 0.0
        self.block_size = block_size
        self._rng = np.random.default_rng(seed)
        self._omega = 2.0 * np.pi / DAY_S
        self._phase0 = float(daily_phase(np.array(self.start_s)))
        self._lam = 0.0  # integrated rate at the last arrival
        self._tau = 0.0  # seconds since start of the last arrival

    def _integrated(self, tau: np.ndarray) -> np.ndarray:
        a, w = self.amplitude, self._omega
        return self.rate * (tau + a / w * (np.sin(w * tau + self._phase0) - math.sin(self._phase0)))

    def _rate_at(self, tau: np.ndarray) -> np.ndarray:
        return self.rate * (1.0 + self.amplitude * np.cos(self._omega * tau + self._phase0))

    def next_offsets(self) -> np.ndarray:
        """The next block of arrival times, as float seconds since start."""
        target = self._lam + np.cumsum(self._rng.standard_exponential(self.block_size))
        tau = self._tau + (target - self._lam) / self.rate
        if self.amplitude:
            for _ in range(50):
                step = (self._integrated(tau) - target) / self._rate_at(tau)
                tau -= step
                if np.max(np.abs(step)) < 1e-7:
                    break
            tau = np.maximum.accumulate(np.maximum(tau, self._tau))
        self._lam, self._tau = float(target[-1]), float(tau[-1])
        return tau

    def blocks(self, duration_s: float) -> Iterator[np.ndarray]:
        """Blocks of arrival times (int64 epoch ms) in [start, start + duration)."""
        start_ms = round(self.start_s * 1000)
        end_ms = start_ms + round(duration_s * 1000)
        while True:
            ts = start_ms + np.floor(self.next_offsets() * 1000.0).astype(np.int64)
            inside = ts[ts < end_ms]
            if inside.size:
                yield inside
            if inside.size < ts.size:
                return


class Scenario(Protocol):
    """What the generator needs of a scenario (see ``streams.devtools.simulator.scenarios``)."""

    name: str
    daily_cycle: bool

    def apply(self, served: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        """Corrupt the served numeric features in place, given event times."""


def _gumbel_choice(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """Vectorised categorical draws, one row of logits per event."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def _draw_clean(
    rng: np.random.Generator, t_s: np.ndarray, daily_cycle: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Clean feature values: numeric (n, 20) float64 with NaN for missing, and the
    categorical codes. Categoricals depend on the factors but never on time."""
    n = t_s.shape[0]
    factors = rng.standard_normal((n, len(FACTORS)))
    gauss = factors @ _LOADINGS.T + rng.standard_normal((n, len(NUMERIC_SPECS))) * _NOISE_SD
    if daily_cycle:
        gauss += np.outer(feature_cycle(t_s), _CYCLE)
    numeric = np.empty_like(gauss)
    for j, spec in enumerate(NUMERIC_SPECS):
        numeric[:, j] = spec.transform(gauss[:, j])
    missing = rng.random((n, len(_MISSING_IDX))) < MISSING_RATE
    numeric[:, _MISSING_IDX] = np.where(missing, np.nan, numeric[:, _MISSING_IDX])

    codes: dict[str, np.ndarray] = {}
    for spec in CATEGORICAL_SPECS:
        logits = np.broadcast_to(np.log(np.asarray(spec.probs)), (n, len(spec.values))).copy()
        for factor, effects in spec.factor_effects.items():
            logits += np.outer(factors[:, FACTORS.index(factor)], effects)
        if spec.name == "payment_method":
            logits += _PAYMENT_BY_COUNTRY[codes["country"]]
        codes[spec.name] = _gumbel_choice(rng, logits)
    return numeric, codes


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
    numeric, _ = _draw_clean(rng, t_s, daily_cycle=True)
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


def format_timestamps(ts_ms: np.ndarray) -> list[str]:
    """ISO 8601 UTC strings with millisecond precision, vectorised."""
    return np.datetime_as_string(ts_ms.astype("datetime64[ms]"), unit="ms", timezone="UTC").tolist()


def _column_values(name: str, values: np.ndarray) -> list[Any]:
    """JSON-ready values: ints for integer counts, None for NaN."""
    nan = np.isnan(values)
    has_nan = bool(nan.any())
    if name in INTEGER_FEATURES and not has_nan and np.array_equal(values, np.floor(values)):
        return values.astype(np.int64).tolist()
    out = values.tolist()
    if has_nan:
        for i in np.flatnonzero(nan).tolist():
            out[i] = None
    return out


@dataclass
class Block:
    """One block of generated predictions, as columns.

    ``numeric``/``categorical`` are the *served* features (after the scenario);
    ``true_score`` and ``label`` come from the clean features, ``score`` from
    the served ones.
    """

    model_id: str
    model_version: str
    timestamps_ms: np.ndarray
    prediction_ids: list[str]
    numeric: dict[str, np.ndarray]
    categorical: dict[str, np.ndarray]
    clean_numeric: dict[str, np.ndarray]
    score: np.ndarray
    true_score: np.ndarray
    label: np.ndarray
    latency_ms: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamps_ms.shape[0])

    @property
    def timestamps(self) -> np.ndarray:
        """Event times as float epoch seconds."""
        return self.timestamps_ms / 1000.0

    def feature_columns(self) -> dict[str, list[Any]]:
        """Served features, one JSON-ready list per feature (None for missing)."""
        cols: dict[str, list[Any]] = {
            name: _column_values(name, self.numeric[name]) for name in NUMERIC_FEATURES
        }
        for name in CATEGORICAL_FEATURES:
            cols[name] = self.categorical[name].tolist()
        return cols

    def to_events(self) -> list[dict[str, Any]]:
        """PredictionEvent-shaped dicts (timestamps as ISO strings)."""
        cols = self.feature_columns()
        names = list(cols)
        features = [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]
        scores = np.round(self.score, 6).tolist()
        shadows = np.round(self.true_score, 6).tolist()
        labels = np.where(self.score >= 0.5, "1", "0").tolist()
        mid, mver = self.model_id, self.model_version
        return [
            {
                "schema_version": 1,
                "model_id": mid,
                "model_version": mver,
                "prediction_id": pid,
                "timestamp": ts,
                "features": feats,
                "prediction": {"score": s, "label": lab},
                "latency_ms": lat,
                "segments": {"country": feats["country"], "device": feats["device"]},
                # a challenger that sees the clean features: shadow evaluation has a subject
                "shadow_predictions": {SHADOW_MODEL_ID: {"score": shadow}},
            }
            for pid, ts, feats, s, lab, lat, shadow in zip(
                self.prediction_ids,
                format_timestamps(self.timestamps_ms),
                features,
                scores,
                labels,
                self.latency_ms.tolist(),
                shadows,
                strict=True,
            )
        ]

    def to_json(self) -> list[bytes]:
        """The events serialised as the ``predictions`` topic carries them."""
        return list(map(orjson.dumps, self.to_events()))


class EventGenerator:
    """Produces blocks of prediction events for given event times.

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
    ) -> None:
        self.rng = np.random.default_rng(seed)
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
        clean, codes = _draw_clean(self.rng, t_s, daily_cycle)
        true_score = model_score(clean, codes)
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
            score = model_score(np.column_stack([served[k] for k in NUMERIC_FEATURES]), codes)
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
