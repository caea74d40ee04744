"""Personal data kept off the topics: per-field redaction, applied where an event is
made (the producer client) and again wherever one is read.

Four actions on a feature or segment: ``drop`` it; ``hash`` it with a keyed HMAC-SHA256
(``h:`` and 16 hex digits: a categorical keeps its distribution, so drift on it still
works, but the value cannot be read back or guessed without the key); ``mask`` a
string but its last N characters; ``bucketize`` a number to the lower edge of its
bucket. Every action is idempotent (a hashed value is left as it is, a mask or a
bucket edge maps to itself), so enforcing the rules again downstream changes nothing
that the client already redacted, and ``leaks`` can tell a redacted event from one
that is not.

The hash key comes from an environment variable or a file, never from the config
itself, and appears in no repr, log or error.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.errors import StreamsError

HASHED = re.compile(r"^h:[0-9a-f]{16}$")
#: The parts of an event a rule may name: ``features.<name>`` or ``segments.<name>``.
SECTIONS = ("features", "segments")


class RedactionError(StreamsError, ValueError):
    """The rules cannot be applied: a missing key, an unreadable key file."""


class MaskRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mask: int = Field(ge=0, description="Characters kept at the end; the rest become '*'.")


class BucketRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bucketize: list[float] = Field(
        min_length=1, description="Ascending bucket edges; a value becomes its bucket's lower edge."
    )

    @field_validator("bucketize")
    @classmethod
    def _ascending(cls, edges: list[float]) -> list[float]:
        if any(not math.isfinite(e) for e in edges) or edges != sorted(set(edges)):
            raise ValueError("bucket edges must be finite and strictly ascending")
        return edges


Rule = Literal["drop", "hash"] | MaskRule | BucketRule


class PiiConfig(BaseModel):
    """A model's ``pii:`` section: a rule per field, and where the hash key is."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    fields: dict[str, Rule] = Field(
        min_length=1, description="features.<name> or segments.<name>: drop, hash, mask, bucketize."
    )
    key_env: str | None = Field(default=None, description="Environment variable of the hash key.")
    key_file: Path | None = Field(default=None, description="File holding the hash key.")

    @field_validator("fields")
    @classmethod
    def _paths(cls, fields: dict[str, Rule]) -> dict[str, Rule]:
        for path in fields:
            section, _, name = path.partition(".")
            if section not in SECTIONS or not name:
                raise ValueError(f"{path!r}: a rule names features.<name> or segments.<name>")
        return fields

    @model_validator(mode="after")
    def _key_source(self) -> PiiConfig:
        hashing = any(rule == "hash" for rule in self.fields.values())
        if hashing and not (self.key_env or self.key_file):
            raise ValueError("hash rules need key_env or key_file (the key is never inline)")
        if self.key_env and self.key_file:
            raise ValueError("give key_env or key_file, not both")
        return self


def read_key(config: PiiConfig, environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The hash key, as the config says where it is (None when nothing hashes)."""
    if config.key_env:
        value = environ.get(config.key_env)
        if not value:
            raise RedactionError(f"pii.key_env: environment variable {config.key_env} is not set")
        return value.encode()
    if config.key_file:
        try:
            value = config.key_file.read_text().strip()
        except OSError as error:
            raise RedactionError(f"pii.key_file {config.key_file}: {error.strerror}") from None
        if not value:
            raise RedactionError(f"pii.key_file {config.key_file} is empty")
        return value.encode()
    return None


@dataclass(frozen=True)
class Redactor:
    """The rules of one model, ready to apply; ``key`` is required for hash rules."""

    rules: Mapping[str, Rule]
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.key is None and any(r == "hash" for r in self.rules.values()):
            raise RedactionError("hash rules need a key")

    @classmethod
    def from_config(cls, config: PiiConfig, environ: Mapping[str, str] = os.environ) -> Redactor:
        return cls(dict(config.fields), read_key(config, environ))

    def apply(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``event`` with every rule applied (the caller's dict untouched)."""
        out = dict(event)
        for section in SECTIONS:
            values = event.get(section)
            if not isinstance(values, Mapping):
                continue
            redacted = dict(values)
            for name in list(redacted):
                rule = self.rules.get(f"{section}.{name}")
                if rule == "drop":
                    del redacted[name]
                elif rule is not None:
                    redacted[name] = self.value(rule, redacted[name])
            out[section] = redacted
        return out

    def leaks(self, event: Mapping[str, Any]) -> list[str]:
        """The fields of ``event`` that its rules would still change: empty once
        redacted (by this key)."""
        after = self.apply(event)
        return [
            f"{section}.{name}"
            for section in SECTIONS
            if isinstance(event.get(section), Mapping)
            for name, value in event[section].items()
            if name not in after[section] or after[section][name] != value
        ]

    def value(self, rule: Rule, value: Any) -> Any:
        """One value under a (non-drop) rule; None stays None."""
        if value is None:
            return None
        if rule == "hash":
            return self.hash(value)
        if isinstance(rule, MaskRule):
            text = str(value)
            kept = text[-rule.mask :] if rule.mask else ""
            return "*" * (len(text) - len(kept)) + kept
        assert isinstance(rule, BucketRule)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return value  # not a number: the worker's validation says so, not this
        edges = rule.bucketize
        return edges[max(bisect.bisect_right(edges, value) - 1, 0)]

    def hash(self, value: Any) -> str:
        """``h:`` and the first 16 hex digits of HMAC-SHA256(key, value as text)."""
        text = str(value)
        if HASHED.match(text):
            return text
        assert self.key is not None
        return "h:" + hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()[:16]
