"""Prometheus metrics of the worker: one prefix, base units, bounded labels.

Per-feature gauges exist only for configured features; reasons and categories are
fixed sets. Pass a registry in (tests use a fresh ``CollectorRegistry``).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from streams.alerting.lifecycle import FLAP_WINDOWS
from streams.events.decode import REASONS
from streams.events.models import AlertCategory
from streams.windows.report import FeatureResult

PREFIX = "streams"
#: Latency buckets (seconds) around common SLO thresholds: 0.1 s must stay a bucket edge,
#: the latency SLO's recording rules read ``le="0.1"``.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)

#: Statistics exported as per-(model, feature) gauges, when the window has them.
FEATURE_GAUGES = {
    "psi": "Population Stability Index of the feature in the last evaluated window.",
    "zero_rate": "Share of zero values of the feature in the last evaluated window.",
    "missing_rate": "Share of missing values of the feature in the last evaluated window.",
    "chi2_p_value": "Chi-squared p-value of the feature in the last evaluated window.",
    "chi2_effect_size": "Cohen's w of the feature against the reference, last window.",
    "wasserstein": "Wasserstein distance to the reference, in reference standard deviations.",
    "jensen_shannon": "Jensen-Shannon distance (base 2) to the reference, last window.",
    "ks_p_value": "Two-sample KS p-value (uncorrected) against the reference, last window.",
}

#: The flap counter's help: a resolve that did not hold (streams/alerting/lifecycle.py).
FLAPS_HELP = (
    f"Incidents that fired again within {FLAP_WINDOWS} windows of their resolve, by category."
)


def name(subsystem: str, metric: str, unit: str = "") -> str:
    """Build a metric name so the prefix and units are never forgotten."""
    return "_".join(p for p in (PREFIX, subsystem, metric, unit) if p)


class PipelineMetrics:
    """Every metric the stages update, registered once per worker."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        r = registry
        self.events = Counter(
            name("ingest", "events"), "Valid prediction events folded.", ["model"], registry=r
        )
        self.late_events = Counter(
            name("ingest", "late_events"),
            "Events that arrived after their window closed on their partition.",
            ["model"],
            registry=r,
        )
        self.deadletter = Counter(
            name("deadletter", "events"),
            "Messages sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=r,
        )
        for reason in REASONS:  # present from the start: rate() needs a series at zero
            self.deadletter.labels(reason)
        self.clock_skew = Gauge(
            name("clock", "skew", "seconds"),
            "How far ahead of the worker's clock the last prediction refused as "
            "future_timestamp was: a producer whose clock is off.",
            ["model"],
            registry=r,
        )
        self.windows = Counter(
            name("windows", "evaluated"),
            "Window evaluations, revisions included.",
            ["model"],
            registry=r,
        )
        self.window_events = Gauge(
            name("window", "events"), "Events in the last evaluated window.", ["model"], registry=r
        )
        self.window_duration = Gauge(
            name("window", "duration", "seconds"),
            "Configured window length (window_s) of the model.",
            ["model"],
            registry=r,
        )
        self.window_end = Gauge(
            name("window", "end", "timestamp_seconds"),
            "End of the last evaluated window (event time).",
            ["model"],
            registry=r,
        )
        self.duplicate_partials = Counter(
            name("partials", "duplicates"),
            "Partials received twice (after a restart) and dropped.",
            ["model"],
            registry=r,
        )
        self.refused_partials = Counter(
            name("partials", "refused"),
            "Partials of a format version this worker cannot read (or damaged): skipped.",
            registry=r,
        )
        self.feature_breach = Gauge(
            name("feature", "breach"),
            "1 when the feature breached a threshold in the last evaluated window.",
            ["model", "feature"],
            registry=r,
        )
        self.feature = {
            stat: Gauge(name("feature", stat), doc, ["model", "feature"], registry=r)
            for stat, doc in FEATURE_GAUGES.items()
        }
        self.latency = Histogram(
            name("prediction", "latency", "seconds"),
            "Model-server latency of each valid prediction event, as the event reports it.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.feature_drift = Gauge(
            name("feature", "drifted"),
            "1 when the feature's drift method flagged it in the last evaluated window.",
            ["model", "feature"],
            registry=r,
        )
        self.dataset_drift_share = Gauge(
            name("dataset", "drifted_share"),
            "Share of the model's features flagged as drifted in the last evaluated window.",
            ["model"],
            registry=r,
        )
        self.reference_updates = Counter(
            name("reference", "updates"),
            "Published references received, by outcome (applied, or refused: other bins).",
            ["model", "outcome"],
            registry=r,
        )
        self.labels = Counter(
            name("labels", "events"),
            "Labels by join outcome: joined, orphan (no prediction), duplicate, expired "
            "(prediction past the label horizon), unusable, unmonitored, unsampled "
            "(prediction outside the label tier).",
            ["model", "outcome"],
            registry=r,
        )
        self.pending_expired = Counter(
            name("pending", "expired"),
            "Pending predictions that reached the label horizon without a label.",
            ["model"],
            registry=r,
        )
        self.performance = Gauge(
            name("performance", "accuracy"),
            "Realized accuracy of the latest performance window labels reached, by cohort.",
            ["model", "cohort"],
            registry=r,
        )
        self.performance_mae = Gauge(
            name("performance", "mae"),
            "Realized mean absolute error (regression models, the model's output units) of "
            "the latest performance window labels reached, by cohort.",
            ["model", "cohort"],
            registry=r,
        )
        self.estimated_accuracy = Gauge(
            name("performance", "estimated_accuracy"),
            "Accuracy the scores predict (CBPE), latest performance window; realized beside.",
            ["model"],
            registry=r,
        )
        self.shadow_agreement = Gauge(
            name("shadow", "agreement_ratio"),
            "Share of the last window's predictions where the shadow decides as the champion.",
            ["model", "shadow"],
            registry=r,
        )
        self.shadow_accuracy_delta = Gauge(
            name("shadow", "accuracy_delta"),
            "Shadow minus champion accuracy on the same labels, latest performance window.",
            ["model", "shadow"],
            registry=r,
        )
        self.label_delay = Gauge(
            name("label", "delay", "seconds"),
            "Time from prediction to label, quantiles (1: the longest) of the latest "
            "performance window's labels.",
            ["model", "quantile"],
            registry=r,
        )
        self.label_coverage = Gauge(
            name("performance", "label_coverage_ratio"),
            "Share of the latest performance window's predictions that have a label.",
            ["model"],
            registry=r,
        )
        self.alerts = Counter(
            name("alerts", "emitted"),
            "Alert events produced.",
            ["model", "category", "severity"],
            registry=r,
        )
        self.alert_flaps = Counter(
            name("alert", "flaps"), FLAPS_HELP, ["model", "category"], registry=r
        )

    def observe_performance(self, model_id: str, body: dict) -> None:
        """Cohort gauges are bounded by the configured cohort attributes' values."""
        for cohort, metrics in body["cohorts"].items():
            for gauge, key in ((self.performance, "accuracy"), (self.performance_mae, "mae")):
                value = metrics.get(key)
                if value is not None and value == value:
                    gauge.labels(model_id, cohort).set(value)
        if body.get("label_coverage") is not None:
            self.label_coverage.labels(model_id).set(body["label_coverage"])
        for key, seconds in (body.get("label_delay_s") or {}).items():
            quantile = "1" if key == "max" else str(int(key[1:]) / 100)  # p90 -> 0.9
            self.label_delay.labels(model_id, quantile).set(seconds)
        estimated = (body.get("estimated") or {}).get("accuracy")
        if estimated is not None and estimated == estimated:
            self.estimated_accuracy.labels(model_id).set(estimated)
        for shadow, metrics in body.get("shadows", {}).items():
            delta = metrics.get("accuracy_delta")
            if delta is not None and delta == delta:
                self.shadow_accuracy_delta.labels(model_id, shadow).set(delta)

    def observe_flaps(self, model_id: str, categories: Sequence[AlertCategory]) -> None:
        """Count the incidents that a decision saw fire again soon after resolving."""
        for category in categories:
            self.alert_flaps.labels(model_id, category.value).inc()

    def observe_shadows(self, model_id: str, summary: dict[str, dict[str, float]]) -> None:
        for shadow, values in summary.items():
            self.shadow_agreement.labels(model_id, shadow).set(values["agreement"])

    def observe_window(
        self, model_id: str, count: int, window_end: float, features: list[FeatureResult]
    ) -> None:
        self.windows.labels(model_id).inc()
        self.window_events.labels(model_id).set(count)
        self.window_end.labels(model_id).set(window_end)
        drifted = [f.drift.drifted for f in features if f.drift]
        if drifted:
            self.dataset_drift_share.labels(model_id).set(sum(drifted) / len(drifted))
        for f in features:
            self.feature_breach.labels(model_id, f.name).set(1 if f.breaches else 0)
            if f.drift:
                self.feature_drift.labels(model_id, f.name).set(1 if f.drift.drifted else 0)
            for stat, gauge in self.feature.items():
                if stat in f.statistics:
                    gauge.labels(model_id, f.name).set(f.statistics[stat])
