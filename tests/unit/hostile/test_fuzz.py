"""Property: whatever bytes come in, stage 1, the label join and the telemetry decode
raise nothing, and every message is folded or dead-lettered with one of REASONS
(checked in the harness, with each record's bound).

Three generators: arbitrary bytes; arbitrary JSON documents; and valid events with one
leaf replaced by a hostile value (the likeliest to pass the schema half-way)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.hostile.corpus import NON_FINITE, label, prediction, telemetry
from tests.unit.hostile.harness import Pipeline

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(NON_FINITE)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every leaf's path in a JSON document."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in paths(v, (*prefix, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in paths(v, (*prefix, i))]
    return [prefix]


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> bytes:
    event = orjson.loads(orjson.dumps(template))
    path = draw(st.sampled_from(paths(event)))
    node = event
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = draw(json_values)
    return dumps(event)


def dumps(document: Any) -> bytes:
    """JSON of any document, integers beyond 64 bits included (orjson refuses them)."""
    return json.dumps(document).encode()


def feed_everywhere(raw: bytes) -> None:
    pipeline = Pipeline()
    pipeline.predictions([(b"k", orjson.dumps(prediction(0))), (b"k", raw)])
    pipeline.labels([(b"k", raw), (b"k", orjson.dumps(label(0)))])
    pipeline.telemetry([(b"n", raw)])
    pipeline.finish()
    assert pipeline.accepted >= 1


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(raw: bytes) -> None:
    feed_everywhere(raw)


@FUZZ
@given(json_values)
def test_any_json_document(document: Any) -> None:
    feed_everywhere(dumps(document))


@FUZZ
@given(st.one_of(mutated(prediction(1)), mutated(label(1)), mutated(telemetry())))
def test_valid_events_with_one_hostile_leaf(raw: bytes) -> None:
    feed_everywhere(raw)


@FUZZ
@given(st.lists(mutated(prediction(2)), min_size=1, max_size=20))
def test_envelopes_of_mutated_events(events: list[bytes]) -> None:
    envelope = b'{"batch_version":1,"predictions":[' + b",".join(events) + b"]}"
    feed_everywhere(envelope)
