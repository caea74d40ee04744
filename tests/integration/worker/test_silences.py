"""A silence added with the CLI marks the covered firing alert in the alerts topic,
with who and why; the resolution is not silenced."""

from __future__ import annotations

import pytest
from tests.integration.worker.test_pipeline import run_scenario

from streams.cli.main import main
from streams.devtools.simulator.model import DEFAULT_MODEL_ID

pytestmark = pytest.mark.integration


def test_silenced_incident_is_recorded_with_who_and_why(deploy, capsys) -> None:
    d = deploy()
    config = str(d.config_path)
    silence = ["--config", config, "--model", DEFAULT_MODEL_ID, "--category", "data_quality"]
    assert (
        main(["silence", "add", *silence, "--until", "2h", "--by", "ana", "--reason", "backfill"])
        == 0
    )
    assert main(["silence", "list", "--config", config]) == 0
    assert "data_quality: active until" in capsys.readouterr().out
    _, alerts = run_scenario(d, 60, 16, 1000, scenario="silent-zeros", onset_s=300, recover_s=600)
    assert [(a["status"], a["category"]) for a in alerts] == [
        ("firing", "data_quality"),
        ("resolved", "data_quality"),
    ]
    firing, resolved = alerts
    assert (firing["silenced"]["by"], firing["silenced"]["reason"]) == ("ana", "backfill")
    assert resolved.get("silenced") is None
    assert main(["silence", "remove", *silence]) == 0
