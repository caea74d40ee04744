"""Sketch of one numeric feature over a window: a histogram on the reference's quantile
bins plus under/overflow, mergeable moments, extremes and data-quality counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class NumericSketch:
    """Histogram on fixed bins (inner quantile ``edges`` of the reference, with values
    below ``lo`` or above ``hi`` counted as under/overflow), moments merged with Chan's
    formula, and counts of missing, NaN, infinite and zero values.

    >>> s = NumericSketch(edges=[1.0, 2.0], lo=0.0, hi=3.0)
    >>> s.update_batch([0.5, 1.5, 2.5, None, 0.0, 9.0])
    >>> s.counts.tolist(), s.missing, s.zeros
    ([0, 2, 1, 1, 1], 1, 1)
    """

    __slots__ = (
        "counts",
        "edges",
        "hi",
        "inf",
        "lo",
        "m2",
        "max",
        "mean",
        "min",
        "missing",
        "n",
        "nan",
        "zeros",
    )

    def __init__(self, edges: Sequence[float], lo: float, hi: float) -> None:
        self.edges = np.asarray(edges, dtype=float)
        if self.edges.ndim != 1 or np.any(np.diff(self.edges) <= 0):
            raise ValueError("edges must be strictly increasing")
        self.lo, self.hi = float(lo), float(hi)
        self.counts = np.zeros(len(self.edges) + 3, dtype=np.int64)
        self.n = 0  # finite values
        self.mean = 0.0
        self.m2 = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.missing = 0
        self.nan = 0
        self.inf = 0
        self.zeros = 0

    @property
    def total(self) -> int:
        """Every value seen, missing ones included."""
        return self.n + self.missing + self.nan + self.inf

    def bin_index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each finite value: 0 underflow, 1..len(edges)+1 inner, last overflow."""
        idx = np.searchsorted(self.edges, x, side="right") + 1
        idx[x < self.lo] = 0
        idx[x > self.hi] = len(self.edges) + 2
        return idx

    def update_batch(self, values: Sequence[float | None] | np.ndarray) -> None:
        """Fold many values at once; ``None`` counts as missing."""
        if isinstance(values, np.ndarray):
            x = values.astype(float, copy=False)
            missing = np.zeros(x.shape, dtype=bool)
        else:
            missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
            x = np.array([np.nan if v is None else v for v in values], dtype=float)
        nan = np.isnan(x) & ~missing
        inf = np.isinf(x)
        self.missing += int(missing.sum())
        self.nan += int(nan.sum())
        self.inf += int(inf.sum())
        finite = x[~(missing | nan | inf)]
        if finite.size == 0:
            return
        self.zeros += int(np.count_nonzero(finite == 0))
        self.counts += np.bincount(self.bin_index(finite), minlength=len(self.counts))
        self._merge_moments(
            finite.size, float(finite.mean()), float(((finite - finite.mean()) ** 2).sum())
        )
        self.min = min(self.min, float(finite.min()))
        self.max = max(self.max, float(finite.max()))

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total

    def __iadd__(self, other: NumericSketch) -> NumericSketch:
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("cannot merge sketches built on different bins")
        self.counts += other.counts
        if other.n:
            self._merge_moments(other.n, other.mean, other.m2)
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        self.missing += other.missing
        self.nan += other.nan
        self.inf += other.inf
        self.zeros += other.zeros
        return self

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def quantile(self, q: float) -> float:
        """Approximate quantile from the histogram: linear within the bin that holds it,
        with the under/overflow bins bounded by the observed min and max.

        >>> s = NumericSketch([10.0, 20.0], 0.0, 30.0)
        >>> s.update_batch(np.arange(30.0))
        >>> round(s.quantile(0.5), 1)
        15.0
        """
        if not self.n:
            return float("nan")
        bounds = np.concatenate(([self.min, self.lo], self.edges, [self.hi, self.max]))
        bounds = np.maximum.accumulate(np.clip(bounds, self.min, self.max))
        cumulative = np.cumsum(self.counts)
        target = q * cumulative[-1]
        i = int(np.searchsorted(cumulative, target, side="left"))
        before = cumulative[i - 1] if i else 0
        share = (target - before) / self.counts[i] if self.counts[i] else 0.0
        return float(bounds[i] + share * (bounds[i + 1] - bounds[i]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "edges": self.edges.tolist(),
            "lo": self.lo,
            "hi": self.hi,
            "counts": self.counts.tolist(),
            "n": self.n,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.min if self.n else None,
            "max": self.max if self.n else None,
            "missing": self.missing,
            "nan": self.nan,
            "inf": self.inf,
            "zeros": self.zeros,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericSketch:
        s = cls(d["edges"], d["lo"], d["hi"])
        s.counts = np.asarray(d["counts"], dtype=np.int64)
        s.n, s.mean, s.m2 = d["n"], d["mean"], d["m2"]
        s.min = float("inf") if d["min"] is None else d["min"]
        s.max = float("-inf") if d["max"] is None else d["max"]
        s.missing, s.nan, s.inf, s.zeros = d["missing"], d["nan"], d["inf"], d["zeros"]
        return s

    def empty_like(self) -> NumericSketch:
        return NumericSketch(self.edges, self.lo, self.hi)
