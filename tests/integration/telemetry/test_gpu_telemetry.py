"""On a machine with an NVIDIA GPU: the agent's NVML readings match nvidia-smi's.

Skipped where nvidia-smi is absent or finds no GPU. Needs no broker. The same check
runs without pytest or the project installed:
``PYTHONPATH=.gpucheck python3 src/streams/telemetry/gpu.py`` (see docs/telemetry.md).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from streams.telemetry.gpu import compare, nvidia_smi_readings
from streams.telemetry.nvml import read_gpus


def _nvidia_smi_works() -> bool:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        done = subprocess.run([exe, "-L"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"GPU" in done.stdout


pytestmark = pytest.mark.skipif(not _nvidia_smi_works(), reason="no working nvidia-smi / GPU")


def test_agent_readings_match_nvidia_smi() -> None:
    smi = nvidia_smi_readings()
    snapshot = read_gpus()
    assert snapshot.gpus, f"NVML found no GPU: {[str(e) for e in snapshot.errors]}"
    assert [str(e) for e in snapshot.errors] == []
    assert compare(snapshot.gpus, smi) == []
    for gpu in snapshot.gpus:
        assert gpu.throttle_reasons is not None
        assert gpu.uuid and gpu.uuid.startswith("GPU-")
