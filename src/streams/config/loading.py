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

from streams.config.models import KafkaSecurity, ModelConfig, MonitorConfig
from streams.config.problems import duplicate_keys, key_path, suggest_key
from streams.errors import StreamsError

__all__ = [
    "ConfigError",
    "load_config",
    "load_security",
    "one_line",
    "parse_config",
    "read_yaml",
    "require_references",
    "validate",
]

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(StreamsError, ValueError):
    """The monitor config is unreadable or invalid: fix the file and key the message names."""


def one_line(path: Path | str, exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """A pydantic error as one line: the file, then each key path and its problem; an
    unknown key of ``model`` gets the closest known key as a suggestion."""
    problems = []
    for err in exc.errors():
        hint = suggest_key(model, err["loc"]) if model and err["type"] == "extra_forbidden" else ""
        problems.append(f"{key_path(err['loc'])}: {err['msg']}{hint}")
    return f"{path}: " + "; ".join(problems)


def validate(
    model: type[ModelT], data: object, source: Path | str, error: type[ValueError]
) -> tuple[ModelT, Path]:
    """``data`` validated as ``model`` (else ``error`` as one line), and the folder its
    relative paths resolve against: the file's, or the working directory's."""
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        raise error(one_line(source, exc, model)) from None
    return validated, Path(source).parent if isinstance(source, Path) else Path.cwd()


def parse_config(data: object, source: Path | str = "<config>") -> MonitorConfig:
    """Validate already-parsed YAML; relative reference paths resolve against the file."""
    config, base = validate(MonitorConfig, data, source, ConfigError)
    models = [_resolved(m, base) for m in config.models]
    return config.model_copy(update={"models": models})


def _resolved(model: ModelConfig, base: Path) -> ModelConfig:
    """The model with its file paths (reference, explain artifact) made absolute."""
    update: dict[str, object] = {"reference": (base / model.reference).resolve()}
    if model.explain is not None:
        artifact = (base / model.explain.artifact).resolve()
        update["explain"] = model.explain.model_copy(update={"artifact": artifact})
    return model.model_copy(update=update)


def read_yaml(path: Path | str, error: type[ValueError]) -> object:
    """Parse a YAML file; unreadable files, syntax errors and keys written twice (YAML
    would keep the last silently) raise ``error`` as one line with the file and the line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        duplicates = list(duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader)))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        problem = getattr(exc, "problem", exc)
        raise error(f"{path}: not valid YAML at {where}: {problem}") from None
    if duplicates:
        raise error(f"{path}: " + "; ".join(duplicates))
    return data


def load_config(path: Path | str) -> MonitorConfig:
    """Read, validate and resolve the monitor config at ``path``; ConfigError otherwise."""
    return parse_config(read_yaml(path, ConfigError), Path(path))


def load_security(path: Path | str) -> KafkaSecurity:
    """The Kafka security settings of the commands that take no monitor config: a YAML
    file with the keys of the config's ``kafka.security``; ConfigError otherwise."""
    security, _ = validate(KafkaSecurity, read_yaml(path, ConfigError), path, ConfigError)
    return security


def require_references(config: MonitorConfig, source: Path | str) -> None:
    """ConfigError naming the file and key of every model whose reference file is
    missing: the commands that evaluate windows need them, those that build one do not."""
    missing = [
        f"models.{index}.reference: file not found: {model.reference} (model {model.id}; "
        "a relative path is read from the config's folder)"
        for index, model in enumerate(config.models)
        if not Path(model.reference).exists()
    ]
    if missing:
        raise ConfigError(f"{source}: " + "; ".join(missing))
