"""The Faust app: its topics, tables, agents and timers, wired from the monitor config.

No decisions here: one agent module per input topic reads, calls the pure core and
sends (``predictions.py``: stage 1; ``partials.py``: stage 2; ``labels.py``: the
label join; ``telemetry.py``: node conditions). This module only connects them:
which topic feeds which agent, which timers run, who hears of a rebalance, and how
newly published references reach stage 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import faust

from streams.config.models import MonitorConfig
from streams.events.models import AlertEvent
from streams.kafka.broadcast import MAX_MESSAGE_BYTES, BroadcastReader
from streams.kafka.security import faust_credentials
from streams.windows.reference_updates import accept
from streams.windows.stage1 import ModelSpec
from streams.worker.audit import WorkerAudit
from streams.worker.context import Context, Tables, Topics
from streams.worker.labels import LabelsAgent
from streams.worker.metrics import PipelineMetrics
from streams.worker.partials import PartialsAgent
from streams.worker.predictions import PredictionsAgent
from streams.worker.telemetry import TelemetryAgent

log = logging.getLogger(__name__)
#: Seconds between looks at the references and silences topics.
BROADCAST_POLL_S = 5.0


def build_app(config: MonitorConfig, num_partitions: int) -> faust.App:
    worker = config.worker
    return faust.App(
        worker.app_id,
        broker=f"kafka://{config.kafka.bootstrap}",
        broker_credentials=faust_credentials(config.kafka.security),
        store=worker.store,
        datadir=str(worker.data_dir),
        topic_partitions=num_partitions,
        topic_replication_factor=1,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        # larger fetches and buffers: per-event work is small, round trips are not
        broker_max_poll_records=5000,
        stream_buffer_maxsize=16384,
        producer_acks=-1,
        # a state or partial over 1 MB (many open windows of sketches) must not crash
        # the producer; the topics it goes to take as much (worker/run.py INTERNAL)
        producer_max_request_size=MAX_MESSAGE_BYTES,
    )


class Pipeline:
    """The app with its agents and timers; ``apply_references`` switches references."""

    def __init__(
        self,
        config: MonitorConfig,
        models: Mapping[str, ModelSpec],
        num_partitions: int,
        metrics: PipelineMetrics,
        on_alert: Callable[[AlertEvent], None] | None = None,
        references: BroadcastReader | None = None,
        silences: BroadcastReader | None = None,
        audit: WorkerAudit | None = None,
    ) -> None:
        self.app = app = build_app(config, num_partitions)
        self.references, self.silences = references, silences
        self.ctx = Context(
            app,
            config,
            dict(models),
            Topics.create(app, config, num_partitions),
            Tables.create(app, config, num_partitions),
            metrics,
            on_alert,
            silences,
            audit,
        )
        for model_id, spec in self.ctx.models.items():
            metrics.window_duration.labels(model_id).set(spec.config.window_s)
        self.predictions = PredictionsAgent(self.ctx, num_partitions)
        self.partials = PartialsAgent(self.ctx)
        self.labels = LabelsAgent(self.ctx, num_partitions, self.predictions)
        self.telemetry = TelemetryAgent(self.ctx)
        self._wire(config)

    def _wire(self, config: MonitorConfig) -> None:
        app, topics, worker = self.app, self.ctx.topics, config.worker
        app.agent(topics.predictions, name="ingest", concurrency=1)(self.predictions.agent)
        app.agent(topics.partials, name="evaluate", concurrency=1)(self.partials.agent)
        app.agent(topics.labels, name="labels", concurrency=1)(self.labels.agent)
        app.agent(topics.node_telemetry, name="telemetry", concurrency=1)(self.telemetry.agent)
        if self.predictions.cohorts:
            app.timer(interval=worker.pending_sweep_s)(self.labels.sweep_pending)
        app.timer(interval=max(worker.idle_timeout_s / 2, 0.2))(self._idle_check)
        app.timer(interval=max(worker.idle_timeout_s / 2, 0.2))(self.partials.recheck_idle)
        silent_after = config.infrastructure.silent_after_s
        app.timer(interval=max(silent_after / 4, 0.2))(self.telemetry.silent_check)
        app.on_partitions_revoked.connect(self._on_revoked)
        if self.references is not None or self.silences is not None:
            app.timer(interval=BROADCAST_POLL_S)(self._poll_broadcasts)

    @property
    def models(self) -> dict[str, ModelSpec]:
        return self.ctx.models

    async def _idle_check(self) -> None:
        """Quiet partitions close their windows; deferred labels get another try."""
        await self.predictions.flush_idle()
        await self.labels.retry_deferred()

    async def _on_revoked(self, sender: Any, revoked: set[Any], **_: Any) -> None:
        self.predictions.on_revoked(revoked)
        self.telemetry.on_revoked(revoked)
        self.partials.on_revoked(revoked)

    def apply_references(self, published: Mapping[str, bytes | None]) -> None:
        """Switch models to newly published references (same bins only, see
        streams/windows/reference_updates.py); stage 2 compares the next windows with them."""
        models, metrics = self.ctx.models, self.ctx.metrics
        current = {m: spec.reference for m, spec in models.items()}
        for update in accept(published, current):
            if update.profile is None:
                log.error(
                    "published reference of %s refused: %s",
                    update.model_id,
                    update.reason,
                    extra={"model": update.model_id},
                )
                metrics.reference_updates.labels(update.model_id, "refused").inc()
                continue
            models[update.model_id] = ModelSpec(models[update.model_id].config, update.profile)
            self.partials.forget_reference(update.model_id)
            metrics.reference_updates.labels(update.model_id, "applied").inc()
            log.warning(
                "reference of %s switched to %s",
                update.model_id,
                update.profile.source,
                extra={"model": update.model_id},
            )

    async def _poll_broadcasts(self) -> None:
        if self.silences is not None:
            self.silences.poll()
        if self.references is not None:
            changes = self.references.poll()
            if changes:
                self.apply_references(changes)
