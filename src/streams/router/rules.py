"""The routing file: ordered rules from an alert's model, category and severity to a
PagerDuty route (team, routing key, dashboard), and a default route.

Validated by pydantic; every error is one line naming the file and the key path, as
for the monitor config, because the reader is usually fixing a deploy. Routing keys
are never in the file itself: a route names an environment variable or a secret
file, and the resolved keys are ``SecretStr`` so that no repr or log shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from streams.config.loading import read_yaml, validate
from streams.errors import StreamsError
from streams.events.models import AlertCategory, AlertEvent, Severity

__all__ = [
    "KEY_LENGTH",
    "Decision",
    "Match",
    "Route",
    "RoutesError",
    "RoutingConfig",
    "Rule",
    "load_routes",
    "parse_routes",
    "resolve_keys",
]

KEY_LENGTH = 32
"""PagerDuty integration (routing) keys are 32 characters; anything else is a 400."""


class RoutesError(StreamsError, ValueError):
    """The routing file is invalid or a key is missing: fix what it names (never shows a key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absolute_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an absolute http(s) URL")
    return value


class Match(_Strict):
    """What a rule matches; an absent field matches anything, a list matches any of it."""

    model: list[str] | None = Field(default=None, min_length=1)
    category: list[AlertCategory] | None = Field(default=None, min_length=1)
    severity: list[Severity] | None = Field(default=None, min_length=1)

    def matches(self, alert: AlertEvent) -> bool:
        """An alert without a model (infrastructure) never matches a ``model`` list."""
        return (
            (self.model is None or alert.model_id in self.model)
            and (self.category is None or alert.category in self.category)
            and (self.severity is None or alert.severity in self.severity)
        )


class Route(_Strict):
    """Where matching alerts go: a team's PagerDuty service, or nowhere (``drop``)."""

    team: str | None = Field(default=None, min_length=1)
    routing_key_env: str | None = Field(default=None, min_length=1)
    routing_key_file: Path | None = None
    dashboard_url: str | None = None
    drop: bool = False

    _url = field_validator("dashboard_url")(_absolute_url)

    @model_validator(mode="after")
    def _one_key(self) -> Route:
        keys = (self.routing_key_env is not None) + (self.routing_key_file is not None)
        if self.drop:
            if keys:
                raise ValueError("a drop route takes no routing key")
            return self
        if keys != 1:
            raise ValueError("set exactly one of routing_key_env and routing_key_file")
        if self.team is None:
            raise ValueError("team is required (it is sent in custom_details)")
        return self

    @property
    def key_source(self) -> str:
        """Where the key comes from, for messages: never the key itself."""
        if self.routing_key_env is not None:
            return f"environment variable {self.routing_key_env}"
        return f"file {self.routing_key_file}"


class Decision(NamedTuple):
    """Which rule matched (its name, or ``rules.N``) and where its route is in the file
    (``rules.N.route`` or ``default``: the key of ``resolve_keys``)."""

    rule: str
    where: str
    route: Route


class Rule(_Strict):
    name: str | None = None
    match: Match = Match()
    route: Route


class RoutingConfig(_Strict):
    """Rules are tried in order; the first that matches wins, else ``default``."""

    runbook_base_url: str | None = Field(
        default=None,
        description="Prefix that turns an alert's repo-relative runbook path into a link; "
        "without it only absolute runbook URLs are linked.",
    )
    rules: list[Rule] = Field(default_factory=list)
    default: Route

    _url = field_validator("runbook_base_url")(_absolute_url)

    def route(self, alert: AlertEvent) -> Decision:
        """The first rule that matches, else the default route."""
        for index, rule in enumerate(self.rules):
            if rule.match.matches(alert):
                where = f"rules.{index}.route"
                return Decision(rule.name or f"rules.{index}", where, rule.route)
        return Decision("default", "default", self.default)

    def named_routes(self) -> list[tuple[str, Route]]:
        """Every route with its key path in the file, for messages."""
        named = [(f"rules.{i}.route", r.route) for i, r in enumerate(self.rules)]
        return [*named, ("default", self.default)]


def parse_routes(data: object, source: Path | str = "<routes>") -> RoutingConfig:
    """Validate already-parsed YAML; relative key files resolve against the file."""
    config, base = validate(RoutingConfig, data, source, RoutesError)

    def resolved(route: Route) -> Route:
        if route.routing_key_file is None:
            return route
        return route.model_copy(update={"routing_key_file": base / route.routing_key_file})

    rules = [r.model_copy(update={"route": resolved(r.route)}) for r in config.rules]
    return config.model_copy(update={"rules": rules, "default": resolved(config.default)})


def load_routes(path: Path | str) -> RoutingConfig:
    return parse_routes(read_yaml(path, RoutesError), Path(path))


def resolve_keys(
    config: RoutingConfig,
    source: Path | str = "<routes>",
    environ: Mapping[str, str] | None = None,
    *,
    allow_missing: bool = False,
) -> dict[str, SecretStr | None]:
    """The routing key of every non-drop route, by its place in the file
    (``Decision.where``), read once at start so that a missing or malformed key fails
    the start, not the first page at 3 a.m.

    ``allow_missing`` (dry runs) maps a missing key to None instead of failing.
    """
    environ = os.environ if environ is None else environ
    keys: dict[str, SecretStr | None] = {}
    for where, route in config.named_routes():
        if route.drop:
            continue
        value: str | None
        if route.routing_key_env is not None:
            field = "routing_key_env"
            value = environ.get(route.routing_key_env)
            problem = "is not set" if value is None else "is empty"
        else:
            assert route.routing_key_file is not None
            field = "routing_key_file"
            try:
                value = route.routing_key_file.read_text().strip()
                problem = "is empty"
            except OSError as exc:
                value, problem = None, f"cannot be read: {exc.strerror}"
        if not value:
            if allow_missing:
                keys[where] = None
                continue
            raise RoutesError(f"{source}: {where}.{field}: {route.key_source} {problem}")
        if len(value) != KEY_LENGTH:
            raise RoutesError(
                f"{source}: {where}.{field}: the key in {route.key_source} has "
                f"{len(value)} characters, a PagerDuty routing key has {KEY_LENGTH}"
            )
        keys[where] = SecretStr(value)
    return keys
