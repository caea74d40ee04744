"""Horvitz-Thompson estimates from a sample whose records carry their inclusion
probability, with intervals that account for the sampling.

A record kept with probability p stands for 1/p records of the whole. Under Poisson
sampling (each record kept independently, which a hash threshold is for distinct ids)
the HT total ``sum(y / p)`` is unbiased, with the unbiased variance estimate
``sum((1 - p) / p^2 * y^2)`` (Sarndal, Swensson & Wretman, *Model Assisted Survey
Sampling*, 1992, eq. 3.2.10 for Poisson designs). A share (accuracy, a rate) is the
Hajek ratio ``sum(y / p) / sum(1 / p)``, its variance by linearisation. The intervals
are normal ones: they are about what the sample leaves unknown of the population of
predictions it came from; at p = 1 they are a point, as they should be.

Every field is a sum, so tallies merge across partitions by adding.

>>> t = WeightedTally()
>>> t.add_batch([1.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.5, 1.0])
>>> t.total().value, t.count().value, round(t.mean().value, 4)
(5.0, 7.0, 0.7143)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate, its standard error and the normal interval at ``confidence``."""

    value: float
    se: float
    lo: float
    hi: float


def _estimate(value: float, variance: float, confidence: float) -> Estimate:
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    se = math.sqrt(max(variance, 0.0))
    return Estimate(value, se, value - z * se, value + z * se)


class WeightedTally:
    """Sums of a sample of y values with their inclusion probabilities: n, sum w,
    sum w*y, and with a = (1-p)/p^2 the variance sums sum a, sum a*y, sum a*y^2."""

    __slots__ = ("a", "ay", "ayy", "n", "w", "wy")

    def __init__(self) -> None:
        self.n = 0
        self.w = self.wy = self.a = self.ay = self.ayy = 0.0

    def add_batch(self, ys: Sequence[float] | np.ndarray, probabilities: Sequence[float]) -> None:
        """Add sampled records: each y with its inclusion probability in (0, 1]."""
        y = np.asarray(ys, dtype=float)
        p = np.asarray(probabilities, dtype=float)
        if y.shape != p.shape or not np.all((p > 0) & (p <= 1)):
            raise ValueError("one inclusion probability in (0, 1] per value")
        w = 1.0 / p
        a = (1.0 - p) * w * w
        self.n += int(y.size)
        self.w += float(w.sum())
        self.wy += float((w * y).sum())
        self.a += float(a.sum())
        self.ay += float((a * y).sum())
        self.ayy += float((a * y * y).sum())

    def total(self, confidence: float = 0.95) -> Estimate:
        """The population total of y."""
        return _estimate(self.wy, self.ayy, confidence)

    def count(self, confidence: float = 0.95) -> Estimate:
        """The population's number of records (the total of y = 1)."""
        return _estimate(self.w, self.a, confidence)

    def mean(self, confidence: float = 0.95) -> Estimate:
        """The population mean (a share when y is 0/1): the Hajek ratio; nan when empty."""
        if not self.w:
            return Estimate(math.nan, math.nan, math.nan, math.nan)
        r = self.wy / self.w
        variance = (self.ayy - 2 * r * self.ay + r * r * self.a) / (self.w * self.w)
        return _estimate(r, variance, confidence)

    def __iadd__(self, other: WeightedTally) -> WeightedTally:
        self.n += other.n
        self.w += other.w
        self.wy += other.wy
        self.a += other.a
        self.ay += other.ay
        self.ayy += other.ayy
        return self

    def to_list(self) -> list[float]:
        """The sums in a fixed order: [n, w, wy, a, ay, ayy] (JSON in partials)."""
        return [self.n, self.w, self.wy, self.a, self.ay, self.ayy]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> WeightedTally:
        if len(values) != 6:
            raise ValueError(f"a weighted tally has 6 sums, not {len(values)}")
        t = cls()
        n, t.w, t.wy, t.a, t.ay, t.ayy = values
        t.n = int(n)
        return t

    def __repr__(self) -> str:
        return f"WeightedTally(n={self.n}, w={self.w:g}, wy={self.wy:g})"
