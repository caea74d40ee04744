"""/metrics: loopback by default, basic auth refusing wrong credentials, HTTPS with a
certificate the test makes with openssl."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from streams.config.models import MetricsBasicAuth, MetricsTLS
from streams.metrics_server import metrics_url, serve_metrics


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("streams_probe", "A probe.", registry=registry).inc(3)
    return registry


@pytest.fixture
def servers() -> Iterator[list]:
    started: list = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def get(url: str, auth: str | None = None, context: ssl.SSLContext | None = None) -> str:
    request = urllib.request.Request(url)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        return response.read().decode()


def test_it_listens_on_loopback_by_default(registry, servers) -> None:
    server = serve_metrics(0, registry=registry)
    servers.append(server)
    assert server.server_address[0] == "127.0.0.1"
    body = get(metrics_url("127.0.0.1", server.server_port, None))
    assert "streams_probe_total 3.0" in body


def test_basic_auth_admits_the_configured_user_only(registry, servers, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    auth = MetricsBasicAuth(username="prometheus", password_file=secret)
    server = serve_metrics(0, registry=registry, auth=auth)
    servers.append(server)
    url = metrics_url("127.0.0.1", server.server_port, None)
    assert "streams_probe_total 3.0" in get(url, "prometheus:s3cret")
    for wrong in (None, "prometheus:wrong", "other:s3cret", "prometheus:s3cret\n"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(url, wrong)
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"] == 'Basic realm="metrics"'


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_tls_serves_https_with_the_configured_certificate(
    registry, servers, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = MetricsTLS(cert_file=cert, key_file=key)
    server = serve_metrics(0, registry=registry, tls=tls)
    servers.append(server)
    url = metrics_url("127.0.0.1", server.server_port, tls)
    assert url.startswith("https://")
    trusting = ssl.create_default_context(cafile=str(cert))
    assert "streams_probe_total 3.0" in get(url, context=trusting)
    with pytest.raises(urllib.error.URLError):  # a client that does not trust it
        get(url, context=ssl.create_default_context())


def test_an_unreadable_certificate_is_an_error_before_serving(registry, tmp_path: Path) -> None:
    tls = MetricsTLS(cert_file=tmp_path / "none.pem", key_file=tmp_path / "none.key")
    with pytest.raises(OSError):
        serve_metrics(0, registry=registry, tls=tls)
