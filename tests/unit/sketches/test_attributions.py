"""Attribution aggregates: the Hajek-weighted mean |phi| against numpy, the merge law,
bytes, and the nDCG of a feature ranking against sklearn.metrics.ndcg_score and a
hand computation. (The contract test checks merge, copy and bytes too.)"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from streams.sketches.attributions import NDCG_THRESHOLD, AttributionSketch, attribution_ndcg

FEATURES = ("amount", "age", "country", "device")
rng = np.random.default_rng(5)
PHI = rng.normal(size=(400, 4)) * np.array([2.0, 1.0, 0.5, 0.1])
P = rng.choice([0.01, 0.1, 1.0], size=400)


def test_mean_abs_is_the_weighted_mean_of_absolute_values() -> None:
    sketch = AttributionSketch(FEATURES)
    sketch.update_batch(PHI, P)
    expected = np.average(np.abs(PHI), axis=0, weights=1 / P)
    np.testing.assert_allclose(list(sketch.mean_abs().values()), expected)
    np.testing.assert_allclose(list(sketch.mean().values()), np.average(PHI, axis=0, weights=1 / P))
    assert sketch.n == 400


def test_partitions_merge_into_the_window() -> None:
    whole, parts = AttributionSketch(FEATURES), [AttributionSketch(FEATURES) for _ in range(3)]
    whole.update_batch(PHI, P)
    for i, rows in enumerate(np.array_split(np.arange(400), 3)):
        for r in rows:  # one explanation at a time, as records arrive
            parts[i].update(dict(zip(FEATURES, PHI[r], strict=True)), P[r])
    merged = parts[0] + parts[1] + parts[2]
    for f in FEATURES:
        assert merged.mean_abs()[f] == pytest.approx(whole.mean_abs()[f], rel=1e-12)
    back = AttributionSketch.from_bytes(merged.to_bytes())
    assert back.mean_abs() == merged.mean_abs() and back.features == FEATURES
    with pytest.raises(ValueError, match="cannot merge"):
        merged += AttributionSketch(FEATURES[:2])


@pytest.mark.parametrize("seed", range(5))
def test_ndcg_equals_sklearn(seed: int) -> None:
    r = np.random.default_rng(seed)
    reference = dict(zip(FEATURES, r.random(4), strict=True))
    current = dict(zip(FEATURES, r.random(4), strict=True))
    y_true = np.array([[reference[f] for f in FEATURES]])
    y_score = np.array([[current[f] for f in FEATURES]])
    assert attribution_ndcg(current, reference) == pytest.approx(ndcg_score(y_true, y_score))
    assert attribution_ndcg(current, reference, k=2) == pytest.approx(
        ndcg_score(y_true, y_score, k=2)
    )


def test_ndcg_by_hand_and_the_threshold() -> None:
    reference = {"a": 3.0, "b": 2.0, "c": 1.0}
    assert attribution_ndcg(reference, reference) == 1.0
    # the top feature fell to last: DCG = 2/1 + 1/log2(3) + 3/2
    swapped = {"a": 0.1, "b": 2.0, "c": 1.0}
    ideal = 3 + 2 / np.log2(3) + 1 / 2
    expected = (2 + 1 / np.log2(3) + 3 / 2) / ideal
    assert attribution_ndcg(swapped, reference) == pytest.approx(expected)
    assert attribution_ndcg(swapped, reference) < NDCG_THRESHOLD
    assert attribution_ndcg({"a": 3.0, "b": 0.9, "c": 1.0}, reference) > NDCG_THRESHOLD
