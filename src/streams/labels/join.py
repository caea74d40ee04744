"""Stage 1 for labels: join each label with its pending prediction, and fold the pair
into the performance sketch of (model, performance window of the prediction, cohort).

Pure logic, no Kafka. The pending-prediction store is a table keyed by prediction id,
co-partitioned with ``predictions`` and ``labels``: the label of a prediction is read
by the same worker that stored it. A record keeps only what the join needs (model,
time, score, cohorts) and is marked when labelled, so a second label is counted as a
duplicate; an expired record leaves a small marker, so a label after the horizon is
counted as such rather than as an orphan (a label whose prediction never came).

Exactly once: a batch's partial goes into the partition's state (the outbox) in the
same save as its offset and the pending marks; it is sent after the save and resent
after a restart, and stage 2 drops a sequence number it has seen.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import orjson

from streams.codec import pack, unpack
from streams.config.models import ModelConfig
from streams.events.decode import Rejection, decode_event
from streams.events.models import LabelEvent, PredictionEvent
from streams.sketches.performance import PerformanceSketch
from streams.windows.stage1 import DeadLetter

PENDING_VERSION = 1
STATE_VERSION = 1
#: The cohort of every pair: the model as a whole.
ALL = "*"
#: Prefix of the "cohorts" holding a shadow model's pairs (its score, the same label).
SHADOW = "shadow:"
#: Label values that mean the positive class (compared lower-cased).
POSITIVE = frozenset({"1", "1.0", "true", "yes", "positive"})
#: Labels a partition holds back while its predictions are behind; beyond, orphans.
MAX_DEFERRED = 100_000
#: A joined pair: the model's output (score or value), the label (0/1 or the true
#: value), the label's delay in seconds, and whether it is a regression pair.
Pair = tuple[float, float, float, bool]


@dataclass(frozen=True, slots=True)
class Pending:
    """What a label needs of its prediction (and its partition, for the expiry sweep)."""

    model_id: str
    ts: float
    score: float | None
    cohorts: tuple[str, ...]
    partition: int
    labeled: bool = False
    #: shadow model id, its score (its output, for a regression model)
    shadows: tuple[tuple[str, float], ...] = ()
    value: float | None = None  # a regression model's output (its score is None)

    def to_bytes(self) -> bytes:
        body = [self.model_id, self.ts, self.score, list(self.cohorts), self.partition]
        shadows = [list(s) for s in self.shadows]
        return pack(PENDING_VERSION, [*body, self.labeled, shadows, self.value])

    @classmethod
    def from_bytes(cls, raw: bytes) -> Pending | None:
        """The record, or None for an expiry marker."""
        body = unpack(raw, PENDING_VERSION, "pending prediction")
        if body[0] is None:
            return None
        model_id, ts, score, cohorts, partition, labeled, shadows = body[:7]
        value = body[7] if len(body) > 7 else None  # records stored before regression
        shadows = tuple((name, output) for name, output in shadows)
        return cls(model_id, ts, score, tuple(cohorts), partition, labeled, shadows, value)

    def labelled(self) -> Pending:
        return replace(self, labeled=True)

    @property
    def regression(self) -> bool:
        return self.score is None and self.value is not None


def expired_marker(model_id: str, ts: float, partition: int) -> bytes:
    """What an expired record leaves: enough to count a label that comes later."""
    return pack(PENDING_VERSION, [None, ts, partition, model_id])


def pending_record(event: PredictionEvent, cohorts: Sequence[str], partition: int) -> bytes:
    keys = tuple(f"{c}={event.segments[c]}" for c in cohorts if c in event.segments)
    ts, score, value = event.timestamp.timestamp(), event.prediction.score, None
    output = "score"
    if score is None and event.prediction.value is not None:
        value, output = event.prediction.value, "value"
    shadows = tuple(
        (name, getattr(p, output))
        for name, p in sorted((event.shadow_predictions or {}).items())
        if getattr(p, output) is not None
    )
    return Pending(event.model_id, ts, score, keys, partition, False, shadows, value).to_bytes()


def sweep(
    items: Iterable[tuple[str, bytes]],
    now: Mapping[int, float],
    horizons: Mapping[str, float],
) -> tuple[dict[str, tuple[int, bytes | None]], Counter[str]]:
    """Expire the records past their model's label horizon (``now``: event time per
    partition): a record becomes a marker, a marker is deleted one horizon later.
    Returns the writes (by key: partition, and value or None to delete) and the
    unlabelled expiries per model.

    >>> rec = Pending("m", 0.0, 0.5, (), partition=1).to_bytes()
    >>> writes, expired = sweep([("p1", rec)], {1: 100.0}, {"m": 50.0})
    >>> writes["p1"][0], Pending.from_bytes(writes["p1"][1]), dict(expired)
    (1, None, {'m': 1})
    """
    writes: dict[str, tuple[int, bytes | None]] = {}
    expired: Counter[str] = Counter()
    for key, raw in items:
        body = unpack(raw, PENDING_VERSION, "pending prediction")
        if body[0] is None:  # a marker: [None, ts, partition, model]
            _, ts, partition, model_id = body
            if ts < now.get(partition, -math.inf) - 2 * horizons.get(model_id, math.inf):
                writes[key] = (partition, None)
            continue
        pending = Pending.from_bytes(raw)
        assert pending is not None
        limit = now.get(pending.partition, -math.inf) - horizons.get(pending.model_id, math.inf)
        if pending.ts < limit:
            marker = expired_marker(pending.model_id, pending.ts, pending.partition)
            writes[key] = (pending.partition, marker)
            if not pending.labeled:
                expired[pending.model_id] += 1
    return writes, expired


@dataclass
class LabelState:
    """One labels partition: the last offset joined, the partial sequence, the outbox,
    and the labels deferred until their partition's predictions catch up."""

    partition: int
    offset: int = -1
    seq: int = 0
    outbox: list[bytes] = field(default_factory=list)
    deferred: list[bytes] = field(default_factory=list)

    def serialize(self) -> bytes:
        body = {
            "partition": self.partition,
            "offset": self.offset,
            "seq": self.seq,
            "outbox": [base64.b64encode(m).decode("ascii") for m in self.outbox],
            "deferred": [base64.b64encode(m).decode("ascii") for m in self.deferred],
        }
        return pack(STATE_VERSION, body)

    @classmethod
    def deserialize(cls, raw: bytes) -> LabelState:
        b = unpack(raw, STATE_VERSION, "label state")
        outbox = [base64.b64decode(m) for m in b["outbox"]]
        deferred = [base64.b64decode(m) for m in b["deferred"]]
        return cls(b["partition"], b["offset"], b["seq"], outbox, deferred)


@dataclass
class JoinResult:
    """What one batch produced: partial messages (model, bytes), pending writes and
    dead letters."""

    partials: list[tuple[str, bytes]] = field(default_factory=list)
    writes: dict[str, bytes] = field(default_factory=dict)
    deadletters: list[DeadLetter] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, outcome)


def target(label: LabelEvent) -> float | None:
    """A regression label's true value: ``value``, or a number in ``label``."""
    if label.value is not None:
        return label.value
    try:
        return float(label.label) if label.label is not None else None
    except ValueError:
        return None


def positive(label: str | None) -> int | None:
    """1 for the positive class, 0 for any other label, None without one.

    >>> positive("1"), positive("fraud"), positive(None)
    (1, 0, None)
    """
    return None if label is None else int(label.strip().lower() in POSITIVE)


class LabelJoin:
    """Joins batches of one partition's label messages; see the module docstring."""

    def __init__(self, models: Mapping[str, ModelConfig], num_partitions: int, max_bytes: int):
        self.models = dict(models)
        self.num_partitions = num_partitions
        self.max_bytes = max_bytes

    def process(
        self,
        state: LabelState,
        messages: Sequence[tuple[int, bytes | None, bytes | None]],
        lookup: Callable[[str], bytes | None],
        predictions_ts: float,
    ) -> JoinResult:
        """Join (offset, key, value) messages; replays at or below the state's offset are
        skipped. The partials are put in the state's outbox and returned.

        ``predictions_ts``: how far (event time) this partition's predictions have been
        ingested (inf when idle). A label that finds no prediction while the
        predictions are behind the label's time may only be early: it is deferred,
        kept in the state, and tried again with the next call."""
        result = JoinResult()
        pairs: dict[str, dict[tuple[int, str], list[tuple[float, int, float]]]] = {}
        retry, state.deferred = state.deferred, []
        fresh = [(None, raw) for raw in retry]
        for offset, key, raw in messages:
            if offset <= state.offset:
                continue
            state.offset = offset
            fresh.append(((offset, key), raw))
        for origin, raw in fresh:
            label = decode_event(raw, LabelEvent, self.max_bytes)
            if isinstance(label, Rejection):
                offset, key = origin or (state.offset, None)
                result.deadletters.append(DeadLetter(key, raw, label, offset))
                continue
            config = self.models.get(label.model_id)
            if config is None or not config.performance.enabled:
                result.counts[(label.model_id, "unmonitored")] += 1
                continue
            outcome = self._join(label, config, lookup, result, pairs)
            early = label.timestamp.timestamp() > predictions_ts
            if outcome == "orphan" and early and len(state.deferred) < MAX_DEFERRED:
                state.deferred.append(raw)  # type: ignore[arg-type]
                continue
            result.counts[(label.model_id, outcome)] += 1
        models = {m for m, _ in result.counts} & set(self.models)
        if models:
            state.seq += 1
            for model_id in sorted(models):
                body = self._partial(state, model_id, pairs.get(model_id, {}), result.counts)
                result.partials.append((model_id, body))
            state.outbox = [b for _, b in result.partials]
        return result

    def _join(
        self,
        label: LabelEvent,
        config: ModelConfig,
        lookup: Callable[[str], bytes | None],
        result: JoinResult,
        pairs: dict[str, dict[tuple[int, str], list[Pair]]],
    ) -> str:
        pid = label.prediction_id
        raw = result.writes.get(pid) or lookup(pid)
        if raw is None:
            return "orphan"
        pending = Pending.from_bytes(raw)
        if pending is None:
            return "expired"
        if pending.labeled:
            return "duplicate"
        regression = pending.regression
        output = pending.value if regression else pending.score
        y = target(label) if regression else positive(label.label)
        if y is None or output is None or not (math.isfinite(output) and math.isfinite(y)):
            return "unusable"
        result.writes[pid] = pending.labelled().to_bytes()
        window = int(pending.ts // config.performance.window_s) * config.performance.window_s
        delay = max(label.timestamp.timestamp() - pending.ts, 0.0)
        groups = pairs.setdefault(config.id, {})
        for cohort in (ALL, *pending.cohorts):
            groups.setdefault((window, cohort), []).append((output, y, delay, regression))
        for name, shadow in pending.shadows:  # the same label, the shadow model's output
            groups.setdefault((window, SHADOW + name), []).append((shadow, y, delay, regression))
        return "joined"

    def _partial(
        self,
        state: LabelState,
        model_id: str,
        groups: Mapping[tuple[int, str], list[Pair]],
        counts: Counter[tuple[str, str]],
    ) -> bytes:
        threshold = self.models[model_id].performance.threshold
        windows: dict[str, dict[str, str]] = {}
        for (window, cohort), rows in sorted(groups.items()):
            outputs, ys, delays, regression = (np.array(c) for c in zip(*rows, strict=True))
            sketch = PerformanceSketch()
            classified = ~regression
            if classified.any():
                sketch.add_classification(
                    outputs[classified],
                    ys[classified].astype(np.int64),
                    delays[classified],
                    threshold,
                )
            if regression.any():
                sketch.add_regression(outputs[regression], ys[regression], delays[regression])
            windows.setdefault(str(window), {})[cohort] = base64.b64encode(
                sketch.to_bytes()
            ).decode("ascii")
        body: dict[str, Any] = {
            "kind": "labels",
            "model_id": model_id,
            "partition": state.partition,
            "num_partitions": self.num_partitions,
            "seq": state.seq,
            "windows": windows,
            "counts": {o: n for (m, o), n in counts.items() if m == model_id},
        }
        return orjson.dumps(body)
