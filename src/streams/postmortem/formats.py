"""Times and numbers as the postmortem reads and writes them: epoch seconds in, UTC
ISO 8601 out, short durations, and a guard for values that are not finite numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

TIME_HELP = "ISO 8601 (2026-01-01T00:10:00Z; without an offset: UTC) or epoch seconds"


def parse_time(text: str | float) -> float:
    """Epoch seconds of an ISO 8601 time (UTC when it has no offset) or of epoch seconds.

    >>> parse_time("2026-01-01T00:10:00Z"), parse_time("1767226200")
    (1767226200.0, 1767226200.0)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip()
        try:
            value = float(s)
        except ValueError:
            try:
                moment = datetime.fromisoformat(s)
            except ValueError:
                raise ValueError(f"invalid time {text!r}: use {TIME_HELP}") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    if not math.isfinite(value):
        raise ValueError(f"invalid time {text!r}: use {TIME_HELP}")
    return value


def iso(ts: float) -> str:
    """UTC ISO 8601 with a Z, to the second (or microsecond when it has a fraction)."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def format_duration(seconds: float) -> str:
    """``45s``, ``17m 00s``, ``1h 05m``, ``2d 03h``.

    >>> format_duration(1020), format_duration(3900), format_duration(45)
    ('17m 00s', '1h 05m', '45s')
    """
    s = round(seconds)
    sign, s = ("-", -s) if s < 0 else ("", s)
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m {s % 60:02d}s"
    if s < 86_400:
        return f"{sign}{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{sign}{s // 86_400}d {s % 86_400 // 3600:02d}h"


def finite(value: Any) -> float | None:
    """A finite float, or None (missing, null for NaN, not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def number(value: float | None) -> str:
    """A short, readable number: integers as such, others to 3 significant digits.

    >>> number(1310.0), number(0.000763), number(None)
    ('1310', '0.000763', '-')
    """
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}"
