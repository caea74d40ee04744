"""Sketch of the labelled pairs of one (model, cohort, window): what stage 1 folds as late
labels meet their stored predictions, and stage 2 merges across partitions before
computing metrics (streams/labels/metrics.py). Every field is a count or a sum, so
the merge of the parts' sketches is the whole's sketch (sums up to float rounding)."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from streams.sketches.base import Sketch
from streams.sketches.bytes import Reader, header

#: Equal-width score bins over [0, 1] for ROC AUC: ties within a bin count half, which
#: moves AUC by at most half the within-bin pair mass (see ``metrics.auc_tie_bound``).
SCORE_BINS = 200
#: Equal-width calibration bins for ECE; each is exactly SCORE_BINS // 10 score bins.
CALIBRATION_BINS = 10
assert SCORE_BINS % CALIBRATION_BINS == 0
#: Label delays: log-spaced bins from one minute to 90 days (each under 10% wide), plus
#: an underflow bin below a minute and an overflow bin from 90 days on.
DELAY_BINS = 128
DELAY_EDGES_S = np.geomspace(60.0, 90 * 86_400.0, DELAY_BINS + 1)
#: sklearn's clipping of probabilities for log loss (since 1.5: the float64 epsilon).
LOG_LOSS_EPS = float(np.finfo(float).eps)

_KIND = b"P"
# score, calibration and delay bins; threshold, log-loss sum; tp, fp, tn, fn, n_regression,
# ape_excluded; abs, squared and absolute-percentage error sums, delay min and max
_HEADER = struct.Struct("<3I2d6q5d")


def score_bins(scores: np.ndarray) -> np.ndarray:
    """The SCORE_BINS bin of each score in [0, 1]; a score of exactly 1 joins the last."""
    return np.minimum((scores * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)


def check_scores(scores: np.ndarray | list) -> np.ndarray:
    """Scores as a float array, refused unless every one is a probability."""
    s = np.asarray(scores, dtype=float)
    if not np.all((s >= 0.0) & (s <= 1.0)):  # also refuses nan
        raise ValueError("scores must be probabilities in [0, 1]")
    return s


def _check_delays(delays_s: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Delays as floats; negative ones (clock skew between the label and prediction
    sources) count as 0."""
    d = np.asarray(delays_s, dtype=float)
    if d.shape != shape or not np.all(np.isfinite(d)):
        raise ValueError("delays must be finite, one per pair")
    return np.maximum(d, 0.0)


class PerformanceSketch(Sketch):
    """Confusion counts at one threshold, per-class score histograms (ROC AUC), the exact
    log-loss sum, per-calibration-bin score sums (ECE), regression error sums and a
    label-delay histogram.

    The threshold is fixed by the first classification batch: counts at different
    thresholds cannot be added, so a second one, in a batch or a merge, is refused.

    >>> s = PerformanceSketch()
    >>> s.update_batch(np.array([0.9, 0.4, 0.7]), np.array([1, 1, 0]), np.array([60.0] * 3))
    >>> (s.tp, s.fp, s.tn, s.fn), s.n
    ((1, 1, 0, 1), 3)
    """

    __slots__ = (
        "abs_error_sum",
        "ape_excluded",
        "ape_sum",
        "calibration_score_sums",
        "delay_counts",
        "delay_max",
        "delay_min",
        "fn",
        "fp",
        "log_loss_sum",
        "n_regression",
        "negative_counts",
        "positive_counts",
        "squared_error_sum",
        "threshold",
        "tn",
        "tp",
    )

    def __init__(self) -> None:
        self.threshold = math.nan  # set by the first classification batch
        self.tp = self.fp = self.tn = self.fn = 0
        self.positive_counts = np.zeros(SCORE_BINS, dtype=np.int64)  # scores of label 1
        self.negative_counts = np.zeros(SCORE_BINS, dtype=np.int64)  # scores of label 0
        self.log_loss_sum = 0.0
        self.calibration_score_sums = np.zeros(CALIBRATION_BINS, dtype=float)
        self.n_regression = 0
        self.abs_error_sum = 0.0
        self.squared_error_sum = 0.0
        self.ape_sum = 0.0  # sum of |error| / |value| over non-zero values
        self.ape_excluded = 0  # zero values, left out of MAPE
        self.delay_counts = np.zeros(DELAY_BINS + 2, dtype=np.int64)
        self.delay_min = math.inf
        self.delay_max = -math.inf

    @property
    def n_classification(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def n(self) -> int:
        """Every pair folded in, classification and regression."""
        return self.n_classification + self.n_regression

    @property
    def calibration_counts(self) -> np.ndarray:
        """Pairs per calibration bin, from the finer score histograms."""
        both = self.positive_counts + self.negative_counts
        return both.reshape(CALIBRATION_BINS, -1).sum(axis=1)

    @property
    def calibration_label_sums(self) -> np.ndarray:
        """Positive labels per calibration bin, from the finer score histograms."""
        return self.positive_counts.reshape(CALIBRATION_BINS, -1).sum(axis=1)

    def update(
        self,
        output: float,
        target: float,
        delay_s: float,
        regression: bool = False,
        threshold: float = 0.5,
    ) -> None:
        """Fold one pair; prefer :meth:`update_batch` for many."""
        pair = (np.array([output]), np.array([target]), np.array([delay_s]))
        self.update_batch(*pair, regression=regression, threshold=threshold)

    def update_batch(
        self,
        outputs: np.ndarray,
        targets: np.ndarray,
        delays_s: np.ndarray,
        regression: bool | np.ndarray = False,
        threshold: float = 0.5,
    ) -> None:
        """Fold (model output, label, delay) pairs: a classifier's score and 0/1 label, or
        (where ``regression``, a bool or a mask) a regression model's output and true
        value. A score at or above ``threshold`` predicts 1."""
        outputs, targets = np.asarray(outputs), np.asarray(targets)
        delays_s = np.asarray(delays_s)
        if not outputs.shape == targets.shape == delays_s.shape:
            raise ValueError("one label and one delay per output")
        mask = np.broadcast_to(np.asarray(regression, dtype=bool), outputs.shape)
        if not mask.all():
            classified = ~mask
            self._add_classification(
                outputs[classified], targets[classified], delays_s[classified], threshold
            )
        if mask.any():
            self._add_regression(outputs[mask], targets[mask], delays_s[mask])

    def _add_classification(
        self, scores: np.ndarray, labels: np.ndarray, delays_s: np.ndarray, threshold: float
    ) -> None:
        s = check_scores(scores)
        y = np.asarray(labels)
        if y.shape != s.shape or not np.all((y == 0) | (y == 1)):
            raise ValueError("labels must be 0 or 1, one per score")
        d = _check_delays(delays_s, s.shape)  # all checks before the first change
        self._set_threshold(float(threshold))
        predicted, actual = s >= self.threshold, y == 1
        self.tp += int(np.count_nonzero(predicted & actual))
        self.fp += int(np.count_nonzero(predicted & ~actual))
        self.tn += int(np.count_nonzero(~predicted & ~actual))
        self.fn += int(np.count_nonzero(~predicted & actual))
        index = score_bins(s)
        self.positive_counts += np.bincount(index[actual], minlength=SCORE_BINS)
        self.negative_counts += np.bincount(index[~actual], minlength=SCORE_BINS)
        self.calibration_score_sums += np.bincount(
            index // (SCORE_BINS // CALIBRATION_BINS), weights=s, minlength=CALIBRATION_BINS
        )
        p_true = np.clip(np.where(actual, s, 1.0 - s), LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
        self.log_loss_sum += float(-np.log(p_true).sum())
        self._add_delays(d)

    def _add_regression(
        self, predictions: np.ndarray, values: np.ndarray, delays_s: np.ndarray
    ) -> None:
        """Fold (prediction, true value) pairs. A true value of zero has no percentage
        error: it is left out of MAPE and counted in ``ape_excluded``, rather than
        divided by sklearn's epsilon, which turns one zero into a MAPE near 1e15."""
        p = np.asarray(predictions, dtype=float)
        v = np.asarray(values, dtype=float)
        if p.shape != v.shape or not (np.all(np.isfinite(p)) and np.all(np.isfinite(v))):
            raise ValueError("predictions and values must be finite, one value per prediction")
        d = _check_delays(delays_s, p.shape)
        error = np.abs(p - v)
        nonzero = v != 0
        self.n_regression += p.size
        self.abs_error_sum += float(error.sum())
        self.squared_error_sum += float((error * error).sum())
        self.ape_sum += float((error[nonzero] / np.abs(v[nonzero])).sum())
        self.ape_excluded += int(p.size - np.count_nonzero(nonzero))
        self._add_delays(d)

    def _set_threshold(self, threshold: float) -> None:
        if math.isnan(self.threshold):
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"threshold {threshold} is not in [0, 1]")
            self.threshold = threshold
        elif threshold != self.threshold:
            raise ValueError(f"sketch counts at threshold {self.threshold}, not {threshold}")

    def _add_delays(self, d: np.ndarray) -> None:
        if d.size == 0:
            return
        index = np.searchsorted(DELAY_EDGES_S, d, side="right")
        self.delay_counts += np.bincount(index, minlength=DELAY_BINS + 2)
        self.delay_min = min(self.delay_min, float(d.min()))
        self.delay_max = max(self.delay_max, float(d.max()))

    def __iadd__(self, other: PerformanceSketch) -> PerformanceSketch:
        """Merge ``other`` in: counts and sums add, extremes combine, thresholds must agree."""
        if not math.isnan(other.threshold):
            self._set_threshold(other.threshold)
        for name in self.__slots__:
            if name == "delay_min":
                self.delay_min = min(self.delay_min, other.delay_min)
            elif name == "delay_max":
                self.delay_max = max(self.delay_max, other.delay_max)
            elif name != "threshold":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def to_bytes(self) -> bytes:
        """Version byte, kind, struct header, then the histograms as raw little-endian
        arrays: 4438 bytes whatever the number of pairs."""
        return b"".join(
            (
                header(_KIND),
                _HEADER.pack(
                    SCORE_BINS,
                    CALIBRATION_BINS,
                    DELAY_BINS,
                    self.threshold,
                    self.log_loss_sum,
                    self.tp,
                    self.fp,
                    self.tn,
                    self.fn,
                    self.n_regression,
                    self.ape_excluded,
                    self.abs_error_sum,
                    self.squared_error_sum,
                    self.ape_sum,
                    self.delay_min,
                    self.delay_max,
                ),
                self.positive_counts.astype("<i8").tobytes(),
                self.negative_counts.astype("<i8").tobytes(),
                self.calibration_score_sums.astype("<f8").tobytes(),
                self.delay_counts.astype("<i8").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> PerformanceSketch:
        """Inverse of :meth:`to_bytes`; other versions, kinds or bin layouts raise ValueError.

        >>> s = PerformanceSketch()
        >>> s.update_batch([1.0, 2.0], [1.5, 0.0], [5.0, 9e6], regression=True)
        >>> t = PerformanceSketch.from_bytes(s.to_bytes())
        >>> t.n_regression, t.ape_sum, t.ape_excluded, t.delay_counts[[0, -1]].tolist()
        (2, 0.3333333333333333, 1, [1, 1])
        """
        r = Reader(raw, _KIND, "performance")
        bins, calibration, delays, *fields = r.unpack(_HEADER)
        if (bins, calibration, delays) != (SCORE_BINS, CALIBRATION_BINS, DELAY_BINS):
            raise ValueError(
                f"performance sketch has {bins}/{calibration}/{delays} score/calibration/"
                f"delay bins, this code {SCORE_BINS}/{CALIBRATION_BINS}/{DELAY_BINS}"
            )
        s = cls()
        (s.threshold, s.log_loss_sum, s.tp, s.fp, s.tn, s.fn, s.n_regression) = fields[:7]
        (s.ape_excluded, s.abs_error_sum, s.squared_error_sum, s.ape_sum) = fields[7:11]
        s.delay_min, s.delay_max = fields[11:]
        s.positive_counts = r.array("<i8", SCORE_BINS)
        s.negative_counts = r.array("<i8", SCORE_BINS)
        s.calibration_score_sums = r.array("<f8", CALIBRATION_BINS)
        s.delay_counts = r.array("<i8", DELAY_BINS + 2)
        r.done()
        return s

    @classmethod
    def _contract_example(cls, values: np.ndarray) -> PerformanceSketch:
        """Classification pairs below 0.7, regression pairs (zero true values among
        them) above; delays from seconds to months."""
        regression = values >= 0.7
        labels = (values * 997 % 1 < values).astype(float)
        targets = np.where(regression, np.round(values * 10) / 10 - 0.8, labels)
        s = cls()
        s.update_batch(values, targets, values**4 * 1e7, regression=regression)
        return s

    def _contract_statistics(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}
