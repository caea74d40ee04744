"""``streams reference build|publish``: profile training data once, and hand a model's
reference to the running workers through the compacted references topic."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_override,
    add_connect_timeout_argument,
    add_model_argument,
    fail,
    select_model,
    wait_for_kafka,
    with_overrides,
)
from streams.config.loading import load_config
from streams.config.models import MonitorConfig
from streams.errors import StreamsError
from streams.privacy.columns import redact_columns, redactor_for

if TYPE_CHECKING:
    from streams.windows.reference_profile import ReferenceProfile

PUBLISH_DESCRIPTION = (
    "Publish the configured reference of a model, or a new one profiled "
    "from --input on the configured reference's bins, to the compacted references "
    "topic. Workers read it at start and switch to it while running; a profile on "
    "other bins is refused (live windows are sketched on the configured bins)."
)


def print_warnings(command: str, where: str, lines: list[str]) -> None:
    """One ``streams COMMAND: warning: WHERE: ...`` line on stderr per warning; the exit
    status stays what the command decides."""
    for line in lines:
        print(f"streams {command}: warning: {where}: {line}", file=sys.stderr)


def build(args: argparse.Namespace) -> int:
    """Handler of ``streams reference build``: writes the profile to --output."""
    from tqdm import tqdm

    from streams.offline.columns import read_columns
    from streams.windows.reference_profile import (
        build_profile,
        categorical_names,
        reference_warnings,
    )

    try:
        types, redactor = None, None
        if args.config:
            model = select_model(load_config(args.config), args.config, args.model)
            types, redactor = model.features, redactor_for(model.pii)
        columns = read_columns(Path(args.input), categorical=categorical_names(types))
        if redactor is not None:  # live events arrive redacted: so must the reference
            columns = redact_columns(redactor, columns)
        with tqdm(
            total=len(types or columns), desc="profiling features", unit="feature", disable=None
        ) as bar:
            profile = build_profile(
                columns, types, bins=args.bins, source=args.input, progress=lambda _: bar.update()
            )
    except (StreamsError, ValueError, OSError) as exc:
        return fail(str(exc))
    print_warnings("reference build", args.input, reference_warnings(profile))
    Path(args.output).write_bytes(profile.to_json())
    print(f"{args.output}: {profile.rows} rows, {len(profile.features)} features")
    return EXIT_OK


def _audit_publish(config: MonitorConfig, model_id: str, profile: ReferenceProfile) -> None:
    """The publish on the audit log, with the SHA-256 of the profile's bytes."""
    import hashlib

    from streams.audit.oneshot import record_action

    details = {
        "model": model_id,
        "source": str(profile.source),
        "rows": profile.rows,
        "sha256": hashlib.sha256(profile.to_json()).hexdigest(),
    }
    record_action(config, "reference publish", "reference_published", details)


def publish(args: argparse.Namespace) -> int:
    """Handler of ``streams reference publish``: running workers switch to the profile."""
    from streams.offline.columns import read_columns
    from streams.windows.reference_profile import (
        build_profile,
        categorical_names,
        load_reference,
    )
    from streams.windows.reference_updates import publish_reference

    try:
        config = with_overrides(load_config(args.config), args)
        model = select_model(config, args.config, args.model)
        redactor = redactor_for(model.pii)
        profile = load_reference(model.reference, model.features, redactor)
        if args.input:
            names = categorical_names(model.features)
            columns = read_columns(Path(args.input), categorical=names)
            if redactor is not None:
                columns = redact_columns(redactor, columns)
            profile = build_profile(columns, model.features, source=args.input, bins_from=profile)
        topic = config.kafka.topics.references
        kafka = config.kafka
        wait_for_kafka(kafka.bootstrap, args, "reference publish", security=kafka.security)
        size = publish_reference(kafka.bootstrap, topic, model.id, profile, security=kafka.security)
        _audit_publish(config, model.id, profile)
    except (StreamsError, ValueError, OSError) as exc:
        return fail(str(exc))
    print(
        f"{topic}: published the reference of {model.id} ({profile.rows} rows, "
        f"{len(profile.features)} features, {size} bytes); running workers switch to it"
    )
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reference`` command group: ``build`` and ``publish``."""
    p = sub.add_parser("reference", help="build reference profiles")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    r = actions.add_parser(
        "build",
        help="profile a training-data file (CSV, Parquet or JSONL)",
        description="Profile the reference data once: quantile bins, "
        "histograms, category counts and data-quality rates per feature.",
    )
    r.add_argument("--input", required=True, help="data file: .csv, .parquet or .jsonl")
    r.add_argument("--output", required=True, help="profile to write (.json)")
    r.add_argument("--config", help="take feature names and types from this monitor config")
    add_model_argument(r)
    r.add_argument(
        "--bins", type=int, default=10, help="quantile bins per numeric feature (default: 10)"
    )
    r.set_defaults(func=build)
    r = actions.add_parser(
        "publish",
        help="publish a model's reference to the references topic (workers pick it up)",
        description=PUBLISH_DESCRIPTION,
    )
    r.add_argument("--config", required=True, help="monitor config YAML")
    add_model_argument(r)
    r.add_argument("--input", help="new reference data (.csv, .parquet, .jsonl)")
    add_bootstrap_override(r)
    add_connect_timeout_argument(r)
    r.set_defaults(func=publish)
