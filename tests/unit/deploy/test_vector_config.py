"""deploy/vector/vector.toml parses, ships the worker's log file into Loki, and every
field it reads is one the JSON formatter writes."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path

import orjson

from streams.json_logs import CONTEXT_FIELDS, JSON_FIELDS, JsonFormatter, log_fields

VECTOR = Path(__file__).parents[3] / "deploy" / "vector" / "vector.toml"
#: What the remap adds itself (Vector's event timestamp).
SET_BY_REMAP = {"timestamp"}


def _fields_read(config: dict) -> set[str]:
    remap = config["transforms"]["streams_parsed"]["source"]
    read = set(re.findall(r"(?<![\w)])\.(\w+)", remap)) - SET_BY_REMAP
    templates = config["sinks"]["loki"]["labels"].values()
    return read | {m for t in templates for m in re.findall(r"\{\{\s*(\w+)\s*\}\}", t)}


def test_the_snippet_reads_only_fields_the_formatter_writes() -> None:
    config = tomllib.loads(VECTOR.read_text())
    assert config["sources"]["streams_worker"]["include"][0].endswith("worker.log")
    assert config["sinks"]["loki"]["type"] == "loki"
    assert config["sinks"]["loki"]["endpoint"].startswith("http://127.0.0.1")
    read = _fields_read(config)
    assert {"ts", "level", "logger", "model"} <= read
    record = logging.LogRecord("streams.worker", logging.WARNING, __file__, 1, "m", None, None)
    with log_fields(model="fraud"):
        line = orjson.loads(JsonFormatter().format(record))
    assert read <= set(line) <= set(JSON_FIELDS) | set(CONTEXT_FIELDS) | {"exc"}
