"""The labels agent: ``labels`` joined to their pending predictions (see
streams/labels/join.py); the performance partials it makes go to ``partials``.

Each batch saves the label state (its outbox of partials, the offset) with the
pending marks first, flushes the producer so that outbox is in the changelog, and
only then sends it: a crash in between resends the outbox, and stage 2 drops what it
merged already. Labels that came before their predictions are deferred and tried
again by the idle timer; a timer expires pending predictions past the label horizon.
Labels come one per message or in envelopes; an envelope label on another partition
than its prediction's is dead-lettered (docs/decisions/0004-envelopes.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from streams.codec import unpack_partial
from streams.labels.join import LabelJoin, LabelState, sweep
from streams.labels.pending import batch_key, index_writer
from streams.worker.context import Context, topic_name
from streams.worker.partition_scope import partition_scope
from streams.worker.predictions import PredictionsAgent, by_partition


class LabelsAgent:
    """Owns the per-partition label states; reads the pending table stage 1 writes."""

    def __init__(self, ctx: Context, num_partitions: int, predictions: PredictionsAgent) -> None:
        self.ctx = ctx
        self.predictions = predictions
        configs = {m: s.config for m, s in ctx.models.items()}
        worker = ctx.config.worker
        self.join = LabelJoin(
            configs, num_partitions, worker.max_event_bytes, worker.max_clock_skew_s
        )
        self.states: dict[int, LabelState] = {}
        self.lock = asyncio.Lock()  # the agent and the idle timer both join
        self.scope = topic_name(ctx.topics.predictions)  # co-partitioned with predictions

    async def agent(self, stream: faust.StreamT) -> None:
        worker = self.ctx.config.worker
        async for events in stream.take_events(worker.batch_size, within=worker.batch_within_s):
            for partition, batch in by_partition(events).items():
                await self.join_batch(partition, batch)

    async def join_batch(self, partition: int, batch: list[Any]) -> None:
        """Join a batch of one partition's labels: save the partials with the offset and
        the pending marks, then send them."""
        async with self.lock:
            state = await self._state(partition)
            tables = self.ctx.tables
            with partition_scope(self.scope, partition):
                result = self.join.process(
                    state,
                    [(e.message.offset, e.key, e.value) for e in batch],
                    tables.pending.get,
                    self.predictions.ingested_until(partition),
                )
                if result.writes:  # one changelog message for the batch's marks
                    # numbered in the state: a replay after a crash reuses the number of
                    # a frame whose marks it writes again
                    state.frames += 1
                    key = batch_key(partition, state.frames, "labels")
                    tables.pending.set_many(partition, result.writes, key, index_writer(partition))
                tables.stage1[f"labels-{partition}"] = state.serialize()
            for (model_id, outcome), n in result.counts.items():
                self.ctx.metrics.labels.labels(model_id, outcome).inc(n)
            source = topic_name(self.ctx.topics.labels)
            deliveries = [
                await self.ctx.send_output(d, partition, source) for d in result.deadletters
            ]
            await asyncio.gather(*deliveries)
            await self._send_outbox(state)

    async def _state(self, partition: int) -> LabelState:
        state = self.states.get(partition)
        if state is None:
            with partition_scope(self.scope, partition):
                raw = self.ctx.tables.stage1.get(f"labels-{partition}")
            state = LabelState.deserialize(raw) if raw else LabelState(partition)
            self.states[partition] = state
            await self._send_outbox(state)  # resend what a crash left unsent
        return state

    async def _send_outbox(self, state: LabelState) -> None:
        if not state.outbox:
            return
        await self.ctx.app.producer.flush()  # the outbox is in the changelog before it is sent
        sends = []
        for raw in state.outbox:
            model_id = unpack_partial(raw)["model_id"]
            sends.append(await self.ctx.topics.partials.send(key=model_id.encode(), value=raw))
        await asyncio.gather(*sends)
        state.outbox = []

    async def retry_deferred(self) -> None:
        """Labels deferred while their predictions were behind: tried again when no new
        label comes to carry them (the end of a burst)."""
        for partition, state in list(self.states.items()):
            if state.deferred:
                await self.join_batch(partition, [])

    async def sweep_pending(self) -> None:
        """Expire pending predictions past their model's label horizon, in event time
        (each partition's newest prediction): a scan of this worker's partitions."""
        horizons = {
            m: float(s.config.performance.label_horizon_s)
            for m, s in self.ctx.models.items()
            if m in self.predictions.cohorts
        }
        pending = self.ctx.tables.pending
        writes, expired = sweep(pending.items(), self.predictions.newest_event_ts(), horizons)
        for key, (partition, value) in writes.items():
            with partition_scope(self.scope, partition):
                if value is None:
                    pending.pop(key, None)
                else:
                    pending[key] = value
        for model_id, n in expired.items():
            self.ctx.metrics.pending_expired.labels(model_id).inc(n)
