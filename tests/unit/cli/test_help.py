"""Every option of every sub-command says what it does, its default and its choices in
``--help``: the test walks every parser ``streams`` builds."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from streams.cli.main import build_parser, main

#: Options of commands another change owns; each entry must still lack help, so the
#: list cannot outlive its reason.
OWNED_ELSEWHERE: set[tuple[str, str]] = set()


def _parsers(
    parser: argparse.ArgumentParser, path: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}".strip())


def _options() -> Iterator[tuple[str, argparse.ArgumentParser, argparse.Action]]:
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                yield path, parser, action


def _problems(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    """What the option's help lacks: a text, its default, its choices."""
    text = action.help or ""
    if text == argparse.SUPPRESS:
        return []
    problems = []
    if not text.strip() or text.lstrip().startswith("(default"):
        problems.append("no help")
    takes_value = action.nargs != 0
    if takes_value and action.default not in (None, argparse.SUPPRESS) and "default" not in text:
        problems.append(f"default {action.default!r} not shown")
    if action.choices is not None:
        shown = parser.format_help()
        problems += [f"choice {c!r} not shown" for c in action.choices if str(c) not in shown]
    return problems


def _name(action: argparse.Action) -> str:
    return action.option_strings[-1] if action.option_strings else action.dest


def test_the_walk_reaches_every_command() -> None:
    paths = {path for path, _ in _parsers(build_parser())}
    assert {"worker", "config check", "kafka stop", "silence add", "demo", "schemas"} <= paths


@pytest.mark.parametrize(
    ("command", "option"),
    sorted({(p, _name(a)) for p, _, a in _options()}),
)
def test_every_option_has_help_with_its_default_and_choices(command: str, option: str) -> None:
    parser, action = next((pr, a) for p, pr, a in _options() if (p, _name(a)) == (command, option))
    problems = _problems(parser, action)
    if (command, option) in OWNED_ELSEWHERE:
        assert problems, f"{command} {option} has help now: drop it from OWNED_ELSEWHERE"
        return
    assert not problems, f"streams {command} {option}: {', '.join(problems)}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("streams ") and len(out.split()) >= 2
