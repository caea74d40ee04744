"""What ``make run`` shows a newcomer: seconds to the first alert, and how many lines
the terminal got, by kind.

    .venv/bin/python bench/first_alert.py [--port 29650] [--metrics-port 29150] [--limit 300]

Runs ``python -m streams demo`` (what ``make run`` runs once the venv and jars are
cached) on free ports, reads its terminal (stdout and stderr together) and reports:
seconds from the start to the first ``ALERT`` line, and the lines by kind: alert lines,
status lines, the demo's own lines, and everything else (library chatter). A demo that
does not end by itself (older ones wait for Ctrl-C) gets SIGINT after ``--limit`` s.
The broker is started by the demo when none answers on ``--port`` (cold) or reused
(warm: start one first with ``streams kafka start --port PORT``).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from streams.devtools.local_broker import free_ports

ALERT_WORDS = ("ALERT", "UPDATE", "RESOLVED")


def kind(line: str) -> str:
    """The kind of one terminal line."""
    word = line.split(" ", 1)[0]
    if word in ALERT_WORDS:
        return "alert"
    if word == "STATUS":
        return "status"
    if line.startswith(("[", "%", "WARNING", "ERROR", "INFO", "Traceback", "  File")):
        return "other"
    return "demo"


def measure(port: int, metrics_port: int, limit_s: float) -> tuple[float | None, Counter[str]]:
    """Run the demo; seconds to the first alert line (None: none) and lines by kind."""
    command = [sys.executable, "-u", "-m", "streams", "demo", "--port", str(port)]
    if metrics_port:
        command += ["--metrics-port", str(metrics_port)]
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    timer = threading.Timer(limit_s, proc.send_signal, (signal.SIGINT,))
    timer.start()
    first: float | None = None
    kinds: Counter[str] = Counter()
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        kinds[kind(line)] += 1
        if first is None and line.startswith("ALERT"):
            first = time.monotonic() - started
    proc.wait()
    timer.cancel()
    return first, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="broker port (default: a free one)")
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="0: leave it to the demo (default: 0)"
    )
    parser.add_argument("--limit", type=float, default=300.0, help="SIGINT after (default: 300)")
    args = parser.parse_args()
    port = args.port or free_ports(1)[0]
    first, kinds = measure(port, args.metrics_port, args.limit)
    shown = "no alert" if first is None else f"{first:.1f} s"
    print(f"first alert: {shown}; terminal lines: {sum(kinds.values())} ({dict(kinds)})")


if __name__ == "__main__":
    main()
