"""The checked-in JSON Schemas must match the pydantic models they come from."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from streams.events.envelope import MAX_BATCH_EVENTS
from streams.events.jsonschema import schema_files, stale_files
from streams.events.models import PredictionEvent, decode_prediction

SCHEMAS = Path(__file__).parents[3] / "schemas"


def test_schema_files_match_models() -> None:
    assert stale_files(SCHEMAS) == [], "run `streams schemas` and commit the result"


def test_the_envelopes_have_schema_files() -> None:
    assert {"prediction_batch.schema.json", "label_batch.schema.json"} <= set(schema_files())
    batch = orjson.loads((SCHEMAS / "prediction_batch.schema.json").read_bytes())
    assert batch["properties"]["predictions"]["maxItems"] == MAX_BATCH_EVENTS
    assert batch["required"] == ["batch_version", "predictions"]


def test_a_changed_file_is_detected(tmp_path: Path) -> None:
    for name, text in schema_files().items():
        (tmp_path / name).write_bytes(text)
    assert stale_files(tmp_path) == []
    (tmp_path / "prediction.schema.json").write_bytes(b"{}\n")
    assert stale_files(tmp_path) == ["prediction.schema.json"]


def test_prediction_round_trip() -> None:
    event = PredictionEvent(
        model_id="m",
        model_version="1",
        prediction_id="p1",
        timestamp="2026-01-01T00:00:00Z",
        features={"a": 1.5, "b": "x", "c": None},
        prediction={"score": 0.7},
        latency_ms=3.0,
        segments={"country": "DE"},
    )
    assert decode_prediction(event.to_json()) == event


def test_unknown_fields_and_bad_types_are_rejected() -> None:
    good = {
        "model_id": "m",
        "model_version": "1",
        "prediction_id": "p",
        "timestamp": 0,
        "features": {},
        "prediction": {},
    }
    decode_prediction(orjson.dumps(good))
    with pytest.raises(ValidationError):
        decode_prediction(orjson.dumps({**good, "surprise": 1}))
    with pytest.raises(ValidationError):
        decode_prediction(orjson.dumps({**good, "features": {"a": [1, 2]}}))
    with pytest.raises(ValidationError):
        decode_prediction(orjson.dumps({**good, "latency_ms": -1}))
