"""Synthetic reference/current frames shared by the project and competitor benchmarks.

Only the standard library, numpy and pyarrow are used, so the project's venv and the
benchmark venv (``.bench-venv``) can both import this module and produce identical data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CATEGORIES: tuple[str, ...] = tuple(f"cat_{i}" for i in range(8))
CATEGORICAL_SHARE = 5 / 25  # ~20 numeric and ~5 categorical out of 25 features

Columns = dict[str, np.ndarray]


def feature_names(features: int = 25) -> tuple[list[str], list[str]]:
    """Return (numeric, categorical) column names for ``features`` features."""
    n_cat = round(features * CATEGORICAL_SHARE)
    n_cat = min(max(n_cat, 1), features - 1) if features >= 2 else 0
    n_num = features - n_cat
    return [f"num_{i:02d}" for i in range(n_num)], [f"cat_{i:02d}" for i in range(n_cat)]


def make_frames(
    rows: int, features: int = 25, seed: int = 0, shift: float = 0.0
) -> tuple[Columns, Columns]:
    """Build reference and current columns with the same distributions.

    Numeric features are normal with per-feature means in [-10, 10) and scales in [0.5, 5);
    categorical features are strings drawn from 8 categories with per-feature probabilities.
    ``shift`` moves the mean of the first numeric feature in the *current* frame by
    ``shift`` standard deviations; every other feature is drawn from the same distribution
    in both frames. Deterministic for a given (rows, features, seed, shift).
    """
    if rows < 1 or features < 1:
        raise ValueError("rows and features must be >= 1")
    numeric, categorical = feature_names(features)
    params = np.random.default_rng(seed)
    means = params.uniform(-10.0, 10.0, len(numeric))
    scales = params.uniform(0.5, 5.0, len(numeric))
    probs = params.dirichlet(np.full(len(CATEGORIES), 2.0), len(categorical))
    cats = np.array(CATEGORIES)

    frames: list[Columns] = []
    for part, frame_shift in enumerate((0.0, shift)):
        rng = np.random.default_rng([seed, part + 1])
        cols: Columns = {}
        for i, name in enumerate(numeric):
            mean = means[i] + (frame_shift * scales[i] if i == 0 else 0.0)
            cols[name] = rng.normal(mean, scales[i], rows)
        for j, name in enumerate(categorical):
            cols[name] = cats[rng.choice(len(CATEGORIES), size=rows, p=probs[j])].astype(object)
        frames.append(cols)
    return frames[0], frames[1]


def write_parquet(columns: Columns, path: str | Path) -> Path:
    """Write ``columns`` (name -> 1-D array) to a Parquet file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({name: pa.array(values) for name, values in columns.items()})
    pq.write_table(table, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Write reference.parquet and current.parquet made by make_frames()."
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows per frame")
    parser.add_argument("--features", type=int, default=25, help="total features (~20%% cat)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--shift", type=float, default=0.0, help="mean shift of num_00 in current, in std"
    )
    parser.add_argument("--out", type=Path, default=Path("."), help="output directory")
    args = parser.parse_args()
    ref, cur = make_frames(args.rows, args.features, args.seed, args.shift)
    print(write_parquet(ref, args.out / "reference.parquet"))
    print(write_parquet(cur, args.out / "current.parquet"))


if __name__ == "__main__":
    main()
