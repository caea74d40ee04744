"""One worker's ingest rate from the real broker, beside the raw consume+decode rate of
the same topic, measured in the same run.

    .venv/bin/python bench/ingest.py [--events 200000] [--bootstrap HOST:PORT]

Without --bootstrap it starts a throwaway local broker. It produces N simulated
25-feature prediction events once, then:

1. baseline: an aiokafka consumer (the client Faust uses) reads the topic and decodes
   every value with orjson: the ceiling for any Python consumer of this topic;
2. worker: ``streams worker`` consumes the same topic; the rate is taken from its
   ``streams_ingest_events_total`` counter, from its first counted event to the last.

It prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.config.loading import load_config
from streams.config.models import prefixed_topics
from streams.devtools.local_broker import LocalBroker, free_ports
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, FEATURES
from streams.devtools.simulator.producer import simulate, write_reference
from streams.kafka.admin import ensure_topics
from streams.worker.run import topic_specs


async def raw_consume(bootstrap: str, topic: str, partitions_count: int, total: int) -> float:
    """Events per second for consume + orjson decode of the whole topic."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partitions_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        started = time.perf_counter()
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                seen += len(records)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def counter(port: int) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return 0.0
    for line in text.decode().splitlines():
        if line.startswith("streams_ingest_events_total{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def worker_rate(config_path: Path, port: int, total: int, log: Path) -> float:
    """Events per second of one worker, from its first counted event to its last."""
    command = [sys.executable, "-m", "streams", "worker", "--config", str(config_path)]
    if os.environ.get("BENCH_PROFILE"):  # e.g. BENCH_PROFILE=/tmp/worker.svg (needs py-spy)
        command = ["py-spy", "record", "-o", os.environ["BENCH_PROFILE"], "--", *command]
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        first_t = first_n = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = counter(port)
            now = time.perf_counter()
            if n and first_t is None:
                first_t, first_n = now, n
            if n >= total:
                assert first_t is not None and first_n is not None
                return (n - first_n) / (now - first_t)
            time.sleep(0.25)  # scraping more often would slow the worker measured
        raise SystemExit(f"worker did not finish within 600 s; see {log}")
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
        proc.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--bootstrap", help="use this broker instead of a throwaway one")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    broker = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        port, controller_port, metrics_port = free_ports(3)
        broker = LocalBroker(port=port, controller_port=controller_port, data_dir=workdir / "kafka")
        broker.start()
        bootstrap = broker.bootstrap
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        reference = write_reference(workdir / "reference.parquet", rows=20_000)
        config = {
            "models": [
                {
                    "id": DEFAULT_MODEL_ID,
                    "features": dict(FEATURES),
                    "reference": str(reference),
                    "window_s": 60,
                }
            ],
            "kafka": {"bootstrap": bootstrap, "topics": prefixed_topics(prefix)},
            "worker": {
                "app_id": f"{prefix}-monitor",
                "data_dir": str(workdir / "state"),
                "metrics_port": metrics_port,
            },
        }
        config_path = workdir / "monitor.yaml"
        config_path.write_text(yaml.safe_dump(config))
        ensure_topics(bootstrap, topic_specs(load_config(config_path)))
        topic = f"{prefix}-predictions"
        report = simulate(
            bootstrap,
            scenario="stationary",
            rate=args.events / 3600,
            duration_s=3600,
            speedup=0,
            labels=False,
            topic=topic,
            start=datetime(2026, 1, 1, tzinfo=UTC),
            progress=False,
        )
        total = report.predictions
        print(f"events: {total:,} predictions with {len(FEATURES)} features on {bootstrap}")
        raw = asyncio.run(raw_consume(bootstrap, topic, 4, total))
        print(f"baseline  consume + orjson decode (aiokafka): {raw:10,.0f} events/s")
        rate = worker_rate(config_path, metrics_port, total, workdir / "worker.log")
        print(f"worker    streams worker ingest:              {rate:10,.0f} events/s")
        print(f"ratio     worker / baseline:                  {rate / raw:10.2f}")
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
