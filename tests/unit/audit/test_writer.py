"""The writer: a chain that continues across restarts in its file, and a broker that
cannot be reached neither blocks nor crashes the component; the record waits."""

from __future__ import annotations

import socket
from pathlib import Path

from streams.audit.sources import from_files
from streams.audit.verify import verify
from streams.audit.writer import AuditLog


def test_a_restarted_writer_continues_its_chain_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = AuditLog("worker", None, path=path)
    first.append("config_loaded", {"sha256": "a"})
    first.append("model_version_first_seen", {"model": "m", "model_version": "1"})
    again = AuditLog("worker", None, path=path)
    record = again.append("config_loaded", {"sha256": "b"})
    assert (again.writer, record["seq"]) == (first.writer, 2)
    report = verify(from_files([path]))
    assert report.problem is None and report.records == 3


def test_an_unreachable_broker_keeps_the_record_and_counts_the_failure(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    audit = AuditLog("router", f"127.0.0.1:{port}", path=tmp_path / "a.jsonl")
    audit.append("pagerduty_delivery", {"dedup_key": "k"})  # returns at once
    left = audit.close(timeout_s=15)
    assert left == 1 and audit.unsent == 1
    assert audit.send_failures >= 1
    assert len((tmp_path / "a.jsonl").read_bytes().splitlines()) == 1
