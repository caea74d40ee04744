"""``partition_scope`` against the Faust it relies on: a table write inside the scope of
partition p goes to changelog partition p (and RocksDB shard p). These fail if a Faust
upgrade stops deciding the partition from the current event we stand in for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import pytest

from streams.worker.partition_scope import partition_scope, store_local

PARTITIONS = 4
SOURCE = "predictions"


@dataclass
class _Sent:
    """What ``send_changelog`` returns that Faust reads: the message's partition."""

    message: Any


class _Message:
    def __init__(self, partition: int) -> None:
        self.partition = partition


def _app(tmp_path: Path, store: str) -> faust.App:
    # a broker nobody listens on: nothing here may need one
    return faust.App(
        "partition-scope-test",
        broker="kafka://127.0.0.1:1",
        store=store,
        datadir=str(tmp_path),
        web_enabled=False,
    )


def _recording_table(app: faust.App) -> tuple[faust.Table, list[tuple[int | None, str, Any]]]:
    """A table whose changelog sends are recorded (partition, key, value), not produced."""
    table = app.Table("state", key_type=str, value_type=bytes, partitions=PARTITIONS)
    sent: list[tuple[int | None, str, Any]] = []

    def send_changelog(partition: int | None, key: str, value: Any, *_: Any, **__: Any) -> _Sent:
        sent.append((partition, key, value))
        return _Sent(_Message(partition if partition is not None else -1))

    table.send_changelog = send_changelog  # type: ignore[method-assign]
    return table, sent


@pytest.mark.parametrize("partition", range(PARTITIONS))
def test_a_write_in_scope_goes_to_that_changelog_partition(tmp_path: Path, partition: int) -> None:
    table, sent = _recording_table(_app(tmp_path, "memory://"))
    with partition_scope(SOURCE, partition):
        table["k"] = b"v"
        table.pop("k")
    assert sent == [(partition, "k", b"v"), (partition, "k", None)]


def test_scopes_nest_and_leave_no_current_event_behind(tmp_path: Path) -> None:
    table, sent = _recording_table(_app(tmp_path, "memory://"))
    with partition_scope(SOURCE, 1):
        with partition_scope(SOURCE, 3):
            table["inner"] = b"x"
        table["outer"] = b"y"
    assert [(p, k) for p, k, _ in sent] == [(3, "inner"), (1, "outer")]
    with pytest.raises(TypeError):  # outside any scope Faust has no partition to use
        table["none"] = b"z"


def test_a_rocksdb_write_lands_in_the_scopes_shard(tmp_path: Path) -> None:
    pytest.importorskip("rocksdict")
    table, _ = _recording_table(_app(tmp_path, "rocksdb://"))
    with partition_scope(SOURCE, 2):
        table["k"] = b"v"
    with partition_scope(SOURCE, 2):
        assert table.get("k") == b"v"
    with partition_scope(SOURCE, 0):  # another partition's shard does not hold it
        assert table.get("k") is None


@pytest.mark.parametrize("store", ["rocksdb://", "memory://"])
def test_a_batch_stored_locally_reads_back_key_by_key(tmp_path: Path, store: str) -> None:
    """``store_local`` (one RocksDB write batch) leaves the store as writes key by key
    would: each key readable in its partition's scope, and only there for RocksDB."""
    if store == "rocksdb://":
        pytest.importorskip("rocksdict")
    table, sent = _recording_table(_app(tmp_path, store))
    pairs = {f"p{i}": f"record {i}".encode() for i in range(50)}
    encoded = {key: table.data._encode_key(key) for key in pairs}
    with partition_scope(SOURCE, 3):
        store_local(table, 3, pairs, encoded)
        assert {key: table.get(key) for key in pairs} == pairs
    assert sent == []  # the caller logs the changelog (CoalescedTable: one frame)
    if store == "rocksdb://":
        with partition_scope(SOURCE, 1):
            assert table.get("p7") is None
