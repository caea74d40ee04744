"""One worker's ingest rate from the real broker, on single events and on envelopes, each
beside the raw consume+decode rate of the same predictions, measured in the same run.

    .venv/bin/python bench/ingest.py [--events 200000] [--bootstrap HOST:PORT] [--sizes 100,500]

Without --bootstrap it starts a throwaway local broker. It generates N simulated
25-feature predictions once and produces them three ways, each to its own topic of 4
partitions: one message per event, and envelopes of 100 and of 500 events (``encode_batch``
and a confluent-kafka producer with explicit murmur2 partitions). Then, per topic:

1. raw: an aiokafka consumer (the client Faust uses) reads the topic and decodes every
   value with orjson: the ceiling for any Python consumer of these predictions;
2. Faust no-op (single events only): a Faust agent that takes batches and does nothing,
   Faust's own per-message ceiling;
3. worker, without and with the label join: ``streams worker`` consumes the topic
   (``performance.enabled`` false, then true with cohort ``country``: every prediction
   stored for its label); the rate is taken from its ``streams_ingest_events_total``
   counter, from its first counted event to the last.

Every rate is predictions per second; each worker row also prints its ratio to the raw
rate of its topic, and the single-event rows their ratio to the Faust no-op.
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
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Producer

from streams.devtools.local_broker import LocalBroker, free_ports
from streams.devtools.simulator.model import FEATURES, EventGenerator
from streams.devtools.simulator.producer import write_reference
from streams.events.envelope import split_batches
from streams.kafka.partitioner import partitions_for
from worker_config import write_worker_config

PARTITIONS = 4
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def messages_of(events: list[dict[str, Any]], size: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value): one per event (size 0) or envelopes of ``size``."""
    if size:
        return split_batches("predictions", events, PARTITIONS, size)
    keys = [e["prediction_id"].encode() for e in events]
    owners = partitions_for(keys, PARTITIONS).tolist()
    return [(p, k, orjson.dumps(e)) for p, k, e in zip(owners, keys, events, strict=True)]


def produce(bootstrap: str, topic: str, messages: list[tuple[int, bytes, bytes]]) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "compression.type": "lz4",
            "enable.idempotence": True,
            "message.max.bytes": 1_100_000,
        }
    )
    for partition, key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value, partition=partition)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120):
        raise SystemExit(f"could not deliver every message to {topic}")


async def raw_consume(bootstrap: str, topic: str, total: int) -> float:
    """Predictions per second for consume + orjson decode of the whole topic."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        started = time.perf_counter()
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                for record in records:
                    value = orjson.loads(record.value)
                    seen += len(value["predictions"]) if "batch_version" in value else 1
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def noop_agent(bootstrap: str, topic: str, total: int, workdir: str) -> None:
    """Run a Faust app whose agent takes batches and does nothing; write its rate."""
    import faust

    app = faust.App(
        f"noop-{uuid.uuid4().hex[:6]}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=workdir,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=5000,
        stream_buffer_maxsize=16384,
    )
    source = app.topic(topic, key_type=bytes, value_type=bytes, value_serializer="raw")

    @app.agent(source, concurrency=1)
    async def noop(stream: Any) -> None:
        seen, started = 0, None
        async for events in stream.take_events(2000, within=0.5):
            started = started or time.perf_counter()
            seen += len(events)
            if seen >= total:
                rate = seen / (time.perf_counter() - started)
                Path(workdir, "noop-rate").write_text(str(rate))  # Faust swallows stdout
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "-l", os.environ.get("NOOP_LOG", "error")]
    app.main()


def noop_rate(bootstrap: str, topic: str, total: int, workdir: Path) -> float:
    command = [sys.executable, __file__, "--noop", bootstrap, topic, str(total), str(workdir)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    written = workdir / "noop-rate"
    if not written.exists():
        raise SystemExit(f"the no-op agent wrote no rate:\n{out.stdout}\n{out.stderr}")
    return float(written.read_text())


def counter(port: int) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.decode().splitlines()
        if line.startswith("streams_ingest_events_total{")
    )


def worker_rate(config_path: Path, port: int, total: int, log: Path) -> tuple[float, float]:
    """Predictions per second of one worker, from its first counted event to its last:
    per second of wall time, and per CPU second of the worker's process (all its
    threads), which the machine's other jobs disturb far less on a shared machine."""
    command = [sys.executable, "-m", "streams", "worker", "--config", str(config_path)]
    if os.environ.get("BENCH_PROFILE"):  # e.g. BENCH_PROFILE=/tmp/worker.svg (needs py-spy)
        command = ["py-spy", "record", "-o", os.environ["BENCH_PROFILE"], "--", *command]
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    worker = psutil.Process(proc.pid)
    try:
        first_t = first_n = first_cpu = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = counter(port)
            now, cpu = time.perf_counter(), sum(worker.cpu_times()[:2])
            if n and first_t is None:
                first_t, first_n, first_cpu = now, n, cpu
            if n >= total:
                assert first_t is not None and first_n is not None and first_cpu is not None
                return (n - first_n) / (now - first_t), (n - first_n) / (cpu - first_cpu)
            time.sleep(0.25)  # scraping more often would slow the worker measured
        raise SystemExit(f"worker did not finish within 600 s; see {log}")
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
        proc.wait(60)


def measure(args: argparse.Namespace, bootstrap: str, workdir: Path) -> None:
    port = free_ports(1)[0]
    reference = write_reference(workdir / "reference.parquet", rows=20_000)
    ts = T0 + np.sort(np.random.default_rng(0).uniform(0, 3600, args.events))
    events = EventGenerator(seed=0).generate(ts).to_events()
    print(f"events: {len(events):,} predictions with {len(FEATURES)} features on {bootstrap}")
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    sizes = [int(s) for s in args.sizes.split(",") if s]
    noop = None
    for size in sizes:
        topic = f"{prefix}-predictions-{size or 'single'}"
        config = write_worker_config(
            workdir,
            bootstrap,
            reference,
            port,
            False,
            partitions=PARTITIONS,
            topics={"predictions": topic},
        )
        produce(bootstrap, topic, messages_of(events, size))
        name = f"envelopes of {size}" if size else "single events"
        raw = asyncio.run(raw_consume(bootstrap, topic, len(events)))
        print(f"{name:18} raw consume + orjson (aiokafka):  {raw:10,.0f} predictions/s")
        if not size:
            noop = noop_rate(bootstrap, topic, len(events), workdir)
            print(
                f"{name:18} Faust no-op agent:                {noop:10,.0f} predictions/s"
                f"   {noop / raw:5.2f}x raw"
            )
        for join in (False, True):
            if join:
                config = write_worker_config(
                    workdir,
                    bootstrap,
                    reference,
                    port,
                    True,
                    partitions=PARTITIONS,
                    topics={"predictions": topic},
                )
            log = config.with_suffix(".log")
            rate, per_cpu = worker_rate(config, port, len(events), log)
            label = "worker, label join" if join else "worker, no join"
            versus = f"   {rate / noop:5.2f}x no-op" if not size and noop else ""
            print(
                f"{name:18} {label:33} {rate:10,.0f} predictions/s   {rate / raw:5.2f}x raw{versus}"
                f"   ({per_cpu:,.0f} per CPU second)"
            )


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--noop":
        noop_agent(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--sizes",
        default="0,100,500",
        help="envelope sizes, comma-separated; 0: one event per message (default: %(default)s)",
    )
    parser.add_argument("--bootstrap", help="use this broker instead of a throwaway one")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    broker = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        port, controller_port = free_ports(2)
        broker = LocalBroker(port=port, controller_port=controller_port, data_dir=workdir / "kafka")
        broker.start()
        bootstrap = broker.bootstrap
    try:
        measure(args, bootstrap, workdir)
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
