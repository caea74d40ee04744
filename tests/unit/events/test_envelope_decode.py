"""Single events and envelopes on one topic: a bad event in an envelope is refused alone
with its index, a malformed envelope whole, with a reason from the bounded set."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.events.decode import REASONS, Decoded, Rejection, deadletter_record, decode_message
from streams.events.envelope import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, encode_batch


def prediction(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "model_id": "m",
        "model_version": "1",
        "prediction_id": f"p{i}",
        "timestamp": "2026-01-01T00:00:00Z",
        "features": {"x": float(i)},
        "prediction": {"score": 0.5},
        **changes,
    }


def decoded(raw: bytes, kind: str = "predictions") -> Decoded:
    result = decode_message(raw, kind, 65536)  # type: ignore[arg-type]
    assert isinstance(result, Decoded), result
    return result


def test_an_envelope_gives_its_events_in_order_with_their_times() -> None:
    d = decoded(encode_batch("predictions", [prediction(i) for i in range(5)]))
    assert d.envelope and d.bad == []
    assert [e.prediction_id for e in d.events] == [f"p{i}" for i in range(5)]
    assert d.indices == list(range(5))
    assert d.times == [1_767_225_600.0] * 5


def test_a_bad_event_is_refused_alone_with_its_index() -> None:
    events = [prediction(i) for i in range(6)]
    events[1] = prediction(1, features={"x": [1]})
    events[3] = prediction(3, timestamp="2026-01-01 00:00:00")
    events[4] = {"not": "an event"}
    d = decoded(encode_batch("predictions", events))
    assert [e.prediction_id for e in d.events] == ["p0", "p2", "p5"]
    assert d.indices == [0, 2, 5]
    assert [(b.index, b.rejection.reason) for b in d.bad] == [
        (1, "schema"),
        (3, "schema"),
        (4, "schema"),
    ]
    assert orjson.loads(d.bad[0].raw) == events[1]  # the event's own bytes
    assert "features" in d.bad[0].rejection.detail
    assert "timestamp" in d.bad[1].rejection.detail


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ({"batch_version": 2, "predictions": [prediction(0)]}, "batch_version 2"),
        ({"batch_version": True, "predictions": [prediction(0)]}, "batch_version True"),
        ({"batch_version": 1, "predictions": prediction(0)}, "must be a list"),
        ({"batch_version": 1, "predictions": []}, "0 events"),
        (
            {"batch_version": 1, "predictions": [prediction(0)] * (MAX_BATCH_EVENTS + 1)},
            f"{MAX_BATCH_EVENTS + 1} events",
        ),
        ({"batch_version": 1}, "no 'predictions'"),
        ({"batch_version": 1, "labels": [prediction(0)]}, "unexpected keys ['labels']"),
    ],
)
def test_a_malformed_envelope_is_refused_whole(value: dict[str, Any], detail: str) -> None:
    result = decode_message(orjson.dumps(value), "predictions", 65536)
    assert isinstance(result, Rejection)
    assert result.reason == "bad_envelope" and detail in result.detail


def test_an_envelope_over_the_batch_limit_is_oversize() -> None:
    big = orjson.dumps(
        {"batch_version": 1, "predictions": [prediction(0, pad="x" * MAX_BATCH_BYTES)]}
    )
    assert decode_message(big, "predictions", 65536) == Rejection(
        "oversize", f"{len(big)} bytes exceeds the limit of 65536"
    )


def test_a_single_event_stays_a_single_event() -> None:
    single = decoded(orjson.dumps(prediction(0, timestamp=0)))  # pydantic's lax reading
    assert not single.envelope and single.times == [0.0]
    # the envelope's key inside a feature: still a single event
    named = decoded(orjson.dumps(prediction(1, features={"batch_version": 1.0})))
    assert not named.envelope and named.events[0].features == {"batch_version": 1.0}
    refused = decode_message(orjson.dumps(prediction(1, surprise=1)), "predictions", 65536)
    assert isinstance(refused, Rejection) and refused.reason == "schema"


def test_labels_come_single_or_in_envelopes() -> None:
    label = {"model_id": "m", "prediction_id": "p1", "timestamp": "2026-01-02T00:00:00Z"}
    d = decoded(encode_batch("labels", [label, {**label, "label": 1}]), "labels")
    assert [e.prediction_id for e in d.events] == ["p1"]
    assert [(b.index, b.rejection.reason) for b in d.bad] == [(1, "schema")]
    assert not decoded(orjson.dumps(label), "labels").envelope


def test_envelope_dead_letters_name_the_index_and_reasons_stay_bounded() -> None:
    record = orjson.loads(
        deadletter_record(
            Rejection("schema", "bad"),
            b"{}",
            topic="t",
            partition=1,
            offset=7,
            max_bytes=10,
            index=3,
        )
    )
    assert record["index"] == 3 and record["offset"] == 7
    plain = deadletter_record(
        Rejection("schema", "x"), b"{}", topic="t", partition=1, offset=7, max_bytes=10
    )
    assert "index" not in orjson.loads(plain)
    assert {"bad_envelope", "foreign_partition"} <= set(REASONS)
