"""Silences: which alerts one covers, and the --until forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.alerting.silences import active_silence, parse_until, silence_key
from streams.events.models import AlertCategory, AlertEvent, Evidence, Severity, Silence

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def alert(category: AlertCategory = AlertCategory.data_drift, **changes: object) -> AlertEvent:
    fields: dict = {
        "category": category,
        "layer": "ml_pipeline",
        "severity": Severity.warning,
        "model_id": "m",
        "subject": "x",
        "evidence": Evidence(
            statistic="psi", value=1.0, threshold=0.2, window_start=NOW, window_end=NOW
        ),
        "summary": "m: drift",
        "dedup_key": "m/data_drift",
        "first_seen": NOW,
        "last_seen": NOW,
    }
    return AlertEvent(**{**fields, **changes})


def stored(until: datetime) -> dict[str, bytes]:
    s = Silence(
        model_id="m",
        category=AlertCategory.data_drift,
        until=until,
        by="ana",
        reason="feature backfill",
        created_at=NOW,
    )
    return {silence_key("m", "data_drift"): s.model_dump_json().encode()}


def test_a_silence_covers_its_model_and_category_until_it_ends() -> None:
    silences = stored(NOW + timedelta(hours=1))
    found = active_silence(silences, alert(), NOW)
    assert found is not None and (found.by, found.reason) == ("ana", "feature backfill")
    assert active_silence(silences, alert(), NOW + timedelta(hours=2)) is None
    assert active_silence(silences, alert(AlertCategory.data_quality), NOW) is None
    assert active_silence(silences, alert(model_id="other"), NOW) is None
    assert active_silence(silences, alert(status="resolved"), NOW) is None
    assert active_silence({silence_key("m", "data_drift"): b"{bad"}, alert(), NOW) is None


def test_until_takes_durations_and_iso_times() -> None:
    assert parse_until("30m", NOW) == NOW + timedelta(minutes=30)
    assert parse_until("2d", NOW) == NOW + timedelta(days=2)
    assert parse_until("2026-01-02T00:00:00+01:00", NOW) == datetime(2026, 1, 1, 23, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_until("tomorrow", NOW)
