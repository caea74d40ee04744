"""Online detectors over per-window summaries, with river's own detectors as the oracle."""

from __future__ import annotations

import math
import random

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.drift.online import (
    FORMAT_VERSION,
    DetectorSpec,
    OnlineDetectors,
    OnlineDrift,
    calibrate_page_hinkley,
    default_specs,
    other_specs,
)

#: Every detector: the default PageHinkley, and ADWIN and KSWIN as they run when turned on.
ALL = [*default_specs(), *other_specs().values()]

STEP = 300  # 5-minute windows, in seconds


def gauss(rng: random.Random, n: int, mean: float, sigma: float = 0.1) -> list[float]:
    return [rng.gauss(mean, sigma) for _ in range(n)]


def shifted_series(seed: int = 0) -> list[float]:
    """Three levels and a spread change, long enough for KSWIN to fire too."""
    rng = random.Random(seed)
    return (
        gauss(rng, 200, 0.0) + gauss(rng, 150, 1.0) + gauss(rng, 150, -0.5) + gauss(rng, 150, 0, 1)
    )


def oracle(spec: DetectorSpec, values: list[float]) -> list[int]:
    """Indices at which a river detector built straight from the spec fires."""
    detector = spec.build()
    hits = []
    for i, x in enumerate(values):
        if math.isnan(x):
            continue
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return hits


def feed(det: OnlineDetectors, series: dict[str, list[float]], start: int = 0) -> list[OnlineDrift]:
    n = len(next(iter(series.values())))
    out: list[OnlineDrift] = []
    for i in range(start, n):
        out += det.update(i * STEP, {name: values[i] for name, values in series.items()})
    return out


def indices(hits: list[OnlineDrift], series: str, detector: str) -> list[int]:
    return [h.window_start // STEP for h in hits if h.series == series and h.detector == detector]


def test_same_detections_as_river() -> None:
    a, b = shifted_series(1), shifted_series(2)
    b[10:20] = [math.nan] * 10  # windows without data are skipped, as the oracle skips them
    hits = feed(OnlineDetectors(ALL), {"a": a, "prediction_score": b})
    for spec in ALL:
        want_a, want_b = oracle(spec, a), oracle(spec, b)
        assert want_a, f"{spec.name} never fires: the test would prove nothing"
        assert indices(hits, "a", spec.name) == want_a
        assert indices(hits, "prediction_score", spec.name) == want_b


def test_detection_names_detector_params_and_value() -> None:
    values = shifted_series()
    hits = feed(OnlineDetectors(ALL), {"age": values})
    specs = {s.name: s.params for s in ALL}
    assert {h.detector for h in hits} == set(specs)
    for h in hits:
        assert h.series == "age"
        assert h.params == specs[h.detector]
        assert h.value == values[h.window_start // STEP]


@pytest.mark.parametrize("name", ["adwin", "page_hinkley"])
@pytest.mark.parametrize("shift", [1.0, -1.0])
def test_level_shift_is_detected_soon_after(name: str, shift: float) -> None:
    rng = random.Random(7)
    values = gauss(rng, 300, 0.0) + gauss(rng, 300, shift)
    spec = next(s for s in ALL if s.name == name)
    hits = indices(feed(OnlineDetectors([spec]), {"x": values}), "x", name)
    assert hits, f"{name} missed a 10-sigma level shift"
    assert 300 <= hits[0] <= 330, hits  # ~2.5 hours of 5-minute windows at most


def test_stationary_noise_gives_no_detection() -> None:
    rng = random.Random(11)
    specs = [s for s in ALL if s.name != "kswin"]
    series = {"x": gauss(rng, 2000, 0.0, 0.2), "prediction_score": gauss(rng, 2000, 0.0, 0.1)}
    assert feed(OnlineDetectors(specs), series) == []


def test_kswin_needs_window_size_values_before_it_can_fire() -> None:
    kswin = other_specs()["kswin"]
    size = kswin.params["window_size"]
    values = [0.0] * 50 + [5.0] * (size - 51)  # an obvious shift, one value short of a window
    det = OnlineDetectors([kswin])
    assert feed(det, {"x": values}) == []
    hits = det.update(len(values) * STEP, {"x": 5.0})
    assert [h.window_start // STEP for h in hits] == [size - 1]


@pytest.mark.parametrize("split", [1, 150, 212, 213, 214, 221, 361, 364, 599])
def test_round_trip_continues_like_an_uninterrupted_run(split: int) -> None:
    series = {"a": shifted_series(3), "b": shifted_series(4)}
    whole = feed(OnlineDetectors(ALL), series)

    first = OnlineDetectors(ALL)
    before = feed(first, {k: v[:split] for k, v in series.items()})
    raw = first.to_bytes()
    restored = OnlineDetectors.from_bytes(raw)
    assert restored.to_bytes() == raw
    after = feed(restored, series, start=split)  # replay reported nothing old
    assert before + after == whole
    assert all(h.window_start >= split * STEP for h in after)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False) | st.just(math.nan), max_size=150),
    st.integers(0, 150),
)
def test_round_trip_property(values: list[float], split: int) -> None:
    specs = [
        *ALL[:2],
        DetectorSpec("kswin", {"window_size": 30, "stat_size": 10, "seed": 1}),
    ]
    whole = OnlineDetectors(specs)
    expected = [whole.update(i, {"x": v}) for i, v in enumerate(values)]
    det = OnlineDetectors(specs)
    got = [det.update(i, {"x": v}) for i, v in enumerate(values[:split])]
    det = OnlineDetectors.from_bytes(det.to_bytes())
    got += [det.update(i, {"x": v}) for i, v in enumerate(values) if i >= split]
    assert got == expected
    assert det.to_bytes() == whole.to_bytes()


def test_history_is_bounded_while_live_detectors_keep_running() -> None:
    values = shifted_series(5)
    det = OnlineDetectors(ALL, history=50)
    hits = feed(det, {"x": values})
    for spec in ALL:  # the live detectors saw everything despite the trimming
        assert indices(hits, "x", spec.name) == oracle(spec, values)
    body = orjson.loads(det.to_bytes()[1:])
    assert body["series"]["x"]["values"] == values[-50:]
    assert body["series"]["x"]["starts"] == [i * STEP for i in range(len(values) - 50, len(values))]
    restored = OnlineDetectors.from_bytes(det.to_bytes())  # rebuilt from the last 50 only
    assert restored.last_window("x") == (len(values) - 1) * STEP


def test_revision_of_a_window_is_not_a_new_observation() -> None:
    values = shifted_series(6)
    det = OnlineDetectors(ALL)
    hits: list[OnlineDrift] = []
    for i, v in enumerate(values):
        hits += det.update(i * STEP, {"x": v})
        hits += det.update(i * STEP, {"x": v + 100.0})  # a revision: ignored
        if i:
            hits += det.update((i - 1) * STEP, {"x": -100.0})  # a late older window: ignored
    for spec in ALL:
        assert indices(hits, "x", spec.name) == oracle(spec, values)
    assert det.last_window("x") == (len(values) - 1) * STEP


def test_revision_guard_survives_restart_and_is_per_series() -> None:
    det = OnlineDetectors()
    det.update(0, {"a": 0.1})
    det.update(STEP, {"a": 0.2, "b": math.nan})
    det = OnlineDetectors.from_bytes(det.to_bytes())
    det.update(STEP, {"a": 9.0, "b": 0.3})  # a revised: ignored; b had no value yet: accepted
    body = orjson.loads(det.to_bytes()[1:])
    assert body["series"]["a"]["values"] == [0.1, 0.2]
    assert body["series"]["b"] == {"starts": [STEP], "values": [0.3]}


def test_non_finite_values_are_skipped() -> None:
    det = OnlineDetectors()
    det.update(0, {"a": math.nan, "b": math.inf, "c": None, "d": 1})  # type: ignore[dict-item]
    assert det.series == ["d"]
    assert det.last_window("a") is None
    assert orjson.loads(det.to_bytes()[1:])["series"]["d"]["values"] == [1.0]


def test_from_bytes_can_replay_into_new_specs() -> None:
    values = shifted_series(8)
    old = OnlineDetectors()
    feed(old, {"x": values[:300]})
    new_specs = [DetectorSpec("adwin", {"delta": 0.1, "clock": 1})]
    restored = OnlineDetectors.from_bytes(old.to_bytes(), specs=new_specs)
    fresh = OnlineDetectors(new_specs)
    feed(fresh, {"x": values[:300]})
    assert restored.to_bytes() == fresh.to_bytes()
    assert feed(restored, {"x": values}, start=300) == feed(fresh, {"x": values}, start=300)


def test_unknown_version_is_rejected_clearly() -> None:
    raw = OnlineDetectors().to_bytes()
    assert raw[0] == FORMAT_VERSION
    with pytest.raises(ValueError, match=r"unsupported online detector state version 99"):
        OnlineDetectors.from_bytes(bytes([99]) + raw[1:])
    with pytest.raises(ValueError, match="empty"):
        OnlineDetectors.from_bytes(b"")


def test_specs_are_validated_up_front() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        DetectorSpec("ddm", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        DetectorSpec("kswin", {"alpha": 0.005})
    with pytest.raises(TypeError):
        DetectorSpec("adwin", {"no_such_param": 1})
    with pytest.raises(ValueError, match="history"):
        OnlineDetectors(history=0)


def healthy(rng: np.random.Generator, series: int, windows: int, events: int, swing: float):
    """Window means of healthy traffic, drawn here independently of the calibration: noise
    of 1/sqrt(events) around a level with a daily swing of ``swing`` at a random phase."""
    t = np.arange(windows)
    phase = rng.uniform(0, 2 * np.pi, size=(series, 1))
    return swing * np.sin(2 * np.pi * t / 288 + phase) + rng.normal(
        0, events**-0.5, size=(series, windows)
    )


def river_alarm_rate(threshold: float, values: np.ndarray, min_shift: float) -> float:
    """False alarms per series-window of river's own PageHinkley at ``threshold``."""
    spec = DetectorSpec(
        "page_hinkley",
        {"min_instances": 10, "delta": min_shift, "threshold": threshold, "mode": "both"},
    )
    alarms = 0
    for row in values:
        detector = spec.build()
        for x in row:
            detector.update(float(x))
            alarms += detector.drift_detected
    return alarms / values.size


def test_page_hinkley_calibration_holds_river_to_the_budget_and_is_not_slack() -> None:
    rate = 2e-3  # high enough to count in a test, on 120 x 576 healthy windows
    threshold = calibrate_page_hinkley(0.25, 100, rate)
    values = healthy(np.random.default_rng(99), 120, 576, 100, 0.25)
    assert river_alarm_rate(threshold, values, 0.25) <= rate
    # a tenth of the threshold would break the budget: the calibration is not just huge
    assert river_alarm_rate(threshold / 10, values, 0.25) > rate


def test_a_larger_window_or_a_looser_budget_calibrates_a_lower_threshold() -> None:
    strict = calibrate_page_hinkley(0.25, 100, 1e-4)
    assert calibrate_page_hinkley(0.25, 10_000, 1e-4) < strict
    assert calibrate_page_hinkley(0.25, 100, 1e-2) < strict


def test_a_detection_shows_a_statistic_past_its_threshold_on_one_scale() -> None:
    rng = random.Random(3)
    values = gauss(rng, 100, 0.0, 0.03) + gauss(rng, 60, 1.0, 0.03)
    (spec,) = default_specs()
    hits = feed(OnlineDetectors([spec]), {"x": values})
    assert hits, "a 1 sd shift must be detected"
    for h in hits:
        assert h.statistic == "page_hinkley(delta=0.25)"
        assert h.threshold == spec.params["threshold"]
        assert h.score > h.threshold
    # the statistic is river's: one window earlier it had not crossed
    first = hits[0].window_start // STEP
    detector = spec.build()
    for x in values[:first]:
        detector.update(x)
        assert not detector.drift_detected
