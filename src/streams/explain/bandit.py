"""KL-LUCB: which of several Bernoulli arms have the highest means, from as few draws
as possible (Kaufmann and Kalyanakrishnan 2013), as the Anchors paper uses it to rank
candidate rules by precision (Ribeiro et al. 2018, section 3.1).

Each arm's confidence interval is where n KL(p_hat, q) <= beta(t): tighter than
Hoeffding's near 0 and 1, which is where an anchor's precision lives.

>>> round(float(kl_bernoulli(0.5, 0.9)), 4)
0.5108
>>> round(float(kl_upper(np.array([0.95]), np.array([0.01]))[0]), 4)
0.975
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["ArmStats", "best_arms", "kl_bernoulli", "kl_lower", "kl_upper"]

#: Constants of the exploration rate beta(t) = log(K1 * arms * t^ALPHA / delta), from the paper.
K1 = 405.5
ALPHA = 1.1
_EPS = 1e-12


def kl_bernoulli(p: np.ndarray | float, q: np.ndarray | float) -> np.ndarray | float:
    """KL(Bernoulli(p) || Bernoulli(q)), with 0 log 0 = 0."""
    p = np.clip(p, _EPS, 1 - _EPS)
    q = np.clip(q, _EPS, 1 - _EPS)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def _bisect(p: np.ndarray, level: np.ndarray, lo: np.ndarray, hi: np.ndarray, upper: bool):
    for _ in range(40):  # 2^-40: far below any precision an anchor reports
        mid = (lo + hi) / 2
        inside = kl_bernoulli(p, mid) <= level
        if upper:
            lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
        else:
            lo, hi = np.where(inside, lo, mid), np.where(inside, mid, hi)
    return lo if upper else hi


def kl_upper(p: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The largest q >= p with KL(p, q) <= level."""
    return _bisect(p, level, p.copy(), np.ones_like(p), upper=True)


def kl_lower(p: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The smallest q <= p with KL(p, q) <= level."""
    return _bisect(p, level, np.zeros_like(p), p.copy(), upper=False)


class ArmStats:
    """Draws and successes per arm, and their KL confidence bounds at ``delta``."""

    def __init__(self, arms: int, delta: float) -> None:
        self.n = np.zeros(arms)
        self.successes = np.zeros(arms)
        self.delta = delta
        self.rounds = 1

    def add(self, arm: int, outcomes: np.ndarray) -> None:
        self.n[arm] += outcomes.size
        self.successes[arm] += outcomes.sum()

    def means(self) -> np.ndarray:
        return self.successes / np.maximum(self.n, 1)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        beta = math.log(K1 * self.n.size * self.rounds**ALPHA / self.delta)
        level = beta / np.maximum(self.n, 1)
        means = self.means()
        return kl_lower(means, level), kl_upper(means, level)


def best_arms(
    draw: Callable[[int], np.ndarray],
    stats: ArmStats,
    top: int,
    epsilon: float,
    budget: int,
) -> list[int]:
    """The ``top`` arms with the highest means, to within ``epsilon`` at confidence
    1 - delta (KL-LUCB): each step draws from the weakest arm in the top set and the
    strongest outside it, until their bounds overlap by less than ``epsilon`` or
    ``budget`` steps are spent. ``draw(arm)`` returns a batch of 0/1 outcomes."""
    arms = stats.n.size
    for arm in range(arms):
        if stats.n[arm] == 0:
            stats.add(arm, draw(arm))
    if arms <= top:
        return list(range(arms))
    for _ in range(budget):
        lower, upper = stats.bounds()
        order = np.argsort(-stats.means(), kind="stable")
        chosen, rest = order[:top], order[top:]
        challenger = rest[np.argmax(upper[rest])]
        weakest = chosen[np.argmin(lower[chosen])]
        if upper[challenger] - lower[weakest] <= epsilon:
            break
        stats.add(int(challenger), draw(int(challenger)))
        stats.add(int(weakest), draw(int(weakest)))
        stats.rounds += 1
    return [int(a) for a in np.argsort(-stats.means(), kind="stable")[:top]]
