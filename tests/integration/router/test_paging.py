"""End to end on the real broker: worker, alert router with the shipped routing file,
and the PagerDuty stand-in. A feature pipeline that serves zeros pages once, critical,
naming the zeroed features, and resolves when it recovers; seasonal traffic pages
nobody."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from tests.integration.pagerduty import PagerDutyStandIn
from tests.integration.worker.test_pipeline import run_scenario

from streams.backoff import Backoff
from streams.router.pagerduty import PagerDutySender
from streams.router.rules import load_routes, resolve_keys
from streams.router.service import AlertRouter

pytestmark = pytest.mark.integration

ROUTES = Path(__file__).parents[3] / "deploy" / "router" / "routes.yml"
PAGE_KEY = "p" * 16 + "0123456789abcdef"
LOW_KEY = "l" * 16 + "fedcba9876543210"
ZEROED = ["user_clicks_7d", "user_sessions_30d", "user_dwell_time_avg_s"]


def route_alerts(d, standin: PagerDutyStandIn, monkeypatch, until, timeout_s: float = 60) -> None:
    """Run the router on the deployment's alerts until ``until()`` holds (or time out)."""
    monkeypatch.setenv("PAGERDUTY_PAGE_KEY", PAGE_KEY)
    monkeypatch.setenv("PAGERDUTY_LOW_KEY", LOW_KEY)
    routes = load_routes(ROUTES)
    router = AlertRouter(
        routes,
        resolve_keys(routes, ROUTES),
        bootstrap=d.bootstrap,
        topic=d.topic("alerts"),
        deadletter_topic=d.topic("deadletter"),
        group=f"router-{uuid.uuid4().hex[:8]}",
        sender=PagerDutySender(standin.url, backoff=Backoff(base_s=0.05, cap_s=1.0)),
    )
    stop = threading.Event()
    thread = threading.Thread(target=router.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    try:
        while not until() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture
def standin():
    server = PagerDutyStandIn().start()
    yield server
    server.stop()


def test_silent_zeros_pages_once_critical_then_resolves(deploy, standin, monkeypatch) -> None:
    d = deploy()
    run_scenario(
        d, 60, 40, 1000, scenario="silent-zeros", affect=ZEROED, onset_s=900, recover_s=1800
    )

    def resolved() -> bool:
        return any(e["event_action"] == "resolve" for e in standin.accepted)

    route_alerts(d, standin, monkeypatch, resolved)
    time.sleep(1)
    events = [(e["event_action"], e["dedup_key"], e["routing_key"]) for e in standin.accepted]
    # one PagerDuty incident: its trigger, updates of it (triggers with the same dedup_key,
    # which the Events API folds into the open incident), one resolve at the end
    assert set(events[1:-1]) <= {("trigger", "recsys-ranker:data_quality", PAGE_KEY)}
    assert (events[0], events[-1]) == (
        ("trigger", "recsys-ranker:data_quality", PAGE_KEY),
        ("resolve", "recsys-ranker:data_quality", PAGE_KEY),
    )
    updates = [e["payload"]["custom_details"] for e in standin.accepted[1:-1]]
    assert all(u.get("update") is True for u in updates)
    assert "update" not in standin.accepted[0]["payload"]["custom_details"]
    trigger = standin.accepted[0]["payload"]
    assert trigger["severity"] == "critical"
    assert all(f in trigger["summary"] for f in ZEROED)


def test_seasonal_traffic_pages_nobody(deploy, standin, monkeypatch) -> None:
    d = deploy(window_s=3600)
    _, alerts = run_scenario(d, 3600, 32, 1000, scenario="seasonal")
    route_alerts(d, standin, monkeypatch, lambda: False, timeout_s=5)
    assert alerts == [] and standin.requests == 0
