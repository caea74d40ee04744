"""Prometheus scrapes a real worker and a real telemetry agent: every rule and every
Grafana panel expression finds its series.

promtool's unit tests (deploy/prometheus/tests/) prove the rules' logic on made-up
series and tests/unit/test_grafana.py proves the panel expressions parse; this proves
they read the names and labels the worker and the agent really export. Grafana's
variables get the values Grafana would give them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Producer
from tests.integration.conftest import Deployment
from tests.integration.prometheus import (
    ROOT,
    RULE_FILES,
    local_config,
    series_operands,
    start_prometheus,
)

from streams.devtools.local_broker import free_ports
from streams.devtools.processes import stop_process_group
from streams.devtools.simulator.model import DEFAULT_MODEL_ID

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
BAD_MESSAGES = 20
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$model": DEFAULT_MODEL_ID,
    "$feature": "user_clicks_7d",
}
#: No GPU here: the agent reports none, so these are empty by design (the GPU readings
#: are compared with nvidia-smi in test_gpu_telemetry.py where a GPU exists).
GPU_METRIC = re.compile(r"\bstreams_gpu_")
GPU_RULES = {"GPUMemoryHigh", "GPUThermalThrottling", "GPUPowerThrottling", "GPUECCErrors"}


def _rules() -> list[dict]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def _rule_queries() -> list[str]:
    """What must return series: a recording rule's own name, each operand of an alert."""
    queries: list[str] = []
    for rule in _rules():
        if "record" in rule:
            queries.append(rule["record"])
        elif rule["alert"] not in GPU_RULES:
            queries.extend(series_operands(rule["expr"]))
    return list(dict.fromkeys(queries))


def _build() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_build", ROOT / "grafana" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _panel_exprs() -> dict[str, str]:
    """Panel expression, variables substituted -> where it is ("file: panel title")."""
    found: dict[str, str] = {}
    for name, text in _build().build().items():
        for panel in json.loads(text)["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for variable, value in SUBSTITUTIONS.items():
                    expr = expr.replace(variable, value)
                found.setdefault(expr, f"{name}: {panel['title']}")
    return found


def _dead_letter(d: Deployment, count: int) -> None:
    producer = Producer({"bootstrap.servers": d.bootstrap, "partitioner": "murmur2_random"})
    for i in range(count):
        producer.produce(d.topic("predictions"), key=f"bad-{i}".encode(), value=b"{not json")
    assert producer.flush(30) == 0


def _start_agent(d: Deployment, port: int) -> subprocess.Popen[bytes]:
    log = d.workdir / "telemetry-agent.log"
    command = [
        sys.executable,
        "-m",
        "streams",
        "telemetry-agent",
        "--bootstrap",
        d.bootstrap,
        "--topic",
        d.topic("node-telemetry"),
        "--node-id",
        "it-node",
        "--interval",
        "1",
        "--metrics-port",
        str(port),
    ]
    return subprocess.Popen(
        command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_for_metric(port: int, prefix: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
        except OSError:
            text = b""
        if any(line.startswith(prefix) for line in text.decode().splitlines()):
            return
        time.sleep(0.5)
    raise AssertionError(f"the worker never exported {prefix}")


def test_the_gpu_skip_lists_are_exact_and_small() -> None:
    over_gpu = {r["alert"] for r in _rules() if "alert" in r and GPU_METRIC.search(r["expr"])}
    assert over_gpu == GPU_RULES
    exprs = _panel_exprs()
    skipped = [e for e in exprs if GPU_METRIC.search(e)]
    assert 0 < len(skipped) < len(exprs) / 3
    assert all("$" not in e for e in exprs)


def test_every_rule_and_panel_expression_returns_series(deploy, tmp_path: Path) -> None:
    metrics_port, agent_port = free_ports(2)
    d = deploy(metrics_port=metrics_port, model={"performance": {"cohorts": ["country"]}})
    d.start_worker()
    agent = _start_agent(d, agent_port)
    prom = None
    try:
        _dead_letter(d, BAD_MESSAGES)
        report = d.simulate(
            scenario="silent-zeros",
            rate=500 / 60,
            duration_s=600,
            seed=7,
            speedup=0,
            start=START,
            labels=True,  # performance panels: labels join within the run
            label_delay_s=60,
        )
        expected = report.counts_by_window(60)
        d.results(set(expected))  # every window evaluated: every worker metric has a series
        # and labels joined (they trail their predictions by a minute of event time)
        _wait_for_metric(metrics_port, "streams_shadow_accuracy_delta{")

        config = local_config(
            {
                "streams-worker": [f"127.0.0.1:{metrics_port}"],
                "streams-telemetry": [f"127.0.0.1:{agent_port}"],
            }
        )
        prom = start_prometheus(config, tmp_path / "prometheus")
        for job in ("streams-worker", "streams-telemetry"):
            prom.wait_for(f'up{{job="{job}"}} == 1')
            # rate() needs two samples, and the recording rules one evaluation after them
            prom.wait_for(f'count_over_time(up{{job="{job}"}}[1m]) >= 2')
        prom.wait_for_rule_evaluation(after=time.time())

        rules = _rule_queries()
        assert 'up{job="streams-worker"}' in rules
        empty = [q for q in rules if not prom.query(q)]
        assert empty == [], f"no series for rules {empty}; log:\n{prom.logs()}"
        panels = {e: w for e, w in _panel_exprs().items() if not GPU_METRIC.search(e)}
        empty = [f"{where}: {e}" for e, where in panels.items() if not prom.query(e)]
        assert empty == [], "no series for panels:\n" + "\n".join(empty)

        # the scraped counters are the worker's own numbers
        (ingested,) = prom.query("sum(streams_ingest_events_total)")
        assert float(ingested["value"][1]) == sum(expected.values())
        (dead,) = prom.query("sum(streams_deadletter_events_total)")
        assert float(dead["value"][1]) == BAD_MESSAGES
    finally:
        if prom is not None:
            prom.stop()
        stop_process_group(agent, timeout_s=20)
    assert agent.poll() is not None
