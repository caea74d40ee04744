"""Kafka's default partitioner (murmur2 of the key), for one key and for a batch of keys.

Labels join their predictions only when both land on the same partition, so every
producer and the worker must agree with the Java client (``Utils.murmur2``, then
``toPositive(h) % partitions``), which aiokafka also follows. librdkafka's default is
CRC32, so producers on confluent-kafka compute the partition here and pass it
explicitly. The batch form hashes equal-length keys as columns of a numpy matrix (ids
are usually fixed-length: UUIDs, hex digests), which is what lets the worker check the
partition of every event in an envelope cheaply. No Faust import, no broker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash of ``data``, as Kafka's Java client computes it.

    >>> murmur2(b"21") - 2**32  # the Java client's test vector for "21", read as signed
    -973932308
    """
    length = len(data)
    h = (_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length % 4
    base = length - tail
    if tail >= 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition the Java client and aiokafka choose for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _murmur2_columns(keys: np.ndarray) -> np.ndarray:
    """murmur2 of each row of a ``(n, length)`` uint8 matrix, in uint32 arithmetic."""
    n, length = keys.shape
    m = np.uint32(_M)
    h = np.full(n, (_SEED ^ length) & _MASK, dtype=np.uint32)
    blocks = length // 4
    if blocks:
        words = np.ascontiguousarray(keys[:, : blocks * 4]).view("<u4")
        for j in range(blocks):
            k = words[:, j] * m
            k ^= k >> np.uint32(24)
            k *= m
            h *= m
            h ^= k
    tail = length % 4
    base = blocks * 4
    if tail >= 3:
        h ^= keys[:, base + 2].astype(np.uint32) << np.uint32(16)
    if tail >= 2:
        h ^= keys[:, base + 1].astype(np.uint32) << np.uint32(8)
    if tail >= 1:
        h ^= keys[:, base].astype(np.uint32)
        h *= m
    h ^= h >> np.uint32(13)
    h *= m
    h ^= h >> np.uint32(15)
    return h


def partitions_for(keys: Sequence[bytes], partitions: int) -> np.ndarray:
    """``partition_for`` of every key, as an int64 array in the keys' order.

    >>> keys = [b"a", b"bb", b"a"]
    >>> partitions_for(keys, 8).tolist() == [partition_for(k, 8) for k in keys]
    True
    """
    out = np.empty(len(keys), dtype=np.int64)
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        by_length[len(key)].append(index)
    for length, indices in by_length.items():
        matrix = np.frombuffer(b"".join(keys[i] for i in indices), dtype=np.uint8)
        hashes = _murmur2_columns(matrix.reshape(len(indices), length))
        out[indices] = (hashes & np.uint32(0x7FFFFFFF)).astype(np.int64) % partitions
    return out
