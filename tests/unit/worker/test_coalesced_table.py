"""The coalesced table's frames: one changelog value for a batch of keys, restored into
Faust's own stores key by key, in the changelog's order."""

from __future__ import annotations

import faust
import orjson
import pytest
from faust.events import Event
from faust.types import Message

from streams.labels.pending import (
    BatchIndex,
    Expired,
    Pending,
    batch_index,
    batch_key,
    index_writer,
    read_pending,
    sweep,
)
from streams.worker.coalesced_table import (
    FRAME_INDEX_ROOM,
    FRAME_MAGIC,
    FRAME_MAX_BYTES,
    CoalescedTable,
    FrameError,
    expand,
    frame,
    is_frame,
    split_pairs,
    unframe,
)
from streams.worker.partition_scope import partition_scope

TOPIC = "app-pending-changelog"


def changelog(app: faust.App, *writes: tuple[str, bytes | None]) -> list[Event]:
    """Changelog events of ``writes`` at offsets 0, 1, ... of partition 2, as Faust
    hands them to a table on recovery (keys decoded to str, values raw)."""
    events = []
    for offset, (key, value) in enumerate(writes):
        raw_key = orjson.dumps(key)  # the table's key serializer is JSON
        message = Message(TOPIC, 2, offset, 0.0, 0, None, raw_key, value, None)
        events.append(Event(app, key, value, None, message))
    return events


def test_a_frame_holds_its_pairs_in_order() -> None:
    pairs = {
        b'"p1"': b"\x02{}",
        b'"p\xc3\xa9"': b"",
        b'"p3"': FRAME_MAGIC,
    }  # a value may look like one
    framed = frame(pairs)
    assert is_frame(framed) and not is_frame(b"\x02{}") and not is_frame(None)
    assert unframe(framed) == list(pairs.items())
    with pytest.raises(FrameError):
        unframe(framed[:-1])


def test_expanding_keeps_the_changelog_order() -> None:
    app = faust.App("coalesced-test")
    events = changelog(
        app,
        ("a", b"old"),
        ("\x00batch/predictions/2/7", frame({b"a": b"framed", b"b": b"framed"})),
        ("b", b"after"),
        ("c", None),
    )
    out = [
        (e.key, e.value, e.message.offset, e.message.partition)
        for e in expand(events, bytes.decode)
    ]
    assert out == [
        ("a", b"old", 0, 2),
        ("a", b"framed", 1, 2),
        ("b", b"framed", 1, 2),
        ("b", b"after", 2, 2),
        ("c", None, 3, 2),
    ]


def test_faust_memory_store_restores_a_frame_key_by_key() -> None:
    app = faust.App("coalesced-test", store="memory://")
    table = CoalescedTable(app, name="pending", key_type=str, value_type=bytes)
    key = batch_key(2, 7)
    index = BatchIndex(10.0, 2, ("m",)).to_bytes()
    table.apply_changelog_batch(
        changelog(
            app,
            ("p1", b"before"),
            (key, frame({b'"p1"': b"one", b'"p2"': b"two", orjson.dumps(key): index})),
            ("p2", b"marked"),
        )
    )
    assert dict(table.data.items()) == {"p1": b"one", "p2": b"marked", key: index}


def test_a_batch_index_goes_once_its_records_are_markers_due_for_deletion() -> None:
    records = {
        "p1": Pending("m", 100.0, 0.5, (), partition=1).to_bytes(),
        "p2": Pending("m", 160.0, 0.5, (), partition=1).to_bytes(),
    }
    index = batch_index(records, 1)
    assert index == BatchIndex(160.0, 1, ("m",)) and read_pending(index.to_bytes()) == index
    key = batch_key(1, 0)
    stored = [*records.items(), (key, index.to_bytes())]
    horizons = {"m": 50.0}
    # one horizon past the newest record: both are markers, the index stays
    writes, expired = sweep(stored, {1: 211.0}, horizons)
    assert {k: read_pending(v) for k, (_, v) in writes.items() if v} == {
        "p1": Expired("m", 100.0, 1),
        "p2": Expired("m", 160.0, 1),
    }
    assert key not in writes and expired["m"] == 2
    # two horizons past it (160 + 2 * 50 < 261): every marker is gone, so is the index
    markers = [
        (k, Expired("m", r.ts, 1).to_bytes())
        for k, r in ((k, read_pending(v)) for k, v in records.items())
    ]
    writes, _ = sweep([*markers, (key, index.to_bytes())], {1: 261.0}, horizons)
    assert writes == {"p1": (1, None), "p2": (1, None), key: (1, None)}
    writes, _ = sweep([(key, index.to_bytes())], {1: 259.0}, horizons)
    assert writes == {}


def test_a_large_batch_is_split_into_frames_under_the_limit() -> None:
    pairs = {f"prediction-{i:05d}": bytes(300) for i in range(5000)}  # 1.6 MB in all
    runs = list(split_pairs(pairs, FRAME_MAX_BYTES, str.encode))
    assert len(runs) > 1 and all(runs)
    encoded = [{k.encode(): v for k, v in run.items()} for run in runs]
    assert all(len(frame(run)) + FRAME_INDEX_ROOM <= FRAME_MAX_BYTES for run in encoded)
    assert [k for run in runs for k in run] == list(pairs)  # every pair once, in order
    huge = {"one": bytes(FRAME_MAX_BYTES)}  # a pair over the limit still goes, alone
    assert list(split_pairs(huge, FRAME_MAX_BYTES, str.encode)) == [huge]


class _Captured(CoalescedTable):
    """The table with its changelog sends kept (no broker in a unit test)."""

    sent: list[tuple[int, str, bytes]]

    def send_changelog(self, partition, key, value, *args, **kwargs):  # type: ignore[override]
        self.__dict__.setdefault("sent", []).append((partition, key, value))


def test_set_many_stores_each_record_and_logs_frames_a_restore_rebuilds() -> None:
    app = faust.App("coalesced-test", store="memory://")
    table = _Captured(app, name="pending", key_type=str, value_type=bytes)
    records = {
        f"p{i}": Pending("m", float(i), 0.5, (), partition=2).to_bytes() for i in range(6000)
    }
    with partition_scope("predictions", 2):
        table.set_many(2, records, batch_key(2, 40), index_writer(2))
    assert len(table.sent) > 1  # ~800 KB of records: more than one frame
    assert all(len(v) <= FRAME_MAX_BYTES for _, _, v in table.sent)
    keys = [k for _, k, _ in table.sent]
    assert keys[0] == batch_key(2, 40) and keys[1] == batch_key(2, 40) + "#1"
    live = dict(table.data.items())
    assert {k: live[k] for k in records} == records
    # what a worker with no local state rebuilds from those frames alone
    fresh = CoalescedTable(app, name="pending2", key_type=str, value_type=bytes)
    fresh.apply_changelog_batch(changelog(app, *((k, v) for _, k, v in table.sent)))
    assert dict(fresh.data.items()) == live
    assert read_pending(live[keys[1]]) == BatchIndex(5999.0, 2, ("m",))


def test_a_batch_index_from_known_times_equals_one_parsed_from_its_records() -> None:
    records = {f"p{i}": Pending(f"m{i % 2}", 10.0 + i, 0.5, (), 3).to_bytes() for i in range(5)}
    known = {f"p{i}": (f"m{i % 2}", 10.0 + i) for i in range(5)}
    assert batch_index(records, 3, known) == batch_index(records, 3)
    assert batch_index(records, 3) == BatchIndex(14.0, 3, ("m0", "m1"))
