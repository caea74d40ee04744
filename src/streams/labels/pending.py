"""The pending-prediction store's records: what a label needs of its prediction, the
marker an expired prediction leaves, and the index of a batch written as one changelog
message (worker/coalesced_table.py).

Both are named, versioned records (a version byte, then a JSON object with a ``kind``):
a reader says which field it misses or which version it cannot read, where positional
lists could only be misread. Records of the first version (positional lists) are still
read, since a prediction waits for its label up to the label horizon (60 days by
default): an upgrade must not lose them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from streams.codec import FormatError, pack, unpack
from streams.events.models import PredictionEvent
from streams.events.rows import PredictionRow

PENDING_VERSION = 2
#: Positional lists: [model, ts, score, cohorts, partition, labeled, shadows, value?]
#: for a prediction, [None, ts, partition, model] for an expiry marker.
POSITIONAL_VERSION = 1
_WHAT = "pending prediction"


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
    #: the label tier's inclusion probability of this prediction (streams/sampling)
    probability: float = 1.0

    def to_bytes(self) -> bytes:
        body = {
            "kind": "prediction",
            "model_id": self.model_id,
            "ts": self.ts,
            "score": self.score,
            "value": self.value,
            "cohorts": list(self.cohorts),
            "partition": self.partition,
            "labeled": self.labeled,
            "shadows": [list(s) for s in self.shadows],
            "probability": self.probability,
        }
        return pack(PENDING_VERSION, body)

    def labelled(self) -> Pending:
        return replace(self, labeled=True)

    @property
    def regression(self) -> bool:
        return self.score is None and self.value is not None


@dataclass(frozen=True, slots=True)
class Expired:
    """What an expired record leaves: enough to count a label that comes later, and to
    delete the marker itself one horizon on."""

    model_id: str
    ts: float
    partition: int

    def to_bytes(self) -> bytes:
        body = {"kind": "expired", "model_id": self.model_id, "ts": self.ts}
        return pack(PENDING_VERSION, body | {"partition": self.partition})


@dataclass(frozen=True, slots=True)
class BatchIndex:
    """What a batch written as one changelog frame leaves under its batch key: its
    newest event time and its models, so the sweep deletes the key (and with it the
    frame, from the compacted changelog) once every record in it has expired, i.e.
    has been written again on its own."""

    ts: float
    partition: int
    models: tuple[str, ...]

    def to_bytes(self) -> bytes:
        body = {"kind": "batch", "ts": self.ts, "partition": self.partition}
        return pack(PENDING_VERSION, body | {"models": list(self.models)})


#: Batch keys start so (a NUL: no real prediction id does; a crafted one that equals a
#: batch key can only make its own label an orphan, see labels/join.py).
BATCH_KEY_PREFIX = "\x00batch/"


def batch_key(partition: int, offset: int, source: str = "predictions") -> str:
    """The key of the batch written at ``offset`` of ``source``'s ``partition``: a
    replay of the same batch writes the same key again."""
    return f"{BATCH_KEY_PREFIX}{source}/{partition}/{offset}"


def batch_index(
    records: Mapping[str, bytes],
    partition: int,
    known: Mapping[str, tuple[str, float]] | None = None,
) -> BatchIndex:
    """The index of a batch of pending records (stored or expired); ``known``: each
    record's model and event time where the caller has them, so none is parsed again."""
    if known is None:
        read = [read_pending(raw) for raw in records.values()]
        pairs = [(r.model_id, r.ts) for r in read if not isinstance(r, BatchIndex)]
    else:
        pairs = [known[key] for key in records]
    models = tuple(sorted({model for model, _ in pairs}))
    return BatchIndex(max((ts for _, ts in pairs), default=-math.inf), partition, models)


def index_writer(
    partition: int, known: Mapping[str, tuple[str, float]] | None = None
) -> Callable[[Mapping[str, bytes]], bytes]:
    """What the coalesced table stores under a frame's batch key: its index."""
    return lambda records: batch_index(records, partition, known).to_bytes()


def read_pending(raw: bytes) -> Pending | Expired | BatchIndex:
    """A stored record of either version; FormatError for another version or kind."""
    if raw[:1] == bytes([POSITIONAL_VERSION]):
        return _positional(unpack(raw, POSITIONAL_VERSION, _WHAT))
    body = unpack(raw, PENDING_VERSION, _WHAT)
    try:
        kind = body.pop("kind")
        if kind == "expired":
            return Expired(**body)
        if kind == "batch":
            return BatchIndex(body["ts"], body["partition"], tuple(body["models"]))
        if kind == "prediction":
            cohorts, shadows = tuple(body.pop("cohorts")), body.pop("shadows")
            return Pending(**body, cohorts=cohorts, shadows=tuple(map(tuple, shadows)))
    except (KeyError, TypeError) as error:
        raise FormatError(f"{_WHAT} record is malformed: {error}") from None
    raise FormatError(f"{_WHAT} record of unknown kind {kind!r}")


def _positional(body: list[Any]) -> Pending | Expired:
    if body[0] is None:
        _, ts, partition, model_id = body
        return Expired(model_id, ts, partition)
    model_id, ts, score, cohorts, partition, labeled, shadows = body[:7]
    value = body[7] if len(body) > 7 else None  # records stored before regression
    shadows = tuple((name, output) for name, output in shadows)
    return Pending(model_id, ts, score, tuple(cohorts), partition, labeled, shadows, value)


def pending_record(
    event: PredictionEvent | PredictionRow,
    cohorts: Sequence[str],
    partition: int,
    ts: float | None = None,
    probability: float = 1.0,
) -> bytes:
    """The stored record of a prediction, keyed by its id, while it waits for a label.
    ``ts``: its event time (epoch s), when the caller has it (an envelope row's
    timestamp is a string); ``probability``: its inclusion probability in the label
    tier."""
    keys = tuple(f"{c}={event.segments[c]}" for c in cohorts if c in event.segments)
    if ts is None:
        ts = event.timestamp.timestamp()  # type: ignore[union-attr]
    score, value = event.prediction.score, None
    output = "score"
    if score is None and event.prediction.value is not None:
        value, output = event.prediction.value, "value"
    shadows = tuple(
        (name, getattr(p, output))
        for name, p in sorted((event.shadow_predictions or {}).items())
        if getattr(p, output) is not None
    )
    record = Pending(event.model_id, ts, score, keys, partition, False, shadows, value, probability)
    return record.to_bytes()


def sweep(
    items: Iterable[tuple[str, bytes]],
    now: Mapping[int, float],
    horizons: Mapping[str, float],
) -> tuple[dict[str, tuple[int, bytes | None]], Counter[str]]:
    """Expire the records past their model's label horizon (``now``: event time per
    partition): a record becomes a marker, a marker is deleted one horizon later, and
    a batch index once its newest record's marker is due for deletion (every record of
    the batch has a marker of its own by then). Returns the writes (by key: partition,
    and value or None to delete) and the unlabelled expiries per model.

    >>> rec = Pending("m", 0.0, 0.5, (), partition=1).to_bytes()
    >>> writes, expired = sweep([("p1", rec)], {1: 100.0}, {"m": 50.0})
    >>> writes["p1"][0], read_pending(writes["p1"][1]), dict(expired)
    (1, Expired(model_id='m', ts=0.0, partition=1), {'m': 1})
    """
    writes: dict[str, tuple[int, bytes | None]] = {}
    expired: Counter[str] = Counter()
    for key, raw in items:
        record = read_pending(raw)
        if isinstance(record, BatchIndex):
            horizon = max((horizons.get(m, math.inf) for m in record.models), default=0.0)
            if record.ts < now.get(record.partition, -math.inf) - 2 * horizon:
                writes[key] = (record.partition, None)
            continue
        limit = now.get(record.partition, -math.inf) - horizons.get(record.model_id, math.inf)
        if isinstance(record, Expired):
            if record.ts < limit - horizons.get(record.model_id, math.inf):
                writes[key] = (record.partition, None)
        elif record.ts < limit:
            marker = Expired(record.model_id, record.ts, record.partition)
            writes[key] = (record.partition, marker.to_bytes())
            if not record.labeled:
                expired[record.model_id] += 1
    return writes, expired
