"""Consistent sampling tiers: which predictions feed drift sketches, the label join,
the audit log and explanations (a threshold on a seeded hash of the prediction id),
and the Horvitz-Thompson estimates their inclusion probabilities allow.

Pure (no Kafka, no Faust): the producer client, stage 1 and the label join import it.
docs/sampling.md says what each tier feeds and how to choose rates.
"""

from streams.sampling.estimates import Estimate, WeightedTally
from streams.sampling.hashing import (
    HASH_SPACE,
    inclusion_probability,
    sampling_hash,
    sampling_hashes,
    threshold,
)
from streams.sampling.tiers import DEFAULT_RATES, KEEP_ALL, KeepRule, Sampler, Tier

__all__ = [
    "DEFAULT_RATES",
    "HASH_SPACE",
    "KEEP_ALL",
    "Estimate",
    "KeepRule",
    "Sampler",
    "Tier",
    "WeightedTally",
    "inclusion_probability",
    "sampling_hash",
    "sampling_hashes",
    "threshold",
]
