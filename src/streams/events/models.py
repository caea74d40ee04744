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

from streams.events.envelope import MAX_BATCH_EVENTS

SCHEMA_VERSION = 1

#: Input models (what producers send) refuse NaN and infinity: JSON has neither, but
#: pydantic's lax mode would turn the strings "NaN" and "Infinity" into them, and a
#: NaN in a partial would crash stage 2 (decode.py dead-letters them as ``non_finite``).
INPUT_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

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

    model_config = INPUT_CONFIG

    score: float | None = Field(
        default=None, ge=0, le=1, description="Probability of the positive class."
    )
    label: str | None = Field(default=None, description="Predicted class.")
    value: float | None = Field(default=None, description="Regression output.")


class PredictionEvent(_Event):
    """One prediction served by a model server, produced to ``predictions`` keyed by
    ``prediction_id`` with the murmur2 partitioner."""

    model_config = INPUT_CONFIG

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

    model_config = INPUT_CONFIG

    model_id: str = Field(min_length=1, max_length=200)
    prediction_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime = Field(description="When the label became known (UTC).")
    label: str | None = None
    value: float | None = None


ThrottleReason = Literal[
    "gpu_idle",
    "applications_clocks_setting",
    "sw_power_cap",
    "hw_slowdown",
    "sync_boost",
    "sw_thermal",
    "hw_thermal",
    "hw_power_brake",
    "display_clocks_setting",
]
"""Why a GPU's clocks are held down (NVML clock-event reasons): a fixed set, so that
metrics labelled by reason stay bounded."""

MAX_GPUS = 64
MAX_NVML_ERRORS = 64


class HostReading(BaseModel):
    """A node's CPU, memory, disk and network, in base units; null where unreadable."""

    model_config = INPUT_CONFIG

    cpu_utilization_ratio: float | None = Field(
        default=None, ge=0, le=1, description="Busy share of all CPUs since the previous sample."
    )
    memory_used_bytes: int | None = Field(
        default=None, ge=0, description="Memory not available to new processes (total - available)."
    )
    memory_total_bytes: int | None = Field(default=None, ge=0)
    disk_used_bytes: int | None = Field(default=None, ge=0, description="Root filesystem.")
    disk_total_bytes: int | None = Field(default=None, ge=0, description="Root filesystem.")
    network_received_bytes: int | None = Field(
        default=None, ge=0, description="Counter since boot, all interfaces but loopback."
    )
    network_transmitted_bytes: int | None = Field(
        default=None, ge=0, description="Counter since boot, all interfaces but loopback."
    )


class GpuReading(BaseModel):
    """One GPU's NVML readings, in base units; null where a call failed or is unsupported."""

    model_config = INPUT_CONFIG

    index: int = Field(ge=0, description="NVML device index (PCI bus order, as nvidia-smi).")
    uuid: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    utilization_ratio: float | None = Field(default=None, ge=0, le=1)
    memory_used_bytes: int | None = Field(default=None, ge=0)
    memory_total_bytes: int | None = Field(default=None, ge=0)
    temperature_celsius: float | None = None
    power_watts: float | None = Field(default=None, ge=0)
    ecc_uncorrected_errors: int | None = Field(
        default=None,
        ge=0,
        description="Volatile uncorrected ECC errors (since driver load); null when ECC is off.",
    )
    throttle_reasons: list[ThrottleReason] | None = Field(
        default=None,
        max_length=len(ThrottleReason.__args__),
        description="Active clock-throttle reasons; [] none, null unknown.",
    )


class TelemetryEvent(_Event):
    """One node's infrastructure readings, produced to ``node-telemetry`` keyed by node_id.

    A node without a GPU (or driver) sends ``gpus: []`` and says why in ``nvml_errors``.
    """

    model_config = INPUT_CONFIG

    node_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime = Field(description="When the node was sampled (UTC).")
    host: HostReading | None = None
    gpus: list[GpuReading] = Field(default_factory=list, max_length=MAX_GPUS)
    nvml_errors: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list,
        max_length=MAX_NVML_ERRORS,
        description="NVML calls that failed in this sample, e.g. 'gpu0 nvmlDeviceGetPowerUsage: "
        "Unknown Error'; the other readings are still valid.",
    )

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    clock_skew = "clock_skew"  # a producer's clock is off: its events are refused


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statistic: str
    value: float
    threshold: float
    window_start: datetime
    window_end: datetime


class Silence(BaseModel):
    """An operator's decision that alerts of one model and category must not page until
    a time, with who decided and why (``streams silence add``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: str = Field(min_length=1)
    category: AlertCategory
    until: datetime
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)
    created_at: datetime

    @field_validator("until", "created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class AlertEvent(_Event):
    """One alert state change, produced to ``alerts`` keyed by ``dedup_key``."""

    category: AlertCategory
    layer: Literal["infrastructure", "application", "ml_pipeline", "model_quality"]
    severity: Severity
    model_id: str | None = None
    subject: str = Field(description="What is affected: a feature, a cohort or a node.")
    subjects: list[str] = Field(
        default_factory=list,
        description="Every affected subject of a grouped alert (e.g. all features one "
        "broken upstream zeroed); empty for single-subject alerts.",
    )
    evidence: Evidence
    summary: str
    dedup_key: str
    status: Literal["firing", "resolved"] = "firing"
    update: bool = Field(
        default=False,
        description="A firing alert that changes an incident already announced (new "
        "subjects, corroborating signals, severity): the same dedup_key, not a new page.",
    )
    root_cause: str | None = Field(
        default=None,
        description="The incident's root-cause hypothesis, e.g. 'data_quality on "
        "user_clicks_7d, user_sessions_30d'; None when it is its own cause.",
    )
    corroborating: list[str] = Field(
        default_factory=list,
        description="Findings the root cause explains, folded into this incident "
        "('data_drift user_clicks_7d (adwin)', 'prediction_drift __score__ "
        "(score_wasserstein)', 'performance all (accuracy)').",
    )
    first_seen: datetime
    last_seen: datetime
    runbook_url: str | None = None
    silenced: Silence | None = Field(
        default=None,
        description="Set on a firing alert while a silence covers its model and category: "
        "recorded here, not paged by the router.",
    )


class ExplanationEvent(_Event):
    """SHAP values of one prediction, produced by ``streams explain serve`` to
    ``explanations``, keyed by ``prediction_id`` with murmur2 (so on the prediction's
    partition). Records compare only when ``background_hash`` and ``output`` agree:
    SHAP values are differences from an expectation over that background."""

    model_id: str = Field(min_length=1, max_length=200)
    model_version: str = Field(min_length=1, max_length=100)
    prediction_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime = Field(description="The prediction's event time (UTC).")
    explainer: Literal["tree", "linear", "kernel"] = Field(description="Which SHAP method.")
    explainer_version: str = Field(
        max_length=100, description="The method's implementation, e.g. 'shap 0.51.0'."
    )
    shap_version: str | None = Field(
        default=None, max_length=50, description="shap's version; null for the exact linear path."
    )
    background_hash: str = Field(
        min_length=16, max_length=64, description="SHA-256 (hex prefix) of the background rows."
    )
    output: Literal["margin", "probability", "value"] = Field(
        description="What is explained: log-odds, positive-class probability or regression value."
    )
    base_value: float = Field(description="Expected output over the background.")
    model_output: float = Field(description="base_value + sum(attributions).")
    attributions: dict[str, float] = Field(description="SHAP value per feature.")
    inclusion_probability: float = Field(
        gt=0, le=1, description="Probability the explanation tier kept this prediction."
    )


class PredictionBatch(BaseModel):
    """Many predictions of one partition in one ``predictions`` message (an envelope,
    streams/events/envelope.py): Faust's cost is per message, so a batch pays it once.
    Every ``prediction_id`` murmur2-maps to the message's partition."""

    model_config = INPUT_CONFIG

    batch_version: Literal[1] = Field(description="Version of the envelope format.")
    predictions: list[PredictionEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class LabelBatch(BaseModel):
    """Many labels of one partition in one ``labels`` message; see ``PredictionBatch``."""

    model_config = INPUT_CONFIG

    batch_version: Literal[1] = Field(description="Version of the envelope format.")
    labels: list[LabelEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "prediction": PredictionEvent,
    "label": LabelEvent,
    "telemetry": TelemetryEvent,
    "alert": AlertEvent,
    "explanation": ExplanationEvent,
    "prediction_batch": PredictionBatch,
    "label_batch": LabelBatch,
}


def decode_prediction(raw: bytes) -> PredictionEvent:
    """Decode one ``predictions`` message; raises orjson.JSONDecodeError or
    pydantic.ValidationError on bad input."""
    return PredictionEvent.model_validate(orjson.loads(raw))
