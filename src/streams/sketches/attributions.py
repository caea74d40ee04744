"""Per-window attribution aggregates: the mean |SHAP value| of each feature, weighted by
inclusion probability, mergeable across partitions; and the comparison of a window's
feature ranking with the reference's by nDCG, as SageMaker Clarify's attribution
drift does (drift below 0.9).

Explanations come from a sample (the explanation tier), so each record stands for
1/p predictions: a feature's mean |phi| is the Hajek ratio sum(|phi|/p) / sum(1/p),
the same estimator the label tier's shares use (docs/sampling.md).

>>> s = AttributionSketch(("a", "b"))
>>> s.update({"a": 0.5, "b": -0.1}, probability=0.5)
>>> s.update({"a": -0.3, "b": 0.2}, probability=1.0)
>>> {k: round(v, 4) for k, v in s.mean_abs().items()}
{'a': 0.4333, 'b': 0.1333}
>>> round(attribution_ndcg({"a": 0.1, "b": 0.9}, {"a": 0.9, "b": 0.1}), 4)
0.6934
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

from streams.sketches.base import Sketch
from streams.sketches.bytes import Reader, header

__all__ = ["NDCG_THRESHOLD", "AttributionSketch", "attribution_ndcg"]

#: Clarify's default: a window whose ranking scores below it has drifted.
NDCG_THRESHOLD = 0.9

_KIND = b"A"
_HEADER = struct.Struct("<IIq d")  # features, names' bytes, n, sum of weights


class AttributionSketch(Sketch):
    """Weighted sums of |phi| and phi per feature over the explanations of a window."""

    __slots__ = ("_abs", "_signed", "_weight", "features", "n_explained")

    def __init__(self, features: Sequence[str]) -> None:
        self.features = tuple(features)
        self.n_explained = 0
        self._weight = 0.0
        self._abs = np.zeros(len(self.features))
        self._signed = np.zeros(len(self.features))

    def __repr__(self) -> str:
        return f"AttributionSketch({len(self.features)} features, n={self.n})"

    @property
    def n(self) -> int:
        return self.n_explained

    def update(self, attributions: Mapping[str, float], probability: float = 1.0) -> None:
        """One explanation (feature -> phi; a feature it lacks counts 0), kept with
        ``probability``."""
        row = np.array([attributions.get(f, 0.0) for f in self.features])
        self.update_batch(row[None, :], np.array([probability]))

    def update_batch(self, values: np.ndarray, probabilities: np.ndarray) -> None:
        """Many explanations: ``values`` (n, features), ``probabilities`` (n,)."""
        weights = 1.0 / np.asarray(probabilities, dtype=np.float64)
        self.n_explained += values.shape[0]
        self._weight += float(weights.sum())
        self._abs += weights @ np.abs(values)
        self._signed += weights @ values

    def __iadd__(self, other: Self) -> Self:
        if other.features != self.features:
            raise ValueError(f"cannot merge attributions of {other.features} into {self.features}")
        self.n_explained += other.n_explained
        self._weight += other._weight
        self._abs += other._abs
        self._signed += other._signed
        return self

    def mean_abs(self) -> dict[str, float]:
        """Mean |phi| per feature (Hajek-weighted); NaN for an empty sketch."""
        return (
            dict(zip(self.features, (self._abs / self._weight).tolist(), strict=True))
            if (self._weight)
            else dict.fromkeys(self.features, math.nan)
        )

    def mean(self) -> dict[str, float]:
        """Mean signed phi per feature: the direction a feature pushes the output."""
        if not self._weight:
            return dict.fromkeys(self.features, math.nan)
        return dict(zip(self.features, (self._signed / self._weight).tolist(), strict=True))

    def to_bytes(self) -> bytes:
        names = "\0".join(self.features).encode()
        d = len(self.features)
        fixed = _HEADER.pack(d, len(names), self.n_explained, self._weight)
        arrays = self._abs.astype("<f8").tobytes() + self._signed.astype("<f8").tobytes()
        return header(_KIND) + fixed + names + arrays

    @classmethod
    def from_bytes(cls, raw: bytes) -> AttributionSketch:
        reader = Reader(raw, _KIND, "attribution")
        d, size, n, weight = reader.unpack(_HEADER)
        names = bytes(reader.take(size)).decode()
        sketch = cls(names.split("\0") if d else ())
        sketch.n_explained, sketch._weight = n, weight
        sketch._abs, sketch._signed = reader.array("<f8", d), reader.array("<f8", d)
        reader.done()
        return sketch

    @classmethod
    def _contract_example(cls, values: np.ndarray) -> AttributionSketch:
        sketch = cls(("a", "b", "c"))
        if values.size:
            phi = np.column_stack([values, -(values**2), 0.5 - values])
            sketch.update_batch(phi, 0.25 + 0.75 * values)
        return sketch

    def _contract_statistics(self) -> dict[str, Any]:
        return {"mean_abs": self.mean_abs(), "mean": self.mean(), "weight": self._weight}


def attribution_ndcg(
    current: Mapping[str, float], reference: Mapping[str, float], k: int | None = None
) -> float:
    """nDCG@k of the features ranked by ``current`` mean |phi|, with the reference's
    mean |phi| as each feature's relevance: 1 when the window ranks the features as
    the reference does (ties aside), lower the more the important ones moved down.
    DCG = sum_i rel(i-th feature) / log2(i + 1), over the ideal (reference) order."""
    features = sorted(reference)
    relevance = np.array([reference[f] for f in features])
    scores = np.array([current.get(f, 0.0) for f in features])
    top = len(features) if k is None else min(k, len(features))
    discount = 1.0 / np.log2(np.arange(2, top + 2))
    dcg = relevance[np.argsort(-scores, kind="stable")[:top]] @ discount
    ideal = np.sort(relevance)[::-1][:top] @ discount
    return float(dcg / ideal) if ideal > 0 else 1.0
