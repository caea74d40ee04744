"""The one retry backoff of the package: capped exponential with proportional jitter.

A delay is a pure function of the attempt number and a random draw, so callers wait
in their own way (``stop.wait(delay)`` that a shutdown interrupts, or a next-try time
checked between samples) and tests check the schedule without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with proportional jitter: attempt n (from 0) waits
    about ``base_s * 2**n``, never more than ``cap_s``; the jitter spreads retries of
    several clients so they do not hit a recovering endpoint in step."""

    base_s: float = 1.0
    cap_s: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s):
            raise ValueError(f"need 0 < base_s <= cap_s, got {self.base_s}, {self.cap_s}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``attempt`` (0: the first retry); ``rand`` draws
        from [0, 1) and scales the delay by ``1 - jitter`` to ``1 + jitter``."""
        raw = min(self.cap_s, self.base_s * 2 ** min(attempt, 62))
        return min(self.cap_s, raw * (1 - self.jitter + 2 * self.jitter * rand()))
