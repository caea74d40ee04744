"""The ``streams`` parser: every command module registers its command, every leaf
has a handler, and the commands that fail before Kafka say so in one line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streams.cli.main import COMMANDS, build_parser, main


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _leaves(parser: argparse.ArgumentParser, path: str = "") -> dict[str, argparse.ArgumentParser]:
    children = _subcommands(parser)
    if not children:
        return {path: parser}
    found: dict[str, argparse.ArgumentParser] = {}
    for name, child in children.items():
        found.update(_leaves(child, f"{path} {name}".strip()))
    return found


def test_every_command_module_adds_one_command() -> None:
    """Each module in COMMANDS registers exactly one top-level command of its own."""
    names = []
    for module in COMMANDS:
        sub = argparse.ArgumentParser().add_subparsers()
        module.register(sub)
        assert len(sub.choices) == 1, module.__name__
        names.extend(sub.choices)
    assert list(_subcommands(build_parser())) == names
    assert len(set(names)) == len(names)


def test_every_leaf_command_has_a_handler() -> None:
    leaves = _leaves(build_parser())
    assert {"worker", "config check", "reference build", "kafka start", "silence add"} <= set(
        leaves
    )
    for path, parser in leaves.items():
        assert callable(parser.get_default("func")), path


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in _subcommands(build_parser()):
        assert f"    {name}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["silence", "add", "--model", "ghost", "--category", "gpu", "--until", "1h"], "no model"),
        (
            ["silence", "add", "--model", "m", "--category", "gpu", "--until", "2000-01-01"],
            "future",
        ),
        (["reference", "publish", "--model", "ghost"], "no model 'ghost'"),
    ],
)
def test_config_errors_are_one_line_before_any_kafka(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("models: [{id: m, features: {x: numeric}, reference: ref.json}]\n")
    extra = ["--reason", "maintenance"] if argv[:2] == ["silence", "add"] else []
    assert main([*argv, *extra, "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err and err.startswith("streams")
