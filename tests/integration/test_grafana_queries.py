"""Every PromQL expression of every Grafana dashboard panel returns data from a real
Prometheus scraping a real worker and a real telemetry agent.

tests/unit/test_grafana.py proves the expressions parse; this proves they read names
and labels that exist. Grafana's variables get the values Grafana would give them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from streams.kafka.local import free_ports
from streams.processes import stop_process_group
from streams.simulator.model import DEFAULT_MODEL_ID

from .conftest import Deployment
from .prometheus import ROOT, local_config, start_prometheus

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$model": DEFAULT_MODEL_ID,
    "$feature": "user_clicks_7d",
}
#: No GPU here: the agent reports none, so these panels are empty by design (the GPU
#: readings are tested with NVML in test_gpu_telemetry.py).
GPU_METRIC = re.compile(r"\bstreams_gpu_")


def _build() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_build", ROOT / "grafana" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exprs() -> dict[str, str]:
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
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streams",
            "telemetry-agent",
            "--bootstrap",
            d.bootstrap,
            "--topic",
            d.topic("node-telemetry"),
            "--node-id",
            "it-grafana",
            "--interval",
            "1",
            "--metrics-port",
            str(port),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_the_gpu_skip_list_is_small() -> None:
    exprs = _exprs()
    skipped = [e for e in exprs if GPU_METRIC.search(e)]
    # only GPU panels are skipped, and they are a minority of the panels
    assert 0 < len(skipped) < len(exprs) / 3
    assert all("$" not in e for e in exprs)


def test_every_panel_expression_returns_series(deploy, tmp_path: Path) -> None:
    metrics_port, agent_port = free_ports(2)
    d = deploy(metrics_port=metrics_port)
    d.start_worker()
    agent = _start_agent(d, agent_port)
    prom = None
    try:
        _dead_letter(d, 20)
        report = d.simulate(
            scenario="silent-zeros",
            rate=500 / 60,
            duration_s=600,
            seed=7,
            speedup=0,
            start=START,
        )
        d.results(set(report.counts_by_window(60)))  # every worker metric has its series

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

        exprs = _exprs()
        checked = {e: where for e, where in exprs.items() if not GPU_METRIC.search(e)}
        empty = [f"{where}: {e}" for e, where in checked.items() if not prom.query(e)]
        assert empty == [], "no series for:\n" + "\n".join(empty) + f"\nlog:\n{prom.logs()}"
    finally:
        if prom is not None:
            prom.stop()
        stop_process_group(agent, timeout_s=20)
    assert agent.poll() is not None
