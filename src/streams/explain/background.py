"""The background an explanation is taken against, and its hash.

SHAP values are differences from an expected output, so they mean something only
with the rows the expectation ran over: every explanation record carries the hash of
its background, and two records compare only when their hashes agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = ["Background"]


@dataclass(frozen=True)
class Background:
    """Rows (n, d) with weights summing to 1 (k-means centres weigh their clusters)."""

    rows: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray) -> Background:
        rows = np.asarray(rows, dtype=np.float64)
        return cls(rows, np.full(rows.shape[0], 1.0 / max(rows.shape[0], 1)))

    @classmethod
    def sample(cls, rows: np.ndarray, size: int, seed: int = 0) -> Background:
        """At most ``size`` of ``rows``, drawn without replacement (seeded)."""
        if rows.shape[0] <= size:
            return cls.of(rows)
        pick = np.sort(np.random.default_rng(seed).choice(rows.shape[0], size, replace=False))
        return cls.of(rows[pick])

    @classmethod
    def kmeans(cls, rows: np.ndarray, k: int) -> Background:
        """``k`` k-means centres weighted by their clusters' sizes (shap.kmeans: each
        coordinate snapped to a value the data has, so codes stay valid)."""
        if rows.shape[0] <= k:
            return cls.of(rows)
        import shap

        dense = shap.kmeans(rows, k)
        weights = np.asarray(dense.weights, dtype=np.float64)
        return cls(np.asarray(dense.data, dtype=np.float64), weights / weights.sum())

    def mean(self) -> np.ndarray:
        return self.weights @ self.rows

    @property
    def hash(self) -> str:
        """SHA-256 of the rows and weights (shape, then little-endian float64), 16 hex."""
        digest = hashlib.sha256(np.asarray(self.rows.shape, dtype="<i8").tobytes())
        digest.update(np.ascontiguousarray(self.rows, dtype="<f8").tobytes())
        digest.update(np.ascontiguousarray(self.weights, dtype="<f8").tobytes())
        return digest.hexdigest()[:16]
