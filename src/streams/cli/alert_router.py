"""``streams alert-router``: deliver the ``alerts`` topic to PagerDuty by routing rules."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_argument,
    add_connect_timeout_argument,
    add_documented_command,
    add_log_format_argument,
    add_loglevel_argument,
    configure_logging,
    fail,
    kafka_security,
    positive_seconds,
    stop_on_signals,
    wait_for_kafka,
)
from streams.errors import StreamsError

__all__ = ["register"]

HELP = "deliver alerts to PagerDuty (Events API v2) by routing rules"

DESCRIPTION = """\
Consume alert state changes from --topic and send each one to the PagerDuty Events
API v2: a firing alert triggers, a resolved one resolves, both with the alert's
dedup_key. The first rule of --routes that matches the alert's model, category and
severity picks the team's routing key (from an environment variable or a secret
file; never logged). 429, 5xx and connection errors are retried with backoff for as
long as the router runs; a 400 sends the alert to --deadletter-topic with PagerDuty's
reason. An offset is committed only after its alert was delivered, dropped by a rule
or dead-lettered. Stops on SIGTERM or Ctrl-C after the alert in flight."""

EXAMPLES = """examples:
  streams alert-router --routes deploy/router/routes.yml --dry-run   # print, send nothing
  PAGERDUTY_PAGE_KEY=... PAGERDUTY_LOW_KEY=... \\
    streams alert-router --routes deploy/router/routes.yml --bootstrap kafka:9092

See docs/alert-routing.md for the routing file and the delivery guarantees.
"""


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the alerts come from, and where the undeliverable ones go."""
    add_bootstrap_argument(parser)
    parser.add_argument("--routes", required=True, metavar="FILE", help="routing file (YAML)")
    parser.add_argument("--topic", default="alerts", help="topic to consume (default: %(default)s)")
    parser.add_argument(
        "--deadletter-topic",
        default="deadletter",
        help="where invalid and rejected alerts go, with the reason (default: %(default)s)",
    )
    parser.add_argument(
        "--group",
        default="streams-alert-router",
        help="consumer group; its committed offsets are the router's progress "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--audit-topic",
        default="audit",
        help="where the routes file's hash and each delivery are recorded (docs/audit.md; "
        "default: %(default)s)",
    )


def _add_delivery_arguments(parser: argparse.ArgumentParser) -> None:
    """How the alerts reach PagerDuty: endpoint, start offset, retries, dry run."""
    from streams.router.pagerduty import DEFAULT_URL

    parser.add_argument(
        "--url", default=DEFAULT_URL, help="Events API v2 endpoint (default: %(default)s)"
    )
    parser.add_argument(
        "--start",
        choices=["earliest", "latest"],
        default="earliest",
        help="where a new group starts: earliest loses nothing, latest skips old alerts "
        "(default: %(default)s)",
    )
    for option, default, help_text in (
        ("--backoff-base", 1.0, "first retry delay; doubles per retry (default: %(default)g)"),
        ("--backoff-cap", 60.0, "longest retry delay (default: %(default)g)"),
        ("--http-timeout", 10.0, "timeout of one request to PagerDuty (default: %(default)g)"),
    ):
        parser.add_argument(
            option, type=positive_seconds, default=default, metavar="SECONDS", help=help_text
        )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print each event body (routing key masked) instead of sending; commits nothing",
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``alert-router`` sub-command."""
    parser = add_documented_command(subparsers, "alert-router", HELP, DESCRIPTION, EXAMPLES)
    _add_source_arguments(parser)
    _add_delivery_arguments(parser)
    add_connect_timeout_argument(parser, forever=True)
    add_loglevel_argument(parser)
    add_log_format_argument(parser)
    parser.set_defaults(func=run)
    return parser


def _audit(args: argparse.Namespace) -> Any:
    """The router's audit chain, opened with the routes file it loaded."""
    from streams.audit.records import file_sha256
    from streams.audit.writer import AuditLog

    audit = AuditLog("router", args.bootstrap, args.audit_topic, security=kafka_security(args))
    details = {"path": args.routes, "sha256": file_sha256(args.routes), "group": args.group}
    audit.append("config_loaded", details)
    return audit


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams alert-router``."""
    configure_logging(args.loglevel, args.log_format)
    from streams.backoff import Backoff
    from streams.json_logs import register_secret
    from streams.router.pagerduty import PagerDutySender
    from streams.router.rules import load_routes, resolve_keys
    from streams.router.service import AlertRouter

    try:
        security = kafka_security(args)
        routes = load_routes(args.routes)
        keys = resolve_keys(routes, args.routes, allow_missing=args.dry_run)
        for key in keys.values():
            if key is not None:  # from a secret file too: masked in every log line
                register_secret(key.get_secret_value())
        backoff = Backoff(base_s=args.backoff_base, cap_s=max(args.backoff_cap, args.backoff_base))
    except (StreamsError, ValueError) as exc:
        return fail(str(exc), "alert-router")
    router = AlertRouter(
        routes,
        keys,
        bootstrap=args.bootstrap,
        security=security,
        topic=args.topic,
        deadletter_topic=args.deadletter_topic,
        group=args.group,
        sender=PagerDutySender(args.url, backoff=backoff, timeout_s=args.http_timeout),
        dry_run=args.dry_run,
        start=args.start,
        audit=None if args.dry_run else _audit(args),
    )
    log = logging.getLogger("streams.router")
    log.info("routing %s on %s to %s (group %s)", args.topic, args.bootstrap, args.url, args.group)
    with stop_on_signals() as stop:
        try:
            if not wait_for_kafka(args.bootstrap, args, "alert-router", stop, security):
                return EXIT_OK
        except StreamsError as exc:
            return fail(str(exc), "alert-router")
        stats = router.run(stop)
    if router.audit is not None:
        router.audit.close()
    log.info(
        "stopped: %d delivered, %d dead-lettered, %d dropped, %d silenced, %d printed",
        stats.delivered,
        stats.deadlettered,
        stats.dropped,
        stats.silenced,
        stats.printed,
    )
    return EXIT_OK
