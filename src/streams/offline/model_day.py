"""Replay simulated hours of one model through the worker's own decisions, without a broker.

The false-alarm budget is a promise about what an on-call team receives: pages and
warnings per model per day. It can only be measured through the code that decides them,
so each window here is folded as stage 1 folds it (``WindowAggregate.fold`` of validated
events) and evaluated as stage 2 evaluates it (``evaluate_window``: the per-window tests,
the online detectors, corroboration, root-cause grouping and the incident lifecycle).
What is left out is only the transport: Kafka, Faust, partitions and watermarks.

An *incident* here is what the router would page or ticket: a firing alert that is not
an update of one already announced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from streams.alerting.evaluate import evaluate_window
from streams.config.models import ModelConfig
from streams.devtools.simulator.features import FEATURES
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, EventGenerator
from streams.devtools.simulator.scenarios import Scenario, Seasonal
from streams.drift.online import OnlineDetectors, online_specs
from streams.events.models import AlertEvent, PredictionEvent, Severity
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.reference_profile import ReferenceProfile, build_profile
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState, take_ready

DAY_S = 86_400
#: Simulated time starts at a Monday midnight (2026-01-05T00:00:00Z), so days align.
DAY0 = 1_767_571_200


def simulated_profile(days: int = 7, rows: int = 100_000, seed: int = 0) -> ReferenceProfile:
    """A reference of clean traffic spread over whole days, daily cycle included: the
    training data a model of this traffic would have been profiled on."""
    generator = EventGenerator(seed)
    times = (
        DAY0 - days * DAY_S + np.sort(np.random.default_rng(seed).uniform(0, days * DAY_S, rows))
    )
    block = generator.generate(times, Seasonal())
    return build_profile(
        block.feature_columns(), dict(FEATURES), source=f"simulator seed {seed}, {days} days"
    )


@dataclass
class DayReplay:
    """The alerts of a replay, and what they add up to for an on-call team."""

    alerts: list[AlertEvent] = field(default_factory=list)
    windows: int = 0

    def incidents(self) -> list[AlertEvent]:
        """Alerts that open an incident (new pages or tickets), not its updates."""
        return [a for a in self.alerts if a.status == "firing" and not a.update]

    def pages(self) -> list[AlertEvent]:
        return [a for a in self.incidents() if a.severity == Severity.critical]

    def warnings(self) -> list[AlertEvent]:
        return [a for a in self.incidents() if a.severity != Severity.critical]


def _window_events(
    generator: EventGenerator, scenario: Scenario, start: int, window_s: int, events: int
) -> list[PredictionEvent]:
    times = start + (np.arange(events) + 0.5) * (window_s / events)
    block = generator.generate(times, scenario)
    return [PredictionEvent.model_validate(e) for e in block.to_events()]


def replay_windows(
    config: ModelConfig,
    profile: ReferenceProfile,
    scenario: Scenario,
    windows: int,
    events_per_window: int,
    seed: int = 1,
    start: int = DAY0,
) -> Iterator[list[AlertEvent]]:
    """Each window's alerts, in order, as the worker would produce them."""
    spec = ModelSpec(config, profile)
    online = OnlineDetectors(online_specs(config), history=config.drift.online.history)
    state = ModelState(config.id, num_partitions=1, online=online)
    slots: dict[str, bytes] = {}
    chooser = ReferenceChooser(
        config.id, profile.features, config.drift.reference, config.window_s, slots.get
    )
    generator = EventGenerator(seed, model_id=config.id)
    for w in range(windows):
        window_start = start + w * config.window_s
        aggregate = spec.new_window(window_start)
        aggregate.fold(
            _window_events(generator, scenario, window_start, config.window_s, events_per_window)
        )
        state.open[window_start] = aggregate
        state.watermarks[0] = window_start + config.window_s
        alerts = []
        for ready in take_ready(state, config.window_s):
            decision = evaluate_window(
                spec, state, ready, chooser, float(window_start + config.window_s)
            )
            alerts += decision.alerts
            for key, value in decision.writes.items():
                if value is None:
                    slots.pop(key, None)
                else:
                    slots[key] = value
        yield alerts


def default_config(window_s: int = 300) -> ModelConfig:
    """The simulated model with every setting at its default."""
    return ModelConfig(
        id=DEFAULT_MODEL_ID, features=dict(FEATURES), reference="unused.json", window_s=window_s
    )
