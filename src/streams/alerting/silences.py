"""Silences: what a silence covers, decided without Kafka. They are kept on the
compacted ``silences`` topic (one record per model and category) that every worker
reads whole; ``streams silence add|list|remove`` (:mod:`streams.cli.silence`) writes them.

A silenced alert is still produced to ``alerts`` (with who silenced it, until when
and why), so the incident's record stays complete; the router does not page it.
Resolutions are never silenced: an incident paged before the silence must close.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from streams.events.models import AlertEvent, Silence


def silence_key(model_id: str, category: str) -> str:
    """The record key of a silence: one silence per model and alert category."""
    return f"{model_id}|{category}"


def active_silence(
    silences: Mapping[str, bytes], alert: AlertEvent, now: datetime
) -> Silence | None:
    """The silence covering a firing alert now, if any (unreadable records are skipped)."""
    if alert.status != "firing" or alert.model_id is None:
        return None
    raw = silences.get(silence_key(alert.model_id, alert.category.value))
    if raw is None:
        return None
    try:
        silence = Silence.model_validate_json(raw)
    except ValidationError:
        return None
    return silence if now < silence.until else None


def parse_until(text: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC if no zone) or a duration from now: 30m, 4h, 2d.

    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> parse_until("4h", now).isoformat(), parse_until("2026-01-02T10:00", now).isoformat()
    ('2026-01-01T04:00:00+00:00', '2026-01-02T10:00:00+00:00')
    """
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now + timedelta(**{units[text[-1]]: float(text[:-1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--until {text!r}: use an ISO 8601 time (2026-01-02T10:00Z) or a duration "
            "(30m, 4h, 2d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
