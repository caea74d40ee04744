"""Exact SHAP values of a linear model, in closed form and without shap.

For f(x) = w . x + b with independent features (the interventional value function
over a background), every coalition's value is linear, and the Shapley value of
feature i is phi_i = w_i (x_i - E[x_i]); the base value is f(E[x]). So base + sum phi
is f(x) exactly. A logistic model is explained in margin space (its log-odds), where
it is linear; tests check this against shap's LinearExplainer and a brute-force
enumeration of every coalition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streams.explain.attributions import Attributions
from streams.explain.background import Background
from streams.explain.errors import ArtifactError

__all__ = ["LinearShap", "linear_weights"]


def linear_weights(model: Any) -> tuple[np.ndarray, float] | None:
    """(w, b) of a fitted scikit-learn linear model with one output, else None."""
    if not type(model).__module__.startswith("sklearn.linear_model"):
        return None
    coef = np.asarray(getattr(model, "coef_", None), dtype=np.float64)
    if coef.ndim == 2 and coef.shape[0] == 1:
        coef = coef[0]
    if coef.ndim != 1:
        raise ArtifactError(
            f"{type(model).__name__} with {coef.shape} coefficients: one output only"
        )
    intercept = np.ravel(np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64))
    return coef, float(intercept[0]) if intercept.size else 0.0


class LinearShap:
    """phi = w (x - E[x]) over ``background``; output: the margin w . x + b."""

    name = "linear"
    version = "streams-exact-1"
    shap_version = None  # the closed form needs no shap

    def __init__(
        self, weights: np.ndarray, intercept: float, background: Background, output: str = "margin"
    ) -> None:
        self.output = output
        self.weights = weights
        self.intercept = intercept
        self.background = background
        self._mean = background.mean()
        self.expected_value = float(self._mean @ weights + intercept)

    def explain(self, x: np.ndarray) -> Attributions:
        values = (x - self._mean) * self.weights
        outputs = x @ self.weights + self.intercept
        return Attributions(values, np.full(x.shape[0], self.expected_value), outputs)
