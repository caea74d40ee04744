"""``streams gateway`` on the real broker, as a KServe InferenceService's logger would
use it: a request and its response (a batch of 3 instances) posted as CloudEvents
become 3 predictions that the worker evaluates in its window; bad posts get 400, a
gateway with no room 503."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from tests.integration.conftest import Deployment, read_topic

from streams.devtools.local_broker import free_ports
from streams.devtools.processes import stop_process_group
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, EventGenerator
from streams.gateway.kserve import REQUEST_TYPE, RESPONSE_TYPE

pytestmark = pytest.mark.integration


def post(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {
            **orjson.loads(error.read()),
            "retry_after": error.headers["Retry-After"],
        }


def cloudevent(kind: str, ce_id: str, time_: datetime) -> dict[str, str]:
    return {
        "Ce-Specversion": "1.0",
        "Ce-Type": REQUEST_TYPE if kind == "request" else RESPONSE_TYPE,
        "Ce-Source": "http://localhost:9081/",
        "Ce-Id": ce_id,
        "Ce-Time": time_.isoformat().replace("+00:00", "Z"),
        "Ce-Inferenceservicename": "sklearn-iris",
    }


def healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
        return response.status == 200


def start_gateway(
    d: Deployment,
    *extra: str,
    config: Path | None = None,
    scheme: str = "http",
    ready: Callable[[str], bool] = healthy,
) -> tuple[subprocess.Popen[bytes], str]:
    """The gateway on ``config`` (the deployment's by default), once ``ready(url)``."""
    (port,) = free_ports(1)
    log = (d.workdir / f"gateway-{port}.log").open("wb")
    command = [sys.executable, "-m", "streams", "gateway", "--config", str(config or d.config_path)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--model", f"sklearn-iris={DEFAULT_MODEL_ID}", *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if ready(url):
                return proc, url
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    stop_process_group(proc, 10)
    raise AssertionError((d.workdir / f"gateway-{port}.log").read_text())


@pytest.fixture
def gateway(deploy) -> Iterator[tuple[Deployment, str]]:
    d = deploy()
    d.start_worker()
    proc, url = start_gateway(d)
    try:
        yield d, url
    finally:
        stop_process_group(proc, 30)


def test_a_kserve_batch_of_three_is_evaluated_as_three_predictions(gateway) -> None:
    d, url = gateway
    events = EventGenerator(seed=5).generate([time.time()] * 3).to_events()
    served = datetime.now(UTC)
    response = {"predictions": [e["prediction"]["score"] for e in events]}
    # the response may come first: it waits for its request
    assert post(url, response, cloudevent("response", "ex-1", served))[0] == 202
    request = {"instances": [e["features"] for e in events]}
    status, body = post(url, request, cloudevent("request", "ex-1", served))
    assert (status, body["message"]) == (202, "queued 3 prediction(s)")
    window = int(served.timestamp()) // 60 * 60
    results = d.results({window}, timeout_s=120, counts={window: 3})
    assert results[window]["model_id"] == DEFAULT_MODEL_ID
    ids = {
        e["prediction_id"]
        for e in read_topic(d.bootstrap, d.topic("predictions"))
        for e in e.get("predictions", [e])
    }
    assert ids == {"ex-1:0", "ex-1:1", "ex-1:2"}
    assert read_topic(d.bootstrap, d.topic("deadletter")) == []


def test_bad_posts_get_400_with_the_reason_and_plain_events_are_taken(gateway) -> None:
    d, url = gateway
    now = datetime.now(UTC)
    status, body = post(
        url, {"instances": [1]}, {**cloudevent("request", "x", now), "Ce-Type": "x"}
    )
    assert status == 400 and "neither" in body["message"]
    event = EventGenerator(seed=6).generate([time.time()]).to_events()[0]
    status, body = post(f"{url}/v1/predictions", [event, {**event, "prediction_id": ""}])
    assert status == 400 and body["message"].startswith("event 1: prediction_id")
    assert post(f"{url}/v1/predictions", event)[0] == 202
    window = int(datetime.fromisoformat(event["timestamp"]).timestamp()) // 60 * 60
    d.results({window}, timeout_s=120, counts={window: 1})


def test_no_room_is_503_with_retry_after_not_a_blocked_caller(deploy) -> None:
    d = deploy()
    proc, url = start_gateway(d, "--max-waiting", "1", "--queue-size", "2")
    try:
        now = datetime.now(UTC)
        assert post(url, {"instances": [[1.0]]}, cloudevent("request", "a", now))[0] == 202
        status, body = post(url, {"instances": [[1.0]]}, cloudevent("request", "b", now))
        assert (status, body["retry_after"]) == (503, "1")
        events = EventGenerator(seed=7).generate([time.time()] * 3).to_events()
        status, body = post(f"{url}/v1/predictions", events)  # 3 events, room for 2
        assert (status, body["message"]) == (503, "the producer's queue is full")
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'streams_gateway_requests_total{code="503",route="cloudevent"} 1.0' in metrics
        assert "streams_gateway_unpaired_total" not in metrics or "full" not in metrics
    finally:
        stop_process_group(proc, 30)
