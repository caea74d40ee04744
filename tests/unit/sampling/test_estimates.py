"""Horvitz-Thompson estimates: exact unbiasedness of the total and of its variance
estimate by enumerating every sample of a small Poisson design (a hand computation),
and on a hash-sampled population over 200 seeds: the estimates centre on the truth
and the 95 % intervals cover it about 95 % of the time (scipy's binomial test)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from streams.sampling import KeepRule, Sampler, Tier, WeightedTally


def test_total_and_its_variance_estimate_are_unbiased_over_every_sample() -> None:
    y = np.array([3.0, 0.0, 1.0, 7.0, 2.0, 5.0, 1.0, 4.0])
    p = np.array([0.1, 0.5, 0.9, 0.3, 1.0, 0.2, 0.7, 0.4])
    expected_total = expected_variance = expected_square = 0.0
    for kept in itertools.product([False, True], repeat=len(y)):
        mask = np.array(kept)
        chance = float(np.prod(np.where(mask, p, 1 - p)))
        tally = WeightedTally()
        tally.add_batch(y[mask], p[mask])
        estimate = tally.total()
        expected_total += chance * estimate.value
        expected_square += chance * estimate.value**2
        expected_variance += chance * estimate.se**2
    true_variance = float(np.sum((1 - p) / p * y**2))  # Poisson design, by hand
    assert expected_total == pytest.approx(y.sum())
    assert expected_square - expected_total**2 == pytest.approx(true_variance)
    assert expected_variance == pytest.approx(true_variance)


def test_tallies_merge_by_adding() -> None:
    a, b, whole = WeightedTally(), WeightedTally(), WeightedTally()
    a.add_batch([1, 0, 1], [0.1, 0.1, 1.0])
    b.add_batch([0, 1], [0.5, 0.2])
    whole.add_batch([1, 0, 1, 0, 1], [0.1, 0.1, 1.0, 0.5, 0.2])
    a += b
    assert a.to_list() == pytest.approx(whole.to_list())
    assert WeightedTally.from_list(a.to_list()).to_list() == a.to_list()


def test_bad_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        WeightedTally().add_batch([1.0], [0.0])


SEEDS = 200


def test_weighted_estimates_cover_the_truth_at_their_nominal_rate() -> None:
    """A population of 5,000 labelled predictions, 10 % of them in an always-kept
    cohort, the rest at a 10 % label tier; each seed draws another hash sample."""
    rng = np.random.default_rng(0)
    n = 5_000
    ids = [f"pred-{i}" for i in range(n)]
    kept_cohort = rng.random(n) < 0.1
    correct = (rng.random(n) < np.where(kept_cohort, 0.6, 0.85)).astype(float)
    segments = [{"country": "DE" if k else "US"} for k in kept_cohort]
    rule = KeepRule("country", frozenset({"DE"}), frozenset({Tier.labels}))
    truth = {"count": n, "total": correct.sum(), "mean": correct.mean()}
    estimates: dict[str, list[float]] = {k: [] for k in truth}
    covered = dict.fromkeys(truth, 0)
    for seed in range(SEEDS):
        sampler = Sampler({Tier.labels: 0.1}, seed=seed, rules=[rule])
        mask = sampler.keep_mask(Tier.labels, ids, segments)
        p = [sampler.probability(Tier.labels, s) for s, k in zip(segments, mask, strict=True) if k]
        tally = WeightedTally()
        tally.add_batch(correct[mask], p)
        for name, estimate in (
            ("count", tally.count()),
            ("total", tally.total()),
            ("mean", tally.mean()),
        ):
            estimates[name].append(estimate.value)
            covered[name] += estimate.lo <= truth[name] <= estimate.hi
    for name, value in truth.items():
        spread = np.std(estimates[name], ddof=1) / np.sqrt(SEEDS)
        assert abs(np.mean(estimates[name]) - value) < 4 * spread, name
        # unweighted, the kept cohort's lower accuracy would pull the mean down: the
        # weights are what make it right
        assert stats.binomtest(covered[name], SEEDS, 0.95).pvalue > 0.001, (name, covered[name])
    naive = correct[kept_cohort].sum() + correct[~kept_cohort].sum() * 0.1
    naive /= kept_cohort.sum() + (~kept_cohort).sum() * 0.1
    assert abs(naive - truth["mean"]) > 4 * np.std(estimates["mean"])
