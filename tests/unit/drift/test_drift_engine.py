"""The drift engine over sketches: binned Wasserstein against scipy on the raw values,
method choice, multiple-testing correction, dataset verdict and the joint sample."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from streams.config.models import DriftConfig, FeatureOverride
from streams.drift.engine import FeatureDrift as Verdict
from streams.drift.engine import compare, decide, joint_sample
from streams.sketches import NumericSketch, stable_keys
from streams.windows.reference_profile import build_profile, numeric_bins, row_keys

RNG = np.random.default_rng(11)
GENERATORS = {
    "normal": lambda shift, n: RNG.normal(shift, 1.0, n),
    "lognormal": lambda shift, n: RNG.lognormal(shift, 1.0, n),
    "discrete": lambda shift, n: np.round(RNG.exponential(2.0, n)) + shift,
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5, 1.0])
def test_binned_wasserstein_is_close_to_scipy_on_raw_values(name: str, shift: float) -> None:
    ref_values, cur_values = GENERATORS[name](0.0, 50_000), GENERATORS[name](shift, 5_000)
    ref = numeric_bins(ref_values)
    ref.update_batch(ref_values)
    cur = ref.empty_like()
    cur.update_batch(cur_values)
    exact = stats.wasserstein_distance(ref_values, cur_values) / ref_values.std(ddof=1)
    ours = compare({"x": ref}, {"x": cur}, DriftConfig()).features[0].statistics["wasserstein"]
    # documented tolerance (docs/drift.md): 0.015 sd with 10 quantile bins
    assert ours == pytest.approx(exact, abs=0.015)


def test_method_follows_window_size_and_overrides() -> None:
    config = DriftConfig(features={"c": FeatureOverride(method="psi", threshold=0.3)})
    assert config.method_for("x", "numeric", 999) == ("ks", 0.01)
    assert config.method_for("x", "numeric", 1000) == ("wasserstein", 0.25)
    assert config.method_for("c", "categorical", 10) == ("psi", 0.3)
    assert config.method_for("y", "categorical", 10) == ("chi2", 0.01)
    assert config.method_for("y", "categorical", 1000) == ("jensen_shannon", 0.1)


def _ks(p_values: list[float]) -> list[Verdict]:
    return [
        Verdict(f"f{i}", "numeric", {"ks_p_value": v, "ks": 0.2}) for i, v in enumerate(p_values)
    ]


def test_bh_correction_decides_on_adjusted_p_values() -> None:
    p = [0.005, 0.02, 0.03, 0.04, 0.5]
    sizes = {f"f{i}": 10 for i in range(len(p))}
    features = _ks(p)
    decide(features, sizes, DriftConfig(p_value=0.05))
    # BH by hand: p_(k) * m / k, made monotone from the top
    assert [round(f.value, 6) for f in features] == [0.025, 0.05, 0.05, 0.05, 0.5]
    assert [f.drifted for f in features] == [True, False, False, False, False]  # 0.05 < 0.05
    features = _ks(p)
    decide(features, sizes, DriftConfig(p_value=0.05, correction="none"))
    assert [f.drifted for f in features] == [True, True, True, True, False]
    features = _ks(p)
    decide(features, sizes, DriftConfig(p_value=0.05, correction="bonferroni"))
    assert [f.drifted for f in features] == [True, False, False, False, False]


def test_p_value_methods_are_gated_on_effect_size() -> None:
    tiny = Verdict("a", "numeric", {"ks_p_value": 1e-9, "ks": 0.05})
    large = Verdict("b", "categorical", {"chi2_p_value": 1e-9, "chi2_effect_size": 0.3})
    decide([tiny, large], {"a": 900, "b": 900}, DriftConfig())
    assert (tiny.drifted, large.drifted) == (False, True)


def test_distance_methods_are_not_corrected_and_nan_never_drifts() -> None:
    features = [
        Verdict("a", "numeric", {"wasserstein": 0.3}),
        Verdict("b", "numeric", {"wasserstein": 0.05}),
        Verdict("c", "numeric", {}),
    ]
    decide(features, {"a": 5000, "b": 5000, "c": 5000}, DriftConfig())
    assert [f.drifted for f in features] == [True, False, False]
    assert features[0].value == 0.3


def _columns(n: int, shift: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols = {f"x{i}": rng.normal(0, 1 + i, n) for i in range(4)}
    cols["x0"] = cols["x0"] + shift
    cols["c"] = np.array(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]), dtype=object)
    return cols


def test_shifted_feature_flagged_alone_and_dataset_verdict_by_share() -> None:
    profile = build_profile(_columns(20_000))
    current = profile.empty_sketches()
    cols = _columns(10_000, shift=0.5, seed=1)
    keys = stable_keys([str(i) for i in range(10_000)])
    for name, sketch in current.items():
        if isinstance(sketch, NumericSketch):
            sketch.update_batch(cols[name], keys=keys)
        else:
            sketch.update_batch(cols[name])
    report = compare(profile.features, current, DriftConfig())
    assert [f.name for f in report.features if f.drifted] == ["x0"]
    assert report.share_drifted == pytest.approx(1 / 5)
    assert not report.dataset_drifted
    assert compare(profile.features, current, DriftConfig(dataset_share=0.2)).dataset_drifted
    assert report.multivariate["mmd_p_value"] < 0.01  # the joint shift is visible too


def test_joint_sample_rows_are_the_same_events_across_features() -> None:
    n = 5_000
    keys = row_keys(n, seed=3)
    base = np.arange(n, dtype=float)
    a, b = NumericSketch([10.0], 0.0, 1e4), NumericSketch([10.0], 0.0, 1e4)
    a.update_batch(base, keys=keys)
    b.update_batch(base * 2 + np.where(np.arange(n) % 7 == 0, np.nan, 0.0), keys=keys)
    rows = joint_sample([a, b])
    assert len(rows) > 400  # b misses 1 in 7 of a's sampled rows
    assert np.array_equal(rows[:, 1], rows[:, 0] * 2)  # every row pairs one event's values
