"""KServe's inference logger CloudEvents read as KServe writes them (binary mode, as in
its docs' message-dumper output; structured mode), v1 and v2 payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.events.models import PredictionEvent
from streams.gateway.kserve import (
    REQUEST_TYPE,
    RESPONSE_TYPE,
    BadInferenceEvent,
    prediction_events,
    prediction_of,
    read_cloudevent,
)


def headers(kind: str, ce_id: str = "0009174a", time: str | None = None) -> dict[str, str]:
    h = {
        "Content-Type": "application/json",
        "Ce-Specversion": "1.0",
        "Ce-Type": REQUEST_TYPE if kind == "request" else RESPONSE_TYPE,
        "Ce-Source": "http://localhost:9081/",
        "Ce-Id": ce_id,
        "Ce-Inferenceservicename": "sklearn-iris",
        "Ce-Namespace": "default",
    }
    if time:
        h["Ce-Time"] = time
    return h


IRIS = {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}


def test_a_v1_exchange_of_two_instances_gives_two_valid_prediction_events() -> None:
    request = read_cloudevent(
        headers("request", time="2021-04-10T00:23:26.010000000Z"), orjson.dumps(IRIS)
    )
    response = read_cloudevent(
        headers("response", time="2021-04-10T00:23:26.080736102Z"),
        orjson.dumps({"predictions": [1, 1]}),
    )
    assert (request.kind, response.kind, request.model) == ("request", "response", "sklearn-iris")
    assert response.time == datetime(2021, 4, 10, 0, 23, 26, 80736, tzinfo=UTC)
    events = prediction_events(request, response, ["sl", "sw", "pl", "pw"])
    assert [e["prediction_id"] for e in events] == ["0009174a:0", "0009174a:1"]
    assert events[1]["features"] == {"sl": 6.0, "sw": 3.4, "pl": 4.5, "pw": 1.6}
    assert events[0]["prediction"] == {"label": "1"}
    assert events[0]["latency_ms"] == pytest.approx(70.736)  # response time - request time
    for e in events:
        PredictionEvent.model_validate(e)  # what the worker accepts


def test_a_v2_exchange_reads_rows_across_named_input_tensors() -> None:
    request = {
        "inputs": [
            {"name": "age", "shape": [3], "datatype": "FP32", "data": [31, 45, 27]},
            {"name": "emb", "shape": [3, 2], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]},
        ]
    }
    response = {
        "model_name": "churn",
        "model_version": "7",
        "outputs": [
            {"name": "proba", "shape": [3, 2], "datatype": "FP32", "data": [0.9, 0.1] * 3},
            {"name": "ignored", "shape": [3], "datatype": "INT64", "data": [0, 0, 0]},
        ],
    }
    events = prediction_events(
        read_cloudevent(headers("request", "x"), orjson.dumps(request)),
        read_cloudevent(headers("response", "x"), orjson.dumps(response)),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert [e["features"] for e in events] == [
        {"age": 31, "emb_0": 1, "emb_1": 2},
        {"age": 45, "emb_0": 3, "emb_1": 4},
        {"age": 27, "emb_0": 5, "emb_1": 6},
    ]
    assert {e["model_version"] for e in events} == {"7"}
    assert [e["prediction"] for e in events] == [{"score": 0.1}] * 3
    assert events[0]["timestamp"] == "2026-01-01T00:00:00+00:00"  # no ce-time: now


def test_a_structured_cloudevent_reads_like_a_binary_one() -> None:
    document = {
        "specversion": "1.0",
        "type": REQUEST_TYPE,
        "source": "s",
        "id": "abc",
        "inferenceservicename": "m",
        "data": {"instances": [{"a": 1}]},
    }
    half = read_cloudevent({"content-type": "application/cloudevents+json"}, orjson.dumps(document))
    assert (half.kind, half.id, half.model, half.rows) == ("request", "abc", "m", [{"a": 1}])


@pytest.mark.parametrize(
    ("output", "prediction"),
    [
        (1, {"label": "1"}),
        ("setosa", {"label": "setosa"}),
        (0.25, {"score": 0.25}),
        (42.5, {"value": 42.5}),
        ([0.3, 0.7], {"score": 0.7}),
        ([0.2, 0.5, 0.3], {"label": "1"}),  # no positive class: no score
        ({"score": 0.4, "other": 1}, {"score": 0.4}),
    ],
)
def test_outputs_become_the_prediction_they_mean(output: object, prediction: dict) -> None:
    assert prediction_of(output) == prediction


@pytest.mark.parametrize(
    ("hdrs", "body", "reason"),
    [
        ({**headers("request"), "Ce-Type": "dev.knative.foo"}, IRIS, "neither"),
        ({k: v for k, v in headers("request").items() if k != "Ce-Id"}, IRIS, "'id'"),
        (headers("request"), {"rows": []}, "neither 'instances'"),
        (headers("request"), {"instances": []}, "no instance"),
        (headers("response"), {"predictions": "x"}, "no prediction"),
        (headers("request", time="yesterday"), IRIS, "RFC 3339"),
        (
            headers("request"),
            {"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2, 3]}]},
            "does not fit",
        ),
    ],
)
def test_unreadable_events_say_why(hdrs: dict, body: dict, reason: str) -> None:
    with pytest.raises(BadInferenceEvent, match=reason):
        read_cloudevent(hdrs, orjson.dumps(body))


def test_not_json_and_mismatched_batches_say_why() -> None:
    with pytest.raises(BadInferenceEvent, match="not JSON"):
        read_cloudevent(headers("request"), b"{")
    request = read_cloudevent(headers("request"), orjson.dumps(IRIS))
    response = read_cloudevent(headers("response"), orjson.dumps({"predictions": [1]}))
    with pytest.raises(BadInferenceEvent, match="2 instances but 1 predictions"):
        prediction_events(request, response)
