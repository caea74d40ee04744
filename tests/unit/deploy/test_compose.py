"""docker-compose.yml cannot run here (no Docker engine); check what can be checked."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_whole_stack_is_there() -> None:
    assert set(COMPOSE["services"]) == {
        "kafka",
        "worker",
        "simulator",
        "telemetry-agent",
        "prometheus",
        "alertmanager",
        "grafana",
    }


def test_mounted_project_paths_exist() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_images_match_the_pinned_versions() -> None:
    images = {n: s.get("image", "") for n, s in COMPOSE["services"].items()}
    assert images["prometheus"].endswith(":v2.42.0")  # Debian's, which the tests run
    assert images["alertmanager"].endswith(":v0.25.0")
    assert images["grafana"].split(":")[1].startswith("10.1.")  # the SDK's schema version
    assert images["kafka"] == "apache/kafka:4.1.1"  # deploy/kafka/pom.xml's version
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    assert "<kafka.version>4.1.1</kafka.version>" in pom
