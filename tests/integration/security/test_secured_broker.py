"""Clients over SASL_SSL with SCRAM-SHA-512 on a real broker: the producer client, the
alert router and the telemetry agent do their work through it; a wrong password or an
untrusted certificate is refused at once, in one line that holds no secret."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
import yaml
from confluent_kafka import Producer
from tests.integration.client.test_client import raw_messages
from tests.integration.pagerduty import PagerDutyStandIn
from tests.integration.router.test_alert_router import PAGE_KEY, alert, wait_for
from tests.integration.security.conftest import SecuredBroker, make_ca

from streams.client import PredictionLogger
from streams.config.models import KafkaSecurity
from streams.devtools.simulator.model import EventGenerator
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.kafka.reachability import BrokerRefused, probe_broker
from streams.router.pagerduty import PagerDutySender
from streams.router.rules import parse_routes, resolve_keys
from streams.router.service import AlertRouter
from streams.telemetry.agent import TelemetryAgent

pytestmark = pytest.mark.integration

T0 = 1_767_225_600.0


def wrong_password(secured_broker: SecuredBroker, folder: Path) -> KafkaSecurity:
    wrong = folder / "wrong.password"
    wrong.write_text("not-the-password\n")
    return KafkaSecurity.model_validate(secured_broker.security(password_file=wrong))


def test_the_right_password_is_let_in_and_a_wrong_one_refused(
    secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    assert probe_broker(secured_broker.secure, security=secured_broker.settings()) is None
    with pytest.raises(BrokerRefused, match="the login was refused") as refused:
        probe_broker(secured_broker.secure, security=wrong_password(secured_broker, tmp_path))
    assert "\n" not in str(refused.value)
    assert "not-the-password" not in str(refused.value)
    # PLAINTEXT at the SASL_SSL door is no login at all: not reachable, nothing leaks
    assert probe_broker(secured_broker.secure, timeout_s=3) is not None


def test_the_client_logs_predictions_over_sasl_ssl(secured_broker: SecuredBroker) -> None:
    topic = f"secure-client-{uuid.uuid4().hex[:8]}"
    ensure_topics(secured_broker.plaintext, {topic: TopicSpec(3)})
    events = EventGenerator(seed=3).generate(T0 + np.arange(2_000) * 0.01).to_events()
    security = secured_broker.security()  # a plain dict: model servers have no monitor config
    with PredictionLogger(secured_broker.secure, topic, security=security) as logger:
        assert logger.wait_ready(30)
        for event in events:
            assert logger.log(event)
    assert logger.pending() == 0 and logger.stats().delivery_errors == 0
    seen = [e["prediction_id"] for _, _, v in raw_messages(secured_broker.plaintext, topic)
            for e in v["predictions"]]  # fmt: skip
    assert sorted(seen) == sorted(e["prediction_id"] for e in events)


def test_the_router_pages_from_a_secured_cluster(
    secured_broker: SecuredBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"secure-router-{uuid.uuid4().hex[:8]}"
    alerts_topic, deadletter_topic = f"{prefix}-alerts", f"{prefix}-deadletter"
    ensure_topics(
        secured_broker.plaintext, {alerts_topic: TopicSpec(1), deadletter_topic: TopicSpec(1)}
    )
    monkeypatch.setenv("TEST_PAGE_KEY", PAGE_KEY)
    routes = parse_routes({"default": {"team": "ml", "routing_key_env": "TEST_PAGE_KEY"}})
    producer = Producer({"bootstrap.servers": secured_broker.plaintext})
    producer.produce(alerts_topic, alert("fraud:drift:a"), b"k")
    producer.produce(alerts_topic, b"{not json", b"k")
    assert producer.flush(10) == 0
    standin = PagerDutyStandIn().start()
    router = AlertRouter(
        routes,
        resolve_keys(routes),
        bootstrap=secured_broker.secure,
        security=secured_broker.settings(),
        topic=alerts_topic,
        deadletter_topic=deadletter_topic,
        group=prefix,
        sender=PagerDutySender(standin.url, timeout_s=5),
    )
    stop = threading.Event()
    thread = threading.Thread(target=router.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: router.stats.deadlettered == 1, 60, "the dead-lettered alert")
        assert [e["dedup_key"] for e in standin.accepted] == ["fraud:drift:a"]
    finally:
        stop.set()
        thread.join(30)
        standin.stop()


def run_streams(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", *args], capture_output=True, text=True, timeout=120
    )


def test_a_worker_with_a_wrong_password_exits_with_one_line(
    secured_broker: SecuredBroker, deploy, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    security = secured_broker.security(password_file=wrong)
    d = deploy(kafka={"bootstrap": secured_broker.secure, "security": security})
    done = run_streams("worker", "--config", str(d.config_path), "--log-file", "-")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "streams worker: error: Kafka at" in done.stderr
    assert "the login was refused" in done.stderr
    assert "not-the-password" not in done.stdout + done.stderr


def test_an_untrusted_certificate_is_one_line(
    secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    other_ca = make_ca(tmp_path, "other-ca")
    settings = tmp_path / "security.yaml"
    settings.write_text(yaml.safe_dump(secured_broker.security(ca_file=other_ca)))
    done = run_streams(
        "simulate", "--bootstrap", secured_broker.secure, "--kafka-security", str(settings),
        "--duration", "60", "--topic", "never-written", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "the TLS handshake failed" in done.stderr
    assert secured_broker.password not in done.stdout + done.stderr


def test_a_telemetry_agent_with_a_wrong_password_exits_with_one_line(
    secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    settings = tmp_path / "security.yaml"
    settings.write_text(
        yaml.safe_dump(wrong_password(secured_broker, tmp_path).model_dump(mode="json"))
    )
    done = run_streams(
        "telemetry-agent", "--bootstrap", secured_broker.secure, "--kafka-security", str(settings),
        "--interval", "0.5", "--metrics-port", "0", "--topic", f"never-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "streams telemetry-agent: error: Kafka at" in done.stderr
    assert "the login was refused" in done.stderr
    assert "not-the-password" not in done.stdout + done.stderr


def test_a_refusal_after_the_start_stops_the_agent_too(
    secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    """Past the start-up probe (a broker down then, up with the wrong password later),
    the refusal comes through the producer's own errors; run() must stop on it."""
    topic = f"secure-telemetry-{uuid.uuid4().hex[:8]}"
    security = secured_broker.settings()
    agent = TelemetryAgent(
        secured_broker.secure, topic, "n1", 0.2, metrics_port=None, security=security
    )
    assert agent.run(threading.Event(), max_samples=3) == 3
    assert agent.delivered == 3  # the right password: no refusal seen where there is none
    wrong = wrong_password(secured_broker, tmp_path)
    agent = TelemetryAgent(
        secured_broker.secure, topic, "n2", 0.2, metrics_port=None, security=wrong
    )
    stop = threading.Event()
    timer = threading.Timer(60, stop.set)  # a run that never stops on its own fails below
    timer.start()
    try:
        with pytest.raises(BrokerRefused, match="the login was refused") as refused:
            agent.run(stop)
    finally:
        timer.cancel()
    assert not stop.is_set()
    assert "not-the-password" not in str(refused.value) and agent.delivered == 0
