"""The wiring without a broker: a Pipeline builds its agents, tables and timers from the
config, and published references reach stage 2 only on the configured bins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from streams.config.models import ModelConfig, MonitorConfig, WorkerConfig
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import ModelSpec
from streams.worker.app import Pipeline
from streams.worker.context import TABLES
from streams.worker.metrics import PipelineMetrics
from streams.worker.run import topic_specs


def pipeline(tmp_path: Path, registry: CollectorRegistry | None = None) -> Pipeline:
    rng = np.random.default_rng(0)
    config = ModelConfig(id="m", features={"x": "numeric"}, reference=Path("unused.json"))
    profile = build_profile({"x": rng.normal(size=2000).tolist()}, config.features)
    monitor = MonitorConfig(
        models=[config], worker=WorkerConfig(store="memory://", data_dir=tmp_path)
    )
    metrics = PipelineMetrics(registry or CollectorRegistry())
    return Pipeline(monitor, {"m": ModelSpec(config, profile)}, 4, metrics)


def test_one_agent_per_input_topic_and_the_tables_of_the_design(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    topics = {name: agent.channel.get_topic_name() for name, agent in p.app.agents.items()}
    names = p.ctx.config.kafka.topics
    assert topics == {
        "ingest": names.predictions,
        "evaluate": names.partials,
        "labels": names.labels,
        "telemetry": names.node_telemetry,
    }
    assert sorted(p.app.tables) == sorted(TABLES)


def test_a_published_reference_applies_on_the_same_bins_only(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    p = pipeline(tmp_path, registry)
    before = p.models["m"].reference
    same_bins = before.to_bytes()
    p.apply_references({"m": same_bins})
    assert p.models["m"].reference is not before
    assert p.models["m"].reference.to_bytes() == same_bins
    rng = np.random.default_rng(1)
    other = build_profile({"x": (rng.normal(size=2000) * 10).tolist()}, {"x": "numeric"})
    applied = p.models["m"].reference
    p.apply_references({"m": other.to_bytes()})
    assert p.models["m"].reference is applied  # refused: other bins
    for outcome in ("applied", "refused"):
        labels = {"model": "m", "outcome": outcome}
        assert registry.get_sample_value("streams_reference_updates_total", labels) == 1


def test_what_the_worker_writes_for_itself_may_outgrow_one_megabyte(tmp_path: Path) -> None:
    """A lagging partition's state (many open windows of sketches) once crashed the
    producer at 1 MB: the producer and every topic it writes such records to take more."""
    p = pipeline(tmp_path)
    limit = p.app.conf.producer_max_request_size
    assert limit >= 8 * 1024 * 1024
    specs = topic_specs(p.ctx.config)
    t = p.ctx.config.kafka.topics
    internal = [t.partials, t.results, *(f"{p.app.conf.id}-{n}-changelog" for n in TABLES)]
    assert {
        name: int(specs[name].config["max.message.bytes"]) for name in internal
    } == dict.fromkeys(internal, limit)
