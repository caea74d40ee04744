"""Shared fixtures: a real Kafka broker for the integration tests, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from streams.devtools.local_broker import LocalBroker, free_ports


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real broker; STREAMS_TEST_BOOTSTRAP reuses an external one."""
    external = os.environ.get("STREAMS_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    port, controller_port = free_ports(2)
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
