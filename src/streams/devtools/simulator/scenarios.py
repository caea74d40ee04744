"""Scenarios: what goes wrong (or does not) in the simulated traffic.

A scenario only changes the features a model is *served*; the label always
comes from the clean features, so a corrupted input shows up as drift, as a
data-quality problem and as a drop in performance, the way a broken upstream
pipeline does in production. Times are absolute event times (epoch seconds);
``make_scenario`` turns the CLI's offsets from the start of the run into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from streams.devtools.simulator.features import NUMERIC_FEATURES
from streams.devtools.simulator.model import reference_stats

DEFAULT_SILENT_ZEROS = ("user_clicks_7d", "user_sessions_30d", "user_dwell_time_avg_s")
DEFAULT_SHIFTED = ("item_price",)
DEFAULT_MAGNITUDE = 1.0


@dataclass(frozen=True)
class Scenario:
    """Base: clean traffic with the daily cycle; subclasses corrupt served features."""

    name: ClassVar[str] = ""
    daily_cycle: ClassVar[bool] = True
    corrupts: ClassVar[bool] = False
    shifts: ClassVar[bool] = False

    def apply(self, served: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        """Change the served numeric features in place, given event times (epoch s)."""


@dataclass(frozen=True)
class Stationary(Scenario):
    """I.i.d. events: no daily cycle of the rate or the features, nothing breaks."""

    name: ClassVar[str] = "stationary"
    daily_cycle: ClassVar[bool] = False


@dataclass(frozen=True)
class Seasonal(Scenario):
    """Only the daily cycle: a monitor must not call this drift against whole days."""

    name: ClassVar[str] = "seasonal"


@dataclass(frozen=True)
class _Corruption(Scenario):
    """A corruption of ``affect`` active from ``onset`` until ``recover`` (epoch s)."""

    corrupts: ClassVar[bool] = True
    affect: tuple[str, ...] = ()
    onset: float = 0.0
    recover: float | None = None

    def __post_init__(self) -> None:
        _check_features(self.affect)
        if self.recover is not None and self.recover <= self.onset:
            raise ValueError("recovery must come after the onset")

    def active(self, t_s: np.ndarray) -> np.ndarray:
        on = t_s >= self.onset
        return on if self.recover is None else on & (t_s < self.recover)


@dataclass(frozen=True)
class SilentZeros(_Corruption):
    """An upstream feature job silently serves 0 instead of the real value (missing
    values included), the classic failure nobody notices from infrastructure metrics."""

    name: ClassVar[str] = "silent-zeros"
    affect: tuple[str, ...] = DEFAULT_SILENT_ZEROS

    def apply(self, served: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        active = self.active(t_s)
        if active.any():
            for name in self.affect:
                served[name][active] = 0.0


@dataclass(frozen=True)
class SuddenShift(_Corruption):
    """From the onset, ``affect`` is shifted by ``magnitude`` reference standard deviations (e.g. a
    currency or unit change upstream)."""

    name: ClassVar[str] = "sudden-shift"
    shifts: ClassVar[bool] = True
    affect: tuple[str, ...] = DEFAULT_SHIFTED
    magnitude: float = DEFAULT_MAGNITUDE

    def _fraction(self, t_s: np.ndarray) -> np.ndarray:
        return self.active(t_s).astype(np.float64)

    def apply(self, served: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        fraction = self._fraction(t_s)
        if fraction.any():
            std = reference_stats().raw_std
            for name in self.affect:
                served[name] += fraction * (self.magnitude * std[name])


@dataclass(frozen=True)
class GradualDrift(SuddenShift):
    """From the onset, a shift growing linearly to ``magnitude`` standard deviations at
    ``end`` (the end of the run): the slow drift that fixed per-window thresholds miss."""

    name: ClassVar[str] = "gradual-drift"
    end: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.end <= self.onset:
            raise ValueError("gradual drift needs its end after the onset")

    def _fraction(self, t_s: np.ndarray) -> np.ndarray:
        ramp = np.clip((t_s - self.onset) / (self.end - self.onset), 0.0, 1.0)
        return np.where(self.active(t_s), ramp, 0.0)


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls for cls in (Stationary, Seasonal, SilentZeros, SuddenShift, GradualDrift)
}


def _check_features(affect: Sequence[str]) -> None:
    if not affect:
        raise ValueError("affect needs at least one feature")
    unknown = [name for name in affect if name not in NUMERIC_FEATURES]
    if unknown:
        raise ValueError(
            f"unknown or non-numeric feature(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(NUMERIC_FEATURES)}"
        )


def make_scenario(
    name: str,
    *,
    start: float,
    duration_s: float,
    affect: Sequence[str] | None = None,
    onset_s: float | None = None,
    recover_s: float | None = None,
    magnitude: float | None = None,
) -> Scenario:
    """Build a scenario for a run starting at ``start`` (epoch s) of ``duration_s``.

    ``onset_s`` and ``recover_s`` are offsets from the start (onset default: a third
    of the duration). Options that do not apply to the scenario are refused rather
    than ignored, so a typo in a demo script cannot silently test nothing.
    """
    cls = SCENARIOS.get(name)
    if cls is None:
        raise ValueError(f"unknown scenario {name!r}; allowed: {', '.join(SCENARIOS)}")
    if not issubclass(cls, _Corruption):
        given = [
            opt
            for opt, value in (
                ("affect", affect),
                ("onset", onset_s),
                ("recover", recover_s),
                ("magnitude", magnitude),
            )
            if value is not None
        ]
        if given:
            raise ValueError(f"scenario {name} takes no {', '.join(given)}")
        return cls()
    if magnitude is not None and not cls.shifts:
        raise ValueError(f"scenario {name} takes no magnitude")
    if duration_s <= 0:
        raise ValueError("duration must be positive")
    onset_s = duration_s / 3.0 if onset_s is None else onset_s
    if not 0 <= onset_s < duration_s:
        raise ValueError(f"onset ({onset_s:g} s) must lie within the run (0 to {duration_s:g} s)")
    if recover_s is not None and recover_s <= onset_s:
        raise ValueError(f"recover ({recover_s:g} s) must come after onset ({onset_s:g} s)")
    kwargs: dict[str, object] = {
        "onset": start + onset_s,
        "recover": None if recover_s is None else start + recover_s,
    }
    if affect is not None:
        kwargs["affect"] = tuple(affect)
    if magnitude is not None:
        kwargs["magnitude"] = float(magnitude)
    if cls is GradualDrift:
        kwargs["end"] = start + duration_s
    return cls(**kwargs)  # type: ignore[arg-type]
