"""Two promises of issue 18: a window under ``min_window_events`` raises no signal of
its own (its score shift included) and feeds no detector; one extreme value (1e308) in
a window decides nothing, while the same window shifted as a whole still alerts.

Oracle: the lifecycle's rules and the contrast cases; the shifts are built by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tests.unit.alerting.test_evaluate import T0, WINDOW_S, chooser, close

from streams.alerting.evaluate import evaluate_window
from streams.config.models import AlertingConfig, ModelConfig
from streams.drift.online import OnlineDetectors, online_specs
from streams.events.models import AlertCategory, PredictionEvent
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState

NOW = 1_767_300_000.0


def spec() -> ModelSpec:
    """Online detectors on (the default), one numeric feature, fire at once."""
    config = ModelConfig(
        id="m",
        features={"x": "numeric"},
        reference=Path("unused.json"),
        window_s=WINDOW_S,
        alerting=AlertingConfig(fire_after_windows=1, drift_fire_after_windows=1),
    )
    rng = np.random.default_rng(0)
    return ModelSpec(config, build_profile({"x": rng.normal(size=5000).tolist()}, config.features))


def window_events(start: int, xs: list[float], scores: list[float]) -> list[PredictionEvent]:
    return [
        PredictionEvent(
            model_id="m",
            model_version="1",
            prediction_id=f"p{start}-{i}",
            timestamp=datetime.fromtimestamp(start + i * WINDOW_S / len(xs), UTC),
            features={"x": x},
            prediction={"score": s},
        )
        for i, (x, s) in enumerate(zip(xs, scores, strict=True))
    ]


def run(windows: list[tuple[list[float], list[float]]]) -> list[list[AlertCategory]]:
    """Evaluate the windows in order; each one's alert categories."""
    model = spec()
    state = ModelState("m", online=OnlineDetectors(online_specs(model.config)))
    choose = chooser(model)
    out = []
    for k, (xs, scores) in enumerate(windows):
        agg = model.new_window(T0 + k * WINDOW_S)
        agg.fold(window_events(T0 + k * WINDOW_S, xs, scores))
        decision = evaluate_window(model, state, close(state, agg), choose, NOW)
        out.append([a.category for a in decision.alerts])
    return out


def stationary(k: int, n: int = 500) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(100 + k)
    return rng.normal(size=n).tolist(), rng.uniform(0.2, 0.6, size=n).tolist()


BASELINE = [stationary(k) for k in range(10)]


def test_a_one_event_window_with_shifted_scores_raises_nothing() -> None:
    lone = ([0.0], [0.99])
    assert run([*BASELINE, lone]) == [[]] * 11


def test_a_full_window_with_those_scores_raises_prediction_drift() -> None:
    xs, _ = stationary(99)
    shifted = (xs, [0.99] * len(xs))
    assert AlertCategory.prediction_drift in run([*BASELINE, shifted])[-1]


def test_a_lone_window_feeds_no_detector() -> None:
    """Ten stationary windows with a one-event window of x = 50 among them: the
    detectors see the stationary windows only, so they stay quiet after it."""
    windows = [*BASELINE[:5], ([50.0], [0.4]), *BASELINE[5:]]
    assert run(windows) == [[]] * 11


def test_one_extreme_value_in_a_window_decides_nothing() -> None:
    for extreme in (1e308, -1e308):
        xs, scores = stationary(50, n=5000)
        xs[0] = extreme
        assert run([*BASELINE, (xs, scores)])[-1] == [], extreme


def test_the_whole_window_shifted_still_alerts() -> None:
    xs, scores = stationary(51, n=5000)
    within = ([x + 1.0 for x in xs], scores)  # one reference sd
    assert AlertCategory.data_drift in run([*BASELINE, within])[-1]
    beyond = ([x + 6.0 for x in xs], scores)  # past the reference's range: bad data first
    assert AlertCategory.data_quality in run([*BASELINE, beyond])[-1]
