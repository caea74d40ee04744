"""What every agent shares: the app's topics and tables, the metrics, and the sends.

Every send returns its delivery future; an agent gathers them before it saves the
state that no longer holds what was sent (see ``save_after``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import orjson

from streams.alerting.evaluate import apply_silences
from streams.config.models import MonitorConfig
from streams.events.decode import deadletter_key, deadletter_record
from streams.events.models import AlertEvent
from streams.kafka.broadcast import BroadcastReader
from streams.windows.stage1 import DeadLetter, ModelSpec, Output
from streams.worker.audit import WorkerAudit
from streams.worker.coalesced_table import CoalescedTable
from streams.worker.deadletters import send_until_acked
from streams.worker.metrics import PipelineMetrics

#: The tables, by name: their changelog topics are created with the source topics.
TABLES = ("stage1-state", "stage2-state", "infra-state", "pending")
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


@dataclass(frozen=True)
class Topics:
    predictions: faust.TopicT
    labels: faust.TopicT
    partials: faust.TopicT
    results: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT
    node_telemetry: faust.TopicT

    @classmethod
    def create(cls, app: faust.App, config: MonitorConfig, num_partitions: int) -> Topics:
        t = config.kafka.topics
        partitioned = {"partitions": num_partitions, **RAW}
        return cls(
            predictions=app.topic(t.predictions, **partitioned),
            labels=app.topic(t.labels, **partitioned),
            partials=app.topic(t.partials, **partitioned),
            results=app.topic(t.results, **RAW),
            alerts=app.topic(t.alerts, **RAW),
            deadletter=app.topic(t.deadletter, **RAW),
            node_telemetry=app.topic(t.node_telemetry, **partitioned),
        )


@dataclass(frozen=True)
class Tables:
    """``stage1``: partition and label-join states; ``stage2``: model states and their
    windows; ``infra``: node states; ``pending``: predictions waiting for their label,
    by prediction id (co-partitioned with predictions and labels, on disk), written a
    batch per changelog message."""

    stage1: faust.Table
    stage2: faust.Table
    infra: faust.Table
    pending: CoalescedTable

    @classmethod
    def create(cls, app: faust.App, config: MonitorConfig, num_partitions: int) -> Tables:
        worker = config.worker
        options = worker.rocksdb.options() if worker.store.startswith("rocksdb") else None
        # value_type=bytes makes Faust store and log the values raw
        common = {"options": options, "key_type": str, "value_type": bytes}
        made = [app.Table(name, partitions=num_partitions, **common) for name in TABLES[:-1]]
        pending = CoalescedTable(
            app, name=TABLES[-1], beacon=app.tables.beacon, partitions=num_partitions, **common
        )
        return cls(*made, app.tables.add(pending))


def topic_name(topic: faust.TopicT) -> str:
    return topic.get_topic_name()


async def save_after(deliveries: Iterable[Awaitable[Any]], save: Callable[[], None]) -> None:
    """Save a state only once what it no longer holds is on the broker: the local
    RocksDB write is immediate, and after a kill -9 it must not run ahead of them."""
    await asyncio.gather(*deliveries)
    save()


@dataclass
class Context:
    """The shared parts of one worker; ``models`` changes when references are applied."""

    app: faust.App
    config: MonitorConfig
    models: dict[str, ModelSpec]
    topics: Topics
    tables: Tables
    metrics: PipelineMetrics
    on_alert: Callable[[AlertEvent], None] | None = None
    silences: BroadcastReader | None = None
    audit: WorkerAudit | None = None

    async def send_output(
        self, out: Output, partition: int, source: str | None = None
    ) -> Awaitable[Any]:
        """Hand one stage-1 output (partial or dead letter) to the producer. ``source``:
        the topic a dead letter came from (default: predictions). A dead letter's
        delivery resolves only once the broker has it (worker/deadletters.py)."""
        if isinstance(out, DeadLetter):
            self.metrics.deadletter.labels(out.rejection.reason).inc()
            record = deadletter_record(
                out.rejection,
                out.raw,
                topic=source or topic_name(self.topics.predictions),
                partition=partition,
                offset=out.offset,
                max_bytes=self.config.worker.deadletter_max_bytes,
                index=out.index,
                key=out.key,
            )
            return await send_until_acked(self._send_deadletter, deadletter_key(out.key), record)
        aggregate = out.body.get("aggregate")
        if aggregate and aggregate["late"]:
            self.metrics.late_events.labels(out.model_id).inc(aggregate["late"])
        return await self.topics.partials.send(key=out.model_id.encode(), value=out.serialize())

    async def _send_deadletter(self, key: bytes | None, value: bytes) -> Awaitable[Any]:
        return await self.topics.deadletter.send(key=key, value=value)

    async def send_alerts(self, alerts: list[AlertEvent]) -> list[Awaitable[Any]]:
        """Produce, count and (optionally) print alerts, silences recorded on them."""
        if self.silences is not None:
            alerts = apply_silences(alerts, self.silences.values, datetime.now(UTC))
        deliveries = []
        for alert in alerts:
            deliveries.append(
                await self.topics.alerts.send(key=alert.dedup_key.encode(), value=alert.to_json())
            )
            self.metrics.alerts.labels(
                alert.model_id or "", alert.category.value, alert.severity.value
            ).inc()
            if self.on_alert:
                self.on_alert(alert)
        return deliveries

    async def deliver_alerts(self, alerts: list[AlertEvent]) -> None:
        """Send alerts and wait until the broker has them: what follows can rely on them."""
        await asyncio.gather(*await self.send_alerts(alerts))

    async def send_record(self, model_id: str, record: dict[str, Any]) -> Awaitable[Any]:
        return await self.topics.results.send(key=model_id.encode(), value=orjson.dumps(record))
