"""The local broker's process seen from outside: its ports, its pid, its log.

The broker is a detached JVM that outlives the Python process that started it, so
whether it runs is told from the pid file and the process table, never from a handle.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections import deque
from pathlib import Path

__all__ = ["is_kafka_process", "log_tail", "port_accepts", "port_is_free", "signal_group"]


def port_is_free(host: str, port: int) -> bool:
    """Bind-test: the only reliable way to know Kafka's bind will succeed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Cheap TCP check that saves a multi-second AdminClient timeout when nothing listens."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int) -> list[str]:
    """Last lines of a log file, tolerant of a file that does not exist yet."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except FileNotFoundError:
        return []


def is_kafka_process(pid: int, properties_path: Path) -> bool:
    """Alive and a Kafka JVM started on ``properties_path``: guards against a stale pid
    file and pid reuse (without procfs, as on macOS, a live pid is trusted)."""
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc_dir = Path("/proc") / str(pid)
    if not proc_dir.is_dir():
        return True  # no procfs (macOS): trust the pid file
    try:
        stat = (proc_dir / "stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
        cmdline = (proc_dir / "cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False
    args = [part.decode(errors="replace") for part in cmdline]
    return "kafka.Kafka" in args and str(properties_path) in args


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group ``pid`` leads (so nothing the JVM spawned survives it),
    else the process alone; a process already gone is no error."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
