"""Node telemetry through the worker: GPU conditions and silent nodes become alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from streams.events import GpuReading, TelemetryEvent

from .conftest import read_topic

pytestmark = pytest.mark.integration
GIB = 1 << 30


def telemetry(node: str, used_gib: int, reasons: list[str], ecc: int) -> bytes:
    gpu = GpuReading(
        index=0,
        memory_used_bytes=used_gib * GIB,
        memory_total_bytes=80 * GIB,
        throttle_reasons=reasons,
        ecc_uncorrected_errors=ecc,
    )
    return TelemetryEvent(node_id=node, timestamp=datetime.now(UTC), gpus=[gpu]).to_json()


def test_gpu_conditions_and_a_silent_node_raise_infrastructure_alerts(deploy) -> None:
    d = deploy(infrastructure={"silent_after_s": 3})
    d.start_worker()
    producer = Producer({"bootstrap.servers": d.bootstrap, "partitioner": "murmur2_random"})
    samples = [
        ("healthy", telemetry("healthy", 10, [], 0)),
        ("hot", telemetry("hot", 10, [], 0)),
        ("hot", telemetry("hot", 79, ["hw_thermal"], 0)),  # memory and heat start
        ("hot", telemetry("hot", 79, ["hw_thermal"], 2)),  # ... go on; 2 ECC errors
        ("broken", b"{not json"),
    ]
    for node, raw in samples:
        producer.produce(d.topic("node-telemetry"), key=node.encode(), value=raw)
    assert producer.flush(30) == 0

    def complete(alerts: list[dict]) -> bool:
        return {"healthy", "hot"} <= {
            a["subject"] for a in alerts if a["category"] == "node_silent"
        }

    alerts = read_topic(d.bootstrap, d.topic("alerts"), 90, until=complete)
    found = sorted((a["subject"], a["evidence"]["statistic"]) for a in alerts)
    assert found == [
        ("healthy", "seconds_since_last_sample"),
        ("hot", "seconds_since_last_sample"),
        ("hot/gpu0", "ecc_uncorrected_errors_increase"),
        ("hot/gpu0", "memory_used_ratio"),
        ("hot/gpu0", "thermal_throttling"),
    ]
    assert {a["layer"] for a in alerts} == {"infrastructure"}
    dead = read_topic(d.bootstrap, d.topic("deadletter"), 30, until=bool)
    assert [(r["reason"], r["topic"]) for r in dead] == [("bad_json", d.topic("node-telemetry"))]
