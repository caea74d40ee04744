"""Validation of raw prediction messages: each one becomes an event or a rejection.

A rejection carries a short machine-readable reason (the dead-letter metric's label)
and a human-readable detail; the worker never raises on input.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from streams.config.models import FeatureType
from streams.events.models import PredictionEvent

E = TypeVar("E", bound=BaseModel)

#: Every reason a message can be dead-lettered for (bounded: they label a metric).
REASONS = (
    "oversize",
    "empty",
    "bad_json",
    "not_an_object",
    "schema",
    "unknown_model",
    "wrong_type",
)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str


def _schema_detail(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(event)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def decode_event(raw: bytes | None, model: type[E], max_bytes: int) -> E | Rejection:
    """Decode and validate one message of any topic; a Rejection says why not."""
    if not raw:
        return Rejection("empty", "message has no value")
    if len(raw) > max_bytes:
        return Rejection("oversize", f"{len(raw)} bytes exceeds the limit of {max_bytes}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection("bad_json", str(exc))
    if not isinstance(data, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return Rejection("schema", _schema_detail(exc))


def validate_prediction(
    raw: bytes | None,
    catalog: Mapping[str, Mapping[str, FeatureType]],
    max_bytes: int,
) -> PredictionEvent | Rejection:
    """Decode and check one message against the schema and the model's feature types."""
    event = decode_event(raw, PredictionEvent, max_bytes)
    if isinstance(event, Rejection):
        return event
    features = catalog.get(event.model_id)
    if features is None:
        return Rejection("unknown_model", f"model {event.model_id!r} is not in the config")
    served = event.features
    for name, value in served.items():
        if isinstance(value, str) and features.get(name) == "numeric":
            return Rejection("wrong_type", f"feature {name!r} is numeric, got string {value!r}")
    return event


def deadletter_record(
    rejection: Rejection,
    raw: bytes | None,
    *,
    topic: str,
    partition: int,
    offset: int,
    max_bytes: int,
) -> bytes:
    """The dead-letter value: why, where from, and the original bytes (bounded, base64)."""
    original = raw or b""
    record: dict[str, Any] = {
        "reason": rejection.reason,
        "detail": rejection.detail[:1000],
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "original_size": len(original),
        "truncated": len(original) > max_bytes,
        "original_b64": base64.b64encode(original[:max_bytes]).decode(),
    }
    return orjson.dumps(record)
