"""The worker's metrics: names follow Prometheus conventions, values follow the stages."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streams.events.models import AlertCategory
from streams.windows.report import Breach, FeatureResult
from streams.worker.metrics import PipelineMetrics


def populated() -> tuple[CollectorRegistry, PipelineMetrics]:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    metrics.events.labels("m").inc(10)
    metrics.deadletter.labels("bad_json").inc()
    metrics.latency.labels("m").observe(0.05)
    breach = Breach("x", AlertCategory.data_quality, "zero_rate_delta", 0.9, 0.1)
    metrics.observe_window(
        "m",
        120,
        1_767_225_660.0,
        [
            FeatureResult(
                "x", "numeric", {"psi": 0.5, "zero_rate": 0.9, "missing_rate": 0.0}, [breach]
            ),
            FeatureResult("c", "categorical", {"chi2_p_value": 0.5, "missing_rate": 0.01}),
        ],
    )
    return registry, metrics


def test_window_observation_sets_the_gauges() -> None:
    registry, _ = populated()
    get = registry.get_sample_value
    assert get("streams_feature_psi", {"model": "m", "feature": "x"}) == 0.5
    assert get("streams_feature_breach", {"model": "m", "feature": "x"}) == 1
    assert get("streams_feature_breach", {"model": "m", "feature": "c"}) == 0
    assert get("streams_feature_psi", {"model": "m", "feature": "c"}) is None
    assert get("streams_windows_evaluated_total", {"model": "m"}) == 1
    assert get("streams_prediction_latency_seconds_bucket", {"model": "m", "le": "0.1"}) == 1


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_finds_nothing_to_complain_about() -> None:
    registry, _ = populated()
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=generate_latest(registry),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == b"" and result.stderr.strip() == b""
