"""deploy/alertmanager/alertmanager.yml: valid, and routes each severity where it should."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CONFIG = Path(__file__).parents[3] / "deploy" / "alertmanager" / "alertmanager.yml"
pytestmark = pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool not installed")


def amtool(*args: str) -> str:
    result = subprocess.run(["amtool", *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_config_is_valid() -> None:
    amtool("check-config", str(CONFIG))


@pytest.mark.parametrize(
    ("severity", "receiver"),
    [
        ("critical", "pagerduty-page"),
        ("error", "pagerduty-low-urgency"),
        ("warning", "pagerduty-low-urgency"),
        ("info", "blackhole"),
    ],
)
def test_severity_routing(severity: str, receiver: str) -> None:
    routed = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"severity={severity}",
        "category=slo_burn",
        "model=m",
    )
    assert routed == receiver
