"""``streams postmortem``: the incident report of one model over a time range, from the
``results`` and ``alerts`` topics. Exit 0 when the report is written, 2 on any error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from streams.cli.common import (
    DEFAULT_BOOTSTRAP,
    EXIT_OK,
    EXIT_USAGE,
    add_documented_command,
    fail,
    parse_duration,
)
from streams.config.loading import load_config
from streams.config.models import KafkaSecurity
from streams.errors import StreamsError

if TYPE_CHECKING:
    from streams.postmortem.report import Report

EXIT_ERROR = EXIT_USAGE

HELP = "incident report of a model over a time range (Markdown or HTML)"

DESCRIPTION = """\
Write the incident report of one model over a time range from what the worker
published: its results (one record per evaluated window; the latest revision of a
window wins) and its alerts (one record per state change). The report has a header
(windows, alerts fired and resolved, first firing, last resolve, time to resolve),
the timeline of alert state changes, and per feature named by an alert the statistic
that decided over the windows with the firing periods marked, with the dataset's
share of drifted features, the mean prediction score and the events per window.

The topics are read from the first message at or after FROM - MARGIN up to their end
offsets when the read starts, with no consumer group (nothing is committed); records
whose window overlaps [FROM - MARGIN, TO + MARGIN) are kept. Times are ISO 8601
(UTC without an offset) or epoch seconds. Exit status: 0 report written, 2 error
(bad arguments, unreachable broker, missing topic, no record of the model).
"""

EPILOG = """\
examples:
  streams postmortem --model recsys-ranker --from 2026-01-01T00:00:00Z --to 2026-01-01T01:00:00Z
  streams postmortem --model recsys-ranker --from 1767225600 --to 1767229200 \\
      --config monitor.yaml --format html --output incident.html
  streams postmortem --model recsys-ranker --from 2026-01-01T00:00Z --to 2026-01-01T01:00Z \\
      --bootstrap kafka:9092 --results-topic prod-results --alerts-topic prod-alerts --margin 30m
"""


class UsageError(StreamsError, ValueError):
    """A bad argument of ``streams postmortem``: fix the option the message names."""


def _fail(message: str) -> int:
    return fail(message, "postmortem", EXIT_ERROR)


def _time(option: str, text: str) -> float:
    from streams.postmortem.formats import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _margin(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--margin: {exc}") from None


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower() if args.output else ""
    return "html" if suffix in (".html", ".htm") else "md"


def _range(args: argparse.Namespace) -> tuple[float, float, float]:
    """FROM, TO and the margin, in epoch seconds; UsageError when they make no range."""
    from streams.postmortem.formats import iso

    start, end = _time("--from", args.start), _time("--to", args.end)
    if end <= start:
        raise UsageError(f"--to ({iso(end)}) must be after --from ({iso(start)})")
    margin = _margin(args.margin)
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    return start, end, margin


@dataclass(frozen=True)
class _Source:
    """Where the records are: options win over the config, the config over defaults."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    results_topic: str = "results"
    alerts_topic: str = "alerts"
    dataset_share: float | None = None
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @property
    def where(self) -> str:
        return f"topics {self.results_topic!r} and {self.alerts_topic!r} at {self.bootstrap}"


def _missing_topic_hint(args: argparse.Namespace, topic: str) -> str:
    """Where the missing topic's name came from, and how to give the right one."""
    for option, value in (
        ("--results-topic", args.results_topic),
        ("--alerts-topic", args.alerts_topic),
    ):
        if value == topic:
            return f"named by {option}"
    if args.config:
        return f"the name in {args.config}, kafka.topics"
    return (
        "a default name: the worker's topic names are in its monitor config, give it with "
        "--config (or name them with --results-topic and --alerts-topic)"
    )


def _source(args: argparse.Namespace) -> _Source:
    source = _Source()
    if args.config:
        config = load_config(args.config)
        model = config.model(args.model)
        source = _Source(
            config.kafka.bootstrap,
            config.kafka.topics.results,
            config.kafka.topics.alerts,
            None if model is None else model.drift.dataset_share,
            config.kafka.security,
        )
    source = replace(
        source,
        bootstrap=source.bootstrap if args.bootstrap is None else args.bootstrap,
        results_topic=source.results_topic if args.results_topic is None else args.results_topic,
        alerts_topic=source.alerts_topic if args.alerts_topic is None else args.alerts_topic,
    )
    for option, value in (
        ("--bootstrap", source.bootstrap),
        ("--results-topic", source.results_topic),
        ("--alerts-topic", source.alerts_topic),
    ):
        if not value.strip():
            raise UsageError(f"{option} must not be empty")
    return source


def _write(args: argparse.Namespace, report: Report, source: str) -> int:
    """Render the report as --format says and write it to --output, else stdout."""
    from streams.postmortem.render import render_html, render_markdown

    render = render_html if _format(args) == "html" else render_markdown
    text = render(report, source=source, runbook_base=args.runbook_base)
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        return _fail(f"{args.output}: cannot write: {exc.strerror}")
    print(
        f"{args.output}: {args.model}, {len(report.windows)} windows, "
        f"{report.fired} fired, {report.resolved} resolved"
    )
    return EXIT_OK


def cmd_postmortem(args: argparse.Namespace) -> int:
    """Handler of ``streams postmortem``: read the topics, build the report, write it."""
    from streams.postmortem.formats import iso
    from streams.postmortem.read import MissingTopicError, read_topics
    from streams.postmortem.report import build_report

    try:
        start, end, margin = _range(args)
        source = _source(args)
        results, alerts = source.results_topic, source.alerts_topic
        reads = read_topics(
            source.bootstrap,
            [results] if results == alerts else [results, alerts],
            start - margin,
            keep=lambda r: r.get("model_id") == args.model,
            timeout_s=args.timeout,
            security=source.security,
        )
    except MissingTopicError as exc:
        return _fail(f"{exc} ({_missing_topic_hint(args, exc.topic)})")
    except StreamsError as exc:
        return _fail(str(exc))
    report = build_report(
        args.model,
        start,
        end,
        reads[results].records,
        reads[alerts].records,
        margin=margin,
        dataset_share=source.dataset_share,
    )
    if report.empty:
        seen = sorted(set().union(*(r.models for r in reads.values())))
        others = (
            f"models seen there since {iso(start - margin)}: {', '.join(seen)}"
            if seen
            else f"no record there since {iso(start - margin)}"
        )
        return _fail(
            f"no result or alert of model {args.model!r} overlaps {iso(report.lo)} → "
            f"{iso(report.hi)} in {source.where} ({others})"
        )
    read_at = datetime.now(tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return _write(args, report, f"{source.where}, read {read_at}")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``postmortem`` to the top-level ``streams`` parser; returns its parser."""
    p = add_documented_command(sub, "postmortem", HELP, DESCRIPTION, EPILOG)
    p.add_argument("--model", required=True, help="model id, as in the records")
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="TIME",
        help="range start: ISO 8601 (2026-01-01T00:10:00Z) or epoch seconds",
    )
    p.add_argument("--to", dest="end", required=True, metavar="TIME", help="range end, after FROM")
    p.add_argument(
        "--config",
        help="monitor config: kafka.bootstrap, the topic names and the dataset drift share",
    )
    p.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (default: the config's, else 127.0.0.1:9092)",
    )
    p.add_argument(
        "--results-topic",
        metavar="TOPIC",
        help="the topic of the window results (default: the --config's, else results)",
    )
    p.add_argument(
        "--alerts-topic",
        metavar="TOPIC",
        help="the topic of the alert events (default: the --config's, else alerts)",
    )
    p.add_argument(
        "--format",
        choices=["md", "html"],
        help="md: Markdown with sparklines; html: one page with Plotly charts that works offline "
        "(default: html when --output ends in .html, else md)",
    )
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument(
        "--margin",
        default="2h",
        metavar="DURATION",
        help="also keep records this far before FROM and after TO: the lead-up and the "
        "resolution (90s, 30m, 2h, 1d; default: %(default)s)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="wait this long for the broker, and for progress while reading (default: %(default)s)",
    )
    p.add_argument(
        "--runbook-base",
        metavar="URL",
        help="prefix of the alerts' relative runbook paths (deploy/runbooks/...) in links",
    )
    p.set_defaults(func=cmd_postmortem)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``streams postmortem ...`` on its own (tests, ``python -m``); argv without the
    command name."""
    parser = argparse.ArgumentParser(prog="streams")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["postmortem", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
