"""Performance sketches and metrics against scikit-learn, hand computations and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, ndtri
from scipy.stats import binom
from sklearn import metrics as skm

from streams.labels import (
    DELAY_EDGES_S,
    SCORE_BINS,
    PerformanceSketch,
    ScoreHistogram,
    accuracy_interval,
    auc_tie_bound,
    classification_metrics,
    delay_quantiles,
    estimate_performance,
    mae_rise,
    proportion_drop,
    regression_metrics,
)

#: Binned ROC AUC vs sklearn's exact AUC, 20,000 pairs on the distributions of
#: ``_distributions``, 20 seeds each: at most 5e-5 for well-spread scores, 5e-4 for rare
#: positives near 0, 1.4e-3 for scores squeezed into [0.45, 0.55] and 1.7e-3 for scores
#: saturated at 0 and 1. Whatever the data, the error is at most ``auc_tie_bound``.
AUC_TOLERANCE = 0.002
#: CBPE vs the realized metrics of 5,000 calibrated predictions (labels ~ Bernoulli(score)),
#: largest absolute error over 500 seeds: uniform scores accuracy 0.018, AUC 0.016, recall
#: 0.019, f1 0.021, precision 0.032; beta(2, 5) scores (about 550 predicted positives)
#: accuracy 0.019, AUC 0.029, precision 0.070. The errors are sampling noise of the labels
#: (sd about 0.004 for accuracy and AUC), not bias.
CBPE_TOLERANCE = {"accuracy": 0.02, "roc_auc": 0.02, "recall": 0.025, "f1": 0.025}


def _sk_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    try:  # sklearn >= 1.9 renamed y_pred to y_proba
        return skm.log_loss(y, y_proba=p, labels=[0, 1])
    except TypeError:
        return skm.log_loss(y, p, labels=[0, 1])


def _classified(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5, parts: int = 1):
    sketch = PerformanceSketch()
    for s, y in zip(np.array_split(scores, parts), np.array_split(labels, parts), strict=True):
        sketch.update_batch(s, y, np.full(s.size, 3600.0), threshold=threshold)
    return sketch


def _assert_same(a: PerformanceSketch, b: PerformanceSketch) -> None:
    """Counts exactly, sums to 1e-9."""
    for name in PerformanceSketch.__slots__:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        if x.dtype.kind == "i":
            assert np.array_equal(x, y), name
        else:
            assert np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True), name


@pytest.mark.parametrize("threshold", [0.5, 0.3, 0.73, 0.0, 1.0])
@pytest.mark.parametrize("seed", range(4))
def test_classification_metrics_match_sklearn(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.beta(0.7, 0.9, 3000)
    scores[:20] = [0.0, 1.0] * 10  # clipped by log loss
    scores[20:30] = threshold  # at the threshold: a positive prediction
    labels = rng.binomial(1, scores)
    m = classification_metrics(_classified(scores, labels, threshold, parts=3))
    predicted = (scores >= threshold).astype(int)
    kwargs = {"zero_division": np.nan}
    expected = {
        "accuracy": skm.accuracy_score(labels, predicted),
        "precision": skm.precision_score(labels, predicted, **kwargs),
        "recall": skm.recall_score(labels, predicted, **kwargs),
        "f1": skm.f1_score(labels, predicted, **kwargs),
        "log_loss": _sk_log_loss(labels, scores),
        "positive_rate": predicted.mean(),
        "base_rate": labels.mean(),
        "n": 3000.0,
    }
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), key
    assert abs(m["roc_auc"] - skm.roc_auc_score(labels, scores)) < AUC_TOLERANCE


def _distributions(rng: np.random.Generator, n: int):
    u = rng.uniform(size=n)
    yield u, rng.binomial(1, u)
    y = rng.binomial(1, 0.3, n)
    yield np.where(y, rng.beta(5, 2, n), rng.beta(2, 5, n)), y
    y = rng.binomial(1, 0.5, n)
    yield expit(rng.normal(y, 1.0)), y
    y = rng.binomial(1, 0.02, n)  # rare positives, scores crowded near 0
    yield np.where(y, rng.beta(2, 8, n), rng.beta(0.5, 20, n)), y
    y = rng.binomial(1, 0.5, n)  # every score in 20 of the 200 bins
    yield 0.5 + 0.05 * np.tanh(rng.normal(0.5 * y, 1.0)), y
    y = rng.binomial(1, 0.5, n)  # saturated: many scores in the first and last bin
    yield expit(rng.normal(2.0 * y, 4.0)), y


@pytest.mark.parametrize("seed", range(3))
def test_binned_auc_within_tolerance_on_several_distributions(seed: int) -> None:
    for scores, labels in _distributions(np.random.default_rng(seed), 20_000):
        sketch = _classified(scores, labels)
        error = abs(classification_metrics(sketch)["roc_auc"] - skm.roc_auc_score(labels, scores))
        assert error < AUC_TOLERANCE
        assert error <= auc_tie_bound(sketch.positive_counts, sketch.negative_counts) + 1e-12


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.5, 0.001, 0.0049, 1.0])),
            st.integers(0, 1),
        ),
        min_size=2,
        max_size=60,
    ).filter(lambda pairs: len({y for _, y in pairs}) == 2)
)
def test_binned_auc_error_is_bounded_by_the_ties(pairs: list) -> None:
    scores, labels = np.array([s for s, _ in pairs]), np.array([y for _, y in pairs])
    sketch = _classified(scores, labels)
    bound = auc_tie_bound(sketch.positive_counts, sketch.negative_counts)
    exact = skm.roc_auc_score(labels, scores)
    assert abs(classification_metrics(sketch)["roc_auc"] - exact) <= bound + 1e-12


def test_ece_matches_hand_computation() -> None:
    rng = np.random.default_rng(7)
    scores = rng.uniform(size=5000) ** 2
    labels = rng.binomial(1, np.sqrt(scores) * 0.8)  # miscalibrated on purpose
    bins = np.digitize(scores, np.linspace(0, 1, 11)[1:-1])  # [k/10, (k+1)/10)
    ece = sum(
        (bins == k).mean() * abs(labels[bins == k].mean() - scores[bins == k].mean())
        for k in range(10)
        if (bins == k).any()
    )
    assert classification_metrics(_classified(scores, labels))["ece"] == pytest.approx(ece, 1e-9)


def test_undefined_metrics_are_nan() -> None:
    empty = classification_metrics(PerformanceSketch())
    assert empty["n"] == 0 and all(math.isnan(v) for k, v in empty.items() if k != "n")
    one_class = classification_metrics(_classified(np.array([0.2, 0.7]), np.array([0, 0])))
    assert math.isnan(one_class["roc_auc"]) and math.isnan(one_class["recall"])
    assert one_class["accuracy"] == 0.5 and one_class["precision"] == 0.0
    regression = regression_metrics(PerformanceSketch())
    assert all(math.isnan(regression[k]) for k in ("mae", "rmse", "mape"))


@pytest.mark.parametrize("seed", range(4))
def test_regression_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(2.0, 1.0, 2000) * rng.choice([-1, 1], 2000)
    predictions = values + rng.normal(0.0, 3.0, 2000)
    sketch = PerformanceSketch()
    for p, v in zip(np.array_split(predictions, 3), np.array_split(values, 3), strict=True):
        sketch.update_batch(p, v, np.zeros(p.size), regression=True)
    m = regression_metrics(sketch)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(values, predictions), rel=1e-9)
    rmse = math.sqrt(skm.mean_squared_error(values, predictions))
    assert m["rmse"] == pytest.approx(rmse, rel=1e-9)
    mape = skm.mean_absolute_percentage_error(values, predictions)
    assert m["mape"] == pytest.approx(mape, rel=1e-9)
    assert m["n"] == 2000 and m["mape_excluded"] == 0


def test_mape_leaves_zero_values_out() -> None:
    values, predictions = np.array([2.0, 0.0, -4.0, 0.0]), np.array([1.0, 0.5, -5.0, 0.0])
    sketch = PerformanceSketch()
    sketch.update_batch(predictions, values, np.zeros(4), regression=True)
    m = regression_metrics(sketch)
    nonzero = values != 0
    expected = skm.mean_absolute_percentage_error(values[nonzero], predictions[nonzero])
    assert m["mape"] == pytest.approx(expected) and m["mape_excluded"] == 2
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(values, predictions))


def test_delay_quantiles_within_a_bin() -> None:
    rng = np.random.default_rng(3)
    delays = rng.lognormal(np.log(6 * 3600), 2.0, 50_000)  # median 6 h, spread to weeks
    delays = delays[(delays > 60) & (delays < 90 * 86_400)]
    sketch = PerformanceSketch()
    sketch.update_batch(np.zeros(delays.size), np.zeros(delays.size), delays, regression=True)
    qs = (0.01, 0.5, 0.9, 0.99)
    for q, value in delay_quantiles(sketch, qs).items():
        assert value == pytest.approx(np.quantile(delays, q), rel=0.1)
    width = DELAY_EDGES_S[1] / DELAY_EDGES_S[0]
    assert width < 1.1


def test_delay_tails_and_clock_skew() -> None:
    sketch = PerformanceSketch()
    delays = np.array([-5.0, 10.0, 200 * 86_400.0])  # skew counts as 0; 200 days overflow
    sketch.update_batch(np.zeros(3), np.zeros(3), delays, regression=True)
    assert sketch.delay_counts[0] == 2 and sketch.delay_counts[-1] == 1
    q = delay_quantiles(sketch, (0.0, 1.0))
    assert q == {0.0: 0.0, 1.0: 200 * 86_400.0}
    assert all(math.isnan(v) for v in delay_quantiles(PerformanceSketch()).values())


scores_labels_delays = st.lists(
    st.tuples(
        st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.5, 1.0])),
        st.integers(0, 1),
        st.floats(-10.0, 1e8),
    ),
    max_size=50,
)
regression_pairs = st.lists(
    st.tuples(
        st.floats(-1e6, 1e6),
        # MAPE divides by the value: a subnormal one would overflow, as MAPE itself does
        st.one_of(st.floats(-1e6, -1e-3), st.floats(1e-3, 1e6), st.just(0.0)),
        st.floats(0.0, 1e8),
    ),
    max_size=50,
)


def _fold(sketch: PerformanceSketch, classified: list, regressed: list) -> PerformanceSketch:
    if classified:
        s, y, d = (np.array(c) for c in zip(*classified, strict=True))
        sketch.update_batch(s, y, d, threshold=0.5)
    if regressed:
        p, v, d = (np.array(c) for c in zip(*regressed, strict=True))
        sketch.update_batch(p, v, d, regression=True)
    return sketch


@settings(max_examples=200, deadline=None)
@given(scores_labels_delays, scores_labels_delays, regression_pairs, regression_pairs)
def test_merge_equals_one_pass(a: list, b: list, ra: list, rb: list) -> None:
    left = _fold(PerformanceSketch(), a, ra)
    right = _fold(PerformanceSketch(), b, rb)
    whole = _fold(PerformanceSketch(), a + b, ra + rb)
    left += right
    _assert_same(left, whole)
    restored = PerformanceSketch.from_bytes(left.to_bytes())
    for name in PerformanceSketch.__slots__:  # the bytes keep every bit
        assert (
            np.asarray(getattr(restored, name)).tobytes()
            == np.asarray(getattr(left, name)).tobytes()
        ), name


def test_bytes_are_fixed_size_and_checked() -> None:
    sketch = _classified(np.array([0.1, 0.8]), np.array([0, 1]))
    raw = sketch.to_bytes()
    assert len(raw) == len(PerformanceSketch().to_bytes()) == 4438
    _assert_same(PerformanceSketch.from_bytes(raw), sketch)
    for bad, message in [
        (raw[:-1], "truncated"),
        (raw + b"\0", "extra"),
        (bytes([9]) + raw[1:], "version 9"),
        (ScoreHistogram().to_bytes(), "not a performance sketch"),
    ]:
        with pytest.raises(ValueError, match=message):
            PerformanceSketch.from_bytes(bad)


def test_threshold_is_fixed_once_set() -> None:
    sketch = _classified(np.array([0.1]), np.array([0]), threshold=0.4)
    with pytest.raises(ValueError, match="threshold"):
        sketch.update_batch(np.array([0.3]), np.array([1]), np.zeros(1), threshold=0.5)
    with pytest.raises(ValueError, match="threshold"):
        sketch += _classified(np.array([0.1]), np.array([0]), threshold=0.5)
    empty = PerformanceSketch()
    empty += sketch  # takes the other's threshold
    assert empty.threshold == 0.4


@pytest.mark.parametrize(
    ("scores", "labels", "delays"),
    [
        ([0.5, 1.2], [0, 1], [0, 0]),
        ([0.5, np.nan], [0, 1], [0, 0]),
        ([0.5, 0.6], [0, 2], [0, 0]),
        ([0.5], [0, 1], [0]),
        ([0.5, 0.6], [0, 1], [0, np.inf]),
        ([0.5, 0.6], [0, 1], [0]),
    ],
)
def test_bad_pairs_are_refused_and_change_nothing(scores: list, labels: list, delays: list) -> None:
    sketch = PerformanceSketch()
    with pytest.raises(ValueError):
        sketch.update_batch(np.array(scores), np.array(labels), np.array(delays))
    _assert_same(sketch, PerformanceSketch())
    with pytest.raises(ValueError):
        sketch.update_batch(np.array([1.0]), np.array([np.nan]), np.zeros(1), regression=True)
    _assert_same(sketch, PerformanceSketch())


def _wilson_by_roots(k: int, n: int, z: float) -> tuple[float, float]:
    """The p with |k/n - p| = z sqrt(p (1 - p) / n): roots of a quadratic in p."""
    phat = k / n
    roots = np.roots([1 + z * z / n, -(2 * phat + z * z / n), phat * phat])
    return float(roots.real.min()), float(roots.real.max())


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (7, 10), (81, 263), (990, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_the_score_test(k: int, n: int, confidence: float) -> None:
    lo, hi = accuracy_interval(k, n, confidence)
    expected = _wilson_by_roots(k, n, float(ndtri(0.5 + confidence / 2)))
    assert (lo, hi) == pytest.approx(expected, abs=1e-9)
    clo, chi = accuracy_interval(k, n, confidence, continuity=True)
    assert clo <= lo and hi <= chi  # the continuity correction only widens


@pytest.mark.parametrize(("p", "n"), [(0.5, 20), (0.8, 30), (0.9, 50), (0.95, 100), (0.7, 200)])
def test_wilson_interval_covers_about_95_percent(p: float, n: int) -> None:
    draws = np.random.default_rng(0).binomial(n, p, 2000)
    covered = np.mean([lo <= p <= hi for lo, hi in (accuracy_interval(int(k), n) for k in draws)])
    assert 0.935 <= covered <= 0.975  # measured 0.952 .. 0.968


def test_proportion_drop_rarely_fires_on_noise() -> None:
    """Exact false-alarm rate (both sides drawn at the same true rate) stays near or below
    the nominal 2.5% even for tiny windows at high accuracy."""
    for p in (0.8, 0.95, 0.99):
        ref_n = 1000
        ref_k = np.arange(ref_n + 1)
        ref_pmf = binom.pmf(ref_k, ref_n, p)
        ref_k, ref_pmf = ref_k[ref_pmf > 1e-8], ref_pmf[ref_pmf > 1e-8]
        for cur_n in (5, 10, 20, 100):
            false_alarm = sum(
                pr * binom.pmf(c, cur_n, p)
                for r, pr in zip(ref_k, ref_pmf, strict=True)
                for c in range(cur_n + 1)
                if proportion_drop(int(r), ref_n, c, cur_n).dropped
            )
            assert false_alarm <= 0.035, (p, cur_n)


def test_proportion_drop_fires_on_a_real_drop() -> None:
    assert proportion_drop(900, 1000, 600, 1000).dropped
    assert proportion_drop(900, 1000, 5, 20).dropped
    assert not proportion_drop(950, 1000, 8, 10).dropped  # 80% of 10 is noise at 95%
    r = proportion_drop(900, 1000, 600, 1000)
    assert r.difference == pytest.approx(-0.3) and r.lo < r.difference < r.hi < 0
    empty = proportion_drop(900, 1000, 0, 0)
    assert not empty.dropped and math.isnan(empty.hi)


def _cbpe_vs_realized(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    histogram = ScoreHistogram()
    for part in np.array_split(scores, 4):
        histogram.update_batch(part)
    estimate = estimate_performance(histogram, 0.5)
    predicted = scores >= 0.5
    realized = {
        "accuracy": skm.accuracy_score(labels, predicted),
        "precision": skm.precision_score(labels, predicted),
        "recall": skm.recall_score(labels, predicted),
        "f1": skm.f1_score(labels, predicted),
        "roc_auc": skm.roc_auc_score(labels, scores),
    }
    return {key: estimate[key] - value for key, value in realized.items()}


def test_cbpe_estimates_calibrated_performance() -> None:
    errors = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        scores = rng.uniform(size=5000)
        errors.append(_cbpe_vs_realized(scores, rng.binomial(1, scores)))
        for key, tolerance in CBPE_TOLERANCE.items():
            assert abs(errors[-1][key]) < tolerance, key
        assert abs(errors[-1]["precision"]) < 0.035
        skewed = rng.beta(2, 5, 5000)
        error = _cbpe_vs_realized(skewed, rng.binomial(1, skewed))
        assert abs(error["accuracy"]) < 0.02 and abs(error["roc_auc"]) < 0.03
    for key in CBPE_TOLERANCE:  # unbiased: the errors average out
        assert abs(np.mean([e[key] for e in errors])) < 0.004, key


def test_cbpe_is_wrong_when_scores_are_not_calibrated() -> None:
    rng = np.random.default_rng(11)
    scores = rng.uniform(size=5000)
    overconfident = _cbpe_vs_realized(scores, rng.binomial(1, 0.5 + 0.5 * (scores - 0.5)))
    assert overconfident["accuracy"] > 0.08 and overconfident["roc_auc"] > 0.1  # ~0.12, 0.16
    shifted = _cbpe_vs_realized(scores, rng.binomial(1, np.clip(scores + 0.2, 0, 1)))
    assert shifted["precision"] < -0.1  # ~-0.16: more positives than the scores say


def test_cbpe_sums_are_exact_at_any_bin_edge() -> None:
    scores = np.random.default_rng(5).uniform(size=1000)
    histogram = ScoreHistogram()
    histogram.update_batch(scores)
    for threshold in (0.3, 0.5, 0.615):
        m = estimate_performance(histogram, threshold)
        expected = np.where(scores >= threshold, scores, 1 - scores).mean()
        assert m["accuracy"] == pytest.approx(expected, rel=1e-12)
        tp = scores[scores >= threshold].sum()
        assert m["recall"] == pytest.approx(tp / scores.sum(), rel=1e-12)
    with pytest.raises(ValueError, match="multiple"):
        estimate_performance(histogram, 0.5001)
    assert math.isnan(estimate_performance(ScoreHistogram(), 0.5)["accuracy"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), max_size=60), st.lists(st.floats(0.0, 1.0), max_size=60))
def test_score_histogram_merge_and_bytes(a: list, b: list) -> None:
    left, right, whole = ScoreHistogram(), ScoreHistogram(), ScoreHistogram()
    left.update_batch(np.array(a))
    right.update_batch(np.array(b))
    whole.update_batch(np.array(a + b))
    left += right
    assert left.counts.tolist() == whole.counts.tolist() and left.n == len(a) + len(b)
    assert np.allclose(left.sums, whole.sums, rtol=1e-9, atol=1e-12)
    restored = ScoreHistogram.from_bytes(left.to_bytes())
    assert restored.sums.tobytes() == left.sums.tobytes()
    assert restored.counts.tolist() == left.counts.tolist()
    assert left.counts.size == SCORE_BINS


@pytest.mark.parametrize("seed", range(3))
def test_mae_rise_is_welchs_interval_on_the_absolute_errors(seed: int) -> None:
    """Oracle: the normal interval for a difference of means, from the raw |errors|
    (numpy's unbiased variances, scipy's normal quantile)."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    sides = []
    for n, noise in ((800, 1.0), (300, 1.3)):
        truth = rng.normal(10, 2, n)
        output = truth + rng.normal(0, noise, n)
        sketch = PerformanceSketch()
        sketch.update_batch(output, truth, np.zeros(n), regression=True)
        sides.append((sketch, np.abs(output - truth)))
    (ref, ref_err), (cur, cur_err) = sides
    rise = mae_rise(ref, cur, 0.9)
    diff = cur_err.mean() - ref_err.mean()
    half = norm.ppf(0.95) * math.sqrt(
        ref_err.var(ddof=1) / ref_err.size + cur_err.var(ddof=1) / cur_err.size
    )
    assert math.isclose(rise.difference, diff, rel_tol=1e-9)
    assert math.isclose(rise.lo, diff - half, rel_tol=1e-7)
    assert math.isclose(rise.hi, diff + half, rel_tol=1e-7)
    assert math.isnan(mae_rise(PerformanceSketch(), cur).lo)
