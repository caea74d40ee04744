"""Host readings with psutil, in base units: ratio 0..1, bytes, byte counters.

CPU utilization is a rate, so it needs two instants: ``HostSampler`` keeps the CPU
times of its previous reading and reports the busy share since then (over the agent's
interval, not one arbitrary instant). It keeps its own state instead of psutil's
module-global ``cpu_percent`` state, which any other caller in the process would reset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psutil

from streams.events.models import HostReading

__all__ = ["HostSampler", "read_host"]

log = logging.getLogger(__name__)
T = TypeVar("T")

LOOPBACK = frozenset({"lo", "lo0"})
"""Interfaces whose traffic never leaves the node (``lo0`` on BSD and macOS)."""


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds, as psutil.cpu_percent counts them.

    On Linux ``guest`` time is already inside ``user``, so it is taken out of the
    total; ``iowait`` is idle time (the CPU could run something else).
    """
    total = sum(times)
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _safe(what: str, read: Callable[[], T]) -> T | None:
    """One failing reading (e.g. a disk gone) must not cost the others."""
    try:
        return read()
    except (OSError, RuntimeError, psutil.Error) as exc:
        log.warning("cannot read %s: %s", what, exc)
        return None


class HostSampler:
    """Reads the host; CPU utilization is measured since the previous ``read()``.

    The first ``read()`` has no previous one: it waits ``cpu_window_s`` to measure.
    """

    def __init__(self, disk_path: str = "/", cpu_window_s: float = 0.25) -> None:
        self.disk_path = disk_path
        self.cpu_window_s = cpu_window_s
        self._last_cpu: tuple[float, float] | None = None

    def _cpu_ratio(self) -> float | None:
        if self._last_cpu is None:
            self._last_cpu = _busy_and_total(psutil.cpu_times())
            time.sleep(self.cpu_window_s)
        busy, total = _busy_and_total(psutil.cpu_times())
        last_busy, last_total = self._last_cpu
        self._last_cpu = (busy, total)
        if total - last_total <= 0:
            return None  # called twice within one clock tick: no measurement
        return min(max((busy - last_busy) / (total - last_total), 0.0), 1.0)

    def read(self) -> HostReading:
        cpu = _safe("cpu times", self._cpu_ratio)
        memory = _safe("memory", psutil.virtual_memory)
        disk = _safe(f"disk usage of {self.disk_path}", lambda: psutil.disk_usage(self.disk_path))
        nics = _safe("network counters", lambda: psutil.net_io_counters(pernic=True))
        external = [c for nic, c in (nics or {}).items() if nic not in LOOPBACK]
        return HostReading(
            cpu_utilization_ratio=cpu,
            # "used" = not available to a new process (total - available), what memory
            # pressure alerts need; psutil's own ``used`` leaves out reclaimable caches
            # differently on every platform
            memory_used_bytes=None if memory is None else memory.total - memory.available,
            memory_total_bytes=None if memory is None else memory.total,
            disk_used_bytes=None if disk is None else disk.used,
            disk_total_bytes=None if disk is None else disk.total,
            network_received_bytes=None if nics is None else sum(c.bytes_recv for c in external),
            network_transmitted_bytes=None if nics is None else sum(c.bytes_sent for c in external),
        )


def read_host(disk_path: str = "/", cpu_window_s: float = 0.25) -> HostReading:
    """One-off host reading (blocks ``cpu_window_s`` to measure CPU utilization)."""
    return HostSampler(disk_path, cpu_window_s).read()
