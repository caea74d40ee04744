"""Stage 1 (map): fold one input partition's events into per-(model, window) partials.

Pure logic, no Kafka: the Faust agent feeds it messages in offset order and sends
what it returns. Its whole state for a partition is one ``PartitionState``, stored in
a table once per batch. Three properties make a restart lose and double nothing:

- the state records the last folded offset, and replayed messages at or below it are
  skipped, so state and offsets may be committed independently;
- windows close on the partition's event-time watermark, checked after every event,
  so the partials (and their sequence numbers) do not depend on batch boundaries;
- every partial carries a per-partition sequence number, so stage 2 drops a partial
  that is sent again after a crash;
- an event whose clock is off (events/skew.py) is dead-lettered before it can move
  the watermark, by bounds a replay decides the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.codec import pack, pack_partial, unpack
from streams.config.models import DEFAULT_MAX_CLOCK_SKEW_S, ModelConfig
from streams.events.decode import (
    Decoded,
    Rejection,
    catalog_rejections,
    decode_message,
    encode_row,
    foreign_events,
)
from streams.events.models import PredictionEvent
from streams.events.rows import PredictionRow
from streams.events.skew import SkewPolicy
from streams.sampling import Sampler
from streams.windows.aggregate import WindowAggregate
from streams.windows.reference_profile import ReferenceProfile

STATE_VERSION = 1
#: Late partials are sent when the offset crosses a multiple of this (or the watermark
#: moves): a deterministic point, so a replay rebuilds the same partials, and a burst
#: of late events costs one partial per window per 1,000 offsets, not one per event.
LATE_FLUSH_OFFSETS = 1000


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What stage 1 needs of one configured model."""

    config: ModelConfig
    reference: ReferenceProfile

    def window_start(self, ts: float) -> int:
        return int(ts // self.config.window_s) * self.config.window_s

    def new_window(self, window_start: int) -> WindowAggregate:
        names = list(self.config.features)
        slo = self.config.latency_slo
        return WindowAggregate(
            self.config.id,
            window_start,
            self.reference.empty_sketches(names),
            slo.threshold_ms if slo else None,
            self.config.performance.threshold,
            Sampler.from_config(self.config.sampling),
        )


@dataclass
class OpenWindow:
    aggregate: WindowAggregate
    pending: list[PredictionEvent | PredictionRow] = field(default_factory=list)

    def folded(self) -> WindowAggregate:
        self.aggregate.fold(self.pending)
        self.pending.clear()
        return self.aggregate


@dataclass
class PartitionState:
    partition: int
    offset: int = -1
    max_event_ts: float = -math.inf
    seq: int = 0
    idle: bool = False
    windows: dict[tuple[str, int], OpenWindow] = field(default_factory=dict)
    # per model: the highest window boundary already announced in a watermark message
    announced: dict[str, int] = field(default_factory=dict)
    # the event time from which a window may close or a boundary be crossed: derived,
    # not saved (-inf after a restore just means "check at the next event")
    next_check_ts: float = -math.inf

    def serialize(self) -> bytes:
        body = {
            "partition": self.partition,
            "offset": self.offset,
            "seq": self.seq,
            "max_event_ts": None if self.max_event_ts == -math.inf else self.max_event_ts,
            "idle": self.idle,
            "announced": self.announced,
            "windows": [w.folded().to_dict() for w in self.windows.values()],
        }
        return pack(STATE_VERSION, body)

    @classmethod
    def deserialize(cls, raw: bytes) -> PartitionState:
        body = unpack(raw, STATE_VERSION, "partition state")
        state = cls(
            body["partition"],
            body["offset"],
            -math.inf if body["max_event_ts"] is None else body["max_event_ts"],
            body["seq"],
            body["idle"],
            announced=body["announced"],
        )
        for agg_dict in body["windows"]:
            agg = WindowAggregate.from_dict(agg_dict)
            state.windows[(agg.model_id, agg.window_start)] = OpenWindow(agg)
        return state


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A refused message, or (``index`` set) one refused event of an envelope."""

    key: bytes | None
    raw: bytes | None
    rejection: Rejection
    offset: int
    index: int | None = None


@dataclass(frozen=True, slots=True)
class PartialMessage:
    """One message to ``partials``: a closed window's partial and/or a watermark."""

    model_id: str
    body: dict[str, Any]

    def serialize(self) -> bytes:
        """Versioned: stage 2 refuses a version it cannot read (codec.unpack_partial)."""
        return pack_partial(self.body)


Output = DeadLetter | PartialMessage
#: A valid prediction (pydantic event or envelope row) and its event time (epoch s).
Accepted = tuple[PredictionEvent | PredictionRow, float]


class Stage1:
    """Folds messages of any partition into that partition's state; returns outputs.

    ``now``: the wall clock the future bound compares with (injected in tests)."""

    def __init__(
        self,
        models: Mapping[str, ModelSpec],
        num_partitions: int,
        max_event_bytes: int,
        max_clock_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.models = dict(models)
        self.num_partitions = num_partitions
        self.max_event_bytes = max_event_bytes
        self.catalog = {m: spec.config.features for m, spec in self.models.items()}
        horizons = {m: float(s.config.performance.label_horizon_s) for m, s in models.items()}
        self.skew = SkewPolicy(max_clock_skew_s, horizons)
        self.now = now
        #: per model, how far ahead of the clock the last event refused as future was
        self.future_lead_s: dict[str, float] = {}

    def process(
        self, state: PartitionState, offset: int, key: bytes | None, raw: bytes | None
    ) -> tuple[list[Accepted], list[Output]]:
        """Fold one message (a single event or an envelope); returns the valid events
        with their event times, and the outputs to send (dead letters first)."""
        if offset <= state.offset:
            return [], []  # replay of a message already in the state
        late_flush_due = offset // LATE_FLUSH_OFFSETS != state.offset // LATE_FLUSH_OFFSETS
        state.offset = offset
        # any message wakes an idle partition, refused ones too: its idle announcement
        # names the offset it had read to, and stage 2 trusts it only while nothing
        # follows that offset (stage2.idle_to_confirm); the idle timer announces anew
        outputs: list[Output] = self.wake(state)
        decoded = decode_message(raw, "predictions", self.max_event_bytes)
        if isinstance(decoded, Rejection):
            return [], [*outputs, DeadLetter(key, raw, decoded, offset)]
        accepted = self._screen(state, key, raw, offset, decoded, outputs)
        for event, ts in accepted:
            if self._fold(state, event, ts, outputs, late_flush_due):
                late_flush_due = False
        return accepted, outputs

    def _screen(
        self,
        state: PartitionState,
        key: bytes | None,
        raw: bytes | None,
        offset: int,
        decoded: Decoded,
        outputs: list[Output],
    ) -> list[Accepted]:
        """The events that fit the config (and, in an envelope, this partition) and whose
        time is within the skew policy; the others become dead letters, an envelope's
        with their index."""
        outputs += [DeadLetter(key, b.raw, b.rejection, offset, b.index) for b in decoded.bad]
        foreign = foreign_events(decoded, state.partition, self.num_partitions)
        misfits = catalog_rejections(decoded.events, self.catalog)
        accepted: list[Accepted] = []
        now = self.now()
        for i, (event, ts) in enumerate(zip(decoded.events, decoded.times, strict=True)):
            why = misfits.get(i) or foreign.get(i) or self._skewed(state, event.model_id, ts, now)
            if why is None:
                accepted.append((event, ts))
            elif decoded.envelope:
                outputs.append(DeadLetter(key, encode_row(event), why, offset, decoded.indices[i]))
            else:
                outputs.append(DeadLetter(key, raw, why, offset))
        return accepted

    def _skewed(
        self, state: PartitionState, model_id: str, ts: float, now: float
    ) -> Rejection | None:
        future = self.skew.future(ts, now)
        if future is not None:
            self.future_lead_s[model_id] = ts - now
        why = future or self.skew.too_old(model_id, ts, state.max_event_ts)
        if why is not None:
            self._count_skew_refused(state, model_id)
        return why

    def _count_skew_refused(self, state: PartitionState, model_id: str) -> None:
        """Count a refused event in the window of the partition's newest event time:
        its own time is the one thing known to be wrong, and that window is open and
        the same on a replay. A partition that has accepted nothing has no such window
        (the StreamsProducerClockSkew rule sees it through the gauge)."""
        if state.max_event_ts == -math.inf:
            return
        spec = self.models[model_id]
        key = (model_id, spec.window_start(state.max_event_ts))
        self._window(state, spec, key).aggregate.skew_refused += 1

    def _window(self, state: PartitionState, spec: ModelSpec, key: tuple[str, int]) -> OpenWindow:
        """The open window ``key``, opened (and its close scheduled) when new."""
        window = state.windows.get(key)
        if window is None:
            window = state.windows[key] = OpenWindow(spec.new_window(key[1]))
            state.next_check_ts = min(state.next_check_ts, self._close_ts(spec, key[1]))
        return window

    def _fold(
        self, state: PartitionState, event: Any, ts: float, outputs: list[Output], flush: bool
    ) -> bool:
        """Fold one valid event; True when it sent the late partials (``flush``)."""
        spec = self.models[event.model_id]
        key = (event.model_id, spec.window_start(ts))
        window = self._window(state, spec, key)
        window.pending.append(event)
        if key[1] + spec.config.window_s <= self._watermark(state, spec):
            # beyond the allowed lateness: the window closed here already; this event goes
            # in a late partial that stage 2 merges into the window's next revision
            window.aggregate.late += 1
        if ts > state.max_event_ts:
            state.max_event_ts = ts
            if ts >= state.next_check_ts:
                outputs += self._close_ready(state)
        elif flush:
            outputs += self._close_ready(state)
            return True
        return False

    def wake(self, state: PartitionState) -> list[PartialMessage]:
        """An idle partition becomes active again: stage 2 must wait for it once more."""
        if not state.idle:
            return []
        state.idle = False
        return self._announce_all(state, force=True)

    def flush_idle(self, state: PartitionState) -> list[PartialMessage]:
        """Close every open window of an idle partition and announce it idle."""
        state.idle = True
        closed = [self._partial(state, key) for key in sorted(state.windows)]
        return closed + self._announce_all(state, force=True)

    @staticmethod
    def _watermark(state: PartitionState, spec: ModelSpec) -> float:
        return state.max_event_ts - spec.config.allowed_lateness_s

    def _close_ready(self, state: PartitionState) -> list[PartialMessage]:
        outputs: list[PartialMessage] = []
        for key in sorted(state.windows):
            model_id, start = key
            spec = self.models[model_id]
            if start + spec.config.window_s <= self._watermark(state, spec):
                outputs.append(self._partial(state, key))
        outputs += self._announce_all(state, force=False)
        state.next_check_ts = min(
            [self._close_ts(self.models[m], start) for m, start in state.windows]
            + [
                self._close_ts(spec, state.announced.get(m, -1) * spec.config.window_s)
                for m, spec in self.models.items()
            ]
        )
        return outputs

    @staticmethod
    def _close_ts(spec: ModelSpec, window_start: int) -> float:
        """The partition's max event time at which this window closes."""
        return window_start + spec.config.window_s + spec.config.allowed_lateness_s

    def _partial(self, state: PartitionState, key: tuple[str, int]) -> PartialMessage:
        window = state.windows.pop(key)
        state.seq += 1
        body = self._watermark_body(key[0], state, self._watermark(state, self.models[key[0]]))
        body.update(kind="partial", seq=state.seq, aggregate=window.folded().to_dict())
        return PartialMessage(key[0], body)

    def _announce_all(self, state: PartitionState, force: bool) -> list[PartialMessage]:
        """A watermark message per model whose window boundary this partition just crossed,
        so stage 2 learns that this partition holds back no window of that model."""
        outputs = []
        for model_id, spec in self.models.items():
            wm = self._watermark(state, spec)
            boundary = int(wm // spec.config.window_s) if wm > -math.inf else -1
            if force or boundary > state.announced.get(model_id, -1):
                state.announced[model_id] = boundary
                outputs.append(PartialMessage(model_id, self._watermark_body(model_id, state, wm)))
        return outputs

    def _watermark_body(
        self, model_id: str, state: PartitionState, watermark: float
    ) -> dict[str, Any]:
        """``offset``: the last message of the partition folded so far, by which stage 2
        checks that an idle partition has nothing unread."""
        return {
            "kind": "watermark",
            "model_id": model_id,
            "partition": state.partition,
            "num_partitions": self.num_partitions,
            "watermark": None if watermark == -math.inf else watermark,
            "idle": state.idle,
            "offset": state.offset,
        }
