"""The partitioner agrees with aiokafka's murmur2 (itself a port of the Java client's)."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from streams.kafka.partitioner import murmur2, partition_for, partitions_for


def random_keys(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(0, 41)) for _ in range(count)]


def test_murmur2_equals_aiokafka_on_random_keys_of_every_tail_length() -> None:
    keys = random_keys(10_000, seed=3)
    assert {len(k) % 4 for k in keys} == {0, 1, 2, 3}
    assert [murmur2(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]


@pytest.mark.parametrize("partitions", [1, 4, 12, 7])
def test_partition_equals_aiokafka_default_partitioner(partitions: int) -> None:
    keys = random_keys(10_000, seed=partitions)
    available = list(range(partitions))
    expected = [DefaultPartitioner()(k, available, available) for k in keys]
    assert [partition_for(k, partitions) for k in keys] == expected
    assert partitions_for(keys, partitions).tolist() == expected


def test_batch_form_on_uuid_like_ids_and_empty_input() -> None:
    keys = [f"{i:08x}-0000-4000-8000-{i * 7919:012x}".encode() for i in range(2_000)]
    assert partitions_for(keys, 6).tolist() == [partition_for(k, 6) for k in keys]
    assert partitions_for([], 6).tolist() == []
