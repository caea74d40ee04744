"""Reference profiles: built from CSV, Parquet or JSONL, stored, and loaded back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streams.cli import main
from streams.reference import ReferenceError, ReferenceProfile, build_profile, load_reference
from streams.simulator.datafiles import write_rows
from streams.sketches import NumericSketch

CONFIG = """
models:
  - id: m
    features: {x: numeric, c: categorical}
    reference: ref.json
"""


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_reference_build_cli(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=1000)
    data = tmp_path / f"train{suffix}"
    write_rows(data, {"x": x, "c": rng.choice(["a", "b"], 1000), "unused": x})
    (tmp_path / "monitor.yaml").write_text(CONFIG)
    out = tmp_path / "ref.json"
    code = main(
        [
            "reference",
            "build",
            "--input",
            str(data),
            "--output",
            str(out),
            "--config",
            str(tmp_path / "monitor.yaml"),
        ]
    )
    assert code == 0
    profile = load_reference(out, {"x": "numeric", "c": "categorical"})
    assert set(profile.features) == {"x", "c"} and profile.rows == 1000
    sketch = profile.features["x"]
    assert isinstance(sketch, NumericSketch)
    # deciles of the data: each of the 10 inner bins holds a tenth of the rows
    assert np.allclose(sketch.counts[1:-1] / 1000, 0.1, atol=0.002)
    assert np.allclose(sketch.edges, np.quantile(x, np.linspace(0.1, 0.9, 9)))
    assert main(["config", "check", str(tmp_path / "monitor.yaml")]) == 0


def test_profile_round_trip_and_type_errors(tmp_path: Path) -> None:
    profile = build_profile({"x": [1.0, 2.0, None, 0.0], "c": ["u", None, "v", "u"]})
    assert profile.types == {"x": "numeric", "c": "categorical"}
    back = ReferenceProfile.from_json(profile.to_json())
    assert back.features["x"].to_dict() == profile.features["x"].to_dict()
    path = tmp_path / "p.json"
    path.write_bytes(profile.to_json())
    with pytest.raises(ReferenceError, match="types differ from the config for: x"):
        load_reference(path, {"x": "categorical"})
    with pytest.raises(ReferenceError, match="lacks configured features: y"):
        load_reference(path, {"y": "numeric"})
    with pytest.raises(ReferenceError, match="is numeric in the config but holds 'oops'"):
        build_profile({"x": [1.0, "oops"]}, {"x": "numeric"})
