"""Drift statistics between a reference and a current window, computed from sketches."""

from streams.drift.chi_squared import ChiSquaredResult, chi_squared
from streams.drift.distances import (
    aligned_counts,
    hellinger,
    jensen_shannon,
    wasserstein,
    wasserstein_binned,
)
from streams.drift.ks import KSResult, ks_test
from streams.drift.mmd import MMDResult, mmd_test
from streams.drift.multiple_testing import adjust_p_values
from streams.drift.psi import psi

__all__ = [
    "ChiSquaredResult",
    "KSResult",
    "MMDResult",
    "adjust_p_values",
    "aligned_counts",
    "chi_squared",
    "hellinger",
    "jensen_shannon",
    "ks_test",
    "mmd_test",
    "psi",
    "wasserstein",
    "wasserstein_binned",
]
