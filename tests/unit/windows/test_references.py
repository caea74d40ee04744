"""Rolling and seasonal references: which windows a reference is made of."""

from __future__ import annotations

import numpy as np

from streams.config.models import ReferenceMode
from streams.sketches import NumericSketch
from streams.windows.reference_choice import HOUR, WEEK, ReferenceChooser, week_and_hour
from streams.windows.reference_profile import build_profile

T0 = 1_767_571_200  # Monday 2026-01-05 00:00 UTC


def _sketches(profile, values: np.ndarray) -> dict:
    sketches = profile.empty_sketches()
    sketches["x"].update_batch(values)
    return sketches


def test_weeks_start_on_monday_and_hours_count_within_the_week() -> None:
    week, hour = week_and_hour(T0)
    assert hour == 0
    assert week_and_hour(T0 + WEEK - 1) == (week, 167)
    assert week_and_hour(T0 + WEEK) == (week + 1, 0)


def test_rolling_reference_merges_the_previous_windows_only() -> None:
    profile = build_profile({"x": np.arange(100.0)})
    chooser = ReferenceChooser(
        "m", profile.features, ReferenceMode(kind="rolling", windows=2), 60, {}.get
    )
    earlier = {T0 + 60 * i: _sketches(profile, np.full(10 + i, float(i))) for i in range(4)}
    reference, kind = chooser.choose(T0 + 240, earlier)
    assert kind == "rolling (2 windows)"
    ref = reference["x"]
    assert isinstance(ref, NumericSketch)
    assert ref.n == 12 + 13 and ref.mean == (2 * 12 + 3 * 13) / 25
    assert earlier[T0 + 120]["x"].n == 12  # the windows themselves are not changed
    first, kind = chooser.choose(T0, {})
    assert first is profile.features and kind.startswith("static")


def test_seasonal_reference_is_the_same_hour_of_last_week_after_a_restart() -> None:
    profile = build_profile({"x": np.arange(100.0)})
    table: dict[str, bytes | None] = {}
    mode = ReferenceMode(kind="seasonal")
    chooser = ReferenceChooser("m", profile.features, mode, 300, table.get)
    monday_9 = T0 + 9 * HOUR
    for i, offset in enumerate((0, 300, 3600)):  # two windows of 9:00, one of 10:00
        assert chooser.choose(monday_9 + offset, {})[0] is profile.features
        table.update(chooser.observe(monday_9 + offset, _sketches(profile, np.full(5, 7.0 + i))))
    restarted = ReferenceChooser("m", profile.features, mode, 300, table.get)
    reference, kind = restarted.choose(monday_9 + WEEK + 600, {})
    assert kind == "seasonal (same hour last week)"
    assert reference["x"].n == 10 and reference["x"].mean == 7.5
    # a week later still, the slot of two weeks ago is deleted when this week's is written
    writes = restarted.observe(monday_9 + 2 * WEEK, _sketches(profile, np.ones(3)))
    assert [
        v for k, v in writes.items() if k.split("\x00")[2] == str(week_and_hour(monday_9)[0])
    ] == [None]
