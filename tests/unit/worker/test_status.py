"""The status line: events/s from the ingest counter, lag from end and read offsets,
windows from the evaluation counter, open alerts from what was sent."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from streams.events.models import AlertCategory, AlertEvent, Evidence, Severity
from streams.worker.metrics import PipelineMetrics
from streams.worker.status import StatusLine, consumer_lag, counter_total, shows_idle

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def alert(dedup_key: str, **changes: object) -> AlertEvent:
    fields: dict = {
        "category": AlertCategory.data_quality,
        "layer": "ml_pipeline",
        "severity": Severity.error,
        "model_id": "m",
        "subject": "x",
        "evidence": Evidence(
            statistic="zero_rate_delta", value=0.2, threshold=0.1, window_start=NOW, window_end=NOW
        ),
        "summary": "m: zeros",
        "dedup_key": dedup_key,
        "first_seen": NOW,
        "last_seen": NOW,
    }
    return AlertEvent(**{**fields, **changes})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counter_total_sums_every_label() -> None:
    metrics = PipelineMetrics(CollectorRegistry())
    metrics.events.labels("a").inc(3)
    metrics.events.labels("b").inc(4)
    assert counter_total(metrics.events) == 7


def test_lag_counts_unread_messages_of_known_partitions() -> None:
    # high watermark 10 and last read 4: offsets 5..9 unread; "c" was never read
    assert consumer_lag({"a": 10, "b": 3, "c": 8}, {"a": 4, "b": 2}) == 5


def test_the_line_reports_rate_lag_windows_and_open_alerts() -> None:
    metrics, clock = PipelineMetrics(CollectorRegistry()), Clock()
    lag = [120]
    status = StatusLine(metrics.events, metrics.windows, lambda: lag[0], clock)
    assert status.line() == "STATUS   0 events/s | lag 120 | 0 windows evaluated | 0 alerts open"

    metrics.events.labels("m").inc(2500)
    metrics.windows.labels("m").inc(3)
    status.observe(alert("m/a"))
    status.observe(alert("m/a", update=True))
    status.observe(alert("m/b"))
    status.observe(alert("m/b", status="resolved"))
    clock.now += 5
    lag[0] = 1234
    assert status.line() == (
        "STATUS   500 events/s | lag 1,234 | 3 windows evaluated | 1 alert open"
    )


def test_idle_is_no_events_and_no_lag() -> None:
    assert shows_idle("STATUS   0 events/s | lag 0 | 7 windows evaluated | 1 alert open")
    assert not shows_idle("STATUS   10 events/s | lag 0 | 7 windows evaluated | 1 alert open")
    assert not shows_idle("STATUS   0 events/s | lag 10 | 7 windows evaluated | 0 alerts open")
    assert not shows_idle("ALERT    ERROR ... 0 events/s | lag 0 |")


def test_the_first_line_counts_from_the_start() -> None:
    metrics, clock = PipelineMetrics(CollectorRegistry()), Clock()
    status = StatusLine(metrics.events, metrics.windows, lambda: 0, clock)
    metrics.events.labels("m").inc(100)
    clock.now += 5
    assert status.line().startswith("STATUS   20 events/s | lag 0 |")
