"""The event-time policy: how far an event's own clock may be from the pipeline's.

An event's timestamp comes from its producer's clock, and the partition watermark is
the largest timestamp seen: one event stamped 2099 would close every open window, and
one stamped 1970 would open a window of its own. Two bounds keep one outlier from
moving anything (docs/decisions/0006-event-time-skew.md says why they are replay-safe):

- ``future_timestamp``: further ahead of the worker's wall clock than
  ``worker.max_clock_skew_s``. Wall time only grows, so an event accepted once is
  accepted again when a restart replays its offset.
- ``too_old``: further behind the partition's watermark than the model's label
  horizon. The watermark is part of the partition's state, so a replay decides
  exactly as the first pass did, and a worker catching up a backlog hours (or months)
  old refuses nothing: only the spread inside the stream counts, never its age.

>>> policy = SkewPolicy(max_ahead_s=300, horizons_s={"m": 86400})
>>> policy.future(1_000_301, now=1_000_000).reason
'future_timestamp'
>>> policy.future(1_000_300, now=1_000_000) is None
True
>>> policy.too_old("m", 1_000_000 - 86401, watermark=1_000_000).reason
'too_old'
>>> policy.too_old("m", 0.0, watermark=float("-inf")) is None  # nothing seen yet
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streams.events.decode import Rejection


@dataclass(frozen=True, slots=True)
class SkewPolicy:
    """The two bounds; ``horizons_s`` per model id (its performance label horizon)."""

    max_ahead_s: float
    horizons_s: Mapping[str, float]

    def __post_init__(self) -> None:
        if self.max_ahead_s <= 0:
            raise ValueError(f"max_ahead_s must be positive, got {self.max_ahead_s}")

    def future(self, ts: float, now: float) -> Rejection | None:
        """A rejection when ``ts`` is more than the bound ahead of the wall clock ``now``."""
        ahead = ts - now
        if ahead <= self.max_ahead_s:
            return None
        return Rejection(
            "future_timestamp",
            f"event time is {ahead:.0f} s ahead of the worker's clock "
            f"(bound worker.max_clock_skew_s={self.max_ahead_s:g})",
        )

    def too_old(self, model_id: str, ts: float, watermark: float) -> Rejection | None:
        """A rejection when ``ts`` is more than the model's label horizon behind the
        partition's watermark (its largest event time); never before a first event."""
        behind = watermark - ts
        horizon = self.horizons_s.get(model_id)
        if horizon is None or not behind > horizon:
            return None
        return Rejection(
            "too_old",
            f"event time is {behind:.0f} s behind the partition's newest event "
            f"(label horizon {horizon:g} s)",
        )
