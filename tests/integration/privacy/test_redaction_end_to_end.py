"""Personal data kept off the topics, on the real broker: a model server logs through
the client with the model's rules; no raw value reaches any topic, and the worker,
whose reference is redacted by the same rules, sees stationary traffic as stationary
(a raw reference against hashed events would flag new categories in every window)."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry
from tests.integration.conftest import Deployment
from tests.integration.worker.test_envelopes import generated, window_counts

from streams.client import PredictionLogger
from streams.devtools.simulator.features import CATEGORICAL_FEATURES
from streams.privacy.redaction import PiiConfig, Redactor

pytestmark = pytest.mark.integration

KEY_ENV = "STREAMS_TEST_PII_KEY"
PII = {
    "key_env": KEY_ENV,
    "fields": {
        "features.payment_method": "hash",
        "features.country": {"mask": 1},
        "segments.email": "drop",
    },
}


def every_value(bootstrap: str, topic: str) -> bytes:
    """The bytes of every message in ``topic``, keys and values (partials are not JSON:
    they carry a version byte)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"grep-{topic}"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        tps = [TopicPartition(topic, p, 0) for p in metadata.partitions]
        left = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps)
        consumer.assign(tps)
        chunks = []
        while left > 0:
            msg = consumer.poll(10)
            assert msg is not None, f"{topic}: {left} messages not read"
            if not msg.error():
                chunks += [msg.key() or b"", msg.value() or b""]
                left -= 1
        return b"\n".join(chunks)
    finally:
        consumer.close()


def test_no_raw_value_reaches_a_topic_and_redacted_traffic_stays_stationary(
    deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "integration-test-key")  # the worker inherits it
    d: Deployment = deploy(model={"pii": PII})
    events = generated(6000, seed=41, span_s=600)
    for i, e in enumerate(events):
        e["segments"] = {"email": f"user{i}@example.com", "tier": "gold"}
    d.start_worker()
    redactor = Redactor.from_config(PiiConfig.model_validate(PII))
    with PredictionLogger(
        d.bootstrap, d.topic("predictions"), registry=CollectorRegistry(), redact=redactor
    ) as logger:
        for e in events:
            logger.log(e)
    expected = window_counts(events)
    latest = d.results(set(expected), timeout_s=180, counts=expected)
    assert {w: r["count"] for w, r in latest.items()} == expected
    assert d.alerts() == []  # the reference was redacted by the same rules

    logged = every_value(d.bootstrap, d.topic("predictions"))
    payment_methods = CATEGORICAL_FEATURES["payment_method"]
    assert not [m for m in payment_methods if f'"{m}"'.encode() in logged]
    assert b"@example.com" not in logged  # the dropped segment
    assert redactor.hash("paypal").encode() in logged and b'"*E"' in logged  # DE, masked
    for name in ("results", "partials", "deadletter", "alerts"):  # downstream too
        downstream = every_value(d.bootstrap, d.topic(name))
        assert b"@example.com" not in downstream and b'"paypal"' not in downstream, name
