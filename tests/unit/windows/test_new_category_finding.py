"""The new-category finding in a window's result and in the evidence of its alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.alerting.signals import feature_signals
from streams.config.models import ModelConfig, Thresholds
from streams.events.models import AlertCategory
from streams.sketches import CategoricalSketch
from streams.windows.report import evaluate_features

REFERENCE = {"1": 6000, "2": 4000}


def sketch(counts: dict[str, int]) -> CategoricalSketch:
    s = CategoricalSketch()
    s.update_counts(counts)
    return s


def config(limit: float = 0.05) -> ModelConfig:
    return ModelConfig(
        id="m",
        features={"warehouse": "categorical"},
        reference=Path("unused.json"),
        thresholds=Thresholds(new_category_share=limit),
    )


@pytest.mark.parametrize("new", [0, 10, 30, 200])
def test_new_categories_above_their_share_are_a_finding_that_leads_the_alert(new: int) -> None:
    window = {"1": 300 - new // 2, "2": 200 - new // 2, "9": new}
    n = sum(window.values())
    report = evaluate_features(
        {"warehouse": sketch(window)}, {"warehouse": sketch(REFERENCE)}, config(), count=n
    )
    (result,) = report.features
    assert result.statistics["new_category_share"] == new / n
    found = [b for b in result.breaches if b.statistic == "new_category_share"]
    if new / n <= 0.05:
        assert not found
        return
    (breach,) = found
    assert (breach.category, breach.value, breach.threshold) == (
        AlertCategory.data_drift,
        new / n,
        0.05,
    )
    assert result.drift is not None and result.drift.new_categories == {"9": new / n}
    (signal,) = feature_signals(report.features)  # one signal per feature, the finding first
    assert (signal.subject, signal.statistic, signal.value) == (
        "warehouse",
        "new_category_share",
        new / n,
    )


def test_small_windows_never_alert_on_new_categories() -> None:
    window = {"1": 10, "9": 40}
    report = evaluate_features(
        {"warehouse": sketch(window)}, {"warehouse": sketch(REFERENCE)}, config(), count=50
    )
    assert report.features[0].statistics["new_category_share"] == 0.8
    assert report.features[0].breaches == []  # below min_window_events (100)
