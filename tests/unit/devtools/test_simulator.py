"""The simulator without a broker: the synthetic world, scenarios, files, CLI, producer loop."""

from __future__ import annotations

import argparse
import inspect
import itertools
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from scipy.stats import ks_2samp

from streams.cli.common import parse_duration
from streams.cli.simulate import register
from streams.client.logger import EventLogger
from streams.devtools.simulator.arrivals import ArrivalProcess
from streams.devtools.simulator.datafiles import read_columns, write_rows
from streams.devtools.simulator.features import (
    CATEGORICAL_FEATURES,
    CYCLE_FEATURES,
    FEATURES,
    MISSING_FEATURES,
    NUMERIC_FEATURES,
    USER_BEHAVIOUR_FEATURES,
)
from streams.devtools.simulator.model import EventGenerator, reference_stats
from streams.devtools.simulator.producer import SimulationError, simulate, write_reference
from streams.devtools.simulator.scenarios import SCENARIOS, make_scenario
from streams.events.models import LabelEvent, PredictionEvent

START = datetime(2024, 5, 1, tzinfo=UTC).timestamp()
HOUR = 3600.0


def _times(n: int, span_s: float, seed: int = 1) -> np.ndarray:
    return START + np.sort(np.random.default_rng(seed).uniform(0, span_s, n))


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    """Reference rows as the producer writes them (uniform over whole days, clean)."""
    gen = EventGenerator(123)
    block = gen.generate(_times(40_000, 7 * 86_400, seed=5))
    return {name: block.numeric[name] for name in NUMERIC_FEATURES}


# --- the synthetic world


def test_feature_catalogue() -> None:
    assert sum(kind == "numeric" for kind in FEATURES.values()) == 20
    assert sum(kind == "categorical" for kind in FEATURES.values()) == 5
    assert set(USER_BEHAVIOUR_FEATURES) <= set(NUMERIC_FEATURES)
    assert {"country", "device", "channel", "category", "payment_method"} == set(
        CATEGORICAL_FEATURES
    )
    assert 3 <= len(MISSING_FEATURES) <= 4


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_event_validates(scenario: str) -> None:
    scn = make_scenario(scenario, start=START, duration_s=2 * HOUR)
    block = EventGenerator(0).generate(_times(1500, 2 * HOUR), scn)
    for raw in block.to_json():
        event = PredictionEvent.model_validate(orjson.loads(raw))
        assert set(event.features) == set(FEATURES)
        assert event.segments == {
            "country": event.features["country"],
            "device": event.features["device"],
        }
        assert event.prediction.label == ("1" if event.prediction.score >= 0.5 else "0")
    assert len(set(block.prediction_ids)) == len(block)


def test_realistic_marginals(reference: dict[str, np.ndarray]) -> None:
    for name in USER_BEHAVIOUR_FEATURES:
        values = reference[name]
        assert np.nanmin(values) >= 0
        assert np.mean(values == 0) < 0.02, name
    for name in NUMERIC_FEATURES:
        rate = np.mean(np.isnan(reference[name]))
        if name in MISSING_FEATURES:
            assert 0.005 < rate < 0.02, name
        else:
            assert rate == 0, name
    assert np.all(np.round(reference["item_price"] * 100) % 100 == 99)  # charm prices
    assert np.nanmax(reference["item_rating"]) <= 5 and np.nanmin(reference["item_rating"]) >= 1
    latency = EventGenerator(0).generate(_times(5000, HOUR)).latency_ms
    assert 17 < np.median(latency) < 23


def test_features_are_correlated(reference: dict[str, np.ndarray]) -> None:
    clicks = np.log1p(reference["user_clicks_7d"])
    sessions = np.log1p(reference["user_sessions_30d"])
    assert np.corrcoef(clicks, sessions)[0, 1] > 0.3


def test_deterministic_by_seed() -> None:
    times = _times(500, HOUR)
    scn = make_scenario("silent-zeros", start=START, duration_s=HOUR)
    first = EventGenerator(7).generate(times, scn).to_json()
    assert EventGenerator(7).generate(times, scn).to_json() == first
    assert EventGenerator(8).generate(times, scn).to_json() != first
    a, b = ArrivalProcess(10, START, seed=3), ArrivalProcess(10, START, seed=3)
    assert np.array_equal(
        np.concatenate(list(a.blocks(HOUR))), np.concatenate(list(b.blocks(HOUR)))
    )


def test_score_is_calibrated() -> None:
    block = EventGenerator(11).generate(_times(60_000, 86_400))
    assert np.array_equal(block.score, block.true_score)
    edges = np.quantile(block.score, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, block.score, side="right") - 1, 0, 9)
    for b in range(10):
        inside = bins == b
        assert abs(block.score[inside].mean() - block.label[inside].mean()) < 0.03
    assert 0.15 < block.label.mean() < 0.5


# --- scenarios


def test_silent_zeros_serves_exact_zeros_after_onset_only() -> None:
    scn = make_scenario(
        "silent-zeros", start=START, duration_s=3 * HOUR, onset_s=HOUR, recover_s=2 * HOUR
    )
    block = EventGenerator(0).generate(_times(9000, 3 * HOUR), scn)
    t = block.timestamps
    before, during, after = (
        t < START + HOUR,
        (t >= START + HOUR) & (t < START + 2 * HOUR),
        t >= (START + 2 * HOUR),
    )
    for name in NUMERIC_FEATURES:
        served, clean = block.numeric[name], block.clean_numeric[name]
        if name in scn.affect:
            assert np.all(served[during] == 0), name
            assert np.mean(served[before] == 0) < 0.02, name
            assert np.mean(served[after] == 0) < 0.02, name
        else:
            assert np.array_equal(served, clean, equal_nan=True), name
    # the label still comes from the clean features: served scores drop, labels do not
    assert block.score[during].mean() < block.true_score[during].mean() - 0.05
    assert np.array_equal(block.score[before], block.true_score[before])


def test_sudden_shift_moves_mean_by_magnitude(reference: dict[str, np.ndarray]) -> None:
    scn = make_scenario("sudden-shift", start=START, duration_s=4 * HOUR, magnitude=1.5)
    block = EventGenerator(2).generate(_times(30_000, 4 * HOUR), scn)
    after = block.timestamps >= START + 4 * HOUR / 3
    for name in NUMERIC_FEATURES:
        ref = reference[name]
        std = np.nanstd(ref)
        shift_after = (np.nanmean(block.numeric[name][after]) - np.nanmean(ref)) / std
        shift_before = (np.nanmean(block.numeric[name][~after]) - np.nanmean(ref)) / std
        if name == "item_price":
            assert abs(shift_before) < 0.05
            assert shift_after == pytest.approx(1.5, abs=0.1)
        else:
            served, clean = block.numeric[name], block.clean_numeric[name]
            assert np.array_equal(served, clean, equal_nan=True), name
            if name not in CYCLE_FEATURES:  # those move up to 0.3 sd with the hour of day
                assert abs(shift_after) < 0.05, name


def test_gradual_drift_grows_linearly() -> None:
    scn = make_scenario(
        "gradual-drift", start=START, duration_s=3 * HOUR, affect=["basket_value"], onset_s=HOUR
    )
    block = EventGenerator(3).generate(_times(3000, 3 * HOUR), scn)
    delta = block.numeric["basket_value"] - block.clean_numeric["basket_value"]
    expected = np.clip((block.timestamps - START - HOUR) / (2 * HOUR), 0, 1)
    expected *= reference_stats().raw_std["basket_value"]
    assert np.allclose(delta, expected, atol=1e-6)


def test_seasonal_cycles_by_hour_but_matches_whole_day_reference(
    reference: dict[str, np.ndarray],
) -> None:
    scn = make_scenario("seasonal", start=START, duration_s=2 * 86_400)
    times = np.concatenate(list(ArrivalProcess(0.35, START, seed=4).blocks(2 * 86_400)))
    block = EventGenerator(4).generate(times, scn)
    hours = ((block.timestamps % 86_400) // HOUR).astype(int)
    per_hour_count = np.bincount(hours, minlength=24)
    assert per_hour_count.max() > 2 * per_hour_count.min()  # the rate cycles
    for name in CYCLE_FEATURES:
        values, std = block.numeric[name], np.nanstd(reference[name])
        means = np.array([np.nanmean(values[hours == h]) for h in range(24)])
        amplitude = (means.max() - means.min()) / 2 / std
        assert 0.05 < amplitude < 0.35, name  # 0.3 sd, plus sampling noise
    for name in NUMERIC_FEATURES:
        live, ref = block.numeric[name], reference[name]
        stat = ks_2samp(live[~np.isnan(live)], ref[~np.isnan(ref)]).statistic
        assert stat < 0.02, name


def test_stationary_has_no_cycle() -> None:
    scn = make_scenario("stationary", start=START, duration_s=86_400)
    times = np.concatenate(
        list(ArrivalProcess(0.3, START, seed=1, daily_cycle=False).blocks(86_400))
    )
    block = EventGenerator(1).generate(times, scn)
    quarter = ((block.timestamps % 86_400) // (6 * HOUR)).astype(int)
    counts = np.bincount(quarter, minlength=4)
    assert counts.max() < 1.1 * counts.min()
    for name in CYCLE_FEATURES:
        values = block.numeric[name]
        means = [np.nanmean(np.log1p(np.abs(values[quarter == q]))) for q in range(4)]
        assert max(means) - min(means) < 0.06, name


def test_unknown_scenario_and_feature() -> None:
    with pytest.raises(ValueError, match="allowed: stationary, seasonal, silent-zeros"):
        make_scenario("meteor", start=START, duration_s=HOUR)
    with pytest.raises(ValueError, match="allowed: user_clicks_7d"):
        make_scenario("silent-zeros", start=START, duration_s=HOUR, affect=["nope"])
    with pytest.raises(ValueError, match="non-numeric"):
        make_scenario("sudden-shift", start=START, duration_s=HOUR, affect=["country"])
    with pytest.raises(ValueError, match="onset"):
        make_scenario("silent-zeros", start=START, duration_s=HOUR, onset_s=2 * HOUR)
    with pytest.raises(ValueError, match="recover"):
        make_scenario("silent-zeros", start=START, duration_s=HOUR, onset_s=60, recover_s=30)
    with pytest.raises(ValueError, match="magnitude"):
        make_scenario("silent-zeros", start=START, duration_s=HOUR, magnitude=2)


# --- files


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_datafiles_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"sub/data{suffix}"
    write_rows(
        path,
        {
            "x": np.array([1.5, np.nan, -2.25, 1e-7]),
            "n": [1, 2, None, 4],
            "s": ["DE", None, 'a,b "quoted"', "é"],
        },
    )
    assert read_columns(path) == {
        "x": [1.5, None, -2.25, 1e-7],
        "n": [1.0, 2.0, None, 4.0],
        "s": ["DE", None, 'a,b "quoted"', "é"],
    }


def test_datafiles_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"supported: \.csv, \.parquet, \.jsonl"):
        write_rows(tmp_path / "x.xlsx", {"a": [1]})
    with pytest.raises(ValueError, match="supported"):
        read_columns(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="differ in length"):
        write_rows(tmp_path / "x.csv", {"a": [1], "b": [1, 2]})


def test_write_reference(tmp_path: Path) -> None:
    path = write_reference(tmp_path / "ref.parquet", rows=3000, seed=1, days=2)
    cols = read_columns(path)
    assert set(cols) == set(FEATURES) | {"score"}
    assert all(len(v) == 3000 for v in cols.values())
    assert any(v is None for v in cols[MISSING_FEATURES[0]])
    assert all(isinstance(v, str) for v in cols["country"])
    assert all(0 < s < 1 for s in cols["score"])
    assert (
        read_columns(write_reference(tmp_path / "again.parquet", rows=3000, seed=1, days=2)) == cols
    )


# --- CLI


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86_400), ("1.5h", 5400)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "5x", "-5m", "2 hours", "1e3"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="streams")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", *argv])
    return args.func(args)


@pytest.mark.parametrize(
    "argv",
    [["--duration", "5x"], ["--scenario", "meteor"], ["--affect", "nope"], ["--onset", "3h"]],
)
def test_cli_bad_arguments_give_one_line(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    try:
        code = _cli(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_cli_write_reference(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "ref.jsonl"
    assert _cli(["--write-reference", str(path), "--rows", "500"]) == 0
    assert len(read_columns(path)["score"]) == 500
    assert "500 reference rows" in capsys.readouterr().out


# --- the producer loop, through the client, with a stand-in for confluent_kafka.Producer


class FakeProducer:
    """Keeps (topic, key, value) in produce order; delivery callbacks run on poll and
    flush, from the client's thread, as librdkafka runs them; ``fail`` messages fail."""

    def __init__(self, fail: int = 0) -> None:
        self.messages: list[tuple[str, bytes, bytes]] = []
        self.partitions: list[int] = []
        self.callbacks: list[Any] = []
        self.fail = fail
        self.lock = threading.Lock()

    def produce(
        self, topic: str, value: bytes, key: bytes, partition: int = -1, on_delivery: Any = None
    ) -> None:
        with self.lock:
            self.messages.append((topic, key, value))
            self.partitions.append(partition)
            self.callbacks.append(on_delivery)

    def poll(self, timeout: float = 0) -> int:
        with self.lock:
            callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            failed = self.fail > 0
            self.fail -= failed
            callback("broker says no" if failed else None, None)
        return len(callbacks)

    def flush(self, timeout: float | None = None) -> int:
        self.poll()
        return 0

    def topic(self, name: str) -> list[tuple[bytes, bytes]]:
        return [(key, value) for topic, key, value in self.messages if topic == name]


def _simulate(producer: FakeProducer, **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "scenario": "silent-zeros",
        "rate": 20,
        "duration_s": 1800,
        "speedup": 0,
        "start": datetime(2024, 5, 1, 12, tzinfo=UTC),
        "label_delay_s": 300,
        "progress": False,
        "producer": producer,
        "envelopes": False,  # one message per event: each message is an event to check
    }
    return simulate("unused:9092", **(args | kwargs))


def test_simulate_produces_predictions_then_labels() -> None:
    fake = FakeProducer()
    report = _simulate(fake)
    preds, labels = fake.topic("predictions"), fake.topic("labels")
    assert report.predictions == len(preds) == len(report.timestamps) > 20_000
    assert report.labels == len(labels) == len(preds)
    assert not fake.callbacks and not report.interrupted  # all delivered
    counts = report.counts_by_window(60)
    assert sum(counts.values()) == report.predictions
    assert all(start % 60 == 0 for start in counts)

    served_at: dict[bytes, datetime] = {}
    for key, value in preds:
        event = PredictionEvent.model_validate(orjson.loads(value))
        assert key == event.prediction_id.encode()
        served_at[key] = event.timestamp
    for key, value in labels:
        label = LabelEvent.model_validate(orjson.loads(value))
        assert label.timestamp > served_at[key]  # every label has its earlier prediction
    # each message is on the murmur2 partition of its key (4 partitions)
    everything = list(range(4))
    expected = [DefaultPartitioner()(key, everything, everything) for _, key, _ in fake.messages]
    assert fake.partitions == expected
    stamps = [PredictionEvent.model_validate(orjson.loads(v)).timestamp for _, v in preds]
    recount: dict[int, int] = {}
    for ts in stamps:
        window = int(ts.timestamp()) // 60 * 60
        recount[window] = recount.get(window, 0) + 1
    assert recount == counts


def test_simulate_with_envelopes_sends_the_same_events() -> None:
    single, batched = FakeProducer(), FakeProducer()
    _simulate(single, duration_s=600)
    report = _simulate(batched, duration_s=600, envelopes=True)
    assert inspect.signature(simulate).parameters["envelopes"].default  # the default
    for topic in ("predictions", "labels"):
        envelopes = batched.topic(topic)
        events = [orjson.loads(v) for _, v in single.topic(topic)]
        unpacked = [e for _, v in envelopes for e in orjson.loads(v)[topic]]
        assert len(envelopes) < len(unpacked) / 10  # many events per message
        key = "prediction_id"
        assert sorted(unpacked, key=lambda e: e[key]) == sorted(events, key=lambda e: e[key])
    assert report.predictions == len(single.topic("predictions"))


def test_simulate_is_deterministic_and_labels_fraction() -> None:
    first, second = FakeProducer(), FakeProducer()
    _simulate(first, duration_s=600, label_fraction=0.5)
    report = _simulate(second, duration_s=600, label_fraction=0.5)
    for topic in ("predictions", "labels"):  # the two topics' loggers interleave freely
        assert first.topic(topic) == second.topic(topic)
    assert report.labels == pytest.approx(report.predictions / 2, rel=0.05)
    assert not _simulate(FakeProducer(), duration_s=600, labels=False).labels


def test_simulate_paces_by_speedup() -> None:
    report = _simulate(FakeProducer(), duration_s=30, speedup=150, rate=50)
    assert report.wall_s >= 0.18


def test_simulate_stops_cleanly_on_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = itertools.count()
    log_json = EventLogger.log_json

    def interrupted(self: EventLogger, pid: str, value: bytes) -> bool:
        if next(calls) == 5000:  # Ctrl-C, in the simulator's own thread
            raise KeyboardInterrupt
        return log_json(self, pid, value)

    monkeypatch.setattr(EventLogger, "log_json", interrupted)
    fake = FakeProducer()
    report = _simulate(fake)
    assert report.interrupted and not fake.callbacks
    assert report.predictions + report.labels == 5000 == len(fake.messages)
    assert len(report.timestamps) == report.predictions
    assert report.labels_dropped > 0


def test_simulate_raises_delivery_errors() -> None:
    with pytest.raises(SimulationError, match="3 message") as info:
        _simulate(FakeProducer(fail=3), duration_s=60)
    assert info.value.report is not None and info.value.report.delivery_errors == 3


def test_simulate_rejects_bad_arguments() -> None:
    for kwargs in ({"rate": 0}, {"speedup": -1}, {"label_fraction": 2}, {"duration_s": 0}):
        with pytest.raises(ValueError):
            _simulate(FakeProducer(), **kwargs)
