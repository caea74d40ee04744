"""Envelope events as msgspec Structs: validation at decode time, no pydantic object per
event.

An envelope of 500 predictions validated through pydantic costs 500 model builds; msgspec
decodes and checks the whole envelope in one C call into these Structs. They accept and
refuse exactly what the JSON Schemas in ``schemas/`` do (tests/unit/events/
test_rows_equivalence.py checks that on valid and invalid corpora), which is stricter
than pydantic's lax mode on single events: a timestamp must be an RFC 3339 string with
an offset, a number may not be given as a string. The Structs carry the attribute names
of ``PredictionEvent`` and ``LabelEvent``, so stage 1, the window aggregate and the
label join read either.

The timestamp is kept as its string and checked (and turned into epoch seconds) by
:func:`event_time`, with the regular expression JSON Schema's ``date-time`` format uses
(rfc3339-validator, on the upper-cased string).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec

from streams.events.envelope import MAX_BATCH_EVENTS

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Version = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
#: ``const: 1`` of type integer: 1 and 1.0 (an integer to JSON Schema), not true.
_ONE = msgspec.Meta(ge=1, le=1)
SchemaVersion = Annotated[int, _ONE] | Annotated[float, _ONE]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]

_RFC3339 = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0123]):[0-5]\d:[0-5]\d(?:\.\d+)?"
    r"(?:Z|[+-](?:[01]\d|2[0123]):[0-5]\d)$",
    re.ASCII,
)


class PredictionOutput(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``Prediction``: the model's score, class or value."""

    score: Probability | None = None
    label: str | None = None
    value: float | None = None


class PredictionRow(msgspec.Struct, forbid_unknown_fields=True):
    """``PredictionEvent``, with its timestamp as the string it came as."""

    model_id: Id
    model_version: Version
    prediction_id: Id
    timestamp: str
    features: dict[str, float | int | str | None]
    prediction: PredictionOutput
    schema_version: SchemaVersion = 1
    latency_ms: NonNegative | None = None
    segments: dict[str, str] = {}
    shadow_predictions: dict[str, PredictionOutput] | None = None
    attributions: dict[str, float] | None = None


class LabelRow(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``LabelEvent``, with its timestamp as the string it came as."""

    model_id: Id
    prediction_id: Id
    timestamp: str
    schema_version: SchemaVersion = 1
    label: str | None = None
    value: float | None = None


Events = Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH_EVENTS)]


class PredictionEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    batch_version: int
    predictions: list[PredictionRow]


class LabelEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    batch_version: int
    labels: list[LabelRow]


class RawPredictionEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    """The envelope with its events undecoded: the slow path, when one of them is bad."""

    batch_version: int
    predictions: Events


class RawLabelEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    batch_version: int
    labels: Events


def event_time(timestamp: str) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp, None when JSON Schema's ``date-time``
    refuses it (no offset, a space for ``T``, 30 February, year 0).

    >>> event_time("2026-01-01T00:00:00Z"), event_time("2026-01-01 00:00:00Z")
    (1767225600.0, None)
    """
    upper = timestamp.upper()
    if _RFC3339.match(upper) is None:
        return None
    # the format's ``$`` also matches before one final newline: the schema accepts it
    text = upper[:-1] if upper.endswith("\n") else upper
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError):  # a day the month does not have, year 0
        return None
