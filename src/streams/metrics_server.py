"""The /metrics server of the worker and the telemetry agent: loopback unless told
otherwise, with HTTPS and basic auth when configured.

prometheus-client serves TLS but has no basic auth, so the server is its WSGI app
behind the ``Authorization`` check of :mod:`streams.http_security` (the gateway's
too), on the standard library's threading WSGI server::

    server = serve_metrics(9108)                     # http://127.0.0.1:9108/metrics
    server = serve_metrics(9108, "0.0.0.0", tls=MetricsTLS(cert_file=..., key_file=...),
                           auth=MetricsBasicAuth(username="prom", password_file=...))
    server.shutdown(); server.server_close()
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app

from streams.config.models import MetricsBasicAuth, MetricsTLS
from streams.http_security import BasicAuthGuard, server_tls_context

DEFAULT_HOST = "127.0.0.1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the process open


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s are no news."""


def require_basic_auth(app: WsgiApp, guard: BasicAuthGuard) -> WsgiApp:
    """``app`` answering only the requests ``guard`` admits; 401 to any other."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if guard.admits(environ.get("HTTP_AUTHORIZATION")):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", guard.challenge), ("Content-Type", "text/plain")],
        )
        return [b"401 Unauthorized\n"]

    return guarded


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
        app = require_basic_auth(app, BasicAuthGuard(auth, "metrics"))
    server_class = _Server6 if ":" in host else _Server
    server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
    if tls is not None:
        try:
            server.socket = server_tls_context(tls).wrap_socket(server.socket, server_side=True)
        except (OSError, ssl.SSLError):
            server.server_close()
            raise
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def metrics_url(host: str, port: int, tls: MetricsTLS | None) -> str:
    scheme = "https" if tls is not None else "http"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}/metrics"
