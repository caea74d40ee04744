"""The one interface of every sketch: fold values in, merge, write and read bytes.

A sketch is a summary whose merge is the summary of the union: stage 1 folds each
partition's events into sketches, stage 2 adds the partitions' sketches, and the sum
answers as one pass over every event would (within the sketch's documented bound).
``tests/unit/sketches/test_contract.py`` checks that law for every subclass it finds,
through the two ``_contract_*`` hooks each sketch declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from typing import Any, Self

import numpy as np


class Sketch(ABC):
    """Mergeable summary. Subclasses use ``__slots__``: :meth:`copy` copies each slot
    (arrays, counters and nested sketches by value), which is far cheaper than a bytes
    round trip."""

    __slots__ = ()

    @property
    @abstractmethod
    def n(self) -> int:
        """The values the sketch's statistics describe (what a merge adds up)."""

    @property
    def is_empty(self) -> bool:
        """Nothing folded in yet: merging it changes nothing."""
        return self.n == 0

    @abstractmethod
    def update(self, *value: Any, **options: Any) -> None:
        """Fold one value (its columns, for a sketch of pairs)."""

    @abstractmethod
    def update_batch(self, *values: Any, **options: Any) -> None:
        """Fold many values at once: the fast path."""

    @abstractmethod
    def __iadd__(self, other: Self) -> Self:
        """Merge ``other`` in: afterwards ``self`` summarises both."""

    def __add__(self, other: Self) -> Self:
        """A new sketch of both; neither operand changes."""
        return self.copy().__iadd__(other)

    @abstractmethod
    def to_bytes(self) -> bytes:
        """Compact, pickle-free and versioned (see :mod:`streams.sketches.bytes`)."""

    @classmethod
    @abstractmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Inverse of :meth:`to_bytes`; other versions or kinds raise ValueError."""

    def copy(self) -> Self:
        """An independent sketch equal to this one."""
        clone = object.__new__(type(self))
        for cls in type(self).__mro__:
            for name in getattr(cls, "__slots__", ()):
                value = getattr(self, name)
                if isinstance(value, np.ndarray | Counter | Sketch):
                    value = value.copy()
                setattr(clone, name, value)
        return clone

    @classmethod
    @abstractmethod
    def _contract_example(cls, values: np.ndarray) -> Self:
        """The sketch of ``values`` (floats in [0, 1), mapped onto the sketch's domain as
        a function of each value alone, so that the sketch of a union is well defined);
        an empty array gives the empty sketch."""

    @abstractmethod
    def _contract_statistics(self) -> dict[str, Any]:
        """Everything the sketch answers, by name: numbers, arrays or {key: number}."""

    def _contract_bounds(self) -> dict[str, float]:
        """Most that each statistic may differ between a merge and one pass (absolute;
        float rounding aside). Exact unless a sketch documents a bound."""
        return {}
