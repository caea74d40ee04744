"""Stage 2's agent: ``partials`` in batches, merged per model (see
streams/windows/stage2.py), ready windows evaluated (streams/alerting/evaluate.py),
their alerts and records sent, each model's state saved once per batch.

Order of a window's sends: its alerts, delivered, then its record, so a consumer
that sees a window's result can rely on its alerts being there. The state is saved
after every delivery of the batch: as in stage 1, it never runs ahead of the output.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

import faust
from faust.types import TP

from streams.alerting.evaluate import evaluate_performance_windows, evaluate_window
from streams.codec import FormatError, unpack_partial
from streams.drift.online import OnlineDetectors, online_specs
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState, apply_message, idle_to_confirm, take_ready
from streams.worker.context import Context, save_after, topic_name
from streams.worker.partition_scope import partition_scope

log = logging.getLogger(__name__)


class PartialsAgent:
    """Owns the model states of stage 2 and each model's reference chooser."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.states: dict[str, ModelState] = {}
        self.partitions: dict[str, int] = {}  # each loaded model's partials partition
        self.choosers: dict[str, ReferenceChooser] = {}
        self.topic = topic_name(ctx.topics.partials)
        self.predictions_topic = topic_name(ctx.topics.predictions)
        self.lock = asyncio.Lock()  # the agent and the idle recheck both evaluate

    async def agent(self, stream: faust.StreamT) -> None:
        worker = self.ctx.config.worker
        async for events in stream.take_events(worker.batch_size, within=worker.batch_within_s):
            by_model: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for e in events:
                try:
                    body = unpack_partial(e.value)
                except FormatError as error:
                    where = {"partition": e.message.partition}
                    log.error(
                        "partial at offset %s refused: %s", e.message.offset, error, extra=where
                    )
                    self.ctx.metrics.refused_partials.inc()
                    continue
                if body.get("model_id") in self.ctx.models:  # else: removed from the config
                    by_model.setdefault((body["model_id"], e.message.partition), []).append(body)
            async with self.lock:
                for (model_id, partition), bodies in by_model.items():
                    await self.evaluate_model(model_id, partition, bodies)

    async def recheck_idle(self) -> None:
        """Windows held back only by idle partitions whose end offsets could not be read,
        or had unread messages: looked at again, as no partial may come to retry them
        (at the end of a stream every partition is idle)."""
        async with self.lock:
            for model_id, state in list(self.states.items()):
                spec = self.ctx.models.get(model_id)
                if spec is not None and idle_to_confirm(state, spec.config.window_s):
                    await self.evaluate_model(model_id, self.partitions[model_id], [])

    async def evaluate_model(
        self, model_id: str, partition: int, bodies: list[dict[str, Any]]
    ) -> None:
        """Merge a batch of one model's partials, evaluate what is ready, save once."""
        spec = self.ctx.models[model_id]
        state = self._state(model_id, partition)
        duplicates = state.duplicates
        for body in bodies:
            if body["kind"] == "labels":
                state.perf.apply(body, spec.config.performance)
            else:
                apply_message(state, body)
        if state.duplicates > duplicates:
            counter = self.ctx.metrics.duplicate_partials.labels(model_id)
            counter.inc(state.duplicates - duplicates)
        deliveries = []
        unread = await self._unread_idle(state, spec.config.window_s)
        for ready in take_ready(state, spec.config.window_s, unread):
            chooser = self._chooser(spec, partition)
            decision = evaluate_window(spec, state, ready, chooser, time.time())
            state.pending.update(decision.writes)
            window = ready.aggregate
            end = window.window_start + spec.config.window_s
            self.ctx.metrics.observe_window(model_id, window.count, end, decision.report.features)
            self.ctx.metrics.observe_shadows(model_id, window.shadow_summary())
            self.ctx.metrics.observe_flaps(model_id, decision.flaps)
            await self.ctx.deliver_alerts(decision.alerts)
            deliveries.append(await self.ctx.send_record(model_id, decision.record))
        deliveries += await self._publish_performance(spec, state)
        await save_after(deliveries, lambda: self._save(state, partition))

    async def _unread_idle(self, state: ModelState, window_s: int) -> frozenset[int]:
        """The idle partitions that would close a window but have messages after the
        offset they went idle at: their stage 1 has yet to fold them (and wake)."""
        idle = idle_to_confirm(state, window_s)
        if not idle:
            return frozenset()
        tps = {p: TP(self.predictions_topic, p) for p in idle}
        try:
            ends = await self.ctx.app.consumer.highwaters(*tps.values())
        except Exception as error:  # the broker: the windows wait for the recheck
            log.warning("end offsets of idle partitions not read (%s); windows wait", error)
            return frozenset(idle)
        return frozenset(p for p, offset in idle.items() if ends.get(tps[p], 0) > offset + 1)

    async def _publish_performance(self, spec: ModelSpec, state: ModelState) -> list[Awaitable]:
        """The performance windows labels reached: alerts delivered, then each record."""
        deliveries = []
        for decision in evaluate_performance_windows(spec, state, time.time()):
            self.ctx.metrics.observe_flaps(spec.config.id, decision.flaps)
            await self.ctx.deliver_alerts(decision.alerts)
            if decision.record is not None:
                self.ctx.metrics.observe_performance(spec.config.id, decision.record)
                deliveries.append(await self.ctx.send_record(spec.config.id, decision.record))
        return deliveries

    def _state(self, model_id: str, partition: int) -> ModelState:
        state = self.states.get(model_id)
        if state is None:
            table = self.ctx.tables.stage2
            config = self.ctx.models[model_id].config
            history, specs = config.drift.online.history, online_specs(config)
            with partition_scope(self.topic, partition):
                raw = table.get(model_id)
                state = (
                    ModelState.deserialize(raw, table.get, history, specs)
                    if raw
                    else ModelState(model_id, online=OnlineDetectors(specs, history=history))
                )
            self.states[model_id] = state
            self.partitions[model_id] = partition
        return state

    def _save(self, state: ModelState, partition: int) -> None:
        table = self.ctx.tables.stage2
        with partition_scope(self.topic, partition):
            for key, value in state.window_entries().items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value
            table[state.model_id] = state.serialize()

    def _chooser(self, spec: ModelSpec, partition: int) -> ReferenceChooser:
        """The model's reference chooser; seasonal slots are read in this partition."""
        chooser = self.choosers.get(spec.config.id)
        if chooser is None:

            def read(key: str) -> bytes | None:
                with partition_scope(self.topic, partition):
                    return self.ctx.tables.stage2.get(key)

            config = spec.config
            chooser = self.choosers[config.id] = ReferenceChooser(
                config.id,
                spec.reference.features,
                config.drift.reference,
                config.window_s,
                read,
                keep_seasons=config.alerting.correlation.seasonal,
            )
        return chooser

    def forget_reference(self, model_id: str) -> None:
        """A new reference applies from the next window: the chooser is rebuilt for it."""
        self.choosers.pop(model_id, None)

    def on_revoked(self, revoked: set[TP]) -> None:
        if any(tp.topic == self.topic for tp in revoked):
            self.states.clear()  # reloaded from the table when next needed
            self.choosers.clear()
