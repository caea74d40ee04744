"""The Grafana dashboards: checked-in JSON is the builder's output, loads into the SDK's
schema-derived Dashboard model, and every panel expression is valid PromQL."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

#: What Grafana puts in place of the template variables, for promtool.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$model": "recsys-ranker",
    "$feature": "user_clicks_7d",
}


def load_build() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def substitute(expr: str) -> str:
    for variable, value in SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    return expr


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that is not a row (rows are not collapsed: their panels are top level)."""
    return [p for p in board["panels"] if p["type"] != "row"]


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(board) for t in p["targets"]]


@pytest.fixture(scope="module", autouse=True)
def _plugins() -> None:
    # so that panel options and targets decode into their own models, not Unknown*
    plugins.register_default_plugins()


def test_the_dashboards_are_checked_in() -> None:
    assert [p.name for p in DASHBOARDS] == sorted(load_build().DASHBOARDS)


def test_the_checked_in_json_is_the_builder_output() -> None:
    built = load_build().build()
    for path in DASHBOARDS:
        assert path.read_text() == built[path.name], f"run python grafana/build.py ({path.name})"
    assert load_build().main(["--check"]) == 0


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_round_trips_through_the_sdk_model(path: Path) -> None:
    data = json.loads(path.read_text())
    board = dashboard_models.Dashboard.from_json(data)
    assert json.loads(json.dumps(board, cls=JSONEncoder)) == data
    assert board.uid and board.title and board.tags == ["streams"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_queries_the_provisioned_prometheus(path: Path) -> None:
    board = dashboard_models.Dashboard.from_json(json.loads(path.read_text()))
    real_panels = [p for p in board.panels or [] if isinstance(p, dashboard_models.Panel)]
    assert real_panels
    ids = [p.id_val for p in board.panels or []]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in real_panels:
        assert panel.datasource is not None, panel.title
        assert panel.datasource.to_json() == {"type": "prometheus", "uid": "prometheus"}
        assert panel.targets, panel.title
        for target in panel.targets:
            assert isinstance(target, prometheus_models.Dataquery), panel.title
            assert target.expr, panel.title
            assert target.datasource == {"type": "prometheus", "uid": "prometheus"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_template_variables(path: Path) -> None:
    board = json.loads(path.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["model"]["type"] == "query"
    assert variables["model"]["query"] == "label_values(streams_ingest_events_total, model)"
    exprs = " ".join(dashboard_exprs(board))
    used = {name for name in ("model", "feature") if f"${name}" in exprs}
    assert used <= set(variables), f"undefined variables in {path.name}"
    if path.name == "data-drift.json":
        assert variables["feature"]["query"] == (
            'label_values(streams_feature_psi{model="$model"}, feature)'
        )
        assert "feature" in used


def test_the_provisioned_datasource_is_the_dashboards_datasource() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert (source["type"], source["uid"]) == ("prometheus", "prometheus")
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/streams.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_expression_parses_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    rules = [
        {"record": f"grafana:{path.stem.replace('-', '_')}:{i}", "expr": substitute(expr)}
        for path in DASHBOARDS
        for i, expr in enumerate(dashboard_exprs(json.loads(path.read_text())))
    ]
    assert all("$" not in rule["expr"] for rule in rules), "an unsubstituted variable"
    rules_file = tmp_path / "panels.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout
