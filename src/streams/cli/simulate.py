"""``streams simulate``: a synthetic model server producing to Kafka."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any, NoReturn

from streams.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_bootstrap_argument,
    add_connect_timeout_argument,
    add_documented_command,
    duration_argument,
    fail,
    kafka_security,
    wait_for_kafka,
)
from streams.devtools.simulator.scenarios import DEFAULT_SHIFTED, DEFAULT_SILENT_ZEROS, SCENARIOS
from streams.kafka.errors import BrokerError

HELP = "produce simulated prediction events (and delayed labels) to Kafka"

DESCRIPTION = (
    "A synthetic model server: a 'recsys-ranker' classifier with 20 numeric and 5 "
    "categorical correlated features, a daily cycle, delayed labels and a scenario "
    "that breaks (or does not break) what the model is served. Durations accept "
    "90, 90s, 30m, 2h, 1d; --onset and --recover count from the start of the run."
)

EXAMPLES = """\
examples:
  # two hours of traffic in two minutes; user features silently become 0 after 40 min
  streams simulate --scenario silent-zeros --rate 50 --duration 2h --speedup 60

  # item_price jumps by 2 reference standard deviations after 30 minutes, as fast as possible
  streams simulate --scenario sudden-shift --magnitude 2 --onset 30m --speedup 0

  # the training-data reference that drift is measured against (no broker needed)
  streams simulate --write-reference data/reference.parquet --rows 50000

  # serve a gradient-boosting model, and save it for `streams explain` (docs/explain.md)
  streams simulate --save-model models/recsys-tree.joblib
  streams simulate --served-model tree --scenario silent-zeros
"""


def _start_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid start {text!r}: use ISO 8601, e.g. 2024-05-01T08:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _features_arg(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("--affect needs at least one feature name")
    return names


def _one_line_error(parser: argparse.ArgumentParser) -> None:
    """Bad arguments: one line on stderr and exit 2, not argparse's usage dump."""

    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]


def _add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """What is played: the scenario, its pace and length, and the broker it goes to."""
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        default="silent-zeros",
        help="what happens to the served features (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="mean events per second of event time (default: 50)",
    )
    parser.add_argument(
        "--duration",
        type=duration_argument,
        default=7200.0,
        metavar="D",
        help="event time to simulate (default: 2h)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--speedup",
        type=float,
        default=60.0,
        help="event seconds per wall second; 1 = real time, 0 = as fast as possible (default: 60)",
    )
    parser.add_argument(
        "--served-model",
        choices=["logistic", "tree"],
        default="logistic",
        help="the model that scores the events: the world's logistic scorer, or a "
        "scikit-learn gradient-boosting model fitted on it (default: %(default)s)",
    )
    add_bootstrap_argument(parser)
    parser.add_argument(
        "--start",
        type=_start_arg,
        metavar="ISO8601",
        help="event time of the start, UTC unless an offset is given (default: now)",
    )


def _add_corruption_arguments(parser: argparse.ArgumentParser) -> None:
    """What the scenario breaks, when, and how much."""
    parser.add_argument(
        "--affect",
        type=_features_arg,
        metavar="A,B,C",
        help=(
            "numeric features the scenario corrupts (silent-zeros default: "
            f"{','.join(DEFAULT_SILENT_ZEROS)}; shifts default: {','.join(DEFAULT_SHIFTED)})"
        ),
    )
    parser.add_argument(
        "--onset",
        type=duration_argument,
        metavar="D",
        help="when corruption starts (default: duration/3)",
    )
    parser.add_argument(
        "--recover",
        type=duration_argument,
        metavar="D",
        help="when values are served correctly again",
    )
    parser.add_argument(
        "--magnitude",
        type=float,
        help="shift in reference standard deviations (sudden-shift, gradual-drift; default: 1)",
    )


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """What is produced besides predictions (labels), and to which topics."""
    parser.add_argument(
        "--label-delay",
        type=duration_argument,
        default=3600.0,
        metavar="D",
        help="mean delay of the (exponentially distributed) labels (default: 1h)",
    )
    parser.add_argument(
        "--label-fraction",
        type=float,
        default=1.0,
        help="share of predictions that ever get a label (default: 1)",
    )
    parser.add_argument("--no-labels", action="store_true", help="produce no labels")
    parser.add_argument(
        "--topic", default="predictions", help="topic of the predictions (default: %(default)s)"
    )
    parser.add_argument(
        "--labels-topic", default="labels", help="topic of the labels (default: %(default)s)"
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=4,
        help="partitions of topics that do not exist yet (default: %(default)s)",
    )
    parser.add_argument(
        "--single-events",
        action="store_true",
        help="one Kafka message per event instead of batch envelopes (the default)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_connect_timeout_argument(parser)


def _add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    """``--write-reference``: the training data instead of traffic; no broker needed."""
    parser.add_argument(
        "--write-reference",
        metavar="FILE",
        help="write the reference data set (.parquet, .csv or .jsonl) and exit; no broker needed",
    )
    parser.add_argument(
        "--rows", type=int, default=50_000, help="rows of --write-reference (default: 50000)"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=7,
        help="whole days the reference's timestamps cover (default: 7)",
    )
    parser.add_argument(
        "--save-model",
        metavar="FILE",
        help="write the tree model --served-model tree serves, as a `streams explain` "
        "artifact (docs/explain.md), and exit; no broker needed",
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``simulate`` sub-command."""
    parser = add_documented_command(subparsers, "simulate", HELP, DESCRIPTION, EXAMPLES)
    _one_line_error(parser)
    _add_scenario_arguments(parser)
    _add_corruption_arguments(parser)
    _add_output_arguments(parser)
    _add_reference_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    return fail(message, "simulate", code)


def _save_model(path: str) -> int:
    """``--save-model``: the served tree model as an explain artifact."""
    try:
        from streams.devtools.simulator.tree_model import save_tree_artifact

        save_tree_artifact(path)
    except ImportError:
        return _fail(
            "--save-model needs scikit-learn: pip install 'streams[explain]'", EXIT_FAILURE
        )
    except OSError as exc:
        return _fail(f"cannot write {path}: {exc}", EXIT_FAILURE)
    print(f"wrote the simulator's tree model to {path}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams simulate``: an exit code, one line of output."""
    from streams.devtools.simulator.producer import SimulationError, simulate, write_reference

    if args.save_model:
        return _save_model(args.save_model)
    if args.write_reference:
        started = time.monotonic()
        try:
            path = write_reference(
                args.write_reference, rows=args.rows, seed=args.seed, days=args.days
            )
        except ValueError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot write {args.write_reference}: {exc}", EXIT_FAILURE)
        print(f"wrote {args.rows:,} reference rows to {path} in {time.monotonic() - started:.1f} s")
        return EXIT_OK
    try:
        security = kafka_security(args)
        report = simulate(
            args.bootstrap,
            scenario=args.scenario,
            rate=args.rate,
            duration_s=args.duration,
            seed=args.seed,
            speedup=args.speedup,
            start=args.start,
            affect=args.affect,
            onset_s=args.onset,
            recover_s=args.recover,
            magnitude=args.magnitude,
            labels=not args.no_labels,
            label_delay_s=args.label_delay,
            label_fraction=args.label_fraction,
            topic=args.topic,
            labels_topic=args.labels_topic,
            progress=not args.no_progress,
            partitions=args.partitions,
            envelopes=not args.single_events,
            wait_for_broker=lambda bootstrap: wait_for_kafka(
                bootstrap, args, "simulate", security=security
            ),
            security=security,
            served_model=args.served_model,
        )
    except ValueError as exc:
        return _fail(str(exc))
    except BrokerError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except SimulationError as exc:
        if exc.report is not None:
            print(exc.report.summary())
        return _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(report.summary())
    return EXIT_INTERRUPTED if report.interrupted else EXIT_OK
