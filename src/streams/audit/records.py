"""One audit record, its canonical bytes and its SHA-256: the links of the chain.

A record's ``hash`` is the SHA-256 of its canonical JSON without the ``hash`` key
(keys sorted, no spaces, UTF-8); ``prev`` is the previous record's ``hash`` in the
same writer's chain, :data:`GENESIS` for the first. Canonical bytes, not the bytes
as stored, are hashed, so a file re-indented by a viewer still verifies, and any
change of a value does not.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = ["GENESIS", "canonical", "file_sha256", "make_record", "record_hash"]

#: ``prev`` of the first record of every chain.
GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes the hash is computed over: the record less its ``hash``, keys sorted."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def record_hash(record: dict[str, Any]) -> str:
    """Hex SHA-256 of :func:`canonical`."""
    return hashlib.sha256(canonical(record)).hexdigest()


def make_record(
    writer: str,
    seq: int,
    prev: str,
    actor: dict[str, str],
    action: str,
    details: dict[str, Any],
    ts: datetime | None = None,
) -> dict[str, Any]:
    """The next record of ``writer``'s chain, its ``hash`` filled in."""
    when = (ts or datetime.now(UTC)).astimezone(UTC)
    record: dict[str, Any] = {
        "writer": writer,
        "seq": seq,
        "ts": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor": actor,
        "action": action,
        "details": details,
        "prev": prev,
    }
    record["hash"] = record_hash(record)
    return record


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes: which config a component loaded."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
