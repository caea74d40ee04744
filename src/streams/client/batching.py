"""Per-partition batching into envelopes, by count, bytes and linger. Pure, no Kafka.

A batch is closed when it holds ``max_events``, when the next event would push its
envelope past ``max_bytes``, or ``linger_s`` after its first event, whichever comes
first: a busy partition sends full envelopes, a quiet one waits at most ``linger_s``.
The envelope's bytes are built by joining the events' JSON, which is byte for byte what
``streams.events.envelope.encode_batch`` gives for the decoded events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.events.envelope import BATCH_VERSION, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, BatchKind


def envelope_overhead(kind: BatchKind) -> tuple[bytes, bytes]:
    """The bytes before the first event and after the last one of an envelope."""
    return b'{"batch_version":%d,"%s":[' % (BATCH_VERSION, kind.encode()), b"]}"


@dataclass(frozen=True)
class Envelope:
    """One closed batch: its partition, key (the first event's id) and encoded value."""

    partition: int
    key: bytes
    value: bytes
    events: int


@dataclass
class _Open:
    key: bytes
    started: float
    values: list[bytes] = field(default_factory=list)
    size: int = 0


class Batcher:
    """The open batch of every partition; ``add`` and ``due`` return the closed ones."""

    def __init__(
        self,
        kind: BatchKind,
        max_events: int = 500,
        max_bytes: int = 900_000,
        linger_s: float = 0.05,
    ) -> None:
        if not 1 <= max_events <= MAX_BATCH_EVENTS:
            raise ValueError(f"max_events must lie in [1, {MAX_BATCH_EVENTS}], got {max_events}")
        self._head, self._tail = envelope_overhead(kind)
        overhead = len(self._head) + len(self._tail)
        if not overhead < max_bytes <= MAX_BATCH_BYTES:
            raise ValueError(
                f"max_bytes must lie in ({overhead}, {MAX_BATCH_BYTES}], got {max_bytes}"
            )
        if not linger_s >= 0:
            raise ValueError(f"linger must be >= 0 s, got {linger_s}")
        self.max_events, self.max_bytes, self.linger_s = max_events, max_bytes, linger_s
        self.max_event_bytes = max_bytes - len(self._head) - len(self._tail)
        self._open: dict[int, _Open] = {}
        self.events = 0  # held in open batches

    def add(self, partition: int, key: bytes, value: bytes, now: float) -> Envelope | None:
        """Put one event in its partition's batch; the batch closed to make room or by
        reaching ``max_events``, if any (an event alone never exceeds ``max_bytes``:
        ``max_event_bytes`` is checked by the caller)."""
        closed = None
        batch = self._open.get(partition)
        if batch is not None and batch.size + 1 + len(value) > self.max_event_bytes:
            closed = self._close(partition)
            batch = None
        if batch is None:
            batch = self._open[partition] = _Open(key, now, [], -1)  # -1: no comma before the first
        batch.values.append(value)
        batch.size += 1 + len(value)
        self.events += 1
        if len(batch.values) >= self.max_events:
            assert closed is None  # a batch just opened holds one event only
            return self._close(partition)
        return closed

    def due(self, now: float) -> list[Envelope]:
        """The batches whose first event is ``linger_s`` old."""
        late = [p for p, b in self._open.items() if now - b.started >= self.linger_s]
        return [self._close(p) for p in late]

    def drain(self) -> list[Envelope]:
        """Every open batch, closed now (flush, close, a change of partition count)."""
        return [self._close(p) for p in list(self._open)]

    def next_deadline(self) -> float | None:
        """When the oldest open batch is due, or None when none is open."""
        if not self._open:
            return None
        return min(b.started for b in self._open.values()) + self.linger_s

    def _close(self, partition: int) -> Envelope:
        batch = self._open.pop(partition)
        self.events -= len(batch.values)
        value = self._head + b",".join(batch.values) + self._tail
        return Envelope(partition, batch.key, value, len(batch.values))
