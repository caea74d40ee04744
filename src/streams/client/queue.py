"""The bounded hand-off between the caller's threads and the client's thread.

``put`` never blocks: when ``capacity`` events are waiting it refuses, and the caller
counts a drop. A model server must keep serving when Kafka is slow or down; KServe's
logger blocks inference there and Seldon's drops silently, this one drops and says so.
``put_wait`` is for batch jobs (the simulator, backfills) that would rather wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque

Item = tuple[bytes, bytes]


class DropQueue:
    """A FIFO of (key, value) pairs holding at most ``capacity``; thread-safe."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"queue_size must be >= 1, got {capacity}")
        self.capacity = capacity
        self._items: deque[Item] = deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        #: Set when an item arrives in an empty queue, or by whoever needs the consumer
        #: now (flush, close): its wake-up call.
        self.wake = threading.Event()
        #: Items ever accepted.
        self.total = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> bool:
        """Append unless full; False when full (the caller counts the drop)."""
        with self._lock:
            if len(self._items) >= self.capacity:
                return False
            self._items.append(item)
            self.total += 1
            if len(self._items) == 1:
                self.wake.set()
        return True

    def put_wait(self, item: Item, timeout_s: float | None = None) -> bool:
        """Append, waiting for room up to ``timeout_s`` (None: for ever); False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._room:
            while len(self._items) >= self.capacity:
                left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if left <= 0:
                    return False
                self._room.wait(left)  # short waits keep Ctrl-C responsive
            self._items.append(item)
            self.total += 1
            if len(self._items) == 1:
                self.wake.set()
        return True

    def take(self, limit: int) -> list[Item]:
        """Up to ``limit`` items, oldest first."""
        with self._room:
            n = min(limit, len(self._items))
            popleft = self._items.popleft
            taken = [popleft() for _ in range(n)]
            if not self._items:
                self.wake.clear()
            if n:
                self._room.notify_all()
        return taken
