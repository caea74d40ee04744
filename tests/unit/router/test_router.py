"""The alert router without a broker: routing rules, the Events API v2 mapping, the
retrying sender (against the loopback stand-in) and that keys never leak."""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr
from tests.integration.pagerduty import PagerDutyStandIn, contract_errors

from streams.backoff import Backoff
from streams.events.models import AlertCategory, AlertEvent, Evidence, Severity
from streams.router.pagerduty import (
    Delivered,
    PagerDutySender,
    Rejected,
    event_body,
    masked,
)
from streams.router.rules import RoutesError, load_routes, parse_routes, resolve_keys
from streams.router.service import AlertRouter

KEY = "k" * 16 + "0123456789abcdef"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
ROUTES = {
    "runbook_base_url": "https://example.com/repo/",
    "rules": [
        {"name": "quiet", "match": {"severity": ["info"]}, "route": {"drop": True}},
        {
            "name": "fraud-gpu",
            "match": {"model": ["fraud"], "category": ["gpu", "performance"]},
            "route": {"team": "fraud", "routing_key_env": "FRAUD_KEY"},
        },
        {
            "name": "page",
            "match": {"severity": ["critical"]},
            "route": {
                "team": "ml",
                "routing_key_env": "PAGE_KEY",
                "dashboard_url": "https://grafana.example.com/d/x",
            },
        },
    ],
    "default": {"team": "ml", "routing_key_file": "low.key"},
}


def make_alert(**changes: Any) -> AlertEvent:
    fields: dict[str, Any] = {
        "category": AlertCategory.data_drift,
        "layer": "model_quality",
        "severity": Severity.critical,
        "model_id": "fraud",
        "subject": "amount",
        "evidence": Evidence(
            statistic="psi", value=0.4, threshold=0.2, window_start=T0, window_end=T0
        ),
        "summary": "amount drifted",
        "dedup_key": "fraud:data_drift",
        "first_seen": T0,
        "last_seen": T0,
        "runbook_url": "deploy/runbooks/data_drift.md",
    }
    return AlertEvent(**{**fields, **changes})


@pytest.fixture
def routes() -> Any:
    return parse_routes(ROUTES)


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"severity": Severity.info}, "quiet"),
        ({"category": AlertCategory.gpu, "severity": Severity.warning}, "fraud-gpu"),
        ({"category": AlertCategory.gpu, "severity": Severity.info}, "quiet"),  # first wins
        ({"category": AlertCategory.gpu, "model_id": None}, "page"),  # no model: no match
        ({}, "page"),
        ({"severity": Severity.warning}, "default"),
    ],
)
def test_first_matching_rule_wins(routes: Any, changes: dict[str, Any], rule: str) -> None:
    assert routes.route(make_alert(**changes)).rule == rule


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"default": {"team": "ml"}}, "default: Value error, set exactly one of"),
        (
            {"rules": [{"match": {"severity": ["loud"]}, "route": {"drop": True}}]},
            "rules.0.match.severity.0: Input should be",
        ),
        (
            {"rules": [{"match": {"model": []}, "route": {"drop": True}}]},
            "rules.0.match.model: List should have at least 1 item",
        ),
        ({"runbook_base_url": "deploy/runbooks"}, "runbook_base_url: Value error, must be an"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        (
            {"default": {"drop": True, "routing_key_env": "X"}},
            "default: Value error, a drop route takes no routing key",
        ),
    ],
)
def test_invalid_routes_are_one_line_with_the_key_path(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(RoutesError) as info:
        parse_routes({**ROUTES, **change}, "routes.yml")
    text = str(info.value)
    assert text.startswith("routes.yml: ") and message in text and "\n" not in text


def test_routes_file_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "routes.yml"
    path.write_text(json.dumps(ROUTES))
    (tmp_path / "low.key").write_text(KEY + "\n")
    routes = load_routes(path)
    env = {"FRAUD_KEY": KEY, "PAGE_KEY": KEY}
    keys = resolve_keys(routes, path, env)
    assert set(keys) == {"rules.1.route", "rules.2.route", "default"}
    assert all(k is not None and k.get_secret_value() == KEY for k in keys.values())

    with pytest.raises(RoutesError, match=r"rules.2.route.routing_key_env: .*PAGE_KEY is not set"):
        resolve_keys(routes, path, {"FRAUD_KEY": KEY})
    with pytest.raises(RoutesError, match="has 5 characters") as info:
        resolve_keys(routes, path, {**env, "PAGE_KEY": "short"})
    assert "short" not in str(info.value)
    assert resolve_keys(routes, path, {}, allow_missing=True)["rules.1.route"] is None
    (tmp_path / "low.key").unlink()
    with pytest.raises(RoutesError, match=r"default.routing_key_file: .*cannot be read"):
        resolve_keys(routes, path, env)


def test_example_routes_file_is_valid() -> None:
    path = Path(__file__).parents[3] / "deploy" / "router" / "routes.yml"
    routes = load_routes(path)
    assert routes.route(make_alert(severity=Severity.info)).route.drop
    assert routes.route(make_alert()).route.routing_key_env == "PAGERDUTY_PAGE_KEY"
    assert routes.route(make_alert(severity=Severity.error)).route.routing_key_env == (
        "PAGERDUTY_LOW_KEY"
    )


# ---------------------------------------------------------------- mapping


def test_trigger_body_follows_the_contract(routes: Any) -> None:
    decision = routes.route(make_alert())
    body = event_body(
        make_alert(), decision.route, SecretStr(KEY), runbook_base_url=routes.runbook_base_url
    )
    assert contract_errors(body) == []
    assert body["event_action"] == "trigger" and body["dedup_key"] == "fraud:data_drift"
    payload = body["payload"]
    assert payload["source"] == "streams/fraud" and payload["severity"] == "critical"
    assert (payload["class"], payload["component"], payload["group"]) == (
        "data_drift",
        "model_quality",
        "fraud",
    )
    assert payload["custom_details"]["statistic"] == "psi"
    assert payload["custom_details"]["subject"] == "amount"
    assert payload["custom_details"]["team"] == "ml"
    assert body["links"] == [
        {"href": "https://example.com/repo/deploy/runbooks/data_drift.md", "text": "Runbook"},
        {"href": "https://grafana.example.com/d/x", "text": "Dashboard"},
    ]


@pytest.mark.parametrize("severity", list(Severity))
def test_severity_maps_one_to_one(severity: Severity) -> None:
    route = parse_routes(ROUTES).default
    body = event_body(make_alert(severity=severity, model_id=None), route, SecretStr(KEY))
    assert body["payload"]["severity"] == severity.value
    assert body["payload"]["source"] == "streams/amount" and "group" not in body["payload"]
    assert "links" not in body  # a repo-relative runbook path is no link without a base


def test_resolve_body_and_summary_truncation(routes: Any) -> None:
    route = routes.default
    resolved = event_body(make_alert(status="resolved"), route, SecretStr(KEY))
    assert resolved == {
        "routing_key": KEY,
        "event_action": "resolve",
        "dedup_key": resolved["dedup_key"],
    }
    assert contract_errors(resolved) == []
    long = event_body(make_alert(summary="x" * 1025), route, SecretStr(KEY))
    assert len(long["payload"]["summary"]) == 1024 and contract_errors(long) == []
    exact = event_body(make_alert(summary="y" * 1024), route, SecretStr(KEY))
    assert exact["payload"]["summary"] == "y" * 1024


# ---------------------------------------------------------------- sender


@pytest.fixture
def standin() -> Any:
    server = PagerDutyStandIn().start()
    yield server
    server.stop()


def test_sender_retries_429_and_5xx_never_400(standin: Any, routes: Any) -> None:
    sender = PagerDutySender(standin.url, backoff=Backoff(base_s=0.01, cap_s=0.02))
    body = event_body(make_alert(), routes.default, SecretStr(KEY))
    standin.respond_next.extend([429, 500, 503, 429])
    assert sender.send(body, threading.Event()) == Delivered(202, 5)
    assert len(standin.accepted) == 1

    bad = event_body(make_alert(summary=""), routes.default, SecretStr(KEY))
    result = sender.send(bad, threading.Event())
    assert isinstance(result, Rejected) and result.attempts == 1 and result.status == 400
    assert "payload.summary" in result.body


def test_sender_retries_connection_errors_until_stopped(caplog: Any) -> None:
    sender = PagerDutySender("http://127.0.0.1:9/v2/enqueue", backoff=Backoff(0.01, 0.02))
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    caplog.set_level(logging.DEBUG)
    assert sender.send({"routing_key": KEY, "event_action": "trigger"}, stop) is None
    assert "not delivered" in caplog.text and "not committed" in caplog.text
    assert KEY not in caplog.text


# ---------------------------------------------------------------- keys never leak


class FakeMessage(SimpleNamespace):
    def value(self) -> bytes:
        return self.raw

    def topic(self) -> str:
        return "alerts"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 7

    def key(self) -> bytes:
        return b"k"


def test_keys_never_in_reprs_logs_or_dry_run_output(standin: Any, routes: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    keys = resolve_keys(routes, environ={"FRAUD_KEY": KEY, "PAGE_KEY": KEY}, allow_missing=True)
    assert KEY not in repr(keys) and KEY not in str(keys)
    out = io.StringIO()
    sender = PagerDutySender(standin.url, backoff=Backoff(0.01, 0.02))
    dry = AlertRouter(routes, keys, sender=sender, dry_run=True, out=out)
    assert dry.handle(FakeMessage(raw=make_alert().to_json()), threading.Event())
    printed = json.loads(out.getvalue())
    assert printed["routing_key"] == "********" and printed["event_action"] == "trigger"
    assert standin.requests == 0  # a dry run sends nothing

    live = AlertRouter(routes, keys, sender=sender)
    standin.respond_next.extend([429, 500])
    assert live.handle(FakeMessage(raw=make_alert().to_json()), threading.Event())
    assert standin.accepted[0]["routing_key"] == KEY and live.stats.delivered == 1
    assert KEY not in repr(live) + repr(sender) + repr(routes)
    assert KEY not in json.dumps(masked(standin.accepted[0]))
    assert KEY not in caplog.text + out.getvalue()
    assert "429" in caplog.text  # the retries were logged, without the key


def test_silenced_firing_is_not_paged_but_its_resolution_is(standin: Any, routes: Any) -> None:
    from streams.events.models import Silence

    keys = resolve_keys(routes, environ={"FRAUD_KEY": KEY, "PAGE_KEY": KEY}, allow_missing=True)
    router = AlertRouter(routes, keys, sender=PagerDutySender(standin.url))
    silence = Silence(
        model_id="fraud",
        category=AlertCategory.data_drift,
        until=T0.replace(year=2030),
        by="ana",
        reason="planned migration",
        created_at=T0,
    )
    firing = make_alert(silenced=silence)
    assert router.handle(FakeMessage(raw=firing.to_json()), threading.Event())
    assert (router.stats.silenced, standin.requests) == (1, 0)
    resolved = make_alert(silenced=silence, status="resolved")
    assert router.handle(FakeMessage(raw=resolved.to_json()), threading.Event())
    assert router.stats.delivered == 1
    assert standin.accepted[0]["event_action"] == "resolve"
