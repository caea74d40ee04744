"""The simulator's tree model: served scores are its probabilities on the served
features, its labels follow it, and its saved artifact explains what it served."""

from __future__ import annotations

import numpy as np
import pytest

from streams.devtools.simulator.model import EventGenerator, model_score
from streams.devtools.simulator.producer import served_scorer
from streams.devtools.simulator.scenarios import make_scenario
from streams.devtools.simulator.tree_model import TreeScorer, save_tree_artifact
from streams.explain.artifact import load_artifact
from streams.explain.explainers import TreeShap, make_explainer

T0 = 1_767_225_600.0


def test_the_tree_serves_its_own_probabilities_on_the_served_features(tmp_path) -> None:
    scenario = make_scenario("silent-zeros", start=T0, duration_s=600, onset_s=0)
    block = EventGenerator(1, scorer=TreeScorer()).generate(T0 + np.arange(500.0), scenario)
    artifact = load_artifact(save_tree_artifact(tmp_path / "tree.joblib"))
    events = block.to_events()
    rows, problems = artifact.encode_many([e["features"] for e in events])
    assert problems == [None] * len(events)
    served = artifact.model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose([e["prediction"]["score"] for e in events], served, atol=1e-6)
    assert not np.allclose(block.score, block.true_score)  # the zeros moved the score
    explainer = make_explainer(artifact)
    assert isinstance(explainer, TreeShap)
    result = explainer.explain(rows)
    assert result.additivity_error() < 1e-6
    np.testing.assert_allclose(1 / (1 + np.exp(-result.outputs)), served, atol=1e-9)


def test_the_tree_approximates_the_logistic_world() -> None:
    block = EventGenerator(2).generate(T0 + np.arange(4000.0))
    tree = EventGenerator(2, scorer=TreeScorer()).generate(T0 + np.arange(4000.0))
    assert np.corrcoef(block.score, tree.score)[0, 1] > 0.8
    assert abs(block.score.mean() - tree.score.mean()) < 0.03


def test_served_models_by_name() -> None:
    assert served_scorer("logistic") is model_score
    assert isinstance(served_scorer("tree"), TreeScorer)
    with pytest.raises(ValueError, match="not one of logistic, tree"):
        served_scorer("forest")
