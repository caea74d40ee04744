"""The one place that touches Faust's private API: the partition a table write lands in.

Faust picks the changelog partition of a table write (``Table.partition_for_key``) and
the RocksDB shard it is stored in (``rocksdb.Store._set``) from *the current event*,
a context variable its streams set while an agent handles one event. Our agents
handle batches that mix partitions, and the idle timer runs outside any event, so
neither has one current event. ``partition_scope`` sets that variable to a stand-in
naming the partition whose state is being written: each partition's state stays in
that partition's changelog, where the worker that takes the partition over after a
rebalance restores it.

``faust.streams._current_event`` is private (faust-streaming 0.15.3): an upgrade that
renames it, or that stops deciding the partition from it, breaks this module, and
tests/unit/worker/test_partition_scope.py fails.

``store_local`` writes many keys to a table's local store in one RocksDB write batch,
through the RocksDB store's private shard lookup and key index: a ``put`` per key,
each key serialised again by the table, was a tenth of the worker's time under the
label join (py-spy, bench/ingest.py). Any other store is written key by key.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from faust.stores.rocksdb import Store as RocksDBStore
from faust.streams import _current_event


@dataclass(frozen=True, slots=True)
class _Message:
    """What Faust reads of the current event's message: its topic and partition."""

    topic: str
    partition: int


class _CurrentEvent:
    """Stands in for "the current event": Faust reads ``event.message.partition``."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, topic: str, partition: int) -> None:
        self.message = _Message(topic, partition)


@contextmanager
def partition_scope(topic: str, partition: int) -> Iterator[None]:
    """Table reads and writes inside land in ``partition`` of ``topic``'s changelog."""
    event = _CurrentEvent(topic, partition)
    token = _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
    try:
        yield
    finally:
        _current_event.reset(token)


def store_local(
    table: Any, partition: int, pairs: Mapping[str, bytes], encoded: Mapping[str, bytes]
) -> None:
    """Write ``pairs`` to ``table``'s local store in ``partition`` (the caller holds its
    scope), no changelog; ``encoded``: each key as the table serialises it."""
    store = table.data
    if not (isinstance(store, RocksDBStore) and store.use_rocksdict):
        for key, value in pairs.items():
            store[key] = value
        return
    import rocksdict  # present whenever the store uses it

    batch = rocksdict.WriteBatch(raw_mode=True)
    index = store._key_index
    for key, value in pairs.items():
        raw = encoded[key]
        batch.put(raw, value)
        index[raw] = partition
    store._db_for_partition(partition).write(batch)
