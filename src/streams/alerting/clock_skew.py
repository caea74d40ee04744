"""A producer whose clock is off, as an alert of its own (category ``clock_skew``): the
share of a window's events that stage 1 dead-lettered as ``future_timestamp`` or
``too_old`` (docs/decisions/0006-event-time-skew.md).

Pure logic. The refused events are counted in the window of their partition's newest
event time (``WindowAggregate.skew_refused``), so the share is theirs among all the
events that window's partitions read while it was open. One signal per window above
``thresholds.clock_skew_share``; the lifecycle (streams/alerting/lifecycle.py) fires it
once and resolves it after clear windows, as every other alert::

    >>> from streams.config.models import Thresholds
    >>> clock_skew_signal(refused=30, accepted=170, limits=Thresholds()).value
    0.15
    >>> clock_skew_signal(refused=5, accepted=195, limits=Thresholds()) is None   # 2.5 %
    True
    >>> clock_skew_signal(refused=40, accepted=10, limits=Thresholds()) is None   # 50 events
    True
"""

from __future__ import annotations

from streams.alerting.lifecycle import Signal
from streams.config.models import Thresholds
from streams.events.models import AlertCategory, Severity

__all__ = ["SUBJECT", "clock_skew_decided", "clock_skew_signal"]

#: The one subject of a model's clock_skew incident.
SUBJECT = "producer_clock"
STATISTIC = "skew_refused_share"


def clock_skew_decided(refused: int, accepted: int, limits: Thresholds) -> bool:
    """Whether the window read enough events (refused ones included) to say anything
    of the producers' clocks: under ``min_window_events`` it is unknown, not clear."""
    return refused + accepted >= limits.min_window_events


def clock_skew_signal(refused: int, accepted: int, limits: Thresholds) -> Signal | None:
    """A clock_skew signal when more than ``clock_skew_share`` of a decided window's
    events were refused for their time. An error: those events are lost to the
    monitor until the producer's clock is fixed."""
    if not clock_skew_decided(refused, accepted, limits):
        return None
    share = refused / (refused + accepted)
    if share <= limits.clock_skew_share:
        return None
    return Signal(
        AlertCategory.clock_skew, SUBJECT, Severity.error, STATISTIC, share, limits.clock_skew_share
    )
