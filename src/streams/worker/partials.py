"""Stage 2's agent: ``partials`` in batches, merged per model (see
streams/windows/stage2.py), ready windows evaluated (streams/alerting/evaluate.py),
their alerts and records sent, each model's state saved once per batch.

Order of a window's sends: its alerts, delivered, then its record, so a consumer
that sees a window's result can rely on its alerts being there. The state is saved
after every delivery of the batch: as in stage 1, it never runs ahead of the output.
"""

from __future__ import annotations

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
from streams.windows.stage2 import ModelState, apply_message, take_ready
from streams.worker.context import Context, save_after, topic_name
from streams.worker.partition_scope import partition_scope

log = logging.getLogger(__name__)


class PartialsAgent:
    """Owns the model states of stage 2 and each model's reference chooser."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.states: dict[str, ModelState] = {}
        self.choosers: dict[str, ReferenceChooser] = {}
        self.topic = topic_name(ctx.topics.partials)

    async def agent(self, stream: faust.StreamT) -> None:
        worker = self.ctx.config.worker
        async for events in stream.take_events(worker.batch_size, within=worker.batch_within_s):
            by_model: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for e in events:
                try:
                    body = unpack_partial(e.value)
                except FormatError as error:
                    log.error("partial at offset %s refused: %s", e.message.offset, error)
                    self.ctx.metrics.refused_partials.inc()
                    continue
                if body.get("model_id") in self.ctx.models:  # else: removed from the config
                    by_model.setdefault((body["model_id"], e.message.partition), []).append(body)
            for (model_id, partition), bodies in by_model.items():
                await self.evaluate_model(model_id, partition, bodies)

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
        for ready in take_ready(state, spec.config.window_s):
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
