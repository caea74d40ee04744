"""Build the Grafana dashboards in grafana/dashboards/ from grafana-foundation-sdk builders.

The builders' types are generated from Grafana's dashboard schema (the SDK is pinned to
Grafana 10.1 in pyproject.toml), so the JSON they emit has the schema's shape. The JSON
files are checked in for Grafana's file provisioning; edit this script, not the JSON.

    python grafana/build.py           # (re)write grafana/dashboards/*.json
    python grafana/build.py --check   # exit 1 if a checked-in file differs from the build

Panels read only the metrics in docs/metrics.md and the recording rules in
deploy/prometheus/rules/recording.yml.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, heatmap, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"

#: The provisioned datasource (grafana/provisioning/datasources/prometheus.yml).
DATASOURCE = dashboard_models.DataSourceRef(type_val="prometheus", uid="prometheus")
TAGS = ["streams"]
#: The latency SLO: 99 % under 100 ms, so the error budget is 1 % (as in alerts.yml).
ERROR_BUDGET = 0.01

M = '{model="$model"}'
MF = '{model="$model", feature=~"$feature"}'
Builder = Any  # a cog builder of a panel


def query(expr: str, legend: str = "", ref_id: str = "A") -> prometheus_builders.Dataquery:
    q = prometheus_builders.Dataquery().expr(expr).ref_id(ref_id).datasource(DATASOURCE)
    return q.legend_format(legend) if legend else q


def instant_table(expr: str) -> prometheus_builders.Dataquery:
    return query(expr).instant().format(prometheus_models.PromQueryFormat.TABLE)


def _targets(panel: Builder, targets: list[tuple[str, str]]) -> Builder:
    for i, (expr, legend) in enumerate(targets):
        panel = panel.with_target(query(expr, legend, ref_id=chr(ord("A") + i)))
    return panel


def series(
    title: str,
    targets: list[tuple[str, str]],
    unit: str = "short",
    description: str = "",
    width: int = 12,
    height: int = 8,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .line_width(1)
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
    )
    return _targets(panel, targets)


def single(
    title: str,
    expr: str,
    unit: str = "short",
    legend: str = "",
    description: str = "",
    width: int = 6,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(5)
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    return _targets(panel, [(expr, legend)])


def variables(feature: bool) -> list[dashboard_builders.QueryVariable]:
    out = [
        dashboard_builders.QueryVariable("model")
        .label("Model")
        .datasource(DATASOURCE)
        .query("label_values(streams_ingest_events_total, model)")
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
    ]
    if feature:
        out.append(
            dashboard_builders.QueryVariable("feature")
            .label("Feature")
            .datasource(DATASOURCE)
            .query('label_values(streams_feature_psi{model="$model"}, feature)')
            .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    return out


def dashboard(
    uid: str,
    title: str,
    description: str,
    rows: list[tuple[str, list[Builder]]],
    feature_variable: bool = False,
) -> dashboard_models.Dashboard:
    builder = (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .variables(variables(feature_variable))
    )
    panel_id = 1
    for row_title, panels in rows:
        builder = builder.with_row(dashboard_builders.Row(row_title).id(panel_id))
        panel_id += 1
        for panel in panels:
            builder = builder.with_panel(panel.id(panel_id))
            panel_id += 1
    return builder.build()


def histogram_quantile(q: float) -> str:
    return (
        f"histogram_quantile({q}, sum by (le) "
        f"(rate(streams_prediction_latency_seconds_bucket{M}[$__rate_interval])))"
    )


def overview() -> dashboard_models.Dashboard:
    return dashboard(
        "streams-overview",
        "Streams / Overview",
        "The four layers at a glance: ingest, data quality and drift, alerts, infrastructure.",
        [
            (
                "Ingest",
                [
                    single(
                        "Ingest rate",
                        f"model:streams_ingest_events:rate5m{M}",
                        unit="ops",
                        description="Valid prediction events per second (5 m rate).",
                    ),
                    single(
                        "Dead-letter share",
                        "job:streams_deadletter_events:ratio_rate5m",
                        unit="percentunit",
                        description="Share of all input that went to the dead-letter topic.",
                    ),
                    single(
                        "Latency p99",
                        histogram_quantile(0.99),
                        unit="s",
                        description="99th percentile of the latency the events report.",
                    ),
                    single(
                        "Window freshness",
                        f"model:streams_window_freshness_seconds:max{M}",
                        unit="s",
                        description="Seconds since the event-time end of the last window.",
                    ),
                    series(
                        "Dead letters by reason",
                        [("reason:streams_deadletter_events:rate5m", "{{reason}}")],
                        unit="ops",
                    ),
                    series(
                        "Windows evaluated",
                        [
                            (
                                "sum by (model) (rate(streams_windows_evaluated_total"
                                f"{M}[$__rate_interval]))",
                                "{{model}}",
                            )
                        ],
                        unit="ops",
                        description="Window evaluations per second, revisions included.",
                    ),
                ],
            ),
            (
                "Data quality and drift",
                [
                    series(
                        "Features breaching",
                        [(f"sum by (model) (streams_feature_breach{M})", "{{model}}")],
                        description="Features that breached a threshold in the last window.",
                    ),
                    series(
                        "Alerts emitted by category",
                        [
                            (
                                "sum by (category) (rate(streams_alerts_emitted_total"
                                f"{M}[$__rate_interval]))",
                                "{{category}}",
                            )
                        ],
                        unit="ops",
                    ),
                ],
            ),
            (
                "Infrastructure",
                [
                    series(
                        "Node CPU",
                        [("streams_node_cpu_utilization_ratio", "{{node}}")],
                        unit="percentunit",
                    ),
                    series(
                        "GPU utilization",
                        [("streams_gpu_utilization_ratio", "{{node}} GPU {{gpu}}")],
                        unit="percentunit",
                    ),
                ],
            ),
        ],
    )


def data_drift() -> dashboard_models.Dashboard:
    worst = "topk(5, streams_feature_psi" + M + ")"
    psi_heatmap = (
        heatmap.Panel()
        .title("PSI over time")
        .description("One row per feature; colour is the PSI of each window.")
        .datasource(DATASOURCE)
        .span(24)
        .height(10)
        .calculate(False)
        .show_tooltip()
        .show_legend()
        .hide_from(common_builders.HideSeriesConfig().legend(False).tooltip(False).viz(False))
        .with_target(query(f"streams_feature_psi{M}", "{{feature}}").interval("1m"))
    )
    worst_table = (
        table.Panel()
        .title("Worst features (PSI, last window)")
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .show_header(True)
        .sort_by([common_builders.TableSortByFieldState().display_name("Value").desc(True)])
        .with_target(instant_table(worst))
    )
    worst_bars = (
        bargauge.Panel()
        .title("Worst features (PSI)")
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .min(0)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(query(worst, "{{feature}}").instant())
    )
    return dashboard(
        "streams-data-drift",
        "Streams / Data drift",
        "Per-feature drift and data quality of $model, from each evaluated window.",
        [
            (
                "Drift",
                [
                    series("PSI per feature", [(f"streams_feature_psi{M}", "{{feature}}")]),
                    series("PSI of $feature", [(f"streams_feature_psi{MF}", "{{feature}}")]),
                    worst_table,
                    worst_bars,
                    psi_heatmap,
                ],
            ),
            (
                "Data quality",
                [
                    series(
                        "Zero rate of $feature",
                        [(f"streams_feature_zero_rate{MF}", "{{feature}}")],
                        unit="percentunit",
                    ),
                    series(
                        "Missing rate of $feature",
                        [(f"streams_feature_missing_rate{MF}", "{{feature}}")],
                        unit="percentunit",
                    ),
                    series(
                        "Chi-squared effect size (Cohen's w), categorical features",
                        [(f"streams_feature_chi2_effect_size{M}", "{{feature}}")],
                    ),
                    series(
                        "Chi-squared p-value, categorical features",
                        [(f"streams_feature_chi2_p_value{M}", "{{feature}}")],
                    ),
                    series(
                        "Features breaching",
                        [(f"streams_feature_breach{M}", "{{feature}}")],
                        description="1 while a feature breaches a threshold.",
                        width=24,
                    ),
                ],
            ),
        ],
        feature_variable=True,
    )


def infrastructure_slo() -> dashboard_models.Dashboard:
    slo = "model:streams_prediction_latency_slo_errors:ratio_rate"
    windows = ["5m", "30m", "1h", "6h", "3d"]
    gpu = "{{node}} GPU {{gpu}}"
    return dashboard(
        "streams-infrastructure-slo",
        "Streams / Infrastructure and SLOs",
        "Latency SLO (99 % of predictions under 100 ms over 30 days), GPUs and nodes.",
        [
            (
                "Latency SLO",
                [
                    series(
                        "Prediction latency quantiles",
                        [(histogram_quantile(q), f"p{round(q * 100)}") for q in (0.5, 0.9, 0.99)],
                        unit="s",
                    ),
                    series(
                        "SLO error ratio (share over 100 ms)",
                        [(f"{slo}{w}{M}", w) for w in windows],
                        unit="percentunit",
                    ),
                    series(
                        "Error budget burn rate",
                        [(f"{slo}{w}{M} / {ERROR_BUDGET}", w) for w in windows],
                        description="1 spends the budget in exactly 30 days; pages at 14.4 "
                        "(1 h and 5 m) or 6 (6 h and 30 m).",
                    ),
                    series(
                        "Window freshness",
                        [(f"model:streams_window_freshness_seconds:max{M}", "{{model}}")],
                        unit="s",
                    ),
                ],
            ),
            (
                "GPUs",
                [
                    series(
                        "GPU memory used",
                        [("streams_gpu_memory_used_bytes / streams_gpu_memory_total_bytes", gpu)],
                        unit="percentunit",
                        width=8,
                    ),
                    series(
                        "GPU temperature",
                        [("streams_gpu_temperature_celsius", gpu)],
                        unit="celsius",
                        width=8,
                    ),
                    series("GPU power", [("streams_gpu_power_watts", gpu)], unit="watt", width=8),
                    series(
                        "GPU throttling",
                        [("streams_gpu_throttle_active", gpu + " {{reason}}")],
                        description="1 while a clock-throttle reason is active.",
                    ),
                    series(
                        "GPU uncorrected ECC errors",
                        [
                            (
                                "increase(streams_gpu_ecc_uncorrected_errors_total"
                                "[$__rate_interval])",
                                gpu,
                            )
                        ],
                    ),
                ],
            ),
            (
                "Nodes",
                [
                    series(
                        "Node CPU",
                        [("streams_node_cpu_utilization_ratio", "{{node}}")],
                        unit="percentunit",
                        width=8,
                    ),
                    series(
                        "Node memory used",
                        [
                            (
                                "streams_node_memory_used_bytes / streams_node_memory_total_bytes",
                                "{{node}}",
                            )
                        ],
                        unit="percentunit",
                        width=8,
                    ),
                    series(
                        "Node disk used",
                        [
                            (
                                "streams_node_disk_used_bytes / streams_node_disk_total_bytes",
                                "{{node}}",
                            )
                        ],
                        unit="percentunit",
                        width=8,
                    ),
                    series(
                        "Node network",
                        [
                            (
                                "rate(streams_node_network_received_bytes_total[$__rate_interval])",
                                "{{node}} received",
                            ),
                            (
                                "rate(streams_node_network_transmitted_bytes_total"
                                "[$__rate_interval])",
                                "{{node}} transmitted",
                            ),
                        ],
                        unit="Bps",
                    ),
                    series(
                        "Telemetry freshness",
                        [("time() - streams_telemetry_last_sample_timestamp_seconds", "{{node}}")],
                        unit="s",
                        description="Seconds since each agent's last sample.",
                    ),
                ],
            ),
        ],
    )


def model_performance() -> dashboard_models.Dashboard:
    cohorts = 'streams_performance_accuracy{model="$model", cohort!="*"}'
    whole = 'streams_performance_accuracy{model="$model", cohort="*"}'
    worst = (
        table.Panel()
        .title("Worst cohorts (accuracy, latest labelled window)")
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .show_header(True)
        .sort_by([common_builders.TableSortByFieldState().display_name("Value").desc(False)])
        .with_target(instant_table(f"bottomk(5, {cohorts})"))
    )
    return dashboard(
        "streams-model-performance",
        "Streams / Model performance",
        "Realized performance of $model as late labels arrive, by cohort; label coverage; "
        "the label-free estimate beside the realized accuracy; champion against shadow.",
        [
            (
                "Realized, by cohort",
                [
                    series(
                        "Accuracy by cohort",
                        [(f"streams_performance_accuracy{M}", "{{cohort}}")],
                        unit="percentunit",
                        description="Latest performance window labels reached; * is the model.",
                    ),
                    worst,
                ],
            ),
            (
                "Labels",
                [
                    series(
                        "Label coverage",
                        [(f"streams_performance_label_coverage_ratio{M}", "{{model}}")],
                        unit="percentunit",
                        description="Share of the window's predictions that have a label.",
                    ),
                    series(
                        "Labels by outcome",
                        [
                            (
                                "sum by (outcome) (rate(streams_labels_events_total"
                                f"{M}[$__rate_interval]))",
                                "{{outcome}}",
                            )
                        ],
                        unit="ops",
                        description="A rising orphan rate means labels that find no "
                        "prediction: a partitioner mismatch or a broken feed.",
                    ),
                    series(
                        "Label delay",
                        [(f"streams_label_delay_seconds{M}", "quantile {{quantile}}")],
                        unit="s",
                        description="Time from prediction to label in the latest labelled "
                        "window; quantile 1 is the longest.",
                    ),
                ],
            ),
            (
                "Estimated and shadow",
                [
                    series(
                        "Estimated (CBPE) vs realized accuracy",
                        [
                            (f"streams_performance_estimated_accuracy{M}", "estimated"),
                            (whole, "realized"),
                        ],
                        unit="percentunit",
                        description="The estimate assumes calibrated scores: a gap says "
                        "they no longer are.",
                    ),
                    series(
                        "Champion vs shadow",
                        [
                            (f"streams_shadow_agreement_ratio{M}", "agreement {{shadow}}"),
                            (f"streams_shadow_accuracy_delta{M}", "accuracy delta {{shadow}}"),
                        ],
                        description="Decisions agreeing before labels; shadow minus "
                        "champion accuracy after.",
                    ),
                ],
            ),
        ],
    )


DASHBOARDS: dict[str, Callable[[], dashboard_models.Dashboard]] = {
    "overview.json": overview,
    "data-drift.json": data_drift,
    "infrastructure-slo.json": infrastructure_slo,
    "model-performance.json": model_performance,
}


def render(board: dashboard_models.Dashboard) -> str:
    """The file's text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(board, cls=JSONEncoder, sort_keys=True, indent=2) + "\n"


def build() -> dict[str, str]:
    """File name -> text of every dashboard."""
    return {name: render(make()) for name, make in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a checked-in file differs")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build().items():
        path = DASHBOARDS_DIR / name
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            DASHBOARDS_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python grafana/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
