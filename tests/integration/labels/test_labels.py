"""Delayed labels on the real broker: predictions first, then labels from a separate
producer, out of order, with duplicates and orphans. The worker credits each label to
the window of its prediction and cohort, counts orphans and duplicates exactly, and
raises a performance alert for the degraded cohort only."""

from __future__ import annotations

import random

import numpy as np
import orjson
import pytest
from confluent_kafka import Producer
from tests.integration.conftest import read_topic

from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.producer import PRODUCER_CONFIG
from streams.devtools.simulator.scenarios import Stationary

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
PERF_WINDOW_S = 600
DEGRADED = "DE"
DUPLICATES, ORPHANS = 150, 40


def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})
    for key, value in records:
        producer.produce(topic, key=key.encode(), value=value)
        producer.poll(0)
    assert producer.flush(30) == 0


def label_messages(events: list[dict], truth: np.ndarray) -> list[tuple[str, bytes]]:
    """Each prediction's label, a day after the first prediction, keyed as predictions."""
    return [
        (
            e["prediction_id"],
            orjson.dumps(
                {
                    "model_id": e["model_id"],
                    "prediction_id": e["prediction_id"],
                    "timestamp": "2026-01-02T00:00:00Z",
                    "label": str(int(y)),
                }
            ),
        )
        for e, y in zip(events, truth, strict=True)
    ]


def test_late_labels_find_their_window_and_cohort(deploy) -> None:
    d = deploy(
        window_s=60,
        model={
            "performance": {
                "window_s": PERF_WINDOW_S,
                "cohorts": ["country"],
                "min_labels": 100,
                "baseline_windows": 1,
            }
        },
    )
    block = EventGenerator(seed=3).generate(T0 + np.arange(12_000) * 0.1, Stationary())
    events = block.to_events()
    degraded = 0
    for e, truth in zip(events, block.true_score, strict=True):
        # a shadow model that is right where the champion goes wrong
        e["shadow_predictions"] = {"v2": {"score": round(float(truth), 6)}}
        # the second performance window: the model is wrong for one country
        if e["segments"]["country"] == DEGRADED and e["timestamp"] >= "2026-01-01T00:10":
            e["prediction"]["score"] = round(1.0 - float(truth), 6)
            degraded += 1
    assert degraded > 300
    d.start_worker()
    produce(
        d.bootstrap,
        d.topic("predictions"),
        [(e["prediction_id"], orjson.dumps(e)) for e in events],
    )
    labels = label_messages(events, block.label)
    rng = random.Random(5)
    rng.shuffle(labels)
    labels += rng.sample(labels, DUPLICATES)
    labels += [
        (
            f"ghost-{i}",
            orjson.dumps(
                {
                    "model_id": events[0]["model_id"],
                    "prediction_id": f"ghost-{i}",
                    "timestamp": "2026-01-02T00:00:00Z",
                    "label": "1",
                }
            ),
        )
        for i in range(ORPHANS)
    ]
    rng.shuffle(labels)
    # as in production (labels come hours later): every prediction is stored first
    d.results({int(e["timestamp"][14:16]) * 60 + T0 for e in events[:: len(events) // 20]})
    produce(d.bootstrap, d.topic("labels"), labels)

    def settled(records: list[dict]) -> bool:
        perf = [r for r in records if r.get("kind") == "performance"]
        counts = perf[-1]["label_counts"] if perf else {}
        return counts.get("joined", 0) + counts.get("duplicate", 0) + counts.get(
            "orphan", 0
        ) == len(labels)

    records = read_topic(d.bootstrap, d.topic("results"), 180, until=settled)
    perf = [r for r in records if r.get("kind") == "performance"]
    latest = {r["window_start"]: r for r in perf}  # the last revision of each window
    counts = perf[-1]["label_counts"]
    assert (counts["joined"], counts["duplicate"], counts["orphan"]) == (
        len(events),
        DUPLICATES,
        ORPHANS,
    )
    first, second = latest[T0], latest[T0 + PERF_WINDOW_S]
    assert first["labels"] == sum(e["timestamp"] < "2026-01-01T00:10" for e in events)
    delays = 86_400 - 0.1 * np.arange(first["labels"])  # every label comes a day after T0
    assert abs(first["label_delay_s"]["p50"] - np.median(delays)) <= 0.1 * np.median(delays)
    cohort = f"country={DEGRADED}"
    assert second["cohorts"][cohort]["accuracy"] < first["cohorts"][cohort]["accuracy"] - 0.2
    assert second["worst_cohorts"][0] == cohort
    # CBPE from the scores alone: right while the model is calibrated (the first window),
    # too optimistic once it is wrong for a cohort (the second), as its assumption says
    realized = [w["cohorts"]["*"]["accuracy"] for w in (first, second)]
    estimated = [w["estimated"]["accuracy"] for w in (first, second)]
    assert abs(estimated[0] - realized[0]) < 0.03
    assert estimated[1] - realized[1] > 0.05
    # champion vs shadow: identical while the champion is right, the shadow ahead after
    assert first["shadows"]["v2"]["accuracy_delta"] == 0
    assert second["shadows"]["v2"]["accuracy_delta"] > 0.03
    windows = [r for r in records if r.get("kind") == "window"]
    agreement = {r["window_start"]: r["shadows"]["v2"]["agreement"] for r in windows}
    assert agreement[T0] == 1.0 and min(agreement.values()) < 0.95
    alerts = d.alerts()
    performance = [a for a in alerts if a["category"] == "performance"]
    # the located cohort pages by name, and no other cohort does. The model (``*``) may
    # page first: labels arrive shuffled, and while no cohort has min_labels nothing can
    # locate the drop yet (labels/performance_windows.py ``paged``, as documented)
    named = {s for a in performance if a["status"] == "firing" for s in a["subjects"]}
    assert cohort in named and named <= {cohort, "*"}, named


def test_a_worker_killed_mid_join_counts_every_label_once(deploy) -> None:
    """kill -9 while labels are being joined, then a new worker: the partials sent, the
    pending marks and the offsets must agree, or labels are lost, double-counted, or
    turn into duplicates of themselves."""
    import os
    import signal
    import threading
    import time

    d = deploy(window_s=60, model={"performance": {"window_s": PERF_WINDOW_S}})
    block = EventGenerator(seed=4).generate(T0 + np.arange(8_000) * 0.1, Stationary())
    events = block.to_events()
    first = d.start_worker()
    produce(
        d.bootstrap,
        d.topic("predictions"),
        [(e["prediction_id"], orjson.dumps(e)) for e in events],
    )
    d.results({int(e["timestamp"][14:16]) * 60 + T0 for e in events[:: len(events) // 10]})
    labels = label_messages(events, block.label)
    rng = random.Random(6)
    rng.shuffle(labels)
    labels += rng.sample(labels, 200)  # duplicates, some across the crash

    def feed() -> None:  # labels keep coming while the worker dies and comes back
        for i in range(0, len(labels), 400):
            produce(d.bootstrap, d.topic("labels"), labels[i : i + 400])
            time.sleep(0.3)

    def joined(records: list[dict]) -> int:
        perf = [r for r in records if r.get("kind") == "performance"]
        return sum(perf[-1]["label_counts"].values()) if perf else 0

    feeder = threading.Thread(target=feed)
    feeder.start()
    before = joined(read_topic(d.bootstrap, d.topic("results"), 30, until=lambda r: joined(r) > 0))
    os.killpg(first.pid, signal.SIGKILL)  # some labels joined, more on their way
    assert 0 < before < len(labels)
    first.wait(30)
    d.start_worker()
    feeder.join()

    records = read_topic(
        d.bootstrap, d.topic("results"), 180, until=lambda r: joined(r) >= len(labels)
    )
    perf = [r for r in records if r.get("kind") == "performance"]
    assert perf, "no performance record"
    assert perf[-1]["label_counts"] == {"joined": len(events), "duplicate": 200}
    latest = {r["window_start"]: r for r in perf}
    assert sum(w["labels"] for w in latest.values()) == len(events)
