"""The monitor config: one YAML file naming the models, their features, references,
windows and thresholds.

The pydantic models only: strict (unknown keys are errors) and frozen. Reading the
file and turning validation errors into one line is :mod:`streams.config.loading`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.privacy.redaction import BucketRule, MaskRule, PiiConfig
from streams.sketches.performance import SCORE_BINS

FeatureType = Literal["numeric", "categorical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Data-quality limits, and the window size below which nothing alerts."""

    missing_rate_delta: float = Field(default=0.1, gt=0, le=1)
    zero_rate_delta: float = Field(default=0.1, gt=0, le=1)
    out_of_range_rate_delta: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Share of finite values outside the reference's [min, max], above the "
        "reference's own share. Data from the reference's distribution falls outside in "
        "about 2/(N+1) of draws for N reference rows, so 0.05 holds from ~100 rows.",
    )
    #: share of a window in categories the reference never saw (a data_drift finding)
    new_category_share: float = Field(default=0.05, gt=0, le=1)
    min_window_events: int = Field(default=100, ge=1)
    clock_skew_share: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Share of a window's events dead-lettered as future_timestamp or "
        "too_old above which a pipeline alert says a producer's clock is off.",
    )


Method = Literal["ks", "chi2", "wasserstein", "psi", "jensen_shannon", "hellinger"]
#: Methods that decide on a p-value (drifted below the level); the rest decide on a
#: distance (drifted above the threshold).
P_VALUE_METHODS = frozenset({"ks", "chi2"})
NUMERIC_METHODS = frozenset({"ks", "wasserstein", "psi", "jensen_shannon", "hellinger"})
CATEGORICAL_METHODS = frozenset({"chi2", "psi", "jensen_shannon", "hellinger"})
#: Default of ``worker.max_clock_skew_s``: NTP keeps honest clocks well inside it.
DEFAULT_MAX_CLOCK_SKEW_S = 300.0


class DistanceThresholds(_Strict):
    """Effect-size lines of the distance methods; they do not grow with window size.
    Wasserstein is in reference standard deviations."""

    psi: float = Field(default=0.2, gt=0)
    wasserstein: float = Field(default=0.25, gt=0)
    jensen_shannon: float = Field(default=0.1, gt=0, le=1)
    hellinger: float = Field(default=0.1, gt=0, le=1)


class EffectGates(_Strict):
    """The smallest effect a p-value method may call drift: on a window of a few hundred
    events a p-value already flags a daily cycle of a fifth of a standard deviation.
    KS is gated on its statistic (the largest CDF gap), chi-squared on Cohen's w."""

    ks: float = Field(default=0.15, ge=0, le=1)
    chi2: float = Field(default=0.1, ge=0)


class FeatureOverride(_Strict):
    """Per-feature override: the method, and its threshold (a distance, or the
    significance level of a p-value method)."""

    method: Method | None = None
    threshold: float | None = Field(default=None, gt=0)


class MultivariateConfig(_Strict):
    """MMD on the joint samples of the numeric features (reported, never alerting alone)."""

    enabled: bool = True
    permutations: int = Field(default=200, ge=10)
    max_rows: int = Field(default=500, ge=10)


class OnlineConfig(_Strict):
    """river's detectors over each numeric feature's per-window mean (in reference standard
    deviations) and the mean prediction score (in the window's score sd): they watch the
    sequence of windows for a sustained shift no single window makes significant. Only
    PageHinkley runs by default, calibrated to ``false_alarms_per_day``; ADWIN and KSWIN
    cannot be held to a budget on seasonal traffic (streams/drift/online.py)."""

    enabled: bool = True
    detectors: list[Literal["page_hinkley", "adwin", "kswin"]] = Field(
        default_factory=lambda: ["page_hinkley"],
        description="Detectors to run; adwin and kswin fire on daily cycles.",
    )
    min_shift: float = Field(
        default=0.25,
        gt=0,
        description="Smallest sustained shift of a mean (reference sd) worth a warning: "
        "PageHinkley's delta; a daily swing below it is tolerated.",
    )
    false_alarms_per_day: float = Field(
        default=0.5,
        gt=0,
        description="PageHinkley's budget: expected false alarms per model-day over all "
        "series on healthy traffic; its threshold is calibrated to it at start.",
    )
    history: int = Field(
        default=500, ge=10, description="Windows kept per series to rebuild after a restart."
    )


class ReferenceMode(_Strict):
    """What a window is compared with: the static profile, the merge of the previous
    ``windows`` windows, or the same hour of the previous week."""

    kind: Literal["static", "rolling", "seasonal"] = "static"
    windows: int = Field(
        default=12, ge=1, le=48, description="Windows merged by `rolling` (stage 2 keeps 48)."
    )


class DriftConfig(_Strict):
    """How each feature is tested; defaults and their reasons: docs/drift.md."""

    large_window: int = Field(
        default=1000,
        ge=1,
        description="Non-missing values in the window from which distance methods decide.",
    )
    numeric_small: Method = "ks"
    numeric_large: Method = "wasserstein"
    categorical_small: Method = "chi2"
    categorical_large: Method = "jensen_shannon"
    p_value: float = Field(default=0.01, gt=0, lt=1)
    correction: Literal["bh", "bonferroni", "none"] = "bh"
    thresholds: DistanceThresholds = DistanceThresholds()
    effect_gates: EffectGates = EffectGates()
    dataset_share: float = Field(default=0.5, gt=0, le=1)
    features: dict[str, FeatureOverride] = Field(default_factory=dict)
    multivariate: MultivariateConfig = MultivariateConfig()
    online: OnlineConfig = OnlineConfig()
    reference: ReferenceMode = ReferenceMode()

    def method_for(self, feature: str, kind: FeatureType, n: int) -> tuple[Method, float]:
        """The method deciding a feature's drift and its threshold, for ``n`` values.

        >>> DriftConfig().method_for("x", "numeric", 500)
        ('ks', 0.01)
        >>> DriftConfig().method_for("x", "categorical", 5000)
        ('jensen_shannon', 0.1)
        """
        override = self.features.get(feature, FeatureOverride())
        large = n >= self.large_window
        default = {
            ("numeric", False): self.numeric_small,
            ("numeric", True): self.numeric_large,
            ("categorical", False): self.categorical_small,
            ("categorical", True): self.categorical_large,
        }[(kind, large)]
        method = override.method or default
        if override.threshold is not None:
            return method, override.threshold
        if method in P_VALUE_METHODS:
            return method, self.p_value
        return method, getattr(self.thresholds, method)


def _check_methods(
    features: dict[str, FeatureType], drift: DriftConfig, where: str = "drift"
) -> None:
    """Every override names a configured feature and a method that applies to its type."""
    defaults = {
        "numeric_small": ("numeric", drift.numeric_small),
        "numeric_large": ("numeric", drift.numeric_large),
        "categorical_small": ("categorical", drift.categorical_small),
        "categorical_large": ("categorical", drift.categorical_large),
    }
    checks = [(f"{where}.{key}", kind, method) for key, (kind, method) in defaults.items()]
    for name, override in drift.features.items():
        if name not in features:
            raise ValueError(f"{where}.features.{name}: not a configured feature")
        if override.method:
            checks.append((f"{where}.features.{name}", features[name], override.method))
    for key, kind, method in checks:
        allowed = NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS
        if method not in allowed:
            raise ValueError(
                f"{key}: {method} does not apply to {kind} features "
                f"(use one of {', '.join(sorted(allowed))})"
            )


class LatencySLO(_Strict):
    """ "``objective`` of predictions faster than ``threshold_ms`` over ``period_days``":
    drives multiwindow, multi-burn-rate alerts (Google SRE workbook, chapter 5)."""

    threshold_ms: float = Field(default=100.0, gt=0)
    objective: float = Field(default=0.99, gt=0, lt=1)
    period_days: int = Field(default=30, ge=1)


class RootCauseConfig(_Strict):
    """One incident per root cause (streams/alerting/rootcause.py): while a model's
    data-quality incident is open (or its finding is in the window), the findings it
    explains join it as corroborating updates instead of paging on their own."""

    enabled: bool = True
    absorb: list[Literal["data_drift", "prediction_drift", "performance"]] = Field(
        default_factory=lambda: ["data_drift", "prediction_drift", "performance"],
        description="Categories a data-quality root cause absorbs: drift on its features, "
        "the score movement, the performance drop while it is firing.",
    )


class CorrelationConfig(_Strict):
    """Severity from corroboration (streams/alerting/signals.py ``correlate``): a drift or
    data-quality finding alone stays a ticket; while the prediction scores also moved
    against the previous windows (the proxy for performance before labels) it is
    escalated; drift that the same hour of last week shows too is only info."""

    enabled: bool = True
    baseline_windows: int = Field(
        default=12, ge=1, le=48, description="Previous windows whose scores are the baseline."
    )
    score_wasserstein: float = Field(
        default=0.3,
        gt=0,
        description="Score shift (Wasserstein, in baseline sd) that corroborates a finding.",
    )
    escalate_to: Literal["critical", "error", "warning"] = "critical"
    seasonal: bool = Field(
        default=False,
        description="Keep same-hour-last-week sketches (as the seasonal reference does) "
        "and downgrade drift they also show to info.",
    )
    root_cause: RootCauseConfig = Field(default_factory=RootCauseConfig)


class AlertingConfig(_Strict):
    """Hysteresis of the per-(model, category) incidents (see streams/alerting/lifecycle.py),
    and how corroboration sets severity."""

    fire_after_windows: int = Field(default=1, ge=1)
    drift_fire_after_windows: int = Field(
        default=2,
        ge=1,
        description="Windows in a row a per-window drift test must breach before data or "
        "prediction drift alerts: one window's crossing on healthy traffic is sampling "
        "noise or a daily peak. Online detections, evidence over many windows, count at once.",
    )
    resolve_after_windows: int = Field(default=3, ge=1)
    correlation: CorrelationConfig = CorrelationConfig()


class PerformanceConfig(_Strict):
    """Performance once labels arrive (streams/labels/join.py): realized metrics per
    performance window and cohort, credited to the window of the prediction."""

    enabled: bool = True
    window_s: int = Field(
        default=3600, gt=0, description="Performance window: labels are sparse, so coarser."
    )
    label_horizon_s: int = Field(
        default=60 * 86400, gt=0, description="Predictions wait this long for their label."
    )
    cohorts: list[str] = Field(
        default_factory=list, description="Segment attributes whose values are cohorts."
    )
    min_labels: int = Field(default=200, ge=1, description="Fewer labels never alert.")
    threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Score of a positive; a multiple of 1/200 (CBPE's score bins).",
    )
    baseline_windows: int = Field(
        default=24, ge=1, description="Earlier performance windows that make the baseline."
    )
    accuracy_drop: float = Field(
        default=0.05, ge=0, lt=1, description="Tolerated accuracy loss against the baseline."
    )
    mae_rise: float = Field(
        default=0.1,
        ge=0,
        description="Tolerated MAE rise against the baseline, as a share of the baseline's "
        "MAE (regression models).",
    )
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    orphan_rate: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Share of recent labels without a prediction that raises a pipeline "
        "alert (a partitioner mismatch or a broken label feed).",
    )

    @model_validator(mode="after")
    def _threshold_on_a_score_bin_edge(self) -> PerformanceConfig:
        """CBPE reads scores on SCORE_BINS fine bins, and a threshold inside a bin would split
        it: refuse it here, with the nearest edges, not at the first evaluation."""
        edge = self.threshold * SCORE_BINS
        if abs(edge - round(edge)) > 1e-9:
            low, high = math.floor(edge) / SCORE_BINS, math.ceil(edge) / SCORE_BINS
            raise ValueError(
                f"performance.threshold {self.threshold} must be a multiple of "
                f"1/{SCORE_BINS} (the score bins CBPE reads): use {low:g} or {high:g}"
            )
        return self


SamplingTier = Literal["drift", "labels", "audit", "explanation"]


class AlwaysKeepRule(_Strict):
    """Keep every prediction whose segment ``segment`` is one of ``values`` in ``tiers``,
    whatever its hash: a small cohort that must be fully labelled or audited. Its
    records carry inclusion probability 1."""

    segment: str = Field(min_length=1)
    values: list[str] = Field(min_length=1)
    tiers: list[SamplingTier] = Field(default_factory=lambda: ["drift", "labels"], min_length=1)


class SamplingConfig(_Strict):
    """Consistent sampling tiers (docs/sampling.md): each a share of predictions chosen
    by a threshold on a seeded hash of ``prediction_id``. Volume, latency, the score
    histogram and data-quality counts always see every prediction."""

    drift: float = Field(default=1.0, gt=0, le=1, description="Share in feature sketches.")
    labels: float = Field(
        default=1.0, gt=0, le=1, description="Share in the pending-label store and performance."
    )
    audit: float = Field(default=0.0, ge=0, le=1, description="Share for the audit log.")
    explanation: float = Field(default=0.0, ge=0, le=1, description="Share explained.")
    seed: int = Field(
        default=0, ge=0, lt=2**64, description="Hash seed; a new seed draws an unrelated sample."
    )
    always_keep: list[AlwaysKeepRule] = Field(default_factory=list)


class ExplainConfig(_Strict):
    """What ``streams explain serve`` needs of a model (docs/explain.md): its artifact,
    and the cost bounds of its explainer. A model without it is not explained."""

    artifact: Path = Field(
        description="A bundle written by streams.explain.save_artifact (joblib): the model, "
        "its feature columns and background rows. A pickle: only files you trust."
    )
    batch_size: int = Field(
        default=256, ge=1, le=10_000, description="Rows explained in one call at most."
    )
    kernel_samples: int = Field(
        default=200, ge=10, description="Coalitions KernelExplainer evaluates per row."
    )
    kernel_background: int = Field(
        default=10, ge=1, description="k-means centres of KernelExplainer's background."
    )
    tree_background: int = Field(
        default=100, ge=1, description="Background rows of TreeExplainer's expectation."
    )


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
    drift: DriftConfig = DriftConfig()
    performance: PerformanceConfig = PerformanceConfig()
    alerting: AlertingConfig = AlertingConfig()
    latency_slo: LatencySLO | None = Field(
        default=None, description="No latency alerts when absent."
    )
    pii: PiiConfig | None = Field(
        default=None, description="Redaction rules per field (docs/privacy.md)."
    )
    sampling: SamplingConfig = SamplingConfig()
    explain: ExplainConfig | None = Field(
        default=None, description="Explanations of the explanation tier (docs/explain.md)."
    )

    @model_validator(mode="after")
    def _drift_methods_apply(self) -> ModelConfig:
        _check_methods(self.features, self.drift)
        return self

    @model_validator(mode="after")
    def _pii_rules_fit(self) -> ModelConfig:
        """A hash makes a string, a bucket edge a number: each only for its kind."""
        for path, rule in (self.pii.fields if self.pii else {}).items():
            section, _, name = path.partition(".")
            if section != "features":
                continue
            kind = self.features.get(name)
            if kind is None:
                if rule == "drop":  # sent by the server, not monitored: kept off the topic
                    continue
                raise ValueError(f"pii.fields: {path!r} is not a feature of model {self.id!r}")
            if rule == "drop":
                raise ValueError(f"pii.fields: {path!r} is monitored: remove it from features")
            if (rule == "hash" or isinstance(rule, MaskRule)) and kind == "numeric":
                raise ValueError(f"pii.fields: {path!r} is numeric: bucketize it")
            if isinstance(rule, BucketRule) and kind == "categorical":
                raise ValueError(f"pii.fields: {path!r} is categorical: hash or mask it")
        return self


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
    silences: str = "silences"
    node_telemetry: str = "node-telemetry"
    audit: str = "audit"
    explanations: str = "explanations"


def prefixed_topics(prefix: str) -> dict[str, str]:
    """Every topic under one prefix: a throwaway deployment (demo, test, benchmark) that
    shares a broker without touching anything else on it."""
    return {name: f"{prefix}-{f.default}" for name, f in TopicsConfig.model_fields.items()}


class SecretSource(_Strict):
    """Where a secret is read from when a client is built: an environment variable or
    a file (its first line). Never the secret itself, so no config or log carries it."""

    password_env: str | None = Field(default=None, min_length=1)
    password_file: Path | None = None

    @model_validator(mode="after")
    def _at_most_one_source(self) -> SecretSource:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("give password_env or password_file, not both")
        return self


class SaslConfig(SecretSource):
    """SASL login: the mechanism, the user, and where the password is read from."""

    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    username: str = Field(min_length=1)

    @model_validator(mode="after")
    def _has_password(self) -> SaslConfig:
        if self.password_env is None and self.password_file is None:
            raise ValueError("SASL needs password_env or password_file (never the password)")
        return self


class TlsConfig(SecretSource):
    """TLS: the CA that signed the brokers' certificates (else the system's), and a
    client certificate for mutual TLS; ``password_*`` unlocks an encrypted key_file."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True

    @model_validator(mode="after")
    def _cert_with_key(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class KafkaSecurity(_Strict):
    """How clients authenticate to and encrypt their traffic with the brokers
    (docs/security.md); the default, PLAINTEXT, is a local broker's."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl: SaslConfig | None = None
    tls: TlsConfig | None = None

    @model_validator(mode="after")
    def _parts_match_protocol(self) -> KafkaSecurity:
        uses_sasl = self.protocol.startswith("SASL_")
        if uses_sasl and self.sasl is None:
            raise ValueError(f"protocol {self.protocol} needs a sasl section")
        if not uses_sasl and self.sasl is not None:
            raise ValueError(f"sasl is set but protocol {self.protocol} does not use SASL")
        if self.tls is not None and not self.protocol.endswith("SSL"):
            raise ValueError(f"tls is set but protocol {self.protocol} does not use TLS")
        return self


class KafkaConfig(_Strict):
    bootstrap: str = "127.0.0.1:9092"
    partitions: int = Field(default=4, ge=1, description="Partitions of every topic created.")
    topics: TopicsConfig = TopicsConfig()
    security: KafkaSecurity = KafkaSecurity()

    @field_validator("bootstrap")
    @classmethod
    def _host_ports(cls, bootstrap: str) -> str:
        """Every ``HOST:PORT`` of the list, with a port a client can connect to: a typo
        here would otherwise surface as endless reconnect attempts."""
        for server in bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server.strip()!r} is not HOST:PORT")
            if not 1 <= int(port) <= 65535:
                raise ValueError(f"port {port} of {server.strip()!r} is out of range 1-65535")
        return bootstrap


class RocksDBConfig(_Strict):
    """Memory of each table partition's RocksDB. Faust's defaults (three 64 MiB memtables
    and a 2 GiB block cache per partition) let a worker's RSS grow by hundreds of MiB
    under a steady write load; these bound it at (buffers x buffer + cache) per partition."""

    write_buffer_mib: int = Field(default=4, ge=1, description="Size of one memtable.")
    max_write_buffers: int = Field(default=2, ge=2, description="Memtables before a stall.")
    block_cache_mib: int = Field(default=8, ge=1, description="Read cache.")

    def options(self) -> dict[str, int]:
        """Faust's ``RocksDBOptions`` keywords (a fresh dict: Faust pops from it)."""
        mib = 1024 * 1024
        return {
            "write_buffer_size": self.write_buffer_mib * mib,
            "max_write_buffer_number": self.max_write_buffers,
            "block_cache_size": self.block_cache_mib * mib,
        }


class MetricsTLS(_Strict):
    """/metrics (or the gateway) over HTTPS: the server's certificate chain and its
    private key (PEM)."""

    cert_file: Path
    key_file: Path


class MetricsBasicAuth(_Strict):
    """/metrics (or the gateway) behind HTTP basic auth; the password is read from a
    file (its first line), so it is never in the config."""

    username: str = Field(min_length=1, pattern=r"^[^:]+$")
    password_file: Path


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
    max_clock_skew_s: float = Field(
        default=DEFAULT_MAX_CLOCK_SKEW_S,
        gt=0,
        description="Seconds an event's time may be ahead of the worker's clock; beyond, "
        "it is dead-lettered as future_timestamp (docs/decisions/0006-event-time-skew.md).",
    )
    deadletter_max_bytes: int = Field(default=16384, ge=0, le=524288)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="0 turns /metrics off.")
    metrics_tls: MetricsTLS | None = None
    metrics_basic_auth: MetricsBasicAuth | None = None
    pending_sweep_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds between scans expiring pending predictions past the horizon.",
    )
    data_dir: Path = Path(".streams/worker")
    store: str = "rocksdb://"
    rocksdb: RocksDBConfig = RocksDBConfig()


class GatewayConfig(_Strict):
    """``streams gateway``'s HTTP side (docs/gateway.md): HTTPS and basic auth, in the
    shapes of the worker's /metrics; the address stays a command-line option."""

    tls: MetricsTLS | None = None
    basic_auth: MetricsBasicAuth | None = None


class MonitorConfig(_Strict):
    models: list[ModelConfig] = Field(min_length=1)
    kafka: KafkaConfig = KafkaConfig()
    worker: WorkerConfig = WorkerConfig()
    gateway: GatewayConfig = GatewayConfig()
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
