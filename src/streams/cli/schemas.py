"""``streams schemas``: write, or ``--check``, the JSON Schemas of every topic."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.cli.common import EXIT_OK, fail


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams schemas``: with --check, exit 1 when a file is out of date."""
    from streams.events.jsonschema import stale_files, write_schemas

    directory = Path(args.dir)
    if args.check:
        stale = stale_files(directory)
        if stale:
            return fail(f"out of date in {directory}: {', '.join(stale)} (run `streams schemas`)")
        print(f"{directory}: schemas up to date")
        return EXIT_OK
    written = write_schemas(directory)
    print(f"{directory}: wrote {', '.join(written) if written else 'nothing (up to date)'}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``schemas`` sub-command."""
    p = sub.add_parser("schemas", help="write (or --check) the JSON Schemas of every topic")
    p.add_argument(
        "--dir",
        default="schemas",
        metavar="DIR",
        help="folder of the .schema.json files, one per topic (default: %(default)s)",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a file is out of date")
    p.set_defaults(func=run)
