"""``streams explain anchor`` on a given row, and the one-line errors of both
sub-commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from streams.cli.main import main
from streams.explain.artifact import save_artifact


@pytest.fixture
def config(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2000, 2))
    model = LogisticRegression(C=100).fit(x, (x[:, 0] > 0.5).astype(int))
    save_artifact(tmp_path / "m.joblib", model, ["x", "y"], x)
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "models:\n"
        "  - {id: m, features: {x: numeric, y: numeric}, reference: r.json,\n"
        "     explain: {artifact: m.joblib}}\n"
        "  - {id: plain, features: {x: numeric}, reference: r.json}\n"
    )
    return path


def test_the_anchor_of_a_row(config, capsys) -> None:
    code = main(
        [
            "explain",
            "anchor",
            "--config",
            str(config),
            "--row",
            '{"x": 0.95, "y": 0.4}',
            "--format",
            "json",
        ]
    )
    assert code == 0
    anchor = json.loads(capsys.readouterr().out)
    assert anchor["valid"] and anchor["answer"] == 1
    assert [p.split()[0] for p in anchor["predicates"]] == ["x"]  # y does not matter
    assert anchor["precision_lower"] >= 0.95


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["anchor", "--model", "plain", "--row", "{}"], "model 'plain' has no `explain:` section"),
        (["anchor", "--row", "[1]"], "--row must be a JSON object"),
        (["anchor", "--row", '{"x": "high"}'], "feature 'x' is numeric"),
        (["anchor", "--model", "nope", "--row", "{}"], "no model 'nope'"),
    ],
)
def test_bad_requests_are_one_line(config, capsys, argv, message) -> None:
    assert main(["explain", *argv, "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_serve_refuses_a_config_without_explained_models(tmp_path, capsys) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("models: [{id: m, features: {x: numeric}, reference: r.json}]\n")
    assert main(["explain", "serve", "--config", str(path)]) == 1
    assert "no model of the config has an `explain:` section" in capsys.readouterr().err
