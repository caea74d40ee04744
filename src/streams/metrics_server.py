"""The /metrics server of the worker and the telemetry agent: loopback unless told
otherwise, with HTTPS and basic auth when configured.

prometheus-client serves TLS but has no basic auth, so the server is its WSGI app
behind a small check of the ``Authorization`` header (compared in constant time),
on the standard library's threading WSGI server::

    server = serve_metrics(9108)                     # http://127.0.0.1:9108/metrics
    server = serve_metrics(9108, "0.0.0.0", tls=MetricsTLS(cert_file=..., key_file=...),
                           auth=MetricsBasicAuth(username="prom", password_file=...))
    server.shutdown(); server.server_close()
"""

from __future__ import annotations

import base64
import hmac
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app

from streams.config.models import MetricsBasicAuth, MetricsTLS

DEFAULT_HOST = "127.0.0.1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the process open


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s are no news."""


def read_password(path: Path) -> str:
    """The password: the file's first line, without its line break."""
    text = path.read_text(encoding="utf-8")
    return text.splitlines()[0] if text else ""


def require_basic_auth(app: WsgiApp, username: str, password: str) -> WsgiApp:
    """``app`` answering only requests with these credentials; 401 to any other."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    expected = f"Basic {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
        if hmac.compare_digest(given, expected):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Basic realm="metrics"'), ("Content-Type", "text/plain")],
        )
        return [b"401 Unauthorized\n"]

    return guarded


def tls_context(tls: MetricsTLS) -> ssl.SSLContext:
    """A server context (TLS 1.2 at least) holding the configured certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=tls.cert_file, keyfile=tls.key_file)
    return context


def serve_metrics(
    port: int,
    host: str = DEFAULT_HOST,
    registry: CollectorRegistry = REGISTRY,
    *,
    tls: MetricsTLS | None = None,
    auth: MetricsBasicAuth | None = None,
) -> WSGIServer:
    """Serve ``registry`` on a daemon thread; port 0 picks a free one
    (``server.server_port``). Raises OSError when the address is taken, and when a
    certificate or password file cannot be read."""
    app: WsgiApp = make_wsgi_app(registry)
    if auth is not None:
        app = require_basic_auth(app, auth.username, read_password(auth.password_file))
    server_class = _Server6 if ":" in host else _Server
    server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
    if tls is not None:
        try:
            server.socket = tls_context(tls).wrap_socket(server.socket, server_side=True)
        except (OSError, ssl.SSLError):
            server.server_close()
            raise
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def metrics_url(host: str, port: int, tls: MetricsTLS | None) -> str:
    scheme = "https" if tls is not None else "http"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}/metrics"
