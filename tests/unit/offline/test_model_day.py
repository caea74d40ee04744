"""The model-day replay runs the worker's decisions: a silent-zeros onset opens exactly
one page naming the zeroed features (oracle: the scenario's own feature list), healthy
traffic opens nothing, and updates of the page are not counted as new incidents."""

from __future__ import annotations

import pytest

from streams.devtools.simulator.scenarios import DEFAULT_SILENT_ZEROS, make_scenario
from streams.events.models import AlertCategory
from streams.offline.model_day import (
    DAY0,
    DayReplay,
    default_config,
    replay_windows,
    simulated_profile,
)

WINDOWS, EVENTS = 36, 300


@pytest.fixture(scope="module")
def profile():
    return simulated_profile(rows=30_000)


def replay(
    profile, name: str, config=None, windows: int = WINDOWS, events: int = EVENTS
) -> DayReplay:
    """``windows`` windows of ``events`` each, a silent-zeros onset a third of the way."""
    config = config or default_config()
    duration = windows * config.window_s
    onset = duration / 3 if name == "silent-zeros" else None
    scenario = make_scenario(name, start=DAY0, duration_s=duration, onset_s=onset)
    out = DayReplay()
    for alerts in replay_windows(config, profile, scenario, windows, events):
        out.alerts += alerts
        out.windows += 1
    return out


def test_silent_zeros_open_one_page_on_the_zeroed_features(profile) -> None:
    day = replay(profile, "silent-zeros")
    assert day.windows == WINDOWS
    (page,) = day.pages()
    assert page.category == AlertCategory.data_quality
    assert sorted(page.subjects) == sorted(DEFAULT_SILENT_ZEROS)
    assert day.warnings() == []
    assert int(page.evidence.window_start.timestamp()) == DAY0 + WINDOWS // 3 * 300
    assert len(day.alerts) >= len(day.incidents())  # updates exist but open nothing


def test_healthy_traffic_opens_no_incident(profile) -> None:
    assert replay(profile, "stationary").incidents() == []
