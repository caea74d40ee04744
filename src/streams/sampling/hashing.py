"""The seeded 64-bit hash every sampling decision is a threshold on.

BLAKE2b keyed by the seed (an 8-byte digest read little-endian): standard, in hashlib
(no dependency for model servers), the same in any language, and, unlike Python's
``hash()``, not salted per process. The client and the worker hash the same bytes,
so they decide the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b

import numpy as np

#: The hash space: a prediction is kept at rate r when its hash is below r * 2^64.
HASH_SPACE = 1 << 64


def seed_key(seed: int) -> bytes:
    """The BLAKE2b key of a seed: its 8 bytes, little-endian (seeds are 0..2^64-1)."""
    return seed.to_bytes(8, "little")


def sampling_hash(prediction_id: str, seed: int = 0) -> int:
    """The prediction's 64-bit sampling hash under ``seed``.

    >>> sampling_hash("p-1"), sampling_hash("p-1", seed=7) != sampling_hash("p-1")
    (3698660292668444313, True)
    """
    digest = blake2b(prediction_id.encode(), digest_size=8, key=seed_key(seed)).digest()
    return int.from_bytes(digest, "little")


def sampling_hashes(prediction_ids: Sequence[str], seed: int = 0) -> np.ndarray:
    """:func:`sampling_hash` of many ids at once, as uint64."""
    key = seed_key(seed)
    digests = b"".join(
        [blake2b(i.encode(), digest_size=8, key=key).digest() for i in prediction_ids]
    )
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def threshold(rate: float) -> int:
    """The hash threshold of a rate in [0, 1]: kept when hash < threshold. Monotone in
    the rate, so a lower rate keeps a subset of what a higher one keeps."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"a sampling rate is in [0, 1], not {rate}")
    return min(round(rate * HASH_SPACE), HASH_SPACE)


def inclusion_probability(rate: float) -> float:
    """The exact probability a rate keeps an id whose hash is uniform: threshold / 2^64."""
    return threshold(rate) / HASH_SPACE
