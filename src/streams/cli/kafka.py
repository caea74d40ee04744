"""``streams kafka start|stop|status``: run the local development broker without Docker.

``start`` prints only the bootstrap address on stdout so scripts can capture it
(``BOOTSTRAP=$(streams kafka start)``); progress and errors go to stderr, errors
as one line without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.devtools.local_broker import LocalBroker
from streams.kafka.errors import BrokerError

__all__ = ["register"]


def _broker(args: argparse.Namespace) -> LocalBroker:
    return LocalBroker(port=args.port, data_dir=args.data_dir)


def _fail(command: str, err: BrokerError) -> int:
    print(f"streams kafka {command}: {err.summary}", file=sys.stderr)
    return 1


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
        return 130
    print(status.bootstrap)
    return 0


def _stop(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        pid = broker.stop(timeout_s=args.timeout)
    except BrokerError as err:
        return _fail("stop", err)
    if pid is None:
        print(f"no broker running for {broker.data_dir}", file=sys.stderr)
    else:
        print(f"stopped Kafka broker pid {pid} ({broker.bootstrap})", file=sys.stderr)
    return 0


def _status(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        status = broker.status()
    except BrokerError as err:
        return _fail("status", err)
    pid = status.pid if status.pid is not None else "-"
    state = "reachable" if status.reachable else "unreachable"
    print(f"bootstrap={status.bootstrap} pid={pid} {state} data_dir={broker.data_dir}")
    return 0 if status.reachable else 1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
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


def add_loglevel_argument(parser: argparse.ArgumentParser, default: str = "info") -> None:
    """The ``--loglevel`` option of the long-running Kafka client commands."""
    parser.add_argument(
        "--loglevel",
        default=default,
        choices=["debug", "info", "warning", "error"],
        help="(default: %(default)s)",
    )


def configure_logging(level: str) -> None:
    """One log format on stderr for the long-running commands."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or Ctrl-C, so a long-running loop finishes its current
    step and stops cleanly; the previous handlers come back afterwards."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def add_bootstrap_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--bootstrap`` option every Kafka client command shares."""
    parser.add_argument(
        "--bootstrap",
        default="127.0.0.1:9092",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (default: %(default)s)",
    )


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

    start = sub.add_parser(
        "start",
        help="start the broker and wait until it serves clients",
        description="Start the broker detached from this shell and return once an admin client "
        "can list topics; prints the bootstrap address. Does nothing if it already runs.",
    )
    _common(start)
    start.add_argument(
        "--timeout",
        type=float,
        default=60,
        metavar="SECONDS",
        help="give up (and stop the broker) if not ready in time (default: %(default)s)",
    )
    start.set_defaults(func=_start)

    stop = sub.add_parser(
        "stop",
        help="stop the broker started with `streams kafka start`",
        description="Send SIGTERM to the broker's process group, then SIGKILL after the timeout. "
        "Succeeds when no broker runs.",
    )
    _common(stop)
    stop.add_argument(
        "--timeout",
        type=float,
        default=30,
        metavar="SECONDS",
        help="seconds to wait for a clean shutdown before SIGKILL (default: %(default)s)",
    )
    stop.set_defaults(func=_stop)

    status = sub.add_parser(
        "status",
        help="show whether the broker runs and answers (exit 0 only when reachable)",
        description="Print pid and reachability; exit status 0 when clients can reach the "
        "broker, 1 otherwise.",
    )
    _common(status)
    status.set_defaults(func=_status)
