"""What an explainer returns for a batch of rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Attributions:
    """``values`` (n, d): each row's SHAP values; ``base_values`` (n,): the expected
    output they start from; ``outputs`` (n,): the model output they add up to."""

    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray

    def additivity_error(self) -> float:
        """max |base + sum phi - output|: zero for exact explainers, up to rounding."""
        if self.values.shape[0] == 0:
            return 0.0
        return float(np.max(np.abs(self.base_values + self.values.sum(axis=1) - self.outputs)))
