"""Anchors of a rule-based model whose true anchors are known: the search finds them,
and their precision on fresh perturbations from the reference is at least 0.95; the
KL bounds and the best-arm identification checked against scipy and known arms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from streams.explain.anchors import AnchorSearch
from streams.explain.bandit import ArmStats, best_arms, kl_bernoulli, kl_lower, kl_upper

REFERENCE = np.random.default_rng(1).uniform(size=(3000, 4))
FEATURES = ("a", "b", "c", "d")


def rule_model(rows: np.ndarray) -> np.ndarray:
    """1 iff a > 0.5 and b > 0.5: the anchor of a row is its a and b ranges when it is
    1, its a (or b) range alone when that range lies at or below 0.5."""
    return ((rows[:, 0] > 0.5) & (rows[:, 1] > 0.5)).astype(int)


def fresh_precision(search: AnchorSearch, x: np.ndarray, anchor, n: int = 20_000) -> float:
    rows = AnchorSearch(rule_model, REFERENCE, FEATURES, seed=99).perturb(x, anchor.predicates, n)
    assert all(p.holds(rows).all() for p in anchor.predicates)
    return float((rule_model(rows) == rule_model(x[None, :])[0]).mean())


@pytest.mark.parametrize(
    ("x", "columns"),
    [
        ([0.9, 0.9, 0.1, 0.3], {0, 1}),
        ([0.6, 0.8, 0.7, 0.2], {0, 1}),
        ([0.1, 0.9, 0.5, 0.5], {0}),
        ([0.8, 0.2, 0.5, 0.5], {1}),
    ],
)
def test_the_anchor_is_the_known_rule_with_precision_at_least_095(x, columns) -> None:
    search = AnchorSearch(rule_model, REFERENCE, FEATURES, precision=0.95, seed=0)
    x = np.array(x)
    anchor = search.explain(x)
    assert anchor.valid
    assert {p.column for p in anchor.predicates} == columns
    assert anchor.precision_lower >= 0.95
    assert fresh_precision(search, x, anchor) >= 0.95
    expected_coverage = np.mean(np.all([p.holds(REFERENCE) for p in anchor.predicates], axis=0))
    assert anchor.coverage == pytest.approx(expected_coverage)
    assert anchor.rule().endswith(f"THEN prediction = {rule_model(x[None])[0]}")


def test_a_categorical_predicate_reads_its_label() -> None:
    reference = np.column_stack([REFERENCE[:, 0], np.floor(REFERENCE[:, 1] * 3)])
    search = AnchorSearch(
        lambda r: (r[:, 1] == 2).astype(int), reference, ("a", "country"), {1: ("FR", "IT", "DE")}
    )
    anchor = search.explain(np.array([0.3, 2.0]))
    assert anchor.rule() == "IF country = DE THEN prediction = 1"
    assert anchor.coverage == pytest.approx(np.mean(reference[:, 1] == 2))


def test_the_kl_bounds_solve_kl_equals_the_level() -> None:
    for p, level in [(0.9, 0.05), (0.5, 0.2), (0.99, 0.01), (0.2, 0.3)]:
        upper = kl_upper(np.array([p]), np.array([level]))[0]
        lower = kl_lower(np.array([p]), np.array([level]))[0]
        assert upper == pytest.approx(
            brentq(lambda q, p=p, level=level: kl_bernoulli(p, q) - level, p, 1 - 1e-12)
        )
        assert lower == pytest.approx(
            brentq(lambda q, p=p, level=level: kl_bernoulli(p, q) - level, 1e-12, p)
        )


def test_kl_lucb_finds_the_best_arms() -> None:
    means = np.array([0.5, 0.9, 0.6, 0.95, 0.3])
    rng = np.random.default_rng(3)
    stats = ArmStats(means.size, delta=0.05)
    chosen = best_arms(lambda arm: rng.random(50) < means[arm], stats, 2, 0.05, budget=500)
    assert set(chosen) == {1, 3}
    assert stats.n[4] < stats.n[3]  # the clearly bad arm is drawn least


def test_a_target_precision_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match="precision must be in"):
        AnchorSearch(rule_model, REFERENCE, FEATURES, precision=1.0)
