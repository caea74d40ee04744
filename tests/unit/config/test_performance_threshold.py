"""A performance threshold that would split one of CBPE's score bins is a config error at
load time, not a ValueError at the first evaluation hours later."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config.loading import ConfigError, load_config
from streams.labels.cbpe import estimate_performance
from streams.sketches.score_histogram import ScoreHistogram

CONFIG = """
models:
  - id: fraud
    features: {amount: numeric}
    reference: ref.json
    performance: {threshold: THRESHOLD}
"""


def load(tmp_path: Path, threshold: float) -> float:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG.replace("THRESHOLD", repr(threshold)))
    model = load_config(path).model("fraud")
    assert model is not None
    return model.performance.threshold


@pytest.mark.parametrize("threshold", [0.5, 0.005, 0.73, 0.995])
def test_every_accepted_threshold_is_one_cbpe_evaluates(tmp_path: Path, threshold: float) -> None:
    histogram = ScoreHistogram()
    histogram.update_batch([0.1, 0.5, 0.8])
    assert estimate_performance(histogram, load(tmp_path, threshold))["n"] == 3


def test_threshold_inside_a_bin_names_the_key_and_the_nearest_edges(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, 0.5031)
    message = str(exc.value)
    assert "models.0.performance" in message and "use 0.5 or 0.505" in message
    with pytest.raises(ValueError):  # what the evaluation would have raised instead
        estimate_performance(ScoreHistogram(), 0.5031)
