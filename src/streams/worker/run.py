"""``streams worker``: create the topics, load the references, serve /metrics, run Faust."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust
from mode.utils.logging import DEFAULT_FORMAT as FAUST_FORMAT

from streams.audit.writer import AUDIT_TOPIC_CONFIG
from streams.config.models import MonitorConfig
from streams.events.models import AlertEvent
from streams.json_logs import JsonFormatter, TextFormatter
from streams.kafka.admin import TopicSpec, ensure_topics, topic_partition_count
from streams.kafka.broadcast import BROADCAST_TOPIC_CONFIG, MAX_MESSAGE_BYTES, BroadcastReader
from streams.metrics_server import metrics_url, serve_metrics
from streams.privacy.columns import redactor_for
from streams.quiet_logs import rate_limit
from streams.windows.reference_profile import load_reference
from streams.windows.stage1 import ModelSpec
from streams.worker.app import Pipeline
from streams.worker.audit import WorkerAudit
from streams.worker.context import TABLES
from streams.worker.metrics import PipelineMetrics
from streams.worker.status import DEFAULT_EVERY_S, StatusLine, topic_lag

#: What the worker writes for itself (partials, results, its tables' changelogs) can
#: outgrow Kafka's default 1 MB: a lagging partition's state holds many open windows of
#: sketches. Those topics take messages up to the producer's limit (worker/app.py).
INTERNAL = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
COMPACTED = {"cleanup.policy": "compact", **INTERNAL}


def topic_specs(config: MonitorConfig) -> dict[str, TopicSpec]:
    """Every topic of the design, partitioned alike so predictions and labels (and the
    tables' changelogs) stay co-partitioned."""
    t, n = config.kafka.topics, config.kafka.partitions
    specs = {
        name: TopicSpec(n)
        for name in (t.predictions, t.labels, t.alerts, t.deadletter, t.node_telemetry)
    }
    specs |= {name: TopicSpec(n, INTERNAL) for name in (t.partials, t.results)}
    specs[t.references] = TopicSpec(1, BROADCAST_TOPIC_CONFIG)
    specs[t.silences] = TopicSpec(1, BROADCAST_TOPIC_CONFIG)
    specs[t.audit] = TopicSpec(1, AUDIT_TOPIC_CONFIG)  # one partition: one total order
    # created here, not left to Faust, so a broker's auto-creation can never make them
    # with another partition count than their source topics
    for table in TABLES:
        specs[f"{config.worker.app_id}-{table}-changelog"] = TopicSpec(n, COMPACTED)
    return specs


def load_models(config: MonitorConfig) -> dict[str, ModelSpec]:
    return {
        m.id: ModelSpec(m, load_reference(m.reference, m.features, redactor_for(m.pii)))
        for m in config.models
    }


def alert_line(alert: AlertEvent) -> str:
    """One readable line per alert, for people watching a terminal."""
    firing = "UPDATE" if alert.update else "ALERT"
    status = firing if alert.status == "firing" else "RESOLVED"
    return f"{status:8} {alert.severity.value.upper():8} {alert.category.value:13} {alert.summary}"


def build_pipeline(
    config: MonitorConfig,
    metrics: PipelineMetrics,
    on_alert: Callable[[AlertEvent], None] | None = None,
    audit: WorkerAudit | None = None,
) -> Pipeline:
    bootstrap, security, topics = config.kafka.bootstrap, config.kafka.security, config.kafka.topics
    ensure_topics(bootstrap, topic_specs(config), security=security)
    partitions = topic_partition_count(bootstrap, topics.predictions, security=security)
    assert partitions, "ensure_topics returned before the predictions topic was visible"
    references = BroadcastReader(bootstrap, topics.references, security)
    silences = BroadcastReader(bootstrap, topics.silences, security)
    models = load_models(config)
    pipeline = Pipeline(config, models, partitions, metrics, on_alert, references, silences, audit)
    pipeline.apply_references(references.load())
    silences.load()
    return pipeline


def run_worker(
    config: MonitorConfig,
    print_alerts: bool = False,
    loglevel: str = "warning",
    log_file: Path | None = None,
    status_every_s: float = DEFAULT_EVERY_S,
    config_path: str | None = None,
    log_format: str = "text",
) -> int:
    """Run until SIGTERM or Ctrl-C; Faust commits offsets and flushes tables on the way out.

    With ``log_file`` the libraries' log (Faust, aiokafka) goes there and the terminal
    shows only the worker's own warnings, its alerts and a status line every
    ``status_every_s`` seconds (0: none)."""
    metrics = PipelineMetrics()
    status = StatusLine(metrics.events, metrics.windows, lag=lambda: 0)

    def on_alert(alert: AlertEvent) -> None:
        status.observe(alert)
        if print_alerts:
            print(alert_line(alert), flush=True)

    audit = WorkerAudit(config)
    pipeline = build_pipeline(config, metrics, on_alert, audit)
    audit.config_loaded(config, config_path)
    worker_config = config.worker
    host, port, tls = (
        worker_config.metrics_host,
        worker_config.metrics_port,
        worker_config.metrics_tls,
    )
    if port:
        serve_metrics(port, host, tls=tls, auth=worker_config.metrics_basic_auth)
        print(f"metrics: {metrics_url(host, port, tls)}", file=sys.stderr, flush=True)
    if status_every_s:
        _print_status_lines(pipeline.app, status, config.kafka.topics.predictions, status_every_s)
    logging.getLogger("faust").setLevel(loglevel.upper())
    rate_limit()  # a broker outage must not fill the log with reconnect lines
    quiet: dict[str, Any] = {}
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        quiet = {"logfile": str(log_file)}
        pipeline.app.conf.loghandlers = [_own_warnings_handler(log_format)]
        print(f"log: {log_file}", file=sys.stderr, flush=True)
    worker = faust.Worker(
        pipeline.app,
        loglevel=loglevel,
        quiet=True,
        redirect_stdouts=False,
        logging_config=_formatters(log_format),
        **quiet,
    )
    worker.spinner = None  # its cursor codes garble the alert lines in logs and pipes
    try:
        worker.execute_from_commandline()
    finally:
        audit.log.close()
    return 0


def _print_status_lines(app: faust.App, status: StatusLine, topic: str, every_s: float) -> None:
    status.lag = lambda: topic_lag(app.monitor, topic)

    async def print_status() -> None:
        print(status.line(), flush=True)

    app.timer(interval=every_s)(print_status)


def _formatters(log_format: str) -> dict[str, Any]:
    """Faust's logging setup with our formatter in place of its own (secrets masked),
    for the log file and the terminal alike."""
    if log_format == "json":
        ours = {"()": "streams.json_logs.JsonFormatter"}
    else:  # Faust's own line, which `streams demo` looks for errors in
        ours = {"()": "streams.json_logs.TextFormatter", "fmt": FAUST_FORMAT}
    return {"merge": True, "version": 1, "formatters": {"default": ours, "colored": ours}}


def _own_warnings_handler(log_format: str = "text") -> logging.Handler:
    """stderr for the worker's own warnings and anything critical; the rest of the log
    is the file's."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        lambda r: (
            r.levelno >= logging.CRITICAL
            or (r.levelno >= logging.WARNING and r.name.startswith("streams"))
        )
    )
    return handler
