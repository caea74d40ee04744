"""Quantile sketch of one numeric feature over a window: Apache DataSketches' KLL sketch
(``datasketches.kll_doubles_sketch``), wrapped in the project's sketch interface.

It answers ranks, CDFs and quantiles of every value of a window, not of a sample, with
a rank error stated by the library: at ``k`` = 200 (the window default) at most
:attr:`QuantileSketch.rank_error` = 0.0133 of the window's count at any point, at 99 %
confidence, whatever the window size, while taking about 5 KB. Until ``k`` values have
arrived it holds them all and is exact (rank error 0). The compactions are randomised
by the library (no seed can be set), so two sketches of the same values can differ
within that bound; merging is the library's, which keeps the bound of the union.
"""

from __future__ import annotations

import struct
from typing import Any, Self

import numpy as np
from datasketches import kll_doubles_sketch

from streams.sketches.base import Sketch
from streams.sketches.bytes import Reader, header

#: The library's default: 0.0133 rank error, about 5 KB at a million values.
DEFAULT_QUANTILE_K = 200
MIN_K, MAX_K = 8, 65535
_KIND = b"Q"
_HEADER = struct.Struct("<I")  # k (the KLL bytes follow and run to the end)


class QuantileSketch(Sketch):
    """KLL sketch of the finite values folded in (NaN and infinities are skipped: the
    numeric sketch counts them).

    >>> s = QuantileSketch()
    >>> s.update_batch(np.arange(100.0))
    >>> s.n, s.rank_error, s.quantile(0.5), s.cdf(np.array([9.0, 49.0])).tolist()
    (100, 0.0, 49.0, [0.1, 0.5])
    """

    __slots__ = ("_kll",)

    def __init__(self, k: int = DEFAULT_QUANTILE_K) -> None:
        if not MIN_K <= k <= MAX_K:
            raise ValueError(f"quantile k must be from {MIN_K} to {MAX_K}, not {k}")
        self._kll = kll_doubles_sketch(int(k))

    @property
    def k(self) -> int:
        return int(self._kll.k)

    @property
    def n(self) -> int:
        return int(self._kll.n)

    @property
    def rank_error(self) -> float:
        """Most that any rank (as a share of :attr:`n`) may be off, at 99 % confidence:
        0 while the sketch holds every value."""
        if not self._kll.is_estimation_mode():
            return 0.0
        return float(self._kll.normalized_rank_error(False))

    @property
    def min(self) -> float:
        return float(self._kll.get_min_value()) if self.n else float("nan")

    @property
    def max(self) -> float:
        return float(self._kll.get_max_value()) if self.n else float("nan")

    def update(self, value: float) -> None:
        """Fold one value; prefer :meth:`update_batch` for many."""
        self.update_batch(np.array([value], dtype=float))

    def update_batch(self, values: np.ndarray) -> None:
        """Fold a 1-D float array. It is sorted first: the library's compactions sort
        their buffers, which is about twice as fast on sorted runs, and KLL's bound
        holds for any order of arrival."""
        x = np.asarray(values, dtype=float)
        if not np.isfinite(x).all():
            x = x[np.isfinite(x)]
        if x.size:
            self._kll.update(np.sort(x))

    def __iadd__(self, other: QuantileSketch) -> QuantileSketch:
        """Merge ``other`` in; sketches of different ``k`` merge to the smaller one's
        bound (the library's rule)."""
        if other.n:
            self._kll.merge(other._kll)
        return self

    def copy(self) -> Self:
        clone = object.__new__(type(self))
        clone._kll = kll_doubles_sketch.deserialize(self._kll.serialize())
        return clone

    def items(self) -> np.ndarray:
        """The values the sketch retains, ascending: its CDF steps only at these."""
        return np.sort(np.fromiter((item for item, _ in self._kll), dtype=float))

    def cdf(self, points: np.ndarray) -> np.ndarray:
        """Share of the values at or below each of the ascending ``points`` (nan when
        empty)."""
        p = np.asarray(points, dtype=float)
        if not self.n:
            return np.full(p.shape, np.nan)
        return np.asarray(self._kll.get_cdf(p.tolist(), inclusive=True)[:-1])

    def quantile(self, q: float) -> float:
        """The value of rank ``q`` (nan when empty)."""
        return float(self._kll.get_quantile(q, inclusive=True)) if self.n else float("nan")

    def to_bytes(self) -> bytes:
        """Version byte, kind, ``k``, then the library's own serialised form."""
        return header(_KIND) + _HEADER.pack(self.k) + self._kll.serialize()

    @classmethod
    def from_bytes(cls, raw: bytes) -> QuantileSketch:
        r = Reader(raw, _KIND, "quantile")
        (k,) = r.unpack(_HEADER)
        s = cls(k)
        try:
            s._kll = kll_doubles_sketch.deserialize(bytes(r.rest()))
        except (ValueError, RuntimeError) as exc:
            raise ValueError(f"quantile sketch bytes damaged: {exc}") from None
        return s

    def empty_like(self) -> QuantileSketch:
        return QuantileSketch(self.k)

    @classmethod
    def _contract_example(cls, values: np.ndarray) -> QuantileSketch:
        """600 values are well past k = 200: the sketch compacts and its bound applies."""
        s = cls()
        s.update_batch(4 * values - 2)
        return s

    def _contract_statistics(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "min": self.min,
            "max": self.max,
            "cdf": self.cdf(np.linspace(-1.9, 1.9, 20)),
        }

    def _contract_bounds(self) -> dict[str, float]:
        """A merge and one pass are each within :attr:`rank_error` of the truth."""
        return {"cdf": 2 * self.rank_error}
