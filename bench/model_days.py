"""Pages and warnings per model-day, through the worker's own decisions.

    .venv/bin/python bench/model_days.py [--hours 24] [--events 1000] [--baseline]

Replays simulated hours of the demo model (25 features, 5-minute windows) window by
window through stage 1's fold and stage 2's ``evaluate_window`` (per-window tests,
online detectors, corroboration, root-cause grouping, the incident lifecycle;
streams/offline/model_day.py) with every setting at its default, and counts what an
on-call team would receive: incidents opened (updates of an open incident are not new),
split into pages (critical) and warnings. Healthy traffic (``stationary``, ``seasonal``)
should give 0 pages and at most 1 warning per model-day; each corruption, starting a
third into the run, exactly one incident on the right features, its delay counted in
windows from the onset. ``--baseline`` adds the same runs with ADWIN and KSWIN on and
drift alerting after one window: the settings this calibration replaced.
"""

from __future__ import annotations

import argparse

from tqdm import tqdm

from streams.config.models import AlertingConfig, DriftConfig, OnlineConfig
from streams.devtools.simulator.scenarios import (
    DEFAULT_SHIFTED,
    DEFAULT_SILENT_ZEROS,
    make_scenario,
)
from streams.offline.model_day import DAY0, DAY_S, DayReplay, default_config, replay_windows
from streams.offline.model_day import simulated_profile as profile_of_whole_days

SCENARIOS = ("stationary", "seasonal", "silent-zeros", "sudden-shift", "gradual-drift")
EXPECTED = {"silent-zeros": set(DEFAULT_SILENT_ZEROS), "sudden-shift": set(DEFAULT_SHIFTED)}
EXPECTED["gradual-drift"] = EXPECTED["sudden-shift"]


def baseline_config(window_s: int):
    """The settings before calibration: every online detector, drift after one window."""
    config = default_config(window_s)
    return config.model_copy(
        update={
            "drift": DriftConfig(online=OnlineConfig(detectors=["page_hinkley", "adwin", "kswin"])),
            "alerting": AlertingConfig(drift_fire_after_windows=1),
        }
    )


def run(name: str, config, profile, windows: int, events: int, seed: int) -> DayReplay:
    duration = windows * config.window_s
    corrupt = name in EXPECTED
    scenario = make_scenario(
        name, start=DAY0, duration_s=duration, onset_s=duration / 3 if corrupt else None
    )
    replay = DayReplay()
    steps = replay_windows(config, profile, scenario, windows, events, seed)
    for alerts in tqdm(steps, total=windows, desc=name, leave=False, disable=None):
        replay.alerts += alerts
        replay.windows += 1
    return replay


def describe(name: str, replay: DayReplay, window_s: int) -> str:
    days = replay.windows * window_s / DAY_S
    incidents = replay.incidents()
    line = (
        f"{len(replay.pages()) / days:>5.2f}  {len(replay.warnings()) / days:>8.2f}  "
        f"{len(incidents):>9}"
    )
    if name not in EXPECTED:
        return line
    onset = replay.windows // 3
    found = []
    for alert in incidents:
        start = int(alert.evidence.window_start.timestamp())
        delay = (start - DAY0) // window_s - onset
        right = "right" if set(alert.subjects) == EXPECTED[name] else "WRONG"
        found.append(f"{alert.category.value} on {', '.join(alert.subjects)} ({right}), "
                     f"delay {delay} windows")  # fmt: skip
    return f"{line}  {'; '.join(found) or 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours per scenario")
    parser.add_argument("--events", type=int, default=1000, help="events per 5-minute window")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline", action="store_true", help="also run the settings before calibration"
    )
    args = parser.parse_args()
    profile = profile_of_whole_days()
    configs = [("defaults", default_config())]
    if args.baseline:
        configs.append(("baseline", baseline_config(300)))
    windows = int(args.hours * 3600 // 300)
    print(f"{windows} windows of {args.events} events per scenario; per model-day:")
    print(f"{'settings':<9}  {'scenario':<13}  {'pages':>5}  {'warnings':>8}  {'incidents':>9}")
    for label, config in configs:
        for name in SCENARIOS:
            replay = run(name, config, profile, windows, args.events, args.seed)
            print(f"{label:<9}  {name:<13}  {describe(name, replay, config.window_s)}", flush=True)


if __name__ == "__main__":
    main()
