"""A Faust table whose batch writes cost one changelog message, not one per key.

Faust logs every ``table[key] = value`` as its own changelog message (a future, a
sensor call and a produce each): for the pending-label store that is one message per
prediction, and it halved the worker's ingest. ``CoalescedTable.set_many`` writes a
batch's keys to the local store one by one (reads stay plain key lookups) and logs
them as *one* changelog message: a frame of every (key, value) pair, under a batch key
of the caller's choosing. Restoring (recovery, standby replicas) expands that frame
back into its keys, in the changelog's order, so a later write of any one key still
wins.

The batch key also stays in the store, with a small value the owner understands (for
the pending store: the batch's newest event time, labels/pending.py ``BatchIndex``);
it is the frame's last pair, so a restore puts it back too.
Deleting it tombstones the frame in the compacted changelog; the owner does so only
once every key of the batch has been written again on its own (the pending store's
sweep: an expiry marker for each record, one label horizon before the index goes).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import faust
from faust.types import TP

from streams.codec import FormatError
from streams.worker.partition_scope import store_local

K = TypeVar("K")

#: The first bytes of a frame's value: a single value could only start so by chance.
FRAME_MAGIC = b"\xffstreams-frame-1\n"
_LENGTHS = struct.Struct(">II")
#: A frame's most bytes: well under the producer's default request size (1 MiB).
FRAME_MAX_BYTES = 512 * 1024
#: Room kept in every frame for its batch key and index.
FRAME_INDEX_ROOM = 4096


class FrameError(FormatError):
    """A changelog value that starts as a frame but cannot be read as one."""


def split_pairs(
    pairs: Mapping[K, bytes], max_bytes: int, key_bytes: Callable[[K], bytes]
) -> Iterator[dict[K, bytes]]:
    """``pairs`` in runs whose frames (keys as ``key_bytes`` serialises them) stay
    under ``max_bytes``; a pair alone over it still makes a run of its own."""
    chunk: dict[K, bytes] = {}
    size = len(FRAME_MAGIC) + FRAME_INDEX_ROOM
    for key, value in pairs.items():
        grows = _LENGTHS.size + len(key_bytes(key)) + len(value)
        if chunk and size + grows > max_bytes:
            yield chunk
            chunk, size = {}, len(FRAME_MAGIC) + FRAME_INDEX_ROOM
        chunk[key] = value
        size += grows
    if chunk:
        yield chunk


def frame(pairs: Mapping[bytes, bytes]) -> bytes:
    """The (key, value) pairs, keys serialised as the store keeps them, as one value:
    lengths then bytes, in insertion order.

    >>> unframe(frame({b"a": b"1", b"bc": b""}))
    [(b'a', b'1'), (b'bc', b'')]
    """
    parts = [FRAME_MAGIC]
    for key, value in pairs.items():
        parts += (_LENGTHS.pack(len(key), len(value)), key, value)
    return b"".join(parts)


def is_frame(value: bytes | None) -> bool:
    return value is not None and value.startswith(FRAME_MAGIC)


def unframe(value: bytes) -> list[tuple[bytes, bytes]]:
    """The pairs of a frame; FrameError if it is cut short."""
    view, at, out = memoryview(value), len(FRAME_MAGIC), []
    while at < len(value):
        if at + _LENGTHS.size > len(value):
            raise FrameError(f"frame cut short at byte {at}")
        klen, vlen = _LENGTHS.unpack_from(view, at)
        at += _LENGTHS.size
        if at + klen + vlen > len(value):
            raise FrameError(f"frame cut short at byte {at}")
        out.append((bytes(view[at : at + klen]), bytes(view[at + klen : at + klen + vlen])))
        at += klen + vlen
    return out


@dataclass(frozen=True, slots=True)
class _Message:
    """What a Faust store reads of a changelog message."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class _Event:
    """A changelog event expanded from a frame: one pair, at the frame's offset."""

    key: Any
    value: Any
    message: _Message


def expand(events: Iterable[Any], loads_key: Callable[[bytes], Any]) -> Iterator[Any]:
    """Changelog events with every frame replaced by its pairs (``loads_key`` decodes a
    serialised key as the changelog's events carry it): single-key events pass as they
    are, so the store applies everything in the changelog's order."""
    for event in events:
        message = event.message
        if not is_frame(message.value):
            yield event
            continue
        for key, value in unframe(message.value):
            msg = _Message(message.topic, message.partition, message.offset, key, value)
            yield _Event(loads_key(key), value, msg)


class CoalescedTable(faust.Table):
    """A ``faust.Table`` of bytes with ``set_many``: one changelog message per batch."""

    def set_many(
        self,
        partition: int,
        pairs: Mapping[str, bytes],
        batch_key: str,
        index_of: Callable[[Mapping[str, bytes]], bytes],
    ) -> list[Any]:
        """Store ``pairs`` in ``partition`` (the caller holds a partition_scope of it)
        and log them as frames of at most FRAME_MAX_BYTES, each under ``batch_key``
        (``#n`` appended from the second on) with ``index_of(its pairs)`` as the
        key's value; returns the changelog sends' futures."""
        encoded = {key: self._dumps_key(key) for key in pairs}  # once per key
        futures = []
        for n, chunk in enumerate(split_pairs(pairs, FRAME_MAX_BYTES, encoded.__getitem__)):
            key = f"{batch_key}#{n}" if n else batch_key
            encoded[key] = self._dumps_key(key)
            chunk[key] = index_of(chunk)
            store_local(self, partition, chunk, encoded)  # one RocksDB write batch
            framed = {encoded[name]: value for name, value in chunk.items()}
            futures.append(self.send_changelog(partition, key, frame(framed)))
        return futures

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        self.data.apply_changelog_batch(
            list(expand(batch, self._loads_key)), to_key=self._to_key, to_value=self._to_value
        )

    def _dumps_key(self, key: str) -> bytes:
        """A key as the store and the changelog keep it (the table's key serializer)."""
        return self.app.serializers.dumps_key(self.key_type, key, serializer=self.key_serializer)

    def _loads_key(self, raw: bytes) -> Any:
        return self.app.serializers.loads_key(self.key_type, raw, serializer=self.key_serializer)
