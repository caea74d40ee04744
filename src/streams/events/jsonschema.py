"""JSON Schema files of every topic's events, generated from the pydantic models."""

from __future__ import annotations

from pathlib import Path

import orjson

from streams.events.models import TOPIC_MODELS


def schema_files() -> dict[str, bytes]:
    """File name -> JSON Schema text, exactly as checked in under ``schemas/``."""
    return {
        f"{name}.schema.json": orjson.dumps(
            model.model_json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        )
        + b"\n"
        for name, model in TOPIC_MODELS.items()
    }


def stale_files(directory: Path) -> list[str]:
    """Schema files that are missing or differ from their model."""
    return [
        name
        for name, text in schema_files().items()
        if not (directory / name).exists() or (directory / name).read_bytes() != text
    ]


def write_schemas(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    stale = stale_files(directory)
    for name, text in schema_files().items():
        if name in stale:
            (directory / name).write_bytes(text)
    return stale
