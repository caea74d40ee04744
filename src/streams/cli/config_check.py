"""``streams config check FILE``: validate a monitor config and the references it names."""

from __future__ import annotations

import argparse

from streams.cli.common import EXIT_OK, fail
from streams.config.loading import load_config, require_references
from streams.errors import StreamsError
from streams.kafka.security import require_secrets
from streams.privacy.columns import redactor_for


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams config check``: exit 0 when valid, 1 with the first problem;
    a secret that is not set or a certificate that will not load is a problem too;
    a reference that will make windows drift for no reason (float-coded or unbounded
    categories) is a warning line, not a failure."""
    from streams.cli.reference import print_warnings
    from streams.windows.reference_profile import load_reference, reference_warnings

    try:
        config = load_config(args.file)
        require_references(config, args.file)
        require_secrets(config, args.file)
        for model in config.models:
            profile = load_reference(model.reference, model.features, redactor_for(model.pii))
            where = f"{args.file}: {model.id}: {model.reference}"
            print_warnings("config check", where, reference_warnings(profile))
    except StreamsError as exc:
        return fail(str(exc))
    names = ", ".join(f"{m.id} ({len(m.features)} features)" for m in config.models)
    print(f"{args.file}: ok: {names}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``config`` command group (one action: ``check``)."""
    p = sub.add_parser("config", help="validate a monitor config")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate FILE and its references; exit 1 when invalid",
        description="Validate a monitor config and load every reference it names. Each "
        "problem is named by file, key path and what is wrong, on one line; exit 0 when "
        "valid, 1 otherwise.",
    )
    check.add_argument("file", metavar="FILE", help="monitor config YAML to check")
    check.set_defaults(func=run)
