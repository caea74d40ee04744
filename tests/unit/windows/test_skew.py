"""The event-time skew policy in stage 1 and the label join, with an injected clock:
outliers are dead-lettered before they can move the watermark, old backlogs are not,
and a replay decides as the first pass did."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest
from tests.unit.windows.test_stages import (  # noqa: F401 (spec: a fixture)
    T0,
    event,
    partial_counts,
    run_partition,
    spec,
)

from streams.config.models import ModelConfig, WorkerConfig
from streams.events.skew import SkewPolicy
from streams.labels.join import LabelJoin, LabelState
from streams.labels.pending import Pending
from streams.windows.stage1 import DeadLetter, ModelSpec, PartitionState, Stage1

Y2099 = 4_070_908_800  # 2099-01-01T00:00:00Z
DAY = 86400


def clock(t: float):
    return lambda: t


def reasons(outputs: list) -> list[tuple[int, str]]:
    return [(o.offset, o.rejection.reason) for o in outputs if isinstance(o, DeadLetter)]


def partials(outputs: list) -> list[dict]:
    """Partial and watermark bodies, as stage 2 would receive them, less the offset
    they were read to (which the outliers shift) and the count of refused events."""
    bodies = []
    for o in outputs:
        if not isinstance(o, DeadLetter):
            body = {k: v for k, v in o.body.items() if k != "offset"}
            if "aggregate" in body:
                body["aggregate"] = {
                    k: v for k, v in body["aggregate"].items() if k != "skew_refused"
                }
            bodies.append(body)
    return bodies


def skew_refused(outputs: list) -> dict[int, int]:
    """Per window start, the events refused for their time that its partials count."""
    return {
        o.body["aggregate"]["window_start"]: o.body["aggregate"]["skew_refused"]
        for o in outputs
        if not isinstance(o, DeadLetter) and o.body["kind"] == "partial"
    }


def test_a_2099_and_a_1970_event_change_no_partial(spec: ModelSpec) -> None:  # noqa: F811
    times = [T0 + i * 0.5 for i in range(600)]  # 5 windows of 120 events, stationary
    clean = [event(i, t) for i, t in enumerate(times)]
    spoiled = [*clean[:200], event(900, Y2099), *clean[200:400], event(901, 0.0), *clean[400:]]
    now = clock(T0 + 600)  # the worker's clock: just after the stream

    def run(messages: list[bytes]) -> list:
        stage1 = Stage1({"m": spec}, 1, 10_000, now=now)
        state = PartitionState(0)
        return run_partition(stage1, state, messages) + stage1.flush_idle(state)

    without, with_outliers = run(clean), run(spoiled)
    assert reasons(with_outliers) == [(200, "future_timestamp"), (401, "too_old")]
    # offsets differ, nothing else: same windows, same counts, same sketches, same seqs
    assert partials(with_outliers) == partials(without)
    assert partial_counts(with_outliers) == Counter({T0 + 60 * k: 120 for k in range(5)})
    # each outlier is counted in the window of its partition's newest event then:
    # offset 200 after T0 + 99.5 s, offset 401 after T0 + 199.5 s
    assert skew_refused(with_outliers) == {T0: 0, T0 + 60: 1, T0 + 120: 0, T0 + 180: 1, T0 + 240: 0}
    assert set(skew_refused(without).values()) == {0}


def test_refused_events_count_in_a_replay_as_in_the_first_pass(spec: ModelSpec) -> None:  # noqa: F811
    """The window a refusal counts in comes from the saved state, not the clock: a
    replay from a saved state counts the same events in the same windows."""
    messages = [event(i, T0 + i) for i in range(150)]
    messages[100:100] = [event(900 + k, T0 + 3600) for k in range(20)]  # 1 h ahead
    now = clock(T0 + 150)
    stage1 = Stage1({"m": spec}, 1, 10_000, now=now)
    state = PartitionState(0)
    first = run_partition(stage1, state, messages[:110])
    saved = state.serialize()
    first += run_partition(stage1, state, messages[110:], 110) + stage1.flush_idle(state)
    restored = PartitionState.deserialize(saved)
    replay = Stage1({"m": spec}, 1, 10_000, now=clock(T0 + 200))  # still 1 h behind them
    again = run_partition(replay, restored, messages) + replay.flush_idle(restored)
    assert skew_refused(first)[T0 + 60] == 20  # after T0 + 99 s: the window from T0 + 60
    assert sum(skew_refused(first).values()) == 20
    replayed = skew_refused(again)  # the windows still open at the save
    assert T0 + 60 in replayed
    assert replayed == {w: n for w, n in skew_refused(first).items() if w in replayed}


def test_the_future_bound_is_exact_and_configurable(spec: ModelSpec) -> None:  # noqa: F811
    now = T0 + 1000
    stage1 = Stage1({"m": spec}, 1, 10_000, max_clock_skew_s=30, now=clock(now))
    state = PartitionState(0)
    outputs = run_partition(stage1, state, [event(0, now + 30), event(1, now + 30.5)])
    assert reasons(outputs) == [(1, "future_timestamp")]
    assert state.max_event_ts == now + 30
    assert stage1.future_lead_s == {"m": 30.5}  # the clock-skew gauge's value
    assert WorkerConfig().max_clock_skew_s == 300


def test_a_backlog_months_old_is_not_too_old(spec: ModelSpec) -> None:  # noqa: F811
    """Only the spread inside the stream counts, never its age against the clock."""
    stage1 = Stage1({"m": spec}, 1, 10_000, now=clock(T0 + 300 * DAY))
    state = PartitionState(0)
    outputs = run_partition(stage1, state, [event(i, T0 + i) for i in range(200)])
    assert reasons(outputs) == []
    assert sum(partial_counts(outputs + stage1.flush_idle(state)).values()) == 200


def test_too_old_is_measured_from_the_partition_watermark(spec: ModelSpec) -> None:  # noqa: F811
    horizon = spec.config.performance.label_horizon_s
    stage1 = Stage1({"m": spec}, 1, 10_000, now=clock(T0))
    state = PartitionState(0)
    messages = [event(0, T0), event(1, T0 - horizon), event(2, T0 - horizon - 1)]
    assert reasons(run_partition(stage1, state, messages)) == [(2, "too_old")]


def test_a_replay_with_a_later_clock_decides_as_the_first_pass(spec: ModelSpec) -> None:  # noqa: F811
    """The state saved at offset 59, the consumer's commit at 29: offsets 30..99 come
    again 70 days later (past the label horizon of the first pass's events), and
    dead-letter exactly what they did before."""
    horizon = spec.config.performance.label_horizon_s
    times = [T0 + i for i in range(100)]
    times[65] = T0 - horizon - 1  # too old against the watermark
    times[70] = T0 + 200  # ahead of the first pass's clock by 100 s: accepted
    times[80] = Y2099
    messages = [event(i, t) for i, t in enumerate(times)]
    first = Stage1({"m": spec}, 1, 10_000, now=clock(T0 + 100))
    state = PartitionState(0)
    run_partition(first, state, messages[:60])
    saved = state.serialize()
    first_pass = run_partition(first, state, messages[60:], first_offset=60)
    later = Stage1({"m": spec}, 1, 10_000, now=clock(T0 + 70 * DAY))
    restored = PartitionState.deserialize(saved)
    replay = run_partition(later, restored, messages[30:], first_offset=30)
    assert reasons(first_pass) == reasons(replay) == [(65, "too_old"), (80, "future_timestamp")]
    assert partials(first_pass) == partials(replay)


def test_the_policy_refuses_a_bound_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="max_ahead_s must be positive"):
        SkewPolicy(0, {})


CONFIG = ModelConfig(id="m", features={"x": "numeric"}, reference=Path("unused.json"))


def label(pid: str, ts: float) -> bytes:
    return orjson.dumps({"model_id": "m", "prediction_id": pid, "timestamp": ts, "label": "1"})


def test_a_future_label_is_dead_lettered_not_deferred() -> None:
    now = T0 + 3600
    join = LabelJoin({"m": CONFIG}, 1, 10_000, max_clock_skew_s=60, now=clock(now))
    store = {p: Pending("m", T0, 0.9, (), 0).to_bytes() for p in ("a", "b", "c")}
    state = LabelState(0)
    messages = [(0, b"a", label("a", now + 60)), (1, b"b", label("b", Y2099))]
    messages.append((2, b"c", label("c", 0.0)))  # a producer clock at 1970: still its label
    result = join.process(state, messages, store.get, predictions_ts=T0)
    assert [(d.offset, d.rejection.reason) for d in result.deadletters] == [(1, "future_timestamp")]
    assert state.deferred == []  # a's label is early, not an orphan: it joined
    assert {o: n for (_, o), n in result.counts.items()} == {"joined": 2}
