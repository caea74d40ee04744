"""The monitor config: one YAML file naming the models, their features, references,
windows and thresholds.

Validated by pydantic; every error is reported as one line naming the file, the key
path and the problem, because the person reading it is usually fixing a deploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FeatureType = Literal["numeric", "categorical"]


class ConfigError(ValueError):
    """The monitor config is unreadable or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """When a window's statistic counts as a breach. Defaults follow common practice:
    PSI 0.2 is the usual "significant shift" line; chi-squared is gated on effect size
    (Cohen's w) because p-values alone flag everything on large windows."""

    psi: float = Field(default=0.2, gt=0)
    chi2_p_value: float = Field(default=0.001, gt=0, lt=1)
    chi2_effect_size: float = Field(default=0.1, gt=0)
    missing_rate_delta: float = Field(default=0.1, gt=0, le=1)
    zero_rate_delta: float = Field(default=0.1, gt=0, le=1)
    min_window_events: int = Field(default=100, ge=1)


class LatencySLO(_Strict):
    """ "``objective`` of predictions faster than ``threshold_ms`` over ``period_days``":
    drives multiwindow, multi-burn-rate alerts (Google SRE workbook, chapter 5)."""

    threshold_ms: float = Field(default=100.0, gt=0)
    objective: float = Field(default=0.99, gt=0, lt=1)
    period_days: int = Field(default=30, ge=1)


class AlertingConfig(_Strict):
    """Hysteresis of the per-(model, category) incidents (see streams/lifecycle.py)."""

    fire_after_windows: int = Field(default=1, ge=1)
    resolve_after_windows: int = Field(default=3, ge=1)


class ModelConfig(_Strict):
    id: str = Field(min_length=1)
    features: dict[str, FeatureType] = Field(min_length=1)
    reference: Path = Field(
        description="A reference profile (.json, from `streams reference build`) or a data "
        "file (.csv, .parquet, .jsonl) profiled at start."
    )
    window_s: int = Field(default=300, gt=0)
    allowed_lateness_s: int = Field(default=30, ge=0)
    thresholds: Thresholds = Thresholds()
    alerting: AlertingConfig = AlertingConfig()
    latency_slo: LatencySLO | None = Field(
        default=None, description="No latency alerts when absent."
    )


class InfraConfig(_Strict):
    """Thresholds for the node-telemetry checks."""

    silent_after_s: float = Field(
        default=60.0, gt=0, description="A node with no sample for this long is silent."
    )
    gpu_memory_ratio: float = Field(default=0.95, gt=0, le=1)


class TopicsConfig(_Strict):
    predictions: str = "predictions"
    labels: str = "labels"
    partials: str = "partials"
    results: str = "results"
    alerts: str = "alerts"
    deadletter: str = "deadletter"
    references: str = "references"
    node_telemetry: str = "node-telemetry"


def prefixed_topics(prefix: str) -> dict[str, str]:
    """Every topic under one prefix: a throwaway deployment (demo, test, benchmark) that
    shares a broker without touching anything else on it."""
    return {name: f"{prefix}-{f.default}" for name, f in TopicsConfig.model_fields.items()}


class KafkaConfig(_Strict):
    bootstrap: str = "127.0.0.1:9092"
    partitions: int = Field(default=4, ge=1, description="Partitions of every topic created.")
    topics: TopicsConfig = TopicsConfig()


class WorkerConfig(_Strict):
    app_id: str = "streams-monitor"
    batch_size: int = Field(default=2000, ge=1)
    batch_within_s: float = Field(default=0.5, gt=0)
    idle_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Wall seconds without events before a partition "
        "counts as idle and stops holding windows open.",
    )
    max_event_bytes: int = Field(default=65536, ge=256)
    deadletter_max_bytes: int = Field(default=16384, ge=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="0 turns /metrics off.")
    data_dir: Path = Path(".streams/worker")
    store: str = "rocksdb://"


class MonitorConfig(_Strict):
    models: list[ModelConfig] = Field(min_length=1)
    kafka: KafkaConfig = KafkaConfig()
    worker: WorkerConfig = WorkerConfig()
    infrastructure: InfraConfig = InfraConfig()

    @model_validator(mode="after")
    def _unique_models(self) -> MonitorConfig:
        ids = [m.id for m in self.models]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"model ids must be unique, repeated: {', '.join(duplicates)}")
        return self

    def model(self, model_id: str) -> ModelConfig | None:
        return next((m for m in self.models if m.id == model_id), None)


def one_line(path: Path | str, exc: ValidationError) -> str:
    """A pydantic error as one line: the file, then each key path and its problem."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{where}: {err['msg']}")
    return f"{path}: " + "; ".join(problems)


def parse_config(data: object, source: Path | str = "<config>") -> MonitorConfig:
    """Validate already-parsed YAML; relative reference paths resolve against the file."""
    try:
        config = MonitorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(one_line(source, exc)) from None
    base = Path(source).parent if isinstance(source, Path) else Path.cwd()
    models = [
        m.model_copy(update={"reference": (base / m.reference).resolve()}) for m in config.models
    ]
    return config.model_copy(update={"models": models})


def read_yaml(path: Path | str, error: type[ValueError]) -> object:
    """Parse a YAML file; unreadable files and syntax errors raise ``error`` as one line
    with the file and the line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        problem = getattr(exc, "problem", exc)
        raise error(f"{path}: not valid YAML at {where}: {problem}") from None


def load_config(path: Path | str) -> MonitorConfig:
    return parse_config(read_yaml(path, ConfigError), Path(path))
