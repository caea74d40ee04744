"""Telemetry agent without a broker and without a GPU.

NVML is replaced function by function (monkeypatch on pynvml) by a fake two-GPU
driver where a test needs GPUs; a fake function that raises ``pynvml.NVMLError`` stands
in for a hardware fault (a GPU fallen off the bus, an unreadable sensor), which cannot be
provoked on purpose on real hardware.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import typing
import urllib.request
from collections import namedtuple
from types import SimpleNamespace
from typing import Any

import orjson
import psutil
import pynvml
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.devtools.local_broker import free_ports
from streams.events.models import GpuReading, TelemetryEvent, ThrottleReason
from streams.telemetry import agent as agent_module
from streams.telemetry import gpu, host, nvml
from streams.telemetry.agent import TelemetryAgent
from streams.telemetry.gpu import compare, parse_nvidia_smi
from streams.telemetry.metrics import agent_registry
from streams.telemetry.nvml import Nvml, NvmlReading, read_gpus

MIB = 1024 * 1024
GIB = 1024 * MIB

#: The metric names promised to the Prometheus rules and dashboards (the contract).
CONTRACT = {
    "streams_node_cpu_utilization_ratio": ("gauge", {"node"}),
    "streams_node_memory_used_bytes": ("gauge", {"node"}),
    "streams_node_memory_total_bytes": ("gauge", {"node"}),
    "streams_node_disk_used_bytes": ("gauge", {"node"}),
    "streams_node_disk_total_bytes": ("gauge", {"node"}),
    "streams_node_network_received_bytes_total": ("counter", {"node"}),
    "streams_node_network_transmitted_bytes_total": ("counter", {"node"}),
    "streams_gpu_utilization_ratio": ("gauge", {"node", "gpu"}),
    "streams_gpu_memory_used_bytes": ("gauge", {"node", "gpu"}),
    "streams_gpu_memory_total_bytes": ("gauge", {"node", "gpu"}),
    "streams_gpu_temperature_celsius": ("gauge", {"node", "gpu"}),
    "streams_gpu_power_watts": ("gauge", {"node", "gpu"}),
    "streams_gpu_ecc_uncorrected_errors_total": ("counter", {"node", "gpu"}),
    "streams_gpu_throttle_active": ("gauge", {"node", "gpu", "reason"}),
    "streams_gpu_nvml_errors_total": ("counter", {"node", "call"}),
    "streams_telemetry_samples_total": ("counter", {"node"}),
    "streams_telemetry_last_sample_timestamp_seconds": ("gauge", {"node"}),
}


def _gpu_present() -> bool:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    return subprocess.run([exe, "-L"], capture_output=True, check=False).returncode == 0


def _nvml_error(code: int) -> pynvml.NVMLError:
    return pynvml.NVMLError(code)


def _raises(code: int) -> Any:
    """A stand-in for an NVML function that fails with ``code``."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise _nvml_error(code)

    return fail


# ----------------------------------------------------------------------------- fake NVML


class FakeNvml:
    """Two H200-like GPUs behind pynvml's functions; ``calls`` counts each function."""

    TOTAL = 150_754_820_096  # 143771 MiB, an H200's NVML total

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = {}
        self.memory_v2 = True
        self.ecc_enabled = True
        fakes = {
            "nvmlInit": lambda: None,
            "nvmlShutdown": lambda: None,
            "nvmlDeviceGetCount": lambda: 2,
            "nvmlDeviceGetHandleByIndex": lambda i: f"handle{i}",
            "nvmlDeviceGetUUID": lambda h: f"GPU-uuid-{h[-1]}",
            "nvmlDeviceGetName": lambda h: b"NVIDIA H200",
            "nvmlDeviceGetUtilizationRates": lambda h: SimpleNamespace(
                gpu=37 if h == "handle0" else 100, memory=5
            ),
            "nvmlDeviceGetMemoryInfo": self._memory,
            "nvmlDeviceGetTemperature": lambda h, sensor: 41 if h == "handle0" else 67,
            "nvmlDeviceGetPowerUsage": lambda h: 123_456 if h == "handle0" else 650_000,
            "nvmlDeviceGetEccMode": lambda h: [int(self.ecc_enabled), int(self.ecc_enabled)],
            "nvmlDeviceGetTotalEccErrors": lambda h, kind, counter: 0 if h == "handle0" else 3,
            "nvmlDeviceGetCurrentClocksEventReasons": lambda h: 0x1 | 0x4,
        }
        for name, fn in fakes.items():
            monkeypatch.setattr(pynvml, name, self._counted(name, fn))

    def _counted(self, name: str, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(*args, **kwargs)

        return call

    def _memory(self, handle: str, version: int | None = None) -> Any:
        if version is not None and not self.memory_v2:
            raise _nvml_error(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        reserved = 0 if version else 512 * MIB  # v1 counts the driver's reserve as used
        return SimpleNamespace(total=self.TOTAL, used=4 * GIB + reserved, free=0)


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    return FakeNvml(monkeypatch)


def _fail_on(monkeypatch: pytest.MonkeyPatch, name: str, code: int, gpu_handle: str) -> None:
    """Make ``name`` fail with NVML error ``code`` on one GPU only (a hardware fault)."""
    original = getattr(pynvml, name)

    def faulty(handle: str, *args: Any) -> Any:
        if handle == gpu_handle:
            raise _nvml_error(code)
        return original(handle, *args)

    monkeypatch.setattr(pynvml, name, faulty)


# ----------------------------------------------------------------------------- gpu.py


@pytest.mark.skipif(_gpu_present(), reason="an NVIDIA GPU is present")
def test_read_gpus_without_a_gpu_reports_the_init_error() -> None:
    snapshot = read_gpus()  # the real pynvml, on a machine without driver
    assert snapshot.gpus == []
    assert len(snapshot.errors) == 1
    assert snapshot.errors[0].call == "nvmlInit"
    assert str(snapshot.errors[0]).startswith("nvmlInit: ")


def test_nvml_init_failure_is_one_error_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    tries = []

    def no_driver() -> None:
        tries.append(1)
        raise _nvml_error(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    nvml = Nvml()
    first, second = nvml.read(), nvml.read()
    assert first.gpus == second.gpus == []
    assert [str(e) for e in first.errors] == ["nvmlInit: Driver Not Loaded"]
    assert second.errors == first.errors  # each snapshot says why it is empty
    assert len(tries) == 1  # initialised once, not at every read
    assert nvml.close() is None  # nothing to shut down


def test_fake_gpus_are_read_in_base_units(fake_nvml: FakeNvml) -> None:
    snapshot = read_gpus()
    assert snapshot.errors == []
    g0, g1 = snapshot.gpus
    assert (g0.index, g0.uuid, g0.name) == (0, "GPU-uuid-0", "NVIDIA H200")
    assert g0.utilization_ratio == pytest.approx(0.37)
    assert g1.utilization_ratio == 1.0
    assert g0.memory_used_bytes == 4 * GIB  # v2: without the driver's reserve
    assert g0.memory_total_bytes == FakeNvml.TOTAL
    assert g0.temperature_celsius == 41.0
    assert g0.power_watts == pytest.approx(123.456)
    assert (g0.ecc_uncorrected_errors, g1.ecc_uncorrected_errors) == (0, 3)
    assert g0.throttle_reasons == ["gpu_idle", "sw_power_cap"]
    assert fake_nvml.calls["nvmlInit"] == fake_nvml.calls["nvmlShutdown"] == 1


def test_an_nvml_error_on_one_call_leaves_the_other_readings(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stands in for a hardware fault: GPU 1's power sensor cannot be read
    _fail_on(monkeypatch, "nvmlDeviceGetPowerUsage", pynvml.NVML_ERROR_UNKNOWN, "handle1")
    _fail_on(monkeypatch, "nvmlDeviceGetUUID", pynvml.NVML_ERROR_GPU_IS_LOST, "handle0")
    snapshot = read_gpus()
    g0, g1 = snapshot.gpus
    assert [str(e) for e in snapshot.errors] == [
        "gpu0 nvmlDeviceGetUUID: GPU is lost",
        "gpu1 nvmlDeviceGetPowerUsage: Unknown Error",
    ]
    assert g1.power_watts is None
    assert g0.uuid is None
    assert g0.power_watts == pytest.approx(123.456)  # the other GPU's power still read
    assert g1.uuid == "GPU-uuid-1"
    for reading in (g0, g1):
        assert reading.temperature_celsius is not None
        assert reading.memory_total_bytes == FakeNvml.TOTAL
        assert reading.throttle_reasons == ["gpu_idle", "sw_power_cap"]


def test_unsupported_calls_are_none_without_error(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on(monkeypatch, "nvmlDeviceGetEccMode", pynvml.NVML_ERROR_NOT_SUPPORTED, "handle0")
    snapshot = read_gpus()
    assert snapshot.errors == []
    assert snapshot.gpus[0].ecc_uncorrected_errors is None
    assert snapshot.gpus[1].ecc_uncorrected_errors == 3


def test_ecc_off_reads_no_counter(fake_nvml: FakeNvml) -> None:
    fake_nvml.ecc_enabled = False
    snapshot = read_gpus()
    assert [g.ecc_uncorrected_errors for g in snapshot.gpus] == [None, None]
    assert "nvmlDeviceGetTotalEccErrors" not in fake_nvml.calls


def test_older_driver_spellings_are_used_when_the_new_ones_are_missing(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_nvml.memory_v2 = False

    def not_found(handle: str) -> int:
        raise _nvml_error(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetCurrentClocksEventReasons", not_found)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCurrentClocksThrottleReasons", lambda h: 0x40)
    snapshot = read_gpus()
    assert snapshot.errors == []
    assert snapshot.gpus[0].memory_used_bytes == 4 * GIB + 512 * MIB  # v1
    assert snapshot.gpus[0].throttle_reasons == ["hw_thermal"]


def test_a_failed_count_gives_no_gpus_and_an_error(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> int:
        raise _nvml_error(pynvml.NVML_ERROR_UNKNOWN)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", broken)
    snapshot = read_gpus()
    assert snapshot.gpus == []
    assert [e.call for e in snapshot.errors] == ["nvmlDeviceGetCount"]


def test_the_event_schema_knows_every_throttle_reason() -> None:
    assert list(typing.get_args(ThrottleReason)) == list(nvml.THROTTLE_REASONS)
    # and the bits are NVML's (nvml.h, nvmlClocksEventReason*)
    assert nvml.THROTTLE_REASONS["sw_power_cap"] == pynvml.nvmlClocksEventReasonSwPowerCap
    assert nvml.THROTTLE_REASONS["hw_thermal"] == pynvml.nvmlClocksEventReasonHwThermalSlowdown
    assert (
        nvml.THROTTLE_REASONS["display_clocks_setting"]
        == pynvml.nvmlClocksEventReasonDisplayClockSetting
    )


def test_gpu_module_imports_only_the_standard_library_and_pynvml() -> None:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import gpu; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    directory = str(gpu.__file__).rsplit("/", 1)[0]
    pynvml_dir = str(pynvml.__file__).rsplit("/", 1)[0]
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, directory],  # -S: no site-packages
        env={"PYTHONPATH": pynvml_dir},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(orjson.loads(out))
    assert "pynvml" in loaded
    assert not loaded & {"numpy", "pydantic", "confluent_kafka", "streams", "psutil"}


# ----------------------------------------------------------------------------- compare


def _agent_gpu(**overrides: Any) -> NvmlReading:
    values: dict[str, Any] = {
        "index": 0,
        "uuid": "GPU-a",
        "name": "NVIDIA H200",
        "utilization_ratio": 0.30,
        "memory_used_bytes": 10 * GIB,
        "memory_total_bytes": 143771 * MIB,
        "temperature_celsius": 40.0,
        "power_watts": 100.0,
    }
    values.update(overrides)
    return NvmlReading(**values)


def _smi(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": 0,
        "uuid": "GPU-a",
        "utilization_ratio": 0.30,
        "memory_used_bytes": 10 * GIB,
        "memory_total_bytes": 143771 * MIB,
        "temperature_celsius": 40.0,
        "power_watts": 100.0,
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    "smi",
    [
        _smi(),
        _smi(utilization_ratio=0.39),
        _smi(memory_used_bytes=10 * GIB + 2 * GIB),  # 2 GiB < 2 % of 140 GiB
        _smi(memory_total_bytes=143771 * MIB - MIB // 2),
        _smi(temperature_celsius=43.0),
        _smi(power_watts=114.0),  # within 15 W
        _smi(index=3),  # matched by uuid, not by index
    ],
)
def test_compare_accepts_readings_within_tolerance(smi: dict[str, Any]) -> None:
    assert compare([_agent_gpu()], [smi]) == []


@pytest.mark.parametrize(
    ("agent", "smi", "field"),
    [
        (_agent_gpu(), _smi(utilization_ratio=0.45), "utilization_ratio"),
        (_agent_gpu(), _smi(memory_used_bytes=14 * GIB), "memory_used_bytes"),
        (
            _agent_gpu(memory_total_bytes=1 * GIB, memory_used_bytes=0),
            _smi(memory_total_bytes=1 * GIB, memory_used_bytes=65 * MIB),  # 64 MiB floor
            "memory_used_bytes",
        ),
        (_agent_gpu(), _smi(memory_total_bytes=143769 * MIB), "memory_total_bytes"),
        (_agent_gpu(), _smi(temperature_celsius=44.0), "temperature_celsius"),
        (_agent_gpu(), _smi(power_watts=120.0), "power_watts"),  # 20 W > 15 % of 120
        (_agent_gpu(power_watts=500.0), _smi(power_watts=600.0), "power_watts"),  # > 15 %
        (_agent_gpu(power_watts=None), _smi(), "power_watts"),  # known on one side only
    ],
)
def test_compare_flags_readings_out_of_tolerance(
    agent: NvmlReading, smi: dict[str, Any], field: str
) -> None:
    mismatches = compare([agent], [smi])
    assert len(mismatches) == 1
    assert mismatches[0].startswith(f"gpu0 {field}: ")


def test_compare_flags_gpus_seen_by_one_side_only() -> None:
    assert compare([_agent_gpu()], []) == ["gpu0 (GPU-a): read by the agent, not by nvidia-smi"]
    assert compare([], [_smi()]) == ["gpu0 (GPU-a): in nvidia-smi, not read by the agent"]
    assert compare([_agent_gpu(power_watts=None)], [_smi(power_watts=None)]) == []


def test_nvidia_smi_output_is_parsed_into_base_units() -> None:
    rows = parse_nvidia_smi(
        "0, GPU-a, 37, 1024, 143771, 41, 123.45\n1, GPU-b, 0, 0, 143771, 30, [N/A]\n"
    )
    assert rows[0] == {
        "index": 0,
        "uuid": "GPU-a",
        "utilization_ratio": 0.37,
        "memory_used_bytes": 1024 * MIB,
        "memory_total_bytes": 143771 * MIB,
        "temperature_celsius": 41.0,
        "power_watts": 123.45,
    }
    assert rows[1]["power_watts"] is None
    with pytest.raises(gpu.SmiError):
        parse_nvidia_smi("0, GPU-a, 37\n")


def test_the_gpu_check_script_exits_2_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pynvml, "nvmlInit", _raises(pynvml.NVML_ERROR_DRIVER_NOT_LOADED))
    assert gpu.main() == 2


def _fake_nvidia_smi(directory: Any, monkeypatch: pytest.MonkeyPatch, lines: str) -> None:
    script = directory / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{lines}EOF\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(directory), prepend=os.pathsep)


def test_the_gpu_check_script_compares_with_nvidia_smi(
    fake_nvml: FakeNvml,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agreeing = (
        "0, GPU-uuid-0, 40, 4096, 143771, 42, 125.00\n"
        "1, GPU-uuid-1, 100, 4100, 143771, 66, 640.31\n"
    )
    _fake_nvidia_smi(tmp_path, monkeypatch, agreeing)
    assert gpu.main() == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "agent agrees with nvidia-smi" in out
    assert "sw_power_cap" in out  # the table shows what nvidia-smi is not asked for

    _fake_nvidia_smi(tmp_path, monkeypatch, agreeing.replace(" 66, 640.31", " 75, 640.31"))
    assert gpu.main() == 1
    out = capsys.readouterr().out
    assert "MISMATCH gpu1 temperature_celsius: agent 67 C, nvidia-smi 75 C" in out


# ----------------------------------------------------------------------------- host.py


def test_host_readings_are_sane_and_in_base_units() -> None:
    sampler = host.HostSampler(cpu_window_s=0.05)
    first = sampler.read()
    second = sampler.read()
    assert first.cpu_utilization_ratio is not None
    assert 0.0 <= first.cpu_utilization_ratio <= 1.0
    memory = psutil.virtual_memory()
    assert first.memory_total_bytes == memory.total
    assert 0 < first.memory_used_bytes < first.memory_total_bytes
    if sys.platform == "linux":  # bytes, not kB: /proc/meminfo says kB
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
        assert first.memory_total_bytes == kib * 1024
    disk = psutil.disk_usage("/")
    assert first.disk_total_bytes == disk.total
    assert 0 < first.disk_used_bytes <= first.disk_total_bytes
    assert first.network_received_bytes is not None and first.network_transmitted_bytes is not None
    assert second.network_received_bytes >= first.network_received_bytes  # counters


def test_cpu_ratio_is_the_busy_share_since_the_previous_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    times = namedtuple("times", "user nice system idle iowait guest guest_nice")
    readings = iter(
        [
            times(100.0, 0.0, 50.0, 800.0, 50.0, 10.0, 0.0),
            # +30 user +10 system +40 idle +20 iowait (+5 guest, inside user): 40/100 busy
            times(130.0, 0.0, 60.0, 840.0, 70.0, 15.0, 0.0),
        ]
    )
    monkeypatch.setattr(psutil, "cpu_times", lambda: next(readings))
    ratio = host.HostSampler(cpu_window_s=0)._cpu_ratio()
    assert ratio == pytest.approx(40 / 100)


def test_network_counters_leave_out_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    nic = namedtuple("nic", "bytes_sent bytes_recv")
    monkeypatch.setattr(
        psutil,
        "net_io_counters",
        lambda pernic: {"lo": nic(10**9, 10**9), "eth0": nic(100, 200), "ib0": nic(1, 2)},
    )
    reading = host.read_host(cpu_window_s=0)
    assert (reading.network_transmitted_bytes, reading.network_received_bytes) == (101, 202)


# ----------------------------------------------------------------------------- agent


def _metrics(registry: CollectorRegistry) -> dict[tuple[str, frozenset], float]:
    values = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            values[(s.name, frozenset(s.labels.items()))] = s.value
    return values


def test_agent_sample_builds_the_event_and_the_metrics(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on(monkeypatch, "nvmlDeviceGetPowerUsage", pynvml.NVML_ERROR_UNKNOWN, "handle1")
    registry = CollectorRegistry()
    agent = TelemetryAgent(node_id="node-a", registry=registry, metrics_port=None)
    try:
        event = agent.sample()
        agent.sample()
    finally:
        agent.close()
    assert TelemetryEvent.model_validate_json(event.to_json()) == event
    assert [g.index for g in event.gpus] == [0, 1]
    assert event.gpus[1].power_watts is None
    assert event.nvml_errors == ["gpu1 nvmlDeviceGetPowerUsage: Unknown Error"]

    m = _metrics(registry)

    def value(name: str, **labels: str) -> float | None:
        return m.get((name, frozenset({"node": "node-a", **labels}.items())))

    assert value("streams_gpu_power_watts", gpu="0") == pytest.approx(123.456)
    assert value("streams_gpu_power_watts", gpu="1") is None  # unknown: no series
    assert value("streams_gpu_utilization_ratio", gpu="0") == pytest.approx(0.37)
    assert value("streams_gpu_memory_total_bytes", gpu="1") == FakeNvml.TOTAL
    assert value("streams_gpu_ecc_uncorrected_errors_total", gpu="1") == 3
    assert value("streams_gpu_throttle_active", gpu="0", reason="sw_power_cap") == 1
    assert value("streams_gpu_throttle_active", gpu="0", reason="hw_thermal") == 0
    assert value("streams_gpu_nvml_errors_total", call="nvmlDeviceGetPowerUsage") == 2
    assert value("streams_gpu_nvml_errors_total", call="nvmlDeviceGetUUID") == 0
    assert value("streams_telemetry_samples_total") == 2
    assert value("streams_node_memory_total_bytes") == psutil.virtual_memory().total
    assert value("streams_node_network_received_bytes_total") is not None
    assert value("streams_telemetry_last_sample_timestamp_seconds") == pytest.approx(
        event.timestamp.timestamp(), abs=5
    )


def test_agent_counts_a_failed_nvml_init_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pynvml, "nvmlInit", _raises(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND))
    registry = CollectorRegistry()
    agent = TelemetryAgent(node_id="cpu-node", registry=registry, metrics_port=None)
    events = [agent.sample() for _ in range(3)]
    assert all(e.gpus == [] for e in events)
    assert all(e.nvml_errors == ["nvmlInit: NVML Shared Library Not Found"] for e in events)
    key = (
        "streams_gpu_nvml_errors_total",
        frozenset({"node": "cpu-node", "call": "nvmlInit"}.items()),
    )
    assert _metrics(registry)[key] == 1


def test_agent_metrics_pass_promtool_and_keep_the_contract(fake_nvml: FakeNvml) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    agent = TelemetryAgent(node_id="node-a", registry=agent_registry(), metrics_port=0)
    try:
        agent.sample()
        port = agent.serve_metrics()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read()
    finally:
        agent.stop_metrics()
        agent.close()
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert check.returncode == 0 and not check.stdout and not check.stderr, (
        check.stdout + check.stderr
    ).decode()

    families = {f.name: f for f in text_string_to_metric_families(text.decode())}
    for name, (kind, labels) in CONTRACT.items():
        family = families.get(name.removesuffix("_total") if kind == "counter" else name)
        assert family is not None, f"{name} is not exposed"
        assert family.type == kind, name
        samples = [s for s in family.samples if s.name == name]
        assert samples, f"{name} has no sample"
        assert all(set(s.labels) == labels for s in samples), name


def test_agent_produces_keyed_events_to_its_topic(fake_nvml: FakeNvml) -> None:
    sent: list[tuple[str, bytes, bytes]] = []

    class Producer:
        def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Any) -> None:
            sent.append((topic, value, key))
            on_delivery(None, None)

        def poll(self, timeout: float = 0) -> int:
            return 0

        def flush(self, timeout: float = 0) -> int:
            return 0

    agent = TelemetryAgent(
        topic="telemetry-x",
        node_id="node-a",
        interval_s=0.05,
        producer=Producer(),
        metrics_port=None,
    )
    assert agent.run(threading.Event(), max_samples=3) == 3
    assert [(t, k) for t, _, k in sent] == [("telemetry-x", b"node-a")] * 3
    events = [TelemetryEvent.model_validate_json(v) for _, v, _ in sent]
    assert [len(e.gpus) for e in events] == [2, 2, 2]
    assert events[0].timestamp < events[2].timestamp
    assert agent.delivered == 3


def test_agent_keeps_sampling_when_kafka_is_unreachable(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent_module, "FLUSH_TIMEOUT_S", 0.5)
    monkeypatch.setattr(agent_module, "TOPIC_TIMEOUT_S", 0.5)
    (port,) = free_ports(1)  # nothing listens there
    agent = TelemetryAgent(
        f"127.0.0.1:{port}", "node-telemetry", "node-a", interval_s=0.2, metrics_port=None
    )
    caplog.set_level(logging.WARNING, logger="streams.telemetry")
    assert agent.run(threading.Event(), max_samples=8) == 8
    assert agent.produced == 8 and agent.failed == 8 and agent.delivered == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("not delivered" in w for w in warnings)
    assert len(warnings) <= 5, warnings  # a few lines, not one per reconnect attempt


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (100.5, 110.0),  # on time: the next tick
        (110.0, 120.0),  # exactly on a tick: the one after
        (125.0, 130.0),  # a sample blocked past a tick: skip it, keep the phase
        (141.0, 150.0),
    ],
)
def test_the_schedule_skips_missed_ticks_and_keeps_its_phase(
    monkeypatch: pytest.MonkeyPatch, now: float, expected: float
) -> None:
    agent = TelemetryAgent(interval_s=10, metrics_port=None)
    monkeypatch.setattr(agent_module.time, "monotonic", lambda: now)
    assert agent._next_tick(100.0) == expected


def test_rejects_a_bad_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        TelemetryAgent(interval_s=0, metrics_port=None)


# ----------------------------------------------------------------------------- CLI


def test_once_prints_a_valid_telemetry_event() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streams", "telemetry-agent", "--once", "--node-id", "node-x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    event = TelemetryEvent.model_validate_json(done.stdout)
    assert event.node_id == "node-x"
    assert event.host is not None and event.host.memory_total_bytes == psutil.virtual_memory().total
    if not _gpu_present():
        assert event.gpus == []
        assert len(event.nvml_errors) == 1 and event.nvml_errors[0].startswith("nvmlInit: ")


def test_the_nvml_reading_has_the_fields_of_the_wire_record() -> None:
    from dataclasses import fields

    assert [f.name for f in fields(NvmlReading)] == list(GpuReading.model_fields)
