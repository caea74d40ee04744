"""``streams kafka start|stop|status``: run the local development broker without Docker.

``start`` prints only the bootstrap address on stdout so scripts can capture it
(``BOOTSTRAP=$(streams kafka start)``); progress and errors go to stderr, errors
as one line without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from streams.cli.common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, port_number
from streams.devtools.broker_process import find_broker_on_port, port_accepts
from streams.devtools.local_broker import HOST, LocalBroker
from streams.kafka.errors import BrokerError

__all__ = ["register"]


def _broker(args: argparse.Namespace) -> LocalBroker:
    return LocalBroker(port=args.port, data_dir=args.data_dir)


def _located(args: argparse.Namespace) -> tuple[LocalBroker, str | None]:
    """The broker ``stop`` and ``status`` act on, and what they found, if worth a line.

    Without ``--data-dir`` the broker serving ``--port`` is found whatever data dir it
    was started with; with one that runs nothing, the line says who holds the port."""
    broker = _broker(args)
    if broker.status().running:
        return broker, None
    found = find_broker_on_port(args.port)
    if found is None:
        if port_accepts(HOST, args.port):
            return broker, f"{broker.bootstrap} answers, but no Kafka broker process listens on it"
        return broker, None
    pid, properties = found
    if args.data_dir is None:
        return LocalBroker(port=args.port, data_dir=properties.parent), None
    return broker, (
        f"no broker runs from {broker.data_dir}; port {args.port} is served by the broker "
        f"pid {pid} of data dir {properties.parent} (pass --data-dir {properties.parent})"
    )


def _fail(command: str, err: BrokerError) -> int:
    """The broker's error as one line, without the ``error:`` tag: the summary says it."""
    print(f"streams kafka {command}: {err.summary}", file=sys.stderr)
    return EXIT_FAILURE


def _start(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        if not broker.jars_present():
            print(f"fetching Kafka jars into {broker.lib_dir} (first run only)...", file=sys.stderr)
        status = broker.start(timeout_s=args.timeout)
    except BrokerError as err:
        return _fail("start", err)
    except KeyboardInterrupt:
        print("streams kafka start: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(status.bootstrap)
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    broker, found = _located(args)
    if found is not None:
        print(f"streams kafka stop: {found}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        pid = broker.stop(timeout_s=args.timeout)
    except BrokerError as err:
        return _fail("stop", err)
    if pid is None:
        print(f"no broker running on port {args.port} ({broker.data_dir})", file=sys.stderr)
    else:
        print(f"stopped Kafka broker pid {pid} ({broker.bootstrap})", file=sys.stderr)
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    broker, found = _located(args)
    if found is not None:
        print(f"streams kafka status: {found}", file=sys.stderr)
    try:
        status = broker.status()
    except BrokerError as err:
        return _fail("status", err)
    pid = status.pid if status.pid is not None else "-"
    state = "reachable" if status.reachable else "unreachable"
    print(f"bootstrap={status.bootstrap} pid={pid} {state} data_dir={broker.data_dir}")
    return EXIT_OK if status.reachable else EXIT_FAILURE


class _Action(NamedTuple):
    """One action of ``streams kafka``: its help, and its --timeout if it waits."""

    name: str
    help: str
    description: str
    run: Callable[[argparse.Namespace], int]
    timeout: tuple[float, str] | None = None  # default seconds, help


_ACTIONS = (
    _Action(
        "start",
        "start the broker and wait until it serves clients",
        "Start the broker detached from this shell and return once an admin client "
        "can list topics; prints the bootstrap address. Does nothing if it already runs.",
        _start,
        (60, "give up (and stop the broker) if not ready in time (default: %(default)s)"),
    ),
    _Action(
        "stop",
        "stop the broker started with `streams kafka start`",
        "Send SIGTERM to the broker's process group, then SIGKILL after the timeout. "
        "Without --data-dir the broker serving --port is found whatever data dir it was "
        "started with. Succeeds when no broker runs; exit 1 when --data-dir runs none but "
        "the port is held (the line says by what).",
        _stop,
        (30, "seconds to wait for a clean shutdown before SIGKILL (default: %(default)s)"),
    ),
    _Action(
        "status",
        "show whether the broker runs and answers (exit 0 only when reachable)",
        "Print pid, reachability and data dir of the broker on --port (found whatever data "
        "dir it was started with, unless --data-dir is given); exit status 0 when clients "
        "can reach the broker, 1 otherwise.",
        _status,
    ),
)


def _add_action(sub: argparse._SubParsersAction, action: _Action) -> None:
    parser = sub.add_parser(action.name, help=action.help, description=action.description)
    parser.add_argument(
        "--port",
        type=port_number,
        default=9092,
        help="PLAINTEXT port on 127.0.0.1 (default: %(default)s; the controller uses PORT+1)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="broker config, logs, pid file and topic data (default: <repo>/.kafka/data-PORT)",
    )
    if action.timeout is not None:
        default, help_text = action.timeout
        parser.add_argument(
            "--timeout", type=float, default=default, metavar="SECONDS", help=help_text
        )
    parser.set_defaults(func=action.run)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``kafka`` command group to the top-level ``streams`` parser."""
    kafka = subparsers.add_parser(
        "kafka",
        help="run a local single-node Kafka broker (no Docker needed)",
        description="Manage a real Apache Kafka 4.1 broker (KRaft, single node) on 127.0.0.1. "
        "Needs Java 17+; the broker jars are fetched with Maven on first use and cached "
        "in .kafka/lib.",
    )
    sub = kafka.add_subparsers(dest="kafka_command", metavar="ACTION", required=True)
    for action in _ACTIONS:
        _add_action(sub, action)
