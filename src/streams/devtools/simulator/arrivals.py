"""When simulated events happen: Poisson arrivals whose rate follows a daily cycle,
and the daily shape that a few feature means follow too."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

DAY_S = 86_400.0
RATE_AMPLITUDE = 0.5
"""Relative amplitude of the daily cycle of the event rate (peak at RATE_PEAK_HOUR)."""
RATE_PEAK_HOUR = 20.0


def daily_phase(t_s: np.ndarray) -> np.ndarray:
    """Angle of the daily cycle (UTC), zero at the traffic peak."""
    hours = np.mod(t_s, DAY_S) / 3600.0
    return 2.0 * np.pi * (hours - RATE_PEAK_HOUR) / 24.0


def feature_cycle(t_s: np.ndarray) -> np.ndarray:
    """The daily shape of feature means: sin of the phase, i.e. a quarter day off the
    traffic peak (cos). Because every moment of sin(θ) is the same under the
    rate-weighted and the uniform measure over a day, the features of whole days of
    Poisson traffic have exactly the distribution of a reference that samples time
    uniformly: the seasonal scenario cannot look like drift against whole days."""
    return np.sin(daily_phase(t_s))


def rate_factor(t_s: np.ndarray, amplitude: float = RATE_AMPLITUDE) -> np.ndarray:
    """Relative event rate at time t; its mean over a whole day is 1."""
    return 1.0 + amplitude * np.cos(daily_phase(t_s))


class ArrivalProcess:
    """Poisson arrivals with a daily-cycle rate, generated in deterministic blocks.

    Unit-rate exponential gaps give the integrated rate Λ at each arrival; the
    times solve Λ(t) = target by vectorised Newton steps (Λ is strictly increasing
    since the rate never drops below rate * (1 - amplitude)). Times are integer
    epoch milliseconds, the resolution of the events' timestamps, so that counts
    per window agree exactly with what a consumer parses.
    """

    def __init__(
        self,
        rate: float,
        start_s: float,
        *,
        seed: int | np.random.SeedSequence = 0,
        daily_cycle: bool = True,
        block_size: int = 8192,
    ) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number of events per second, got {rate}")
        self.rate = float(rate)
        self.start_s = float(start_s)
        self.amplitude = RATE_AMPLITUDE if daily_cycle else 0.0
        self.block_size = block_size
        self._rng = np.random.default_rng(seed)
        self._omega = 2.0 * np.pi / DAY_S
        self._phase0 = float(daily_phase(np.array(self.start_s)))
        self._lam = 0.0  # integrated rate at the last arrival
        self._tau = 0.0  # seconds since start of the last arrival

    def _integrated(self, tau: np.ndarray) -> np.ndarray:
        a, w = self.amplitude, self._omega
        return self.rate * (tau + a / w * (np.sin(w * tau + self._phase0) - math.sin(self._phase0)))

    def _rate_at(self, tau: np.ndarray) -> np.ndarray:
        return self.rate * (1.0 + self.amplitude * np.cos(self._omega * tau + self._phase0))

    def next_offsets(self) -> np.ndarray:
        """The next block of arrival times, as float seconds since start."""
        target = self._lam + np.cumsum(self._rng.standard_exponential(self.block_size))
        tau = self._tau + (target - self._lam) / self.rate
        if self.amplitude:
            for _ in range(50):
                step = (self._integrated(tau) - target) / self._rate_at(tau)
                tau -= step
                if np.max(np.abs(step)) < 1e-7:
                    break
            tau = np.maximum.accumulate(np.maximum(tau, self._tau))
        self._lam, self._tau = float(target[-1]), float(tau[-1])
        return tau

    def blocks(self, duration_s: float) -> Iterator[np.ndarray]:
        """Blocks of arrival times (int64 epoch ms) in [start, start + duration)."""
        start_ms = round(self.start_s * 1000)
        end_ms = start_ms + round(duration_s * 1000)
        while True:
            ts = start_ms + np.floor(self.next_offsets() * 1000.0).astype(np.int64)
            inside = ts[ts < end_ms]
            if inside.size:
                yield inside
            if inside.size < ts.size:
                return
