"""From prediction events to ``explanations`` records, without Kafka: batching, the
artifact's encoding, refusals with their reason, the record's schema."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import pytest
from sklearn.linear_model import LogisticRegression

from streams.events.models import ExplanationEvent, Prediction, PredictionEvent
from streams.explain.artifact import load_artifact, save_artifact
from streams.explain.errors import ArtifactError
from streams.explain.explainers import make_explainer
from streams.explain.models import ExplainedModel
from streams.explain.records import explain_events
from streams.sampling import Sampler, Tier

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 3))
MODEL = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


@pytest.fixture
def artifact(tmp_path):
    path = save_artifact(
        tmp_path / "m.joblib",
        MODEL,
        ["amount", "age", "country"],
        np.column_stack([X[:, :2], rng.integers(0, 2, 300)]),
        fill={"amount": 0.0},
        categories={"country": ["DE", "FR"]},
    )
    return load_artifact(path)


def event(i: int, **features) -> PredictionEvent:
    return PredictionEvent(
        model_id="fraud",
        model_version="1",
        prediction_id=f"p{i}",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        features=features,
        prediction=Prediction(score=0.5),
    )


def test_the_artifact_encodes_missing_categories_and_refuses_strings(artifact) -> None:
    row = artifact.encode({"age": 2.0, "country": "FR"})
    np.testing.assert_array_equal(row, [0.0, 2.0, 1.0])  # amount filled, FR = code 1
    assert np.isnan(artifact.encode({"amount": 1.0})[1])  # no fill: NaN
    assert "is numeric" in artifact.encode({"amount": "12"})
    assert "not a category" in artifact.encode({"country": "XX"})


def test_a_file_that_is_no_artifact_is_one_line(tmp_path) -> None:
    import joblib

    joblib.dump(MODEL, tmp_path / "bare.joblib")
    with pytest.raises(ArtifactError, match="not a streams model artifact"):
        load_artifact(tmp_path / "bare.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ArtifactError, match="cannot read model artifact"):
        load_artifact(tmp_path / "junk.joblib")
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(tmp_path / "none.joblib")


def test_events_are_explained_in_batches_and_bad_ones_refused(artifact) -> None:
    sampler = Sampler({Tier.explanation: 0.5})
    model = ExplainedModel("fraud", artifact, make_explainer(artifact), sampler, batch_size=4)
    events = [event(i, amount=float(i) / 3, age=1.0, country="DE") for i in range(10)]
    events[2] = event(2, amount="lots", age=1.0)  # a string for a numeric feature
    events[7] = event(7, amount=1.0, country="DE")  # no age, no fill: NaN, the model refuses
    calls = []
    explain = model.explainer.explain
    model.explainer.explain = lambda x: calls.append(len(x)) or explain(x)  # type: ignore[method-assign]
    out = explain_events(model, events)
    assert [i for i, _ in out.refused] == [2, 7]
    assert [r.reason for _, r in out.refused] == ["unexplainable", "explain_failed"]
    assert calls[:2] == [3, 4] and calls[2:] == [1, 1, 1, 1, 2]  # batch 2 retried by row
    records = [ExplanationEvent.model_validate(orjson.loads(v)) for _, v in out.records]
    assert [r.prediction_id for r in records] == [f"p{i}" for i in range(10) if i not in (2, 7)]
    for r, (pid, _) in zip(records, out.records, strict=True):
        assert pid == r.prediction_id
        assert r.explainer == "linear" and r.shap_version is None and r.output == "margin"
        assert r.base_value + sum(r.attributions.values()) == pytest.approx(r.model_output)
        assert r.inclusion_probability == 0.5
        assert r.background_hash == model.explainer.background.hash
    x = artifact.encode(events[0].features)
    assert records[0].model_output == pytest.approx(MODEL.decision_function(x[None])[0])
