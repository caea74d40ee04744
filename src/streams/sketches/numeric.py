"""Sketch of one numeric feature over a window: a histogram on the reference's quantile
bins plus under/overflow (with each bin's sum of values), mergeable moments, extremes,
data-quality counts, a KLL quantile sketch of every value and a bounded sample."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from streams.sketches.base import Sketch
from streams.sketches.bytes import Reader, from_text, header, to_text
from streams.sketches.quantiles import DEFAULT_QUANTILE_K, QuantileSketch

DEFAULT_RESERVOIR = 512
#: Up to this many inner edges, binning compares each value with every edge (about 15x
#: faster than np.searchsorted for the default 9 edges; uint8 bin indices).
FEW_EDGES = 32
_KIND = b"N"
#: 2: the quantile sketch was added (version 1 bytes have none: refused, not guessed).
_VERSION = 2
# n_edges, reservoir_size, sample size, quantile bytes; lo, hi, mean, m2, min, max;
# n, missing, nan, inf, zeros
_HEADER = struct.Struct("<4I6d5q")


class NumericSketch(Sketch):
    """Histogram on fixed bins (inner quantile ``edges`` of the reference, with values
    below ``lo`` or above ``hi`` counted as under/overflow) with each bin's sum of values
    (so its mean: the within-bin shape that makes Wasserstein from bins nearly exact),
    moments merged with Chan's
    formula, counts of missing, NaN, infinite and zero values, a KLL quantile sketch of
    the finite values (:class:`QuantileSketch`, ``quantile_k`` 0 keeps none) and a
    bottom-k sample. KS, Wasserstein and quantiles come from the quantile sketch, which
    sees every value; the sample serves the joint (multivariate) test.

    The sample keeps the ``reservoir_size`` finite values with the smallest uint64 keys
    (ties broken by value). With keys hashed from event ids (:func:`stable_keys`) it is a
    function of the set of events alone: the merge of parts' samples is the whole's
    sample, and a replay draws the same one. With random keys it is a uniform sample.

    >>> s = NumericSketch(edges=[1.0, 2.0], lo=0.0, hi=3.0, reservoir_size=2)
    >>> s.update_batch([0.5, 1.5, 2.5, None, 0.0, 9.0], keys=np.arange(6, 0, -1, dtype=np.uint64))
    >>> s.counts.tolist(), s.missing, s.zeros
    ([0, 2, 1, 1, 1], 1, 1)
    >>> s.sample.tolist(), s.sample_keys.tolist()
    ([9.0, 0.0], [1, 2])
    """

    __slots__ = (
        "_keys",
        "_rng",
        "_sample",
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
        "quantiles",
        "reservoir_size",
        "sums",
        "zeros",
    )

    def __init__(
        self,
        edges: Sequence[float] | np.ndarray,
        lo: float,
        hi: float,
        reservoir_size: int = DEFAULT_RESERVOIR,
        quantile_k: int = DEFAULT_QUANTILE_K,
    ) -> None:
        self.edges = np.asarray(edges, dtype=float)
        if self.edges.ndim != 1 or np.any(np.diff(self.edges) <= 0):
            raise ValueError("edges must be strictly increasing")
        if reservoir_size < 0:
            raise ValueError("reservoir_size must be at least 0 (0 keeps no sample)")
        self.lo, self.hi = float(lo), float(hi)
        self.counts = np.zeros(len(self.edges) + 3, dtype=np.int64)
        self.sums = np.zeros(len(self.edges) + 3, dtype=float)
        self.n = 0  # finite values
        self.mean = 0.0
        self.m2 = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.missing = 0
        self.nan = 0
        self.inf = 0
        self.zeros = 0
        self.reservoir_size = int(reservoir_size)
        self.quantiles = QuantileSketch(quantile_k) if quantile_k else None
        self._keys = np.empty(0, dtype=np.uint64)  # ascending (key, value) order
        self._sample = np.empty(0, dtype=float)
        self._rng: np.random.Generator | None = None  # made on first keyless update

    @property
    def quantile_k(self) -> int:
        """The quantile sketch's ``k``; 0 when it keeps none."""
        return self.quantiles.k if self.quantiles is not None else 0

    @property
    def total(self) -> int:
        """Every value seen, missing ones included."""
        return self.n + self.missing + self.nan + self.inf

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def sample(self) -> np.ndarray:
        """The sampled values (float64, read-only) in key order."""
        return _read_only(self._sample)

    @property
    def sample_keys(self) -> np.ndarray:
        """The keys (uint64, read-only) of :attr:`sample`, ascending."""
        return _read_only(self._keys)

    def bin_index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each finite value: 0 underflow, 1..len(edges)+1 inner, last overflow."""
        if len(self.edges) <= FEW_EDGES:  # a pass per edge beats a branchy binary search
            idx = np.ones(x.shape, dtype=np.uint8)
            for edge in self.edges:
                idx += x >= edge
        else:
            idx = np.searchsorted(self.edges, x, side="right") + 1
        idx[x < self.lo] = 0
        idx[x > self.hi] = len(self.edges) + 2
        return idx

    def update(self, value: float | None, key: int | None = None) -> None:
        """Fold one value; prefer :meth:`update_batch` for many."""
        keys = None if key is None else np.array([key], dtype=np.uint64)
        self.update_batch([value], keys=keys)

    def update_batch(
        self, values: Sequence[float | None] | np.ndarray, keys: np.ndarray | None = None
    ) -> None:
        """Fold many values at once; ``None`` counts as missing. ``keys`` (uint64, one per
        value, e.g. ``stable_keys(event_ids)``) choose the sample; without them the keys
        are random, which samples uniformly but not reproducibly."""
        # numpy reads None as NaN; which NaNs were None is asked only when there are any
        x = np.asarray(values, dtype=float)
        if keys is not None:
            keys = np.asarray(keys)
            if keys.dtype != np.uint64:
                raise TypeError(f"keys must be uint64 (see stable_keys), not {keys.dtype}")
            if keys.shape != x.shape:
                raise ValueError(f"{keys.size} keys for {x.size} values")
        ok = np.isfinite(x)
        if ok.all():  # the common case: no masks, no copy
            finite = x
        else:
            missing = _none_mask(values, x)
            nan = np.isnan(x) & ~missing
            self.missing += int(missing.sum())
            self.nan += int(nan.sum())
            self.inf += int(np.isinf(x).sum())
            finite = x[ok]  # missing values are NaN in x: not finite either
        if finite.size == 0:
            return
        self.zeros += int(np.count_nonzero(finite == 0))
        index = self.bin_index(finite)
        self.counts += np.bincount(index, minlength=len(self.counts))
        self.sums += np.bincount(index, weights=finite, minlength=len(self.sums))
        mean = float(finite.mean())
        deviation = finite - mean
        self._merge_moments(finite.size, mean, float(deviation @ deviation))
        self.min = min(self.min, float(finite.min()))
        self.max = max(self.max, float(finite.max()))
        if self.quantiles is not None:
            self.quantiles.update_batch(finite)
        if self.reservoir_size:
            if keys is None:
                if self._rng is None:
                    self._rng = np.random.default_rng()
                keys = self._rng.integers(0, 2**64, size=finite.size, dtype=np.uint64)
            elif finite is not x:
                keys = keys[ok]
            self._keep(keys, finite + 0.0)  # + 0.0 turns -0.0 into 0.0: one order for ties

    def _keep(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Make the sample the bottom-k of itself and the given (key, value) pairs."""
        k = self.reservoir_size
        if self._keys.size == k:  # full: only pairs at or below the largest key can enter
            enter = keys <= self._keys[-1]
            if not enter.any():
                return
            keys, values = keys[enter], values[enter]
        keys = np.concatenate((self._keys, keys))
        values = np.concatenate((self._sample, values))
        if keys.size > k:  # sort only the candidates: keys up to the k-th smallest
            near = keys <= np.partition(keys, k - 1)[k - 1]
            keys, values = keys[near], values[near]
        order = np.lexsort((values, keys))[:k]
        self._keys, self._sample = keys[order], values[order]

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total

    def __iadd__(self, other: NumericSketch) -> NumericSketch:
        """Merge ``other`` in. Samples of different sizes merge to the smaller size, which
        is still exactly the bottom-k of the union."""
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("cannot merge sketches built on different bins")
        self.counts += other.counts
        self.sums += other.sums
        if other.n:
            self._merge_moments(other.n, other.mean, other.m2)
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        self.missing += other.missing
        self.nan += other.nan
        self.inf += other.inf
        self.zeros += other.zeros
        if self.quantiles is not None and other.quantiles is not None:
            self.quantiles += other.quantiles
        else:  # one side kept none: neither can answer for the union
            self.quantiles = None
        k = self.reservoir_size = min(self.reservoir_size, other.reservoir_size)
        self._keys, self._sample = self._keys[:k], self._sample[:k]
        if k and other._keys.size:
            self._keep(other._keys[:k], other._sample[:k])
        return self

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def quantile(self, q: float) -> float:
        """Quantile from the quantile sketch (rank within its ``rank_error``); without one,
        from the histogram: linear within the bin that holds it, with the under/overflow
        bins bounded by the observed min and max.

        >>> s = NumericSketch([10.0, 20.0], 0.0, 30.0)
        >>> s.update_batch(np.arange(30.0))
        >>> histogram_only = NumericSketch.from_dict({**s.to_dict(), "quantiles": None})
        >>> s.quantile(0.5), histogram_only.quantile(0.5)
        (14.0, 15.0)
        """
        if not self.n:
            return float("nan")
        if self.quantiles is not None:
            return self.quantiles.quantile(q)
        bounds = np.concatenate(([self.min, self.lo], self.edges, [self.hi, self.max]))
        bounds = np.maximum.accumulate(np.clip(bounds, self.min, self.max))
        cumulative = np.cumsum(self.counts)
        target = q * cumulative[-1]
        i = int(np.searchsorted(cumulative, target, side="left"))
        before = cumulative[i - 1] if i else 0
        share = (target - before) / self.counts[i] if self.counts[i] else 0.0
        return float(bounds[i] + share * (bounds[i + 1] - bounds[i]))

    def _set_sample(self, keys: np.ndarray, values: np.ndarray) -> None:
        if keys.shape != values.shape or keys.size > self.reservoir_size:
            raise ValueError(
                f"sample of {values.size} values with {keys.size} keys does not fit "
                f"a reservoir of {self.reservoir_size}"
            )
        self._keys, self._sample = keys, values

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; keys are ints below 2**64, which orjson writes and reads exactly."""
        return {
            "edges": self.edges.tolist(),
            "lo": self.lo,
            "hi": self.hi,
            "counts": self.counts.tolist(),
            "sums": self.sums.tolist(),
            "n": self.n,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.min if self.n else None,
            "max": self.max if self.n else None,
            "missing": self.missing,
            "nan": self.nan,
            "inf": self.inf,
            "zeros": self.zeros,
            "reservoir_size": self.reservoir_size,
            "quantiles": None if self.quantiles is None else to_text(self.quantiles.to_bytes()),
            "sample_keys": self._keys.tolist(),
            "sample": self._sample.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericSketch:
        """Inverse of :meth:`to_dict`; dicts written before the sample existed load empty,
        and ``"quantiles": None`` (or absent) keeps no quantile sketch."""
        s = cls(d["edges"], d["lo"], d["hi"], d.get("reservoir_size", DEFAULT_RESERVOIR), 0)
        if d.get("quantiles") is not None:
            s.quantiles = QuantileSketch.from_bytes(from_text(d["quantiles"]))
        s.counts = np.asarray(d["counts"], dtype=np.int64)
        s.sums = np.asarray(d["sums"], dtype=float)
        s.n, s.mean, s.m2 = d["n"], d["mean"], d["m2"]
        s.min = float("inf") if d["min"] is None else d["min"]
        s.max = float("-inf") if d["max"] is None else d["max"]
        s.missing, s.nan, s.inf, s.zeros = d["missing"], d["nan"], d["inf"], d["zeros"]
        s._set_sample(
            np.array(d.get("sample_keys", []), dtype=np.uint64),
            np.array(d.get("sample", []), dtype=float),
        )
        return s

    def to_bytes(self) -> bytes:
        """Version byte, kind, struct header, then edges, counts, keys and sample as raw
        little-endian arrays, then the quantile sketch's bytes: 8,586 bytes with 10 edges
        and a full 512 sample, plus the quantile sketch at k = 200 (13,320 bytes in all
        at 100,000 values, 13,592 at a million)."""
        quantiles = b"" if self.quantiles is None else self.quantiles.to_bytes()
        return b"".join(
            (
                header(_KIND, _VERSION),
                _HEADER.pack(
                    self.edges.size,
                    self.reservoir_size,
                    self._keys.size,
                    len(quantiles),
                    self.lo,
                    self.hi,
                    self.mean,
                    self.m2,
                    self.min,
                    self.max,
                    self.n,
                    self.missing,
                    self.nan,
                    self.inf,
                    self.zeros,
                ),
                self.edges.astype("<f8").tobytes(),
                self.counts.astype("<i8").tobytes(),
                self.sums.astype("<f8").tobytes(),
                self._keys.astype("<u8").tobytes(),
                self._sample.astype("<f8").tobytes(),
                quantiles,
            )
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> NumericSketch:
        """Inverse of :meth:`to_bytes`; other versions or kinds raise ValueError.

        >>> s = NumericSketch([1.0], 0.0, 2.0)
        >>> s.update_batch([0.5, 1.5, None])
        >>> NumericSketch.from_bytes(s.to_bytes()).to_dict() == s.to_dict()
        True
        """
        r = Reader(raw, _KIND, "numeric", _VERSION)
        n_edges, size, m, q_size, lo, hi, mean, m2, lo_seen, hi_seen, *counts = r.unpack(_HEADER)
        s = cls(r.array("<f8", n_edges), lo, hi, size, 0)
        s.mean, s.m2, s.min, s.max = mean, m2, lo_seen, hi_seen
        s.n, s.missing, s.nan, s.inf, s.zeros = counts
        s.counts = r.array("<i8", n_edges + 3)
        s.sums = r.array("<f8", n_edges + 3)
        s._set_sample(r.array("<u8", m), r.array("<f8", m))
        if q_size:
            s.quantiles = QuantileSketch.from_bytes(bytes(r.take(q_size)))
        r.done()
        return s

    def bounds(self, other: NumericSketch | None = None) -> np.ndarray:
        """The bins' boundaries, under/overflow bounded by the extremes seen (by this
        sketch and ``other``): one more entry than :attr:`counts`."""
        lo = min(self.lo, self.min, other.min if other else np.inf)
        hi = max(self.hi, self.max, other.max if other else -np.inf)
        return np.concatenate(([lo, self.lo], self.edges, [self.hi, hi]))

    def empty_like(self) -> NumericSketch:
        return NumericSketch(self.edges, self.lo, self.hi, self.reservoir_size, self.quantile_k)

    @classmethod
    def _contract_example(cls, values: np.ndarray) -> NumericSketch:
        """Missing, NaN, infinite and zero values, both overflows, a sample of 64."""
        x = np.select(
            [values < 0.04, values < 0.07, values < 0.12], [np.nan, np.inf, 0.0], 4 * values - 2
        )
        column = [None if v < 0.02 else float(x_) for v, x_ in zip(values, x, strict=True)]
        s = cls([-1.0, -0.5, 0.0, 0.5, 1.0], -1.5, 1.5, reservoir_size=64)
        s.update_batch(column, keys=np.ascontiguousarray(values, dtype=float).view(np.uint64))
        return s

    def _contract_statistics(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "sums": self.sums,
            "n": self.n,
            "total": self.total,
            "mean": self.mean,
            "variance": self.variance,
            "min": self.min,
            "max": self.max,
            "missing": self.missing,
            "nan": self.nan,
            "inf": self.inf,
            "zeros": self.zeros,
            "cdf": self.quantiles.cdf(np.linspace(-1.9, 1.9, 20)),
            "sample": self.sample,
            "sample_keys": self.sample_keys.astype(float),
        }

    def _contract_bounds(self) -> dict[str, float]:
        """A merge and one pass are each within the quantile sketch's rank error."""
        return {"cdf": 2 * self.quantiles.rank_error} if self.quantiles is not None else {}


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _none_mask(values: Sequence[float | None] | np.ndarray, x: np.ndarray) -> np.ndarray:
    """Which of ``values`` (read into ``x``) were None: missing, not a NaN sent as one."""
    if isinstance(values, np.ndarray):  # an array's NaNs are NaNs, as they always were
        return np.zeros(x.shape, dtype=bool)
    nan = np.flatnonzero(np.isnan(x))
    missing = np.zeros(x.shape, dtype=bool)
    missing[nan] = [values[i] is None for i in nan]
    return missing
