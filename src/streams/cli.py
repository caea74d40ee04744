"""The ``streams`` command: one sub-command per job, each registered by its own package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from streams.kafka.cli import register as register_kafka
from streams.simulator.cli import register as register_simulate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streams",
        description="Streaming ML monitoring on Apache Kafka: drift, data quality and "
        "performance, in real time.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in (register_kafka, register_simulate):
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
