"""One event as the client sends it: checked cheaply, encoded once, in the caller's thread.

Encoding at ``log()`` time is what lets a bad event raise to the caller at once (it is the
caller's bug, not the pipeline's) and snapshots the event, so a model server may reuse or
mutate its dict afterwards. The check is deliberately shallow (the fields the routing and
the join need); the worker validates every event in full and dead-letters the bad ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel

from streams.errors import StreamsError
from streams.events.envelope import BatchKind
from streams.events.models import LabelEvent, PredictionEvent

_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
#: Fields an event must carry, by kind (the worker checks the rest).
REQUIRED: dict[BatchKind, frozenset[str]] = {
    "predictions": frozenset({"model_id", "model_version", "prediction_id", "timestamp"})
    | {"features", "prediction"},
    "labels": frozenset({"model_id", "prediction_id", "timestamp"}),
}
MODELS: dict[BatchKind, type[BaseModel]] = {
    "predictions": PredictionEvent,
    "labels": LabelEvent,
}
MAX_ID_LENGTH = 200


class InvalidEvent(StreamsError, ValueError):
    """``log()`` was given something that is not an event: fix the calling code."""


def encode_event(kind: BatchKind, event: Mapping[str, Any] | BaseModel) -> tuple[bytes, bytes]:
    """The Kafka key (the ``prediction_id``) and the JSON value of one event.

    >>> encode_event("labels", {"model_id": "m", "prediction_id": "p1", "timestamp": "t"})
    (b'p1', b'{"model_id":"m","prediction_id":"p1","timestamp":"t"}')
    """
    if isinstance(event, BaseModel):
        if not isinstance(event, MODELS[kind]):
            expected = MODELS[kind].__name__
            raise InvalidEvent(f"a {kind} logger takes {expected}, got {type(event).__name__}")
        value = event.__pydantic_serializer__.to_json(event, exclude_none=True)
        return event.prediction_id.encode(), value  # type: ignore[attr-defined]
    if not isinstance(event, Mapping):
        raise InvalidEvent(f"an event is a dict or a pydantic event, got {type(event).__name__}")
    missing = REQUIRED[kind].difference(event.keys())
    if missing:
        raise InvalidEvent(f"{kind} event without {sorted(missing)}")
    return encode_raw(event["prediction_id"], _dumps(event))


def encode_raw(prediction_id: Any, value: bytes) -> tuple[bytes, bytes]:
    """The key of an already-encoded event, after the one check routing needs."""
    if not isinstance(prediction_id, str) or not 0 < len(prediction_id) <= MAX_ID_LENGTH:
        raise InvalidEvent(
            f"prediction_id must be a string of 1 to {MAX_ID_LENGTH} characters, "
            f"got {prediction_id!r:.80}"
        )
    return prediction_id.encode(), value


def _dumps(event: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(event, option=_ORJSON_OPTIONS)
    except TypeError as exc:  # orjson.JSONEncodeError: a value JSON cannot carry
        raise InvalidEvent(f"event is not JSON-serialisable: {exc}") from None
