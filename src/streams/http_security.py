"""TLS and basic auth of the project's HTTP servers (the /metrics server, the
gateway): one password reader, one constant-time credential check and one server TLS
context, so that both admit and refuse exactly alike::

    guard = BasicAuthGuard(MetricsBasicAuth(username="prom", password_file=...), "metrics")
    guard.admits(request.headers.get("Authorization"))   # True only for prom's password
    context = server_tls_context(MetricsTLS(cert_file=..., key_file=...))

The password is read once, when the server starts, and kept only inside the guard;
neither its repr nor any message of this module holds it.
"""

from __future__ import annotations

import base64
import hmac
import ssl
from pathlib import Path

from streams.config.models import MetricsBasicAuth, MetricsTLS

__all__ = ["BasicAuthGuard", "read_password", "server_tls_context"]


def read_password(path: Path) -> str:
    """The password: the file's first line, without its line break. OSError when the
    file cannot be read or its first line is empty: an empty password would admit
    anyone who knows the user name."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise OSError(f"{path}: the password file is empty")
    return lines[0]


class BasicAuthGuard:
    """Admits the requests whose ``Authorization`` header carries the configured user
    and password; ``challenge`` is the ``WWW-Authenticate`` value of a 401."""

    def __init__(self, auth: MetricsBasicAuth, realm: str) -> None:
        token = base64.b64encode(f"{auth.username}:{read_password(auth.password_file)}".encode())
        self._expected = b"Basic " + token
        self.username = auth.username
        self.challenge = f'Basic realm="{realm}"'

    def admits(self, header: str | None) -> bool:
        """Compared in constant time, so the answer's timing tells nothing of the password."""
        given = (header or "").encode("latin-1", "replace")
        return hmac.compare_digest(given, self._expected)

    def __repr__(self) -> str:
        return f"BasicAuthGuard(username={self.username!r}, {self.challenge})"


def server_tls_context(tls: MetricsTLS) -> ssl.SSLContext:
    """A server context (TLS 1.2 at least) holding the configured certificate; OSError
    or ssl.SSLError when the files will not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=tls.cert_file, keyfile=tls.key_file)
    return context
