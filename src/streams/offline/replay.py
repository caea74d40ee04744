"""Replay the simulator offline through the drift engine: many windows of a scenario
against one reference, for false-alarm rates and detection checks without a broker.

Each window is sketched as stage 1 does it (reservoir keys from the prediction ids);
the statistics are computed once per window, and the verdicts of any number of
configurations are then decided on them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from streams.config.models import DriftConfig
from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.scenarios import Scenario, Stationary
from streams.drift.engine import FeatureDrift, decide, feature_statistics
from streams.sketches import NumericSketch, stable_keys
from streams.windows.reference_profile import ReferenceProfile, build_profile

#: Simulated event times start here (2026-01-01T00:00:00Z).
T0 = 1_767_225_600.0


def _columns(generator: EventGenerator, rows: int, start: float, scenario: Scenario):
    block = generator.generate(start + np.arange(rows) * (60.0 / rows), scenario)
    columns: dict[str, np.ndarray] = dict(block.numeric)
    columns.update({n: np.asarray(v, dtype=object) for n, v in block.categorical.items()})
    return columns, block.prediction_ids


def simulated_reference(rows: int = 100_000, seed: int = 0) -> ReferenceProfile:
    """A profile of clean, stationary simulated traffic."""
    columns, _ = _columns(EventGenerator(seed), rows, T0, Stationary())
    return build_profile(columns, source=f"simulator seed {seed}")


@dataclass
class WindowStatistics:
    """One window's statistics per feature, and its non-missing counts."""

    features: list[FeatureDrift]
    counts: dict[str, int]

    def verdicts(self, config: DriftConfig) -> list[FeatureDrift]:
        features = copy.deepcopy(self.features)
        decide(features, self.counts, config)
        return features


def replay(
    reference: ReferenceProfile,
    scenario: Scenario,
    windows: int,
    rows: int,
    seed: int = 1,
) -> Iterator[WindowStatistics]:
    """``windows`` windows of ``rows`` events of ``scenario`` (active from T0)."""
    generator = EventGenerator(seed)
    for w in range(windows):
        columns, ids = _columns(generator, rows, T0 + 60.0 * w, scenario)
        keys = stable_keys(ids)
        sketches = reference.empty_sketches()
        for name, sketch in sketches.items():
            if isinstance(sketch, NumericSketch):
                sketch.update_batch(columns[name], keys=keys)
            else:
                sketch.update_batch(columns[name])
        yield WindowStatistics(
            [feature_statistics(n, reference.features[n], s) for n, s in sketches.items()],
            {n: s.n for n, s in sketches.items()},
        )


def flag_rate(
    windows: Sequence[WindowStatistics], config: DriftConfig, kind: str | None = None
) -> tuple[float, float]:
    """Share of windows in which any feature (of ``kind``, if given) is flagged, and
    share of feature tests flagged."""
    flagged_windows = flagged_tests = tests = 0
    for window in windows:
        verdicts = [f for f in window.verdicts(config) if kind in (None, f.kind)]
        flagged = sum(f.drifted for f in verdicts)
        flagged_windows += flagged > 0
        flagged_tests += flagged
        tests += len(verdicts)
    return flagged_windows / max(len(windows), 1), flagged_tests / max(tests, 1)
