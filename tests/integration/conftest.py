"""Fixtures for tests that run real workers against the real broker.

Each test gets its own topics (a unique prefix) and consumer group, so tests share
one broker without seeing each other's events.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.config.loading import load_config
from streams.config.models import KafkaSecurity, prefixed_topics
from streams.devtools.processes import stop_process_group
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, FEATURES
from streams.devtools.simulator.producer import write_reference
from streams.kafka.admin import ensure_topics
from streams.worker.run import topic_specs


@pytest.fixture(scope="session")
def reference_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "reference.parquet"
    write_reference(path, rows=50_000, seed=0)
    return path


def _read_all(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record now in the topic: reads each partition up to its high watermark."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    try:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in md.partitions
        }
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in pending])
        records: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append(orjson.loads(msg.value()))
            if msg.offset() + 1 >= ends[msg.partition()]:
                pending.discard(msg.partition())
        assert not pending, f"could not read {topic} up to its end"
        return records
    finally:
        consumer.close()


def read_topic(
    bootstrap: str,
    topic: str,
    timeout_s: float = 5.0,
    until: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> list[dict]:
    """Every JSON record of the topic, once ``until`` holds of them (or at once when no
    ``until`` is given); after ``timeout_s``, whatever is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            records = _read_all(bootstrap, topic)
        except KafkaException:  # a topic just created may have no leader yet: read again
            if time.monotonic() > deadline + 30:
                raise
            time.sleep(0.5)
            continue
        if until is None or until(records) or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


@dataclass
class Deployment:
    """One monitor config with its own topics, and the workers started on it."""

    bootstrap: str
    workdir: Path
    prefix: str
    config_path: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: where and how the simulator connects, when not as the tests do (a secured door)
    producer_bootstrap: str | None = None
    producer_security: KafkaSecurity | None = None
    _logs: itertools.count = field(default_factory=itertools.count)

    def topic(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def start_worker(self, data_dir: str | None = None) -> subprocess.Popen[bytes]:
        """A worker of this deployment's consumer group; ``data_dir`` gives it local
        state of its own, so that two can run side by side."""
        number = next(self._logs)
        log = self.workdir / f"worker-{number}.log"
        config = self.config_path
        if data_dir is not None:
            body = yaml.safe_load(config.read_text())
            body["worker"]["data_dir"] = str(self.workdir / data_dir)
            config = self.workdir / f"monitor-{number}.yaml"
            config.write_text(yaml.safe_dump(body))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams",
                "worker",
                "--config",
                str(config),
                "--print-alerts",
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def wait_for_group(self, members: int, timeout_s: float = 120) -> None:
        """Until the workers' consumer group is stable with ``members`` members, each
        assigned partitions: a stream started then causes no rebalance."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        group = f"{self.prefix}-monitor"
        deadline, seen = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            try:
                seen = admin.describe_consumer_groups([group])[group].result(timeout=10)
            except (KafkaException, TimeoutError) as error:  # coordinator loading; slow
                seen = error
            else:
                assigned = [m for m in seen.members if m.assignment.topic_partitions]
                if seen.state == ConsumerGroupState.STABLE and len(assigned) == members:
                    return
            time.sleep(0.5)
        raise AssertionError(f"group {group} not stable with {members} members: {seen}")

    def stop_worker(self, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> int:
        return stop_process_group(proc, timeout_s)

    def worker_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("worker-*.log"))
        )

    def simulate(self, **kwargs: Any) -> Any:
        from streams.devtools.simulator.producer import simulate

        kwargs.setdefault("topic", self.topic("predictions"))
        kwargs.setdefault("labels_topic", self.topic("labels"))
        kwargs.setdefault("progress", False)
        kwargs.setdefault("labels", False)
        kwargs.setdefault("security", self.producer_security)
        return simulate(self.producer_bootstrap or self.bootstrap, **kwargs)

    def results(
        self,
        expected_windows: set[int],
        timeout_s: float = 120,
        counts: dict[int, int] | None = None,
    ) -> dict[int, dict]:
        """The latest revision of each window's result, once every expected window has
        one (and, given ``counts``, once the latest revisions count that: late events
        come as revisions, after a window's first result)."""

        def complete(records: list[dict[str, Any]]) -> bool:
            latest = latest_revisions(records)
            if counts is not None:
                return {w: r["count"] for w, r in latest.items() if w in counts} == counts
            return expected_windows <= set(latest)

        records = read_topic(self.bootstrap, self.topic("results"), timeout_s, until=complete)
        latest = latest_revisions(records)
        missing = expected_windows - set(latest)
        assert not missing, f"no result for {len(missing)} windows; logs:\n{self.worker_logs()}"
        return latest

    def evaluations(self, counts: dict[int, int], timeout_s: float = 180) -> list[dict]:
        """Every window result (revisions too), once the latest revisions count
        ``counts``: to check that each window was evaluated once."""
        self.results(set(counts), timeout_s=timeout_s, counts=counts)
        return [
            r
            for r in read_topic(self.bootstrap, self.topic("results"))
            if r.get("kind") == "window"
        ]

    def alerts(self) -> list[dict]:
        """The alerts so far (call after ``results``: alerts are sent before results)."""
        return read_topic(self.bootstrap, self.topic("alerts"))


def latest_revisions(records: list[dict[str, Any]]) -> dict[int, dict]:
    """The latest revision of each window result among ``records``."""
    latest: dict[int, dict] = {}
    for r in records:
        if r.get("kind") != "window":
            continue
        if (
            r["window_start"] not in latest
            or r["revision"] >= latest[r["window_start"]]["revision"]
        ):
            latest[r["window_start"]] = r
    return latest


@pytest.fixture
def deploy(
    kafka_bootstrap: str, reference_file: Path, tmp_path: Path
) -> Iterator[Callable[..., Deployment]]:
    """A factory: ``deploy(window_s=60, partitions=4)`` writes a config and returns it;
    ``model`` adds keys to the model's config."""
    made: list[Deployment] = []

    def make(
        window_s: int = 60,
        partitions: int = 4,
        lateness_s: int = 10,
        idle_timeout_s: float = 2.0,
        metrics_port: int = 0,
        latency_slo: dict[str, float] | None = None,
        infrastructure: dict[str, float] | None = None,
        model: dict[str, Any] | None = None,
        kafka: dict[str, Any] | None = None,
    ) -> Deployment:
        prefix = f"t{uuid.uuid4().hex[:8]}"
        workdir = tmp_path / prefix
        workdir.mkdir()
        config = {
            "models": [
                {
                    "id": DEFAULT_MODEL_ID,
                    "features": dict(FEATURES),
                    "reference": str(reference_file),
                    "window_s": window_s,
                    "allowed_lateness_s": lateness_s,
                    "latency_slo": latency_slo,
                    **(model or {}),
                }
            ],
            "kafka": {
                "bootstrap": kafka_bootstrap,
                "partitions": partitions,
                "topics": prefixed_topics(prefix),
                **(kafka or {}),
            },
            "worker": {
                "app_id": f"{prefix}-monitor",
                "data_dir": str(workdir / "state"),
                "idle_timeout_s": idle_timeout_s,
                "metrics_port": metrics_port,
            },
            "infrastructure": infrastructure or {},
        }
        path = workdir / "monitor.yaml"
        path.write_text(yaml.safe_dump(config))
        # as in production, the topics exist before anyone produces
        loaded = load_config(path)
        ensure_topics(kafka_bootstrap, topic_specs(loaded))
        deployment = Deployment(kafka_bootstrap, workdir, prefix, path)
        if kafka is not None:  # the workers and producers use ``kafka``, the tests not
            deployment.producer_bootstrap = loaded.kafka.bootstrap
            deployment.producer_security = loaded.kafka.security
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        for proc in deployment.workers:
            deployment.stop_worker(proc, timeout_s=20)
