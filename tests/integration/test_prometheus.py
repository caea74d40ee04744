"""Prometheus scrapes a real worker and every rule over worker metrics finds its series.

promtool's unit tests (deploy/prometheus/tests/) prove the rules' logic on made-up
series; this test proves the rules read the names and labels the worker really exports.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Producer

from streams.kafka.local import free_ports

from .conftest import Deployment
from .prometheus import RULE_FILES, local_config, series_operands, start_prometheus

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
BAD_MESSAGES = 20

#: Rules over the telemetry agent's metrics: no agent runs here; the agent and its
#: metrics are tested separately (another engineer's tests).
TELEMETRY_AGENT_RULES = {
    "NodeSilent",
    "GPUMemoryHigh",
    "GPUThermalThrottling",
    "GPUPowerThrottling",
    "GPUECCErrors",
}
TELEMETRY_METRIC = re.compile(r"\bstreams_(?:node|gpu|telemetry)_")


def _rules() -> list[dict]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def _queries(rules: list[dict]) -> list[str]:
    """What must return series: a recording rule's own name, each operand of an alert."""
    queries: list[str] = []
    for rule in rules:
        if "record" in rule:
            queries.append(rule["record"])
        elif rule["alert"] not in TELEMETRY_AGENT_RULES:
            queries.extend(series_operands(rule["expr"]))
    return list(dict.fromkeys(queries))


def _dead_letter(d: Deployment, count: int) -> None:
    """Messages the worker rejects, so the dead-letter counter has a series."""
    producer = Producer({"bootstrap.servers": d.bootstrap, "partitioner": "murmur2_random"})
    for i in range(count):
        producer.produce(d.topic("predictions"), key=f"bad-{i}".encode(), value=b"{not json")
    assert producer.flush(30) == 0


def test_the_skip_list_names_exactly_the_rules_over_telemetry_metrics() -> None:
    over_telemetry = {
        rule.get("alert", rule.get("record"))
        for rule in _rules()
        if TELEMETRY_METRIC.search(rule["expr"])
    }
    assert over_telemetry == TELEMETRY_AGENT_RULES


def test_every_rule_over_worker_metrics_returns_series(deploy, tmp_path: Path) -> None:
    (metrics_port,) = free_ports(1)
    d = deploy(metrics_port=metrics_port)
    d.start_worker()
    _dead_letter(d, BAD_MESSAGES)
    report = d.simulate(
        scenario="silent-zeros",
        rate=500 / 60,
        duration_s=600,
        seed=7,
        speedup=0,
        start=START,
    )
    expected = report.counts_by_window(60)
    d.results(set(expected))  # every window evaluated: every worker metric has its series

    config = local_config({"streams-worker": [f"127.0.0.1:{metrics_port}"]})
    prom = start_prometheus(config, tmp_path / "prometheus")
    try:
        prom.wait_for('up{job="streams-worker"} == 1')
        # rate() needs two samples; then one evaluation of every rule after them
        prom.wait_for('count_over_time(up{job="streams-worker"}[1m]) >= 2')
        prom.wait_for_rule_evaluation(after=time.time())

        queries = _queries(_rules())
        assert 'up{job="streams-worker"}' in queries
        empty = [q for q in queries if not prom.query(q)]
        assert empty == [], f"no series for {empty}; log:\n{prom.logs()}"

        # the scraped counters are the worker's own numbers
        (ingested,) = prom.query("sum(streams_ingest_events_total)")
        assert float(ingested["value"][1]) == sum(expected.values())
        (dead,) = prom.query("sum(streams_deadletter_events_total)")
        assert float(dead["value"][1]) == BAD_MESSAGES
    finally:
        prom.stop()
    assert prom.proc.poll() is not None
