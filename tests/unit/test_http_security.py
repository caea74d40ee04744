"""The credential check both HTTP servers use: the configured user and password only,
an empty password file refused, the password in no repr."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from streams.config.models import MetricsBasicAuth
from streams.http_security import BasicAuthGuard, read_password


def header(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_the_guard_admits_the_configured_credentials_only(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("pä55:word\nsecond line\n")
    guard = BasicAuthGuard(MetricsBasicAuth(username="prom", password_file=secret), "x")
    assert guard.admits(header("prom:pä55:word"))
    refused = [None, "", header("prom:pä55:wor"), header("prom:second line"), "Basic", "é"]
    assert not any(guard.admits(h) for h in [*refused, header("Prom:pä55:word")])
    assert guard.challenge == 'Basic realm="x"'
    assert "pä55" not in repr(guard)


@pytest.mark.parametrize("text", ["", "\n", "\nsecret\n"])
def test_an_empty_first_line_is_no_password(tmp_path: Path, text: str) -> None:
    secret = tmp_path / "password"
    secret.write_text(text)
    with pytest.raises(OSError, match="the password file is empty"):
        read_password(secret)


def test_an_unreadable_password_file_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_password(tmp_path / "none")
