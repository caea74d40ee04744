"""The components' own logs as JSON lines, and no secret in any log line.

``JsonFormatter`` writes one object per record: ``ts``, ``level``, ``logger``,
``message``, and, where they apply, ``model``, ``partition``, ``window`` and
``prediction_id``, taken from ``extra=`` or from :func:`log_fields` around the code
that logs (a context variable: it follows asyncio tasks). Both formatters here mask
every secret :class:`Redactor` knows in the finished line, so a password that slips
into a message, an argument or a traceback is printed as ``********``.

    handler.setFormatter(JsonFormatter())
    with log_fields(model="fraud", partition=3):
        log.warning("window refused")   # {"model":"fraud","partition":3,...}
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "CONTEXT_FIELDS",
    "JSON_FIELDS",
    "MASK",
    "JsonFormatter",
    "Redactor",
    "TextFormatter",
    "log_fields",
    "register_secret",
    "resolve_format",
]

#: Keys every JSON line has; ``exc`` is added when the record has a traceback.
JSON_FIELDS = ("ts", "level", "logger", "message")
#: Keys a line has where they apply.
CONTEXT_FIELDS = ("model", "partition", "window", "prediction_id")
MASK = "********"
#: Environment variables whose values are secrets, by name.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY|_KEY$", re.I)
#: Shorter values would mask ordinary words.
MIN_SECRET_LEN = 6

_fields: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "streams_log_fields", default=None
)


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every record logged inside (nested calls add to the outer)."""
    token = _fields.set({**(_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


class Redactor:
    """The secret values to mask: those registered, and the values of environment
    variables whose names say they are secrets (read when the redactor is made)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.secrets = {v for k, v in env.items() if SECRET_NAME.search(k)}
        self.secrets |= _registered
        self.secrets = {s for s in self.secrets if len(s) >= MIN_SECRET_LEN}

    def __call__(self, text: str) -> str:
        for secret in self.secrets | _registered:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Mask ``value`` in every log line from now on (a key read from a secret file)."""
    if len(value) >= MIN_SECRET_LEN:
        _registered.add(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring for the keys)."""

    def __init__(self, *_: Any, redactor: Redactor | None = None, **__: Any) -> None:
        super().__init__()
        self.redact = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _fields.get() or {}
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, context.get(key))
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return self.redact(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    """The plain format, secrets masked too."""

    def __init__(self, fmt: str | None = None, *_: Any, **__: Any) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def resolve_format(choice: str | None) -> str:
    """``text`` or ``json``: an explicit choice, else text on a terminal, json otherwise
    (a service manager or container runtime collects stderr for a log shipper)."""
    if choice:
        return choice
    return "text" if sys.stderr.isatty() else "json"


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()
