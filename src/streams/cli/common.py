"""What every ``streams`` command shares: exit codes, the one-line error, the options
that mean the same everywhere (bootstrap, model, log level), argument types, the
monitor config with its command-line overrides, logging and signal handling.

One copy here keeps the commands alike: an operator who learnt ``--bootstrap`` or
the error format on one command can rely on it on the next."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from streams.config.loading import ConfigError, load_config, load_security
from streams.config.models import KafkaSecurity, ModelConfig, MonitorConfig

EXIT_OK = 0
EXIT_FAILURE = 1
"""The command could not do its job; the one line on stderr says why."""
EXIT_USAGE = 2
"""Bad arguments (argparse's own code); also any error of the commands whose 1 is a
finding rather than a failure (``drift``: 1 means drift)."""
EXIT_INTERRUPTED = 128 + signal.SIGINT
"""Stopped by Ctrl-C, as a shell reports it."""

LOGLEVELS = ("debug", "info", "warning", "error")
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_CONNECT_TIMEOUT_S = 30.0

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


def fail(message: str, command: str | None = None, code: int = EXIT_FAILURE) -> int:
    """Print ``streams [COMMAND]: error: MESSAGE`` on stderr, as argparse does, and
    return ``code`` for the command to exit with."""
    prog = f"streams {command}" if command else "streams"
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def positive_seconds(text: str) -> float:
    """Argument type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_seconds(text: str) -> float:
    """Argument type: a number of seconds, 0 or more (0 usually turns the thing off)."""
    if text.strip() in ("0", "0.0"):
        return 0.0
    return positive_seconds(text)


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``2h`` or ``1d``; ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}: use e.g. 90, 90s, 30m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def duration_argument(text: str) -> float:
    """Argument type: a duration as :func:`parse_duration` reads it."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_number(text: str) -> int:
    """Argument type: a TCP port, 0 to 65535 (0: the system picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def add_documented_command(
    sub: argparse._SubParsersAction, name: str, help: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """A sub-command's parser whose description and examples keep their line breaks."""
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_bootstrap_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--bootstrap`` option of the Kafka client commands that take no config."""
    help_text = "Kafka bootstrap servers (default: %(default)s)"
    parser.add_argument(
        "--bootstrap", default=DEFAULT_BOOTSTRAP, metavar="HOST:PORT", help=help_text
    )
    parser.add_argument(
        "--kafka-security",
        metavar="FILE",
        help="YAML file with SASL/TLS settings, the keys of a monitor config's "
        "kafka.security (docs/security.md; default: PLAINTEXT)",
    )


def kafka_security(args: argparse.Namespace) -> KafkaSecurity:
    """The ``--kafka-security`` file's settings, PLAINTEXT without one; ConfigError
    when the file is unreadable or invalid."""
    path = getattr(args, "kafka_security", None)
    return load_security(path) if path else KafkaSecurity()


def add_bootstrap_override(parser: argparse.ArgumentParser) -> None:
    """The ``--bootstrap`` option of the commands that read a monitor config: the same
    file across environments, only the address differs."""
    parser.add_argument("--bootstrap", help="override kafka.bootstrap of the config")


def add_connect_timeout_argument(parser: argparse.ArgumentParser, forever: bool = False) -> None:
    """``--connect-timeout``: how long a command waits for an unreachable broker, quietly
    and with backoff, before it gives up; the long-running ones wait for ever by default."""
    parser.add_argument(
        "--connect-timeout",
        type=positive_seconds,
        default=None if forever else DEFAULT_CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help="give up (exit 1) when no broker answers within SECONDS "
        + ("(default: wait until it answers)" if forever else "(default: %(default)g)"),
    )


def wait_for_kafka(
    bootstrap: str,
    args: argparse.Namespace,
    command: str,
    stop: threading.Event | None = None,
    security: KafkaSecurity | None = None,
) -> bool:
    """Wait for the broker as ``--connect-timeout`` says, each line on stderr tagged with
    the command; False when ``stop`` was set first, BrokerUnreachable at the deadline,
    BrokerRefused at once when the broker refuses ``security``'s login or handshake."""
    from streams.kafka.reachability import wait_for_broker

    def say(line: str) -> None:
        print(f"streams {command}: {line}", file=sys.stderr, flush=True)

    deadline_s = getattr(args, "connect_timeout", None)
    return wait_for_broker(bootstrap, deadline_s, say, stop, security=security)


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--model`` option that picks one model of ``--config``."""
    parser.add_argument("--model", help="model id in --config (default: its first model)")


def add_loglevel_argument(
    parser: argparse.ArgumentParser,
    default: str = "info",
    help: str = "least severe log records shown (default: %(default)s)",
) -> None:
    """The ``--loglevel`` option of the long-running commands."""
    parser.add_argument("--loglevel", default=default, choices=list(LOGLEVELS), help=help)


def add_log_format_argument(parser: argparse.ArgumentParser) -> None:
    """``--log-format``: the long-running commands' own logs as text or JSON lines."""
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="text, or one JSON object per line for a log shipper (default: text on a "
        "terminal, json otherwise; fields: docs/logging.md)",
    )


def configure_logging(level: str, log_format: str | None = "text") -> None:
    """One log format on stderr for the long-running commands, secrets masked."""
    from streams.json_logs import formatter, resolve_format

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(resolve_format(log_format)))
    logging.basicConfig(level=level.upper(), handlers=[handler])


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


def config_or_demo(path: str | None) -> MonitorConfig:
    """The monitor config at ``path``; without one, the demo's (the simulator's model)."""
    if path is None:
        from streams.devtools.demo import demo_config

        print(
            "streams: no --config given: using the demo config (simulator's model)", file=sys.stderr
        )
        return demo_config()
    return load_config(path)


def with_overrides(config: MonitorConfig, args: argparse.Namespace) -> MonitorConfig:
    """The same config file across environments: only the addresses differ."""
    if getattr(args, "bootstrap", None):
        kafka = config.kafka.model_copy(update={"bootstrap": args.bootstrap})
        config = config.model_copy(update={"kafka": kafka})
    if getattr(args, "metrics_host", None):
        worker = config.worker.model_copy(update={"metrics_host": args.metrics_host})
        config = config.model_copy(update={"worker": worker})
    return config


def select_model(config: MonitorConfig, path: str, model_id: str | None) -> ModelConfig:
    """The model ``--model`` names in the config at ``path``, else its first model;
    ConfigError when the config has no such model."""
    model = config.model(model_id) if model_id else config.models[0]
    if model is None:
        raise ConfigError(f"{path}: no model {model_id!r}")
    return model
