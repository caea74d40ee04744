"""The monitor config the worker benchmarks run: the simulator's model, with or without
the label join, on topics of its own (created before the worker starts, as in
production)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from streams.config.loading import load_config
from streams.config.models import prefixed_topics
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, FEATURES
from streams.kafka.admin import ensure_topics
from streams.worker.run import topic_specs


def write_worker_config(
    workdir: Path,
    bootstrap: str,
    reference: Path,
    metrics_port: int,
    join: bool,
    label_rate: float = 1.0,
    **kafka: Any,
) -> Path:
    """A config file in ``workdir`` for one worker; ``label_rate``: its label tier
    (docs/sampling.md); ``kafka`` adds to its ``kafka`` section (``partitions``, or
    ``topics`` overriding some of the generated names)."""
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    topics = {**prefixed_topics(prefix), **kafka.pop("topics", {})}
    config = {
        "models": [
            {
                "id": DEFAULT_MODEL_ID,
                "features": dict(FEATURES),
                "reference": str(reference),
                "window_s": 60,
                "performance": {"enabled": join, "cohorts": ["country"]},
                "sampling": {"labels": label_rate},
            }
        ],
        "kafka": {"bootstrap": bootstrap, "topics": topics, **kafka},
        "worker": {
            "app_id": f"{prefix}-monitor",
            "data_dir": str(workdir / prefix),
            "metrics_port": metrics_port,
        },
    }
    path = workdir / f"{prefix}.yaml"
    path.write_text(yaml.safe_dump(config))
    ensure_topics(bootstrap, topic_specs(load_config(path)))
    return path
