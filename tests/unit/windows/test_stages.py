"""Stage 1 and stage 2 without Kafka: partials, watermarks, restarts and revisions."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pytest

from streams.codec import unpack_partial
from streams.config.models import ModelConfig
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import (
    LATE_FLUSH_OFFSETS,
    DeadLetter,
    ModelSpec,
    PartitionState,
    Stage1,
)
from streams.windows.stage2 import (
    ModelState,
    apply_message,
    idle_to_confirm,
    low_watermark,
    take_ready,
)

WINDOW_S = 60
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def event(i: int, ts: float, x: float | None = 1.0, color: str = "red", model: str = "m") -> bytes:
    return orjson.dumps(
        {
            "model_id": model,
            "model_version": "1",
            "prediction_id": f"p{i}",
            "timestamp": ts,
            "features": {"x": x, "color": color},
            "prediction": {"score": 0.5},
            "latency_ms": 10.0,
        }
    )


@pytest.fixture
def spec() -> ModelSpec:
    rng = np.random.default_rng(0)
    columns = {
        "x": rng.normal(size=2000).tolist(),
        "color": rng.choice(["red", "blue"], size=2000).tolist(),
    }
    config = ModelConfig(
        id="m",
        features={"x": "numeric", "color": "categorical"},
        reference=Path("unused.json"),
        window_s=WINDOW_S,
        allowed_lateness_s=5,
    )
    return ModelSpec(config, build_profile(columns, config.features))


def run_partition(
    stage1: Stage1, state: PartitionState, messages: list[bytes], first_offset: int = 0
) -> list:
    outputs = []
    for offset, raw in enumerate(messages, start=first_offset):
        outputs += stage1.process(state, offset, None, raw)[1]
    return outputs


def partial_counts(outputs: list) -> Counter[int]:
    counts: Counter[int] = Counter()
    for out in outputs:
        if not isinstance(out, DeadLetter) and out.body["kind"] == "partial":
            counts[out.body["aggregate"]["window_start"]] += out.body["aggregate"]["count"]
    return counts


def test_windows_close_on_watermark_and_counts_add_up(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=10_000)
    state = PartitionState(0)
    times = [T0 + i * 0.5 for i in range(600)]  # 5 windows of 120 events
    outputs = run_partition(stage1, state, [event(i, t) for i, t in enumerate(times)])
    outputs += stage1.flush_idle(state)
    expected = Counter(int(t // WINDOW_S) * WINDOW_S for t in times)
    assert partial_counts(outputs) == expected
    assert not state.windows


def test_malformed_events_become_dead_letters(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=400)
    state = PartitionState(0)
    bad = [
        b"{not json",
        b"[1, 2]",
        b"",
        orjson.dumps({"model_id": "m"}),
        event(1, T0, model="nope"),
        event(2, T0, x="oops"),  # type: ignore[arg-type]
        event(3, T0, color="x" * 500),
    ]
    outputs = run_partition(stage1, state, bad)
    reasons = [o.rejection.reason for o in outputs if isinstance(o, DeadLetter)]
    assert reasons == [
        "bad_json",
        "not_an_object",
        "empty",
        "schema",
        "unknown_model",
        "wrong_type",
        "oversize",
    ]


def test_replayed_offsets_are_skipped_after_restore(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=10_000)
    messages = [event(i, T0 + i) for i in range(150)]
    state = PartitionState(0)
    before = run_partition(stage1, state, messages[:90])  # sent before the crash
    restored = PartitionState.deserialize(state.serialize())
    # the consumer's committed offset lags the saved state: 30..89 come again
    after = run_partition(stage1, restored, messages[30:], first_offset=30)
    after += stage1.flush_idle(restored)
    assert sum(partial_counts(before + after).values()) == 150
    seqs = [o.body["seq"] for o in before + after if o.body["kind"] == "partial"]
    assert seqs == list(range(1, len(seqs) + 1))


def test_stage2_evaluates_when_every_partition_passed(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=2, max_event_bytes=10_000)
    states = [PartitionState(0), PartitionState(1)]
    model = ModelState("m")
    evaluated: Counter[int] = Counter()
    produced: Counter[int] = Counter()
    rng = np.random.default_rng(1)
    for i in range(1000):
        ts = T0 + i * 0.3
        p = int(rng.integers(0, 2))
        produced[int(ts // WINDOW_S) * WINDOW_S] += 1
        for out in stage1.process(states[p], i, None, event(i, ts))[1]:
            apply_message(model, unpack_partial(out.serialize()))
        for ready in take_ready(model, WINDOW_S):
            assert ready.revision == 0
            evaluated[ready.aggregate.window_start] += ready.aggregate.count
    # before the idle flush, only windows both partitions passed are evaluated
    assert evaluated and all(evaluated[w] == produced[w] for w in evaluated)
    assert max(evaluated) < max(produced)
    for state in states:
        for out in stage1.flush_idle(state):
            apply_message(model, unpack_partial(out.serialize()))
    for ready in take_ready(model, WINDOW_S):
        evaluated[ready.aggregate.window_start] += ready.aggregate.count
    assert evaluated == produced


def test_stage2_drops_duplicate_partials_and_revises_late_ones(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=10_000)
    state = PartitionState(0)
    outputs = run_partition(stage1, state, [event(i, T0 + i) for i in range(130)])
    model = ModelState("m")
    for out in outputs + outputs:  # everything delivered twice
        apply_message(model, unpack_partial(out.serialize()))
    ready = take_ready(model, WINDOW_S)
    assert [(r.aggregate.window_start, r.aggregate.count, r.revision) for r in ready] == [
        (T0, 60, 0),
        (T0 + 60, 60, 0),
    ]
    assert model.duplicates == len([o for o in outputs if o.body["kind"] == "partial"])
    # events far behind the watermark wait for the next multiple of LATE_FLUSH_OFFSETS
    assert stage1.process(state, 130, None, event(998, T0 + 1))[1] == []
    late = stage1.process(state, LATE_FLUSH_OFFSETS, None, event(999, T0 + 2))[1]
    for out in late:
        apply_message(model, unpack_partial(out.serialize()))
    ready = take_ready(model, WINDOW_S)
    assert [(r.aggregate.window_start, r.aggregate.count, r.revision) for r in ready] == [
        (T0, 62, 1)
    ]
    assert ready[0].aggregate.late == 2
    assert math.isfinite(model.watermarks[0])


def test_a_partition_idle_from_the_start_wakes_up_on_its_first_event(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=10_000)
    state = PartitionState(0)
    model = ModelState("m")
    for out in stage1.flush_idle(state):  # the worker started before any traffic
        apply_message(model, unpack_partial(out.serialize()))
    assert model.idle == {0: -1}  # idle, having read nothing
    assert low_watermark(model) == math.inf
    for out in stage1.process(state, 0, None, event(0, T0 + 30))[1]:
        apply_message(model, unpack_partial(out.serialize()))
    # active again: windows wait for this partition's watermark, not evaluated at once
    assert model.idle == {}
    assert low_watermark(model) == model.watermarks[0] == T0 + 30 - 5


def two_partitions_idle_then_one_busy(spec: ModelSpec) -> tuple[ModelState, Stage1, list]:
    """Both partitions announced idle before any traffic; then partition 0 alone has
    folded two windows of events, while partition 1's stage 1 (another worker's, slow to
    fetch) has not yet read the events written to it."""
    stage1 = Stage1({"m": spec}, num_partitions=2, max_event_bytes=10_000)
    parts = [PartitionState(0), PartitionState(1)]
    model = ModelState("m")
    for part in parts:
        for out in stage1.flush_idle(part):
            apply_message(model, unpack_partial(out.serialize()))
    for out in run_partition(stage1, parts[0], [event(i, T0 + i) for i in range(0, 130, 2)]):
        apply_message(model, unpack_partial(out.serialize()))
    return model, stage1, parts


def test_an_idle_partition_with_unread_messages_holds_its_windows_back(spec: ModelSpec) -> None:
    model, stage1, parts = two_partitions_idle_then_one_busy(spec)
    # trusted blindly, idle partition 1 would let windows close on partition 0's half
    assert idle_to_confirm(model, WINDOW_S) == {1: -1}
    assert take_ready(model, WINDOW_S, unread={1}) == []  # its end offset: 65 messages
    for out in run_partition(stage1, parts[1], [event(i, T0 + i) for i in range(1, 130, 2)]):
        apply_message(model, unpack_partial(out.serialize()))
    assert idle_to_confirm(model, WINDOW_S) == {}  # both active now: nothing to check
    ready = take_ready(model, WINDOW_S)
    assert [(r.aggregate.window_start, r.aggregate.count, r.revision) for r in ready] == [
        (T0, 60, 0),
        (T0 + 60, 60, 0),
    ]


def test_an_idle_partition_with_nothing_unread_lets_the_windows_close(spec: ModelSpec) -> None:
    model, _, _ = two_partitions_idle_then_one_busy(spec)
    ready = take_ready(model, WINDOW_S, unread=set())  # its end offset: 0, nothing written
    assert [(r.aggregate.window_start, r.aggregate.count) for r in ready] == [
        (T0, 30),
        (T0 + 60, 30),
    ]


def test_a_refused_message_wakes_an_idle_partition_and_it_goes_idle_at_the_new_offset(
    spec: ModelSpec,
) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=10_000)
    state = PartitionState(0)
    model = ModelState("m")
    for out in stage1.flush_idle(state):
        apply_message(model, unpack_partial(out.serialize()))
    outputs = stage1.process(state, 0, None, b"not json")[1]
    assert isinstance(outputs[-1], DeadLetter)
    for out in outputs[:-1]:
        apply_message(model, unpack_partial(out.serialize()))
    assert model.idle == {}  # else stage 2 would wait for an announcement never made
    for out in stage1.flush_idle(state):
        apply_message(model, unpack_partial(out.serialize()))
    assert model.idle == {0: 0}


def test_stage2_state_keeps_idle_partitions_and_reads_a_version_3_state() -> None:
    model = ModelState("m", num_partitions=3, watermarks={0: -math.inf, 1: T0 + 5.0, 2: T0})
    model.idle[2] = 41
    restored = ModelState.deserialize(model.serialize(), {}.get)
    assert (restored.watermarks, restored.idle) == (model.watermarks, {2: 41})
    body = orjson.loads(model.serialize()[1:])
    body["num_partitions"], body["watermarks"] = 2, {"0": T0, "1": None}  # version 3: null, idle
    del body["idle"]
    old = ModelState.deserialize(bytes([3]) + orjson.dumps(body), {}.get)
    assert old.idle == {1: None} and low_watermark(old) == T0  # trusted as before
    assert idle_to_confirm(old, WINDOW_S) == {}


def _save(model: ModelState, table: dict[str, bytes]) -> None:
    for key, value in model.window_entries().items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    table[model.model_id] = model.serialize()


def test_stage2_state_saves_only_changed_windows_and_restores_them(spec: ModelSpec) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=1, max_event_bytes=10_000)
    outputs = run_partition(stage1, PartitionState(0), [event(i, T0 + i) for i in range(130)])
    model, table = ModelState("m"), {}
    for out in outputs:
        apply_message(model, unpack_partial(out.serialize()))
    take_ready(model, WINDOW_S)
    model.feed_online(T0, {"x": 0.1})
    entries = model.window_entries()
    assert len([k for k in entries if k.endswith("online")]) == 1
    assert model.window_entries() == {}  # nothing changed since
    model.changed.update(model.evaluated)
    model.online_changed = True
    _save(model, table)
    restored = ModelState.deserialize(table["m"], table.get)
    assert {s: (r, a.count) for s, (r, a) in restored.evaluated.items()} == {
        s: (r, a.count) for s, (r, a) in model.evaluated.items()
    }
    assert restored.online.last_window("x") == T0


def test_stage2_crash_between_window_and_state_writes_merges_nothing_twice(
    spec: ModelSpec,
) -> None:
    stage1 = Stage1({"m": spec}, num_partitions=2, max_event_bytes=10_000)
    parts = [PartitionState(0), PartitionState(1)]
    outputs = []
    for p, part in enumerate(parts):
        events = [event(i, T0 + i) for i in range(p, 30, 2)]
        outputs.append(run_partition(stage1, part, events) + stage1.flush_idle(part))
    model, table = ModelState("m"), {}
    for out in outputs[0]:
        apply_message(model, unpack_partial(out.serialize()))
    _save(model, table)  # window T0 holds partition 0's partial
    for out in outputs[1]:
        apply_message(model, unpack_partial(out.serialize()))
    for key, value in model.window_entries().items():  # the crash: windows written ...
        table[key] = value  # type: ignore[assignment]
    restored = ModelState.deserialize(table["m"], table.get)  # ... the state not
    for out in outputs[1]:  # partition 1 replays from its committed offset
        apply_message(restored, unpack_partial(out.serialize()))
    assert restored.open[T0].count == 30 == model.open[T0].count
    assert restored.duplicates == 1


def test_partials_carry_a_version_and_another_is_refused_by_name() -> None:
    from streams.codec import PARTIAL_VERSION, FormatError, pack

    body = {"kind": "watermark", "model_id": "m", "partition": 0, "num_partitions": 1}
    assert unpack_partial(pack(PARTIAL_VERSION, body)) == body
    assert unpack_partial(orjson.dumps(body)) == body  # written before the version byte
    with pytest.raises(FormatError, match="unsupported partial version 9"):
        unpack_partial(pack(9, body))
    with pytest.raises(FormatError, match="damaged partial"):
        unpack_partial(pack(PARTIAL_VERSION, body)[:-1])


@pytest.mark.parametrize(
    ("threshold", "agreement", "positive_rate"),
    # champion decisions at 0.5: 1 1 0 1, shadow's 1 0 0 1: 3 of 4 agree, 3 of 4 positive;
    # at 0.7: champion 0 1 0 0, shadow 0 0 0 1: 2 of 4 agree, 1 of 4 positive
    [(0.5, 0.75, 0.75), (0.7, 0.5, 0.25)],
)
def test_decisions_are_taken_at_the_models_configured_threshold(
    spec: ModelSpec, threshold: float, agreement: float, positive_rate: float
) -> None:
    from streams.events.models import PredictionEvent
    from streams.labels.proxy import proxy_metrics

    config = ModelConfig.model_validate(
        spec.config.model_dump() | {"performance": {"threshold": threshold}}
    )
    window = ModelSpec(config, spec.reference).new_window(T0)
    pairs = [(0.6, 0.65), (0.8, 0.4), (0.3, 0.2), (0.55, 0.75)]
    window.fold(
        [
            PredictionEvent.model_validate(
                orjson.loads(event(i, T0 + i))
                | {"prediction": {"score": s}, "shadow_predictions": {"b": {"score": b}}}
            )
            for i, (s, b) in enumerate(pairs)
        ]
    )
    window = type(window).from_dict(orjson.loads(orjson.dumps(window.to_dict())))  # as stored
    assert window.shadow_summary()["b"]["agreement"] == agreement
    assert proxy_metrics(window, None)["positive_rate"] == positive_rate
