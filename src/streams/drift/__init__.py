"""Drift statistics between a reference and a current window, computed from sketches."""

from streams.drift.chi_squared import ChiSquaredResult, chi_squared
from streams.drift.psi import psi

__all__ = ["ChiSquaredResult", "chi_squared", "psi"]
