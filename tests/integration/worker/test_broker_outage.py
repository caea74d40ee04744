"""A broker outage mid-stream, on a broker of this module's own (the others' tests
must not see it go down): the worker and a producer keep running through 30 s (or
STREAMS_OUTAGE_S) without the broker, and recover by themselves once it is back, with
no event lost or doubled and no window evaluated twice."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from tests.integration.conftest import Deployment, latest_revisions, read_topic
from tests.integration.worker.test_envelopes import PARTITIONS, generated, window_counts

from streams.client import PredictionLogger
from streams.devtools.local_broker import LocalBroker, free_ports

pytestmark = pytest.mark.integration

#: Seconds without the broker; STREAMS_OUTAGE_S=300 runs the five-minute case (by hand:
#: CI runs the 30 s one).
OUTAGE_S = float(os.environ.get("STREAMS_OUTAGE_S", "30"))


@pytest.fixture(scope="module")
def outage_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    port, controller_port = free_ports(2)
    broker = LocalBroker(
        port=port,
        controller_port=controller_port,
        data_dir=tmp_path_factory.mktemp("outage-broker"),
    )
    broker.start(timeout_s=120)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_bootstrap(outage_broker: LocalBroker) -> str:
    """The deploy fixture's broker, for this module: the one that goes down."""
    return outage_broker.bootstrap


def log_paced(logger: PredictionLogger, events: list[dict], seconds: float) -> None:
    """Log ``events`` evenly over about ``seconds``, as a model server would."""
    pause = seconds / max(len(events), 1)
    for e in events:
        assert logger.log(e)
        time.sleep(pause)


def test_broker_down_mid_stream_loses_doubles_and_reevaluates_nothing(
    deploy, outage_broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    d: Deployment = deploy(partitions=PARTITIONS)
    events = generated(18_000, seed=31, span_s=1200)
    before, during, after = events[:6000], events[6000:12_000], events[12_000:]
    d.start_worker()
    d.wait_for_group(members=1)
    registry = CollectorRegistry()
    with PredictionLogger(d.bootstrap, d.topic("predictions"), registry=registry) as logger:
        log_paced(logger, before, 5)
        read_topic(d.bootstrap, d.topic("results"), 120, until=lambda r: len(r) >= 3)
        outage_broker.stop()
        log_paced(logger, during, OUTAGE_S)  # the producer keeps logging into its queue
        outage_broker.start(timeout_s=120)
        log_paced(logger, after, 5)
        assert logger.flush(180) == 0
        stats = logger.stats()
    assert stats.dropped == {"queue_full": 0, "closed": 0}
    assert stats.delivered_events == len(events)

    expected = window_counts(events)
    results = d.evaluations(expected, timeout_s=240)
    assert {w: r["count"] for w, r in latest_revisions(results).items()} == expected
    evaluated = Counter(r["window_start"] for r in results)
    assert set(evaluated.values()) == {1}, f"evaluated more than once: {evaluated}"
    assert d.alerts() == []  # stationary traffic
    logs = d.worker_logs()
    assert "Traceback" not in logs, logs[-3000:]
    # reconnect chatter stays rate-limited through the outage, in the worker (its
    # broadcast readers once wrote 1,348 librdkafka lines) and in the producer client
    assert len(logs.splitlines()) < 200, logs[-3000:]
    client_lines = [r for r in caplog.records if r.name == "streams.client.kafka"]
    assert len(client_lines) < 20, [r.getMessage() for r in client_lines]
