"""Stage 2 (reduce): merge the partials of all partitions per (model, window), and
evaluate a window once every input partition's watermark has passed its end.

Pure logic, no Kafka. One ``ModelState`` per model, stored in a table keyed by model.
Partials that arrive after their window was evaluated (late events, an idle partition
that woke up) are merged into the kept aggregate and the window is re-evaluated with
the next revision number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from streams.aggregate import WindowAggregate
from streams.codec import pack, unpack
from streams.lifecycle import Incident
from streams.slo import WindowCounts, prune

STATE_VERSION = 1
#: Evaluated windows kept for revisions; older late partials are counted and dropped.
KEEP_EVALUATED = 48


@dataclass
class ModelState:
    model_id: str
    num_partitions: int = 0
    watermarks: dict[int, float] = field(default_factory=dict)  # idle partitions: +inf
    last_seq: dict[int, int] = field(default_factory=dict)
    open: dict[int, WindowAggregate] = field(default_factory=dict)
    evaluated: dict[int, tuple[int, WindowAggregate]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    duplicates: int = 0
    too_late: int = 0
    latency_history: list[WindowCounts] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)

    def record_latency(self, window: WindowAggregate, window_s: int) -> None:
        """Keep this window's SLO counts (a revision replaces the earlier ones)."""
        end = window.window_start + window_s
        counts = WindowCounts(window.window_start, end, window.latency.n, window.latency_slow)
        kept = [w for w in self.latency_history if w.start != window.window_start]
        self.latency_history = prune(sorted([*kept, counts], key=lambda w: w.start), end)

    def serialize(self) -> bytes:
        body = {
            "model_id": self.model_id,
            "num_partitions": self.num_partitions,
            "watermarks": {
                str(p): (None if w == math.inf else w) for p, w in self.watermarks.items()
            },
            "last_seq": {str(p): s for p, s in self.last_seq.items()},
            "open": [a.to_dict() for a in self.open.values()],
            "evaluated": [[r, a.to_dict()] for r, a in self.evaluated.values()],
            "dirty": sorted(self.dirty),
            "duplicates": self.duplicates,
            "too_late": self.too_late,
            "incidents": {k: i.to_dict() for k, i in self.incidents.items()},
            "latency_history": [[w.start, w.end, w.total, w.slow] for w in self.latency_history],
        }
        return pack(STATE_VERSION, body)

    @classmethod
    def deserialize(cls, raw: bytes) -> ModelState:
        b = unpack(raw, STATE_VERSION, "model state")
        state = cls(
            b["model_id"],
            b["num_partitions"],
            {int(p): (math.inf if w is None else w) for p, w in b["watermarks"].items()},
            {int(p): s for p, s in b["last_seq"].items()},
            duplicates=b["duplicates"],
            too_late=b["too_late"],
            dirty=set(b["dirty"]),
            latency_history=[WindowCounts(*w) for w in b["latency_history"]],
            incidents={k: Incident.from_dict(i) for k, i in b["incidents"].items()},
        )
        for d in b["open"]:
            agg = WindowAggregate.from_dict(d)
            state.open[agg.window_start] = agg
        for revision, d in b["evaluated"]:
            agg = WindowAggregate.from_dict(d)
            state.evaluated[agg.window_start] = (revision, agg)
        return state


@dataclass(frozen=True, slots=True)
class Ready:
    """A window to evaluate now, with the revision its result carries (0 the first time)."""

    aggregate: WindowAggregate
    revision: int


def apply_message(state: ModelState, body: dict[str, Any]) -> None:
    """Merge one ``partials`` message (a partial or a bare watermark) into the state."""
    partition = body["partition"]
    state.num_partitions = max(state.num_partitions, body["num_partitions"])
    if body["kind"] == "partial":
        if body["seq"] <= state.last_seq.get(partition, 0):
            state.duplicates += 1
            return
        state.last_seq[partition] = body["seq"]
        _merge(state, WindowAggregate.from_dict(body["aggregate"]))
    wm = body["watermark"]
    state.watermarks[partition] = math.inf if body["idle"] else (-math.inf if wm is None else wm)


def _merge(state: ModelState, partial: WindowAggregate) -> None:
    start = partial.window_start
    if start in state.open:
        state.open[start] += partial
    elif start in state.evaluated:
        state.evaluated[start][1].__iadd__(partial)
        state.dirty.add(start)
    elif state.evaluated and start < min(state.evaluated):
        state.too_late += partial.count
    else:
        state.open[start] = partial


def low_watermark(state: ModelState) -> float:
    """The event time up to which every input partition has reported."""
    if state.num_partitions == 0 or len(state.watermarks) < state.num_partitions:
        return -math.inf
    return min(state.watermarks.values())


def take_ready(state: ModelState, window_s: int) -> list[Ready]:
    """Windows to (re-)evaluate now; moves them from open to evaluated."""
    low = low_watermark(state)
    ready = []
    for start in sorted(state.open):
        if start + window_s <= low:
            agg = state.open.pop(start)
            state.evaluated[start] = (0, agg)
            ready.append(Ready(agg, 0))
    for start in sorted(state.dirty):
        revision, agg = state.evaluated[start]
        state.evaluated[start] = (revision + 1, agg)
        ready.append(Ready(agg, revision + 1))
    state.dirty.clear()
    for start in sorted(state.evaluated)[:-KEEP_EVALUATED]:
        del state.evaluated[start]
    return ready
