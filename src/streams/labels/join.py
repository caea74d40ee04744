"""Stage 1 for labels: join each label with its pending prediction, and fold the pair
into the performance sketch of (model, performance window of the prediction, cohort).

Pure logic, no Kafka. The pending-prediction store is a table keyed by prediction id,
co-partitioned with ``predictions`` and ``labels``: the label of a prediction is read
by the same worker that stored it. A record (labels/pending.py) keeps only what the
join needs (model, time, score, cohorts) and is marked when labelled, so a second label
is counted as a duplicate; an expired record leaves a small marker, so a label after
the horizon is counted as such rather than as an orphan (a label whose prediction
never came).

Exactly once: a batch's partial goes into the partition's state (the outbox) in the
same save as its offset and the pending marks; it is sent after the save and resent
after a restart, and stage 2 drops a sequence number it has seen.

Sampling (streams/sampling): only the label tier's predictions are stored. A label
that finds no record and whose prediction id the label tier does not keep is counted
``unsampled``, not ``orphan``; a record carries its inclusion probability, and each
(window, cohort) gets a Horvitz-Thompson tally of its pairs (correct decisions, or
absolute errors) beside the performance sketch.

Clock skew: a label further ahead of the worker's clock than the skew bound is
dead-lettered as ``future_timestamp`` (else it would look early, and be deferred, for
ever). An old label is not refused: its time only measures the label's delay, and a
label past the horizon finds an expired marker and is counted as ``expired``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streams.codec import pack, pack_partial, unpack
from streams.config.models import DEFAULT_MAX_CLOCK_SKEW_S, ModelConfig
from streams.events.decode import Rejection, decode_message, encode_row, foreign_events
from streams.events.models import LabelEvent
from streams.events.rows import LabelRow
from streams.events.skew import SkewPolicy
from streams.labels.pending import BatchIndex, Expired, pending_record, read_pending, sweep
from streams.sampling import Sampler, Tier, WeightedTally
from streams.sketches.bytes import from_text, to_text
from streams.sketches.performance import PerformanceSketch
from streams.windows.stage1 import DeadLetter

__all__ = [  # with the pending records' helpers (labels/pending.py) the worker calls
    "ALL",
    "SHADOW",
    "JoinResult",
    "LabelJoin",
    "LabelState",
    "pending_record",
    "positive",
    "sweep",
    "target",
]
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
#: value), the label's delay in seconds, whether it is a regression pair, and the
#: prediction's inclusion probability in the label tier.
Pair = tuple[float, float, float, bool, float]


@dataclass
class LabelState:
    """One labels partition: the last offset joined, the partial sequence, the outbox,
    the labels deferred until their partition's predictions catch up, and how many
    batches of pending marks it wrote (their changelog frames' keys), and per model the
    label-tier rates in effect (``[since, rate]``, wall clock), for :func:`rate_floor`."""

    partition: int
    offset: int = -1
    seq: int = 0
    outbox: list[bytes] = field(default_factory=list)
    deferred: list[bytes] = field(default_factory=list)
    frames: int = 0
    rates: dict[str, list[list[float]]] = field(default_factory=dict)

    def serialize(self) -> bytes:
        body = {
            "partition": self.partition,
            "offset": self.offset,
            "seq": self.seq,
            "outbox": [to_text(m) for m in self.outbox],
            "deferred": [to_text(m) for m in self.deferred],
            "frames": self.frames,
            "rates": self.rates,
        }
        return pack(STATE_VERSION, body)

    @classmethod
    def deserialize(cls, raw: bytes) -> LabelState:
        b = unpack(raw, STATE_VERSION, "label state")
        outbox = [from_text(m) for m in b["outbox"]]
        deferred = [from_text(m) for m in b["deferred"]]
        frames = b.get("frames", 0)  # states saved before frames were counted
        state = cls(b["partition"], b["offset"], b["seq"], outbox, deferred, frames)
        state.rates = b.get("rates", {})  # states saved before sampling
        return state


def rate_floor(history: list[list[float]], rate: float, now: float, horizon_s: float) -> float:
    """The lowest label-tier rate in effect over the last label horizon, after noting
    the current ``rate`` in ``history`` (pruned to that horizon). A prediction below
    the floor's threshold was stored whatever the rate when it was made, so a label
    without a record is an orphan only below it: after a rate increase, the labels of
    earlier predictions that the old rate left out count as unsampled, not orphans.

    >>> history = []
    >>> rate_floor(history, 0.01, now=0.0, horizon_s=100.0)
    0.01
    >>> rate_floor(history, 0.1, now=50.0, horizon_s=100.0)  # raised: old ones still out
    0.01
    >>> rate_floor(history, 0.1, now=151.0, horizon_s=100.0)  # a horizon later
    0.1
    """
    if not history or history[-1][1] != rate:
        history.append([now, rate])
    # an entry stays while it or its successor began within the horizon
    while len(history) > 1 and history[1][0] <= now - horizon_s:
        history.pop(0)
    return min(r for _, r in history)


@dataclass
class JoinResult:
    """What one batch produced: partial messages (model, bytes), pending writes and
    dead letters."""

    partials: list[tuple[str, bytes]] = field(default_factory=list)
    writes: dict[str, bytes] = field(default_factory=dict)
    deadletters: list[DeadLetter] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, outcome)


def target(label: LabelEvent | LabelRow) -> float | None:
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


def pair_values(
    outputs: np.ndarray, ys: np.ndarray, regression: np.ndarray, threshold: float
) -> np.ndarray:
    """What a pair adds to its weighted tally: 1 for a correct decision at the
    threshold (0 otherwise), a regression pair's absolute error."""
    correct = ((outputs >= threshold) == (ys == 1)).astype(float)
    return np.where(regression, np.abs(outputs - ys), correct)


class LabelJoin:
    """Joins batches of one partition's label messages; see the module docstring.
    ``now``: the wall clock of the skew bound (injected in tests)."""

    def __init__(
        self,
        models: Mapping[str, ModelConfig],
        num_partitions: int,
        max_bytes: int,
        max_clock_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
        now: Callable[[], float] = time.time,
    ):
        self.models = dict(models)
        self.num_partitions = num_partitions
        self.max_bytes = max_bytes
        self.skew = SkewPolicy(max_clock_skew_s, {})
        self.now = now
        self.samplers = {m: Sampler.from_config(c.sampling) for m, c in self.models.items()}

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
        floors = {
            model_id: rate_floor(
                state.rates.setdefault(model_id, []),
                config.sampling.labels,
                self.now(),
                config.performance.label_horizon_s,
            )
            for model_id, config in self.models.items()
        }
        pairs: dict[str, dict[tuple[int, str], list[tuple[float, int, float]]]] = {}
        retry, state.deferred = state.deferred, []
        fresh = [(None, raw) for raw in retry]
        for offset, key, raw in messages:
            if offset <= state.offset:
                continue
            state.offset = offset
            fresh.append(((offset, key), raw))
        for origin, raw in fresh:
            offset, key = origin or (state.offset, None)
            for label, ts, label_raw in self._decode(state, raw, offset, key, result):
                config = self.models.get(label.model_id)
                if config is None or not config.performance.enabled:
                    result.counts[(label.model_id, "unmonitored")] += 1
                    continue
                outcome = self._join(label, ts, config, lookup, result, pairs, floors[config.id])
                early = ts > predictions_ts
                if outcome == "orphan" and early and len(state.deferred) < MAX_DEFERRED:
                    state.deferred.append(label_raw)  # a single event, also out of an envelope
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

    def _decode(
        self,
        state: LabelState,
        raw: bytes | None,
        offset: int,
        key: bytes | None,
        result: JoinResult,
    ) -> list[tuple[LabelEvent | LabelRow, float, bytes]]:
        """A message's valid labels, each with its time and its bytes as a single event;
        the refused ones (an envelope's alone, with their index) become dead letters.
        Deferred labels come here again: the clock only grows, so none is refused then."""
        decoded = decode_message(raw, "labels", self.max_bytes)
        if isinstance(decoded, Rejection):
            result.deadletters.append(DeadLetter(key, raw, decoded, offset))
            return []
        for bad in decoded.bad:
            result.deadletters.append(DeadLetter(key, bad.raw, bad.rejection, offset, bad.index))
        foreign = foreign_events(decoded, state.partition, self.num_partitions)
        labels = []
        now = self.now()
        for i, (label, ts) in enumerate(zip(decoded.events, decoded.times, strict=True)):
            label_raw = encode_row(label) if decoded.envelope else raw
            why = foreign.get(i) or self.skew.future(ts, now)
            if why is not None:
                index = decoded.indices[i]
                result.deadletters.append(DeadLetter(key, label_raw, why, offset, index))
            else:
                labels.append((label, ts, label_raw))
        return labels

    def _join(
        self,
        label: LabelEvent | LabelRow,
        ts: float,
        config: ModelConfig,
        lookup: Callable[[str], bytes | None],
        result: JoinResult,
        pairs: dict[str, dict[tuple[int, str], list[Pair]]],
        floor: float,
    ) -> str:
        pid = label.prediction_id
        raw = result.writes.get(pid) or lookup(pid)
        if raw is None:
            # a stored record wins over the rule (an always-keep rule's segments are not
            # on the label); without one, the rule at the rate floor tells unsampled
            # from orphaned
            kept = self.samplers[config.id].keeps_at(Tier.labels, pid, floor)
            return "orphan" if kept else "unsampled"
        pending = read_pending(raw)
        if isinstance(pending, BatchIndex):  # a crafted id equal to a batch key
            return "orphan"
        if isinstance(pending, Expired):
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
        delay = max(ts - pending.ts, 0.0)
        groups = pairs.setdefault(config.id, {})
        p = pending.probability
        for cohort in (ALL, *pending.cohorts):
            groups.setdefault((window, cohort), []).append((output, y, delay, regression, p))
        for name, shadow in pending.shadows:  # the same label, the shadow model's output
            pair = (shadow, y, delay, regression, p)
            groups.setdefault((window, SHADOW + name), []).append(pair)
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
        weighted: dict[str, dict[str, list[float]]] = {}
        for (window, cohort), rows in sorted(groups.items()):
            columns = zip(*rows, strict=True)
            outputs, ys, delays, regression, probabilities = (np.array(c) for c in columns)
            sketch = PerformanceSketch()
            sketch.update_batch(outputs, ys, delays, regression=regression, threshold=threshold)
            windows.setdefault(str(window), {})[cohort] = to_text(sketch.to_bytes())
            tally = WeightedTally()
            tally.add_batch(pair_values(outputs, ys, regression, threshold), probabilities)
            weighted.setdefault(str(window), {})[cohort] = tally.to_list()
        body: dict[str, Any] = {
            "kind": "labels",
            "model_id": model_id,
            "partition": state.partition,
            "num_partitions": self.num_partitions,
            "seq": state.seq,
            "windows": windows,
            "weighted": weighted,
            "counts": {o: n for (m, o), n in counts.items() if m == model_id},
        }
        return pack_partial(body)
