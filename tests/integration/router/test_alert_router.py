"""The alert router against the real broker and a PagerDuty stand-in that enforces the
Events API v2 contract: a simulated incident goes through 429/5xx bursts and a
30-second outage, and every state change arrives exactly once."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from tests.integration.conftest import read_topic
from tests.integration.pagerduty import PagerDutyStandIn

from streams.backoff import Backoff
from streams.events.models import AlertCategory, AlertEvent, Evidence, Severity
from streams.kafka.admin import TopicSpec, delete_topics_with_prefix, ensure_topics
from streams.router.pagerduty import PagerDutySender
from streams.router.rules import parse_routes, resolve_keys
from streams.router.service import AlertRouter, RouterStats

pytestmark = pytest.mark.integration

PAGE_KEY = "p" * 16 + "0123456789abcdef"
LOW_KEY = "l" * 16 + "fedcba9876543210"
OUTAGE_S = 30.0
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def alert(
    dedup_key: str,
    *,
    status: str = "firing",
    severity: Severity = Severity.critical,
    summary: str | None = None,
) -> bytes:
    return AlertEvent(
        category=AlertCategory.data_drift,
        layer="model_quality",
        severity=severity,
        model_id="fraud",
        subject=dedup_key,
        evidence=Evidence(
            statistic="psi", value=0.4, threshold=0.2, window_start=T0, window_end=T0
        ),
        summary=f"{dedup_key} drifted" if summary is None else summary,
        dedup_key=dedup_key,
        status=status,  # type: ignore[arg-type]
        first_seen=T0,
        last_seen=T0 + timedelta(minutes=5),
        runbook_url="deploy/runbooks/data_drift.md",
    ).to_json()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def topics(kafka_bootstrap: str) -> Iterator[tuple[str, str]]:
    prefix = f"router-{uuid.uuid4().hex[:8]}"
    alerts, deadletter = f"{prefix}-alerts", f"{prefix}-deadletter"
    ensure_topics(kafka_bootstrap, {alerts: TopicSpec(1), deadletter: TopicSpec(1)})
    yield alerts, deadletter
    delete_topics_with_prefix(kafka_bootstrap, prefix)


@pytest.fixture
def standin() -> Iterator[PagerDutyStandIn]:
    server = PagerDutyStandIn().start()
    yield server
    server.stop()


def test_incident_is_delivered_exactly_once_through_bursts_and_an_outage(
    kafka_bootstrap: str,
    topics: tuple[str, str],
    standin: PagerDutyStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    alerts_topic, deadletter_topic = topics
    monkeypatch.setenv("TEST_PAGE_KEY", PAGE_KEY)
    monkeypatch.setenv("TEST_LOW_KEY", LOW_KEY)
    routes = parse_routes(
        {
            "runbook_base_url": "https://github.com/example/streams/blob/main",
            "rules": [
                {"match": {"severity": ["info"]}, "route": {"drop": True}},
                {
                    "match": {"severity": ["critical"]},
                    "route": {"team": "ml", "routing_key_env": "TEST_PAGE_KEY"},
                },
            ],
            "default": {"team": "ml", "routing_key_env": "TEST_LOW_KEY"},
        }
    )
    keys = resolve_keys(routes)
    group = f"router-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": kafka_bootstrap})

    def produce(*values: bytes) -> None:
        for value in values:
            producer.produce(alerts_topic, value, b"k")
        assert producer.flush(10) == 0

    def start_router() -> tuple[threading.Event, threading.Thread, list[RouterStats]]:
        router = AlertRouter(
            routes,
            keys,
            bootstrap=kafka_bootstrap,
            topic=alerts_topic,
            deadletter_topic=deadletter_topic,
            group=group,
            sender=PagerDutySender(
                standin.url, backoff=Backoff(base_s=0.05, cap_s=1.0), timeout_s=5
            ),
        )
        stop, result = threading.Event(), []
        thread = threading.Thread(target=lambda: result.append(router.run(stop)), daemon=True)
        thread.start()
        return stop, thread, result

    def delivered() -> Counter[tuple[str, str]]:
        return Counter((e["dedup_key"], e["event_action"]) for e in standin.accepted)

    # 1. a burst of throttling and server errors before the first page gets through
    standin.respond_next.extend([429, 429, 500, 429, 503, 500, 429])
    produce(b"{not json", alert("fraud:drift:a"))
    stop, thread, result = start_router()
    try:
        wait_for(lambda: delivered()[("fraud:drift:a", "trigger")] == 1, 30, "the first trigger")
        assert not standin.respond_next, "the burst was not retried through"

        # 2. a 30-second outage while the incident goes on
        outage_end = time.monotonic() + OUTAGE_S
        standin.outage_until = outage_end
        during = standin.requests
        produce(
            alert("fraud:drift:b", severity=Severity.warning),
            alert("fraud:drift:c", summary=""),  # PagerDuty answers 400: dead-lettered
            alert("fraud:drift:d", severity=Severity.info),  # dropped by a rule
            alert("fraud:drift:a", status="resolved"),
        )
        wait_for(
            lambda: delivered()[("fraud:drift:a", "resolve")] == 1,
            OUTAGE_S + 60,
            "the resolve after the outage",
        )
        assert time.monotonic() >= outage_end
        assert standin.requests - during >= 10, "the router did not keep retrying"
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    stats = result[0]
    assert (stats.delivered, stats.deadlettered, stats.dropped) == (3, 2, 1)

    # 3. a restart delivers nothing again, only what is new
    stop, thread, result = start_router()
    try:
        produce(alert("fraud:drift:b", status="resolved", severity=Severity.warning))
        wait_for(lambda: delivered()[("fraud:drift:b", "resolve")] == 1, 30, "the last resolve")
        time.sleep(2)  # time for anything replayed to show up
    finally:
        stop.set()
        thread.join(30)
    assert result[0].delivered == 1

    assert delivered() == {
        ("fraud:drift:a", "trigger"): 1,
        ("fraud:drift:b", "trigger"): 1,
        ("fraud:drift:a", "resolve"): 1,
        ("fraud:drift:b", "resolve"): 1,
    }
    by_key = {e["dedup_key"]: e["routing_key"] for e in standin.accepted}
    assert by_key == {"fraud:drift:a": PAGE_KEY, "fraud:drift:b": LOW_KEY}
    trigger = next(e for e in standin.accepted if e["event_action"] == "trigger")
    assert trigger["links"][0]["href"] == (
        "https://github.com/example/streams/blob/main/deploy/runbooks/data_drift.md"
    )

    records = read_topic(kafka_bootstrap, deadletter_topic, 30, until=lambda r: len(r) >= 2)
    assert sorted(r["reason"] for r in records) == ["bad_json", "pagerduty_rejected"]
    rejected = next(r for r in records if r["reason"] == "pagerduty_rejected")
    assert "400" in rejected["detail"] and "payload.summary" in rejected["detail"]
    assert [e["dedup_key"] for e, _ in standin.rejected] == ["fraud:drift:c"]

    assert PAGE_KEY not in caplog.text and LOW_KEY not in caplog.text
