"""The ``streams`` command: the top-level parser, and dispatch to one module per
sub-command (each module's ``register`` adds its parser and handler)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from streams.cli import (
    alert_router,
    audit,
    config_check,
    demo,
    drift,
    explain,
    gateway,
    kafka,
    postmortem,
    reference,
    schemas,
    silence,
    simulate,
    telemetry_agent,
    worker,
)

#: In the order ``streams --help`` lists them.
COMMANDS = (
    worker,
    config_check,
    reference,
    schemas,
    demo,
    kafka,
    simulate,
    gateway,
    telemetry_agent,
    alert_router,
    drift,
    explain,
    postmortem,
    silence,
    audit,
)

EXAMPLES = """examples:
  streams demo                                  # broker + worker + silent-zeros simulator
  streams kafka start                           # local broker on 127.0.0.1:9092
  streams reference build --input train.parquet --output ref.json --config monitor.yaml
  streams config check monitor.yaml
  streams drift --reference train.parquet --current today.parquet
  streams postmortem --config monitor.yaml --model m --from 2026-01-01T00:00Z --to 2026-01-01T02:00Z
  streams worker --config monitor.yaml --print-alerts
  streams explain serve --config monitor.yaml   # SHAP values of the explanation tier
"""


def _version() -> str:
    """The installed distribution's version (a source checkout not installed: unknown)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("streams")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The ``streams`` parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="streams",
        description="Streaming ML monitoring on Apache Kafka: drift, data quality and "
        "performance, in real time.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"streams {_version()}", help="show the version"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's) and run the sub-command; its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE  # as a shell reports a command killed by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
