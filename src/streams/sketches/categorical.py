"""Sketch of one categorical feature over a window: bounded, mergeable heavy hitters."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from streams.sketches.base import Sketch
from streams.sketches.bytes import Reader, header
from streams.sketches.categories import value_counts

OTHER = "__other__"
_KIND = b"C"
_HEADER = struct.Struct("<IqqI")  # max_categories, n, missing, tracked categories


class CategoricalSketch(Sketch):
    """Misra-Gries summary, mergeable as in Agarwal et al. (2012), "Mergeable summaries":
    at most ``max_categories`` tracked counts, each short of its true count by at most
    :attr:`max_error` <= n / (max_categories + 1); ``n`` and ``missing`` are exact. While
    a feature has no more distinct values than the capacity the counts are exact, and
    merging parts equals one pass; a feature that suddenly serves unbounded ids cannot
    exhaust memory.

    >>> s = CategoricalSketch(max_categories=2)
    >>> s.update_batch(["a", "b", "a", None, "a"])
    >>> dict(s.counts), s.n, s.missing
    ({'a': 3, 'b': 1}, 4, 1)

    A third distinct value exceeds the capacity: every count drops by the third largest.

    >>> s.update_batch(["c"])
    >>> dict(s.counts), s.max_error
    ({'a': 2, '__other__': 3}, 1.0)
    """

    __slots__ = ("max_categories", "missing", "n", "tracked")

    def __init__(self, max_categories: int = 100) -> None:
        if max_categories < 1:
            raise ValueError("max_categories must be at least 1")
        self.max_categories = max_categories
        self.tracked: Counter[str] = Counter()
        self.n = 0  # non-missing values
        self.missing = 0

    @property
    def total(self) -> int:
        return self.n + self.missing

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def counts(self) -> Counter[str]:
        """Tracked counts, with ``__other__`` holding the rest so the values sum to ``n``
        (what chi-squared compares). A fresh Counter: changing it leaves the sketch alone."""
        counts = Counter(self.tracked)
        other = self.n - sum(self.tracked.values())
        if other:
            counts[OTHER] += other
        return counts

    @property
    def max_error(self) -> float:
        """Most that any tracked count can fall short of the true count (0 while exact)."""
        return (self.n - sum(self.tracked.values())) / (self.max_categories + 1)

    def _add(self, counts: Mapping[str, int]) -> None:
        """Add counters, then cut back to the capacity: the Misra-Gries reduction."""
        tracked = self.tracked
        tracked.update(counts)
        k = self.max_categories
        if len(tracked) > k:
            cut = sorted(tracked.values(), reverse=True)[k]
            self.tracked = Counter({c: v - cut for c, v in tracked.items() if v > cut})

    def update(self, value: object) -> None:
        """Fold one value; prefer :meth:`update_batch` for many."""
        self.update_batch([value])

    def update_batch(self, values: Iterable[object], keys: object = None) -> None:
        """Fold many values at once, by their canonical names (sketches/categories.py:
        ``3``, ``3.0`` and ``"3"`` are one category; ``None`` and NaN count as missing).
        ``keys`` is ignored: it lets callers fold every kind of sketch alike."""
        self.update_counts(value_counts(values))

    def update_counts(self, counts: Mapping[str | None, int]) -> None:
        """Fold the category counts of many values (None: missing ones) at once, e.g.
        of a dictionary-encoded column; the keys must be canonical names already."""
        batch = Counter(counts)
        missing = batch.pop(None, 0)
        self.missing += missing
        self.n += sum(batch.values())
        self._add(batch)  # type: ignore[arg-type]

    def __iadd__(self, other: CategoricalSketch) -> CategoricalSketch:
        """Merge ``other`` in; of different capacities, the smaller one is kept."""
        self.max_categories = min(self.max_categories, other.max_categories)
        self._add(other.tracked)
        self.n += other.n
        self.missing += other.missing
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_categories": self.max_categories,
            "n": self.n,
            "missing": self.missing,
            "tracked": dict(sorted(self.tracked.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoricalSketch:
        """Inverse of :meth:`to_dict`; also reads the older form, whose ``counts`` held
        ``__other__`` and summed to n."""
        s = cls(d["max_categories"])
        s.missing = d["missing"]
        if "tracked" in d:
            s.tracked, s.n = Counter(d["tracked"]), d["n"]
        else:
            s.n = sum(d["counts"].values())
            s.tracked = Counter({c: v for c, v in d["counts"].items() if c != OTHER})
        return s

    def to_bytes(self) -> bytes:
        """Version byte, kind, struct header, counts (int64), name lengths (uint32), then
        the UTF-8 names; categories in name order, so equal sketches give equal bytes."""
        names = sorted(self.tracked)
        encoded = [c.encode() for c in names]
        return b"".join(
            (
                header(_KIND),
                _HEADER.pack(self.max_categories, self.n, self.missing, len(names)),
                np.array([self.tracked[c] for c in names], dtype="<i8").tobytes(),
                np.array([len(e) for e in encoded], dtype="<u4").tobytes(),
                *encoded,
            )
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> CategoricalSketch:
        """Inverse of :meth:`to_bytes`; other versions or kinds raise ValueError.

        >>> s = CategoricalSketch()
        >>> s.update_batch(["é", "b", None, "é"])
        >>> CategoricalSketch.from_bytes(s.to_bytes()).to_dict() == s.to_dict()
        True
        """
        r = Reader(raw, _KIND, "categorical")
        k, n, missing, m = r.unpack(_HEADER)
        counts = r.array("<i8", m).tolist()
        names = [str(r.take(size), "utf-8") for size in r.array("<u4", m).tolist()]
        r.done()
        s = cls(k)
        s.n, s.missing = n, missing
        s.tracked = Counter(dict(zip(names, counts, strict=True)))
        return s

    def empty_like(self) -> CategoricalSketch:
        return CategoricalSketch(self.max_categories)

    @classmethod
    def _contract_example(cls, values: np.ndarray) -> CategoricalSketch:
        """About 20 skewed categories in a capacity of 8, and missing values."""
        s = cls(max_categories=8)
        s.update_batch([None if v < 0.05 else f"c{int(20 * v**3)}" for v in values.tolist()])
        return s

    def _contract_statistics(self) -> dict[str, Any]:
        return {"n": self.n, "missing": self.missing, "tracked": dict(self.tracked)}

    def _contract_bounds(self) -> dict[str, float]:
        """Each tracked count is short of the truth by at most :attr:`max_error`."""
        return {"tracked": self.max_error}
