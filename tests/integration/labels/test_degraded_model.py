"""A model that breaks and stays broken, on the real broker, with its labels joining
steadily (in the order they come due, batch after batch, each joined before the next
is sent): the performance incident fires once and never resolves while the model's
accuracy stays below the tolerated one. Each batch re-evaluates the windows it
reaches: brand-new windows with no or few labels, and the pre-onset windows whose
late labels keep coming after the onset, none of which is evidence of a recovery."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import pytest
from tests.integration.conftest import read_topic
from tests.integration.labels.test_labels import produce

from streams.config.models import PerformanceConfig
from streams.devtools.simulator.labels import LabelDraw
from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.scenarios import Stationary

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
PERF_WINDOW_S = 600
WINDOWS = 5  # performance windows of traffic
ONSET = T0 + 2 * PERF_WINDOW_S  # the model is wrong from the third window on
SPACING_S = 0.25
MIN_LABELS = 100
LABEL_DELAY_S = 300.0  # mean of the exponential label delay (the simulator's draw)
BATCH = 400


def degraded_events() -> tuple[list[dict], np.ndarray]:
    """The simulator's stationary traffic; after the onset the model scores the
    opposite of the truth (accuracy far below the baseline's, and staying there)."""
    times = T0 + np.arange(int(WINDOWS * PERF_WINDOW_S / SPACING_S)) * SPACING_S
    block = EventGenerator(seed=11).generate(times, Stationary())
    events = block.to_events()
    for e, t, truth in zip(events, times, block.true_score, strict=True):
        if t >= ONSET:
            score = round(1.0 - float(truth), 6)
            e["prediction"] = {"score": score, "label": "1" if score >= 0.5 else "0"}
    return events, block.label


def label_schedule(events: list[dict], truth: np.ndarray) -> list[tuple[float, dict, int]]:
    """(due time, event, label) of every prediction, in the order labels come due."""
    ts_ms = np.array([round((T0 + i * SPACING_S) * 1000) for i in range(len(events))])
    due, indices, labels = LabelDraw(np.random.default_rng(12), 1.0, LABEL_DELAY_S)(ts_ms, truth, 0)
    order = np.argsort(due, kind="stable")
    return [(due[i] / 1000, events[indices[i]], int(labels[i])) for i in order]


def label_message(due_s: float, event: dict, label: int) -> tuple[str, bytes]:
    body = {
        "model_id": event["model_id"],
        "prediction_id": event["prediction_id"],
        "timestamp": np.datetime_as_string(np.datetime64(int(due_s * 1000), "ms")) + "Z",
        "label": str(label),
    }
    return event["prediction_id"], orjson.dumps(body)


def joined(records: list[dict]) -> int:
    perf = [r for r in records if r.get("kind") == "performance"]
    return max((r["label_counts"].get("joined", 0) for r in perf), default=0)


def test_a_degraded_model_pages_once_and_never_resolves_while_broken(deploy) -> None:
    d = deploy(
        window_s=60,
        model={"performance": {"window_s": PERF_WINDOW_S, "min_labels": MIN_LABELS}},
    )
    events, truth = degraded_events()
    schedule = label_schedule(events, truth)
    # the test exercises the path that went wrong: pre-onset windows keep getting labels
    # long after the degraded window has enough to page
    window_of = {
        e["prediction_id"]: T0 + int(i * SPACING_S) // PERF_WINDOW_S * PERF_WINDOW_S
        for i, e in enumerate(events)
    }
    degraded_due = [due for due, e, _ in schedule if window_of[e["prediction_id"]] == ONSET]
    late_pre_onset = [
        due
        for due, e, _ in schedule
        if window_of[e["prediction_id"]] < ONSET and due > degraded_due[MIN_LABELS]
    ]
    assert len(late_pre_onset) > BATCH  # more than one batch of them

    d.start_worker()
    produce(
        d.bootstrap, d.topic("predictions"), [(e["prediction_id"], orjson.dumps(e)) for e in events]
    )
    # as in production (labels come later): every prediction is stored first
    d.results({T0 + 60 * m for m in range(0, WINDOWS * PERF_WINDOW_S // 60, 7)})
    for sent in range(BATCH, len(schedule) + BATCH, BATCH):
        batch = schedule[sent - BATCH : sent]
        produce(d.bootstrap, d.topic("labels"), [label_message(*s) for s in batch])
        goal = min(sent, len(schedule))
        records = read_topic(
            d.bootstrap, d.topic("results"), 120, until=lambda r, goal=goal: joined(r) >= goal
        )
        assert joined(records) >= goal, d.worker_logs()[-4000:]

    perf = [r for r in records if r.get("kind") == "performance"]
    latest = {r["window_start"]: r for r in perf}  # the last revision of each window
    tolerated = PerformanceConfig().accuracy_drop
    for start in range(ONSET, T0 + WINDOWS * PERF_WINDOW_S, PERF_WINDOW_S):
        cohort = latest[start]["cohorts"]["*"]
        assert cohort["accuracy"] < cohort["baseline_accuracy"] - tolerated  # broken throughout
    assert max(latest[T0 + PERF_WINDOW_S]["revision"], latest[T0]["revision"]) > 3
    performance = [a for a in d.alerts() if a["category"] == "performance"]
    assert [(a["status"], a["subjects"]) for a in performance] == [("firing", ["*"])]
    fired_at = datetime.fromisoformat(performance[0]["evidence"]["window_start"])
    assert fired_at == datetime.fromtimestamp(ONSET, UTC)  # the first broken window
