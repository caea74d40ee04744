"""Event schemas of every topic, as pydantic 2 models.

These models are the contract with model servers and on-call tooling: the JSON
Schema files in ``schemas/`` are generated from them (``streams schemas write``)
and a test fails when a file differs from its model. Every event carries
``schema_version`` so that a consumer can refuse what it does not understand.

Decoding goes through orjson (``decode_prediction`` and friends): it is several
times faster than the standard library on the per-event path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1

FeatureValue = Annotated[
    float | int | str | None,
    Field(description="A numeric or categorical feature value; null when missing."),
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="Version of this event schema."
    )

    def to_json(self) -> bytes:
        """Serialise as compact JSON bytes, the form every topic carries."""
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))


class Prediction(BaseModel):
    """What the model answered: a score for classifiers, a class, or a value for regressors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float | None = Field(default=None, description="Probability of the positive class.")
    label: str | None = Field(default=None, description="Predicted class.")
    value: float | None = Field(default=None, description="Regression output.")


class PredictionEvent(_Event):
    """One prediction served by a model server, produced to ``predictions`` keyed by
    ``prediction_id`` with the murmur2 partitioner."""

    model_id: str = Field(min_length=1, max_length=200)
    model_version: str = Field(min_length=1, max_length=100)
    prediction_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime = Field(description="Event time: when the prediction was served (UTC).")
    features: dict[str, FeatureValue]
    prediction: Prediction
    latency_ms: float | None = Field(default=None, ge=0)
    segments: dict[str, str] = Field(
        default_factory=dict, description="Cohort attributes, e.g. {'country': 'DE'}."
    )
    shadow_predictions: dict[str, Prediction] | None = Field(
        default=None, description="Predictions of shadow models, by shadow model id."
    )
    attributions: dict[str, float] | None = Field(
        default=None, description="Per-feature attributions (e.g. SHAP values)."
    )

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class LabelEvent(_Event):
    """Ground truth for one prediction, arriving hours to days later on ``labels``,
    keyed by ``prediction_id`` (co-partitioned with ``predictions``)."""

    model_id: str = Field(min_length=1, max_length=200)
    prediction_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime = Field(description="When the label became known (UTC).")
    label: str | None = None
    value: float | None = None


class TelemetryEvent(_Event):
    """One node's infrastructure readings, produced to ``node-telemetry`` keyed by node_id."""

    node_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime
    cpu_utilization: float | None = Field(default=None, ge=0, le=1)
    memory_used_bytes: int | None = Field(default=None, ge=0)
    memory_total_bytes: int | None = Field(default=None, ge=0)
    gpus: list[dict[str, float | int | str | None]] = Field(default_factory=list)


class Severity(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"


class AlertCategory(StrEnum):
    data_drift = "data_drift"
    prediction_drift = "prediction_drift"
    data_quality = "data_quality"
    freshness = "freshness"
    performance = "performance"
    slo_burn = "slo_burn"
    gpu = "gpu"
    node_silent = "node_silent"
    attribution_drift = "attribution_drift"
    pipeline = "pipeline"


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statistic: str
    value: float
    threshold: float
    window_start: datetime
    window_end: datetime


class AlertEvent(_Event):
    """One alert state change, produced to ``alerts`` keyed by ``dedup_key``."""

    category: AlertCategory
    layer: Literal["infrastructure", "application", "ml_pipeline", "model_quality"]
    severity: Severity
    model_id: str | None = None
    subject: str = Field(description="What is affected: a feature, a cohort or a node.")
    evidence: Evidence
    summary: str
    dedup_key: str
    status: Literal["firing", "resolved"] = "firing"
    first_seen: datetime
    last_seen: datetime
    runbook_url: str | None = None


TOPIC_MODELS: dict[str, type[_Event]] = {
    "prediction": PredictionEvent,
    "label": LabelEvent,
    "telemetry": TelemetryEvent,
    "alert": AlertEvent,
}


def decode_prediction(raw: bytes) -> PredictionEvent:
    """Decode one ``predictions`` message; raises orjson.JSONDecodeError or
    pydantic.ValidationError on bad input."""
    return PredictionEvent.model_validate(orjson.loads(raw))
