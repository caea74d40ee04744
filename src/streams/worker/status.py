"""The worker's status line: every few seconds, one line that says whether it keeps up.

A worker that falls behind its model servers prints nothing to say so, and its alerts
come late; this line is how a person at the terminal knows::

    STATUS   1,204 events/s | lag 3,210 | 42 windows evaluated | 1 alert open

*events/s*: valid predictions folded per wall second since the last line; *lag*:
prediction messages on the topic that the worker has not read yet (0: keeping up);
*windows evaluated*: since start, by stage 2; *alerts open*: incidents whose last
state change this worker sent was a firing one (silenced ones included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter

from streams.events.models import AlertEvent

__all__ = [
    "DEFAULT_EVERY_S",
    "StatusLine",
    "consumer_lag",
    "counter_total",
    "shows_idle",
    "topic_lag",
]

#: Seconds between status lines.
DEFAULT_EVERY_S = 5.0


def counter_total(counter: Counter) -> float:
    """The sum of a labelled counter over all its label values."""
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def consumer_lag(end_offsets: Mapping[object, int], read_offsets: Mapping[object, int]) -> int:
    """Messages not yet read, over the partitions both maps know: ``end`` is the next
    offset to be written (the high watermark), ``read`` the last one read."""
    return sum(
        max(0, end - read_offsets[tp] - 1) for tp, end in end_offsets.items() if tp in read_offsets
    )


@dataclass
class StatusLine:
    """Builds the line from the worker's counters and the alerts it sent.

    ``events`` and ``windows`` are the pipeline's Prometheus counters; ``lag`` returns
    the current lag; ``observe`` is to be called with every alert sent."""

    events: Counter
    windows: Counter
    lag: Callable[[], int]
    clock: Callable[[], float] = time.monotonic
    _open: set[str] = field(default_factory=set)
    _last: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self._last = (self.clock(), counter_total(self.events))  # the first line: since start

    def observe(self, alert: AlertEvent) -> None:
        """Keep the set of open incidents up to date (updates change nothing)."""
        if alert.status == "firing":
            self._open.add(alert.dedup_key)
        else:
            self._open.discard(alert.dedup_key)

    def line(self) -> str:
        """The status now; events/s over the time since the previous line (the first:
        since start)."""
        now, events = self.clock(), counter_total(self.events)
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (events - self._last[1]) / (now - self._last[0])
        self._last = (now, events)
        windows, open_alerts = int(counter_total(self.windows)), len(self._open)
        return (
            f"STATUS   {rate:,.0f} events/s | lag {self.lag():,} | "
            f"{windows:,} windows evaluated | {open_alerts} alert{'s' * (open_alerts != 1)} open"
        )


def topic_lag(monitor: object, topic: str) -> int:
    """The lag of ``topic`` as Faust's monitor sensor tracks it (its end and read
    offsets per partition, updated as messages are fetched and read)."""
    end = {tp: o for tp, o in getattr(monitor, "tp_end_offsets", {}).items() if tp.topic == topic}
    return consumer_lag(end, getattr(monitor, "tp_read_offsets", {}))


def shows_idle(line: str) -> bool:
    """True for a status line of a worker that has read everything and folded nothing
    since its previous line: what a demo waits for once its simulator is done."""
    return line.startswith("STATUS ") and " 0 events/s | lag 0 |" in line
