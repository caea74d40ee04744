"""A Prometheus alert reaches the PagerDuty stand-in through a real Alertmanager."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from tests.integration.pagerduty import PagerDutyStandIn
from tests.integration.prometheus import start_prometheus, wait_until

from streams.devtools.local_broker import free_ports
from streams.devtools.processes import stop_process_group

pytestmark = pytest.mark.integration
CONFIG = Path(__file__).parents[3] / "deploy" / "alertmanager" / "alertmanager.yml"
PAGE_KEY, LOW_KEY = "p" * 32, "l" * 32

RULES = {
    "groups": [
        {
            "name": "test",
            "rules": [
                {
                    "alert": "StreamsTestPage",
                    "expr": "vector(1)",
                    "labels": {
                        "severity": "critical",
                        "category": "pipeline",
                        "layer": "application",
                        "model": "m",
                    },
                    "annotations": {
                        "summary": "a test page",
                        "runbook_url": "deploy/runbooks/pipeline.md",
                    },
                },
                {
                    "alert": "StreamsTestInfo",
                    "expr": "vector(1)",
                    "labels": {"severity": "info", "category": "pipeline", "model": "m"},
                    "annotations": {"summary": "goes nowhere"},
                },
            ],
        }
    ]
}


def alertmanager_config(tmp_path: Path, pagerduty_url: str) -> Path:
    """The shipped config, with keys in temp files, the stand-in's URL, short waits."""
    config = yaml.safe_load(CONFIG.read_text())
    keys = {"pagerduty-page": PAGE_KEY, "pagerduty-low-urgency": LOW_KEY}
    for receiver in config["receivers"]:
        for pd in receiver.get("pagerduty_configs", []):
            key_file = tmp_path / f"{receiver['name']}.key"
            key_file.write_text(keys[receiver["name"]])
            pd["routing_key_file"], pd["url"] = str(key_file), pagerduty_url
    config["route"]["group_wait"] = "1s"
    for route in config["route"]["routes"]:
        route.pop("group_wait", None)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.skipif(
    shutil.which("prometheus-alertmanager") is None,
    reason="Debian's prometheus-alertmanager is not installed",
)
def test_prometheus_alert_is_delivered_to_pagerduty(tmp_path: Path) -> None:
    pagerduty = PagerDutyStandIn().start()
    (port,) = free_ports(1)
    alertmanager = subprocess.Popen(
        [
            "prometheus-alertmanager",
            f"--config.file={alertmanager_config(tmp_path, pagerduty.url)}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--storage.path={tmp_path / 'am'}",
        ],
        stdout=(tmp_path / "am.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(RULES))
    prometheus = None
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def ready() -> bool:
            try:
                return opener.open(f"http://127.0.0.1:{port}/-/ready").status == 200
            except OSError:
                return False

        wait_until(ready, 30, "alertmanager to be ready")
        prometheus = start_prometheus(
            {
                "global": {"evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]
                },
            },
            tmp_path / "prometheus",
            # resend at once: the first send can come before Alertmanager is discovered
            extra_args=("--rules.alert.resend-delay=1s",),
        )
        wait_until(lambda: pagerduty.accepted, 60, "a PagerDuty event")
        assert pagerduty.rejected == []
        event = pagerduty.accepted[0]
        assert event["routing_key"] == PAGE_KEY and event["event_action"] == "trigger"
        payload = event["payload"]
        assert payload["severity"] == "critical" and payload["class"] == "pipeline"
        assert payload["summary"].startswith("StreamsTestPage: a test page")
        assert payload["custom_details"]["runbook_url"] == "deploy/runbooks/pipeline.md"
        # the info alert is routed nowhere: every delivery so far is the page's group
        assert {e["routing_key"] for e in pagerduty.accepted} == {PAGE_KEY}
    finally:
        if prometheus is not None:
            prometheus.stop()
        stop_process_group(alertmanager, 10)
        pagerduty.stop()
