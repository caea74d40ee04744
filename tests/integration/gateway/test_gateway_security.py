"""``streams gateway`` with the config's ``gateway.tls`` and ``gateway.basic_auth``, on
the real broker: HTTPS with a certificate the test makes with openssl, 401 without or
with wrong credentials, 202 with the right ones, and the password in no output."""

from __future__ import annotations

import base64
import secrets
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import yaml
from tests.integration.conftest import Deployment, read_topic
from tests.integration.gateway.test_gateway import start_gateway
from tests.integration.security.conftest import make_ca, make_server_keystore

from streams.devtools.processes import stop_process_group
from streams.devtools.simulator.model import EventGenerator

pytestmark = pytest.mark.integration
USER = "kserve"


def request(
    url: str, context: ssl.SSLContext, auth: str | None = None, body: object = None
) -> tuple[int, bytes, str | None]:
    """(status, body, WWW-Authenticate) of a GET, or a POST of ``body`` as JSON."""
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    data = None if body is None else orjson.dumps(body)
    sent = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=10, context=context) as response:
            return response.status, response.read(), None
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["WWW-Authenticate"]


@dataclass
class SecuredGateway:
    deployment: Deployment
    url: str
    password: str
    trusting: ssl.SSLContext
    config: Path


def secured_config(d: Deployment, password_file: Path) -> Path:
    """The deployment's config with HTTPS (a certificate for 127.0.0.1 signed by a CA
    made here) and basic auth."""
    make_ca(d.workdir, "gateway-ca")
    make_server_keystore(d.workdir, "gateway-ca", secrets.token_hex(8))
    body = yaml.safe_load(d.config_path.read_text())
    body["gateway"] = {
        "tls": {
            "cert_file": str(d.workdir / "server.pem"),
            "key_file": str(d.workdir / "server.key"),
        },
        "basic_auth": {"username": USER, "password_file": str(password_file)},
    }
    config = d.workdir / "gateway.yaml"
    config.write_text(yaml.safe_dump(body))
    return config


@pytest.fixture
def secured(deploy) -> Iterator[SecuredGateway]:
    d = deploy()
    password = secrets.token_hex(16)
    password_file = d.workdir / "gateway.password"
    password_file.write_text(password + "\n")
    config = secured_config(d, password_file)
    trusting = ssl.create_default_context(cafile=str(d.workdir / "gateway-ca.pem"))

    def ready(url: str) -> bool:
        return request(f"{url}/healthz", trusting, f"{USER}:{password}")[0] == 200

    proc, url = start_gateway(d, config=config, scheme="https", ready=ready)
    try:
        yield SecuredGateway(d, url, password, trusting, config)
    finally:
        stop_process_group(proc, 30)


def test_only_the_right_credentials_over_https_get_in(secured: SecuredGateway) -> None:
    d, url, trusting = secured.deployment, secured.url, secured.trusting
    event = EventGenerator(seed=8).generate([time.time()]).to_events()[0]
    right, answers = f"{USER}:{secured.password}", []
    for wrong in (None, f"{USER}:{secured.password[:-1]}", f"other:{secured.password}"):
        status, body, challenge = request(f"{url}/v1/predictions", trusting, wrong, event)
        assert (status, challenge) == (401, 'Basic realm="gateway"')
        answers.append(body)
    status, body, _ = request(f"{url}/v1/predictions", trusting, right, event)
    assert (status, orjson.loads(body)["message"]) == (202, "queued 1 prediction(s)")
    status, metrics, _ = request(f"{url}/metrics", trusting, right)
    assert status == 200
    assert b'streams_gateway_requests_total{code="401",route="auth"} 3.0' in metrics
    assert request(f"{url}/metrics", trusting)[0] == 401
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not read_topic(d.bootstrap, d.topic("predictions")):
        time.sleep(0.5)
    produced = read_topic(d.bootstrap, d.topic("predictions"))
    ids = {e["prediction_id"] for batch in produced for e in batch.get("predictions", [batch])}
    assert ids == {event["prediction_id"]}  # the refused posts queued nothing
    assert all(secured.password.encode() not in body for body in [*answers, metrics])


def test_no_plain_http_and_no_untrusted_certificate(secured: SecuredGateway) -> None:
    right = f"{USER}:{secured.password}"
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        request(f"{secured.url}/healthz", ssl.create_default_context(), right)
    plain = secured.url.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"{plain}/healthz", timeout=10)


def test_the_password_is_in_no_log_line(secured: SecuredGateway) -> None:
    right = f"{USER}:{secured.password}"
    assert request(f"{secured.url}/v1/predictions", secured.trusting, right, {"x": 1})[0] == 400
    assert request(f"{secured.url}/healthz", secured.trusting, "x:" + secured.password)[0] == 401
    logs = list(secured.deployment.workdir.glob("gateway-*.log"))
    assert logs and all(secured.password not in log.read_text() for log in logs)
    assert "https://127.0.0.1" in logs[0].read_text()


@pytest.mark.parametrize("problem", ["missing", "empty"])
def test_an_unusable_password_file_is_one_line_and_exit_1(deploy, problem: str) -> None:
    d = deploy()
    password_file = d.workdir / "none.password"
    if problem == "empty":
        password_file.write_text("\n")
    config = secured_config(d, password_file)
    done = subprocess.run(
        [sys.executable, "-m", "streams", "gateway", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("streams gateway: error: gateway.basic_auth.password_file: ")
    assert str(password_file) in lines[0]
