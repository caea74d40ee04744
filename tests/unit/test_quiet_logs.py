"""Library chatter under a rate limit: one line per kind of message per interval, the
repeats counted on the next line let through."""

from __future__ import annotations

import logging

import pytest

from streams.quiet_logs import RateLimit, by_shape, librdkafka_log, rate_limit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_are_dropped_for_the_interval_then_counted() -> None:
    clock = Clock()
    limit = RateLimit(30, clock)
    reconnect = "Unable connect to node with id %s: %s"
    passed = []
    for second in range(0, 95):  # an outage of 95 s, ten reconnect errors a second
        clock.now = float(second)
        for _ in range(10):
            r = record("aiokafka.conn", reconnect, 1, "refused")
            if limit.filter(r):
                passed.append((second, r.getMessage()))
    assert [s for s, _ in passed] == [0, 30, 60, 90]
    assert passed[0][1] == "Unable connect to node with id 1: refused"
    assert passed[1][1] == "Unable connect to node with id 1: refused (299 more like this in 30 s)"


def test_each_kind_of_message_and_logger_has_its_own_limit() -> None:
    limit = RateLimit(30, Clock())
    assert limit.filter(record("aiokafka.conn", "a %s", 1))
    assert limit.filter(record("aiokafka.conn", "b %s", 1))
    assert limit.filter(record("aiokafka.consumer", "a %s", 1))
    assert not limit.filter(record("aiokafka.conn", "a %s", 2))  # same template


def test_rate_limit_covers_the_libraries_loggers_only(caplog: pytest.LogCaptureFixture) -> None:
    chatty = logging.getLogger("aiokafka.test_quiet_logs")
    ours = logging.getLogger("streams.test_quiet_logs")
    limit = rate_limit(interval_s=3600)
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(5):
                chatty.error("broker down")
                ours.error("our own line")
        messages = [r.getMessage() for r in caplog.records]
        assert messages.count("broker down") == 1 and messages.count("our own line") == 5
    finally:
        chatty.removeFilter(limit)


def test_librdkafka_lines_are_told_apart_by_their_text_not_their_one_template() -> None:
    """confluent-kafka logs every line as ``"%s [%s] %s"``: kinds differ in the text."""
    clock = Clock()
    limit = RateLimit(30, clock, kind=by_shape)
    template = "%s [%s] %s"
    refused = "127.0.0.1:{port}/bootstrap: Connect to ipv4#127.0.0.1:{port} failed: refused"
    passed = []
    for second in range(35):
        clock.now = float(second)
        for client in (1, 2):
            text = refused.format(port=40_000 + client) + f" (after {second}ms in state CONNECT)"
            r = record("streams.kafka", template, "FAIL", f"rdkafka#consumer-{client}", text)
            if limit.filter(r):
                passed.append(("connect", second))
        other = record("streams.kafka", template, "SSL", "rdkafka#consumer-1", "handshake failed")
        if limit.filter(other):
            passed.append(("ssl", second))
    # one connect line per 30 s whatever its port, timing or client; the other kind apart
    assert passed == [("connect", 0), ("ssl", 0), ("connect", 30), ("ssl", 30)]


def test_librdkafka_log_puts_one_shape_limit_on_its_logger() -> None:
    logger = librdkafka_log("streams.test.kafka")
    assert librdkafka_log("streams.test.kafka") is logger
    limits = [f for f in logger.filters if isinstance(f, RateLimit)]
    assert len(limits) == 1 and limits[0].kind is by_shape
