"""Labels that arrive late, as in production: each simulated prediction may get its
label after a random delay, held back until the simulated clock passes its time."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np


class LabelQueue:
    """Pending labels, held as per-block sorted numpy arrays (about 17 bytes per label:
    an hour of label delay at a high rate is millions of them), merged by a heap."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int]] = []  # (next time, block seq, cursor)
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._seq = 0
        self.pending = 0

    def add(self, times_ms: np.ndarray, indices: np.ndarray, labels: np.ndarray) -> None:
        if not times_ms.size:
            return
        order = np.argsort(times_ms, kind="stable")
        block = (times_ms[order], indices[order], labels[order])
        self._blocks[self._seq] = block
        heapq.heappush(self._heap, (int(block[0][0]), self._seq, 0))
        self._seq += 1
        self.pending += int(times_ms.size)

    def pop_due(self, until_ms: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All labels with time <= until_ms, sorted by time (``inf``: all of them)."""
        parts = []
        while self._heap and self._heap[0][0] <= until_ms:
            _, seq, cursor = heapq.heappop(self._heap)
            times, indices, labels = self._blocks[seq]
            stop = (
                times.size
                if until_ms == math.inf
                else int(np.searchsorted(times, until_ms, side="right"))
            )
            parts.append((times[cursor:stop], indices[cursor:stop], labels[cursor:stop]))
            if stop < times.size:
                heapq.heappush(self._heap, (int(times[stop]), seq, stop))
            else:
                del self._blocks[seq]
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0, dtype=np.int8)
        times, indices, labels = (np.concatenate(p) for p in zip(*parts, strict=True))
        order = np.argsort(times, kind="stable")
        self.pending -= int(times.size)
        return times[order], indices[order], labels[order]


@dataclass(frozen=True)
class LabelDraw:
    """Which predictions get a label, and when it arrives: each is kept with probability
    ``fraction`` and due an exponential delay of mean ``delay_s`` after its event (at
    least 1 ms)."""

    rng: np.random.Generator
    fraction: float
    delay_s: float

    def __call__(
        self, ts_ms: np.ndarray, labels: np.ndarray, first: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The labels of a block of predictions at ``ts_ms`` (event indices counted from
        ``first``): due times (ms), event indices and labels, for ``LabelQueue.add``."""
        chosen = np.flatnonzero(self.rng.random(ts_ms.size) < self.fraction)
        delay_ms = self.rng.exponential(self.delay_s * 1000, chosen.size)
        due = ts_ms[chosen] + np.maximum(np.round(delay_ms), 1).astype(np.int64)
        return due, chosen + first, labels[chosen]
