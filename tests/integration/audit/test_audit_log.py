"""On the real broker: a worker's config load, a model version it sees, a silence and a
reference publish land on the audit topic, which verifies; a copy of the topic with
one record forged fails verify, naming that record."""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import Producer
from tests.integration.conftest import read_topic

from streams.audit.writer import AUDIT_TOPIC_CONFIG
from streams.cli.main import main
from streams.devtools.simulator.model import DEFAULT_MODEL_ID
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.worker.audit import AUDIT_FILE

pytestmark = pytest.mark.integration

EXPECTED = {"config_loaded", "model_version_first_seen", "silence_added", "reference_published"}


def _actions(records: list[dict]) -> set[str]:
    return {r["action"] for r in records}


def test_audit_topic_verifies_and_a_forged_copy_fails_naming_the_record(deploy, capsys) -> None:
    d = deploy(partitions=2)
    config = str(d.config_path)
    d.start_worker()
    d.wait_for_group(1)
    d.simulate(rate=50, duration_s=60, speedup=60, partitions=2)
    silence = ["--config", config, "--model", DEFAULT_MODEL_ID, "--category", "data_drift"]
    assert main(["silence", "add", *silence, "--until", "1h", "--reason", "backfill"]) == 0
    assert main(["reference", "publish", "--config", config]) == 0
    records = read_topic(
        d.bootstrap, d.topic("audit"), timeout_s=60, until=lambda rs: _actions(rs) >= EXPECTED
    )
    assert _actions(records) >= EXPECTED
    worker_records = [r for r in records if r["actor"]["component"] == "worker"]
    assert worker_records[0]["action"] == "config_loaded"
    assert len(worker_records[0]["details"]["sha256"]) == 64
    capsys.readouterr()

    assert main(["audit", "verify", "--config", config]) == 0
    assert capsys.readouterr().out.startswith(f"intact: {len(records)} records")
    local = d.workdir / "state" / AUDIT_FILE
    assert main(["audit", "verify", "--file", str(local)]) == 0
    assert main(["audit", "show", "--config", config, "--action", "silence_added"]) == 0
    assert "silence_added" in capsys.readouterr().out

    copy = d.topic("audit-copy")
    ensure_topics(d.bootstrap, {copy: TopicSpec(1, AUDIT_TOPIC_CONFIG)})
    forged_at = next(i for i, r in enumerate(records) if r["action"] == "silence_added")
    producer = Producer({"bootstrap.servers": d.bootstrap})
    for i, record in enumerate(records):
        if i == forged_at:
            record = {**record, "details": {**record["details"], "reason": "nothing to see"}}
        producer.produce(copy, orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    assert producer.flush(30) == 0

    assert main(["audit", "verify", "--config", config, "--topic", copy]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"first bad record: {copy}[0]@{forged_at} " in err[0]
    assert "altered" in err[0]
