"""Library chatter under a rate limit: one line per kind of message per interval.

A broker outage of 45 s once wrote 109,646 aiokafka ERROR lines (11.7 MB) to the worker's
log, the same few reconnect messages over and over (issue 18). ``RateLimit`` lets the
first record of each (logger, message template) through, drops the repeats for
``interval_s``, and says on the next one it lets through how many it dropped, so the log
keeps every kind of message and its count, not its repetitions.

librdkafka (confluent-kafka) logs through one template (``"%s [%s] %s"``), its message
in the arguments, and without a Python logger it writes every line to stderr: a 30 s
outage once gave a worker 1,348 ``Connect ... failed`` lines from its broadcast reader.
``librdkafka_log`` gives such a client a logger whose limit tells messages apart by
their text with the numbers masked (ports, milliseconds, client numbers).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

#: The libraries whose reconnect loops repeat themselves during an outage.
CHATTY_LIBRARIES = ("aiokafka", "kafka", "faust.transport")
DEFAULT_INTERVAL_S = 30.0
_NUMBERS = re.compile(r"\d+")


def by_template(record: logging.LogRecord) -> object:
    return record.msg


def by_shape(record: logging.LogRecord) -> object:
    """The message's text with every number masked: one kind however its ports and
    timings vary."""
    return _NUMBERS.sub("N", record.getMessage())


class RateLimit(logging.Filter):
    """A ``logging.Filter``: at most one record per (logger, kind) per interval; the
    kind is the message template unless ``kind`` says otherwise."""

    def __init__(
        self,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        kind: Callable[[logging.LogRecord], object] = by_template,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self.kind = kind
        self._last: dict[tuple[str, object], float] = {}
        self._dropped: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, self.kind(record))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped and last is not None:
            record.msg = f"{record.msg} ({dropped} more like this in {now - last:.0f} s)"
        return True


def rate_limit(
    prefixes: Iterable[str] = CHATTY_LIBRARIES, interval_s: float = DEFAULT_INTERVAL_S
) -> RateLimit:
    """Put one shared ``RateLimit`` on every logger already made under ``prefixes``
    (call it after the libraries are imported: their loggers exist from then on)."""
    limit = RateLimit(interval_s)
    names = list(logging.Logger.manager.loggerDict)
    for name in names:
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            logger = logging.getLogger(name)
            if limit not in logger.filters:
                logger.addFilter(limit)
    return limit


def librdkafka_log(name: str, interval_s: float = DEFAULT_INTERVAL_S) -> logging.Logger:
    """The logger to pass as a confluent-kafka client's ``logger`` setting: its lines
    go through Python logging, each kind at most once per ``interval_s``."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RateLimit) for f in logger.filters):
        logger.addFilter(RateLimit(interval_s, kind=by_shape))
    return logger
