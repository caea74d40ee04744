"""Versioned byte envelopes for state and partials: one version byte, then JSON.

Tables and topics carry these explicit bytes, never pickles, so that a worker can
refuse (with a clear error) state written by an incompatible version.
"""

from __future__ import annotations

from typing import Any

import orjson


def pack(version: int, body: Any) -> bytes:
    return bytes([version]) + orjson.dumps(body)


def unpack(raw: bytes, version: int, what: str) -> Any:
    if not raw or raw[0] != version:
        found = raw[0] if raw else None
        raise ValueError(f"unsupported {what} version {found!r} (this worker reads {version})")
    return orjson.loads(raw[1:])
