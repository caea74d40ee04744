"""The drift engine: every statistic of a feature from two sketches, the method that
decides, the correction for testing many features at once, and the dataset verdict.

Stage 2 (one window against its reference) and ``streams drift`` (two files) both
run it, so a backtest answers exactly what the live pipeline would have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from streams.config.models import P_VALUE_METHODS, DriftConfig, FeatureType, MultivariateConfig
from streams.drift.chi_squared import chi_squared
from streams.drift.distances import (
    aligned_counts,
    hellinger,
    jensen_shannon,
    wasserstein_binned,
    wasserstein_sorted,
)
from streams.drift.ks import KSResult, ks_from_cdfs, ks_sorted, ks_test
from streams.drift.mmd import mmd_test
from streams.drift.multiple_testing import adjust_p_values
from streams.drift.psi import psi
from streams.drift.robust import winsorized_bins
from streams.sketches import OTHER, CategoricalSketch, NumericSketch
from streams.sketches import FeatureSketch as Sketch
from streams.sketches.quantiles import QuantileSketch

#: The statistic each method decides on (a p-value for the p-value methods).
DECIDING_STATISTIC = {"ks": "ks_p_value", "chi2": "chi2_p_value"}
#: The effect size that gates each p-value method.
EFFECT_STATISTIC = {"ks": "ks", "chi2": "chi2_effect_size"}
#: Fixed permutation seed: a revision of a window gets the same MMD p-value.
MMD_SEED = 0
#: A feature's raw values on both sides (reference, current), where they are at hand.
Columns = Mapping[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class FeatureDrift:
    """One feature's statistics and the verdict of its method."""

    name: str
    kind: FeatureType
    statistics: dict[str, float]
    method: str = ""
    threshold: float = float("nan")
    value: float = float("nan")  # the deciding statistic; p-values after correction
    drifted: bool = False
    #: Categories the reference never saw: their share of the window (categorical only).
    new_categories: dict[str, float] = field(default_factory=dict)


@dataclass
class DriftReport:
    features: list[FeatureDrift]
    share_drifted: float = 0.0
    dataset_drifted: bool = False
    multivariate: dict[str, float] = field(default_factory=dict)


def numeric_statistics(
    reference: NumericSketch,
    current: NumericSketch,
    values: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Histogram statistics on the reference's bins (every value of the window), KS and
    Wasserstein. Where both sides' ``values`` are given (offline) both are exact. Else KS
    comes from the quantile sketches (every value, within their rank error; from the
    reservoirs for a sketch kept without one) and Wasserstein from the bins with their
    means, which measured closer to the exact distance than the quantile sketches'
    CDFs (docs/drift.md)."""
    if not current.n or not reference.n:
        return {}
    std = float(np.sqrt(reference.variance))
    if values is not None:
        ks, distance = _exact(*values, std)
    else:
        if reference.quantiles is not None and current.quantiles is not None:
            ks = quantile_ks(reference.quantiles, current.quantiles)
        else:
            ks = ks_test(reference.sample, current.sample)
        # tails winsorized (drift/robust.py): one extreme value must not decide it
        distance = wasserstein_binned(*winsorized_bins(reference, current), std)
    return {
        "psi": psi(reference.counts, current.counts),
        "jensen_shannon": jensen_shannon(reference.counts, current.counts),
        "hellinger": hellinger(reference.counts, current.counts),
        "ks": ks.statistic,
        "ks_p_value": ks.p_value,
        "wasserstein": distance,
    }


def quantile_ks(reference: QuantileSketch, current: QuantileSketch) -> KSResult:
    """KS from both sketches' CDFs at every value either retains (where both step), the
    p-value on the real counts and conservative by both rank errors."""
    support = np.union1d(reference.items(), current.items())
    error = reference.rank_error + current.rank_error
    return ks_from_cdfs(reference.cdf(support), current.cdf(support), reference.n, current.n, error)


def _exact(reference: np.ndarray, current: np.ndarray, std: float) -> tuple[KSResult, float]:
    """Exact KS and Wasserstein on the finite values, each side sorted once."""
    a, b = (np.sort(x[np.isfinite(x)]) for x in (reference, current))
    return ks_sorted(a, b), wasserstein_sorted(a, b, std)


#: New categories named in a feature's result, largest share first.
NEW_CATEGORIES_SHOWN = 10


def new_categories(reference: Counter[str], current: Counter[str]) -> dict[str, float]:
    """Categories of the window that the reference never saw, with their share of the
    window's non-missing values, largest first. Against a reference over its capacity
    none is new (any may be in its ``__other__``), nor is the window's own ``__other__``."""
    total = sum(current.values())
    if OTHER in reference or not total:
        return {}
    shares = [(c, n / total) for c, n in current.items() if c not in reference and c != OTHER]
    return dict(sorted(shares, key=lambda item: (-item[1], item[0])))


def _against(reference: Counter[str], current: Counter[str]) -> Counter[str]:
    """The window's counts as the reference can tell them apart: against a reference
    over its capacity, a category it does not track is in its ``__other__``."""
    if OTHER not in reference:
        return current
    regrouped: Counter[str] = Counter()
    for category, n in current.items():
        regrouped[category if category in reference else OTHER] += n
    return regrouped


def categorical_statistics(
    reference: CategoricalSketch, current: CategoricalSketch
) -> tuple[dict[str, float], dict[str, float]]:
    """Statistics on the category counts of both sides (the union of their categories),
    and the categories the reference never saw with their shares (:func:`new_categories`),
    whose sum is the statistic ``new_category_share``."""
    if not current.n or not reference.n:
        return {}, {}
    ref_counts = reference.counts
    cur_counts = _against(ref_counts, current.counts)
    test = chi_squared(ref_counts, cur_counts)
    _, ref, cur = aligned_counts(ref_counts, cur_counts)
    new = new_categories(ref_counts, cur_counts)
    statistics = {
        "chi2": test.statistic,
        "chi2_p_value": test.p_value,
        "chi2_effect_size": test.effect_size,
        "psi": psi(ref, cur),
        "jensen_shannon": jensen_shannon(ref, cur),
        "hellinger": hellinger(ref, cur),
        "new_category_share": sum(new.values()),
    }
    return statistics, new


def feature_statistics(
    name: str,
    reference: Sketch,
    current: Sketch,
    values: tuple[np.ndarray, np.ndarray] | None = None,
) -> FeatureDrift:
    """``values``: a numeric feature's raw values on both sides, for exact statistics."""
    if isinstance(current, NumericSketch):
        if not isinstance(reference, NumericSketch):
            raise TypeError(f"{name}: numeric window against a categorical reference")
        statistics = numeric_statistics(reference, current, values)
        return FeatureDrift(name, "numeric", statistics)
    if not isinstance(reference, CategoricalSketch):
        raise TypeError(f"{name}: categorical window against a numeric reference")
    statistics, new = categorical_statistics(reference, current)
    shown = dict(list(new.items())[:NEW_CATEGORIES_SHOWN])
    return FeatureDrift(name, "categorical", statistics, new_categories=shown)


def decide(features: list[FeatureDrift], counts: Mapping[str, int], config: DriftConfig) -> None:
    """Pick each feature's method by its type and sample size, correct the p-values of
    the p-value methods across the model's features, and set the verdicts: a p-value
    method needs a corrected p below its level and an effect above its gate, a distance
    method a distance above its threshold."""
    p_methods: list[FeatureDrift] = []
    for f in features:
        f.method, f.threshold = config.method_for(f.name, f.kind, counts.get(f.name, 0))
        f.value = f.statistics.get(DECIDING_STATISTIC.get(f.method, f.method), float("nan"))
        if f.method in P_VALUE_METHODS:
            p_methods.append(f)
    adjusted = adjust_p_values([f.value for f in p_methods], config.correction)
    for f, p in zip(p_methods, adjusted, strict=True):
        f.value = float(p)
    for f in features:
        if np.isnan(f.value):
            f.drifted = False
        elif f.method in P_VALUE_METHODS:
            gate = getattr(config.effect_gates, f.method)
            effect = f.statistics.get(EFFECT_STATISTIC[f.method], 0.0)
            f.drifted = f.value < f.threshold and effect > gate
        else:
            f.drifted = f.value > f.threshold


def joint_sample(sketches: list[NumericSketch]) -> np.ndarray:
    """Rows of the events present in every sketch's reservoir, one column per sketch.

    The reservoirs keep the values with the smallest keys, and a key is the hash of the
    event (or row), so every feature's reservoir holds mostly the same events."""
    if not sketches:
        return np.empty((0, 0))
    keys = sketches[0].sample_keys
    for s in sketches[1:]:
        keys = np.intersect1d(keys, s.sample_keys)
    columns = []
    for s in sketches:
        _, _, index = np.intersect1d(keys, s.sample_keys, return_indices=True)
        columns.append(s.sample[index])
    return np.column_stack(columns) if keys.size else np.empty((0, len(sketches)))


def multivariate(
    reference: Mapping[str, Sketch], current: Mapping[str, Sketch], config: MultivariateConfig
) -> dict[str, float]:
    """MMD between the joint samples of the numeric features, standardised by the
    reference so that no feature dominates the kernel by its units."""
    names = [n for n, s in current.items() if isinstance(s, NumericSketch)]
    if not config.enabled or not names:
        return {}
    refs = [reference[n] for n in names]
    ref = joint_sample(refs)  # type: ignore[arg-type]
    cur = joint_sample([current[n] for n in names])  # type: ignore[misc]
    if len(ref) < 2 or len(cur) < 2:
        return {}
    mean = np.array([r.mean for r in refs])  # type: ignore[union-attr]
    std = np.array([np.sqrt(r.variance) or 1.0 for r in refs])  # type: ignore[union-attr]
    result = mmd_test(
        (ref - mean) / std,
        (cur - mean) / std,
        permutations=config.permutations,
        seed=MMD_SEED,
        max_rows=config.max_rows,
    )
    return {"mmd": result.mmd2, "mmd_p_value": result.p_value, "mmd_rows": float(len(cur))}


def compare(
    reference: Mapping[str, Sketch],
    current: Mapping[str, Sketch],
    config: DriftConfig,
    columns: Columns | None = None,
) -> DriftReport:
    """Every feature of ``current`` against ``reference``: statistics, verdicts, the
    dataset verdict and the multivariate test; numeric features in ``columns`` get
    exact KS and Wasserstein on those values."""
    columns = columns or {}
    features = [feature_statistics(n, reference[n], s, columns.get(n)) for n, s in current.items()]
    decide(features, {n: s.n for n, s in current.items()}, config)
    share = sum(f.drifted for f in features) / len(features) if features else 0.0
    return DriftReport(
        features,
        share_drifted=share,
        dataset_drifted=bool(features) and share >= config.dataset_share,
        multivariate=multivariate(reference, current, config.multivariate),
    )
