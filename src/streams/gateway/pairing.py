"""Requests and responses of one exchange meet here, whichever comes first.

KServe's logger posts the two halves separately and in no promised order. Each half
waits under its model and ``ce-id`` for the other, for at most ``timeout_s`` and among
at most ``capacity`` waiting halves: bounded, so a logger that sends only requests
(``mode: request``) cannot grow the gateway without end. A half that expires, finds no
room or repeats one already waiting is counted by reason, never silently lost.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.gateway.kserve import InferenceEvent

Pair = tuple[InferenceEvent, InferenceEvent]  # (request, response)


@dataclass
class Pairing:
    capacity: int = 10_000
    timeout_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    #: halves that never met their other half, by reason: expired, full, duplicate
    unpaired: Counter[str] = field(default_factory=Counter)
    _waiting: OrderedDict[tuple[str, str, str], tuple[float, InferenceEvent]] = field(
        default_factory=OrderedDict
    )

    def __len__(self) -> int:
        return len(self._waiting)

    def full(self) -> bool:
        self.expire()
        return len(self._waiting) >= self.capacity

    def offer(self, half: InferenceEvent) -> Pair | None:
        """The (request, response) pair once ``half`` completes one; else None, and the
        half waits (or, with no room or a twin waiting, is counted in ``unpaired``)."""
        self.expire()
        other = "response" if half.kind == "request" else "request"
        waiting = self._waiting.pop((half.model, half.id, other), None)
        if waiting is not None:
            _, match = waiting
            return (half, match) if half.kind == "request" else (match, half)
        key = (half.model, half.id, half.kind)
        if key in self._waiting:
            self.unpaired["duplicate"] += 1
        elif len(self._waiting) >= self.capacity:
            self.unpaired["full"] += 1
        else:
            self._waiting[key] = (self.clock(), half)
        return None

    def expire(self) -> None:
        """Drop the halves that waited longer than ``timeout_s`` (oldest first)."""
        deadline = self.clock() - self.timeout_s
        while self._waiting:
            key, (since, _) = next(iter(self._waiting.items()))
            if since > deadline:
                return
            del self._waiting[key]
            self.unpaired["expired"] += 1
