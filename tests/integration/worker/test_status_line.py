"""The worker's terminal on the real broker: status lines that count what it did, its
libraries' log in a file, not on the terminal."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
STATUS = re.compile(
    r"^STATUS +([\d,]+) events/s \| lag ([\d,]+) \| "
    r"([\d,]+) windows evaluated \| (\d+) alerts? open$"
)


def _statuses(text: str) -> list[tuple[int, int, int, int]]:
    return [
        tuple(int(g.replace(",", "")) for g in m.groups())  # type: ignore[misc]
        for m in (STATUS.match(line) for line in text.splitlines())
        if m
    ]


def test_status_lines_count_the_windows_and_the_terminal_keeps_only_its_own_lines(
    deploy,
) -> None:
    d = deploy()
    d.start_worker()
    report = d.simulate(rate=500 / 60, duration_s=6 * 60, seed=3, speedup=0, start=START)
    expected = report.counts_by_window(60)
    d.results(set(expected))  # every window was evaluated
    deadline = time.monotonic() + 60
    while not any(s[2] >= len(expected) and s[1] == 0 for s in _statuses(d.worker_logs())):
        assert time.monotonic() < deadline, d.worker_logs()[-3000:]
        time.sleep(1)
    statuses = _statuses(d.worker_logs())
    assert any(events_per_s > 0 for events_per_s, *_ in statuses)
    terminal = d.worker_logs()
    # Faust's and aiokafka's records went to the log file, none to the terminal
    assert "[WARNING]" not in terminal and "[INFO]" not in terminal, terminal[-3000:]
    log_file = d.workdir / "state" / "worker.log"
    assert log_file.is_file()
    assert f"log: {log_file}" in terminal
