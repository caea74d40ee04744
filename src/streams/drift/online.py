"""Online drift detectors (river ADWIN, PageHinkley, KSWIN) over per-window summaries.

Stage 2 reduces each window of a model to one number per series (a feature's window mean
standardised by the reference, the mean prediction score). A batch statistic compares one window
with the reference; these detectors instead watch the *sequence* of windows and flag a change in
its level, which catches slow or small shifts that no single window makes significant.

State has to survive a restart in a Faust table, and we never store pickles. So the persisted
state is only the bounded history of accepted values per series; detectors are rebuilt by
replaying that history into fresh river detectors with fixed parameters and fixed seeds. River's
detectors are deterministic given their parameters, seed and input sequence, so a replay
reproduces the in-memory state exactly while the history holds every value fed so far. Once the
history is trimmed (more than ``history`` values), the running detectors keep their full state,
but a restart rebuilds them from the last ``history`` values only, so the two may then differ.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from river import drift
from river.base import DriftDetector

DetectorName = Literal["adwin", "page_hinkley", "kswin"]

#: Serialisation format of :meth:`OnlineDetectors.to_bytes`; bump on any layout change.
FORMAT_VERSION = 1

#: Default bound on the values kept per series: 500 five-minute windows is about 42 hours.
DEFAULT_HISTORY = 500

_FACTORIES: dict[str, type[DriftDetector]] = {
    "adwin": drift.ADWIN,
    "page_hinkley": drift.PageHinkley,
    "kswin": drift.KSWIN,
}


@dataclass(frozen=True)
class DetectorSpec:
    """Which river detector to run and with which parameters; it fully determines a replay.

    ``params`` go to the river constructor as keyword arguments and are persisted as JSON, so
    they must be JSON values (numbers, strings, booleans, None). A KSWIN needs a ``seed`` for
    the replay to be deterministic.

    >>> DetectorSpec("adwin", {"delta": 0.01}).build().delta
    0.01
    """

    name: DetectorName
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in _FACTORIES:
            raise ValueError(f"unknown detector {self.name!r}; expected one of {list(_FACTORIES)}")
        object.__setattr__(self, "params", dict(self.params))
        if self.name == "kswin" and self.params.get("seed") is None:
            raise ValueError("kswin needs a fixed 'seed': replaying an unseeded KSWIN differs")
        self.build()  # fail now, not at the first window, on a bad parameter

    def build(self) -> DriftDetector:
        """A fresh detector in its initial state."""
        return _FACTORIES[self.name](**self.params)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> DetectorSpec:
        return cls(obj["name"], obj["params"])


def default_specs() -> list[DetectorSpec]:
    """Defaults tuned for a series of one value per window, in units of the reference std.

    - ADWIN ``delta=0.002`` (river's default) with ``clock=1``: river checks every 32 values by
      default, which at one value per 5-minute window would add up to ~2.7 hours of delay; a
      check per window is cheap at this rate. ``grace_period=10`` windows as in river.
    - PageHinkley with river's ``delta`` (0.005) and ``alpha`` (1 - 1e-4), but
      ``min_instances=10`` (river: 30) and ``threshold=20`` (river: 50). The threshold is on the
      cumulative deviation in the series' own units; with values in reference-std units, a shift
      of 1 std fires after ~20 windows and 0.25 std after ~60-90, while stationary noise of up to
      0.3 std per window (a window mean over >= ~11 events) gave no alarm in 5,000 windows in
      our simulation. River's 50 needs ~50 windows for a 1 std shift (~4 h). 10 windows suffice
      to settle the running mean the test deviates from. The threshold is absolute, so a series
      not in std units (a raw mean prediction score, say) should be standardised too, or given
      its own specs.
    - KSWIN ``alpha=0.0001, window_size=100, stat_size=30, seed=42`` (river's sizes plus a
      seed). It cannot fire before ``window_size`` = 100 values of a series have been fed
      (~8.3 hours of 5-minute windows), and it compares distributions, so it also reacts to a
      change in spread. It runs a test per window: river's alpha 0.005 gave about 4 false
      alarms per 2,000 stationary windows in our simulation (one a week at 5-minute windows,
      per series), 0.0001 gave 1.
    """
    return [
        DetectorSpec(
            "adwin",
            {
                "delta": 0.002,
                "clock": 1,
                "max_buckets": 5,
                "min_window_length": 5,
                "grace_period": 10,
            },
        ),
        DetectorSpec(
            "page_hinkley",
            {
                "min_instances": 10,
                "delta": 0.005,
                "threshold": 20.0,
                "alpha": 1 - 0.0001,
                "mode": "both",
            },
        ),
        DetectorSpec("kswin", {"alpha": 0.0001, "window_size": 100, "stat_size": 30, "seed": 42}),
    ]


@dataclass(frozen=True)
class OnlineDrift:
    """One detection: which series, which detector and parameters, at which window and value."""

    series: str
    detector: str
    params: Mapping[str, Any]
    window_start: int
    value: float


class _Series:
    """Accepted history and the live detectors of one series."""

    __slots__ = ("detectors", "starts", "values")

    def __init__(self, specs: Sequence[DetectorSpec], history: int) -> None:
        self.starts: deque[int] = deque(maxlen=history)
        self.values: deque[float] = deque(maxlen=history)
        self.detectors = [spec.build() for spec in specs]

    @property
    def last_start(self) -> int | None:
        return self.starts[-1] if self.starts else None

    def feed(self, window_start: int, value: float) -> list[int]:
        """Record and feed one value; indices of the detectors that fired on it."""
        self.starts.append(window_start)
        self.values.append(value)
        fired = []
        for i, detector in enumerate(self.detectors):
            detector.update(value)
            if detector.drift_detected:
                fired.append(i)
        return fired


class OnlineDetectors:
    """River drift detectors per series of one model, persisted as a bounded value history.

    Each series (a feature name or ``"prediction_score"``) gets one detector per spec, created
    at its first finite value. Values that are not finite are skipped: a window without data
    is not an observation, and nan or inf would poison the detectors' running means.

    A window is fed at most once per series: a value whose ``window_start`` is not after the
    last accepted one for that series is ignored. Stage 2 re-emits revised windows; the online
    detectors see each window's first value only (a revision replaces nothing), and a late
    older window would break the order the detectors assume.

    >>> det = OnlineDetectors([DetectorSpec("page_hinkley", {"min_instances": 5,
    ...                                                      "threshold": 3.0})])
    >>> hits = []
    >>> for t in range(40):
    ...     hits += det.update(t * 300, {"age": 0.0 if t < 20 else 1.0})
    >>> [(h.series, h.detector, h.window_start) for h in hits]
    [('age', 'page_hinkley', 6900)]
    >>> det.update(39 * 300, {"age": 5.0})  # a revision of the last window: ignored
    []
    >>> restored = OnlineDetectors.from_bytes(det.to_bytes())
    >>> restored.update(40 * 300, {"age": 1.0}) == det.update(40 * 300, {"age": 1.0})
    True
    """

    def __init__(
        self, specs: Iterable[DetectorSpec] | None = None, history: int = DEFAULT_HISTORY
    ) -> None:
        if history < 1:
            raise ValueError(f"history must be >= 1, got {history}")
        self.specs: tuple[DetectorSpec, ...] = tuple(default_specs() if specs is None else specs)
        self.history = history
        self._series: dict[str, _Series] = {}

    @property
    def series(self) -> list[str]:
        """Names of the series seen so far."""
        return list(self._series)

    def last_window(self, series: str) -> int | None:
        """Start of the last window accepted for ``series``; None if none was."""
        state = self._series.get(series)
        return None if state is None else state.last_start

    def update(self, window_start: int, values: Mapping[str, float]) -> list[OnlineDrift]:
        """Feed one window's summary per series; the detections it caused."""
        out: list[OnlineDrift] = []
        for name, raw in values.items():
            if raw is None:
                continue
            value = float(raw)
            if not math.isfinite(value):
                continue
            state = self._series.get(name)
            if state is None:
                state = self._series[name] = _Series(self.specs, self.history)
            last = state.last_start
            if last is not None and window_start <= last:
                continue
            for i in state.feed(window_start, value):
                spec = self.specs[i]
                out.append(OnlineDrift(name, spec.name, dict(spec.params), window_start, value))
        return out

    def to_bytes(self) -> bytes:
        """One version byte, then orjson of the specs and per-series histories."""
        body = {
            "history": self.history,
            "specs": [spec.to_json() for spec in self.specs],
            "series": {
                name: {"starts": list(s.starts), "values": list(s.values)}
                for name, s in self._series.items()
            },
        }
        return bytes([FORMAT_VERSION]) + orjson.dumps(body)

    @classmethod
    def from_bytes(
        cls,
        raw: bytes,
        *,
        specs: Iterable[DetectorSpec] | None = None,
        history: int | None = None,
    ) -> OnlineDetectors:
        """Rebuild by silently replaying each history into fresh detectors.

        Detections during the replay were already reported before the restart, so they are
        dropped. Passing ``specs`` or ``history`` replays the stored values into new settings
        instead of the stored ones (a configuration change needs no migration).
        """
        if not raw:
            raise ValueError("empty online detector state")
        version = raw[0]
        if version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported online detector state version {version}; "
                f"this code reads version {FORMAT_VERSION}"
            )
        body = orjson.loads(raw[1:])
        if specs is None:
            specs = [DetectorSpec.from_json(s) for s in body["specs"]]
        det = cls(specs, body["history"] if history is None else history)
        for name, hist in body["series"].items():
            starts, values = hist["starts"], hist["values"]
            if len(starts) != len(values):
                raise ValueError(f"corrupt state for series {name!r}: starts and values differ")
            state = det._series[name] = _Series(det.specs, det.history)
            for start, value in zip(starts, values, strict=True):
                state.feed(int(start), float(value))
        return det
