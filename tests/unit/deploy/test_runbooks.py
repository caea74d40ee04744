"""Every alert category has a runbook, and every alert links to an existing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.alerting.signals import RUNBOOK_BASE
from streams.events.models import AlertCategory

ROOT = Path(__file__).parents[3]
SECTIONS = (
    "**What it means.**",
    "**First checks.**",
    "**Likely causes.**",
    "**Mitigation.**",
    "**Escalation.**",
)


@pytest.mark.parametrize("category", list(AlertCategory))
def test_each_category_has_a_complete_runbook(category: AlertCategory) -> None:
    path = ROOT / RUNBOOK_BASE / f"{category.value}.md"
    assert path.exists(), f"no runbook for {category.value}: write {path}"
    text = path.read_text()
    missing = [s for s in SECTIONS if s not in text]
    assert not missing, f"{path.name} lacks {missing}"
