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

__all__ = [
    "find_broker_on_port",
    "is_kafka_process",
    "log_tail",
    "port_accepts",
    "port_is_free",
    "signal_group",
]


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


def _listener_ports(properties_path: Path) -> set[int]:
    """The ports of the ``listeners`` line of a broker's server.properties."""
    try:
        lines = properties_path.read_text().splitlines()
    except OSError:
        return set()
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "listeners":
            return {int(p) for p in (u.rpartition(":")[2] for u in value.split(",")) if p.isdigit()}
    return set()


def find_broker_on_port(port: int) -> tuple[int, Path] | None:
    """The pid and server.properties of a live Kafka JVM listening on ``port``, whatever
    data dir it was started with; None when none is found (or there is no procfs)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = [
                a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")
            ]
        except OSError:
            continue
        if "kafka.Kafka" not in args or args.index("kafka.Kafka") + 1 >= len(args):
            continue
        properties = Path(args[args.index("kafka.Kafka") + 1])
        if port in _listener_ports(properties) and is_kafka_process(int(entry.name), properties):
            return int(entry.name), properties
    return None
