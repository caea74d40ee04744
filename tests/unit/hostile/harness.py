"""The worker's pure path from raw messages to window decisions, without Kafka: stage 1,
the pending-label write, the label join, stage 2's merge and evaluation, and the
telemetry agent's decode and node alerts, in the order the agents call them.

Every dead letter is turned into its record (as ``Context.send_output`` does), so the
records' bounds are checked on whatever came in."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from streams.alerting.evaluate import (
    evaluate_performance_windows,
    evaluate_window,
    telemetry_alerts,
)
from streams.alerting.infra import NodeState
from streams.codec import unpack_partial
from streams.config.models import InfraConfig, ModelConfig
from streams.events.decode import (
    DEADLETTER_KEY_MAX_BYTES,
    REASONS,
    Rejection,
    deadletter_key,
    deadletter_record,
    decode_event,
)
from streams.events.models import AlertEvent, TelemetryEvent
from streams.labels.join import LabelJoin, LabelState, pending_record
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import DeadLetter, ModelSpec, PartitionState, Stage1
from streams.windows.stage2 import ModelState, apply_message, take_ready

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
WINDOW_S = 60
#: The worker's defaults (worker.max_event_bytes, worker.deadletter_max_bytes).
MAX_EVENT_BYTES = 65_536
DEADLETTER_MAX_BYTES = 16_384
#: A dead-letter value's bound: base64 of the kept bytes, plus the bounded fields.
RECORD_BOUND = DEADLETTER_MAX_BYTES * 4 // 3 + 8_192
NOW = float(T0 + 86_400)

Message = tuple[bytes | None, bytes | None]  # key, value


@functools.cache
def make_spec() -> ModelSpec:
    """One model (shared by every pipeline: building its reference is the slow part)."""
    rng = np.random.default_rng(0)
    config = ModelConfig(
        id="m",
        features={"x": "numeric", "color": "categorical"},
        reference=Path("unused.json"),
        window_s=WINDOW_S,
        allowed_lateness_s=5,
        performance={"window_s": 600, "cohorts": ["country"]},
    )
    columns = {
        "x": rng.normal(size=2000).tolist(),
        "color": rng.choice(["red", "blue"], size=2000).tolist(),
    }
    return ModelSpec(config, build_profile(columns, config.features))


@dataclass
class Pipeline:
    """One partition of every input topic, one model, stage 2 in the same process."""

    max_event_bytes: int = MAX_EVENT_BYTES
    spec: ModelSpec = field(default_factory=make_spec)
    accepted: int = 0
    deadletters: Counter[str] = field(default_factory=Counter)
    alerts: list[AlertEvent] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, bytes] = field(default_factory=dict)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    offsets: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        config = self.spec.config
        self.stage1 = Stage1({"m": self.spec}, 1, self.max_event_bytes)
        self.partition = PartitionState(0)
        self.join = LabelJoin({"m": config}, 1, self.max_event_bytes)
        self.labels_state = LabelState(0)
        self.model = ModelState("m")
        self.chooser = ReferenceChooser(
            "m", self.spec.reference.features, config.drift.reference, WINDOW_S, {}.get
        )

    def _offset(self, topic: str) -> int:
        self.offsets[topic] += 1
        return self.offsets[topic] - 1

    def predictions(self, messages: list[Message]) -> None:
        outputs = []
        for key, raw in messages:
            accepted, out = self.stage1.process(self.partition, self._offset("p"), key, raw)
            self.accepted += len(accepted)
            for event, ts in accepted:
                self.pending[event.prediction_id] = pending_record(event, ["country"], 0, ts)
            outputs += out
        self._stage2(outputs)

    def labels(self, messages: list[Message]) -> None:
        batch = [(self._offset("l"), key, raw) for key, raw in messages]
        result = self.join.process(
            self.labels_state, batch, self.pending.get, self.partition.max_event_ts
        )
        self.pending.update(result.writes)
        self._stage2(result.deadletters)
        for raw in self.labels_state.outbox:
            self.model.perf.apply(unpack_partial(raw), self.spec.config.performance)
        self.labels_state.outbox = []
        self._performance()

    def telemetry(self, messages: list[Message]) -> None:
        for key, raw in messages:
            offset = self._offset("t")
            event = decode_event(raw, TelemetryEvent, self.max_event_bytes)
            if isinstance(event, Rejection):
                self._deadletter(DeadLetter(key, raw, event, offset))
                continue
            state = self.nodes.setdefault(event.node_id, NodeState(event.node_id, 0))
            self.alerts += telemetry_alerts(state, event, NOW, InfraConfig())

    def finish(self) -> None:
        """The partition goes idle: every open window closes and is evaluated."""
        self._stage2(self.stage1.flush_idle(self.partition))

    def _stage2(self, outputs: list[Any]) -> None:
        for out in outputs:
            if isinstance(out, DeadLetter):
                self._deadletter(out)
            else:
                apply_message(self.model, unpack_partial(out.serialize()))
        for ready in take_ready(self.model, WINDOW_S):
            decision = evaluate_window(self.spec, self.model, ready, self.chooser, NOW)
            self.alerts += decision.alerts
            self.records.append(decision.record)
        self._performance()

    def _performance(self) -> None:
        for decision in evaluate_performance_windows(self.spec, self.model, NOW):
            self.alerts += decision.alerts

    def _deadletter(self, letter: DeadLetter) -> None:
        assert letter.rejection.reason in REASONS
        record = deadletter_record(
            letter.rejection,
            letter.raw,
            topic="predictions",
            partition=0,
            offset=letter.offset,
            max_bytes=DEADLETTER_MAX_BYTES,
            index=letter.index,
            key=letter.key,
        )
        assert len(record) <= RECORD_BOUND, (letter.rejection.reason, len(record))
        key = deadletter_key(letter.key)
        assert key is None or len(key) <= DEADLETTER_KEY_MAX_BYTES
        self.deadletters[letter.rejection.reason] += 1
