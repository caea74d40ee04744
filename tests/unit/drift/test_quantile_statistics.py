"""KS and quantiles from the quantile sketches, Wasserstein from the bins, against scipy
on the raw values: live windows of 500 to 100,000 events within the bound docs/drift.md
states, and ``streams drift`` on two files exact on the full columns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from tests.unit.offline.tables import write_parquet

from streams.drift.engine import numeric_statistics
from streams.offline.compare import run_comparison
from streams.sketches import NumericSketch, stable_keys
from streams.sketches.quantiles import QuantileSketch
from streams.windows.reference_profile import build_profile

Shape = Callable[[np.random.Generator, int, float], np.ndarray]

#: Numeric columns as users have them; ``shift`` moves them by that many of their sds.
SHAPES: dict[str, Shape] = {
    "normal": lambda rng, n, shift: rng.normal(shift, 1.0, n),
    "lognormal": lambda rng, n, shift: rng.lognormal(0.0, 1.0, n) + 2.16 * shift,
    "counts": lambda rng, n, shift: rng.poisson(3.0 + 1.73 * shift, n).astype(float),
    "heavy_ties": lambda rng, n, shift: rng.choice([0.0, 1.0, 2.5, 10.0], n) + 3.9 * shift,
    "zero_inflated": lambda rng, n, shift: np.where(
        rng.random(n) < 0.6, 0.0, rng.exponential(5.0 + 4.0 * shift, n)
    ),
}


def _sketch_pair(reference: np.ndarray, current: np.ndarray) -> tuple[NumericSketch, ...]:
    """The reference profiled as ``streams reference build`` does, the window folded in
    batches of 500 as stage 1 folds, keyed by event ids."""
    profile = build_profile({"x": reference}, {"x": "numeric"})
    ref = profile.features["x"]
    window = profile.empty_sketches()["x"]
    keys = stable_keys([f"event-{i}" for i in range(current.size)])
    for start in range(0, current.size, 500):
        window.update_batch(current[start : start + 500], keys=keys[start : start + 500])
    return ref, window  # type: ignore[return-value]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("events", [500, 5_000, 100_000])
@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_window_ks_and_wasserstein_are_within_the_stated_bound_of_the_raw_events(
    shape: str, events: int, shift: float
) -> None:
    rng = np.random.default_rng(events + int(10 * shift))
    reference = SHAPES[shape](rng, 100_000, 0.0)
    current = SHAPES[shape](rng, events, shift)
    ref, window = _sketch_pair(reference, current)
    assert ref.quantiles is not None and window.quantiles is not None
    got = numeric_statistics(ref, window)

    bound = ref.quantiles.rank_error + window.quantiles.rank_error
    assert 0 < bound <= 0.0133 + 0.0028 + 1e-4  # both compact at these sizes
    exact = stats.ks_2samp(reference, current)
    assert abs(got["ks"] - exact.statistic) <= bound
    # conservative: the p-value of the statistic less the bound, on the real counts
    effective = np.sqrt(events * reference.size / (events + reference.size))
    floor = stats.kstwobign.sf(effective * max(got["ks"] - bound, 0.0))
    assert got["ks_p_value"] == pytest.approx(floor, rel=1e-9, abs=1e-300)
    if exact.statistic > bound:  # no looser than needed: the exact KS less twice the bound
        assert got["ks_p_value"] <= stats.kstwobign.sf(effective * (exact.statistic - 2 * bound))

    # Wasserstein from the bins with their means: the tolerance docs/drift.md states
    distance = stats.wasserstein_distance(reference, current) / reference.std(ddof=1)
    assert got["wasserstein"] == pytest.approx(distance, abs=0.025)


def test_small_windows_are_exact_until_the_sketch_compacts() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=150), rng.normal(0.5, 1.0, 150)
    ref, window = _sketch_pair(reference, current)
    got = numeric_statistics(ref, window)
    exact = stats.ks_2samp(reference, current, method="asymp")
    assert window.quantiles.rank_error == 0.0 == ref.quantiles.rank_error
    assert got["ks"] == pytest.approx(exact.statistic, abs=1e-12)
    assert got["ks_p_value"] == pytest.approx(stats.kstwobign.sf(np.sqrt(75) * exact.statistic))


@pytest.mark.parametrize("shape", SHAPES)
def test_quantile_sketch_ranks_and_quantiles_are_within_its_rank_error(shape: str) -> None:
    values = SHAPES[shape](np.random.default_rng(5), 50_000, 0.0)
    sketch = QuantileSketch()
    for part in np.array_split(values, 7):  # a merge of parts, as stage 2 merges
        piece = QuantileSketch()
        piece.update_batch(part)
        sketch += piece
    ordered = np.sort(values)
    points = np.unique(ordered)
    exact_cdf = np.searchsorted(ordered, points, side="right") / values.size
    assert np.max(np.abs(sketch.cdf(points) - exact_cdf)) <= sketch.rank_error
    for q in (0.01, 0.25, 0.5, 0.9, 0.99):
        value = sketch.quantile(q)  # its rank brackets q within the error
        below = np.searchsorted(ordered, value, side="left") / values.size
        at_or_below = np.searchsorted(ordered, value, side="right") / values.size
        assert below - sketch.rank_error <= q <= at_or_below + sketch.rank_error


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rows", [3_000, 100_000])
def test_streams_drift_on_two_files_is_exact_on_the_full_columns(
    tmp_path: Path, shape: str, rows: int
) -> None:
    rng = np.random.default_rng(rows)
    columns = [SHAPES[shape](rng, rows, 0.0), SHAPES[shape](rng, rows - 7, 0.2)]
    paths = []
    for name, column in zip(("reference", "current"), columns, strict=True):
        values = column.tolist()
        values[::97] = [None] * len(values[::97])  # missing cells are not values
        paths.append(write_parquet(tmp_path / f"{name}.parquet", {"x": values}))
    result = run_comparison(*paths)
    statistics = result.report.features[0].statistics
    ref, cur = (np.delete(c, np.s_[::97]) for c in columns)
    exact = stats.ks_2samp(ref, cur)
    assert abs(statistics["ks"] - exact.statistic) <= 0.005
    assert statistics["ks"] == pytest.approx(exact.statistic, abs=1e-12)  # in fact exact
    distance = stats.wasserstein_distance(ref, cur) / ref.std(ddof=1)
    assert statistics["wasserstein"] == pytest.approx(distance, rel=0.01)
    assert statistics["wasserstein"] == pytest.approx(distance, rel=1e-9)  # in fact exact
    effective = np.sqrt(ref.size * cur.size / (ref.size + cur.size))
    assert statistics["ks_p_value"] == pytest.approx(
        stats.kstwobign.sf(effective * exact.statistic), rel=1e-6, abs=1e-300
    )
