"""The JSON log lines: their fields, the context fields where they apply, and no
secret in any line, whatever route it took into the record."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.json_logs import (
    CONTEXT_FIELDS,
    JSON_FIELDS,
    MASK,
    JsonFormatter,
    TextFormatter,
    log_fields,
    register_secret,
)

PASSWORD = "hunter2-Sup3r-s3cret"
FILE_KEY = "k" * 16 + "fedcba9876543210"


def _capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"streams.test.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def test_a_line_has_the_fields_and_the_context_where_it_applies() -> None:
    logger, out = _capture(JsonFormatter())
    logger.warning("plain")
    with log_fields(model="fraud", partition=3):
        logger.error("window %s refused", "w1", extra={"window": "12:00", "prediction_id": "p9"})
    plain, scoped = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert set(plain) == set(JSON_FIELDS)
    assert (plain["level"], plain["message"]) == ("warning", "plain")
    assert set(scoped) == set(JSON_FIELDS) | set(CONTEXT_FIELDS)
    assert (scoped["model"], scoped["partition"], scoped["window"]) == ("fraud", 3, "12:00")
    assert scoped["prediction_id"] == "p9" and scoped["message"] == "window w1 refused"


@pytest.mark.parametrize("make", [JsonFormatter, TextFormatter])
def test_no_secret_in_any_line(monkeypatch: pytest.MonkeyPatch, make: type) -> None:
    monkeypatch.setenv("STREAMS_SASL_PASSWORD", PASSWORD)
    register_secret(FILE_KEY)  # as the router does with a key read from a file
    logger, out = _capture(make())
    logger.info("connecting with password=%s", PASSWORD)
    logger.info("config %s", {"sasl": {"password": PASSWORD}, "key": FILE_KEY})
    logger.info("key in extra", extra={"model": FILE_KEY})
    try:
        raise ValueError(f"bad credentials {PASSWORD}")
    except ValueError:
        logger.exception("login failed")
    lines = out.getvalue().splitlines()
    assert len(lines) >= 4
    for line in lines:
        assert PASSWORD not in line and FILE_KEY not in line
    assert MASK in lines[0]


def test_the_router_logs_json_without_its_keys(tmp_path: Path) -> None:
    (tmp_path / "low.key").write_text(FILE_KEY + "\n")
    routes = tmp_path / "routes.yml"
    routes.write_text(
        "rules:\n  - name: page\n    match: {severity: [critical]}\n"
        "    route: {team: t, routing_key_env: PAGERDUTY_PAGE_KEY}\n"
        "default: {team: t, routing_key_file: low.key}\n"
    )
    env = {**os.environ, "PAGERDUTY_PAGE_KEY": "p" * 32, "STREAMS_DB_PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "streams", "alert-router", "--routes", str(routes)]
    command += ["--bootstrap", "127.0.0.1:1", "--connect-timeout", "1", "--log-format", "json"]
    done = subprocess.run(
        [*command, "--loglevel", "debug"], env=env, capture_output=True, timeout=60
    )
    lines = done.stderr.decode().splitlines()
    logged = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert logged and logged[0]["logger"] == "streams.router"
    for line in lines:
        assert "p" * 32 not in line and FILE_KEY not in line and PASSWORD not in line
