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

import functools
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson
from river import drift
from river.base import DriftDetector

if TYPE_CHECKING:
    from streams.config.models import ModelConfig

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


#: The online detectors that run unless the configuration names others. ADWIN and KSWIN
#: flag any *statistically significant* change of a series; at hundreds of events per
#: window a daily cycle of a tenth of a standard deviation is significant, and neither has
#: a parameter for the smallest change worth a warning, so neither can be held to a
#: false-alarm budget on seasonal traffic: they are off by default (``drift.online.detectors``
#: turns them on for series without a cycle). PageHinkley's ``delta`` is exactly that
#: smallest change: it runs, calibrated by ``calibrate_page_hinkley``.
DEFAULT_DETECTORS: tuple[DetectorName, ...] = ("page_hinkley",)

#: Windows a PageHinkley waits before it may fire: enough to settle the running mean.
PH_MIN_INSTANCES = 10


def page_hinkley_spec(min_shift: float, threshold: float) -> DetectorSpec:
    """PageHinkley in reference-sd units: it accumulates how far each window's value
    exceeds the running mean by more than ``min_shift`` and fires past ``threshold``
    (sd x windows); river's forgetting factor, no forgetting of the threshold."""
    return DetectorSpec(
        "page_hinkley",
        {
            "min_instances": PH_MIN_INSTANCES,
            "delta": min_shift,
            "threshold": threshold,
            "alpha": 1 - 0.0001,
            "mode": "both",
        },
    )


def other_specs() -> dict[str, DetectorSpec]:
    """ADWIN and KSWIN as they run when turned on, for a series of one value per window.

    - ADWIN ``delta=0.002`` (river's default) with ``clock=1``: river checks every 32 values by
      default, which at one value per 5-minute window would add up to ~2.7 hours of delay.
    - KSWIN ``alpha=0.0001, window_size=100, stat_size=30, seed=42``: it cannot fire before
      100 values of a series (~8.3 hours of 5-minute windows); river's alpha 0.005 gave about
      4 false alarms per 2,000 stationary windows in our simulation, 0.0001 gave 1.
    """
    return {
        "adwin": DetectorSpec(
            "adwin",
            {
                "delta": 0.002,
                "clock": 1,
                "max_buckets": 5,
                "min_window_length": 5,
                "grace_period": 10,
            },
        ),
        "kswin": DetectorSpec(
            "kswin", {"alpha": 0.0001, "window_size": 100, "stat_size": 30, "seed": 42}
        ),
    }


def specs_for(
    detectors: Sequence[DetectorName],
    min_shift: float,
    window_events: int,
    alarm_rate: float,
) -> list[DetectorSpec]:
    """The specs of the named detectors, PageHinkley calibrated to ``alarm_rate`` false
    alarms per series and window at windows of ``window_events`` events."""
    others = other_specs()
    return [
        page_hinkley_spec(min_shift, calibrate_page_hinkley(min_shift, window_events, alarm_rate))
        if name == "page_hinkley"
        else others[name]
        for name in detectors
    ]


def online_specs(config: ModelConfig) -> list[DetectorSpec]:
    """A model's detectors: its budget per day shared by its series (numeric features and
    the score) and windows, calibrated at its smallest deciding window
    (``thresholds.min_window_events``), where the noise is largest."""
    online = config.drift.online
    series = 1 + sum(kind == "numeric" for kind in config.features.values())
    windows_per_day = max(1.0, 86_400 / config.window_s)
    rate = min(0.5, online.false_alarms_per_day / (windows_per_day * series))
    return specs_for(online.detectors, online.min_shift, config.thresholds.min_window_events, rate)


def default_specs() -> list[DetectorSpec]:
    """The default configuration's detectors, for 5-minute windows of a model with 20
    numeric features: what runs where no configuration is given."""
    return specs_for(DEFAULT_DETECTORS, 0.25, 100, 0.5 / (288 * 21))


def evidence(spec: DetectorSpec, detector: DriftDetector) -> tuple[str, float, float]:
    """What a detection shows: a statistic and the threshold it crossed, on one scale.

    PageHinkley's is its test statistic (the cumulative excess over ``delta``, in the
    series' units times windows), KSWIN's the p-value of its KS test against ``alpha``;
    ADWIN exposes no statistic, so it shows its significance level, which the change it
    found passed.
    """
    d: Any = detector  # river's own settings, defaults included
    if spec.name == "page_hinkley":
        rise = d._sum_increase - d._min_increase
        fall = d._max_decrease - d._sum_decrease
        return f"page_hinkley(delta={d.delta:g})", max(rise, fall), d.threshold
    if spec.name == "kswin":
        return "kswin p_value", float(getattr(d, "p_value", math.nan)), d.alpha
    return "adwin p_value <=", d.delta, d.delta


def _healthy_series(
    min_shift: float, window_events: int, windows: int, series: int, seed: int
) -> np.ndarray:
    """Series a healthy model produces: each window's mean in reference sd, so sampling
    noise of 1/sqrt(events), around a level that swings once a day (288 windows) by up to
    ``min_shift``, the largest swing the detector is meant to tolerate."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(series, 1))
    cycle = min_shift * np.sin(2 * np.pi * np.arange(windows) / 288 + phase)
    return cycle + rng.standard_normal((series, windows)) / math.sqrt(window_events)


def _page_hinkley_statistics(values: np.ndarray, delta: float, alpha: float) -> np.ndarray:
    """River's PageHinkley recurrence over many series at once, without resets: its test
    statistic after each value (nan during the first ``PH_MIN_INSTANCES``)."""
    series, windows = values.shape
    mean = np.zeros(series)
    sum_up = np.zeros(series)
    sum_down = np.zeros(series)
    min_up = np.full(series, np.inf)
    max_down = np.full(series, -1.0)
    out = np.full((series, windows), np.nan)
    for t in range(windows):
        x = values[:, t]
        mean += (x - mean) / (t + 1)
        dev = x - mean
        sum_up = alpha * sum_up + dev - delta
        sum_down = alpha * sum_down + dev + delta
        min_up = np.minimum(min_up, sum_up)
        max_down = np.maximum(max_down, sum_down)
        if t + 1 >= PH_MIN_INSTANCES:
            out[:, t] = np.maximum(sum_up - min_up, max_down - sum_down)
    return out


@functools.lru_cache(maxsize=64)
def calibrate_page_hinkley(
    min_shift: float, window_events: int, alarm_rate: float, seed: int = 0
) -> float:
    """The smallest PageHinkley threshold whose false-alarm rate per series and window on
    healthy series (``_healthy_series``) is at most ``alarm_rate``.

    The detector is replayed, vectorised, over simulated healthy windows, as Alibi Detect
    calibrates its online detectors to an expected run time. Alarms are counted as upward
    crossings of the threshold; a run without resets crosses at least as often as the
    detector (which resets and waits ``PH_MIN_INSTANCES`` after firing) fires, so the rate
    is an upper bound. The threshold is at least ``min_shift``: one window a whole
    ``min_shift`` past the tolerated level.
    """
    if not 0 < alarm_rate < 1:
        raise ValueError(f"alarm_rate must lie in (0, 1), got {alarm_rate}")
    windows = 2 * 288
    series = max(100, math.ceil(20 / (alarm_rate * windows)))  # ~20 alarms at the target
    series = min(series, 20_000)
    stats = _page_hinkley_statistics(
        _healthy_series(min_shift, window_events, windows, series, seed), min_shift, 1 - 0.0001
    )
    before, after = stats[:, :-1], stats[:, 1:]
    candidates = np.unique(np.round(after[np.isfinite(after)], 6))
    observed = np.isfinite(after).sum()

    def rate(threshold: float) -> float:
        crossings = (after > threshold) & ~(before > threshold)
        return float(crossings.sum()) / observed

    lo, hi = 0, len(candidates) - 1
    if rate(candidates[hi]) > alarm_rate:  # only the largest seen is safe
        return float(max(candidates[hi], min_shift))
    while lo < hi:
        mid = (lo + hi) // 2
        if rate(candidates[mid]) <= alarm_rate:
            hi = mid
        else:
            lo = mid + 1
    return round(float(max(candidates[lo], min_shift)), 4)


@dataclass(frozen=True)
class OnlineDrift:
    """One detection: which series, which detector and parameters, at which window and
    value, and its evidence: a statistic and the threshold it crossed, on one scale."""

    series: str
    detector: str
    params: Mapping[str, Any]
    window_start: int
    value: float
    statistic: str = ""
    score: float = math.nan
    threshold: float = math.nan


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
                statistic, score, threshold = evidence(spec, state.detectors[i])
                out.append(
                    OnlineDrift(
                        name,
                        spec.name,
                        dict(spec.params),
                        window_start,
                        value,
                        statistic,
                        score,
                        float(threshold),
                    )
                )
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
