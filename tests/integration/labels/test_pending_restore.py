"""The pending-label store written a batch per changelog message, restored on the real
broker: a worker that starts with no local state (a new machine, a rebalance) rebuilds
every pending prediction and every label mark from the changelog's frames."""

from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry
from tests.integration.conftest import read_topic

from streams.client import LabelLogger, PredictionLogger
from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.scenarios import Stationary

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
PERF_WINDOW_S = 600
DUPLICATES = 100


def messages_in(bootstrap: str, topic: str) -> int:
    """How many messages the topic holds (end minus start offsets, all partitions)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "count"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        spans = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions
        ]
        return sum(high - low for low, high in spans)
    finally:
        consumer.close()


def label_counts(records: list[dict]) -> dict[str, int]:
    perf = [r for r in records if r.get("kind") == "performance"]
    return perf[-1]["label_counts"] if perf else {}


def test_a_worker_without_local_state_restores_pending_predictions_and_marks(deploy) -> None:
    d = deploy(window_s=60, model={"performance": {"window_s": PERF_WINDOW_S}})
    block = EventGenerator(seed=11).generate(T0 + np.arange(6_000) * 0.1, Stationary())
    events = block.to_events()
    labels = [
        {
            "model_id": e["model_id"],
            "prediction_id": e["prediction_id"],
            "timestamp": "2026-01-02T00:00:00Z",
            "label": str(int(y)),
        }
        for e, y in zip(events, block.label.tolist(), strict=True)
    ]
    registry = CollectorRegistry()
    worker = d.start_worker()
    with PredictionLogger(d.bootstrap, d.topic("predictions"), registry=registry) as logger:
        for e in events:
            logger.log(e)
    d.results({T0 + 60 * m for m in range(10)}, timeout_s=90)  # predictions are stored

    half = len(labels) // 2
    with LabelLogger(d.bootstrap, d.topic("labels"), registry=registry) as logger:
        for label in labels[:half]:
            logger.log(label)
    read_topic(
        d.bootstrap, d.topic("results"), 120, until=lambda r: label_counts(r) == {"joined": half}
    )

    changelog = f"{d.prefix}-monitor-pending-changelog"
    # a frame per batch of predictions or marks, not a message per prediction
    assert messages_in(d.bootstrap, changelog) < (len(events) + half) / 20

    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(30)
    shutil.rmtree(d.workdir / "state")  # nothing local: every table comes from its changelog
    d.start_worker()
    with LabelLogger(d.bootstrap, d.topic("labels"), registry=registry) as logger:
        for label in labels[half:] + labels[:DUPLICATES]:  # marked before the restart
            logger.log(label)
    records = read_topic(
        d.bootstrap,
        d.topic("results"),
        180,
        until=lambda r: sum(label_counts(r).values()) >= len(labels) + DUPLICATES,
    )
    assert label_counts(records) == {"joined": len(labels), "duplicate": DUPLICATES}, (
        d.worker_logs()[-3000:]
    )
