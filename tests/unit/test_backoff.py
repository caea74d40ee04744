"""The one backoff: its delays against a hand computation, with no sleeping."""

from __future__ import annotations

import random

import pytest

from streams.backoff import Backoff


def test_without_jitter_each_delay_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base_s=1, cap_s=10, jitter=0.0)
    assert [backoff.delay(n) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay(10_000) == 10  # no overflow however long the outage


def test_a_seeded_jitter_scales_each_delay_by_its_draw() -> None:
    backoff = Backoff(base_s=0.5, cap_s=30, jitter=0.2)
    draws = random.Random(7)
    got = [backoff.delay(n, draws.random) for n in range(8)]
    hand = random.Random(7)
    raws = [0.5, 1, 2, 4, 8, 16, 30, 30]  # 0.5 * 2**n, capped at 30
    expected = [min(30.0, raw * (0.8 + 0.4 * hand.random())) for raw in raws]
    assert got == pytest.approx(expected)


def test_the_jitter_bounds_and_the_cap() -> None:
    backoff = Backoff(base_s=1, cap_s=10, jitter=0.2)
    assert backoff.delay(0, lambda: 0.0) == pytest.approx(0.8)
    assert backoff.delay(1, lambda: 0.5) == pytest.approx(2.0)
    assert backoff.delay(1, lambda: 1.0) == pytest.approx(2.4)
    assert backoff.delay(10, lambda: 1.0) == 10  # the jitter never exceeds the cap


@pytest.mark.parametrize(("base_s", "cap_s", "jitter"), [(2, 1, 0.2), (0, 1, 0.2), (1, 2, 1.0)])
def test_rejects_a_schedule_that_cannot_work(base_s: float, cap_s: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=base_s, cap_s=cap_s, jitter=jitter)
