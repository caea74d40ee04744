"""Shared fixtures: a real Kafka broker for the integration tests, started once per session."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from streams.kafka.local import LocalBroker


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all sockets stay bound until every port is picked."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real broker; STREAMS_TEST_BOOTSTRAP reuses an external one."""
    external = os.environ.get("STREAMS_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    port, controller_port = _free_ports(2)
    broker = LocalBroker(
        port=port,
        controller_port=controller_port,
        data_dir=tmp_path_factory.mktemp("kafka-broker", numbered=False),
    )
    broker.start(timeout_s=120)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
