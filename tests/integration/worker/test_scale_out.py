"""Scale-out on the real broker: two workers in one consumer group share a 4-partition
topic of envelopes. Stage 1 runs where each partition is, stage 2 where the model's
partials are; together they must count every window exactly and evaluate it once,
also when one of them is killed with kill -9 mid-stream."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import orjson
import pytest
from tests.integration.conftest import Deployment, latest_revisions, read_topic
from tests.integration.worker.test_envelopes import PARTITIONS, generated, produce, window_counts

from streams.events.envelope import split_batches

pytestmark = pytest.mark.integration


def in_time_order(events: list[dict], size: int) -> list[tuple[int, bytes, bytes]]:
    """Envelopes of ``size``; the partitions interleave in event time."""
    messages = split_batches("predictions", events, PARTITIONS, size)
    return sorted(messages, key=lambda m: orjson.loads(m[2])["predictions"][0]["timestamp"])


def feed(d: Deployment, messages: list[tuple[int, bytes, bytes]], pause_s: float) -> None:
    for i in range(0, len(messages), 10):
        produce(d, messages[i : i + 10])
        time.sleep(pause_s)


def test_two_workers_count_each_window_exactly_and_evaluate_it_once(deploy) -> None:
    d = deploy(partitions=PARTITIONS)
    events = generated(30_000, seed=21, span_s=1200)
    d.start_worker("state-a")
    d.start_worker("state-b")
    d.wait_for_group(members=2)  # both in the group before the stream starts
    feed(d, in_time_order(events, 100), pause_s=0.05)
    expected = window_counts(events)
    results = d.evaluations(expected)
    assert {w: r["count"] for w, r in latest_revisions(results).items()} == expected
    evaluated = Counter(r["window_start"] for r in results)
    assert set(evaluated.values()) == {1}, f"evaluated more than once: {evaluated}"
    logs = d.worker_logs()
    assert "Traceback" not in logs, logs[-3000:]
    assert d.alerts() == []  # stationary traffic


def test_one_of_two_workers_killed_mid_stream_loses_and_doubles_nothing(deploy) -> None:
    d = deploy(partitions=PARTITIONS)
    events = generated(30_000, seed=22, span_s=1200)
    first = d.start_worker("state-a")
    d.start_worker("state-b")
    d.wait_for_group(members=2)
    messages = in_time_order(events, 100)
    feeder = threading.Thread(target=feed, args=(d, messages, 0.1))
    feeder.start()
    read_topic(d.bootstrap, d.topic("results"), 90, until=lambda r: len(r) >= 3)
    os.killpg(first.pid, signal.SIGKILL)  # its partitions move to the other worker
    first.wait(30)
    feeder.join()
    expected = window_counts(events)
    results = d.evaluations(expected)
    assert {w: r["count"] for w, r in latest_revisions(results).items()} == expected
    # a window the killed worker evaluated may be evaluated again by the survivor (its
    # stage-2 state restored from before the result), but never on fewer events
    for r in results:
        assert r["count"] == expected[r["window_start"]], r["window_start"]
    alerts = d.alerts()
    assert alerts == [], alerts
