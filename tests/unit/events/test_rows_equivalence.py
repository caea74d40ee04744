"""The envelope's msgspec rows accept and refuse exactly what the JSON Schemas in
``schemas/`` do, event by event, on corpora of valid and invalid events.

The oracle is independent of the rows: orjson parses the bytes (refusing NaN, Infinity
and other non-standard literals, as the single-event path does) and the ``jsonschema``
package validates the result against the checked-in schema file, formats checked.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from streams.events.decode import Rejection, decode_row
from streams.events.envelope import BatchKind

SCHEMAS = Path(__file__).parents[3] / "schemas"
VALIDATORS = {
    kind: Draft202012Validator(
        orjson.loads((SCHEMAS / f"{name}.schema.json").read_bytes()),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    for kind, name in (("predictions", "prediction"), ("labels", "label"))
}

PREDICTION: dict[str, Any] = {
    "schema_version": 1,
    "model_id": "recsys",
    "model_version": "7",
    "prediction_id": "p-1",
    "timestamp": "2026-01-01T00:00:00Z",
    "features": {"a": 1.5, "b": 2, "c": "x", "d": None},
    "prediction": {"score": 0.7, "label": "1", "value": None},
    "latency_ms": 3.0,
    "segments": {"country": "DE"},
    "shadow_predictions": {"s1": {"score": 0.6}},
    "attributions": {"a": 0.1},
}
LABEL: dict[str, Any] = {
    "schema_version": 1,
    "model_id": "recsys",
    "prediction_id": "p-1",
    "timestamp": "2026-01-02T00:00:00+01:00",
    "label": "1",
    "value": 0.5,
}
#: JSON values of every type and the edges the schemas' constraints draw.
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    1.0,
    -0.0,
    0.5,
    -1e-9,
    1e308,
    10**30,
    2**63,
    -(2**63) - 1,
    "",
    "x",
    "1",
    "0.5",
    "😀" * 200,
    "😀" * 201,
    "a" * 100,
    "a" * 101,
    [],
    [1],
    {},
    {"score": 0.5},
    {"x": "y"},
    {"x": 1},
]
TIMESTAMPS = [
    "2026-01-01T00:00:00Z",
    "2026-01-01t00:00:00z",
    "2026-01-01T00:00:00.123456789Z",
    "2026-01-01T00:00:00+05:30",
    "2026-01-01T00:00:00-23:59",
    "2026-01-01T00:00:00",
    "2026-01-01 00:00:00Z",
    "2026-01-01T00:00:00.Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:59:60Z",
    "2026-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01",
    "1767225600",
    "2026-01-01T00:00:00Z\n",
]


def oracle(raw: bytes, kind: BatchKind) -> bool:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return VALIDATORS[kind].is_valid(data)


def mutations(base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each field removed, set to every value, and (for objects) each inner field so."""
    yield base
    for name in base:
        yield {k: v for k, v in base.items() if k != name}
        for value in VALUES:
            yield {**base, name: value}
        if isinstance(base[name], dict):
            for inner in [*base[name], "surprise"]:
                for value in VALUES:
                    yield {**base, name: {**base[name], inner: value}}
    for ts in TIMESTAMPS:
        yield {**base, "timestamp": ts}
    for value in VALUES:
        yield {**base, "surprise": value}


def random_events(base: dict[str, Any], n: int, seed: int) -> Iterator[dict[str, Any]]:
    """Several mutations at once: combinations the one-field corpus does not reach."""
    rng = random.Random(seed)
    keys = [*base, "surprise"]
    for _ in range(n):
        event = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(keys)
            if rng.random() < 0.2:
                event.pop(key, None)
            else:
                event[key] = rng.choice([*VALUES, rng.choice(TIMESTAMPS)])
        yield event


def corpus(kind: BatchKind) -> list[bytes]:
    base = PREDICTION if kind == "predictions" else LABEL
    events = [*mutations(base), *random_events(base, 3000, seed=len(kind))]
    # the standard library writes integers beyond 64 bits, which orjson will not
    raws = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    # not JSON, or not standard JSON: refused by both
    raws += [b"", b"{", b"[]", b"null", b"1", raws[0].replace(b"3.0,", b"NaN,")]
    raws += [raws[0].replace(b"3.0,", b"Infinity,"), raws[0].replace(b"3.0,", b"1e400,")]
    raws += [raws[0][:-1] + b',"features":{}}', raws[0].replace(b'"p-1"', b'"\\ud800"')]
    return raws


@pytest.mark.parametrize("kind", ["predictions", "labels"])
def test_rows_decide_each_event_as_the_json_schema_does(kind: BatchKind) -> None:
    raws = corpus(kind)
    disagree = [
        (raw, decode_row(raw, kind))
        for raw in raws
        if (not isinstance(decode_row(raw, kind), Rejection)) != oracle(raw, kind)
    ]
    assert disagree == []
    accepted = sum(oracle(raw, kind) for raw in raws)
    assert 100 < accepted < len(raws) - 1000, "the corpus must hold both kinds in number"


def test_a_valid_row_reads_as_its_pydantic_event() -> None:
    from streams.events.models import PredictionEvent

    row, ts = decode_row(orjson.dumps(PREDICTION), "predictions")  # type: ignore[misc]
    event = PredictionEvent.model_validate(PREDICTION)
    assert ts == event.timestamp.timestamp()
    for name in ("model_id", "prediction_id", "features", "segments", "latency_ms"):
        assert getattr(row, name) == getattr(event, name)
    assert row.prediction.score == event.prediction.score
    assert row.shadow_predictions["s1"].score == event.shadow_predictions["s1"].score
