"""The label join without Kafka: outcomes counted exactly, pairs credited to the
prediction's window and cohorts, replays skipped, the outbox, expiry."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from streams.codec import pack, unpack_partial
from streams.config.models import ModelConfig
from streams.labels.join import LabelJoin, LabelState, sweep
from streams.labels.pending import POSITIONAL_VERSION, Expired, Pending, read_pending
from streams.sketches.bytes import from_text
from streams.sketches.performance import PerformanceSketch

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
    body = unpack_partial(raw)
    assert model == "m" and body["seq"] == 1 and state.outbox == [raw]
    sketches = {
        (int(w), c): PerformanceSketch.from_bytes(from_text(b))
        for w, cohorts in body["windows"].items()
        for c, b in cohorts.items()
    }
    assert {k: (s.tp, s.tn) for k, s in sketches.items()} == {
        (int(T0), "*"): (1, 0),
        (int(T0), "country=DE"): (1, 0),
        (int(T0) + 600, "*"): (0, 1),
        (int(T0) + 600, "country=US"): (0, 1),
    }
    assert read_pending(result.writes["a"]).labeled  # type: ignore[union-attr]
    # a replay of the same offsets changes nothing
    again = join.process(state, messages, store.get, float("inf"))
    assert again.partials == [] and not again.counts and state.seq == 1
    restored = LabelState.deserialize(state.serialize())
    assert (restored.offset, restored.seq, restored.outbox) == (6, 1, [raw])


def test_sustained_orphans_raise_a_pipeline_signal_and_pass() -> None:
    from streams.config.models import PerformanceConfig
    from streams.labels.performance_windows import PerformanceState, orphan_signals

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


def _regression_window(rng, start: float, n: int, de_noise: float) -> tuple[dict, dict]:
    """Pending regression predictions in one window and their labels (true values):
    errors ~ N(0, 1) for US, N(0, de_noise) for DE."""
    store, labels = {}, {}
    for i in range(n):
        country = "DE" if i % 2 else "US"
        truth = float(rng.normal(50, 10))
        output = truth + float(rng.normal(0, de_noise if country == "DE" else 1.0))
        pid = f"{int(start)}-{i}"
        record = Pending("r", start + i % 500, None, (f"country={country}",), 0, value=output)
        store[pid] = record.to_bytes()
        labels[pid] = (truth, output, country)
    return store, labels


def test_regression_pairs_join_to_sklearns_errors_and_a_cohort_alert() -> None:
    import numpy as np
    from sklearn import metrics as skm

    from streams.labels.performance_windows import PerformanceState, evaluate

    config = CONFIG.model_copy(update={"id": "r"})
    rng = np.random.default_rng(3)
    first, first_labels = _regression_window(rng, T0, 1_200, de_noise=1.0)
    second, second_labels = _regression_window(rng, T0 + 600, 1_200, de_noise=3.0)
    store = first | second
    truths = first_labels | second_labels
    messages = [
        (
            i,
            pid.encode(),
            orjson.dumps(
                {
                    "model_id": "r",
                    "prediction_id": pid,
                    "timestamp": "2026-01-03T00:00:00Z",
                    "value": truth,
                }
            ),
        )
        for i, (pid, (truth, _, _)) in enumerate(truths.items())
    ]
    join = LabelJoin({"r": config}, num_partitions=1, max_bytes=10_000)
    result = join.process(LabelState(0), messages, store.get, float("inf"))
    assert dict(result.counts) == {("r", "joined"): 2_400}
    state = PerformanceState()
    for _, raw in result.partials:
        state.apply(unpack_partial(raw), config.performance)
    body, signals, _ = evaluate(state, int(T0), config.performance)
    assert signals == []  # no baseline yet
    pairs = [(t, o) for t, o, _ in first_labels.values()]
    y, p = np.array(pairs).T
    overall = body["cohorts"]["*"]
    assert overall["n"] == 1_200
    assert math.isclose(overall["mae"], skm.mean_absolute_error(y, p), rel_tol=1e-9)
    assert math.isclose(overall["rmse"], skm.root_mean_squared_error(y, p), rel_tol=1e-9)
    assert math.isclose(overall["mape"], skm.mean_absolute_percentage_error(y, p), rel_tol=1e-9)
    # label delays: the label's time minus the prediction's, within a bin (10%) of exact
    delays = [172_800 - i % 500 for i in range(1_200)]  # labels at T0 + 2 days
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        exact = float(np.quantile(delays, q))
        assert abs(body["label_delay_s"][key] - exact) <= 0.1 * exact
    body, signals, _ = evaluate(state, int(T0) + 600, config.performance)
    assert [(s.subject, s.statistic) for s in signals] == [("country=DE", "mae")]
    assert body["worst_cohorts"] == ["country=DE", "country=US"]
    de = [abs(t - o) for t, o, c in second_labels.values() if c == "DE"]
    assert math.isclose(body["cohorts"]["country=DE"]["mae"], float(np.mean(de)), rel_tol=1e-9)


def test_regression_records_keep_their_value_and_old_records_still_read() -> None:
    record = Pending("r", T0, None, (), 1, shadows=(("b", 2.5),), value=3.0)
    back = read_pending(record.to_bytes())
    assert back == record and isinstance(back, Pending) and back.regression
    assert back.labelled().value == 3.0 and back.labelled().labeled
    old = pack(POSITIONAL_VERSION, ["m", T0, 0.7, [], 0, False, []])  # before regression
    assert read_pending(old) == Pending("m", T0, 0.7, (), 0)


def _pairs(n: int, accuracy: float) -> PerformanceSketch:
    """n classification pairs, round(n * accuracy) of them right."""
    import numpy as np

    right = round(n * accuracy)
    sketch = PerformanceSketch()
    labels = np.array([1] * right + [0] * (n - right))
    sketch.update_batch(np.full(n, 0.9), labels, np.zeros(n))
    return sketch


def _window(cohorts: dict[str, tuple[int, float]]):
    from streams.labels.performance_windows import PerformanceWindow

    sketches = {c: _pairs(n, a) for c, (n, a) in cohorts.items()}
    overall = PerformanceSketch()  # the model: the union of one attribute's cohorts
    for cohort, sketch in sketches.items():
        if cohort.startswith("c="):
            overall += sketch
    return PerformanceWindow(sketches={"*": overall, **sketches})


@pytest.mark.parametrize(
    ("current", "paged"),
    [
        # DE's drop shows in the model before DE has min_labels: nobody is paged yet
        ({"c=DE": (190, 0.2), "c=US": (1000, 0.9)}, []),
        ({"c=DE": (400, 0.2), "c=US": (1000, 0.9)}, ["c=DE"]),  # then DE, by name
        ({"c=DE": (1000, 0.7), "c=US": (1000, 0.7)}, ["c=DE", "c=US"]),
        # model-wide, every cohort too small to judge: the model pages
        ({f"c={i}": (150, 0.7) for i in range(8)}, ["*"]),
        ({"c=DE": (400, 0.9), "c=US": (1000, 0.9)}, []),
        # Germany's drop shows in every device: the page names Germany only
        (
            {"c=DE": (400, 0.2), "c=US": (1000, 0.9), "d=ios": (700, 0.7), "d=web": (700, 0.7)},
            ["c=DE"],
        ),
    ],
)
def test_a_performance_page_names_the_cohorts_that_explain_the_drop(
    current: dict, paged: list[str]
) -> None:
    from streams.config.models import PerformanceConfig
    from streams.labels.performance_windows import PerformanceState, evaluate

    config = PerformanceConfig()
    baseline = {c: (1000, 0.9) for c in current}
    state = PerformanceState(windows={0: _window(baseline), 3600: _window(current)})
    _, signals, _ = evaluate(state, 3600, config)
    assert sorted(s.subject for s in signals) == paged
    assert state.windows[3600].flagged == (current["c=DE" if "c=DE" in current else "c=0"][1] < 0.8)


def test_expiry_markers_of_both_versions_count_late_labels_and_age_out() -> None:
    old_marker = pack(POSITIONAL_VERSION, [None, 0.0, 0, "m"])  # [None, ts, partition, model]
    new_marker = Expired("m", 0.0, 0).to_bytes()
    assert read_pending(old_marker) == read_pending(new_marker) == Expired("m", 0.0, 0)
    items = [("old", old_marker), ("new", new_marker)]
    # within two horizons of the prediction: kept; beyond: deleted
    assert sweep(items, {0: 1.5}, {"m": 1.0}) == ({}, {})
    writes, expired = sweep(items, {0: 2.5}, {"m": 1.0})
    assert writes == {"old": (0, None), "new": (0, None)} and not expired


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x09[]", "version 9"),
        (pack(2, {"kind": "prophecy", "ts": 0.0}), "unknown kind 'prophecy'"),
        (pack(2, {"kind": "expired", "ts": 0.0}), "malformed"),
    ],
)
def test_unknown_pending_records_are_refused_by_name(raw: bytes, message: str) -> None:
    from streams.codec import FormatError

    with pytest.raises(FormatError, match=message):
        read_pending(raw)
