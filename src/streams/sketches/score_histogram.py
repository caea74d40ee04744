"""Counts and score sums of every prediction of a window on fine score bins: what CBPE
(streams/labels/cbpe.py) and the mean entropy (streams/labels/proxy.py) read, before
any label arrives."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from streams.sketches.base import Sketch
from streams.sketches.bytes import Reader, header
from streams.sketches.performance import SCORE_BINS, check_scores, score_bins

_KIND = b"S"
_HEADER = struct.Struct("<I")  # score bins


class ScoreHistogram(Sketch):
    """Counts and sums of scores on SCORE_BINS equal-width bins over [0, 1]: mergeable,
    and exact for the sums over bins that CBPE needs.

    >>> h = ScoreHistogram()
    >>> h.update_batch(np.array([0.2, 0.9, 0.6]))
    >>> h.n, ScoreHistogram.from_bytes(h.to_bytes()).sums.tolist() == h.sums.tolist()
    (3, True)
    """

    __slots__ = ("counts", "sums")

    def __init__(self) -> None:
        self.counts = np.zeros(SCORE_BINS, dtype=np.int64)
        self.sums = np.zeros(SCORE_BINS, dtype=float)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def update(self, score: float) -> None:
        self.update_batch(np.array([score]))

    def update_batch(self, scores: np.ndarray) -> None:
        """Fold scores; any outside [0, 1] is refused (ValueError) before any change."""
        s = check_scores(scores)
        index = score_bins(s)
        self.counts += np.bincount(index, minlength=SCORE_BINS)
        self.sums += np.bincount(index, weights=s, minlength=SCORE_BINS)

    def __iadd__(self, other: ScoreHistogram) -> ScoreHistogram:
        self.counts += other.counts
        self.sums += other.sums
        return self

    def to_bytes(self) -> bytes:
        """Version byte, kind, bin count, counts and sums: 3206 bytes."""
        return b"".join(
            (
                header(_KIND),
                _HEADER.pack(SCORE_BINS),
                self.counts.astype("<i8").tobytes(),
                self.sums.astype("<f8").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> ScoreHistogram:
        r = Reader(raw, _KIND, "score histogram")
        (bins,) = r.unpack(_HEADER)
        if bins != SCORE_BINS:
            raise ValueError(f"score histogram has {bins} bins, this code {SCORE_BINS}")
        h = cls()
        h.counts, h.sums = r.array("<i8", bins), r.array("<f8", bins)
        r.done()
        return h

    @classmethod
    def _contract_example(cls, values: np.ndarray) -> ScoreHistogram:
        h = cls()
        h.update_batch(values)
        return h

    def _contract_statistics(self) -> dict[str, Any]:
        return {"counts": self.counts, "sums": self.sums, "n": self.n}
