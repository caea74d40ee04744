"""The pending-prediction store under load: a worker's memory with a million
predictions waiting for their labels, and the rate at which labels are then joined.

    .venv/bin/python bench/pending_labels.py [--events 1000000] [--labels 200000]
        [--label-tiers 1,0.1,0.01]

It starts a throwaway local broker, produces ``--events`` simulated predictions (no
labels), and runs a worker on them once per configuration, in the same run:

1. baseline: ``performance.enabled: false`` (no pending store);
2. pending at each label tier of ``--label-tiers`` (``sampling.labels``; 1: every
   prediction stored for its label, cohort ``country``).

For each it reports the ingest rate and the worker's RSS growth from the first 5 % of
the events to all of them (the pending store is RocksDB: on disk, bounded in memory).
Then, at the full tier only, it produces ``--labels`` labels for stored predictions, in
random order, and reports the join rate (labels/s, from ``streams_labels_events_total``).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psutil
from confluent_kafka import Producer

from streams.config.loading import load_config
from streams.devtools.local_broker import LocalBroker, free_ports
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, FEATURES
from streams.devtools.simulator.producer import PRODUCER_CONFIG, simulate, write_reference
from worker_config import write_worker_config

START = datetime(2026, 1, 1, tzinfo=UTC)
SEED = 0


def metric(port: int, prefix: str) -> float:
    """Sum of the samples of one metric family whose line starts with ``prefix``."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.decode().splitlines()
        if line.startswith(prefix)
    )


def wait_for(port: int, prefix: str, total: float, timeout_s: float = 1800) -> list[tuple]:
    """(time, count) samples until the metric reaches ``total``."""
    samples = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        n = metric(port, prefix)
        samples.append((time.perf_counter(), n))
        if n >= total:
            return samples
        time.sleep(0.5)
    raise SystemExit(f"{prefix} reached only {samples[-1][1]:,.0f} of {total:,.0f}")


def rate(samples: list[tuple]) -> float:
    started = next(s for s in samples if s[1] > 0)
    return (samples[-1][1] - started[1]) / (samples[-1][0] - started[0])


def run(config_path: Path, bootstrap: str, port: int, events: int, labels: int) -> dict:
    config = load_config(config_path)
    topics = config.kafka.topics
    report = simulate(
        bootstrap,
        scenario="stationary",
        rate=events / 3600,
        duration_s=3600,
        speedup=0,
        labels=False,
        topic=topics.predictions,
        start=START,
        seed=SEED,
        progress=False,
    )
    total = report.predictions
    log = config_path.with_suffix(".log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", "worker", "--config", str(config_path)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    out: dict = {"events": total}
    try:
        worker = psutil.Process(proc.pid)
        early = wait_for(port, "streams_ingest_events_total{", total * 0.05)
        rss_early = worker.memory_info().rss
        samples = early + wait_for(port, "streams_ingest_events_total{", total)
        out["ingest_rate"] = rate(samples)
        time.sleep(2)  # the last batch's table writes
        out["rss_growth"] = worker.memory_info().rss - rss_early
        if labels:
            run_id = f"sim{SEED}-{int(START.timestamp())}"
            ids = random.Random(1).sample(range(total), min(labels, total))
            producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})
            for i in ids:
                pid = f"{run_id}-{i}"
                value = {
                    "model_id": DEFAULT_MODEL_ID,
                    "prediction_id": pid,
                    "timestamp": "2026-01-02T00:00:00Z",
                    "label": str(i % 2),
                }
                while True:
                    try:
                        producer.produce(topics.labels, key=pid.encode(), value=orjson.dumps(value))
                        break
                    except BufferError:  # local queue full: let deliveries drain
                        producer.poll(0.1)
                producer.poll(0)
            producer.flush(120)
            joined = wait_for(port, 'streams_labels_events_total{model="', len(ids))
            out["join_rate"] = rate(joined)
            out["rss_after_labels"] = worker.memory_info().rss
    finally:
        proc.terminate()
        proc.wait(60)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="predictions")
    parser.add_argument("--labels", type=int, default=200_000, help="labels joined after")
    parser.add_argument(
        "--label-tiers",
        default="1",
        help="comma-separated label tier rates, one pending run each (e.g. 1,0.1,0.01)",
    )
    args = parser.parse_args()
    tiers = [float(t) for t in args.label_tiers.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    port, controller_port, metrics_port = free_ports(3)
    broker = LocalBroker(port=port, controller_port=controller_port, data_dir=workdir / "kafka")
    broker.start()
    try:
        reference = write_reference(workdir / "reference.parquet", rows=20_000)
        runs = [("baseline", False, 1.0, 0)]
        runs += [(f"tier {t:g}", True, t, args.labels if t == 1 else 0) for t in tiers]
        results = {}
        for name, pending, tier, labels in runs:
            path = write_worker_config(
                workdir, broker.bootstrap, reference, metrics_port, pending, label_rate=tier
            )
            results[name] = run(path, broker.bootstrap, metrics_port, args.events, labels)
        base = results["baseline"]
        mib = 1024 * 1024
        print(f"events: {base['events']:,} predictions, {len(FEATURES)} features")
        for name, r in results.items():
            print(
                f"{name:10} ingest {r['ingest_rate']:9,.0f} events/s "
                f"({r['ingest_rate'] / base['ingest_rate']:.2f}x baseline)   "
                f"RSS growth {r['rss_growth'] / mib:7.1f} MiB"
            )
        joined = [r for r in results.values() if "join_rate" in r]
        if joined:
            print(f"labels     joined {args.labels:,} at {joined[0]['join_rate']:,.0f} labels/s")
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
