"""Walk the records in stored order and name the first one that breaks its chain.

Per writer, each record must follow the writer's previous one: ``seq`` one higher,
``prev`` equal to its ``hash``, and its own ``hash`` equal to the SHA-256 of its
content. That finds an altered record (its hash, or the next record's ``prev``, no
longer matches), a removed one (a gap in ``seq``), a reordered or inserted one (a
``seq`` out of turn) and a cut line (not JSON). A record identical to the writer's
previous one is a redelivery (at-least-once sending), counted, not an error. What a
chain alone cannot show, its tail removed, ``expect`` (heads recorded earlier) does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.audit.records import GENESIS, record_hash

__all__ = ["Head", "Problem", "Report", "StoredRecord", "verify"]

_FIELDS = ("writer", "seq", "ts", "actor", "action", "details", "prev", "hash")


@dataclass(frozen=True)
class StoredRecord:
    """One record as read: where it is (``topic[p]@offset`` or ``file:line``), its
    offset when read from a topic, and its bytes."""

    where: str
    raw: bytes
    offset: int | None = None


@dataclass(frozen=True)
class Head:
    """The last record of a writer's chain."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Problem:
    where: str
    reason: str

    def line(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Report:
    records: int = 0
    redeliveries: int = 0
    heads: dict[str, Head] = field(default_factory=dict)
    problem: Problem | None = None


def _parse(item: StoredRecord) -> dict[str, Any] | str:
    """The record, or why it is not one."""
    try:
        record = orjson.loads(item.raw)
    except orjson.JSONDecodeError:
        return "not a JSON record (cut or garbled)"
    if not isinstance(record, dict) or set(record) != set(_FIELDS):
        return "not an audit record (fields missing or unknown)"
    if not isinstance(record["seq"], int) or not isinstance(record["writer"], str):
        return "not an audit record (writer or seq of the wrong type)"
    return record


def _check(record: dict[str, Any], head: Head | None) -> str | None:
    """Why ``record`` cannot follow ``head`` in its writer's chain (None: it can)."""
    if record_hash(record) != record["hash"]:
        return "hash does not match the record's content (altered)"
    expected_seq, expected_prev = (0, GENESIS) if head is None else (head.seq + 1, head.hash)
    if record["seq"] != expected_seq:
        after = "the chain's start" if head is None else f"seq {head.seq}"
        return (
            f"seq {record['seq']} after {after}, expected {expected_seq} "
            "(a record removed, reordered or inserted)"
        )
    if record["prev"] != expected_prev:
        return "prev does not match the hash of the writer's previous record (altered)"
    return None


def verify(items: Iterable[StoredRecord], expect: Mapping[str, Head] | None = None) -> Report:
    """Check every record in order; stop at the first bad one (``report.problem``)."""
    report = Report()
    next_offset: dict[str, int] = {}  # per topic partition: no record deleted from it
    for item in items:
        if item.offset is not None:
            stream = item.where.rpartition("@")[0]
            expected = next_offset.get(stream, 0)
            if item.offset != expected:
                reason = f"offsets {expected} to {item.offset - 1} missing (records deleted)"
                report.problem = Problem(item.where, reason)
                return report
            next_offset[stream] = item.offset + 1
        record = _parse(item)
        if isinstance(record, str):
            report.problem = Problem(item.where, record)
            return report
        writer = record["writer"]
        head = report.heads.get(writer)
        if head is not None and record["hash"] == head.hash and record_hash(record) == head.hash:
            report.redeliveries += 1
            continue
        reason = _check(record, head)
        if reason:
            report.problem = Problem(f"{item.where} ({writer} seq {record['seq']})", reason)
            return report
        report.heads[writer] = Head(record["seq"], record["hash"])
        report.records += 1
    report.problem = _short_chain(report.heads, expect or {})
    return report


def _short_chain(heads: Mapping[str, Head], expect: Mapping[str, Head]) -> Problem | None:
    """A writer's chain that ends before the head recorded earlier: its tail removed."""
    for writer, wanted in expect.items():
        head = heads.get(writer)
        if head is None or head.seq < wanted.seq:
            have = "no record" if head is None else f"last seq {head.seq}"
            return Problem(writer, f"{have}, expected up to seq {wanted.seq} (tail removed)")
        if head.seq == wanted.seq and head.hash != wanted.hash:
            return Problem(writer, f"seq {wanted.seq} differs from the recorded head (altered)")
    return None
