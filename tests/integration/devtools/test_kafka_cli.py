"""``streams kafka status|stop --port P`` find the broker serving P whatever data dir it
was started with, and say exactly what they found when told another one (a real broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli.main import main
from streams.devtools.local_broker import LocalBroker, free_ports

pytestmark = pytest.mark.integration


def test_status_and_stop_find_a_broker_by_port_whatever_its_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, controller_port = free_ports(2)
    data_dir = tmp_path / "elsewhere"
    broker = LocalBroker(port=port, controller_port=controller_port, data_dir=data_dir)
    pid = broker.start(timeout_s=120).pid
    try:
        assert main(["kafka", "status", "--port", str(port)]) == 0
        out = capsys.readouterr().out
        assert f"pid={pid} reachable data_dir={data_dir.resolve()}" in out

        other = tmp_path / "other"
        assert main(["kafka", "stop", "--port", str(port), "--data-dir", str(other)]) == 1
        err = capsys.readouterr().err
        assert f"port {port} is served by the broker pid {pid}" in err
        assert f"--data-dir {data_dir.resolve()}" in err
        assert broker.status().running

        assert main(["kafka", "stop", "--port", str(port)]) == 0
        assert f"stopped Kafka broker pid {pid}" in capsys.readouterr().err
        assert not broker.status().running
        assert main(["kafka", "status", "--port", str(port)]) == 1
    finally:
        broker.stop()
