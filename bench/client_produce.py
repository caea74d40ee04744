"""The producer client's rate beside a bare confluent-kafka produce loop, same broker,
same events, same run.

    .venv/bin/python bench/client_produce.py [--events 100000] [--bootstrap HOST:PORT]

Without --bootstrap it starts a throwaway local broker. It generates N simulated
25-feature predictions once (as JSON), then for each way of producing them times from
the second ``produce``/``log`` call until every event is acknowledged (the first waits,
untimed, for the idempotent producer's id):

1. baseline: ``Producer.produce`` per event with ``partitioner=murmur2_random``, the
   loop a model server hand-rolls today (zstd, idempotent, acks=all, as the client);
2. the client, one message per event (``single=True``);
3. the client, envelopes of up to 100 and 500 events.

It prints events/s and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from streams.client import PredictionLogger
from streams.devtools.local_broker import LocalBroker, free_ports
from streams.devtools.simulator.model import EventGenerator
from streams.kafka.admin import TopicSpec, ensure_topics

PARTITIONS = 4
PRODUCER = {"compression.type": "zstd", "enable.idempotence": True, "acks": "all"}


def bare_loop(bootstrap: str, topic: str, events: list[tuple[str, bytes]]) -> float:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", **PRODUCER}
    )
    key, value = events[0]  # the first delivery waits for the idempotent producer's id
    producer.produce(topic, value, key.encode())
    producer.flush(60)
    started = time.perf_counter()
    for key, value in events[1:]:
        while True:
            try:
                producer.produce(topic, value, key.encode())
                break
            except BufferError:  # librdkafka's queue is full: let it drain
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120):
        raise SystemExit("bare producer did not deliver everything within 120 s")
    return (len(events) - 1) / (time.perf_counter() - started)


def client(single: bool, max_events: int) -> Callable[[str, str, list[tuple[str, bytes]]], float]:
    def run(bootstrap: str, topic: str, events: list[tuple[str, bytes]]) -> float:
        logger = PredictionLogger(
            bootstrap,
            topic,
            single=single,
            max_events=max_events,
            queue_size=len(events),  # the bench measures throughput, not drops
            registry=CollectorRegistry(),
        )
        if not logger.wait_ready(30):
            raise SystemExit(f"no partition count for {topic} within 30 s")
        logger.log_json(*events[0])  # as above: the first delivery waits for the id
        logger.flush(60)
        started = time.perf_counter()
        for key, value in events[1:]:
            logger.log_json(key, value)
        left = logger.close(120)
        elapsed = time.perf_counter() - started
        if left or any(logger.stats().dropped.values()):
            raise SystemExit(f"client left {left} undelivered, {logger.stats().dropped} dropped")
        return (len(events) - 1) / elapsed

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="predictions per run")
    parser.add_argument("--bootstrap", help="use this broker instead of a throwaway one")
    args = parser.parse_args()
    broker = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        port, controller_port = free_ports(2)
        workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
        broker = LocalBroker(port=port, controller_port=controller_port, data_dir=workdir / "kafka")
        broker.start()
        bootstrap = broker.bootstrap
    try:
        block = EventGenerator(0).generate(1_767_225_600 + np.arange(args.events) * 0.01)
        events = list(zip(block.prediction_ids, block.to_json(), strict=True))
        size = sum(len(v) for _, v in events) / len(events)
        print(f"{len(events):,} predictions of {size:.0f} bytes, {PARTITIONS} partitions")
        runs = [
            ("baseline  bare produce loop, murmur2", bare_loop),
            ("client    single events", client(True, 1)),
            ("client    envelopes of 100", client(False, 100)),
            ("client    envelopes of 500", client(False, 500)),
        ]
        baseline = None
        for label, run in runs:
            topic = f"bench{uuid.uuid4().hex[:6]}-predictions"
            ensure_topics(bootstrap, {topic: TopicSpec(PARTITIONS)})
            rate = run(bootstrap, topic, events)
            baseline = baseline or rate
            print(f"{label:<38} {rate:>10,.0f} events/s  {rate / baseline:5.2f}x", flush=True)
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
