"""Validation of raw prediction messages: each one becomes an event or a rejection.

A rejection carries a short machine-readable reason (the dead-letter metric's label)
and a human-readable detail; the worker never raises on input. A message is a single
event (validated by its pydantic model) or an envelope of many (events/envelope.py,
validated by the msgspec Structs of events/rows.py in one pass): a bad event in an
envelope is rejected alone, with its index; a malformed envelope is rejected whole.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, TypeVar

import msgspec
import numpy as np
import orjson
from pydantic import BaseModel, ValidationError

from streams.config.models import FeatureType
from streams.events.columns import feature_columns, string_positions
from streams.events.envelope import (
    BATCH_VERSION,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    BatchKind,
    is_envelope,
)
from streams.events.models import LabelEvent, PredictionEvent
from streams.events.rows import (
    LabelEnvelope,
    LabelRow,
    PredictionEnvelope,
    PredictionRow,
    RawLabelEnvelope,
    RawPredictionEnvelope,
    event_time,
)
from streams.kafka.partitioner import partitions_for

E = TypeVar("E", bound=BaseModel)

#: Every reason a message can be dead-lettered for (bounded: they label a metric).
REASONS = (
    "oversize",
    "empty",
    "bad_json",
    "not_an_object",
    "schema",
    "non_finite",
    "out_of_range",
    "unknown_model",
    "wrong_type",
    "bad_envelope",
    "foreign_partition",
    "future_timestamp",
    "too_old",
)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str


#: pydantic's error types that have a reason of their own (else: ``schema``). NaN and
#: infinity reach a model only as strings ("NaN", "-Infinity", "1e999"): JSON has no
#: such numbers, and orjson and msgspec refuse the literals as ``bad_json``.
_ERROR_REASONS = {
    "finite_number": "non_finite",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
}
#: msgspec's message for a number outside its bounds, e.g. a score above 1.
_MSGSPEC_RANGE = re.compile(r"^Expected `(?:float|int)` [<>]=")


def _schema_rejection(exc: ValidationError) -> Rejection:
    """A ValidationError as a rejection: a non-finite number anywhere wins, then the
    first error's own reason, else ``schema``."""
    types = [e["type"] for e in exc.errors()]
    reason = "non_finite" if "finite_number" in types else _ERROR_REASONS.get(types[0], "schema")
    return Rejection(reason, _schema_detail(exc))


def _row_rejection(exc: msgspec.ValidationError) -> Rejection:
    text = str(exc)
    return Rejection("out_of_range" if _MSGSPEC_RANGE.match(text) else "schema", text)


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
    return _validate(data, model)


def _validate(data: Any, model: type[E]) -> E | Rejection:
    if not isinstance(data, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return _schema_rejection(exc)


def catalog_rejection(
    event: PredictionEvent | PredictionRow, catalog: Mapping[str, Mapping[str, FeatureType]]
) -> Rejection | None:
    """Why a schema-valid prediction does not fit its model's config, or None."""
    features = catalog.get(event.model_id)
    if features is None:
        return Rejection("unknown_model", f"model {event.model_id!r} is not in the config")
    for name, value in event.features.items():
        if isinstance(value, str) and features.get(name) == "numeric":
            return Rejection("wrong_type", f"feature {name!r} is numeric, got string {value!r}")
    return None


def catalog_rejections(
    events: Sequence[PredictionEvent | PredictionRow],
    catalog: Mapping[str, Mapping[str, FeatureType]],
) -> dict[int, Rejection]:
    """:func:`catalog_rejection` of many events at once: the refused ones by index.

    The numeric features are checked column by column (events.columns), a pass in C
    over each, instead of a type check per value of every event; only the events a
    column flags are then explained one by one, with the same reason."""
    by_model: dict[str, list[int]] = {}
    if len(set(map(attrgetter("model_id"), events))) == 1:
        by_model[events[0].model_id] = list(range(len(events)))
    else:
        for i, event in enumerate(events):
            by_model.setdefault(event.model_id, []).append(i)
    suspects: set[int] = set()
    for model_id, indices in by_model.items():
        features = catalog.get(model_id)
        if features is None:
            suspects.update(indices)
            continue
        numeric = [name for name, kind in features.items() if kind == "numeric"]
        maps = [events[i].features for i in indices]
        for column in feature_columns(maps, numeric).values():
            suspects.update(indices[j] for j in string_positions(column))
    found = ((i, catalog_rejection(events[i], catalog)) for i in sorted(suspects))
    return {i: why for i, why in found if why is not None}


def validate_prediction(
    raw: bytes | None,
    catalog: Mapping[str, Mapping[str, FeatureType]],
    max_bytes: int,
) -> PredictionEvent | Rejection:
    """Decode and check one message against the schema and the model's feature types."""
    event = decode_event(raw, PredictionEvent, max_bytes)
    if isinstance(event, Rejection):
        return event
    return catalog_rejection(event, catalog) or event


@dataclass(frozen=True, slots=True)
class BadEvent:
    """An envelope's event that is dead-lettered alone: its index, why, its bytes."""

    index: int
    rejection: Rejection
    raw: bytes


@dataclass(slots=True)
class Decoded:
    """A message's valid events (pydantic events or rows, the same attributes), their
    event times in epoch seconds, and, for an envelope, the events refused alone."""

    events: list[Any]
    times: list[float]
    indices: list[int] = field(default_factory=lambda: [0])
    bad: list[BadEvent] = field(default_factory=list)
    envelope: bool = False

    def add(self, index: int, event: Any, ts: float) -> None:
        self.events.append(event)
        self.times.append(ts)
        self.indices.append(index)


_ROWS: dict[BatchKind, tuple[type[Any], type[Any], type[Any]]] = {
    "predictions": (PredictionEnvelope, RawPredictionEnvelope, PredictionRow),
    "labels": (LabelEnvelope, RawLabelEnvelope, LabelRow),
}
_DECODERS = {kind: tuple(msgspec.json.Decoder(t) for t in types) for kind, types in _ROWS.items()}
_MODELS: dict[BatchKind, type[BaseModel]] = {"predictions": PredictionEvent, "labels": LabelEvent}


def decode_row(raw: bytes, kind: BatchKind) -> tuple[Any, float] | Rejection:
    """One envelope event as a row and its event time, validated as its JSON Schema
    validates it; a Rejection (reason ``schema`` or ``bad_json``) says why not."""
    try:
        row = _DECODERS[kind][2].decode(raw)
    except msgspec.ValidationError as exc:
        return _row_rejection(exc)
    except msgspec.DecodeError as exc:
        return Rejection("bad_json", str(exc))
    ts = event_time(row.timestamp)
    if ts is None:
        return Rejection("schema", f"timestamp: {row.timestamp!r} is not an RFC 3339 date-time")
    return row, ts


def decode_message(raw: bytes | None, kind: BatchKind, max_bytes: int) -> Decoded | Rejection:
    """A single event or an envelope of ``kind``, decoded and validated.

    A single event is held to ``max_bytes`` and read by its pydantic model; an envelope
    to MAX_BATCH_BYTES, and its events are read as rows (events/rows.py)."""
    if not raw:
        return Rejection("empty", "message has no value")
    if b'"batch_version"' not in raw or len(raw) > MAX_BATCH_BYTES:
        return _single(decode_event(raw, _MODELS[kind], max_bytes))
    fast, _, _ = _DECODERS[kind]
    try:
        envelope = fast.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _slow(raw, kind, max_bytes)
    rows = getattr(envelope, kind)
    refused = _envelope_rejection(envelope.batch_version, rows)
    if refused is not None:
        return refused
    decoded = Decoded([], [], [], envelope=True)
    for index, row in enumerate(rows):
        ts = event_time(row.timestamp)
        if ts is None:
            why = Rejection("schema", f"timestamp: {row.timestamp!r} is not an RFC 3339 date-time")
            decoded.bad.append(BadEvent(index, why, msgspec.json.encode(row)))
        else:
            decoded.add(index, row, ts)
    return decoded


def encode_row(event: Any) -> bytes:
    """An envelope event's JSON again (its timestamp as it came), for the dead letter
    of an event refused after decoding: its timestamp, model or partition."""
    return msgspec.json.encode(event)


def foreign_events(decoded: Decoded, partition: int, partitions: int) -> dict[int, Rejection]:
    """The envelope's events whose ``prediction_id`` murmur2 maps to another partition
    than the envelope's, by position in ``decoded.events`` (single events: none; their
    key places them). Their labels would be looked for elsewhere: see
    docs/decisions/0004-envelopes.md."""
    if not decoded.envelope or partitions <= 1:
        return {}
    ids = [e.prediction_id.encode() for e in decoded.events]
    owners = partitions_for(ids, partitions)
    return {
        int(i): Rejection(
            "foreign_partition",
            f"prediction_id {decoded.events[i].prediction_id!r} belongs to partition "
            f"{owners[i]}, not {partition}",
        )
        for i in np.flatnonzero(owners != partition)
    }


def _single(event: Any) -> Decoded | Rejection:
    if isinstance(event, Rejection):
        return event
    return Decoded([event], [event.timestamp.timestamp()])


def _envelope_rejection(version: Any, events: Any) -> Rejection | None:
    if isinstance(version, bool) or version != 1:
        return Rejection("bad_envelope", f"batch_version {version!r} is not {BATCH_VERSION}")
    if not isinstance(events, list):
        return Rejection("bad_envelope", f"events must be a list, got {type(events).__name__}")
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        return Rejection(
            "bad_envelope", f"{len(events)} events; an envelope holds 1 to {MAX_BATCH_EVENTS}"
        )
    return None


def _slow(raw: bytes, kind: BatchKind, max_bytes: int) -> Decoded | Rejection:
    """Some event of the envelope is bad (or it is no envelope): each event on its own."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection("bad_json", str(exc))
    if not isinstance(data, dict) or not is_envelope(data):
        if len(raw) > max_bytes:
            return Rejection("oversize", f"{len(raw)} bytes exceeds the limit of {max_bytes}")
        return _single(_validate(data, _MODELS[kind]))
    extra = sorted(set(data) - {"batch_version", kind})
    if extra:
        return Rejection("bad_envelope", f"unexpected keys {extra} in a {kind} envelope")
    if kind not in data:
        return Rejection("bad_envelope", f"a {kind} envelope has no {kind!r} list")
    refused = _envelope_rejection(data["batch_version"], data[kind])
    if refused is not None:
        return refused
    events = getattr(_DECODERS[kind][1].decode(raw), kind)  # each event's own bytes
    decoded = Decoded([], [], [], envelope=True)
    for index, event_raw in enumerate(events):
        result = decode_row(bytes(event_raw), kind)
        if isinstance(result, Rejection):
            decoded.bad.append(BadEvent(index, result, bytes(event_raw)))
        else:
            decoded.add(index, *result)
    return decoded


#: A dead letter's key: the original's first bytes. A valid key (a prediction id) is at
#: most 800 bytes; a hostile one of 985,000 bytes would take the record over the
#: producer's request limit, and its send would fail (issue 18).
DEADLETTER_KEY_MAX_BYTES = 1024
#: A dead letter's ``detail``, in characters (at most 6 bytes each in JSON).
DEADLETTER_DETAIL_MAX_CHARS = 1000


def deadletter_key(key: bytes | None) -> bytes | None:
    """The dead letter's key: the original one, cut to DEADLETTER_KEY_MAX_BYTES."""
    return None if key is None else key[:DEADLETTER_KEY_MAX_BYTES]


def deadletter_record(
    rejection: Rejection,
    raw: bytes | None,
    *,
    topic: str,
    partition: int,
    offset: int,
    max_bytes: int,
    index: int | None = None,
    key: bytes | None = None,
) -> bytes:
    """The dead-letter value: why, where from, and the original bytes (bounded, base64).
    ``index``: the event's position in its envelope (the bytes are that event's).
    ``key``: the original key, whose size is recorded (the record's key is cut,
    :func:`deadletter_key`). Every field is bounded: the value stays under about
    ``max_bytes * 4 / 3 + 7 KB`` whatever came in."""
    original = raw or b""
    record: dict[str, Any] = {
        "reason": rejection.reason,
        "detail": rejection.detail[:DEADLETTER_DETAIL_MAX_CHARS],
        "topic": topic[:255],  # Kafka's topic names are at most 249 characters
        "partition": partition,
        "offset": offset,
        "original_size": len(original),
        "truncated": len(original) > max_bytes,
        "original_b64": base64.b64encode(original[:max_bytes]).decode(),
    }
    if index is not None:
        record["index"] = index
    if key is not None and len(key) > DEADLETTER_KEY_MAX_BYTES:
        record["key_size"] = len(key)
        record["key_truncated"] = True
    return orjson.dumps(record)
