"""The hostile corpus: messages an attacker or a broken producer sends, by kind.

Each kind is a list of (key, value) messages for one topic. The values are built here
by hand, never by the code under test, and each kind names what it probes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from tests.unit.hostile.harness import T0, Message

from streams.events.envelope import encode_batch

#: Non-standard JSON literals and overflowing numbers, as the strings pydantic coerces.
NON_FINITE = ("NaN", "nan", "Infinity", "-Infinity", "inf", "-inf", "1e999")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def prediction(i: int, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "model_id": "m",
        "model_version": "1",
        "prediction_id": f"p{i}",
        "timestamp": iso(T0 + i * 0.5),
        "features": {"x": (i % 7) / 7 - 0.5, "color": "red" if i % 2 else "blue"},
        "prediction": {"score": (i % 10) / 10},
        "latency_ms": 12.0,
        "segments": {"country": "DE"},
        "shadow_predictions": {"shadow": {"score": 0.4}},
        "attributions": {"x": 0.1},
    }
    event.update(changes)
    return event


def label(i: int, **changes: Any) -> dict[str, Any]:
    event = {"model_id": "m", "prediction_id": f"p{i}", "timestamp": iso(T0 + 3600), "label": "1"}
    event.update(changes)
    return event


def telemetry(**host: Any) -> dict[str, Any]:
    return {
        "node_id": "node-1",
        "timestamp": iso(T0),
        "host": {"cpu_utilization_ratio": 0.5, "memory_used_bytes": 1, **host},
        "gpus": [{"index": 0, "temperature_celsius": 60.0, "power_watts": 300.0}],
    }


def one(value: Any, key: bytes | None = b"k") -> Message:
    return key, value if isinstance(value, bytes) or value is None else orjson.dumps(value)


def with_path(event: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(event)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


#: Every numeric field of a prediction (the features' values are counted by the numeric
#: sketch, so strings there are ``wrong_type``), a label, a telemetry event.
PREDICTION_NUMBERS = (
    ("prediction", "score"),
    ("prediction", "value"),
    ("latency_ms",),
    ("shadow_predictions", "shadow", "score"),
    ("shadow_predictions", "shadow", "value"),
    ("attributions", "x"),
)
LABEL_NUMBERS = (("value",),)
TELEMETRY_NUMBERS = (
    ("host", "cpu_utilization_ratio"),
    ("gpus", 0, "temperature_celsius"),
    ("gpus", 0, "power_watts"),
    ("gpus", 0, "utilization_ratio"),
)


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def prediction_kinds() -> dict[str, list[Message]]:
    big_map = {f"f{i}": float(i) for i in range(100_000)}
    kinds: dict[str, list[Message]] = {
        "bad_json": [one(b'{"model_id": "m", '), one(b"{'single': 'quotes'}"), one(b"\x00\x01")],
        "json_array": [one([prediction(1)]), one(b"[]"), one(b"[1, 2, 3]")],
        "json_scalars": [one(b"null"), one(b"true"), one(b"42"), one(b'"text"')],
        "empty": [one(b""), one(None), one(b" "), one(b"{}")],
        "null_key": [one(prediction(2), key=None)],
        "value_2mb": [one(prediction(3, features={"x": 1.0, "color": "r" * 2_000_000}))],
        "value_10mb": [one(b'{"pad": "' + b"x" * 10_000_000 + b'"}')],
        "invalid_utf8": [
            one(orjson.dumps(prediction(4)).replace(b'"p4"', b'"p\xff\xfe4"')),
            one(b'{"model_id": "\xc3\x28"}'),
            one(b'{"model_id": "\\ud800"}'),  # a lone surrogate
        ],
        "features_100k_keys": [one(prediction(5, features=big_map))],
        "deep_nesting": [
            one(_deep(100_000)),
            one(b"[" * 100_000 + b"]" * 100_000),
            one(prediction(6, features={"x": orjson.loads(_deep(200))})),
        ],
        "huge_ids": [
            one(prediction(7, prediction_id="p" * 1_000_000)),
            one(prediction(8, model_id="m" * 100_000)),
            one(prediction(9, model_version="v" * 10_000)),
        ],
        "huge_key": [
            one(prediction(10), key=b"k" * 985_000),
            one(b"not json", key=b"k" * 985_000),
        ],
        "strings_for_numbers": [
            one(prediction(11, prediction={"score": "0.5"})),
            one(prediction(12, latency_ms="10")),
            one(prediction(13, features={"x": "1.5", "color": "red"})),
            one(prediction(14, schema_version="1")),
        ],
        "unknown_model": [one(prediction(15, model_id="nobody"))],
        "extra_fields": [
            one(prediction(16, extra=1)),
            one(prediction(17, prediction={"score": 0.5, "logit": 3})),
        ],
        "non_finite": [
            one(with_path(prediction(18), path, literal))
            for path in PREDICTION_NUMBERS
            for literal in NON_FINITE
        ],
        "score_out_of_range": [
            one(prediction(19, prediction={"score": s})) for s in (-0.01, 1.01, 1e308, -1e308)
        ],
        "extreme_feature": [
            one(prediction(20, features={"x": 1e308, "color": "red"})),
            one(prediction(21, features={"x": -1e308, "color": "red"})),
            one(prediction(22, features={"x": 5e-324, "color": "red"})),
        ],
        "huge_integers": [
            one(b'{"model_id": "m", "x": ' + b"9" * 5000 + b"}"),
            one(orjson.dumps(prediction(23)).replace(b'"latency_ms":12.0', b'"latency_ms":1e400')),
            one(prediction(24, features={"x": 2**63 - 1, "color": "red"})),
        ],
        "bad_timestamps": [
            one(prediction(25, timestamp=t))
            for t in ("0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30T00:00:00Z", 17e8)
        ],
        "wrong_shapes": [
            one(prediction(26, features=[1, 2])),
            one(prediction(27, prediction="0.5")),
            one(prediction(28, segments={"country": 1})),
            one(prediction(29, shadow_predictions=[{"score": 0.5}])),
        ],
        "duplicate_keys": [
            one(b'{"model_id": "m", "model_id": "other", "prediction_id": "p"}'),
        ],
        "control_characters": [
            one(prediction(30, prediction_id="p\u0000\u001f\u2028", segments={"\u0000": "\n"})),
        ],
        "envelopes": [
            one({"batch_version": 1, "predictions": [prediction(31), {"no": "event"}]}),
            one({"batch_version": 2, "predictions": [prediction(32)]}),
            one({"batch_version": 1, "predictions": []}),
            one({"batch_version": 1, "predictions": "all"}),
            one({"batch_version": 1, "labels": [label(1)]}),
            one(
                {
                    "batch_version": 1,
                    "predictions": [
                        prediction(33, prediction={"score": "NaN"}),
                        prediction(34, prediction={"score": 2.0}),
                        prediction(35),
                    ],
                }
            ),
            one(encode_batch("predictions", [prediction(36 + i) for i in range(3)])),
        ],
    }
    return kinds


def label_kinds() -> dict[str, list[Message]]:
    return {
        "bad_json": [one(b'{"prediction_id": ')],
        "json_array": [one([label(1)])],
        "empty": [one(b""), one(None)],
        "value_10mb": [one(b'{"pad": "' + b"x" * 10_000_000 + b'"}')],
        "invalid_utf8": [one(b'{"prediction_id": "\xff"}')],
        "huge_ids": [one(label(2, prediction_id="p" * 1_000_000))],
        "non_finite": [
            one(with_path(label(3), path, literal))
            for path in LABEL_NUMBERS
            for literal in NON_FINITE
        ],
        "strings_for_numbers": [one(label(4, value="0.5"))],
        "unknown_model": [one(label(5, model_id="nobody"))],
        "orphans": [one(label(100_000 + i)) for i in range(3)],
        "duplicates": [one(label(6)), one(label(6))],
        "extra_fields": [one(label(7, extra=True))],
        "envelopes": [
            one({"batch_version": 1, "labels": [label(8), {"no": "label"}]}),
            one({"batch_version": 1, "labels": [label(9, value="NaN")]}),
        ],
    }


def telemetry_kinds() -> dict[str, list[Message]]:
    return {
        "bad_json": [one(b"{")],
        "empty": [one(b""), one(None)],
        "value_10mb": [one(b'{"pad": "' + b"x" * 10_000_000 + b'"}')],
        "non_finite": [
            one(with_path(telemetry(), path, literal))
            for path in TELEMETRY_NUMBERS
            for literal in NON_FINITE
        ],
        "out_of_range": [
            one(telemetry(cpu_utilization_ratio=2.0)),
            one(telemetry(memory_used_bytes=-1)),
        ],
        "extreme": [
            one(with_path(telemetry(), ("gpus", 0, "temperature_celsius"), 1e308)),
            one(with_path(telemetry(), ("gpus", 0, "ecc_uncorrected_errors"), 2**63 - 1)),
        ],
        "many_gpus": [one({**telemetry(), "gpus": [{"index": i} for i in range(10_000)]})],
        "huge_node_id": [one({**telemetry(), "node_id": "n" * 1_000_000})],
        "strings_for_numbers": [one(telemetry(memory_used_bytes="12"))],
    }


Kinds = Callable[[], dict[str, list[Message]]]
