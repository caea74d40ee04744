"""``streams worker``: the monitoring worker (stage 1 and stage 2) on a monitor config."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.cli.common import (
    EXIT_INTERRUPTED,
    add_bootstrap_override,
    add_connect_timeout_argument,
    add_log_format_argument,
    add_loglevel_argument,
    config_or_demo,
    fail,
    non_negative_seconds,
    wait_for_kafka,
    with_overrides,
)
from streams.config.loading import require_references
from streams.errors import StreamsError
from streams.json_logs import resolve_format
from streams.worker.status import DEFAULT_EVERY_S

DESCRIPTION = (
    "Consume predictions, fold them into windowed sketches, "
    "evaluate each window against the reference and emit results, alerts "
    "and Prometheus metrics. Stops cleanly on SIGTERM or Ctrl-C."
)


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams worker``: runs until SIGTERM or Ctrl-C."""
    from streams.worker.run import run_worker

    try:
        config = with_overrides(config_or_demo(args.config), args)
        require_references(config, args.config or "the demo config")
        wait_for_kafka(config.kafka.bootstrap, args, "worker", security=config.kafka.security)
        log_file = args.log_file or config.worker.data_dir / "worker.log"
        return run_worker(
            config,
            print_alerts=args.print_alerts,
            loglevel=args.loglevel,
            log_file=None if str(log_file) == "-" else log_file,
            status_every_s=args.status_every,
            config_path=args.config,
            log_format=resolve_format(args.log_format),
        )
    except StreamsError as exc:
        return fail(str(exc), "worker")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``worker`` sub-command."""
    help_text = "run the monitoring worker (stage 1 and stage 2)"
    p = sub.add_parser("worker", help=help_text, description=DESCRIPTION)
    p.add_argument("--config", help="monitor config YAML (default: the demo config)")
    p.add_argument("--print-alerts", action="store_true", help="print each alert as one line")
    add_bootstrap_override(p)
    p.add_argument("--metrics-host", help="override worker.metrics_host (0.0.0.0 in containers)")
    add_connect_timeout_argument(p, forever=True)
    p.add_argument(
        "--status-every",
        type=non_negative_seconds,
        default=DEFAULT_EVERY_S,
        metavar="SECONDS",
        help="print a status line (events/s, lag, windows evaluated, alerts open) every "
        "SECONDS on stdout; 0: never (default: %(default)g)",
    )
    p.add_argument(
        "--log-file",
        type=Path,
        metavar="FILE",
        help="where Faust's and aiokafka's log goes, so the terminal shows only the worker's "
        "own warnings, alerts and status; '-' logs everything to the terminal "
        "(default: worker.data_dir/worker.log)",
    )
    add_log_format_argument(p)
    add_loglevel_argument(
        p, default="warning", help="least severe records logged (default: %(default)s)"
    )
    p.set_defaults(func=run)
