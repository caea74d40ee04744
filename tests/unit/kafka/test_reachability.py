"""An unreachable broker is one line, quiet retries and, for one-shot commands, a
deadline: tested against closed ports and a listener that is not Kafka."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.backoff import Backoff
from streams.cli.main import main
from streams.devtools.local_broker import free_ports
from streams.kafka.reachability import BrokerUnreachable, probe_broker, wait_for_broker

FAST = Backoff(base_s=0.05, cap_s=0.1)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (free_ports closes its sockets)."""
    return free_ports(1)[0]


@pytest.fixture
def not_kafka() -> Iterator[int]:
    """A loopback port that accepts connections and never answers a Kafka request."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not done.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_closed_port_is_refused_at_once(closed_port: int) -> None:
    assert probe_broker(f"127.0.0.1:{closed_port}") == "connection refused"


def test_an_open_port_without_kafka_is_told_apart(not_kafka: int) -> None:
    problem = probe_broker(f"127.0.0.1:{not_kafka}", timeout_s=0.5)
    assert problem == "the port is open but no Kafka metadata came back"


def test_an_unknown_host_is_named() -> None:
    assert probe_broker("no-such-host.invalid:9092") == "unknown host 'no-such-host.invalid'"


def test_deadline_gives_one_line_then_one_error(closed_port: int) -> None:
    lines: list[str] = []
    with pytest.raises(BrokerUnreachable) as info:
        wait_for_broker(f"127.0.0.1:{closed_port}", 0.5, lines.append, backoff=FAST)
    assert lines == [
        f"cannot reach Kafka at 127.0.0.1:{closed_port} (connection refused); "
        "retrying quietly for up to 0.5 s"
    ]
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach Kafka at 127.0.0.1:{closed_port} within 0.5 s")


def test_without_a_deadline_it_waits_until_stopped(closed_port: int) -> None:
    lines: list[str] = []
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    assert wait_for_broker(f"127.0.0.1:{closed_port}", None, lines.append, stop, FAST) is False
    timer.join()
    assert len(lines) == 1 and lines[0].endswith("retrying quietly until it answers")


def test_one_shot_command_exits_1_with_two_lines(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ref.json").write_text("{}")
    config = tmp_path / "monitor.yaml"
    config.write_text("models: [{id: m, features: {x: numeric}, reference: ref.json}]\n")
    bootstrap = f"127.0.0.1:{closed_port}"
    argv = ["silence", "list", "--config", str(config), "--bootstrap", bootstrap]
    assert main([*argv, "--connect-timeout", "0.5"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"streams silence: cannot reach Kafka at {bootstrap}")
    assert lines[1].startswith(f"streams silence: error: cannot reach Kafka at {bootstrap}")


def test_worker_gives_up_after_its_connect_timeout(
    tmp_path: Path, closed_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ref.json").write_text("{}")
    config = tmp_path / "monitor.yaml"
    config.write_text("models: [{id: m, features: {x: numeric}, reference: ref.json}]\n")
    bootstrap = f"127.0.0.1:{closed_port}"
    argv = ["worker", "--config", str(config), "--bootstrap", bootstrap]
    assert main([*argv, "--connect-timeout", "0.5"]) == 1
    err = capfd.readouterr().err  # capfd: librdkafka would write to fd 2 directly
    assert len(err.splitlines()) == 2, err
    assert "error: cannot reach Kafka" in err.splitlines()[1]
