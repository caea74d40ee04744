"""``streams explain serve`` on the real broker: the simulator serves its tree model,
the service explains exactly the explanation tier, on each prediction's partition,
with SHAP values that add up to the served score's log-odds; bad input is
dead-lettered with its reason and the service goes on."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from datetime import UTC, datetime

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from tests.integration.conftest import read_topic

from streams.devtools.processes import stop_process_group
from streams.devtools.simulator.tree_model import save_tree_artifact
from streams.kafka.partitioner import partition_for
from streams.sampling import Sampler, Tier

pytestmark = pytest.mark.integration

RATE = 0.2


def partitioned(bootstrap: str, topic: str) -> list[tuple[int, bytes, dict]]:
    """(partition, key, value) of every record of ``topic``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"r-{time.time_ns()}"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        out = []
        for p in parts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high == low:
                continue
            consumer.assign([TopicPartition(topic, p, low)])
            while True:
                msg = consumer.poll(5)
                assert msg is not None, f"{topic}[{p}] ends early"
                out.append((p, msg.key(), orjson.loads(msg.value())))
                if msg.offset() + 1 >= high:
                    break
        return out
    finally:
        consumer.close()


def test_the_service_explains_the_tier_of_a_tree_model(deploy, tmp_path) -> None:
    artifact = save_tree_artifact(tmp_path / "tree.joblib")
    d = deploy(model={"explain": {"artifact": str(artifact)}, "sampling": {"explanation": RATE}})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    d.simulate(
        scenario="stationary", rate=100, duration_s=60, speedup=0, start=start, served_model="tree"
    )
    predictions = read_topic(d.bootstrap, d.topic("predictions"))
    events = [e for m in predictions for e in m.get("predictions", [m])]
    sampler = Sampler({Tier.explanation: RATE})
    wanted = {
        e["prediction_id"]: e for e in events if sampler.keeps(Tier.explanation, e["prediction_id"])
    }
    assert 0 < len(wanted) < len(events)

    # bad input: bytes that are no JSON, and a tier prediction the model cannot read
    bad = dict(next(iter(wanted.values())))
    bad_id = next(f"bad-{i}" for i in range(1000) if sampler.keeps(Tier.explanation, f"bad-{i}"))
    bad |= {"prediction_id": bad_id, "features": {**bad["features"], "country": "XX"}}
    # and one good single event (not in an envelope) in the tier
    single_id = next(f"one-{i}" for i in range(1000) if sampler.keeps(Tier.explanation, f"one-{i}"))
    single = dict(next(iter(wanted.values()))) | {"prediction_id": single_id}
    wanted[single_id] = single
    producer = Producer({"bootstrap.servers": d.bootstrap, "partitioner": "murmur2_random"})
    producer.produce(d.topic("predictions"), b"{not json", b"k")
    producer.produce(d.topic("predictions"), orjson.dumps(bad), bad_id.encode())
    producer.produce(d.topic("predictions"), orjson.dumps(single), single_id.encode())
    producer.flush(10)

    log = (tmp_path / "explain.log").open("wb")
    command = [sys.executable, "-m", "streams", "explain", "serve", "--config", str(d.config_path)]
    proc = subprocess.Popen(
        [*command, "--start", "earliest", "--group", f"{d.prefix}-explain"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        records = read_topic(
            d.bootstrap, d.topic("explanations"), 120, until=lambda r: len(r) >= len(wanted)
        )
        deadletters = read_topic(
            d.bootstrap, d.topic("deadletter"), 30, until=lambda r: len(r) >= 2
        )
        assert proc.poll() is None, (tmp_path / "explain.log").read_text()
    finally:
        stop_process_group(proc, 30)

    assert sorted(r["prediction_id"] for r in records) == sorted(wanted)
    for r in records:
        score = wanted[r["prediction_id"]]["prediction"]["score"]
        assert r["explainer"] == "tree" and r["output"] == "margin" and r["shap_version"]
        # the served score (rounded by the simulator) is the sigmoid of the explained margin
        assert 1 / (1 + math.exp(-r["model_output"])) == pytest.approx(score, abs=1e-6)
        assert r["base_value"] + sum(r["attributions"].values()) == pytest.approx(
            r["model_output"], abs=1e-6
        )
        assert r["inclusion_probability"] == RATE
    assert len({r["background_hash"] for r in records}) == 1
    partitions = 4  # deploy()'s, which the service creates its topic with
    for partition, key, value in partitioned(d.bootstrap, d.topic("explanations")):
        assert key.decode() == value["prediction_id"]
        assert partition == partition_for(key, partitions)
    reasons = sorted(r["reason"] for r in deadletters)
    assert reasons == ["bad_json", "unexplainable"]

    # the anchor of one of them, looked up on its partition of the topic
    anchored = sorted(wanted)[0]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "explain",
            "anchor",
            "--config",
            str(d.config_path),
            "--prediction-id",
            anchored,
            "--format",
            "json",
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    anchor = orjson.loads(out.stdout)
    score = wanted[anchored]["prediction"]["score"]
    assert anchor["prediction_id"] == anchored and anchor["answer"] == int(score > 0.5)
    assert anchor["predicates"] and anchor["rule"].startswith("IF ")
    assert 0 < anchor["coverage"] <= 1 and anchor["precision"] >= anchor["precision_lower"]
