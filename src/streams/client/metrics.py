"""The client's Prometheus metrics, registered once per registry and shared by its loggers.

A model server usually runs one prediction logger and one label logger in one process:
they share the metric families and differ by the ``kind`` label. Tests pass a fresh
``CollectorRegistry`` and read it with ``get_sample_value``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter

PREFIX = "streams_client"
#: Why ``log()`` refused an event.
DROP_REASONS = ("queue_full", "closed")


def name(metric: str) -> str:
    """The full metric name, so the prefix is never forgotten."""
    return f"{PREFIX}_{metric}"


class ClientMetrics:
    """The counters of every logger that reports to one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.dropped = Counter(
            name("dropped"),
            "Events log() refused without blocking the caller, by reason.",
            ["kind", "reason"],
            registry=r,
        )
        self.delivery_errors = Counter(
            name("delivery_errors"),
            "Events the broker did not acknowledge (their message failed), by kind.",
            ["kind"],
            registry=r,
        )
        self.events = Counter(
            name("produced_events"), "Events acknowledged by the broker.", ["kind"], registry=r
        )
        self.messages = Counter(
            name("produced_messages"),
            "Messages (envelopes, or single events) acknowledged by the broker.",
            ["kind"],
            registry=r,
        )


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, ClientMetrics] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def metrics_for(registry: CollectorRegistry | None) -> ClientMetrics:
    """The client's metrics in ``registry`` (default: the global one), made on first use."""
    registry = REGISTRY if registry is None else registry
    with _LOCK:
        found = _BY_REGISTRY.get(registry)
        if found is None:
            found = _BY_REGISTRY[registry] = ClientMetrics(registry)
        return found


class RateLimitedLog:
    """At most one warning per ``every_s``, saying how many things happened meanwhile."""

    def __init__(self, logger: logging.Logger, message: str, every_s: float = 10.0) -> None:
        self._logger, self._message, self.every_s = logger, message, every_s
        self._pending = 0
        self._last = -float("inf")
        self._lock = threading.Lock()

    def add(self, n: int = 1, detail: str = "") -> None:
        """Count ``n`` occurrences; log them all if the last line is ``every_s`` old."""
        with self._lock:
            self._pending += n
            now = time.monotonic()
            if now - self._last < self.every_s:
                return
            count, self._pending, self._last = self._pending, 0, now
        self._logger.warning(self._message, count, detail)

    def tick(self) -> None:
        """Log what was counted since the last line, once ``every_s`` has passed."""
        with self._lock:
            if not self._pending or time.monotonic() - self._last < self.every_s:
                return
        self.add(0)
