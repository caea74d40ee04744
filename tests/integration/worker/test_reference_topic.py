"""Published references: a running worker switches to a new profile on the same bins,
and refuses one on other bins."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from tests.integration.worker.test_pipeline import run_scenario

from streams.cli.main import main
from streams.devtools.simulator.datafiles import write_rows
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, reference_stats
from streams.offline.columns import read_arrays
from streams.windows.reference_profile import build_profile
from streams.windows.reference_updates import publish_reference

pytestmark = pytest.mark.integration


def wait_for_log(deployment, text: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in deployment.worker_logs():
        assert time.monotonic() < deadline, f"no {text!r} in the worker's log"
        time.sleep(0.5)


def test_worker_switches_to_a_published_reference_while_running(
    deploy, reference_file: Path, tmp_path: Path
) -> None:
    d = deploy()
    d.start_worker()
    # the new normal: item_price one standard deviation higher than in the old reference
    columns = read_arrays(reference_file)
    columns["item_price"] = columns["item_price"] + reference_stats().raw_std["item_price"]
    shifted = tmp_path / "shifted.parquet"
    write_rows(shifted, columns)
    assert (
        main(["reference", "publish", "--config", str(d.config_path), "--input", str(shifted)]) == 0
    )
    wait_for_log(d, f"reference of {DEFAULT_MODEL_ID} switched to {shifted}")
    # a profile on other bins is refused: the worker keeps the one it has
    other = build_profile({n: np.asarray(v) * 3 for n, v in read_arrays(reference_file).items()})
    publish_reference(d.bootstrap, d.topic("references"), DEFAULT_MODEL_ID, other)
    wait_for_log(d, f"published reference of {DEFAULT_MODEL_ID} refused: other bins")
    results, alerts = run_scenario(
        d, 60, 12, 1200, scenario="sudden-shift", affect=["item_price"], magnitude=1.0, onset_s=0
    )
    # the shifted traffic is the new normal: no drift, and every result names its source
    assert [a for a in alerts if a["category"] == "data_drift"] == []
    assert {r["reference_source"] for r in results.values()} == {str(shifted)}
