"""Failure modes of LocalBroker that need no broker: missing tools, stop/status when idle."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from streams.devtools.errors import MissingToolError, PortInUseError
from streams.devtools.local_broker import LocalBroker, free_ports, streams_home
from streams.kafka.errors import BrokerError


def _ports() -> dict[str, int]:
    """Both of a broker's ports, free (the controller's default, port + 1, may not be)."""
    port, controller_port = free_ports(2)
    return {"port": port, "controller_port": controller_port}


def test_missing_java_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    broker = LocalBroker(**_ports(), data_dir=tmp_path / "data")

    with pytest.raises(MissingToolError) as info:
        broker.start(timeout_s=5)

    message = str(info.value)
    assert info.value.tool == "java"
    assert isinstance(info.value, BrokerError)
    assert "\n" not in message
    assert "Java 17" in message and "install" in message
    assert info.value.summary == message
    assert not (tmp_path / "data" / "broker.pid").exists()


@pytest.mark.skipif(shutil.which("java") is None, reason="needs java on PATH")
def test_missing_maven_is_a_one_line_error_when_jars_are_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_java = tmp_path / "bin"
    only_java.mkdir()
    (only_java / "java").symlink_to(os.path.realpath(shutil.which("java") or ""))
    monkeypatch.setenv("PATH", str(only_java))
    broker = LocalBroker(**_ports(), data_dir=tmp_path / "data", lib_dir=tmp_path / "lib")

    with pytest.raises(MissingToolError) as info:
        broker.start(timeout_s=5)

    assert info.value.tool == "mvn"
    assert "\n" not in str(info.value)
    assert "Maven" in str(info.value)


def test_stop_of_never_started_broker_is_idempotent(tmp_path: Path) -> None:
    broker = LocalBroker(**_ports(), data_dir=tmp_path / "data")

    assert broker.stop() is None
    assert broker.stop() is None


def test_stale_pid_file_is_ignored_and_removed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # Our own pid is alive but is not a Kafka broker: it must never be signalled.
    (data_dir / "broker.pid").write_text(f"{os.getpid()}\n")
    broker = LocalBroker(**_ports(), data_dir=data_dir)

    assert broker.status().pid is None
    assert broker.stop() is None
    assert not (data_dir / "broker.pid").exists()


def test_status_of_idle_port_is_unreachable(tmp_path: Path) -> None:
    ports = _ports()
    port = ports["port"]

    status = LocalBroker(**ports, data_dir=tmp_path / "data").status()

    assert (status.pid, status.reachable, status.bootstrap) == (None, False, f"127.0.0.1:{port}")
    assert not status.running


def test_start_refuses_a_port_held_by_another_process(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("needs java on PATH")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        (controller_port,) = free_ports(1)
        broker = LocalBroker(port=port, controller_port=controller_port, data_dir=tmp_path / "data")

        with pytest.raises(PortInUseError) as info:
            broker.start(timeout_s=5)

    assert "\n" not in str(info.value)
    assert str(port) in str(info.value)


def test_defaults_live_under_the_project_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAMS_HOME", str(tmp_path))

    broker = LocalBroker(port=19999)

    assert streams_home() == tmp_path.resolve()
    assert broker.controller_port == 20000
    assert broker.data_dir == tmp_path.resolve() / ".kafka" / "data-19999"
    assert broker.lib_dir == tmp_path.resolve() / ".kafka" / "lib"
    assert broker.pom_path == tmp_path.resolve() / "deploy" / "kafka" / "pom.xml"


def test_server_properties_bind_loopback_only(tmp_path: Path) -> None:
    props = LocalBroker(port=19092, controller_port=19093, data_dir=tmp_path).server_properties()

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["share.coordinator.state.topic.min.isr"] == "1"
