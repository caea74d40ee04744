"""The Prometheus config and rules in deploy/prometheus: valid, unit-tested, labelled.

promtool checks the syntax and runs the rule unit tests in deploy/prometheus/tests/;
the checks here read the YAML and make sure no alerting rule goes untested or unlabelled.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))

SEVERITIES = {"critical", "error", "warning", "info"}
CATEGORIES = {
    "data_drift",
    "prediction_drift",
    "data_quality",
    "freshness",
    "performance",
    "slo_burn",
    "gpu",
    "node_silent",
    "attribution_drift",
    "pipeline",
    "clock_skew",
}
LAYERS = {"infrastructure", "application", "ml_pipeline", "model_quality"}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _groups() -> list[dict[str, Any]]:
    return [group for path in RULE_FILES for group in _load(path)["groups"]]


def _alerting_rules() -> list[dict[str, Any]]:
    return [rule for group in _groups() for rule in group["rules"] if "alert" in rule]


def _recording_rules() -> list[dict[str, Any]]:
    return [rule for group in _groups() for rule in group["rules"] if "record" in rule]


def _unit_tests() -> list[dict[str, Any]]:
    return [test for path in TEST_FILES for test in _load(path)["tests"]]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return subprocess.run(
        [promtool, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def _assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_are_rules_and_tests() -> None:
    assert RULE_FILES and TEST_FILES
    assert _alerting_rules() and _recording_rules()


@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus-compose.yml"])
def test_config_is_valid(name: str) -> None:
    _assert_ok(_promtool("check", "config", str(PROMETHEUS_DIR / name)))


def test_rules_are_valid() -> None:
    _assert_ok(_promtool("check", "rules", *map(str, RULE_FILES)))


def test_rule_unit_tests_pass() -> None:
    _assert_ok(_promtool("test", "rules", *map(str, TEST_FILES)))


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in _alerting_rules()]
    assert len(names) == len(set(names))


def test_every_alert_has_a_test_that_fires_it_and_one_that_does_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for test in _unit_tests():
        for case in test.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in _alerting_rules()}
    assert names - fired == set(), "alerting rules no promtool test fires"
    assert names - quiet == set(), "alerting rules no promtool test expects quiet"


def test_every_recording_rule_value_is_tested() -> None:
    exprs = [case["expr"] for test in _unit_tests() for case in test.get("promql_expr_test", [])]
    untested = {
        rule["record"]
        for rule in _recording_rules()
        if not any(re.search(rf"{re.escape(rule['record'])}(?![\w:])", e) for e in exprs)
    }
    assert untested == set()


@pytest.mark.parametrize("rule", _alerting_rules(), ids=lambda rule: rule["alert"])
def test_alert_is_labelled_for_the_taxonomy(rule: dict[str, Any]) -> None:
    labels = rule.get("labels", {})
    assert labels.get("severity") in SEVERITIES
    assert labels.get("category") in CATEGORIES
    assert labels.get("layer") in LAYERS
    runbook = rule.get("annotations", {}).get("runbook_url")
    assert runbook == f"deploy/runbooks/{labels['category']}.md"
    assert (ROOT / runbook).is_file()
    assert rule["annotations"].get("summary")


def test_unit_tests_evaluate_recording_rules_before_alerts() -> None:
    """promtool orders groups at random unless told: alerts reading recorded series would
    then see this or the previous evaluation's value, and the tests would be flaky."""
    recording = [g["name"] for g in _groups() if all("record" in r for r in g["rules"])]
    alerting = [g["name"] for g in _groups() if all("alert" in r for r in g["rules"])]
    assert len(recording) + len(alerting) == len(_groups())
    for path in TEST_FILES:
        order = _load(path).get("group_eval_order", [])
        assert sorted(order) == sorted(recording + alerting), path.name
        assert max(map(order.index, recording)) < min(map(order.index, alerting)), path.name


def test_compose_config_differs_only_in_addresses() -> None:
    def shape(name: str) -> dict:
        config = yaml.safe_load((PROMETHEUS_DIR / name).read_text())
        for job in config["scrape_configs"]:
            job.pop("static_configs")
        config["alerting"]["alertmanagers"][0].pop("static_configs")
        return config

    assert shape("prometheus-compose.yml") == shape("prometheus.yml")
