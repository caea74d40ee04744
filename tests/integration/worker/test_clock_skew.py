"""Producers with broken clocks on the real broker: an event stamped 2099 and one
stamped 1970 inside a stationary stream change no window, and are dead-lettered."""

from __future__ import annotations

import base64
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
