"""False-alarm rate of every drift method on stationary simulated traffic, and the
detection rate of a 0.5 standard-deviation shift of one feature, per window size.

    .venv/bin/python bench/false_alarms.py [--windows 100] [--sizes 500,10000]

For each window size it replays ``--windows`` windows of the simulator's stationary
scenario (20 numeric, 5 categorical features) against a 100,000-row reference, then
decides each method at its default threshold on the same statistics. "windows" is
the share of window comparisons in which the method flags at least one feature of
its type; "tests" the share of single feature tests. The default configuration's
row is the one docs/drift.md quotes; the "naive" rows run KS and chi-squared as batch
tools do (p < 0.05 per feature, no correction, no effect gate); the shift rows replay
the ``sudden-shift`` scenario on ``item_price``.
"""

from __future__ import annotations

import argparse

from tqdm import tqdm

from streams.config.models import CATEGORICAL_METHODS, NUMERIC_METHODS, DriftConfig, EffectGates
from streams.devtools.simulator.scenarios import Stationary, SuddenShift
from streams.offline.replay import flag_rate, replay, simulated_reference


def method_config(kind: str, method: str, **settings: object) -> DriftConfig:
    """The default configuration with one method for every window size of a type."""
    if kind == "numeric":
        return DriftConfig(numeric_small=method, numeric_large=method, **settings)
    return DriftConfig(categorical_small=method, categorical_large=method, **settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=100, help="windows per size")
    parser.add_argument("--sizes", default="500,10000", help="comma-separated window sizes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    reference = simulated_reference()
    shift = SuddenShift(affect=("item_price",), onset=0.0, magnitude=0.5)
    print(f"{'window':>7}  {'kind':<11}  {'method':<15}  {'windows':>8}  {'tests':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        stationary = list(
            tqdm(
                replay(reference, Stationary(), args.windows, size, args.seed),
                total=args.windows,
                desc=f"stationary, {size} rows",
                leave=False,
                disable=None,
            )
        )
        rows = [("all", "default", DriftConfig(), None)]
        rows += [("numeric", m, method_config("numeric", m), "numeric") for m in NUMERIC_METHODS]
        rows += [
            ("categorical", m, method_config("categorical", m), "categorical")
            for m in CATEGORICAL_METHODS
        ]
        # the p-value tests as batch tools run them: 0.05 per feature, no correction, no gate
        naive = {"p_value": 0.05, "correction": "none", "effect_gates": EffectGates(ks=0, chi2=0)}
        rows += [
            ("numeric", "ks, naive", method_config("numeric", "ks", **naive), "numeric"),
            (
                "categorical",
                "chi2, naive",
                method_config("categorical", "chi2", **naive),
                "categorical",
            ),
        ]
        for kind, method, config, only in sorted(rows, key=lambda r: (r[0] != "all", r[:2])):
            windows, tests = flag_rate(stationary, config, only)
            print(f"{size:>7}  {kind:<11}  {method:<15}  {windows:>8.1%}  {tests:>8.2%}")
        shifted = list(replay(reference, shift, 20, size, args.seed))
        hits = sum(
            any(f.drifted and f.name == "item_price" for f in w.verdicts(DriftConfig()))
            for w in shifted
        )
        print(f"{size:>7}  0.5 sd shift of item_price flagged in {hits} of {len(shifted)} windows")


if __name__ == "__main__":
    main()
