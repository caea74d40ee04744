"""Anchors (Ribeiro, Singh and Guestrin, AAAI 2018): the rule, made of a few of the
instance's own feature ranges, under which the model's answer almost never changes.

Written from the paper (alibi, the best-known implementation, is BSL-licensed):

- **predicates**: each feature discretised on quantiles of the reference sample; the
  candidate predicates are the bins the instance falls in ("0.25 < x <= 0.5",
  "country = DE");
- **perturbations**: rows drawn from the reference with the anchor's features taken
  from reference rows that satisfy the whole anchor (so the anchor holds, and the
  rest varies as the data does);
- **precision** of a rule: the share of its perturbations the model answers as it
  answered the instance; **coverage**: the share of reference rows that satisfy it;
- **search**: beam search, one predicate added per round, candidates ranked by
  KL-LUCB (bandit.py); the anchor is the covering-most candidate whose precision's
  lower bound clears ``precision`` (tau), and a round keeps only candidates that
  could still cover more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streams.explain.bandit import ArmStats, best_arms

__all__ = ["Anchor", "AnchorSearch", "Predicate"]


@dataclass(frozen=True, order=True)
class Predicate:
    """``low < x[column] <= high`` (either side may be open), or ``x == value`` for a
    categorical column (``label`` names the category)."""

    column: int
    feature: str
    low: float = -np.inf
    high: float = np.inf
    label: str | None = None

    def holds(self, rows: np.ndarray) -> np.ndarray:
        x = rows[:, self.column]
        if self.label is not None:
            return x == self.low
        return (x > self.low) & (x <= self.high)

    def __str__(self) -> str:
        if self.label is not None:
            return f"{self.feature} = {self.label}"
        if self.low == -np.inf:
            return f"{self.feature} <= {self.high:.4g}"
        if self.high == np.inf:
            return f"{self.feature} > {self.low:.4g}"
        return f"{self.low:.4g} < {self.feature} <= {self.high:.4g}"


@dataclass(frozen=True)
class Anchor:
    """The rule, its estimated precision (with the bandit's lower bound), its coverage
    of the reference, and whether the lower bound cleared the target precision."""

    predicates: tuple[Predicate, ...]
    answer: Any
    precision: float
    precision_lower: float
    coverage: float
    valid: bool
    samples: int

    def rule(self) -> str:
        condition = " AND ".join(str(p) for p in self.predicates) or "(always)"
        return f"IF {condition} THEN prediction = {self.answer}"


@dataclass
class AnchorSearch:
    """Anchors of ``predict`` (rows -> answers, e.g. a classifier's ``predict``) over the
    ``reference`` sample (rows, columns named by ``features``). ``categories``: column
    -> value labels of the categorical columns (codes are positions)."""

    predict: Callable[[np.ndarray], np.ndarray]
    reference: np.ndarray
    features: Sequence[str]
    categories: Mapping[int, Sequence[str]] = field(default_factory=dict)
    quantiles: int = 4
    precision: float = 0.95
    delta: float = 0.1
    epsilon: float = 0.1
    beam: int = 2
    batch: int = 100
    budget: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.precision < 1:
            raise ValueError(f"precision must be in (0, 1), got {self.precision}")
        if self.reference.ndim != 2 or self.reference.shape[1] != len(self.features):
            raise ValueError(f"reference must be (rows, {len(self.features)})")
        qs = np.linspace(0, 1, self.quantiles + 1)[1:-1]
        self._edges = [np.unique(np.nanquantile(col, qs)) for col in self.reference.T]
        self._rng = np.random.default_rng(self.seed)

    def predicates(self, x: np.ndarray) -> list[Predicate]:
        """The bins ``x`` falls in, one predicate per feature."""
        out = []
        for j, name in enumerate(self.features):
            if j in self.categories:
                out.append(Predicate(j, name, x[j], x[j], self.categories[j][int(x[j])]))
                continue
            edges = np.concatenate([[-np.inf], self._edges[j], [np.inf]])
            k = int(np.searchsorted(edges, x[j], side="left")) - 1
            k = min(max(k, 0), edges.size - 2)
            out.append(Predicate(j, name, float(edges[k]), float(edges[k + 1])))
        return out

    def _satisfying(self, anchor: tuple[Predicate, ...]) -> np.ndarray:
        mask = np.ones(self.reference.shape[0], dtype=bool)
        for p in anchor:
            mask &= p.holds(self.reference)
        return mask

    def perturb(self, x: np.ndarray, anchor: tuple[Predicate, ...], n: int) -> np.ndarray:
        """``n`` reference rows with the anchor's columns from rows that satisfy it."""
        rows = self.reference[self._rng.integers(0, self.reference.shape[0], n)].copy()
        if anchor:
            columns = [p.column for p in anchor]
            matching = np.flatnonzero(self._satisfying(anchor))
            if matching.size:
                donors = self.reference[self._rng.choice(matching, n)]
                rows[:, columns] = donors[:, columns]
            else:  # no reference row satisfies it: the instance's own values
                rows[:, columns] = x[columns]
        return rows

    def explain(self, x: np.ndarray) -> Anchor:
        """The anchor of ``x`` (the paper's Algorithm 2); if none clears the target
        precision, the most precise rule found, with ``valid=False``."""
        x = np.asarray(x, dtype=np.float64)
        answer = self.predict(x[None, :])[0]

        def draw(anchor: tuple[Predicate, ...]) -> np.ndarray:
            return (self.predict(self.perturb(x, anchor, self.batch)) == answer).astype(float)

        coverage = {(): 1.0}
        best: Anchor | None = None
        beam: list[tuple[Predicate, ...]] = [()]
        candidates_all = self.predicates(x)
        for _ in range(len(self.features)):
            floor = best.coverage if best is not None and best.valid else -1.0
            candidates = self._extend(beam, candidates_all, coverage, floor)
            if not candidates:
                break
            stats = ArmStats(len(candidates), self.delta)
            chosen = best_arms(
                lambda i, c=candidates: draw(c[i]), stats, self.beam, self.epsilon, self.budget
            )
            beam = [candidates[i] for i in chosen]
            for i in chosen:
                found = self._verify(candidates[i], i, stats, draw, answer, coverage)
                if _better(found, best):
                    best = found
        assert best is not None
        return best

    def _extend(
        self,
        beam: list[tuple[Predicate, ...]],
        predicates: list[Predicate],
        coverage: dict[tuple[Predicate, ...], float],
        floor: float,
    ) -> list[tuple[Predicate, ...]]:
        """Each rule of the beam plus one more of the instance's predicates, kept only
        when it covers more than the best anchor so far."""
        out = []
        for anchor in beam:
            used = {p.column for p in anchor}
            for p in predicates:
                if p.column in used:
                    continue
                candidate = tuple(sorted((*anchor, p)))
                if candidate in out:
                    continue
                coverage[candidate] = float(self._satisfying(candidate).mean())
                if coverage[candidate] > floor:
                    out.append(candidate)
        return out

    def _verify(
        self,
        anchor: tuple[Predicate, ...],
        arm: int,
        stats: ArmStats,
        draw: Callable[[tuple[Predicate, ...]], np.ndarray],
        answer: Any,
        coverage: dict[tuple[Predicate, ...], float],
    ) -> Anchor:
        """Draw until the precision's bounds sit on one side of the target (or the
        budget ends): the paper's precLB(A) > tau check."""
        for _ in range(self.budget):
            lower, upper = stats.bounds()
            if lower[arm] >= self.precision or upper[arm] < self.precision:
                break
            stats.add(arm, draw(anchor))
        lower, _ = stats.bounds()
        return Anchor(
            predicates=anchor,
            answer=answer.item() if hasattr(answer, "item") else answer,
            precision=float(stats.means()[arm]),
            precision_lower=float(lower[arm]),
            coverage=coverage[anchor],
            valid=bool(lower[arm] >= self.precision),
            samples=int(stats.n[arm]),
        )


def _better(found: Anchor, best: Anchor | None) -> bool:
    """A valid rule beats an invalid one; among valid ones, coverage; else precision."""
    if best is None:
        return True
    if found.valid != best.valid:
        return found.valid
    return found.coverage > best.coverage if found.valid else found.precision > best.precision
