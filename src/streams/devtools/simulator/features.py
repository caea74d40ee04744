"""The simulated features: how each is made, and one draw of clean values.

Features are correlated (drawn from a few latent Gaussian factors plus noise) and
transformed into realistic shapes (log-normal counts, a charm-priced price, bounded
ratios); a few are sometimes missing and a few means follow the daily cycle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from streams.devtools.simulator.arrivals import feature_cycle

MISSING_RATE = 0.01
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
_LOADINGS = np.array([[s.loadings.get(f, 0.0) for f in FACTORS] for s in NUMERIC_SPECS])
_NOISE_SD = np.sqrt(1.0 - (_LOADINGS**2).sum(axis=1))
_CYCLE = np.array([s.cycle for s in NUMERIC_SPECS])
_MISSING_IDX = [i for i, s in enumerate(NUMERIC_SPECS) if s.missing]


def _gumbel_choice(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """Vectorised categorical draws, one row of logits per event."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def draw_clean(
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
