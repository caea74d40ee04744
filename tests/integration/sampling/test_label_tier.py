"""The label tier on the real broker: a worker at a 10 % label tier stores and joins
exactly the predictions the hash rule selects, and counts the other labels as
unsampled (not orphans). Oracle: the rule written out here with hashlib, not the
sampler's code."""

from __future__ import annotations

from hashlib import blake2b

import numpy as np
import orjson
import pytest
from tests.integration.conftest import read_topic
from tests.integration.labels.test_labels import T0, label_messages, produce

from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.scenarios import Stationary

pytestmark = pytest.mark.integration

RATE, SEED = 0.1, 11
PERF_WINDOW_S = 600


def selected(prediction_id: str) -> bool:
    """Kept at RATE: the seeded 64-bit BLAKE2b hash below RATE * 2^64."""
    digest = blake2b(prediction_id.encode(), digest_size=8, key=SEED.to_bytes(8, "little"))
    return int.from_bytes(digest.digest(), "little") < round(RATE * 2**64)


def test_a_ten_percent_label_tier_joins_exactly_the_selected_predictions(deploy) -> None:
    d = deploy(
        window_s=60,
        model={
            "performance": {"window_s": PERF_WINDOW_S, "min_labels": 10},
            "sampling": {"labels": RATE, "seed": SEED},
        },
    )
    block = EventGenerator(seed=8).generate(T0 + np.arange(6_000) * 0.2, Stationary())
    events = block.to_events()
    chosen = [e for e in events if selected(e["prediction_id"])]
    assert 450 < len(chosen) < 750  # about 600: the oracle itself samples
    d.start_worker()
    produce(
        d.bootstrap, d.topic("predictions"), [(e["prediction_id"], orjson.dumps(e)) for e in events]
    )
    d.results({T0 + 60 * m for m in range(0, 20, 4)})  # every prediction stored first
    labels = label_messages(events, block.label)
    produce(d.bootstrap, d.topic("labels"), labels)

    def settled(records: list[dict]) -> bool:
        perf = [r for r in records if r.get("kind") == "performance"]
        counts = perf[-1]["label_counts"] if perf else {}
        return sum(counts.values()) == len(labels)

    records = read_topic(d.bootstrap, d.topic("results"), 180, until=settled)
    perf = [r for r in records if r.get("kind") == "performance"]
    counts = perf[-1]["label_counts"]
    assert counts == {"joined": len(chosen), "unsampled": len(events) - len(chosen)}
    latest = {r["window_start"]: r for r in perf}
    for start, record in latest.items():
        in_window = [e for e in chosen if start <= _ts(e) < start + PERF_WINDOW_S]
        everyone = [e for e in events if start <= _ts(e) < start + PERF_WINDOW_S]
        cohort = record["cohorts"]["*"]
        assert record["labels"] == cohort["n"] == len(in_window)
        # each label stands for 1/RATE predictions: the coverage of a fully labelled stream
        assert cohort["weighted_labels"] == pytest.approx(len(in_window) / RATE)
        # its interval, by hand: Poisson-sampling variance n (1 - p) / p^2, 95 % normal
        half = 1.959964 * (len(in_window) * (1 - RATE)) ** 0.5 / RATE
        assert cohort["weighted_labels_hi"] - cohort["weighted_labels"] == pytest.approx(half)
        assert record["label_coverage"] == pytest.approx(len(in_window) / RATE / len(everyone))


def _ts(event: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
