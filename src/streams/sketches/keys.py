"""Stable 64-bit sampling keys for event ids.

A reservoir keeps the values with the smallest keys; when the key is a hash of the event
id, the sample is a function of the set of events alone, so merging partitions and
replaying a topic give the same sample. Python's ``hash()`` is salted per process, so the
hash is BLAKE2b (8-byte digest, read little-endian): standard and the same in any language.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from hashlib import blake2b

import numpy as np

_hash8 = partial(blake2b, digest_size=8)


def stable_keys(ids: Sequence[str]) -> np.ndarray:
    """uint64 key of each id: BLAKE2b-64 of its UTF-8 bytes, little-endian.

    >>> stable_keys(["event-1", "event-2"]).tolist()
    [2123818840965202205, 11427971108558961553]
    """
    digests = b"".join([_hash8(i.encode()).digest() for i in ids])
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)
