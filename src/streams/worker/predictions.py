"""Stage 1's agent: ``predictions`` in batches, folded per partition (see
streams/windows/stage1.py); closed windows go to ``partials``.

A message is one event or an envelope of many (streams/events/envelope.py): an
envelope has one offset, so it is folded, saved and replayed whole, and its bad events
go to ``deadletter`` one by one, with their index.

Events are acknowledged only after the batch body ran, i.e. after the state holding
them was written to its table, and that write waits for the partials the state no
longer holds. The idle timer closes the windows of partitions that went quiet; a
lock keeps it out of the middle of a batch, where partials would depend on timing
and a replay could not reproduce them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Any

import faust
from faust.types import TP

from streams.json_logs import log_fields
from streams.labels.join import pending_record
from streams.labels.pending import batch_key, index_writer
from streams.sampling import Sampler, Tier
from streams.windows.stage1 import PartitionState, Stage1
from streams.worker.context import Context, save_after, topic_name
from streams.worker.partition_scope import partition_scope


def by_partition(events: list[Any]) -> dict[int, list[Any]]:
    """A batch's events per partition, in offset order."""
    out: dict[int, list[Any]] = {}
    for e in events:
        out.setdefault(e.message.partition, []).append(e)
    return out


class PredictionsAgent:
    """Owns the partition states of stage 1 and the pending predictions they create."""

    def __init__(self, ctx: Context, num_partitions: int) -> None:
        self.ctx = ctx
        worker = ctx.config.worker
        self.stage1 = Stage1(
            ctx.models, num_partitions, worker.max_event_bytes, worker.max_clock_skew_s
        )
        self.states: dict[int, PartitionState] = {}
        self.last_activity: dict[int, float] = {}
        self.lock = asyncio.Lock()
        self.topic = topic_name(ctx.topics.predictions)
        self.cohorts = {
            m: s.config.performance.cohorts
            for m, s in ctx.models.items()
            if s.config.performance.enabled
        }
        self.samplers = {m: Sampler.from_config(s.config.sampling) for m, s in ctx.models.items()}
        self.events = {m: ctx.metrics.events.labels(m) for m in ctx.models}
        self.latency = {m: ctx.metrics.latency.labels(m) for m in ctx.models}
        audit = ctx.audit
        self.versions = audit.versions if audit is not None else set()
        self.new_version = audit.model_version if audit is not None else self.versions_seen

    def versions_seen(self, model_id: str, version: str) -> None:
        self.versions.add((model_id, version))  # no audit log: only remembered

    async def agent(self, stream: faust.StreamT) -> None:
        worker = self.ctx.config.worker
        async for events in stream.take_events(worker.batch_size, within=worker.batch_within_s):
            async with self.lock:
                await self.wake_lagging()
                for partition, batch in by_partition(events).items():
                    with log_fields(partition=partition):
                        await self.ingest(partition, batch)

    def state(self, partition: int) -> PartitionState:
        state = self.states.get(partition)
        if state is None:
            with partition_scope(self.topic, partition):
                raw = self.ctx.tables.stage1.get(str(partition))
            state = PartitionState.deserialize(raw) if raw else PartitionState(partition)
            self.states[partition] = state
        return state

    def save(self, state: PartitionState) -> None:
        with partition_scope(self.topic, state.partition):
            self.ctx.tables.stage1[str(state.partition)] = state.serialize()

    async def ingest(self, partition: int, batch: list[Any]) -> None:
        """Fold one partition's share of a batch; pending predictions are written with it."""
        state = self.state(partition)
        deliveries = []
        pending = {}
        known: dict[str, tuple[str, float]] = {}  # each record's model and time: its index
        first = None  # the offset of the first message with a pending record
        counts: Counter[str] = Counter()
        for e in batch:
            accepted, outputs = self.stage1.process(state, e.message.offset, e.key, e.value)
            for event, ts in accepted:
                counts[event.model_id] += 1
                if (event.model_id, event.model_version) not in self.versions:
                    self.new_version(event.model_id, event.model_version)
                cohorts = self.cohorts.get(event.model_id)
                sampler = self.samplers[event.model_id]
                pid, segments = event.prediction_id, event.segments
                if cohorts is not None and sampler.keeps(Tier.labels, pid, segments):
                    p = sampler.probability(Tier.labels, segments)
                    pending[pid] = pending_record(event, cohorts, partition, ts, p)
                    known[event.prediction_id] = (event.model_id, ts)
                    first = e.message.offset if first is None else first
                if event.latency_ms is not None:
                    self.latency[event.model_id].observe(event.latency_ms / 1000)
            for out in outputs:
                deliveries.append(await self.ctx.send_output(out, partition))
        for model_id, n in counts.items():
            self.events[model_id].inc(n)
        for model_id, lead_s in self.stage1.future_lead_s.items():
            self.ctx.metrics.clock_skew.labels(model_id).set(lead_s)
        self.last_activity[partition] = time.monotonic()
        if pending:  # one changelog message for the batch's records
            # keyed by its first offset: only a replay (the state saved before it)
            # writes that key again, and it rewrites every record of the frame it
            # replaces, in it or in the frames after it
            key = batch_key(partition, first)
            with partition_scope(self.topic, partition):
                self.ctx.tables.pending.set_many(
                    partition, pending, key, index_writer(partition, known)
                )
        await save_after(deliveries, lambda: self.save(state))

    async def flush_idle(self) -> None:
        """Close the windows of partitions that went quiet, so the last windows of a
        stream (and partitions that never see events) do not hold stage 2 back."""
        async with self.lock:
            now = time.monotonic()
            timeout = self.ctx.config.worker.idle_timeout_s
            for partition in self.assigned():
                state = self.state(partition)
                quiet = now - self.last_activity.setdefault(partition, now) >= timeout
                if state.idle or not quiet or self.lagging(state):
                    continue
                await self._send_and_save(state, self.stage1.flush_idle(state))

    async def wake_lagging(self) -> None:
        """An idle partition with events waiting announces itself active before this
        batch is folded: otherwise a backlog on another partition could close windows
        this one still has events for, and stage 2 would evaluate them half-filled."""
        states = [self.state(p) for p in self.assigned()]
        for state in [s for s in states if s.idle and self.lagging(s)]:
            await self._send_and_save(state, self.stage1.wake(state))

    async def _send_and_save(self, state: PartitionState, outputs: list[Any]) -> None:
        deliveries = [await self.ctx.send_output(o, state.partition) for o in outputs]
        await save_after(deliveries, lambda: self.save(state))

    def assigned(self) -> list[int]:
        assignment = self.ctx.app.consumer.assignment()
        return sorted(tp.partition for tp in assignment if tp.topic == self.topic)

    def lagging(self, state: PartitionState) -> bool:
        """Events wait in Kafka for this partition (the consumer fetched its high water
        mark past what the state holds)."""
        highwater = self.ctx.app.consumer.highwater(TP(self.topic, state.partition))
        return highwater is not None and highwater > state.offset + 1

    def ingested_until(self, partition: int) -> float:
        """How far this partition's predictions are ingested, in event time (inf when the
        partition is idle: whatever comes later, its predictions are all in)."""
        state = self.states.get(partition)
        if state is None:
            return -math.inf
        return math.inf if state.idle else state.max_event_ts

    def newest_event_ts(self) -> dict[int, float]:
        """Each loaded partition's newest prediction time: the label horizon's clock."""
        return {p: s.max_event_ts for p, s in self.states.items()}

    def on_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            if tp.topic == self.topic:
                self.states.pop(tp.partition, None)
                self.last_activity.pop(tp.partition, None)
