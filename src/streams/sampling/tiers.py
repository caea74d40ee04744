"""Which sampling tiers keep a prediction, and with what inclusion probability.

One hash per prediction (:mod:`streams.sampling.hashing`), one threshold per tier: a
tier at rate r keeps a prediction when its hash is below r * 2^64. So

- a lower rate keeps a subset of what a higher rate keeps (and tiers nest: with the
  audit rate below the label rate, every audited prediction is also labelled);
- the client, the worker and the label join decide alike from the id alone;
- a rate change moves one threshold: predictions below both old and new thresholds
  stay kept, nothing else about the decision changes.

An ``always_keep`` rule (a segment's values) keeps a prediction in its tiers whatever
the hash, with probability 1: an inclusion probability known when the prediction is
made, which is what the Horvitz-Thompson weights (``1 / probability``) need.

Pure and Faust-free: the producer client imports it.

>>> sampler = Sampler({Tier.labels: 0.1}, seed=3)
>>> sampler.probability(Tier.labels), sampler.probability(Tier.drift)
(0.1, 1.0)
>>> sampler.keeps(Tier.drift, "p-1"), sampler.keeps(Tier.audit, "p-1")
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from streams.sampling.hashing import (
    HASH_SPACE,
    inclusion_probability,
    sampling_hash,
    sampling_hashes,
    threshold,
)


class Tier(StrEnum):
    """What a sample feeds: feature sketches, the pending-label store and performance,
    the audit log, explanations."""

    drift = "drift"
    labels = "labels"
    audit = "audit"
    explanation = "explanation"


#: The rate of a tier the config does not name: every prediction feeds drift and
#: labels (the behaviour before sampling), none the audit log or explanations.
DEFAULT_RATES: Mapping[Tier, float] = {
    Tier.drift: 1.0,
    Tier.labels: 1.0,
    Tier.audit: 0.0,
    Tier.explanation: 0.0,
}


@dataclass(frozen=True, slots=True)
class KeepRule:
    """Keep every prediction whose ``segment`` is one of ``values``, in ``tiers``."""

    segment: str
    values: frozenset[str]
    tiers: frozenset[Tier]

    def matches(self, tier: Tier, segments: Mapping[str, str] | None) -> bool:
        return tier in self.tiers and bool(segments) and segments.get(self.segment) in self.values


class Sampler:
    """Every tier's decision for one model. ``rates``: tier -> rate in [0, 1] (missing
    tiers take :data:`DEFAULT_RATES`); ``seed``: the hash seed (changing it draws a new,
    unrelated sample); ``rules``: always-keep rules."""

    __slots__ = ("_probabilities", "_thresholds", "rates", "rules", "seed")

    def __init__(
        self,
        rates: Mapping[Tier | str, float] | None = None,
        seed: int = 0,
        rules: Iterable[KeepRule] = (),
    ) -> None:
        given = {Tier(t): r for t, r in (rates or {}).items()}
        self.rates = {t: given.get(t, default) for t, default in DEFAULT_RATES.items()}
        self._thresholds = {t: threshold(r) for t, r in self.rates.items()}
        self._probabilities = {t: inclusion_probability(r) for t, r in self.rates.items()}
        self.seed = seed
        self.rules = tuple(rules)

    @classmethod
    def from_config(cls, sampling: Any) -> Sampler:
        """From a model's ``sampling`` config (streams.config.models.SamplingConfig)."""
        rules = [
            KeepRule(r.segment, frozenset(r.values), frozenset(Tier(t) for t in r.tiers))
            for r in sampling.always_keep
        ]
        rates = {t: getattr(sampling, t.value) for t in Tier}
        return cls(rates, sampling.seed, rules)

    def to_dict(self) -> dict[str, Any]:
        """What an aggregate saves of its sampler, to fold on after a restore."""
        rules = [
            [r.segment, sorted(r.values), sorted(t.value for t in r.tiers)] for r in self.rules
        ]
        rates = {t.value: r for t, r in self.rates.items()}
        return {"rates": rates, "seed": self.seed, "rules": rules}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sampler:
        rules = [
            KeepRule(segment, frozenset(values), frozenset(Tier(t) for t in tiers))
            for segment, values, tiers in d["rules"]
        ]
        return cls(d["rates"], d["seed"], rules)

    def always_kept(self, tier: Tier, segments: Mapping[str, str] | None) -> bool:
        return any(rule.matches(tier, segments) for rule in self.rules)

    def probability(self, tier: Tier, segments: Mapping[str, str] | None = None) -> float:
        """The inclusion probability of a prediction with these segments in ``tier``."""
        if self.rules and self.always_kept(tier, segments):
            return 1.0
        return self._probabilities[tier]

    def keeps(
        self, tier: Tier, prediction_id: str, segments: Mapping[str, str] | None = None
    ) -> bool:
        """Whether ``tier`` keeps this prediction."""
        if self.rules and self.always_kept(tier, segments):
            return True
        return self._below(self._thresholds[tier], prediction_id)

    def keeps_at(self, tier: Tier, prediction_id: str, rate: float) -> bool:
        """Whether ``tier`` at ``rate`` (not its configured one) keeps this prediction,
        rules aside: the label join's check at the lowest recent rate."""
        return self._below(threshold(rate), prediction_id)

    def _below(self, limit: int, prediction_id: str) -> bool:
        if limit >= HASH_SPACE:
            return True
        return limit > 0 and sampling_hash(prediction_id, self.seed) < limit

    def keep_mask(
        self,
        tier: Tier,
        prediction_ids: Sequence[str],
        segments: Sequence[Mapping[str, str] | None] | None = None,
    ) -> np.ndarray:
        """:meth:`keeps` of many predictions at once (bool array); hashes nothing at
        rate 1."""
        limit = self._thresholds[tier]
        if limit >= HASH_SPACE:
            return np.ones(len(prediction_ids), dtype=bool)
        mask = sampling_hashes(prediction_ids, self.seed) < np.uint64(limit)
        if self.rules and segments is not None:
            mask |= np.fromiter((self.always_kept(tier, s) for s in segments), bool, len(mask))
        return mask

    def tiers(
        self, prediction_id: str, segments: Mapping[str, str] | None = None
    ) -> dict[Tier, float]:
        """The tiers keeping this prediction, each with its inclusion probability: what
        a record carries so that later readers can weight it (one hash for all)."""
        h = sampling_hash(prediction_id, self.seed)
        return {
            t: self.probability(t, segments)
            for t in Tier
            if h < self._thresholds[t] or self.always_kept(t, segments)
        }

    def __repr__(self) -> str:
        rates = ", ".join(f"{t}={r:g}" for t, r in self.rates.items())
        return f"Sampler({rates}, seed={self.seed}, rules={len(self.rules)})"


#: The sampler of a model without a ``sampling`` section.
KEEP_ALL = Sampler()
