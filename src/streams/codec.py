"""Versioned byte envelopes for state and messages: one version byte, then JSON.

Tables and topics carry these explicit bytes, never pickles, so that a worker can
refuse (with a clear error) state or messages written by an incompatible version.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.errors import StreamsError

#: Version of the messages on ``partials`` (window partials, watermarks, label partials).
PARTIAL_VERSION = 1
#: What partials began with before they carried a version: their JSON object.
_UNVERSIONED = ord("{")


class FormatError(StreamsError, ValueError):
    """Bytes of another format version, or damaged: run the version that wrote them."""


def pack(version: int, body: Any) -> bytes:
    return bytes([version]) + orjson.dumps(body)


def unpack(raw: bytes, version: int, what: str) -> Any:
    if not raw or raw[0] != version:
        found = raw[0] if raw else None
        raise FormatError(f"unsupported {what} version {found!r} (this worker reads {version})")
    try:
        return orjson.loads(raw[1:])
    except orjson.JSONDecodeError as error:
        raise FormatError(f"damaged {what} (version {version}): {error}") from None


def pack_partial(body: dict[str, Any]) -> bytes:
    """A message for ``partials``, as both stage 1 (windows and labels) write it."""
    return pack(PARTIAL_VERSION, body)


def unpack_partial(raw: bytes) -> dict[str, Any]:
    """A ``partials`` message; FormatError for another version, which the reader logs,
    counts and skips. Messages written before the version byte read as they were, so
    partials in flight across an upgrade are not lost.

    >>> unpack_partial(pack_partial({"kind": "watermark"})), unpack_partial(b'{"seq":1}')
    ({'kind': 'watermark'}, {'seq': 1})
    """
    if raw[:1] == bytes([_UNVERSIONED]):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise FormatError(f"damaged partial: {error}") from None
    body = unpack(raw, PARTIAL_VERSION, "partial")
    if not isinstance(body, dict):
        raise FormatError(f"partial is a {type(body).__name__}, not an object")
    return body
