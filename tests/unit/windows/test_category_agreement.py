"""Integer, float-coded, boolean and string categories read the same from CSV, Parquet,
JSONL and live events: a window drawn like its reference shows no drift."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from streams.codec import unpack_partial
from streams.config.models import DriftConfig, ModelConfig
from streams.drift.engine import compare
from streams.windows.aggregate import WindowAggregate
from streams.windows.reference_profile import ReferenceProfile, load_reference
from streams.windows.stage1 import ModelSpec, PartitionState, Stage1
from streams.windows.stage2 import ModelState, apply_message, take_ready

TYPES = {"warehouse": "categorical", "flag": "categorical", "color": "categorical"}
WAREHOUSES, COLORS = [1, 2, 3, 4, 12], ["red", "blue", "green"]
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
WINDOW_S = 300


def draw(rows: int, seed: int) -> dict[str, list]:
    """Rows of the three features (None: missing), the same distribution for any seed."""
    rng = np.random.default_rng(seed)
    warehouse = rng.choice(WAREHOUSES, size=rows, p=[0.4, 0.3, 0.15, 0.1, 0.05]).tolist()
    return {
        "warehouse": [None if rng.random() < 0.05 else int(w) for w in warehouse],
        "flag": [bool(b) for b in rng.random(rows) < 0.3],
        "color": rng.choice(COLORS, size=rows).tolist(),
    }


def write_csv(path: Path, data: dict[str, list]) -> None:
    """Integers with empty cells, booleans as true/false: what a CSV export gives."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(data)
        for w, b, c in zip(*data.values(), strict=True):
            writer.writerow(["" if w is None else w, "true" if b else "false", c])


def write_parquet(path: Path, data: dict[str, list], warehouse: pa.DataType) -> None:
    """``pa.float64()`` is the float-coded column pandas writes for integers with NaN."""
    table = pa.table(
        {
            "warehouse": pa.array(data["warehouse"], type=pa.int64()).cast(warehouse),
            "flag": pa.array(data["flag"]),
            "color": pa.array(data["color"]),
        }
    )
    pq.write_table(table, path)


def write_jsonl(path: Path, data: dict[str, list]) -> None:
    rows = [dict(zip(data, row, strict=True)) for row in zip(*data.values(), strict=True)]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))


WRITERS = {
    "csv": write_csv,
    "parquet-int": lambda p, d: write_parquet(p, d, pa.int64()),
    "parquet-float": lambda p, d: write_parquet(p, d, pa.float64()),
    "jsonl": write_jsonl,
}


@pytest.fixture(scope="module")
def reference_data() -> dict[str, list]:
    return draw(4000, seed=1)


def profile_from(kind: str, data: dict[str, list], tmp_path: Path) -> ReferenceProfile:
    path = tmp_path / f"ref.{kind.split('-')[0]}"
    WRITERS[kind](path, data)
    return load_reference(path, TYPES)  # type: ignore[arg-type]


def served(i: int, row: dict[str, object]) -> dict[str, object]:
    """A warehouse served as an integer, a float or a string in turn, as model servers
    and feature stores do."""
    w = row["warehouse"]
    carried = w if w is None else (w, float(w), str(w))[i % 3]  # type: ignore[arg-type]
    return {**row, "warehouse": carried}


def live_window(profile: ReferenceProfile, rows: dict[str, list]) -> WindowAggregate:
    """The events folded by the real stage 1 and merged by stage 2."""
    config = ModelConfig(id="m", features=TYPES, reference=Path("unused.json"), window_s=WINDOW_S)
    stage1 = Stage1({"m": ModelSpec(config, profile)}, num_partitions=1, max_event_bytes=10_000)
    state, model = PartitionState(0), ModelState("m")
    records = [dict(zip(rows, r, strict=True)) for r in zip(*rows.values(), strict=True)]
    for i, row in enumerate(records):
        raw = orjson.dumps(
            {
                "model_id": "m",
                "model_version": "1",
                "prediction_id": f"p{i}",
                "timestamp": T0 + i * WINDOW_S / (len(records) + 1),
                "features": served(i, row),
                "prediction": {"score": 0.5},
            }
        )
        for out in stage1.process(state, i, None, raw)[1]:
            apply_message(model, unpack_partial(out.serialize()))
    for out in stage1.flush_idle(state):
        apply_message(model, unpack_partial(out.serialize()))
    (ready,) = take_ready(model, WINDOW_S)
    return ready.aggregate


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_file_type_names_categories_as_python_names_integers(
    kind: str, reference_data: dict[str, list], tmp_path: Path
) -> None:
    """Oracle: str() of the integers written, 1/0 for booleans, the strings as they are."""
    profile = profile_from(kind, reference_data, tmp_path)
    expected = {
        "warehouse": Counter(str(w) for w in reference_data["warehouse"] if w is not None),
        "flag": Counter(str(int(b)) for b in reference_data["flag"]),
        "color": Counter(reference_data["color"]),
    }
    assert {n: dict(s.counts) for n, s in profile.features.items()} == expected
    assert profile.features["warehouse"].missing == reference_data["warehouse"].count(None)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_live_window_drawn_like_the_reference_does_not_drift(
    kind: str, reference_data: dict[str, list], tmp_path: Path
) -> None:
    profile = profile_from(kind, reference_data, tmp_path)
    window = live_window(profile, draw(900, seed=2))
    for name, sketch in window.features.items():
        assert set(sketch.counts) <= set(profile.features[name].counts), name
    report = compare(profile.features, window.features, DriftConfig())
    for f in report.features:
        assert not f.drifted, (f.name, f.statistics)
        assert f.statistics["new_category_share"] == 0.0 and not f.new_categories
        assert f.statistics["chi2_effect_size"] < 0.1, f.name  # the gate: a small effect
