"""Stage 2 (reduce): merge the partials of all partitions per (model, window), and
evaluate a window once every input partition's watermark has passed its end.

Pure logic, no Kafka. One ``ModelState`` per model, stored in a table keyed by model;
its window aggregates (with their reservoir samples, far larger than the rest) are
stored beside it under their own keys and written only when they change, so saving
a state after each batch costs the windows the batch touched, not all 48 kept ones.
Partials that arrive after their window was evaluated (late events, an idle partition
that woke up) are merged into the kept aggregate and the window is re-evaluated with
the next revision number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from streams.alerting.lifecycle import Incident
from streams.alerting.slo import WindowCounts, prune
from streams.codec import pack, unpack
from streams.drift.online import DetectorSpec, OnlineDetectors, OnlineDrift
from streams.labels.performance_windows import PerformanceState
from streams.windows.aggregate import WindowAggregate

STATE_VERSION = 4
#: States saved before idle partitions carried their offset (idle read as +inf).
_STATE_VERSION_IDLE_AS_INF = 3
WINDOW_VERSION = 1
#: Evaluated windows kept for revisions; older late partials are counted and dropped.
KEEP_EVALUATED = 48


@dataclass
class ModelState:
    model_id: str
    num_partitions: int = 0
    watermarks: dict[int, float] = field(default_factory=dict)
    # idle partitions: the offset their stage 1 had read to when it said so (None: not
    # known, from a state or message of an older version, trusted as it was then)
    idle: dict[int, int | None] = field(default_factory=dict)
    last_seq: dict[int, int] = field(default_factory=dict)
    open: dict[int, WindowAggregate] = field(default_factory=dict)
    evaluated: dict[int, tuple[int, WindowAggregate]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    duplicates: int = 0
    too_late: int = 0
    latency_history: list[WindowCounts] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)
    # labels: performance windows and their own incidents (stepped per evaluation)
    perf: PerformanceState = field(default_factory=PerformanceState)
    perf_incidents: dict[str, Incident] = field(default_factory=dict)
    # windows with findings: left out of the score baseline of the proxy metrics, so
    # an incident's windows never become the normal its recovery is compared with
    flagged: set[int] = field(default_factory=set)
    # per window: the sequence number of the last partial merged from each partition.
    # Saved with the window, so that a crash between writing the windows and the rest
    # of the state cannot merge a replayed partial twice
    window_seqs: dict[int, dict[int, int]] = field(default_factory=dict)
    # windows whose aggregate (or revision) changed, or that were dropped, since the
    # last save: derived, not saved
    changed: set[int] = field(default_factory=set)
    # river detectors over per-window summaries, saved under their own key when fed
    online: OnlineDetectors = field(default_factory=OnlineDetectors)
    online_changed: bool = False
    # other table writes of this batch (seasonal reference slots); None: delete
    pending: dict[str, bytes | None] = field(default_factory=dict)

    def feed_online(self, window_start: int, summaries: dict[str, float]) -> list[OnlineDrift]:
        self.online_changed = True
        return self.online.update(window_start, summaries)

    def record_latency(self, window: WindowAggregate, window_s: int) -> None:
        """Keep this window's SLO counts (a revision replaces the earlier ones)."""
        end = window.window_start + window_s
        counts = WindowCounts(window.window_start, end, window.latency.n, window.latency_slow)
        kept = [w for w in self.latency_history if w.start != window.window_start]
        self.latency_history = prune(sorted([*kept, counts], key=lambda w: w.start), end)

    def serialize(self) -> bytes:
        """The state without its windows: those are ``window_entries``."""
        body = {
            "model_id": self.model_id,
            "num_partitions": self.num_partitions,
            # JSON has no infinity: null is -inf (no event yet); watermarks are finite
            # otherwise, idle partitions being kept apart
            "watermarks": {
                str(p): (None if w == -math.inf else w) for p, w in self.watermarks.items()
            },
            "idle": {str(p): o for p, o in self.idle.items()},
            "last_seq": {str(p): s for p, s in self.last_seq.items()},
            "open": sorted(self.open),
            "evaluated": sorted(self.evaluated),
            "dirty": sorted(self.dirty),
            "duplicates": self.duplicates,
            "too_late": self.too_late,
            "incidents": {k: i.to_dict() for k, i in self.incidents.items()},
            "perf": self.perf.to_json(),
            "perf_incidents": {k: i.to_dict() for k, i in self.perf_incidents.items()},
            "flagged": sorted(self.flagged & set(self.evaluated)),
            "latency_history": [[w.start, w.end, w.total, w.slow] for w in self.latency_history],
        }
        return pack(STATE_VERSION, body)

    def window_entries(self) -> dict[str, bytes | None]:
        """The windows changed since the last call, by table key; None: delete the key."""
        entries: dict[str, bytes | None] = {}
        for start in sorted(self.changed):
            key, seqs = window_key(self.model_id, start), self.window_seqs.get(start, {})
            if start in self.open:
                entries[key] = _window_bytes(None, self.open[start], seqs)
            elif start in self.evaluated:
                revision, agg = self.evaluated[start]
                entries[key] = _window_bytes(revision, agg, seqs)
            else:
                entries[key] = None
                self.window_seqs.pop(start, None)
        self.changed.clear()
        if self.online_changed:
            entries[online_key(self.model_id)] = self.online.to_bytes()
            self.online_changed = False
        entries.update(self.perf.entries(self.model_id))
        entries.update(self.pending)
        self.pending.clear()
        return entries

    @classmethod
    def deserialize(
        cls,
        raw: bytes,
        window: Callable[[str], bytes | None],
        online_history: int = 500,
        online_specs: Sequence[DetectorSpec] | None = None,
    ) -> ModelState:
        """Rebuild a state; ``window`` reads an entry (window or detectors) by table key."""
        legacy = raw[:1] == bytes([_STATE_VERSION_IDLE_AS_INF])
        b = unpack(raw, _STATE_VERSION_IDLE_AS_INF if legacy else STATE_VERSION, "model state")
        if legacy:  # null meant idle (its real watermark unknown): trusted as idle
            b["idle"] = {p: None for p, w in b["watermarks"].items() if w is None}
        state = cls(
            b["model_id"],
            b["num_partitions"],
            {int(p): (-math.inf if w is None else w) for p, w in b["watermarks"].items()},
            last_seq={int(p): s for p, s in b["last_seq"].items()},
            duplicates=b["duplicates"],
            too_late=b["too_late"],
            dirty=set(b["dirty"]),
            latency_history=[WindowCounts(*w) for w in b["latency_history"]],
            incidents={k: Incident.from_dict(i) for k, i in b["incidents"].items()},
            perf_incidents={k: Incident.from_dict(i) for k, i in b["perf_incidents"].items()},
            flagged=set(b["flagged"]),
            idle={int(p): o for p, o in b["idle"].items()},
        )
        state.perf = PerformanceState.from_json(b["perf"], window, state.model_id)
        raw_online = window(online_key(state.model_id))
        state.online = (
            OnlineDetectors.from_bytes(raw_online, specs=online_specs, history=online_history)
            if raw_online
            else OnlineDetectors(online_specs, history=online_history)
        )
        for start in [*b["open"], *b["evaluated"]]:
            raw_window = window(window_key(state.model_id, start))
            if raw_window is None:  # dropped as too old, then a crash before this save
                continue
            entry = unpack(raw_window, WINDOW_VERSION, "window")
            agg = WindowAggregate.from_dict(entry["aggregate"])
            state.window_seqs[start] = {int(p): s for p, s in entry["seqs"].items()}
            if entry["revision"] is None:
                state.open[start] = agg
            else:
                state.evaluated[start] = (entry["revision"], agg)
        return state


def window_key(model_id: str, window_start: int) -> str:
    """Table key of one kept window of a model (model ids never contain a NUL)."""
    return f"{model_id}\x00{window_start}"


def online_key(model_id: str) -> str:
    return f"{model_id}\x00online"


def _window_bytes(revision: int | None, aggregate: WindowAggregate, seqs: dict[int, int]) -> bytes:
    body = {
        "revision": revision,
        "aggregate": aggregate.to_dict(),
        "seqs": {str(p): s for p, s in seqs.items()},
    }
    return pack(WINDOW_VERSION, body)


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
        partial = WindowAggregate.from_dict(body["aggregate"])
        seqs = state.window_seqs.setdefault(partial.window_start, {})
        if body["seq"] <= max(state.last_seq.get(partition, 0), seqs.get(partition, 0)):
            state.duplicates += 1
            return
        state.last_seq[partition] = seqs[partition] = body["seq"]
        _merge(state, partial)
    wm = body["watermark"]
    state.watermarks[partition] = -math.inf if wm is None else wm
    if body["idle"]:
        state.idle[partition] = body.get("offset")  # absent from older stage 1s
    else:
        state.idle.pop(partition, None)


def _merge(state: ModelState, partial: WindowAggregate) -> None:
    start = partial.window_start
    if start in state.open:
        state.open[start] += partial
    elif start in state.evaluated:
        state.evaluated[start][1].__iadd__(partial)
        state.dirty.add(start)
    elif state.evaluated and start < min(state.evaluated):
        state.too_late += partial.count
        return
    else:
        state.open[start] = partial
    state.changed.add(start)


def low_watermark(state: ModelState, unread: AbstractSet[int] = frozenset()) -> float:
    """The event time up to which every input partition has reported. An idle
    partition holds nothing back (+inf) unless it is in ``unread``: it has messages
    after the offset it went idle at, which its stage 1 has not folded yet."""
    if state.num_partitions == 0 or len(state.watermarks) < state.num_partitions:
        return -math.inf
    return min(
        math.inf if p in state.idle and p not in unread else w for p, w in state.watermarks.items()
    )


def idle_to_confirm(state: ModelState, window_s: int) -> dict[int, int]:
    """The idle partitions (with the offsets they went idle at) whose idleness would
    close an open window now: before it does, the caller checks that nothing was
    written to them since (their end offsets). Otherwise a partition whose stage 1 is
    slow to fetch (another worker's, say) would count as far ahead, and the window
    would be evaluated without its events and revised later. Empty: no check needed."""
    known = {p: o for p, o in state.idle.items() if o is not None}
    if not known or not state.open:
        return {}
    trusting, doubting = low_watermark(state), low_watermark(state, known.keys())
    ends = [start + window_s for start in state.open if start + window_s > doubting]
    return known if ends and min(ends) <= trusting else {}


def take_ready(
    state: ModelState, window_s: int, unread: AbstractSet[int] = frozenset()
) -> list[Ready]:
    """Windows to (re-)evaluate now; moves them from open to evaluated. ``unread``:
    idle partitions found to have unread messages (see ``idle_to_confirm``)."""
    low = low_watermark(state, unread)
    ready = []
    for start in sorted(state.open):
        if start + window_s <= low:
            agg = state.open.pop(start)
            state.evaluated[start] = (0, agg)
            state.changed.add(start)
            ready.append(Ready(agg, 0))
    for start in sorted(state.dirty):
        revision, agg = state.evaluated[start]
        state.evaluated[start] = (revision + 1, agg)
        state.changed.add(start)
        ready.append(Ready(agg, revision + 1))
    state.dirty.clear()
    for start in sorted(state.evaluated)[:-KEEP_EVALUATED]:
        del state.evaluated[start]
        state.changed.add(start)
    return ready
