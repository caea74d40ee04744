"""Produce simulated predictions (and their delayed labels) to Kafka.

Event time and wall time are decoupled: ``rate`` is events per second of event
time and ``speedup`` is event seconds per wall second, so two hours of traffic
can be replayed in two minutes (speedup 60) or as fast as the producer goes
(speedup 0). Everything that lands in the topics depends only on the seed and
the start time, never on how fast the machine is, so tests can compare the
pipeline's counts with ``SimulationReport.counts_by_window``.

Labels arrive late, as in production: each is held back in a queue until the
simulated clock passes its event time, and whatever is still pending when the
run ends is produced then.

Events go out through the project's own producer client (``streams.client``), as a
model server's would: murmur2 partitions computed in the client, envelopes of many events
of one partition per message by default, or one message per event with
``envelopes=False``. Unlike a model
server, the simulator waits for room in the client's queue rather than dropping.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from streams.client import LabelLogger, PredictionLogger
from streams.client.logger import EventLogger
from streams.config.models import KafkaSecurity
from streams.devtools.simulator.arrivals import DAY_S, ArrivalProcess
from streams.devtools.simulator.datafiles import write_rows
from streams.devtools.simulator.events import format_timestamps
from streams.devtools.simulator.labels import LabelDraw, LabelQueue
from streams.devtools.simulator.model import (
    DEFAULT_MODEL_ID,
    DEFAULT_MODEL_VERSION,
    EventGenerator,
    Scorer,
    model_score,
)
from streams.devtools.simulator.run_report import SimulationReport
from streams.devtools.simulator.scenarios import Scenario, make_scenario
from streams.errors import StreamsError
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.kafka.security import client_settings
from streams.quiet_logs import librdkafka_log

PRODUCER_CONFIG: dict[str, Any] = {
    "partitioner": "murmur2_random",  # co-partitioning with Java/aiokafka clients
    "linger.ms": 20,
    "compression.type": "lz4",
    "enable.idempotence": True,
}
"""librdkafka settings for producers written by hand (tests); the simulator's own go
through ``streams.client``, which sets each message's partition itself."""
LINGER_MS = 20
QUEUE_EVENTS = 8 * 2048
CHUNK = 2048
"""Events produced between two looks at the clock, the label queue and the progress bar."""
CONNECT_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 120.0
REFERENCE_START = datetime(2024, 1, 1, tzinfo=UTC)
_KAFKA_LOG = librdkafka_log("streams.devtools.simulator.kafka")


class SimulationError(StreamsError, RuntimeError):
    """The run could not deliver everything (``report`` says what was): check the broker."""

    def __init__(self, message: str, report: SimulationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class _Run:
    """State of one simulation: the two loggers, counters, the label queue, the clock."""

    def __init__(
        self,
        predictions: EventLogger,
        labels: EventLogger,
        report: SimulationReport,
        run_id: str,
        model_id: str,
    ) -> None:
        self.predictions = predictions
        self.labels_logger = labels
        self.report = report
        self.run_id = run_id
        self.model_id = model_id
        self.labels = LabelQueue()
        self.sent = 0

    def send(self, logger: EventLogger, ids: Sequence[str], values: Sequence[bytes]) -> None:
        """Log in order, waiting for room in the client's queue; ``self.sent`` counts
        what was handed over even when interrupted half-way."""
        log_json = logger.log_json
        self.sent = 0
        for pid, value in zip(ids, values, strict=True):
            log_json(pid, value)
            self.sent += 1

    def release_labels(self, until_ms: float) -> None:
        times, indices, labels = self.labels.pop_due(until_ms)
        for lo in range(0, times.size, CHUNK):
            hi = lo + CHUNK
            ids = [f"{self.run_id}-{i}" for i in indices[lo:hi].tolist()]
            values = [
                orjson.dumps(
                    {
                        "schema_version": 1,
                        "model_id": self.model_id,
                        "prediction_id": pid,
                        "timestamp": ts,
                        "label": "1" if lab else "0",
                    }
                )
                for pid, ts, lab in zip(
                    ids, format_timestamps(times[lo:hi]), labels[lo:hi].tolist(), strict=True
                )
            ]
            try:
                self.send(self.labels_logger, ids, values)
            finally:
                self.report.labels += self.sent
                if self.sent < len(values):  # interrupted: the rest of this batch is lost
                    self.report.labels_dropped += times.size - lo - self.sent


def _start_ms(start: datetime | None) -> int:
    if start is None:
        return int(time.time()) * 1000
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return round(start.timestamp() * 1000)


def simulate(
    bootstrap: str,
    scenario: str = "silent-zeros",
    rate: float = 50.0,
    duration_s: float = 7200.0,
    seed: int = 0,
    speedup: float = 60.0,
    start: datetime | None = None,
    affect: Sequence[str] | None = None,
    onset_s: float | None = None,
    recover_s: float | None = None,
    magnitude: float | None = None,
    labels: bool = True,
    label_delay_s: float = 3600.0,
    label_fraction: float = 1.0,
    topic: str = "predictions",
    labels_topic: str = "labels",
    progress: bool = True,
    *,
    partitions: int = 4,
    model_id: str = DEFAULT_MODEL_ID,
    model_version: str = DEFAULT_MODEL_VERSION,
    envelopes: bool = True,
    producer: Any = None,
    wait_for_broker: Callable[[str], object] | None = None,
    security: KafkaSecurity | None = None,
    served_model: str = "logistic",
) -> SimulationReport:
    """Produce ``duration_s`` of event time of simulated predictions (and labels).

    ``start`` is the event time of the beginning (default: now, UTC, floored to the
    second). Missing topics are created with ``partitions``. ``envelopes`` (default)
    sends batch envelopes; ``envelopes=False`` one message per event. ``producer`` replaces the
    confluent_kafka Producer of both loggers (tests; then the topics are taken to
    have ``partitions``). ``wait_for_broker`` is called with the bootstrap once the
    arguments are checked, before any client is made (the CLI's quiet wait).
    ``security`` holds the SASL/TLS settings of a secured cluster. Raises
    ValueError for bad arguments and SimulationError when Kafka is unreachable or
    messages were not delivered. Ctrl-C stops cleanly: what was produced is
    flushed and the report says ``interrupted``. ``served_model``: ``logistic`` (the
    world's own scorer) or ``tree`` (a gradient-boosting model fitted on it,
    tree_model.py; needs scikit-learn).
    """
    _check_arguments(duration_s, speedup, label_fraction, label_delay_s)
    start_ms = _start_ms(start)
    scn = make_scenario(
        scenario,
        start=start_ms / 1000,
        duration_s=duration_s,
        affect=affect,
        onset_s=onset_s,
        recover_s=recover_s,
        magnitude=magnitude,
    )
    run_id = f"sim{seed}-{start_ms // 1000}"
    sources = _sources(seed, run_id, rate, start_ms, scn, model_id, model_version, served_model)
    generator, arrivals, label_rng = sources
    if producer is None:
        if wait_for_broker is not None:
            wait_for_broker(bootstrap)
        _connect(bootstrap, {topic, labels_topic}, partitions, security)
    options: dict[str, Any] = {
        "single": not envelopes,
        "linger_ms": LINGER_MS,
        "compression": "lz4",
        "queue_size": QUEUE_EVENTS,
        "when_full": "wait",
        "producer": producer,
        "partitions": partitions if producer is not None else None,
        "config": {"logger": _KAFKA_LOG},
        "security": security,
    }
    loggers = (
        PredictionLogger(bootstrap, topic, **options),
        LabelLogger(bootstrap, labels_topic, **options),
    )
    report = SimulationReport(scenario=scenario, start_ms=start_ms, duration_s=duration_s)
    run = _Run(*loggers, report, run_id, model_id)
    clock = _Clock(start_ms, speedup)
    try:
        _wait_ready(bootstrap, loggers)
        bar = _progress_bar(progress, duration_s, scenario)
        draw = LabelDraw(label_rng, label_fraction, label_delay_s) if labels else None
        _play(run, generator, arrivals.blocks(duration_s), scn, draw, clock, bar)
    finally:
        undelivered = sum(logger.close(FLUSH_TIMEOUT_S) for logger in loggers)
    return _finish(run, clock, undelivered)


SERVED_MODELS = ("logistic", "tree")


def served_scorer(name: str) -> Scorer:
    """The scorer the simulator serves, by name (SERVED_MODELS); the tree's seed is 0,
    the one ``streams simulate --save-model`` saves."""
    if name == "logistic":
        return model_score
    if name == "tree":
        from streams.devtools.simulator.tree_model import TreeScorer

        return TreeScorer()
    raise ValueError(f"served model {name!r} is not one of {', '.join(SERVED_MODELS)}")


def _sources(
    seed: int,
    run_id: str,
    rate: float,
    start_ms: int,
    scenario: Scenario,
    model_id: str,
    model_version: str,
    served_model: str = "logistic",
) -> tuple[EventGenerator, ArrivalProcess, np.random.Generator]:
    """The run's three independent random streams, from one seed: the events, their
    arrival times and the labels' draws."""
    gen_seed, arrival_seed, label_seed = np.random.SeedSequence(seed).spawn(3)
    generator = EventGenerator(
        gen_seed,
        model_id=model_id,
        model_version=model_version,
        run_id=run_id,
        scorer=served_scorer(served_model),
    )
    arrivals = ArrivalProcess(
        rate, start_ms / 1000, seed=arrival_seed, daily_cycle=scenario.daily_cycle
    )
    return generator, arrivals, np.random.default_rng(label_seed)


def _wait_ready(bootstrap: str, loggers: Sequence[EventLogger]) -> None:
    """Both loggers know their topic's partitions, or SimulationError."""
    for logger in loggers:
        if not logger.wait_ready(CONNECT_TIMEOUT_S):
            raise SimulationError(
                f"no metadata for topic {logger.topic} from {bootstrap} "
                f"after {CONNECT_TIMEOUT_S:.0f} s"
            )


def _finish(run: _Run, clock: _Clock, remaining: int) -> SimulationReport:
    """The report of a run whose loggers are closed, or SimulationError when anything
    was lost (``remaining``: events still undelivered)."""
    report = run.report
    loggers = (run.predictions, run.labels_logger)
    stats = [logger.stats() for logger in loggers]
    report.delivery_errors = sum(s.delivery_errors for s in stats)
    report.wall_s = time.monotonic() - clock.wall0
    if remaining or report.delivery_errors:
        error = next((s.last_error for s in stats if s.last_error), None)
        raise SimulationError(
            f"{report.delivery_errors} message(s) failed and {remaining} were still queued "
            f"after {FLUSH_TIMEOUT_S:.0f} s; last error: {error}",
            report,
        )
    return report


def _play(
    run: _Run,
    generator: EventGenerator,
    blocks: Iterator[np.ndarray],
    scenario: Scenario,
    draw: LabelDraw | None,
    clock: _Clock,
    bar: Any,
) -> None:
    """Generate and produce every block of arrivals, queueing their labels (unless
    ``draw`` is None) and producing the rest once all predictions are out. Ctrl-C stops
    it: what was never produced is counted as dropped."""
    report = run.report
    produced_ts: list[np.ndarray] = []
    try:
        for ts_ms in blocks:
            block = generator.generate(ts_ms, scenario)
            if draw is not None:
                run.labels.add(*draw(ts_ms, block.label, generator.count - len(block)))
            ids = list(block.prediction_ids)
            _produce_block(run, ts_ms, ids, block.to_json(), clock, produced_ts, bar)
        run.release_labels(math.inf)
    except KeyboardInterrupt:
        report.interrupted = True
        report.labels_dropped += run.labels.pending
    finally:
        if bar is not None:
            bar.close()
        if produced_ts:
            report.timestamps_ms = np.concatenate(produced_ts)


def _check_arguments(
    duration_s: float, speedup: float, label_fraction: float, label_delay_s: float
) -> None:
    if not duration_s > 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    if not speedup >= 0 or not math.isfinite(speedup):
        raise ValueError(f"speedup must be >= 0 (0: as fast as possible), got {speedup}")
    if not 0.0 <= label_fraction <= 1.0:
        raise ValueError(f"label_fraction must lie in [0, 1], got {label_fraction}")
    if not label_delay_s >= 0:
        raise ValueError(f"label_delay_s must be >= 0, got {label_delay_s}")


def _connect(
    bootstrap: str, topics: set[str], partitions: int, security: KafkaSecurity | None
) -> None:
    """Check that the broker answers, and create the topics if missing."""
    from confluent_kafka import KafkaException, Producer

    # librdkafka's own log goes through Python logging: served on poll() only, so an
    # unreachable broker gives one error line instead of a reconnect log per 50 ms
    settings = client_settings(bootstrap, security)
    producer = Producer({**settings, **PRODUCER_CONFIG, "logger": _KAFKA_LOG})
    try:
        producer.list_topics(timeout=CONNECT_TIMEOUT_S)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else exc
        reason = err.str() if hasattr(err, "str") else str(err)
        raise SimulationError(f"cannot reach Kafka at {bootstrap}: {reason}") from None
    # topics that do not exist yet get ``partitions`` (the worker's default), never
    # a broker's auto-created single partition
    ensure_topics(bootstrap, {t: TopicSpec(partitions) for t in topics}, security=security)


@dataclass(frozen=True)
class _Clock:
    """The simulated clock: ``speedup`` event seconds per wall second from ``wall0``
    (0: no clock, as fast as the producer goes)."""

    start_ms: int
    speedup: float
    wall0: float = field(default_factory=time.monotonic)

    def now_ms(self) -> float:
        return self.start_ms + (time.monotonic() - self.wall0) * self.speedup * 1000


def _produce_block(
    run: _Run,
    ts_ms: np.ndarray,
    ids: list[str],
    values: list[bytes],
    clock: _Clock,
    produced_ts: list[np.ndarray],
    bar: Any,
) -> None:
    """Produce one block in chunks, each no earlier than the simulated clock allows,
    releasing the labels that fell due after each chunk."""
    report = run.report
    pos = 0
    while pos < len(values):
        stop = min(len(values), pos + CHUNK)
        if clock.speedup > 0:
            now_ms = clock.now_ms()
            due = int(np.searchsorted(ts_ms, now_ms, side="right"))
            if due <= pos:
                wait_s = (ts_ms[pos] - now_ms) / (clock.speedup * 1000)
                time.sleep(min(max(wait_s, 0.0), 0.2))
                continue
            stop = min(stop, due)
        try:
            run.send(run.predictions, ids[pos:stop], values[pos:stop])
        finally:
            report.predictions += run.sent
            produced_ts.append(ts_ms[pos : pos + run.sent])
        pos = stop
        run.release_labels(ts_ms[stop - 1])
        if bar is not None:
            bar.set_postfix_str(f"{report.predictions:,} events", refresh=False)
            bar.update((ts_ms[stop - 1] - clock.start_ms) / 1000 - bar.n)


def _progress_bar(enabled: bool, duration_s: float, scenario: str) -> Any:
    """A tqdm bar of event-time progress on stderr, only for an interactive terminal."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(
        total=float(duration_s),
        desc=f"simulate {scenario}",
        unit="s",
        unit_scale=True,
        file=sys.stderr,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} event-s [{elapsed}<{remaining}{postfix}]",
    )


def write_reference(path: str | Path, rows: int = 50_000, seed: int = 0, days: int = 7) -> Path:
    """Write the training-data reference: clean features (one column each) plus the
    model ``score``, with the daily cycle, at times spread uniformly over ``days``
    whole days so that every hour is equally represented (see ``feature_cycle``
    for why this matches whole days of live traffic)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if days < 1 or int(days) != days:
        raise ValueError(f"days must be a whole number >= 1, got {days}")
    gen_seed, time_seed = np.random.SeedSequence(seed).spawn(2)
    t0 = REFERENCE_START.timestamp()
    times = np.sort(np.random.default_rng(time_seed).uniform(t0, t0 + days * DAY_S, rows))
    generator = EventGenerator(gen_seed, run_id=f"ref{seed}")
    columns: dict[str, list[Any]] = {}
    for lo in range(0, rows, 65_536):
        block = generator.generate(times[lo : lo + 65_536])
        for name, values in block.feature_columns().items():
            columns.setdefault(name, []).extend(values)
        columns.setdefault("score", []).extend(np.round(block.score, 6).tolist())
    write_rows(path, columns)
    return Path(path)
