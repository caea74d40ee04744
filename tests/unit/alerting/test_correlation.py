"""Severity by corroboration, and the proxy metrics it reads (against hand computations)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from streams.alerting.lifecycle import Signal
from streams.alerting.signals import correlate
from streams.config.models import CorrelationConfig
from streams.events.models import AlertCategory, Severity
from streams.labels.proxy import mean_entropy, proxy_metrics, score_baseline
from streams.windows.aggregate import WindowAggregate

DRIFT = Signal(AlertCategory.data_drift, "x", Severity.warning, "wasserstein", 0.5, 0.25)
ZEROS = Signal(AlertCategory.data_quality, "y", Severity.error, "zero_rate_delta", 0.9, 0.1)
SLO = Signal(AlertCategory.slo_burn, "page-1h", Severity.critical, "burn_rate", 20, 14.4)


def severities(signals: list[Signal]) -> list[tuple[str, str]]:
    return [(s.category.value, s.severity.value) for s in signals]


def test_findings_with_moving_scores_page_and_alone_stay_tickets() -> None:
    rules = CorrelationConfig()
    moved = {"score_wasserstein": 0.8}
    assert severities(correlate([DRIFT, ZEROS, SLO], moved, rules)) == [
        ("data_drift", "critical"),
        ("data_quality", "critical"),
        ("slo_burn", "critical"),
    ]
    still = {"score_wasserstein": 0.1}
    assert severities(correlate([DRIFT, ZEROS], still, rules)) == [
        ("data_drift", "warning"),
        ("data_quality", "error"),
    ]
    assert correlate([DRIFT], moved, CorrelationConfig(enabled=False)) == [DRIFT]


def test_seasonal_drift_is_info_and_moving_scores_alone_are_prediction_drift() -> None:
    rules = CorrelationConfig()
    assert severities(correlate([DRIFT], {}, rules, {"x"})) == [("data_drift", "info")]
    alone = correlate([], {"score_wasserstein": 0.5}, rules)
    assert severities(alone) == [("prediction_drift", "warning")]
    assert alone[0].value == 0.5


def window(scores: np.ndarray, start: int = 0) -> WindowAggregate:
    w = WindowAggregate("m", start, {})
    w.score.update_batch(scores)
    return w


def test_proxy_metrics_match_numpy_and_scipy() -> None:
    rng = np.random.default_rng(4)
    before = [rng.beta(2, 5, 2000) for _ in range(3)]
    now = rng.beta(5, 2, 2000)
    baseline = score_baseline([window(s, i * 60) for i, s in enumerate(before)])
    m = proxy_metrics(window(now, 180), baseline)
    pooled = np.concatenate(before)
    assert m["positive_rate"] == pytest.approx(np.mean(now >= 0.5))
    assert m["mean_confidence"] == pytest.approx(np.mean(np.maximum(now, 1 - now)))
    assert m["score_mean_delta"] == pytest.approx(now.mean() - pooled.mean())
    assert m["positive_rate_delta"] == pytest.approx(np.mean(now >= 0.5) - np.mean(pooled >= 0.5))
    exact = stats.wasserstein_distance(pooled, now) / pooled.std(ddof=1)
    assert m["score_wasserstein"] == pytest.approx(exact, abs=0.015)
    assert "score_wasserstein" not in proxy_metrics(window(now), None)


@pytest.mark.parametrize(
    "scores",
    [
        np.random.default_rng(0).uniform(size=5_000),
        np.random.default_rng(1).beta(0.05, 0.05, 5_000),  # saturated near 0 and 1
        np.r_[np.zeros(2_500), np.full(2_500, 0.00499)],  # the worst spread in one bin
        np.r_[np.zeros(100), np.ones(100), np.full(200, 0.5)],
    ],
)
def test_mean_entropy_is_within_a_bin_of_the_exact_one(scores: np.ndarray) -> None:
    """Oracle: scipy's entropy of each Bernoulli(score), in bits, averaged."""
    from streams.sketches.score_histogram import ScoreHistogram

    exact = np.mean([stats.entropy([p, 1 - p], base=2) for p in scores])
    histogram = ScoreHistogram()
    histogram.update_batch(scores)
    estimate = mean_entropy(histogram)
    assert exact - 1e-9 <= estimate <= exact + 0.003  # concave: never below
    w = WindowAggregate("m", 0, {})
    w.score.update_batch(scores)
    w.scores.update_batch(scores)
    assert proxy_metrics(w, None)["entropy"] == estimate
