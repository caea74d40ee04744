"""KServe's inference logger, read: CloudEvents of requests and responses, turned into
prediction events once both halves of an exchange are in.

KServe's logger (``spec.predictor.logger``) posts every request and every response as a
CloudEvent in binary mode: ``ce-type`` is ``org.kubeflow.serving.inference.request`` or
``...response``, ``ce-id`` pairs the two, ``ce-inferenceservicename`` names the model,
and the body is the payload as the model server saw it: the v1 protocol
(``{"instances": [...]}`` / ``{"predictions": [...]}``) or the v2 Open Inference
Protocol (``{"inputs": [tensor...]}`` / ``{"outputs": [tensor...]}``). Structured mode
(one ``application/cloudevents+json`` document) is read as well.

A batch of N instances becomes N predictions, ``<ce-id>:<i>`` (just ``<ce-id>`` for
one), so a label can name each. Pure functions, no I/O: the server (server.py) holds
the halves until they meet (pairing.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.errors import StreamsError

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
#: The model version when neither the payload nor the headers give one.
UNKNOWN_VERSION = "unknown"


class BadInferenceEvent(StreamsError, ValueError):
    """A CloudEvent the gateway cannot read; its message says why (answered with 400)."""


@dataclass(frozen=True, slots=True)
class InferenceEvent:
    """One half of an exchange: a request's instances or a response's outputs."""

    kind: str  # "request" or "response"
    id: str
    model: str
    time: datetime | None
    rows: list[Any]  # per instance: its features (request) or its output (response)
    model_version: str | None = None


def read_cloudevent(headers: Mapping[str, str], body: bytes) -> InferenceEvent:
    """The request or response in one HTTP post (binary or structured mode)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError as error:
        raise BadInferenceEvent(f"body is not JSON: {error}") from None
    if lowered.get("content-type", "").startswith("application/cloudevents+json"):
        if not isinstance(document, dict):
            raise BadInferenceEvent("a structured CloudEvent must be a JSON object")
        attributes = {k.lower(): v for k, v in document.items() if k != "data"}
        data = document.get("data")
    else:
        attributes = {k[3:]: v for k, v in lowered.items() if k.startswith("ce-")}
        data = document
    for name in ("id", "type"):
        if not attributes.get(name):
            raise BadInferenceEvent(f"CloudEvent attribute {name!r} is missing")
    kind = {REQUEST_TYPE: "request", RESPONSE_TYPE: "response"}.get(attributes["type"])
    if kind is None:
        raise BadInferenceEvent(
            f"CloudEvent type {attributes['type']!r} is neither {REQUEST_TYPE} nor {RESPONSE_TYPE}"
        )
    model = attributes.get("inferenceservicename") or attributes.get("source")
    if not model:
        raise BadInferenceEvent("no model: neither ce-inferenceservicename nor ce-source")
    if not isinstance(data, dict):
        raise BadInferenceEvent(f"{kind} payload must be a JSON object")
    rows = _instances(data) if kind == "request" else _outputs(data)
    version = data.get("model_version")
    return InferenceEvent(
        kind,
        str(attributes["id"]),
        str(model),
        _time(attributes.get("time")),
        rows,
        str(version) if version else None,
    )


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:  # KServe writes nanoseconds; Python reads microseconds
        stamp = datetime.fromisoformat(_to_microseconds(str(text)))
    except ValueError:
        raise BadInferenceEvent(f"CloudEvent time {text!r} is not RFC 3339") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _to_microseconds(text: str) -> str:
    """``2021-04-10T00:23:26.080736102Z`` -> ``2021-04-10T00:23:26.080736+00:00``."""
    text = text.replace("Z", "+00:00")
    if "." not in text:
        return text
    head, rest = text.split(".", 1)
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"


def _instances(data: dict[str, Any]) -> list[Any]:
    if "instances" in data:  # v1
        instances = data["instances"]
    elif "inputs" in data:  # v2: a row per instance across the input tensors
        instances = _tensor_rows(data["inputs"], named=True)
    else:
        raise BadInferenceEvent("request has neither 'instances' (v1) nor 'inputs' (v2)")
    if not isinstance(instances, list) or not instances:
        raise BadInferenceEvent("request holds no instance")
    return instances


def _outputs(data: dict[str, Any]) -> list[Any]:
    if "predictions" in data:  # v1
        outputs = data["predictions"]
    elif "outputs" in data:  # v2: the first output tensor answers
        outputs = _tensor_rows(data["outputs"][:1], named=False)
    else:
        raise BadInferenceEvent("response has neither 'predictions' (v1) nor 'outputs' (v2)")
    if not isinstance(outputs, list) or not outputs:
        raise BadInferenceEvent("response holds no prediction")
    return outputs


def _tensor_rows(tensors: Any, named: bool) -> list[Any]:
    """Rows of v2 tensors (``data`` flat, row-major, first dimension the batch). Named:
    one dict per row, a tensor of shape [N] or [N, 1] a feature of its own name, [N, F]
    features ``<name>_<j>``; unnamed: the row's values (one value when one column)."""
    if not isinstance(tensors, list) or not tensors:
        raise BadInferenceEvent("v2 payload holds no tensor")
    columns: dict[str, list[Any]] = {}
    batch = None
    for tensor in tensors:
        try:
            name, shape, flat = str(tensor["name"]), list(tensor["shape"]), list(tensor["data"])
        except (KeyError, TypeError):
            raise BadInferenceEvent("a v2 tensor needs name, shape and data") from None
        n = int(shape[0]) if shape else 1
        width = len(flat) // n if n else 0
        if n <= 0 or width * n != len(flat) or (batch is not None and n != batch):
            raise BadInferenceEvent(f"tensor {name!r}: shape {shape} does not fit its data")
        batch = n
        if width == 1:
            columns[name] = flat
        else:
            for j in range(width):
                columns[f"{name}_{j}"] = flat[j::width]
    assert batch is not None
    if named:
        return [{c: values[i] for c, values in columns.items()} for i in range(batch)]
    rows = list(zip(*columns.values(), strict=True))
    return [row[0] if len(row) == 1 else list(row) for row in rows]


def prediction_events(
    request: InferenceEvent,
    response: InferenceEvent,
    feature_names: Sequence[str] = (),
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The prediction events of one exchange. Instances given as lists take their
    names from ``feature_names`` (the model's features in the monitor config)."""
    if len(request.rows) != len(response.rows):
        raise BadInferenceEvent(
            f"exchange {request.id}: {len(request.rows)} instances but "
            f"{len(response.rows)} predictions"
        )
    served = response.time or request.time or now or datetime.now(UTC)
    latency = None
    if request.time and response.time and response.time >= request.time:
        latency = (response.time - request.time).total_seconds() * 1000
    single = len(request.rows) == 1
    events = []
    for i, (instance, output) in enumerate(zip(request.rows, response.rows, strict=True)):
        event: dict[str, Any] = {
            "model_id": request.model,
            "model_version": response.model_version or request.model_version or UNKNOWN_VERSION,
            "prediction_id": request.id if single else f"{request.id}:{i}",
            "timestamp": served.isoformat(),
            "features": _features(instance, feature_names),
            "prediction": prediction_of(output),
        }
        if latency is not None:
            event["latency_ms"] = latency
        events.append(event)
    return events


def _features(instance: Any, names: Sequence[str]) -> dict[str, Any]:
    if isinstance(instance, dict):
        return instance
    if isinstance(instance, list):
        if names and len(names) == len(instance):
            return dict(zip(names, instance, strict=True))
        return {f"f{j}": value for j, value in enumerate(instance)}
    return {"f0": instance}


def prediction_of(output: Any) -> dict[str, Any]:
    """What the model answered, in the event's terms: an integer or a string is a class;
    a number in [0, 1] a score; another number a regression value; two probabilities
    the positive class's score; more, the most likely class (a score would claim a
    positive class there is none of).

    >>> prediction_of(1), prediction_of(0.8), prediction_of([0.3, 0.7])
    ({'label': '1'}, {'score': 0.8}, {'score': 0.7})
    """
    if isinstance(output, int | str):  # bool too
        return {"label": str(output)}
    if isinstance(output, float):
        return {"score": output} if 0.0 <= output <= 1.0 else {"value": output}
    if isinstance(output, dict):
        return {k: output[k] for k in ("score", "label", "value") if k in output}
    if isinstance(output, list) and output and all(isinstance(p, int | float) for p in output):
        if len(output) == 2:
            return {"score": float(output[1])}
        best = max(range(len(output)), key=output.__getitem__)
        return {"label": str(best)}
    raise BadInferenceEvent(f"cannot read a prediction from {str(output)[:80]!r}")
