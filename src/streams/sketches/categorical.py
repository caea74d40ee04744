"""Sketch of one categorical feature over a window: bounded category counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

OTHER = "__other__"


class CategoricalSketch:
    """Counts per category, bounded to ``max_categories`` distinct values: a value first
    seen once the bound is reached counts under ``__other__``, so a feature that suddenly
    serves unbounded ids cannot exhaust memory.

    >>> s = CategoricalSketch(max_categories=2)
    >>> s.update_batch(["a", "b", "c", None, "a"])
    >>> dict(s.counts), s.missing
    ({'a': 2, 'b': 1, '__other__': 1}, 1)
    """

    __slots__ = ("counts", "max_categories", "missing")

    def __init__(self, max_categories: int = 100) -> None:
        if max_categories < 1:
            raise ValueError("max_categories must be at least 1")
        self.max_categories = max_categories
        self.counts: Counter[str] = Counter()
        self.missing = 0

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def total(self) -> int:
        return self.n + self.missing

    def _add(self, category: str, count: int) -> None:
        counts = self.counts
        if category in counts or len(counts) < self.max_categories:
            counts[category] += count
        else:
            counts[OTHER] += count

    def update_batch(self, values: Iterable[object]) -> None:
        batch: Counter[str] = Counter()
        for v in values:
            if v is None:
                self.missing += 1
            else:
                batch[v if isinstance(v, str) else str(v)] += 1
        for category, count in batch.most_common():
            self._add(category, count)

    def __iadd__(self, other: CategoricalSketch) -> CategoricalSketch:
        for category, count in other.counts.most_common():
            self._add(category, count)
        self.missing += other.missing
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_categories": self.max_categories,
            "counts": dict(self.counts),
            "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoricalSketch:
        s = cls(d["max_categories"])
        s.counts = Counter(d["counts"])
        s.missing = d["missing"]
        return s

    def empty_like(self) -> CategoricalSketch:
        return CategoricalSketch(self.max_categories)
