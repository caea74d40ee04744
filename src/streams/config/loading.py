"""Loading the monitor config: YAML in, a validated :class:`MonitorConfig` out.

Every problem is raised as one line naming the file, the key path and the problem,
because the person reading it is usually fixing a deploy; the routing file of the
alert router reuses the same reader and error format.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from streams.config.models import MonitorConfig
from streams.errors import StreamsError

__all__ = ["ConfigError", "load_config", "one_line", "parse_config", "read_yaml", "validate"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(StreamsError, ValueError):
    """The monitor config is unreadable or invalid: fix the file and key the message names."""


def one_line(path: Path | str, exc: ValidationError) -> str:
    """A pydantic error as one line: the file, then each key path and its problem."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{where}: {err['msg']}")
    return f"{path}: " + "; ".join(problems)


def validate(
    model: type[ModelT], data: object, source: Path | str, error: type[ValueError]
) -> tuple[ModelT, Path]:
    """``data`` validated as ``model`` (else ``error`` as one line), and the folder its
    relative paths resolve against: the file's, or the working directory's."""
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        raise error(one_line(source, exc)) from None
    return validated, Path(source).parent if isinstance(source, Path) else Path.cwd()


def parse_config(data: object, source: Path | str = "<config>") -> MonitorConfig:
    """Validate already-parsed YAML; relative reference paths resolve against the file."""
    config, base = validate(MonitorConfig, data, source, ConfigError)
    models = [
        m.model_copy(update={"reference": (base / m.reference).resolve()}) for m in config.models
    ]
    return config.model_copy(update={"models": models})


def read_yaml(path: Path | str, error: type[ValueError]) -> object:
    """Parse a YAML file; unreadable files and syntax errors raise ``error`` as one line
    with the file and the line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        problem = getattr(exc, "problem", exc)
        raise error(f"{path}: not valid YAML at {where}: {problem}") from None


def load_config(path: Path | str) -> MonitorConfig:
    """Read, validate and resolve the monitor config at ``path``; ConfigError otherwise."""
    return parse_config(read_yaml(path, ConfigError), Path(path))
