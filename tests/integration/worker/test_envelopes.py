"""Envelopes on the real broker: single events and envelopes mixed on one topic, bad
events inside some envelopes, malformed envelopes; and a kill -9 mid-stream."""

from __future__ import annotations

import base64
import os
import random
import signal
import threading
import time
from collections import Counter
from typing import Any

import numpy as np
import orjson
import pytest
from confluent_kafka import Producer
from tests.integration.conftest import Deployment, read_topic

from streams.devtools.simulator.model import EventGenerator
from streams.events.envelope import split_batches
from streams.kafka.partitioner import partition_for

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
PARTITIONS = 4


def produce(d: Deployment, messages: list[tuple[int, bytes, bytes]]) -> None:
    """(partition, key, value) messages, each to its explicit partition, in order: the
    idempotent producer keeps a batch retried on a topic just created (no leader yet)
    from landing behind the batches after it."""
    failed: list[object] = []
    producer = Producer(
        {
            "bootstrap.servers": d.bootstrap,
            "message.max.bytes": 2_000_000,
            "enable.idempotence": True,
        }
    )
    for partition, key, value in messages:
        producer.produce(
            d.topic("predictions"),
            key=key,
            value=value,
            partition=partition,
            on_delivery=lambda err, _m: failed.append(err) if err else None,
        )
        producer.poll(0)
    assert producer.flush(30) == 0 and not failed


def generated(n: int, seed: int, span_s: float = 600) -> list[dict[str, Any]]:
    ts = T0 + np.sort(np.random.default_rng(seed).uniform(0, span_s, size=n))
    return EventGenerator(seed=seed).generate(ts).to_events()


def window_counts(events: list[dict[str, Any]]) -> dict[int, int]:
    from datetime import datetime

    starts = (int(datetime.fromisoformat(e["timestamp"]).timestamp()) // 60 * 60 for e in events)
    return dict(Counter(starts))


def foreign_id(pid: str, partition: int) -> str:
    """An id like ``pid`` that murmur2 maps to another partition than ``partition``."""
    return next(
        f"{pid}-f{i}"
        for i in range(100)
        if partition_for(f"{pid}-f{i}".encode(), PARTITIONS) != partition
    )


def spoil(
    events: list[dict[str, Any]], partition: int, rng: random.Random
) -> tuple[list[Any], dict[str, str]]:
    """A few events of an envelope made bad; returns the envelope's events and, by
    prediction id, the reason each bad one must be dead-lettered for."""
    out: list[Any] = []
    reasons: dict[str, str] = {}
    for e in events:
        roll = rng.random()
        if roll < 0.01:
            pid = foreign_id(e["prediction_id"], partition)
            out.append({**e, "prediction_id": pid})
            reasons[pid] = "foreign_partition"
            continue
        if roll < 0.03:
            out.append({**e, "features": {**e["features"], "user_age": [1]}})
            reasons[e["prediction_id"]] = "schema"
        elif roll < 0.05:
            out.append({**e, "model_id": "no-such-model"})
            reasons[e["prediction_id"]] = "unknown_model"
        elif roll < 0.06:
            out.append({**e, "timestamp": e["timestamp"].replace("T", " ")})
            reasons[e["prediction_id"]] = "schema"
        else:
            out.append(e)
    return out, reasons


def test_a_mixed_stream_counts_exactly_and_dead_letters_each_bad_event(deploy) -> None:
    d = deploy(partitions=PARTITIONS, lateness_s=900)  # the stream is shuffled in time
    rng = random.Random(5)
    events = generated(6000, seed=5)
    singles, enveloped = events[:1000], events[1000:]
    messages = [
        (
            partition_for(e["prediction_id"].encode(), PARTITIONS),
            e["prediction_id"].encode(),
            orjson.dumps(e),
        )
        for e in singles
    ]
    good: list[dict[str, Any]] = list(singles)
    bad: dict[str, str] = {}
    for size in (1, 100, 500):
        part = enveloped[: len(enveloped) // 3] if size != 500 else enveloped
        enveloped = enveloped[len(part) :]
        for partition, key, value in split_batches("predictions", part, PARTITIONS, size):
            inner = orjson.loads(value)["predictions"]
            spoiled, reasons = spoil(inner, partition, rng)
            bad.update(reasons)
            good += [e for e in spoiled if e["prediction_id"] not in reasons]
            messages.append(
                (partition, key, orjson.dumps({"batch_version": 1, "predictions": spoiled}))
            )
    assert sum(map(len, (good, bad))) == 6000 and len(bad) > 100
    malformed = [
        {"batch_version": 2, "predictions": [events[0]]},
        {"batch_version": 1, "predictions": events[0]},
        {"batch_version": 1, "predictions": [{"prediction_id": "x"}] * 1001},
        {"batch_version": 1, "predictions": []},
    ]
    messages += [(0, b"m", orjson.dumps(m)) for m in malformed]
    rng.shuffle(messages)
    produce(d, messages)
    d.start_worker()
    expected_dead = len(bad) + len(malformed)
    dead = read_topic(
        d.bootstrap, d.topic("deadletter"), 240, until=lambda r: len(r) >= expected_dead
    )
    whole = [r for r in dead if "index" not in r]
    assert Counter(r["reason"] for r in whole) == {"bad_envelope": len(malformed)}
    alone = {}
    for r in dead:
        if "index" in r:
            event = orjson.loads(base64.b64decode(r["original_b64"]))
            alone[event["prediction_id"]] = r["reason"]
            # the index points at the event in the envelope at that offset
            assert r["topic"] == d.topic("predictions") and r["index"] >= 0
    assert alone == bad
    assert len(dead) == expected_dead
    expected = window_counts(good)
    results = d.results(set(expected), counts=expected)  # late events come as revisions
    assert {w: r["count"] for w, r in results.items()} == expected


def test_a_worker_killed_mid_stream_of_envelopes_loses_nothing(deploy) -> None:
    d = deploy(partitions=PARTITIONS)
    events = generated(40_000, seed=8, span_s=2400)
    messages = split_batches("predictions", events, PARTITIONS, 200)
    # partitions interleave in event time; each partition stays in order
    messages.sort(key=lambda m: orjson.loads(m[2])["predictions"][0]["timestamp"])
    first = d.start_worker()

    def feed() -> None:
        for i in range(0, len(messages), 20):
            produce(d, messages[i : i + 20])
            time.sleep(0.05)

    feeder = threading.Thread(target=feed)
    feeder.start()
    read_topic(d.bootstrap, d.topic("results"), 60, until=lambda r: len(r) >= 3)
    os.killpg(first.pid, signal.SIGKILL)  # kill -9 with envelopes half folded
    first.wait(30)
    d.start_worker()
    feeder.join()
    results = d.results(set(window_counts(events)), timeout_s=180)
    assert {w: r["count"] for w, r in results.items()} == window_counts(events)
