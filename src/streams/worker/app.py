"""The Faust app: thin agents that feed Kafka messages to stage 1 and stage 2.

Stage 1 reads ``predictions`` in batches (``take_events``: events are acknowledged
only after the batch body ran, i.e. after the state holding them was written to its
table). Stage 2 reads ``partials`` in batches too and writes each model's state once
per batch; a node-telemetry agent keeps one state per node.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.streams import _current_event  # the partition context Faust tables write in
from faust.types import TP

from streams.alerting.infra import NodeState, newly_silent, observe
from streams.alerting.lifecycle import Signal, step
from streams.alerting.signals import (
    correlate,
    feature_signals,
    infra_alert,
    online_signals,
    slo_signals,
    transition_alert,
)
from streams.alerting.silences import active_silence
from streams.alerting.slo import breached, latency_summary
from streams.codec import FormatError, unpack_partial
from streams.config.models import DriftConfig, ModelConfig, MonitorConfig
from streams.drift.engine import compare
from streams.drift.online import OnlineDetectors
from streams.events.decode import Rejection, deadletter_record, decode_event
from streams.events.models import AlertEvent, TelemetryEvent
from streams.kafka.broadcast import BroadcastReader
from streams.labels.join import LabelJoin, LabelState, pending_record, sweep
from streams.labels.performance_windows import evaluate as evaluate_performance
from streams.labels.performance_windows import orphan_signals
from streams.labels.proxy import proxy_metrics, score_baseline
from streams.windows.aggregate import WindowAggregate
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.reference_updates import accept
from streams.windows.report import WindowReport, evaluate_window, result_record, window_summaries
from streams.windows.stage1 import DeadLetter, ModelSpec, Output, PartitionState, Stage1
from streams.windows.stage2 import ModelState, Ready, apply_message, take_ready
from streams.worker.metrics import PipelineMetrics

log = logging.getLogger(__name__)
#: Seconds between looks at the references and silences topics.
BROADCAST_POLL_S = 5.0
TABLES = ("stage1-state", "stage2-state", "infra-state", "pending")
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


@dataclass
class _Message:
    topic: str
    partition: int


class _PartitionScope:
    """Stands in for "the current event" so a table write lands in a chosen partition:
    Faust picks the changelog partition and the RocksDB shard from the current event,
    and a batch (or the idle timer) has no single current event."""

    def __init__(self, topic: str, partition: int) -> None:
        self.message = _Message(topic, partition)


@contextmanager
def partition_scope(topic: str, partition: int) -> Iterator[None]:
    scope = _PartitionScope(topic, partition)
    token = _current_event.set(weakref.ref(scope))  # type: ignore[arg-type]
    try:
        yield
    finally:
        _current_event.reset(token)


class Pipeline:
    """Builds the app, its topics, tables, agents and timer from the monitor config."""

    def __init__(
        self,
        config: MonitorConfig,
        models: Mapping[str, ModelSpec],
        num_partitions: int,
        metrics: PipelineMetrics,
        on_alert: Callable[[AlertEvent], None] | None = None,
        references: BroadcastReader | None = None,
        silences: BroadcastReader | None = None,
    ) -> None:
        self.config = config
        self.references = references
        self.silences = silences
        self.models = dict(models)
        self.metrics = metrics
        self.on_alert = on_alert
        worker = config.worker
        topics = config.kafka.topics
        self.app = faust.App(
            worker.app_id,
            broker=f"kafka://{config.kafka.bootstrap}",
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
        )
        self.predictions = self.app.topic(topics.predictions, partitions=num_partitions, **RAW)
        self.partials = self.app.topic(topics.partials, partitions=num_partitions, **RAW)
        self.results = self.app.topic(topics.results, **RAW)
        self.alerts = self.app.topic(topics.alerts, **RAW)
        self.deadletter = self.app.topic(topics.deadletter, **RAW)
        # value_type=bytes makes Faust store and log the values raw
        table = {"key_type": str, "value_type": bytes, "partitions": num_partitions}
        rocksdb = worker.store.startswith("rocksdb")
        self.stage1_table, self.stage2_table, self.infra_table, self.pending_table = (
            # the pending table holds predictions waiting for their label, by prediction
            # id: co-partitioned with predictions and labels, on disk, not in memory
            self.app.Table(name, options=worker.rocksdb.options() if rocksdb else None, **table)
            for name in TABLES
        )
        self.labels = self.app.topic(topics.labels, partitions=num_partitions, **RAW)
        self.label_join = LabelJoin(
            {m: s.config for m, s in self.models.items()}, num_partitions, worker.max_event_bytes
        )
        self._label_states: dict[int, LabelState] = {}
        self._labels_lock = asyncio.Lock()
        self._cohorts = {
            m: s.config.performance.cohorts
            for m, s in self.models.items()
            if s.config.performance.enabled
        }
        self.node_telemetry = self.app.topic(
            topics.node_telemetry, partitions=num_partitions, **RAW
        )
        self._nodes: dict[str, NodeState] = {}
        self.stage1 = Stage1(self.models, num_partitions, worker.max_event_bytes)
        self._states: dict[int, PartitionState] = {}
        self._last_activity: dict[int, float] = {}
        # the idle timer must not close windows in the middle of a batch: partials
        # would then depend on timing, and a replay could not reproduce them
        self._stage1_lock = asyncio.Lock()
        self._model_states: dict[str, ModelState] = {}
        self._choosers: dict[str, ReferenceChooser] = {}
        self._events_counter = {m: metrics.events.labels(m) for m in self.models}
        for model_id, spec in self.models.items():
            metrics.window_duration.labels(model_id).set(spec.config.window_s)
        self._latency_histogram = {m: metrics.latency.labels(m) for m in self.models}

        self.app.agent(self.predictions, name="ingest", concurrency=1)(self._ingest_agent())
        self.app.agent(self.partials, name="evaluate", concurrency=1)(self._evaluate_agent())
        self.app.agent(self.labels, name="labels", concurrency=1)(self._labels_agent())
        if self._cohorts:
            self.app.timer(interval=worker.pending_sweep_s)(self._sweep_pending)
        self.app.timer(interval=max(worker.idle_timeout_s / 2, 0.2))(self._idle_check)
        self.app.agent(self.node_telemetry, name="telemetry", concurrency=1)(
            self._telemetry_agent()
        )
        silent_after = config.infrastructure.silent_after_s
        self.app.timer(interval=max(silent_after / 4, 0.2))(self._silent_check)
        self.app.on_partitions_revoked.connect(self._on_revoked)
        if references is not None or silences is not None:
            self.app.timer(interval=BROADCAST_POLL_S)(self._poll_broadcasts)

    # -- references ------------------------------------------------------------
    def apply_references(self, published: Mapping[str, bytes | None]) -> None:
        """Switch models to newly published references (same bins only, see
        streams/windows/reference_updates.py); stage 2 compares the next windows with them."""
        current = {m: spec.reference for m, spec in self.models.items()}
        for update in accept(published, current):
            if update.profile is None:
                log.error("published reference of %s refused: %s", update.model_id, update.reason)
                self.metrics.reference_updates.labels(update.model_id, "refused").inc()
                continue
            spec = self.models[update.model_id]
            self.models[update.model_id] = ModelSpec(spec.config, update.profile)
            self._choosers.pop(update.model_id, None)
            self.metrics.reference_updates.labels(update.model_id, "applied").inc()
            log.warning("reference of %s switched to %s", update.model_id, update.profile.source)

    async def _poll_broadcasts(self) -> None:
        if self.silences is not None:
            self.silences.poll()
        if self.references is not None:
            changes = self.references.poll()
            if changes:
                self.apply_references(changes)

    # -- stage 1 ---------------------------------------------------------------
    def _state(self, partition: int) -> PartitionState:
        state = self._states.get(partition)
        if state is None:
            with partition_scope(self.predictions.get_topic_name(), partition):
                raw = self.stage1_table.get(str(partition))
            state = PartitionState.deserialize(raw) if raw else PartitionState(partition)
            self._states[partition] = state
        return state

    def _save(self, state: PartitionState) -> None:
        with partition_scope(self.predictions.get_topic_name(), state.partition):
            self.stage1_table[str(state.partition)] = state.serialize()

    def _ingest_agent(self) -> Callable[[Any], Any]:
        batch_size = self.config.worker.batch_size
        within = self.config.worker.batch_within_s

        async def ingest(stream: faust.StreamT) -> None:
            async for events in stream.take_events(batch_size, within=within):
                by_partition: dict[int, list[Any]] = {}
                for e in events:
                    by_partition.setdefault(e.message.partition, []).append(e)
                async with self._stage1_lock:
                    await self._wake_lagging()
                    for partition, batch in by_partition.items():
                        await self._ingest_partition(partition, batch)

        return ingest

    async def _ingest_partition(self, partition: int, batch: list[Any]) -> None:
        state = self._state(partition)
        counters = self._events_counter
        latencies = self._latency_histogram
        deliveries = []
        pending = {}
        for e in batch:
            event, outputs = self.stage1.process(state, e.message.offset, e.key, e.value)
            if event is not None:
                counters[event.model_id].inc()
                cohorts = self._cohorts.get(event.model_id)
                if cohorts is not None:
                    pending[event.prediction_id] = pending_record(event, cohorts, partition)
                if event.latency_ms is not None:
                    latencies[event.model_id].observe(event.latency_ms / 1000)
            for out in outputs:
                deliveries.append(await self._send(out, partition))
        self._last_activity[partition] = time.monotonic()
        if pending:
            with partition_scope(self.predictions.get_topic_name(), partition):
                for prediction_id, record in pending.items():
                    self.pending_table[prediction_id] = record
        await self._save_after(deliveries, state)

    async def _save_after(self, deliveries: list[Awaitable[Any]], state: PartitionState) -> None:
        """Save the state only once what it no longer holds is on the broker: the local
        RocksDB write is immediate, and after a kill -9 it must not run ahead of them."""
        await asyncio.gather(*deliveries)
        self._save(state)

    async def _send(self, out: Output, partition: int, source: str | None = None) -> Awaitable[Any]:
        """Hand one output to the producer; returns its delivery future. ``source``: the
        topic a dead letter came from (default: predictions)."""
        if isinstance(out, DeadLetter):
            self.metrics.deadletter.labels(out.rejection.reason).inc()
            return await self.deadletter.send(
                key=out.key,
                value=deadletter_record(
                    out.rejection,
                    out.raw,
                    topic=source or self.predictions.get_topic_name(),
                    partition=partition,
                    offset=out.offset,
                    max_bytes=self.config.worker.deadletter_max_bytes,
                ),
            )
        aggregate = out.body.get("aggregate")
        if aggregate and aggregate["late"]:
            self.metrics.late_events.labels(out.model_id).inc(aggregate["late"])
        return await self.partials.send(key=out.model_id.encode(), value=out.serialize())

    async def _idle_check(self) -> None:
        """Close the windows of partitions that went quiet, so the last windows of a
        stream (and partitions that never see events) do not hold stage 2 back."""
        async with self._stage1_lock:
            await self._flush_idle_partitions()
        await self._retry_deferred_labels()

    async def _flush_idle_partitions(self) -> None:
        now = time.monotonic()
        timeout = self.config.worker.idle_timeout_s
        for partition in self._assigned():
            state = self._state(partition)
            quiet = now - self._last_activity.setdefault(partition, now) >= timeout
            if state.idle or not quiet or self._lagging(state):
                continue
            outputs = self.stage1.flush_idle(state)
            await self._save_after([await self._send(o, partition) for o in outputs], state)

    def _assigned(self) -> list[int]:
        topic = self.predictions.get_topic_name()
        return sorted(tp.partition for tp in self.app.consumer.assignment() if tp.topic == topic)

    def _lagging(self, state: PartitionState) -> bool:
        """Events wait in Kafka for this partition (the consumer fetched its high water
        mark past what the state holds)."""
        tp = TP(self.predictions.get_topic_name(), state.partition)
        highwater = self.app.consumer.highwater(tp)
        return highwater is not None and highwater > state.offset + 1

    async def _wake_lagging(self) -> None:
        """An idle partition with events waiting announces itself active before this
        batch is folded: otherwise a backlog on another partition could close windows
        this one still has events for, and stage 2 would evaluate them half-filled."""
        states = [self._state(p) for p in self._assigned()]
        for state in [s for s in states if s.idle and self._lagging(s)]:
            outputs = self.stage1.wake(state)
            await self._save_after([await self._send(o, state.partition) for o in outputs], state)

    async def _on_revoked(self, sender: Any, revoked: set[Any], **_: Any) -> None:
        topic = self.predictions.get_topic_name()
        for tp in revoked:
            if tp.topic == topic:
                self._states.pop(tp.partition, None)
                self._last_activity.pop(tp.partition, None)
            if tp.topic == self.node_telemetry.get_topic_name():
                self._nodes = {
                    n: st for n, st in self._nodes.items() if st.partition != tp.partition
                }
            if tp.topic == self.partials.get_topic_name():
                self._model_states.clear()  # reloaded from the table when next needed
                self._choosers.clear()

    # -- labels ----------------------------------------------------------------
    def _labels_agent(self) -> Callable[[Any], Any]:
        batch_size = self.config.worker.batch_size
        within = self.config.worker.batch_within_s

        async def labels(stream: faust.StreamT) -> None:
            async for events in stream.take_events(batch_size, within=within):
                by_partition: dict[int, list[Any]] = {}
                for e in events:
                    by_partition.setdefault(e.message.partition, []).append(e)
                for partition, batch in by_partition.items():
                    await self._join_labels(partition, batch)

        return labels

    async def _join_labels(self, partition: int, batch: list[Any]) -> None:
        """Join a batch of one partition's labels (see streams/labels/join.py): save
        the partials with the offset and the pending marks, then send them."""
        async with self._labels_lock:  # the agent and the idle timer both come here
            await self._join_labels_locked(partition, batch)

    async def _join_labels_locked(self, partition: int, batch: list[Any]) -> None:
        scope = self.predictions.get_topic_name()
        state = self._label_states.get(partition)
        if state is None:
            with partition_scope(scope, partition):
                raw = self.stage1_table.get(f"labels-{partition}")
            state = LabelState.deserialize(raw) if raw else LabelState(partition)
            self._label_states[partition] = state
            await self._send_label_partials(state)  # resend what a crash left unsent
        with partition_scope(scope, partition):
            result = self.label_join.process(
                state,
                [(e.message.offset, e.key, e.value) for e in batch],
                self.pending_table.get,
                self._predictions_ts(partition),
            )
            for prediction_id, record in result.writes.items():
                self.pending_table[prediction_id] = record
            self.stage1_table[f"labels-{partition}"] = state.serialize()
        for (model_id, outcome), n in result.counts.items():
            self.metrics.labels.labels(model_id, outcome).inc(n)
        deliveries = [
            await self._send(d, partition, self.labels.get_topic_name()) for d in result.deadletters
        ]
        await asyncio.gather(*deliveries)
        await self._send_label_partials(state)

    def _predictions_ts(self, partition: int) -> float:
        """How far this partition's predictions are ingested, in event time (inf when the
        partition is idle: whatever comes later, its predictions are all in)."""
        state = self._states.get(partition)
        if state is None:
            return -math.inf
        return math.inf if state.idle else state.max_event_ts

    async def _retry_deferred_labels(self) -> None:
        """Labels deferred while their predictions were behind: tried again when no new
        label comes to carry them (the end of a burst)."""
        for partition, state in list(self._label_states.items()):
            if state.deferred:
                await self._join_labels(partition, [])

    async def _sweep_pending(self) -> None:
        """Expire pending predictions past their model's label horizon, in event time
        (each partition's newest prediction): a scan of this worker's partitions."""
        now = {p: s.max_event_ts for p, s in self._states.items()}
        horizons = {
            m: float(s.config.performance.label_horizon_s)
            for m, s in self.models.items()
            if m in self._cohorts
        }
        writes, expired = sweep(self.pending_table.items(), now, horizons)
        for key, (partition, value) in writes.items():
            with partition_scope(self.predictions.get_topic_name(), partition):
                if value is None:
                    self.pending_table.pop(key, None)
                else:
                    self.pending_table[key] = value
        for model_id, n in expired.items():
            self.metrics.pending_expired.labels(model_id).inc(n)

    async def _send_label_partials(self, state: LabelState) -> None:
        if not state.outbox:
            return
        await self.app.producer.flush()  # the outbox is in the changelog before it is sent
        sends = []
        for raw in state.outbox:
            model_id = unpack_partial(raw)["model_id"]
            sends.append(await self.partials.send(key=model_id.encode(), value=raw))
        await asyncio.gather(*sends)
        state.outbox = []

    async def _send_performance_alerts(
        self, config: ModelConfig, state: ModelState, signals: list[Signal], start: int
    ) -> None:
        """Step the performance incidents (apart from the per-window ones) and send."""
        rules = config.alerting
        transitions = step(
            state.perf_incidents,
            signals,
            start,
            rules.fire_after_windows,
            rules.resolve_after_windows,
        )
        end = start + config.performance.window_s
        alerts = [transition_alert(config.id, t, start, end) for t in transitions]
        await asyncio.gather(*await self._send_alerts(alerts))

    async def _publish_performance(self, spec: ModelSpec, state: ModelState) -> list[Any]:
        """Re-evaluate the performance windows labels reached; their records and the
        cohorts' performance alerts (deliveries returned)."""
        config = spec.config
        deliveries = []
        orphans = orphan_signals(state.perf, config.performance)
        if orphans and not state.perf.dirty:  # only orphans came: nothing to re-evaluate
            now = max(state.perf.windows, default=0)
            await self._send_performance_alerts(config, state, orphans, now)
        for start in sorted(state.perf.dirty):
            body, signals = evaluate_performance(state.perf, start, config.performance)
            signals += orphans
            await self._send_performance_alerts(config, state, signals, start)
            record = {"model_id": config.id, "evaluated_at": time.time(), **body}
            self.metrics.observe_performance(config.id, body)
            deliveries.append(
                await self.results.send(key=config.id.encode(), value=orjson.dumps(record))
            )
        state.perf.dirty.clear()
        return deliveries

    # -- stage 2 ---------------------------------------------------------------
    def _evaluate_agent(self) -> Callable[[Any], Any]:
        batch_size = self.config.worker.batch_size
        within = self.config.worker.batch_within_s

        async def evaluate(stream: faust.StreamT) -> None:
            async for events in stream.take_events(batch_size, within=within):
                by_model: dict[tuple[str, int], list[dict[str, Any]]] = {}
                for e in events:
                    try:
                        body = unpack_partial(e.value)
                    except FormatError as error:
                        log.error("partial at offset %s refused: %s", e.message.offset, error)
                        self.metrics.refused_partials.inc()
                        continue
                    if body.get("model_id") in self.models:  # else: removed from the config
                        key = (body["model_id"], e.message.partition)
                        by_model.setdefault(key, []).append(body)
                for (model_id, partition), bodies in by_model.items():
                    await self._evaluate_model(model_id, partition, bodies)

        return evaluate

    def _model_state(self, model_id: str, partition: int) -> ModelState:
        state = self._model_states.get(model_id)
        if state is None:
            with partition_scope(self.partials.get_topic_name(), partition):
                raw = self.stage2_table.get(model_id)
                history = self.models[model_id].config.drift.online.history
                state = (
                    ModelState.deserialize(raw, self.stage2_table.get, history)
                    if raw
                    else ModelState(model_id, online=OnlineDetectors(history=history))
                )
            self._model_states[model_id] = state
        return state

    async def _evaluate_model(
        self, model_id: str, partition: int, bodies: list[dict[str, Any]]
    ) -> None:
        """Merge a batch of one model's partials, evaluate what is ready, save once."""
        spec = self.models[model_id]
        state = self._model_state(model_id, partition)
        duplicates = state.duplicates
        for body in bodies:
            if body["kind"] == "labels":
                state.perf.apply(body, spec.config.performance)
            else:
                apply_message(state, body)
        if state.duplicates > duplicates:
            self.metrics.duplicate_partials.labels(model_id).inc(state.duplicates - duplicates)
        deliveries = []
        for ready in take_ready(state, spec.config.window_s):
            deliveries.append(await self._publish(spec, state, ready, partition))
        if spec.config.performance.enabled and (
            state.perf.dirty or orphan_signals(state.perf, spec.config.performance)
        ):
            deliveries += await self._publish_performance(spec, state)
        await asyncio.gather(*deliveries)  # as in stage 1: state never runs ahead of output
        with partition_scope(self.partials.get_topic_name(), partition):
            for key, value in state.window_entries().items():
                if value is None:
                    self.stage2_table.pop(key, None)
                else:
                    self.stage2_table[key] = value
            self.stage2_table[model_id] = state.serialize()

    @staticmethod
    def _seasonal(
        chooser: ReferenceChooser, window: WindowAggregate, report: WindowReport, drift: DriftConfig
    ) -> set[str]:
        """Drifted features that the same hour of last week shows too (when kept)."""
        drifted = [f.name for f in report.features if f.drift and f.drift.drifted]
        if not (chooser.keep_seasons and chooser.mode.kind != "seasonal" and drifted):
            return set()
        slot = chooser.last_week(window.window_start)
        names = [n for n in drifted if n in slot]
        if not names:
            return set()
        again = compare({n: slot[n] for n in names}, {n: window.features[n] for n in names}, drift)
        return {f.name for f in again.features if not f.drifted}

    def _reference_chooser(self, spec: ModelSpec, partition: int) -> ReferenceChooser:
        chooser = self._choosers.get(spec.config.id)
        if chooser is None:
            topic = self.partials.get_topic_name()

            def read(key: str) -> bytes | None:
                with partition_scope(topic, partition):
                    return self.stage2_table.get(key)

            config = spec.config
            chooser = self._choosers[config.id] = ReferenceChooser(
                config.id,
                spec.reference.features,
                config.drift.reference,
                config.window_s,
                read,
                keep_seasons=config.alerting.correlation.seasonal,
            )
        return chooser

    async def _publish(
        self, spec: ModelSpec, state: ModelState, ready: Ready, partition: int
    ) -> Awaitable[Any]:
        """Alerts first, delivered, then the result: a consumer that sees a window's
        result can rely on its alerts being there. Returns the result's delivery."""
        config, window, revision = spec.config, ready.aggregate, ready.revision
        chooser = self._reference_chooser(spec, partition)
        earlier = {s: a for s, (_, a) in state.evaluated.items() if s < window.window_start}
        reference, reference_kind = chooser.choose(
            window.window_start, {s: a.features for s, a in earlier.items()}
        )
        report = evaluate_window(window, reference, config, baseline=spec.reference.features)
        rules = config.alerting.correlation
        clear = [s for s in sorted(earlier) if s not in state.flagged]
        recent = [earlier[s] for s in clear[-rules.baseline_windows :]]
        proxy = proxy_metrics(window, score_baseline(recent))
        features = report.features
        if any(f.breaches for f in features):
            state.flagged.add(window.window_start)
        else:
            state.flagged.discard(window.window_start)
        end = window.window_start + config.window_s
        self.metrics.observe_window(config.id, window.count, end, features)
        self.metrics.observe_shadows(config.id, window.shadow_summary())
        state.record_latency(window, config.window_s)
        latency = latency_summary(window, state.latency_history, end, config.latency_slo)
        alerts = []
        if revision == 0:  # a revision updates the record; the lifecycle saw the first
            state.pending.update(chooser.observe(window.window_start, window.features))
            perf_window = config.performance.window_s
            perf_start = window.window_start // perf_window * perf_window
            state.perf.add_predictions(perf_start, window.count, window.scores)
            state.perf.prune(window.window_start, config.performance)
            signals = feature_signals(features)
            if config.drift.online.enabled:
                summaries = window_summaries(report, window, reference)
                seen = {(s.category, s.subject) for s in signals}
                online = online_signals(state.feed_online(window.window_start, summaries))
                # a subject's own test leads; a detector only adds subjects it found alone
                signals += [s for s in online if (s.category, s.subject) not in seen]
            seasonal = self._seasonal(chooser, window, report, config.drift)
            signals = correlate(signals, proxy, rules, seasonal)
            if config.latency_slo:
                signals += slo_signals(breached(state.latency_history, end, config.latency_slo))
            rules = config.alerting
            transitions = step(
                state.incidents,
                signals,
                window.window_start,
                rules.fire_after_windows,
                rules.resolve_after_windows,
            )
            alerts = [transition_alert(config.id, t, window.window_start, end) for t in transitions]
        await asyncio.gather(*await self._send_alerts(alerts))
        record = result_record(window, config, revision, report, time.time(), latency)
        record["reference"] = reference_kind
        record["proxy"] = proxy
        record["reference_source"] = spec.reference.source
        return await self.results.send(key=config.id.encode(), value=orjson.dumps(record))

    async def _send_alerts(self, alerts: list[AlertEvent]) -> list[Awaitable[Any]]:
        """Produce, count and (optionally) print alerts; returns their deliveries."""
        deliveries = []
        now = datetime.now(UTC)
        for alert in alerts:
            silence = active_silence(self.silences.values, alert, now) if self.silences else None
            if silence is not None:
                alert = alert.model_copy(update={"silenced": silence})
            deliveries.append(
                await self.alerts.send(key=alert.dedup_key.encode(), value=alert.to_json())
            )
            self.metrics.alerts.labels(
                alert.model_id or "", alert.category.value, alert.severity.value
            ).inc()
            if self.on_alert:
                self.on_alert(alert)
        return deliveries

    # -- infrastructure --------------------------------------------------------
    def _telemetry_agent(self) -> Callable[[Any], Any]:
        async def telemetry(stream: faust.StreamT) -> None:
            async for e in stream.events():
                await self._observe_telemetry(e.message.partition, e.message.offset, e.key, e.value)

        return telemetry

    def _node_state(self, node_id: str, partition: int) -> NodeState:
        state = self._nodes.get(node_id)
        if state is None:
            raw = self.infra_table.get(node_id)
            state = NodeState.deserialize(raw) if raw else NodeState(node_id, partition)
            self._nodes[node_id] = state
        return state

    async def _observe_telemetry(
        self, partition: int, offset: int, key: bytes | None, raw: bytes | None
    ) -> None:
        event = decode_event(raw, TelemetryEvent, self.config.worker.max_event_bytes)
        if isinstance(event, Rejection):
            await self._send(
                DeadLetter(key, raw, event, offset), partition, self.node_telemetry.get_topic_name()
            )
            return
        state = self._node_state(event.node_id, partition)
        now = time.time()
        findings = observe(state, event, now, self.config.infrastructure)
        sample_ts = event.timestamp.timestamp()
        alerts = [infra_alert(f, sample_ts, now) for f in findings]
        await asyncio.gather(*await self._send_alerts(alerts))
        self.infra_table[event.node_id] = state.serialize()

    async def _silent_check(self) -> None:
        """Nodes that stopped reporting: alert once, until they report again."""
        now = time.time()
        # nodes of this worker's partitions not seen since it started (or took them over)
        # are in the table only: a node that died meanwhile must still be found silent
        for node_id, raw in self.infra_table.items():  # active partitions only
            if node_id not in self._nodes:
                self._nodes[node_id] = NodeState.deserialize(raw)
        states = list(self._nodes.values())
        for finding in newly_silent(states, now, self.config.infrastructure):
            state = self._nodes[finding.subject]
            alert = infra_alert(finding, state.last_sample_ts, now)
            await asyncio.gather(*await self._send_alerts([alert]))
            with partition_scope(self.node_telemetry.get_topic_name(), state.partition):
                self.infra_table[state.node_id] = state.serialize()
