"""The hash chain: an intact log verifies, and each way of tampering with it is caught
and named at the first bad record."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson
import pytest

from streams.audit.records import GENESIS, make_record, record_hash
from streams.audit.verify import Head, StoredRecord, verify

ACTOR = {"user": "ops", "host": "h1", "component": "cli"}
T0 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def chain(writer: str, n: int) -> list[dict]:
    records, prev = [], GENESIS
    for seq in range(n):
        record = make_record(writer, seq, prev, ACTOR, "silence_added", {"n": seq}, T0)
        records.append(record)
        prev = record["hash"]
    return records


def stored(records: list[dict]) -> list[StoredRecord]:
    return [
        StoredRecord(f"audit.jsonl:{i + 1}", orjson.dumps(r, option=orjson.OPT_SORT_KEYS))
        for i, r in enumerate(records)
    ]


def test_hash_of_a_fixed_record_is_sha256_of_its_sorted_compact_json() -> None:
    record = make_record("w", 0, GENESIS, ACTOR, "config_loaded", {"sha256": "ab"}, T0)
    by_hand = (
        b'{"action":"config_loaded","actor":{"component":"cli","host":"h1","user":"ops"},'
        b'"details":{"sha256":"ab"},"prev":"' + GENESIS.encode() + b'","seq":0,'
        b'"ts":"2026-12-03T15:00:00.000000Z","writer":"w"}'
    )
    assert record["hash"] == hashlib.sha256(by_hand).hexdigest()
    assert record_hash(record) == record["hash"]


def test_an_intact_log_of_two_interleaved_writers_passes() -> None:
    a, b = chain("a", 3), chain("b", 2)
    report = verify(stored([a[0], b[0], a[1], b[1], a[2]]))
    assert report.problem is None
    assert report.records == 5
    assert report.heads == {"a": Head(2, a[2]["hash"]), "b": Head(1, b[1]["hash"])}


def test_an_altered_record_is_named() -> None:
    records = chain("w", 4)
    records[2] = {**records[2], "details": {"n": 99}}
    problem = verify(stored(records)).problem
    assert problem is not None
    assert problem.where == "audit.jsonl:3 (w seq 2)"
    assert "altered" in problem.reason


def test_an_altered_record_with_its_hash_recomputed_breaks_the_next_link() -> None:
    records = chain("w", 4)
    forged = {**records[1], "details": {"n": 99}}
    records[1] = {**forged, "hash": record_hash(forged)}
    problem = verify(stored(records)).problem
    assert problem is not None and problem.where == "audit.jsonl:3 (w seq 2)"
    assert "prev does not match" in problem.reason


def test_a_removed_record_is_named_by_the_one_after_the_gap() -> None:
    records = chain("w", 5)
    del records[2]
    problem = verify(stored(records)).problem
    assert problem is not None and problem.where == "audit.jsonl:3 (w seq 3)"
    assert "expected 2" in problem.reason


def test_reordered_records_are_named() -> None:
    records = chain("w", 5)
    records[1], records[2] = records[2], records[1]
    problem = verify(stored(records)).problem
    assert problem is not None and problem.where == "audit.jsonl:2 (w seq 2)"


def test_an_inserted_record_is_named() -> None:
    records = chain("w", 3)
    fake = make_record("w", 2, records[1]["hash"], ACTOR, "silence_removed", {}, T0)
    records.insert(2, fake)  # a well-formed record: the real seq 2 now comes out of turn
    problem = verify(stored(records)).problem
    assert problem is not None and problem.where == "audit.jsonl:4 (w seq 2)"


def test_a_cut_last_line_is_named() -> None:
    items = stored(chain("w", 3))
    items[-1] = StoredRecord(items[-1].where, items[-1].raw[:40])
    problem = verify(items).problem
    assert problem is not None and problem.where == "audit.jsonl:3"
    assert "not a JSON record" in problem.reason


def test_a_removed_tail_is_caught_against_an_earlier_head() -> None:
    records = chain("w", 4)
    head = verify(stored(records)).heads["w"]
    assert verify(stored(records[:3])).problem is None  # a chain alone cannot see it
    problem = verify(stored(records[:3]), expect={"w": head}).problem
    assert problem is not None and "tail removed" in problem.reason


def test_a_redelivered_record_is_counted_not_an_error() -> None:
    records = chain("w", 3)
    report = verify(stored([records[0], records[1], records[1], records[2]]))
    assert report.problem is None and report.redeliveries == 1 and report.records == 3


def test_missing_offsets_on_a_topic_are_named() -> None:
    raw = [item.raw for item in stored(chain("w", 3))]
    items = [StoredRecord(f"audit[0]@{o}", r, o) for o, r in zip((0, 1, 3), raw, strict=True)]
    problem = verify(items).problem
    assert problem is not None and problem.where == "audit[0]@3"


@pytest.mark.parametrize("raw", [b"[]", b'{"seq": 0}', b"\xff\xfe"])
def test_a_line_that_is_no_record_is_named(raw: bytes) -> None:
    problem = verify([StoredRecord("f:1", raw)]).problem
    assert problem is not None and problem.where == "f:1"
