"""Model performance from late labels: stage 1 folds each (prediction, label) pair into the
sketch of its prediction's window, stage 2 merges the partitions' sketches and computes
metrics; CBPE estimates a calibrated classifier's performance before any label arrives."""

from streams.labels.cbpe import estimate_performance
from streams.labels.metrics import (
    ProportionDrop,
    accuracy_interval,
    auc_tie_bound,
    binned_auc,
    classification_metrics,
    delay_quantiles,
    mae_rise,
    proportion_drop,
    regression_metrics,
)
from streams.sketches.performance import (
    CALIBRATION_BINS,
    DELAY_BINS,
    DELAY_EDGES_S,
    SCORE_BINS,
    PerformanceSketch,
)
from streams.sketches.score_histogram import ScoreHistogram

__all__ = [
    "CALIBRATION_BINS",
    "DELAY_BINS",
    "DELAY_EDGES_S",
    "SCORE_BINS",
    "PerformanceSketch",
    "ProportionDrop",
    "ScoreHistogram",
    "accuracy_interval",
    "auc_tie_bound",
    "binned_auc",
    "classification_metrics",
    "delay_quantiles",
    "estimate_performance",
    "mae_rise",
    "proportion_drop",
    "regression_metrics",
]
