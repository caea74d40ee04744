"""Producers with broken clocks on the real broker: an event stamped 2099 and one
stamped 1970 inside a stationary stream change no window, and are dead-lettered; a
producer an hour ahead for a few windows is one clock_skew alert."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from tests.integration.conftest import read_topic
from tests.integration.worker.test_envelopes import generated, produce, window_counts

pytestmark = pytest.mark.integration

#: Statistics of sketches whose contents depend on where the worker's batches cut the
#: stream (the KS test's sample, the latency quantiles): two runs of one clean stream
#: already differ in them, so they cannot tell an outlier's trace from a batch's.
BATCH_DEPENDENT = {"ks", "ks_p_value"}


def messages(events: list[dict[str, Any]]) -> list[tuple[int, bytes, bytes]]:
    """One partition: its windows fold and close in one order, so two runs' results
    are equal to the last bit (stage 2 merges partials in arrival order)."""
    return [(0, e["prediction_id"].encode(), orjson.dumps(e)) for e in events]


def statistics(results: dict[int, dict]) -> dict[tuple[int, str, str], float]:
    """Every feature statistic of every window, and its mean score, by (window, name)."""
    out = {(w, "score", "mean"): r["score_mean"] for w, r in results.items()}
    for w, r in results.items():
        for feature, stats in r["features"].items():
            for name, value in stats.items():
                if name not in BATCH_DEPENDENT and isinstance(value, float):
                    out[(w, feature, name)] = value
    return out


def test_a_2099_and_a_1970_event_change_no_window_and_are_dead_lettered(deploy) -> None:
    events = generated(3000, seed=18, span_s=600)  # 2026-01-01, months behind the clock
    outliers = {
        "from-2099": {**events[1000], "prediction_id": "from-2099"},
        "from-1970": {**events[2000], "prediction_id": "from-1970"},
    }
    outliers["from-2099"]["timestamp"] = "2099-01-01T00:00:00Z"
    outliers["from-1970"]["timestamp"] = "1970-01-01T00:00:00Z"
    spoiled = [*events[:1000], outliers["from-2099"], *events[1000:2000]]
    spoiled += [outliers["from-1970"], *events[2000:]]
    clean, skewed = deploy(partitions=1), deploy(partitions=1)
    produce(clean, messages(events))
    produce(skewed, messages(spoiled))
    for d in (clean, skewed):
        d.start_worker()
    expected = window_counts(events)
    assert len(expected) == 10
    without = clean.results(set(expected), counts=expected)
    with_outliers = skewed.results(set(expected), counts=expected)
    assert {w: r["count"] for w, r in with_outliers.items()} == expected
    # sums of floats folded in other batches differ in the last bits, nothing more
    assert statistics(with_outliers) == pytest.approx(statistics(without), rel=1e-12)
    assert len(statistics(without)) > 10 * 20
    assert all(r["late"] == 0 for r in with_outliers.values())
    dead = read_topic(skewed.bootstrap, skewed.topic("deadletter"), 60, until=lambda r: len(r) >= 2)
    reasons = {
        orjson.loads(base64.b64decode(r["original_b64"]))["prediction_id"]: r["reason"]
        for r in dead
    }
    assert reasons == {"from-2099": "future_timestamp", "from-1970": "too_old"}
    assert read_topic(clean.bootstrap, clean.topic("deadletter")) == []


def test_a_producer_an_hour_ahead_is_one_clock_skew_alert_resolved_after(deploy) -> None:
    """10 windows of a stationary stream; in windows 2-4 a second producer, its clock
    an hour ahead, sends one event in five: one alert fires, and resolves once clean
    windows follow, never one per window."""
    events = generated(3000, seed=19, span_s=600)
    ahead = datetime.fromtimestamp(time.time() + 3600, UTC).isoformat()
    stream: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        stream.append(e)
        if 600 <= i < 1500 and i % 4 == 3:
            stream.append({**e, "prediction_id": f"ahead-{i}", "timestamp": ahead})
    d = deploy(partitions=1)
    produce(d, messages(stream))
    d.start_worker()
    expected = window_counts(events)
    results = d.results(set(expected), counts=expected)
    skewed = sorted(window_counts(events[600:1500]))
    assert {w: r["count"] for w, r in results.items()} == expected  # refused: in no window
    alerts = [a for a in d.alerts() if a["category"] == "clock_skew"]
    assert [a["status"] for a in alerts] == ["firing", "resolved"], alerts
    firing = alerts[0]
    assert firing["subject"] == "producer_clock" and firing["severity"] == "error"
    assert firing["evidence"]["statistic"] == "skew_refused_share"
    assert firing["evidence"]["value"] > 0.05
    assert firing["runbook_url"].endswith("deploy/runbooks/clock_skew.md")
    fired_at = datetime.fromisoformat(firing["evidence"]["window_start"]).timestamp()
    assert skewed[0] <= fired_at <= skewed[-1]
    dead = read_topic(d.bootstrap, d.topic("deadletter"), 60, until=lambda r: len(r) >= 225)
    assert {r["reason"] for r in dead} == {"future_timestamp"} and len(dead) == 225
