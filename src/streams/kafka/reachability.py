"""Waiting for a Kafka broker before a command starts its clients.

A librdkafka or aiokafka client pointed at a closed port logs every reconnect attempt
(hundreds of lines a minute) and never gives up. Commands ask here first instead: one
line says what is wrong, retries are quiet and back off, one-shot commands give up
after a deadline, and long-running ones wait on but repeat their line only rarely.

Usage::

    wait_for_broker("127.0.0.1:9092", deadline_s=30, say=print)  # BrokerUnreachable after 30 s
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from streams.backoff import Backoff
from streams.config.models import KafkaSecurity
from streams.kafka.errors import BrokerError
from streams.kafka.security import client_settings

__all__ = ["BrokerRefused", "BrokerUnreachable", "probe_broker", "refusal", "wait_for_broker"]

#: Retries start fast (a broker that is just starting answers within seconds) and
#: settle at one look every 10 s.
RETRY_BACKOFF = Backoff(base_s=0.5, cap_s=10.0)
#: A command that waits without a deadline repeats its line at most this often.
REMIND_EVERY_S = 60.0


class BrokerUnreachable(BrokerError):
    """No broker answered in time: start it (``streams kafka start``) or fix --bootstrap."""


class BrokerRefused(BrokerError):
    """The broker refused the login or the TLS handshake: fix kafka.security, retrying cannot."""


#: librdkafka errors a broker gives a client it will not talk to, whatever the retries.
_REFUSALS = {
    KafkaError._AUTHENTICATION: "the login was refused",
    KafkaError._SSL: "the TLS handshake failed",
    KafkaError.SASL_AUTHENTICATION_FAILED: "the login was refused",
    KafkaError.UNSUPPORTED_SASL_MECHANISM: "the SASL mechanism is not enabled there",
}


def _servers(bootstrap: str) -> list[tuple[str, int]]:
    servers = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        servers.append((host.strip("[]") or "localhost", int(port)))
    return servers


def _tcp_problem(host: str, port: int, timeout_s: float) -> str | None:
    """Why nothing accepts a connection at ``host:port``, or None when something does."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return f"unknown host {host!r}"
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)


def probe_broker(
    bootstrap: str, timeout_s: float = 5.0, security: KafkaSecurity | None = None
) -> str | None:
    """None when a broker of ``bootstrap`` serves metadata, else why not in a few words;
    BrokerRefused when it refuses the login or the TLS handshake.

    The TCP check first: it answers a closed port at once, where a client would spend
    its whole timeout reconnecting."""
    problems = [_tcp_problem(host, port, min(timeout_s, 3.0)) for host, port in _servers(bootstrap)]
    if all(problems):
        return problems[0]
    errors: list[KafkaError] = []
    admin = AdminClient(
        {
            **client_settings(bootstrap, security),
            "log_level": 0,  # the one line is ours; librdkafka's reconnect log is noise
            "error_cb": errors.append,
        }
    )
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        errors.append(exc.args[0])
        admin.poll(0)  # serves error_cb: the refusal itself comes that way
        _raise_refusal(bootstrap, errors)
        return "the port is open but no Kafka metadata came back"
    return None


def refusal(bootstrap: str, errors: list[KafkaError]) -> BrokerRefused | None:
    """The one-line BrokerRefused of the first refusal among ``errors``, else None: for
    the clients that hear librdkafka's errors through their own ``error_cb``."""
    for err in errors:
        if isinstance(err, KafkaError) and err.code() in _REFUSALS:
            detail = err.str().splitlines()[0]
            return BrokerRefused(
                f"Kafka at {bootstrap}: {_REFUSALS[err.code()]} ({detail}); "
                "check kafka.security (docs/security.md)"
            )
    return None


def _raise_refusal(bootstrap: str, errors: list[KafkaError]) -> None:
    refused = refusal(bootstrap, errors)
    if refused is not None:
        raise refused


def wait_for_broker(
    bootstrap: str,
    deadline_s: float | None,
    say: Callable[[str], None],
    stop: threading.Event | None = None,
    backoff: Backoff = RETRY_BACKOFF,
    security: KafkaSecurity | None = None,
) -> bool:
    """Return once a broker of ``bootstrap`` answers (True), or False when ``stop`` was
    set first; BrokerUnreachable after ``deadline_s`` (None: wait for ever), and
    BrokerRefused at once when the broker refuses ``security``'s login or handshake.

    ``say`` hears one line when the broker does not answer, one when it answers
    after all, and, without a deadline, a reminder at most every REMIND_EVERY_S."""
    start = time.monotonic()
    limit = math.inf if deadline_s is None else deadline_s
    waiting = stop or threading.Event()
    problem = probe_broker(bootstrap, security=security)
    if problem is None:
        return True
    until = "until it answers" if deadline_s is None else f"for up to {deadline_s:g} s"
    say(f"cannot reach Kafka at {bootstrap} ({problem}); retrying quietly {until}")
    reminded, attempt = start, 0
    while problem is not None:
        elapsed = time.monotonic() - start
        if elapsed >= limit:
            raise BrokerUnreachable(
                f"cannot reach Kafka at {bootstrap} within {deadline_s:g} s ({problem}); "
                "is a broker running there? (see --bootstrap, or kafka.bootstrap of the config)"
            )
        if waiting.wait(min(backoff.delay(attempt), limit - elapsed)):
            return False
        attempt += 1
        problem = probe_broker(bootstrap, security=security)
        if problem is not None and time.monotonic() - reminded >= REMIND_EVERY_S:
            reminded = time.monotonic()
            waited = f"{reminded - start:.0f} s"
            say(f"still cannot reach Kafka at {bootstrap} after {waited} ({problem})")
    say(f"Kafka at {bootstrap} answers after {time.monotonic() - start:.0f} s")
    return True
