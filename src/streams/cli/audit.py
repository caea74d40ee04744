"""``streams audit verify|show``: check the audit log's hash chains, and list its records,
from the audit topic or from local JSON-lines files (docs/audit.md)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_override,
    add_connect_timeout_argument,
    fail,
    wait_for_kafka,
    with_overrides,
)
from streams.config.loading import load_config
from streams.errors import StreamsError

DESCRIPTION = (
    "Every audit record carries the SHA-256 of its writer's previous record. verify "
    "walks the records in stored order and names the first that was altered, removed, "
    "reordered or inserted (exit 1); show lists them."
)


def _records(args: argparse.Namespace) -> Iterator:
    from streams.audit.sources import from_files, from_topic

    if args.file:
        return from_files(args.file)
    if not args.config:
        raise StreamsError("give --config (to read the audit topic) or --file")
    config = with_overrides(load_config(args.config), args)
    wait_for_kafka(config.kafka.bootstrap, args, "audit")
    topic = args.topic or config.kafka.topics.audit
    return from_topic(config.kafka.bootstrap, topic, config.kafka.security)


def _expected(texts: list[str]) -> dict:
    """``WRITER=SEQ:HASH`` anchors, as verify prints them."""
    from streams.audit.verify import Head

    heads = {}
    for text in texts:
        writer, _, head = text.rpartition("=")
        seq, _, digest = head.partition(":")
        if not writer or not seq.isdigit() or len(digest) != 64:
            raise ValueError(f"--expect {text!r}: use WRITER=SEQ:HASH")
        heads[writer] = Head(int(seq), digest)
    return heads


def verify(args: argparse.Namespace) -> int:
    """Handler of ``streams audit verify``: one line, exit 1 at the first bad record."""
    from streams.audit.verify import verify as verify_chain

    try:
        report = verify_chain(_records(args), _expected(args.expect or []))
    except (StreamsError, ValueError, OSError) as exc:
        return fail(str(exc), "audit verify")
    if report.problem is not None:
        return fail(f"first bad record: {report.problem.line()}", "audit verify")
    print(
        f"intact: {report.records} records from {len(report.heads)} writer(s)"
        + (f", {report.redeliveries} redelivered" if report.redeliveries else "")
    )
    for writer, head in sorted(report.heads.items()):
        print(f"  head {writer}={head.seq}:{head.hash}")
    return EXIT_OK


def _time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def show(args: argparse.Namespace) -> int:
    """Handler of ``streams audit show``: the records that pass the filters."""
    try:
        shown = 0
        for item in _records(args):
            record = orjson.loads(item.raw)
            when = _time(record["ts"])
            if args.action and record["action"] not in args.action:
                continue
            if (args.since and when < args.since) or (args.until and when >= args.until):
                continue
            print(_format(record, args.format))
            shown += 1
    except (StreamsError, ValueError, OSError, KeyError, TypeError) as exc:
        return fail(f"{exc} (run `streams audit verify`)", "audit show")
    if not shown and args.format == "table":
        print("no audit records match")
    return EXIT_OK


def _format(record: dict, fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    actor = record["actor"]
    details = " ".join(f"{k}={v}" for k, v in sorted(record["details"].items()))
    who = f"{actor.get('user')}@{actor.get('host')} {actor.get('component')}"
    return f"{record['ts']}  {record['seq']:>5}  {record['action']:22} {who:30} {details}"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` command group: ``verify`` and ``show``."""
    p = sub.add_parser("audit", help="verify and show the audit log", description=DESCRIPTION)
    actions = p.add_subparsers(dest="action_name", required=True, metavar="ACTION")
    check = actions.add_parser("verify", help="check the hash chains; name the first bad record")
    check.add_argument(
        "--expect",
        action="append",
        metavar="WRITER=SEQ:HASH",
        help="a head printed by an earlier verify: fails if that chain now ends before it "
        "(tail removed); repeatable",
    )
    check.set_defaults(func=verify)
    listing = actions.add_parser("show", help="list audit records")
    listing.add_argument(
        "--action", action="append", help="only records of this action; repeatable"
    )
    listing.add_argument("--since", type=_time, help="only records at or after this ISO time")
    listing.add_argument("--until", type=_time, help="only records before this ISO time")
    listing.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="one aligned line per record, or one JSON object per line (default: %(default)s)",
    )
    listing.set_defaults(func=show)
    for action in (check, listing):
        action.add_argument("--config", help="monitor config YAML: its broker and audit topic")
        action.add_argument("--topic", help="read this topic instead of the config's audit topic")
        action.add_argument(
            "--file",
            action="append",
            type=Path,
            metavar="FILE",
            help="read this JSON-lines file instead of the topic (e.g. "
            "worker.data_dir/audit.jsonl); repeatable",
        )
        add_bootstrap_override(action)
        add_connect_timeout_argument(action)
