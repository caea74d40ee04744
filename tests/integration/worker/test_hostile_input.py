"""Hostile input on the real broker (issue 18): a score of "NaN" (which pydantic would
coerce into a NaN that crashed stage 2), a 985,000-byte key (whose dead letter went over
the producer's limit and took its batch with it), a feature of 1e308 (which alone raised
a drift alert) and a window of one event (which raised prediction drift). Each inside a
stationary stream: no event lost, every window counted exactly, no alert, and the bad
ones in ``deadletter`` with their reasons."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest
from confluent_kafka import Producer
from tests.integration.conftest import Deployment, read_topic

from streams.devtools.simulator.model import EventGenerator

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
WINDOWS, PER_WINDOW = 8, 600
HUGE_KEY = b"k" * 985_000


def produce(d: Deployment, messages: list[tuple[bytes | None, bytes]]) -> None:
    failed: list[object] = []
    producer = Producer({"bootstrap.servers": d.bootstrap, "message.max.bytes": 2_000_000})
    for key, value in messages:
        producer.produce(
            d.topic("predictions"),
            key=key,
            value=value,
            on_delivery=lambda err, _m: failed.append(err) if err else None,
        )
        producer.poll(0)
    assert producer.flush(30) == 0 and not failed


def window_of(event: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(event["timestamp"]).timestamp()) // 60 * 60


def test_nan_score_huge_key_extreme_value_and_a_lone_event_lose_nothing_and_alert_nothing(
    deploy,
) -> None:
    d = deploy(partitions=1)
    n = WINDOWS * PER_WINDOW
    ts = T0 + np.sort(np.random.default_rng(3).uniform(0, WINDOWS * 60, size=n))
    events = EventGenerator(seed=3).generate(ts).to_events()
    numeric = next(k for k, v in events[0]["features"].items() if isinstance(v, float))
    extreme = {**events[n // 2], "features": {**events[n // 2]["features"], numeric: 1e308}}
    events[n // 2] = extreme
    lone = {
        **events[-1],
        "prediction_id": "lone",
        "timestamp": datetime.fromtimestamp(T0 + (WINDOWS + 5) * 60 + 1, UTC).isoformat(),
        "prediction": {"score": 0.999},
    }
    good = [*events, lone]
    bad = [
        (b"nan", orjson.dumps({**events[10], "prediction": {"score": "NaN"}})),
        (b"inf", orjson.dumps({**events[11], "latency_ms": "Infinity"})),
        (HUGE_KEY, b"{not json"),
    ]
    messages = [(e["prediction_id"].encode(), orjson.dumps(e)) for e in events]
    messages[n // 3 : n // 3] = bad  # inside one ingest batch of valid events
    messages.insert(n // 4, (HUGE_KEY, orjson.dumps({**events[12], "prediction_id": "huge"})))
    good.append({**events[12], "prediction_id": "huge"})
    messages.append((b"lone", orjson.dumps(lone)))
    produce(d, messages)
    d.start_worker()

    expected = dict(Counter(window_of(e) for e in good))
    results = d.results(set(expected), timeout_s=180)
    assert {w: r["count"] for w, r in results.items()} == expected
    assert results[window_of(lone)]["count"] == 1
    dead = read_topic(d.bootstrap, d.topic("deadletter"), 30, until=lambda r: len(r) >= 3)
    assert Counter(r["reason"] for r in dead) == {"non_finite": 2, "bad_json": 1}
    (huge,) = [r for r in dead if r["reason"] == "bad_json"]
    assert huge["key_size"] == len(HUGE_KEY) and huge["key_truncated"]
    alerts = d.alerts()
    assert alerts == [], [a["summary"] for a in alerts]
    assert "Traceback" not in d.worker_logs()
