"""The batch envelope: many events of one partition in one Kafka message.

Faust's cost is per Kafka message, so model servers pay it once per batch: a
``PredictionBatch`` value on ``predictions`` is ``{"batch_version": 1, "predictions":
[event, ...]}`` and a ``LabelBatch`` on ``labels`` is ``{"batch_version": 1, "labels":
[...]}``. Every event in an envelope has a ``prediction_id`` that murmur2 maps to the
message's partition, and the message's key is the first event's ``prediction_id``, so
the envelope lands where each of its events would have landed alone. Single-event
messages stay valid on the same topics; the top-level ``batch_version`` tells them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

BATCH_VERSION = 1

#: Events one envelope may carry; a producer starts a new envelope beyond it.
MAX_BATCH_EVENTS = 1000

#: Bytes one encoded envelope may take: Kafka's default ``message.max.bytes`` is 1 MiB.
MAX_BATCH_BYTES = 1_048_576

BatchKind = Literal["predictions", "labels"]

#: The envelope's list field, by topic kind.
BATCH_FIELDS: tuple[BatchKind, ...] = ("predictions", "labels")


def encode_batch(kind: BatchKind, events: Sequence[Mapping[str, Any]]) -> bytes:
    """The envelope of ``events`` (JSON objects of one partition) as message bytes.

    >>> encode_batch("labels", [{"prediction_id": "p1"}])
    b'{"batch_version":1,"labels":[{"prediction_id":"p1"}]}'
    """
    if kind not in BATCH_FIELDS:
        raise ValueError(f"unknown envelope kind {kind!r}; expected one of {BATCH_FIELDS}")
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise ValueError(f"an envelope holds 1 to {MAX_BATCH_EVENTS} events, got {len(events)}")
    return orjson.dumps({"batch_version": BATCH_VERSION, kind: list(events)})


def is_envelope(data: Mapping[str, Any]) -> bool:
    """Whether a decoded message is an envelope rather than a single event."""
    return "batch_version" in data


def split_batches(
    kind: BatchKind, events: Sequence[Mapping[str, Any]], partitions: int, size: int
) -> list[tuple[int, bytes, bytes]]:
    """``events`` as envelopes of at most ``size``, each of one partition: (partition,
    key, value) to produce with an explicit partition. For tests and benchmarks; model
    servers batch through the producer client, by count, bytes and linger.

    >>> [(p, k) for p, k, _ in split_batches("labels", [{"prediction_id": "a"}] * 3, 4, 2)]
    [(0, b'a'), (0, b'a')]
    """
    from streams.kafka.partitioner import partitions_for  # numpy, only when used

    owners = partitions_for([e["prediction_id"].encode() for e in events], partitions)
    by_partition: dict[int, list[Mapping[str, Any]]] = {}
    for event, owner in zip(events, owners.tolist(), strict=True):
        by_partition.setdefault(owner, []).append(event)
    out = []
    for partition, mine in sorted(by_partition.items()):
        for i in range(0, len(mine), size):
            chunk = mine[i : i + size]
            out.append((partition, chunk[0]["prediction_id"].encode(), encode_batch(kind, chunk)))
    return out
