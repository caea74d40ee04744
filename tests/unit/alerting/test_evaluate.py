"""The worker's decisions without a broker: construct the state, call the pure
functions of streams/alerting/evaluate.py, check the records and alerts.

Oracles: the lifecycle's rules (fire after ``fire_after_windows`` breaching windows,
resolve after ``resolve_after_windows`` decided clear ones after the latest breach, a
revision steps nothing, a window too small or too thinly labelled decides nothing)
and shares counted by hand from the events the test builds."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from streams.alerting.evaluate import (
    apply_silences,
    evaluate_performance_windows,
    evaluate_window,
)
from streams.config.models import AlertingConfig, ModelConfig, OnlineConfig
from streams.events.models import AlertCategory, PredictionEvent, Severity, Silence
from streams.labels.metrics import proportion_drop
from streams.labels.performance_windows import PerformanceWindow
from streams.sketches.performance import PerformanceSketch
from streams.windows.aggregate import WindowAggregate
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState, Ready, take_ready

WINDOW_S = 60
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
EVENTS = 200
NOW = 1_767_300_000.0  # the wall clock the worker would pass in


def make_spec(fire_after: int = 1, resolve_after: int = 1) -> ModelSpec:
    rng = np.random.default_rng(0)
    config = ModelConfig(
        id="m",
        features={"x": "numeric"},
        reference=Path("unused.json"),
        window_s=WINDOW_S,
        alerting=AlertingConfig(fire_after_windows=fire_after, resolve_after_windows=resolve_after),
        drift={"online": OnlineConfig(enabled=False)},  # the feature's own test only
    )
    profile = build_profile({"x": rng.normal(size=5000).tolist()}, config.features)
    return ModelSpec(config, profile)


def events(start: int, zeros: int, n: int = EVENTS, seed: int = 1) -> list[PredictionEvent]:
    """n events in the window at ``start``; the first ``zeros`` serve x = 0 (a broken
    upstream), the rest draw x from the reference's distribution."""
    rng = np.random.default_rng(seed + start)
    xs = [0.0] * zeros + rng.normal(size=n - zeros).tolist()
    return [
        PredictionEvent(
            model_id="m",
            model_version="1",
            prediction_id=f"p{start}-{i}",
            timestamp=datetime.fromtimestamp(start + i * WINDOW_S / n, UTC),
            features={"x": x},
            prediction={"score": 0.5},
            latency_ms=10.0,
        )
        for i, x in enumerate(xs)
    ]


def window(spec: ModelSpec, start: int, zeros: int) -> WindowAggregate:
    agg = spec.new_window(start)
    agg.fold(events(start, zeros))
    return agg


def chooser(spec: ModelSpec) -> ReferenceChooser:
    config = spec.config
    return ReferenceChooser(
        config.id, spec.reference.features, config.drift.reference, WINDOW_S, {}.get
    )


def close(state: ModelState, agg: WindowAggregate) -> Ready:
    """The window as stage 2 hands it over once every partition's watermark passed it."""
    state.num_partitions = 1
    state.open[agg.window_start] = agg
    state.watermarks[0] = agg.window_start + WINDOW_S
    (ready,) = take_ready(state, WINDOW_S)
    return ready


def test_a_breaching_window_fires_after_fire_after_and_resolves_after_resolve_after() -> None:
    spec = make_spec(fire_after=2, resolve_after=3)
    state, choose = ModelState("m"), chooser(spec)
    broken = EVENTS // 2
    zeros = [broken, broken, 0, 0, 0]  # two breaching windows, then three clear ones
    decisions = []
    for i, z in enumerate(zeros):
        ready = close(state, window(spec, T0 + i * WINDOW_S, z))
        decisions.append(evaluate_window(spec, state, ready, choose, NOW))

    # the lifecycle's rules: nothing on the first breach, firing on the second,
    # nothing while clear windows count, resolved on the third clear window
    statuses = [[a.status for a in d.alerts] for d in decisions]
    assert statuses == [[], ["firing"], [], [], ["resolved"]]
    fired, resolved = decisions[1].alerts[0], decisions[4].alerts[0]
    assert fired.category == resolved.category == AlertCategory.data_quality
    assert fired.subjects == resolved.subjects == ["x"]
    assert fired.dedup_key == "m:data_quality"
    # the incident starts in the window it fires in, which the evidence spans
    second = datetime.fromtimestamp(T0 + WINDOW_S, UTC)
    assert fired.first_seen == resolved.first_seen == fired.evidence.window_start == second
    # the evidence is the zero share counted by hand: the reference serves no exact zeros
    assert fired.evidence.statistic == "zero_rate_delta"
    assert fired.evidence.value == pytest.approx(broken / EVENTS)
    (kept,) = state.incidents.values()  # resolved: kept only to tell a flap
    assert not kept.firing and not kept.streak and not kept.announced

    record = decisions[0].record
    assert record["window_start"] == T0 and record["window_end"] == T0 + WINDOW_S
    assert record["revision"] == 0 and record["count"] == EVENTS
    assert record["evaluated_at"] == NOW
    assert record["features"]["x"]["zero_rate"] == pytest.approx(broken / EVENTS)
    assert record["breaches"][0]["statistic"] == "zero_rate_delta"
    assert record["reference"] == "static"
    assert record["reference_source"] == spec.reference.source
    assert record["proxy"]["score_mean"] == pytest.approx(0.5)
    assert decisions[2].record["breaches"] == []
    assert state.flagged == {T0, T0 + WINDOW_S}  # the breaching windows


def test_a_revision_updates_the_record_and_steps_no_incident() -> None:
    spec = make_spec(fire_after=1, resolve_after=1)
    state, choose = ModelState("m"), chooser(spec)
    agg = window(spec, T0, zeros=0)
    first = evaluate_window(spec, state, close(state, agg), choose, NOW)
    assert first.alerts == [] and first.record["breaches"] == []
    predictions = dict(state.perf.predictions)

    late = events(T0, zeros=EVENTS, seed=2)  # a late partition: every x zero
    agg.fold(late)
    state.dirty.add(T0)
    (revision,) = take_ready(state, WINDOW_S)
    second = evaluate_window(spec, state, revision, choose, NOW + 1)

    assert second.record["revision"] == 1
    assert second.record["count"] == 2 * EVENTS
    assert second.record["features"]["x"]["zero_rate"] == pytest.approx(0.5)
    assert second.record["breaches"]  # the record shows the breach...
    assert second.alerts == [] and not state.incidents  # ...the lifecycle saw the first only
    assert state.perf.predictions == predictions  # not counted twice
    assert T0 in state.flagged  # out of later score baselines all the same


def test_a_silenced_alert_carries_its_silence_and_resolutions_never_do() -> None:
    spec = make_spec(fire_after=1, resolve_after=1)
    state, choose = ModelState("m"), chooser(spec)
    fired = evaluate_window(spec, state, close(state, window(spec, T0, 50)), choose, NOW)
    cleared = evaluate_window(
        spec, state, close(state, window(spec, T0 + WINDOW_S, 0)), choose, NOW
    )
    alerts = [*fired.alerts, *cleared.alerts]
    assert [a.status for a in alerts] == ["firing", "resolved"]

    now = datetime(2026, 1, 2, tzinfo=UTC)
    silence = Silence(
        model_id="m",
        category=AlertCategory.data_quality,
        until=now + timedelta(hours=4),
        by="oncall",
        reason="upstream fix under way",
        created_at=now,
    )
    silences = {"m|data_quality": silence.model_dump_json().encode()}
    firing, resolved = apply_silences(alerts, silences, now)
    assert firing.silenced == silence
    assert resolved.silenced is None  # an incident paged before must close
    expired = apply_silences(alerts, silences, now + timedelta(hours=5))
    assert [a.silenced for a in expired] == [None, None]
    assert apply_silences(alerts, {}, now) == alerts


def pairs(n: int, accuracy: float) -> PerformanceSketch:
    """n labelled classification pairs, round(n * accuracy) of them right."""
    right = round(n * accuracy)
    sketch = PerformanceSketch()
    sketch.update_batch(np.full(n, 0.9), np.array([1] * right + [0] * (n - right)), np.zeros(n))
    return sketch


def performance_window(cohorts: dict[str, tuple[int, float]]) -> PerformanceWindow:
    sketches = {c: pairs(n, a) for c, (n, a) in cohorts.items()}
    overall = PerformanceSketch()  # the model: the union of the attribute's cohorts
    for sketch in sketches.values():
        overall += sketch
    return PerformanceWindow(sketches={"*": overall, **sketches})


def test_a_performance_window_with_a_cohort_drop_alerts() -> None:
    spec = make_spec(fire_after=1)
    hour = spec.config.performance.window_s
    state = ModelState("m")
    state.perf.windows = {
        0: performance_window({"c=DE": (1000, 0.9), "c=US": (1000, 0.9)}),
        hour: performance_window({"c=DE": (400, 0.2), "c=US": (1000, 0.9)}),
    }
    state.perf.dirty = {hour}

    (decision,) = evaluate_performance_windows(spec, state, NOW)

    record = decision.record
    assert record is not None
    assert (record["kind"], record["window_start"], record["revision"]) == ("performance", hour, 0)
    assert record["evaluated_at"] == NOW
    assert record["cohorts"]["c=DE"]["accuracy"] == pytest.approx(0.2)  # 80 of 400 right
    assert record["cohorts"]["c=DE"]["baseline_accuracy"] == pytest.approx(0.9)
    (alert,) = decision.alerts
    assert (alert.category, alert.status, alert.severity) == (
        AlertCategory.performance,
        "firing",
        Severity.critical,
    )
    assert alert.subjects == ["c=DE"]  # US within tolerance: the drop is Germany's
    assert alert.evidence.value == pytest.approx(0.2)
    assert alert.evidence.window_start == datetime.fromtimestamp(hour, UTC)
    assert not state.perf.dirty
    assert evaluate_performance_windows(spec, state, NOW) == []  # nothing new


def test_orphan_labels_alone_alert_without_a_record() -> None:
    spec = make_spec(fire_after=1)
    state = ModelState("m")
    state.perf.recent = [500.0, 400.0]  # 80 % of the recent labels found no prediction
    (decision,) = evaluate_performance_windows(spec, state, NOW)
    assert decision.record is None
    (alert,) = decision.alerts
    assert (alert.category, alert.subject, alert.evidence.statistic) == (
        AlertCategory.pipeline,
        "labels",
        "orphan_rate",
    )
    assert alert.evidence.value == pytest.approx(400 / 500)
    assert math.isclose(alert.evidence.threshold, spec.config.performance.orphan_rate)


def test_windows_with_too_few_events_neither_resolve_nor_hide_the_incident() -> None:
    spec = make_spec(fire_after=1, resolve_after=1)
    state, choose = ModelState("m"), chooser(spec)
    small = spec.config.thresholds.min_window_events - 1
    decisions = [evaluate_window(spec, state, close(state, window(spec, T0, 50)), choose, NOW)]
    for i in range(1, 4):  # healthy, but too few events to say so
        agg = spec.new_window(T0 + i * WINDOW_S)
        agg.fold(events(T0 + i * WINDOW_S, zeros=0, n=small))
        decisions.append(evaluate_window(spec, state, close(state, agg), choose, NOW))
    clean = window(spec, T0 + 4 * WINDOW_S, zeros=0)
    decisions.append(evaluate_window(spec, state, close(state, clean), choose, NOW))
    statuses = [[a.status for a in d.alerts] for d in decisions]
    assert statuses == [["firing"], [], [], [], ["resolved"]]


def test_a_re_fire_soon_after_a_resolve_is_reported_as_a_flap() -> None:
    spec = make_spec(fire_after=1, resolve_after=1)
    state, choose = ModelState("m"), chooser(spec)
    decisions = [
        evaluate_window(spec, state, close(state, window(spec, T0 + i * WINDOW_S, z)), choose, NOW)
        for i, z in enumerate([50, 0, 50, 50])
    ]
    # the pages and resolves (updates, such as a drift test corroborating later, aside)
    assert [[a.status for a in d.alerts if not a.update] for d in decisions] == [
        ["firing"],
        ["resolved"],
        ["firing"],
        [],
    ]
    assert [d.flaps for d in decisions] == [[], [], [AlertCategory.data_quality], []]


def test_performance_windows_without_evidence_after_the_onset_never_resolve() -> None:
    spec = make_spec(fire_after=1, resolve_after=1)
    performance = spec.config.performance
    hour = performance.window_s
    state = ModelState("m")
    healthy = {"c=A": (1000, 0.9)}
    state.perf.windows = {
        0: performance_window(healthy),
        hour: performance_window(healthy),
        2 * hour: performance_window({"c=A": (1000, 0.5)}),  # the model breaks
    }

    def evaluate(start: int, cohorts: dict[str, tuple[int, float]] | None = None) -> list:
        if cohorts is not None:
            state.perf.windows[start] = performance_window(cohorts)
        state.perf.dirty = {start}
        (decision,) = evaluate_performance_windows(spec, state, NOW)
        return [(a.status, a.subjects) for a in decision.alerts]

    assert evaluate(hour) == [] and evaluate(2 * hour) == [("firing", ["c=A"])]
    # labels keep reaching the pre-onset window: clear each time, but before the onset
    assert [evaluate(hour) for _ in range(3)] == [[], [], []]
    # a brand-new window without labels, then one with fewer than min_labels
    state.perf.windows[3 * hour] = PerformanceWindow()
    assert evaluate(3 * hour) == []
    assert evaluate(3 * hour, {"c=A": (performance.min_labels - 1, 0.9)}) == []
    # enough labels and a drop past tolerance that is not significant yet: unknown too
    drop = proportion_drop(1800, 2000, 205, 250, performance.confidence)
    assert drop.difference < -performance.accuracy_drop < drop.hi
    assert evaluate(3 * hour, {"c=A": (250, 0.82)}) == []
    # a decided clear window after the onset resolves it, once
    assert evaluate(4 * hour, healthy) == [("resolved", ["c=A"])]
    assert evaluate(5 * hour, healthy) == []


def _loaded_after_import(module: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a fresh interpreter has loaded after importing ``module``."""
    code = f"import sys, {module}\nprint(' '.join(n for n in {names!r} if n in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout.split()


def test_the_decisions_import_neither_faust_nor_a_kafka_client() -> None:
    clients = ("faust", "mode", "aiokafka", "confluent_kafka")
    assert _loaded_after_import("streams.alerting.evaluate", clients) == []
