"""Online detectors over per-window summaries, with river's own detectors as the oracle."""

from __future__ import annotations

import math
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.drift.online import (
    FORMAT_VERSION,
    DetectorSpec,
    OnlineDetectors,
    OnlineDrift,
    default_specs,
)

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
    hits = feed(OnlineDetectors(), {"a": a, "prediction_score": b})
    for spec in default_specs():
        want_a, want_b = oracle(spec, a), oracle(spec, b)
        assert want_a, f"{spec.name} never fires: the test would prove nothing"
        assert indices(hits, "a", spec.name) == want_a
        assert indices(hits, "prediction_score", spec.name) == want_b


def test_detection_names_detector_params_and_value() -> None:
    values = shifted_series()
    hits = feed(OnlineDetectors(), {"age": values})
    specs = {s.name: s.params for s in default_specs()}
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
    spec = next(s for s in default_specs() if s.name == name)
    hits = indices(feed(OnlineDetectors([spec]), {"x": values}), "x", name)
    assert hits, f"{name} missed a 10-sigma level shift"
    assert 300 <= hits[0] <= 330, hits  # ~2.5 hours of 5-minute windows at most


def test_stationary_noise_gives_no_detection() -> None:
    rng = random.Random(11)
    specs = [s for s in default_specs() if s.name != "kswin"]
    series = {"x": gauss(rng, 2000, 0.0, 0.2), "prediction_score": gauss(rng, 2000, 0.0, 0.1)}
    assert feed(OnlineDetectors(specs), series) == []


def test_kswin_needs_window_size_values_before_it_can_fire() -> None:
    kswin = next(s for s in default_specs() if s.name == "kswin")
    size = kswin.params["window_size"]
    values = [0.0] * 50 + [5.0] * (size - 51)  # an obvious shift, one value short of a window
    det = OnlineDetectors([kswin])
    assert feed(det, {"x": values}) == []
    hits = det.update(len(values) * STEP, {"x": 5.0})
    assert [h.window_start // STEP for h in hits] == [size - 1]


@pytest.mark.parametrize("split", [1, 150, 212, 213, 214, 221, 361, 364, 599])
def test_round_trip_continues_like_an_uninterrupted_run(split: int) -> None:
    series = {"a": shifted_series(3), "b": shifted_series(4)}
    whole = feed(OnlineDetectors(), series)

    first = OnlineDetectors()
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
        *default_specs()[:2],
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
    det = OnlineDetectors(history=50)
    hits = feed(det, {"x": values})
    for spec in default_specs():  # the live detectors saw everything despite the trimming
        assert indices(hits, "x", spec.name) == oracle(spec, values)
    body = orjson.loads(det.to_bytes()[1:])
    assert body["series"]["x"]["values"] == values[-50:]
    assert body["series"]["x"]["starts"] == [i * STEP for i in range(len(values) - 50, len(values))]
    restored = OnlineDetectors.from_bytes(det.to_bytes())  # rebuilt from the last 50 only
    assert restored.last_window("x") == (len(values) - 1) * STEP


def test_revision_of_a_window_is_not_a_new_observation() -> None:
    values = shifted_series(6)
    det = OnlineDetectors()
    hits: list[OnlineDrift] = []
    for i, v in enumerate(values):
        hits += det.update(i * STEP, {"x": v})
        hits += det.update(i * STEP, {"x": v + 100.0})  # a revision: ignored
        if i:
            hits += det.update((i - 1) * STEP, {"x": -100.0})  # a late older window: ignored
    for spec in default_specs():
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
