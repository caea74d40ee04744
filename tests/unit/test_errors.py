"""The one error root: every exception the package defines derives from StreamsError,
says in its docstring what the operator should do, and shadows no builtin name."""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil

import streams
from streams.errors import StreamsError

#: Run as a script, this module exits: importing it would run the CLI.
NOT_IMPORTABLE = frozenset({"streams.__main__"})


def _defined_exceptions() -> list[type[BaseException]]:
    """Every exception class defined (not merely imported) in a module of the package."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(streams.__path__, prefix="streams."):
        if info.name in NOT_IMPORTABLE:
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("streams."):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


EXCEPTIONS = _defined_exceptions()


def test_the_walk_finds_the_package_errors() -> None:
    """Guards the walk itself: a walk that imports nothing would pass every check below."""
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"StreamsError", "ConfigError", "BrokerError", "ReferenceProfileError"} <= names


def test_every_error_derives_from_streams_error() -> None:
    strays = [
        f"{c.__module__}.{c.__qualname__}" for c in EXCEPTIONS if not issubclass(c, StreamsError)
    ]
    assert strays == []


def test_every_error_has_a_one_line_docstring() -> None:
    """The docstring is the operator's hint: present, written for this class, one line."""
    missing = [
        f"{c.__module__}.{c.__qualname__}"
        for c in EXCEPTIONS
        if not (doc := c.__dict__.get("__doc__")) or "\n" in doc.strip()
    ]
    assert missing == []


def test_no_error_shadows_a_builtin() -> None:
    shadowing = [
        f"{c.__module__}.{c.__qualname__}" for c in EXCEPTIONS if hasattr(builtins, c.__name__)
    ]
    assert shadowing == []
