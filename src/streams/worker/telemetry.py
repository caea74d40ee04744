"""The node-telemetry agent: one state per node in the ``infra-state`` table (see
streams/alerting/infra.py); GPU conditions alert when they start, and a timer alerts
once for a node that stopped reporting, until it reports again.

Bad messages are dead-lettered like predictions. Each alert is delivered before the
node state that no longer expects it is saved.
"""

from __future__ import annotations

import time

import faust
from faust.types import TP

from streams.alerting.evaluate import silent_node_alerts, telemetry_alerts
from streams.alerting.infra import NodeState
from streams.events.decode import Rejection, decode_event
from streams.events.models import TelemetryEvent
from streams.windows.stage1 import DeadLetter
from streams.worker.context import Context, topic_name
from streams.worker.partition_scope import partition_scope


class TelemetryAgent:
    """Owns the node states of this worker's ``node-telemetry`` partitions."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.nodes: dict[str, NodeState] = {}
        self.topic = topic_name(ctx.topics.node_telemetry)

    async def agent(self, stream: faust.StreamT) -> None:
        async for e in stream.events():
            await self.observe(e.message.partition, e.message.offset, e.key, e.value)

    async def observe(
        self, partition: int, offset: int, key: bytes | None, raw: bytes | None
    ) -> None:
        config = self.ctx.config
        event = decode_event(raw, TelemetryEvent, config.worker.max_event_bytes)
        if isinstance(event, Rejection):
            letter = DeadLetter(key, raw, event, offset)
            delivery = await self.ctx.send_output(letter, partition, self.topic)
            await delivery  # on the broker before this event is acknowledged
            return
        state = self._state(event.node_id, partition)
        await self.ctx.deliver_alerts(
            telemetry_alerts(state, event, time.time(), config.infrastructure)
        )
        self.ctx.tables.infra[event.node_id] = state.serialize()  # in the event's own scope

    def _state(self, node_id: str, partition: int) -> NodeState:
        state = self.nodes.get(node_id)
        if state is None:
            raw = self.ctx.tables.infra.get(node_id)
            state = NodeState.deserialize(raw) if raw else NodeState(node_id, partition)
            self.nodes[node_id] = state
        return state

    async def silent_check(self) -> None:
        """Nodes that stopped reporting: alert once, until they report again."""
        table = self.ctx.tables.infra
        # nodes of this worker's partitions not seen since it started (or took them over)
        # are in the table only: a node that died meanwhile must still be found silent
        for node_id, raw in table.items():  # active partitions only
            if node_id not in self.nodes:
                self.nodes[node_id] = NodeState.deserialize(raw)
        found = silent_node_alerts(self.nodes, time.time(), self.ctx.config.infrastructure)
        for state, alert in found:
            await self.ctx.deliver_alerts([alert])
            with partition_scope(self.topic, state.partition):
                table[state.node_id] = state.serialize()

    def on_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            if tp.topic == self.topic:
                self.nodes = {n: s for n, s in self.nodes.items() if s.partition != tp.partition}
