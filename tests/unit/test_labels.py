"""The label join without Kafka: outcomes counted exactly, pairs credited to the
prediction's window and cohorts, replays skipped, the outbox, expiry."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson

from streams.config import ModelConfig
from streams.performance.sketch import PerformanceSketch
from streams.pipeline.labels import LabelJoin, LabelState, Pending, sweep

CONFIG = ModelConfig(
    id="m",
    features={"x": "numeric"},
    reference=Path("unused.json"),
    performance={"window_s": 600, "cohorts": ["country"]},
)
T0 = 1_767_225_600.0


def label(pid: str, value: str = "1", model: str = "m") -> bytes:
    return orjson.dumps(
        {
            "model_id": model,
            "prediction_id": pid,
            "timestamp": "2026-01-02T00:00:00Z",
            "label": value,
        }
    )


def test_outcomes_windows_and_cohorts() -> None:
    store = {
        "a": Pending("m", T0 + 10, 0.9, ("country=DE",), 0).to_bytes(),
        "b": Pending("m", T0 + 700, 0.2, ("country=US",), 0).to_bytes(),
        "c": Pending("m", T0 + 20, 0.7, (), 0, labeled=True).to_bytes(),
    }
    store["d"] = sweep([("d", Pending("m", 0.0, 0.5, (), 0).to_bytes())], {0: T0}, {"m": 1.0})[0][
        "d"
    ][1]  # an expired prediction's marker
    join = LabelJoin({"m": CONFIG}, num_partitions=1, max_bytes=10_000)
    state = LabelState(0)
    messages = [
        (0, b"a", label("a")),
        (1, b"b", label("b", "0")),
        (2, b"c", label("c")),
        (3, b"d", label("d")),
        (4, b"e", label("e")),  # never predicted
        (5, b"a", label("a")),  # a second label for a
        (6, b"x", b"{not json"),
    ]
    result = join.process(state, messages, store.get, float("inf"))
    assert {o: n for (_, o), n in result.counts.items()} == {
        "joined": 2,
        "duplicate": 2,
        "expired": 1,
        "orphan": 1,
    }
    assert [d.rejection.reason for d in result.deadletters] == ["bad_json"]
    ((model, raw),) = result.partials
    body = orjson.loads(raw)
    assert model == "m" and body["seq"] == 1 and state.outbox == [raw]
    sketches = {
        (int(w), c): PerformanceSketch.from_bytes(base64.b64decode(b))
        for w, cohorts in body["windows"].items()
        for c, b in cohorts.items()
    }
    assert {k: (s.tp, s.tn) for k, s in sketches.items()} == {
        (int(T0), "*"): (1, 0),
        (int(T0), "country=DE"): (1, 0),
        (int(T0) + 600, "*"): (0, 1),
        (int(T0) + 600, "country=US"): (0, 1),
    }
    assert Pending.from_bytes(result.writes["a"]).labeled  # type: ignore[union-attr]
    # a replay of the same offsets changes nothing
    again = join.process(state, messages, store.get, float("inf"))
    assert again.partials == [] and not again.counts and state.seq == 1
    restored = LabelState.deserialize(state.serialize())
    assert (restored.offset, restored.seq, restored.outbox) == (6, 1, [raw])


def test_sustained_orphans_raise_a_pipeline_signal_and_pass() -> None:
    from streams.config import PerformanceConfig
    from streams.pipeline.performance import PerformanceState, orphan_signals

    state, config = PerformanceState(), PerformanceConfig()
    body = {"partition": 0, "windows": {}, "counts": {"orphan": 90, "joined": 10}}
    for seq in (1, 2):
        state.apply({**body, "seq": seq}, config)
    assert [(s.category.value, s.statistic) for s in orphan_signals(state, config)] == [
        ("pipeline", "orphan_rate")
    ]
    healthy = {**body, "counts": {"joined": 500}}
    for seq in (3, 4, 5):
        state.apply({**healthy, "seq": seq}, config)
    assert orphan_signals(state, config) == []
    state.apply({**body, "seq": 5}, config)  # a resend changes nothing
    assert state.counts["orphan"] == 180


def test_a_label_ahead_of_its_prediction_waits_for_it() -> None:
    join = LabelJoin({"m": CONFIG}, num_partitions=1, max_bytes=10_000)
    state, store = LabelState(0), {}
    first = join.process(state, [(0, b"a", label("a"))], store.get, T0)  # predictions behind
    assert not first.counts and len(state.deferred) == 1
    store["a"] = Pending("m", T0 + 10, 0.9, (), 0).to_bytes()  # the prediction comes in
    second = join.process(state, [], store.get, T0 + 86_400 * 2)
    assert dict(second.counts) == {("m", "joined"): 1} and state.deferred == []
    # with the predictions past the label's time, a missing prediction is an orphan
    third = join.process(state, [(1, b"z", label("z"))], store.get, T0 + 86_400 * 2)
    assert dict(third.counts) == {("m", "orphan"): 1}
    restored = LabelState.deserialize(LabelState(0, deferred=[b"x"]).serialize())
    assert restored.deferred == [b"x"]
