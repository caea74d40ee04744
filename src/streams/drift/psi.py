"""Population Stability Index over histogram bins."""

from __future__ import annotations

import numpy as np

#: Floor for empty-bin proportions: an empty bin would make the log infinite. 1e-4 is the
#: usual choice; it caps one bin's contribution at about 0.001 * ln(10) when it is empty.
EPSILON = 1e-4


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = EPSILON) -> float:
    """PSI = sum((c - r) * ln(c / r)) over bins, from counts or proportions of both sides.

    Rules of thumb: below 0.1 no shift, 0.1-0.2 moderate, above 0.2 significant.

    >>> round(psi(np.array([50, 50]), np.array([30, 70])), 4)
    0.1695
    """
    r = np.asarray(reference, dtype=float)
    c = np.asarray(current, dtype=float)
    if r.shape != c.shape:
        raise ValueError(f"bins differ: reference {r.shape} vs current {c.shape}")
    if r.sum() <= 0 or c.sum() <= 0:
        return float("nan")
    r = np.maximum(r / r.sum(), epsilon)
    c = np.maximum(c / c.sum(), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))
