"""The clock_skew decision: the share of a window's events refused for their time,
against its threshold, only in windows with enough events; and through the lifecycle,
one alert for a run of skewed windows, resolved after clear ones."""

from __future__ import annotations

import pytest

from streams.alerting.clock_skew import SUBJECT, clock_skew_decided, clock_skew_signal
from streams.alerting.lifecycle import Incident, step
from streams.alerting.signals import window_decided
from streams.config.models import Thresholds
from streams.events.models import AlertCategory, Severity

LIMITS = Thresholds(min_window_events=100, clock_skew_share=0.1)


@pytest.mark.parametrize(
    ("refused", "accepted", "fires"),
    [
        (11, 89, True),  # 11 % of 100
        (10, 90, False),  # exactly the threshold: not above it
        (0, 1000, False),
        (99, 0, False),  # 99 events in all: too few to decide
        (100, 0, True),  # every event refused, and enough of them
        (500, 4000, True),  # 500 / 4500 = 11.1 %
        (400, 4000, False),  # 9.1 %
    ],
)
def test_the_share_decides_above_the_threshold_in_sized_windows(
    refused: int, accepted: int, fires: bool
) -> None:
    signal = clock_skew_signal(refused, accepted, LIMITS)
    assert (signal is not None) == fires
    if signal is not None:
        assert signal.value == pytest.approx(refused / (refused + accepted))
        assert (signal.category, signal.subject, signal.severity) == (
            AlertCategory.clock_skew,
            SUBJECT,
            Severity.error,
        )
        assert signal.threshold == 0.1


def test_a_small_window_decides_the_clocks_by_all_the_events_it_read() -> None:
    subject = (AlertCategory.clock_skew, SUBJECT)
    assert subject in window_decided(100, LIMITS)
    assert subject in window_decided(30, LIMITS, skew_refused=70)  # features unknown, clocks not
    assert (AlertCategory.data_drift, "x") not in window_decided(30, LIMITS, skew_refused=70)
    assert subject not in window_decided(30, LIMITS, skew_refused=69)
    assert clock_skew_decided(69, 30, LIMITS) is False


def test_a_run_of_skewed_windows_is_one_alert_resolved_after_clear_ones() -> None:
    """1 h of windows with a producer 1 h ahead, then fixed: fire once, resolve once."""
    incidents: dict[str, Incident] = {}
    shares = [(0, 200)] * 2 + [(50, 150)] * 6 + [(0, 200)] * 4
    seen = []
    for i, (refused, accepted) in enumerate(shares):
        signal = clock_skew_signal(refused, accepted, LIMITS)
        decided = window_decided(accepted, LIMITS, refused)
        for t in step(incidents, [signal] if signal else [], i * 60.0, 1, 3, decided=decided):
            seen.append((i, t.status, t.category))
    assert seen == [
        (2, "firing", AlertCategory.clock_skew),
        (10, "resolved", AlertCategory.clock_skew),
    ]
