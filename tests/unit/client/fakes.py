"""A stand-in for confluent_kafka.Producer that keeps what it is given.

Delivery callbacks run on ``poll``/``flush``, from the thread that calls them, as in
librdkafka; ``paused`` makes ``produce`` raise BufferError, as a full librdkafka queue
does; ``fail`` names keys whose messages are reported failed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sent:
    topic: str
    value: bytes
    key: bytes
    partition: int


class FakeProducer:
    def __init__(self, fail: frozenset[bytes] = frozenset()) -> None:
        self.sent: list[Sent] = []
        self._callbacks: list[tuple[Any, bool]] = []
        self._lock = threading.Lock()
        self.paused = False
        self.fail = fail

    def produce(
        self, topic: str, value: bytes, key: bytes, partition: int = -1, on_delivery: Any = None
    ) -> None:
        if self.paused:
            raise BufferError("Local: Queue full")
        with self._lock:
            self.sent.append(Sent(topic, value, key, partition))
            self._callbacks.append((on_delivery, key in self.fail))

    def poll(self, timeout: float = 0) -> int:
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback, failed in callbacks:
            callback("broker says no" if failed else None, object())
        return len(callbacks)

    def flush(self, timeout: float | None = None) -> int:
        self.poll()
        return 0

    def __len__(self) -> int:
        return len(self._callbacks)
