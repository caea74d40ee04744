"""Stage 1 with a drift tier: only its events enter the feature sketches (so drift tests
see the sample size they have), data-quality counts stay exact, the aggregate's merge
law holds, and through the worker's own decisions (the model-day replay) the
silent-zeros scenario still pages within 2 windows at a 10 % drift tier, while 30
stationary windows at 1 % raise nothing."""

from __future__ import annotations

import orjson
import pytest
from tests.unit.offline.test_model_day import replay

from streams.config.models import ModelConfig
from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.scenarios import DEFAULT_SILENT_ZEROS, make_scenario
from streams.events.models import AlertCategory, PredictionEvent
from streams.offline.model_day import (
    DAY0,
    _window_events,
    default_config,
    simulated_profile,
)
from streams.sampling import Sampler, Tier
from streams.sketches import NumericSketch
from streams.windows.aggregate import WindowAggregate
from streams.windows.stage1 import ModelSpec


@pytest.fixture(scope="module")
def profile():
    return simulated_profile(rows=30_000)


def sampled_config(drift: float, seed: int = 4) -> ModelConfig:
    base = default_config().model_dump()
    return ModelConfig.model_validate(base | {"sampling": {"drift": drift, "seed": seed}})


def events(n: int, scenario: str = "stationary") -> list[PredictionEvent]:
    config = default_config()
    onset = 0 if scenario == "silent-zeros" else None
    made = make_scenario(scenario, start=DAY0, duration_s=config.window_s, onset_s=onset)
    return _window_events(EventGenerator(2), made, DAY0, config.window_s, n)


def test_only_the_drift_tier_enters_the_feature_sketches(profile) -> None:
    config = sampled_config(0.1, 4)
    batch = events(2_000, "silent-zeros")
    window = ModelSpec(config, profile).new_window(DAY0)
    window.fold(batch)
    sampler = Sampler.from_config(config.sampling)
    kept = [e for e in batch if sampler.keeps(Tier.drift, e.prediction_id)]
    full = ModelSpec(default_config(), profile).new_window(DAY0)
    full.fold(batch)
    assert window.count == full.count == len(batch)
    assert window.drift_sample.n == len(kept) and 150 < len(kept) < 250
    for name, sketch in window.features.items():
        assert sketch.total == len(kept)  # what the drift tests take as the sample size
        exact, everything = window.quality_sketches()[name], full.features[name]
        assert (exact.total, exact.missing) == (everything.total, everything.missing)
        if isinstance(exact, NumericSketch):
            assert (
                exact.zeros == everything.zeros
                and exact.counts.tolist() == everything.counts.tolist()
            )
    assert window.score.n == full.score.n  # prediction drift sees every score


def test_merge_of_parts_equals_one_pass_and_survives_bytes(profile) -> None:
    config = sampled_config(0.2, 1)
    spec = ModelSpec(config, profile)
    batch = events(1_000)
    whole, left, right = (spec.new_window(DAY0) for _ in range(3))
    whole.fold(batch)
    left.fold(batch[:400])
    right.fold(batch[400:])
    left = WindowAggregate.from_dict(orjson.loads(orjson.dumps(left.to_dict())))
    left += right
    assert left.drift_sample.to_list() == pytest.approx(whole.drift_sample.to_list())
    for name, sketch in whole.features.items():
        assert left.features[name].total == sketch.total
        exact, one_pass = left.quality_sketches()[name], whole.quality_sketches()[name]
        assert (exact.total, exact.missing) == (one_pass.total, one_pass.missing)
        if isinstance(exact, NumericSketch):
            assert exact.counts.tolist() == one_pass.counts.tolist()
            assert exact.mean == pytest.approx(one_pass.mean)


def test_silent_zeros_are_caught_within_two_windows_at_a_ten_percent_drift_tier(profile) -> None:
    day = replay(profile, "silent-zeros", sampled_config(0.1), windows=12, events=300)
    onset = DAY0 + 12 // 3 * 300
    pages = [p for p in day.pages() if p.category == AlertCategory.data_quality]
    assert pages, "no page"
    assert sorted(pages[0].subjects) == sorted(DEFAULT_SILENT_ZEROS)
    assert int(pages[0].evidence.window_start.timestamp()) - onset < 2 * 300


def test_stationary_traffic_at_a_one_percent_drift_tier_raises_nothing(profile) -> None:
    day = replay(profile, "stationary", sampled_config(0.01), windows=30, events=3_000)
    assert day.windows == 30
    assert day.incidents() == []
