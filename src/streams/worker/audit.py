"""The worker's audit events: the config it loaded (with its SHA-256) and each model
version it sees for the first time, on its own chain in ``data_dir/audit.jsonl`` and
the audit topic. Versions already in that file are not recorded again after a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from streams.audit.records import file_sha256
from streams.audit.writer import AuditLog
from streams.config.models import MonitorConfig

__all__ = ["AUDIT_FILE", "WorkerAudit"]

AUDIT_FILE = "audit.jsonl"
VERSION_SEEN = "model_version_first_seen"


def _recorded_versions(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    seen = set()
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
            if record["action"] == VERSION_SEEN:
                seen.add((record["details"]["model"], record["details"]["model_version"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # `streams audit verify --file` names a bad line; the worker goes on
    return seen


class WorkerAudit:
    def __init__(self, config: MonitorConfig) -> None:
        path = config.worker.data_dir / AUDIT_FILE
        self.log = AuditLog(
            "worker",
            config.kafka.bootstrap,
            config.kafka.topics.audit,
            path,
            security=config.kafka.security,
        )
        #: (model, version) pairs on record; stage 1 checks it per event, so a plain set
        self.versions = _recorded_versions(path)

    def config_loaded(self, config: MonitorConfig, path: str | None) -> None:
        if path is None:  # the demo config: no file, hash its canonical dump
            digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
        else:
            digest = file_sha256(path)
        models = [m.id for m in config.models]
        self.log.append("config_loaded", {"path": path, "sha256": digest, "models": models})

    def model_version(self, model_id: str, version: str) -> None:
        """Record a version not on record yet (callers check ``versions`` first)."""
        self.versions.add((model_id, version))
        self.log.append(VERSION_SEEN, {"model": model_id, "model_version": version})
