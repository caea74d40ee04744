"""The cost of one sampling decision: the seeded BLAKE2b hash of a prediction id, per
id (the client's ``Sampler.keeps``) and batched (stage 1's ``keep_mask``), against
the unkeyed hash stage 1 already computes for reservoir keys.

    .venv/bin/python bench/sampling_hash.py [--ids 200000]
"""

from __future__ import annotations

import argparse
import time

from streams.sampling import Sampler, Tier
from streams.sketches import stable_keys


def per_id_us(seconds: float, n: int) -> float:
    return seconds / n * 1e6


def timed(fn, repeat: int = 3) -> float:
    """The best of ``repeat`` wall times of ``fn()`` (the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=200_000, help="prediction ids hashed")
    args = parser.parse_args()
    ids = [f"sim0-1767225600-{i}" for i in range(args.ids)]
    sampler = Sampler({Tier.labels: 0.1}, seed=7)
    rows = [
        ("Sampler.keeps, one id at a time", lambda: [sampler.keeps(Tier.labels, i) for i in ids]),
        ("Sampler.keep_mask, one batch", lambda: sampler.keep_mask(Tier.labels, ids)),
        ("Sampler.tiers (all four tiers)", lambda: [sampler.tiers(i) for i in ids]),
        ("stable_keys (reservoir keys)", lambda: stable_keys(ids)),
    ]
    for name, fn in rows:
        print(f"{name:34} {per_id_us(timed(fn), len(ids)):6.2f} us per id")


if __name__ == "__main__":
    main()
