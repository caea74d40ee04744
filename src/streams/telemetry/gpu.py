"""GPU readings through NVML (``pynvml``, from the ``nvidia-ml-py`` package).

This module imports only the standard library and pynvml, on purpose: it is also a
stand-alone check, run as ``python src/streams/telemetry/gpu.py`` on a GPU machine
where nothing but nvidia-ml-py is installed, that prints the agent's readings next to
``nvidia-smi``'s and exits 0 when they agree, 1 when they do not, 2 when there is
nothing to compare (no GPU, no driver, no nvidia-smi).

Every NVML call is wrapped on its own: a failing call (a GPU fallen off the bus, a
counter the driver cannot read) leaves its field None and adds an ``NvmlError``, and
the other readings go on. A call the device does not support (NVML_ERROR_NOT_SUPPORTED,
e.g. ECC on a consumer card) is not a fault: its field is None and no error is added,
so that an error counter only moves for real faults. ``nvmlInit`` failing (no driver,
no GPU) gives an empty snapshot with one ``nvmlInit`` error, never an exception.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pynvml

try:  # run stand-alone (the standard library and pynvml only), a local stand-in root
    from streams.errors import StreamsError
except ImportError:  # pragma: no cover - only without the package on the path

    class StreamsError(Exception):  # type: ignore[no-redef]
        """Stand-in for the package's error root when this file runs on its own."""


__all__ = [
    "NVML_CALLS",
    "THROTTLE_REASONS",
    "GpuReading",
    "GpuSnapshot",
    "Nvml",
    "NvmlError",
    "compare",
    "main",
    "nvidia_smi_readings",
    "read_gpus",
]

MIB = 1024 * 1024

#: Clock-event ("throttle") reasons we report, with their NVML bit (nvml.h's
#: ``nvmlClocksEventReason*`` / ``nvmlClocksThrottleReason*``; the bits are ABI and
#: identical in both spellings). A fixed set, so metrics get bounded labels.
THROTTLE_REASONS: dict[str, int] = {
    "gpu_idle": 0x1,
    "applications_clocks_setting": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal": 0x20,
    "hw_thermal": 0x40,
    "hw_power_brake": 0x80,
    "display_clocks_setting": 0x100,
}

#: Every NVML call name an ``NvmlError`` can carry (the agent pre-creates a counter for each).
NVML_CALLS: tuple[str, ...] = (
    "nvmlInit",
    "nvmlDeviceGetCount",
    "nvmlDeviceGetHandleByIndex",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetName",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetEccMode",
    "nvmlDeviceGetTotalEccErrors",
    "nvmlDeviceGetCurrentClocksEventReasons",
)


@dataclass(frozen=True)
class NvmlError:
    """One failed NVML call: which call, on which GPU (None: not per GPU), and why."""

    call: str
    message: str
    gpu: int | None = None

    def __str__(self) -> str:
        where = f"gpu{self.gpu} " if self.gpu is not None else ""
        return f"{where}{self.call}: {self.message}"


@dataclass
class GpuReading:
    """One GPU's readings in base units; None where the call failed or is unsupported."""

    index: int
    uuid: str | None = None
    name: str | None = None
    utilization_ratio: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_celsius: float | None = None
    power_watts: float | None = None
    ecc_uncorrected_errors: int | None = None
    """Volatile (since driver load) uncorrected ECC errors; None when ECC is off."""
    throttle_reasons: list[str] | None = None
    """Active reasons from ``THROTTLE_REASONS``; [] none active, None unknown."""


@dataclass
class GpuSnapshot:
    """All GPUs of the node at one instant, plus the calls that failed."""

    gpus: list[GpuReading] = field(default_factory=list)
    errors: list[NvmlError] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _message(exc: BaseException) -> str:
    if isinstance(exc, pynvml.NVMLError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _unsupported(exc: BaseException) -> bool:
    return isinstance(exc, pynvml.NVMLError) and (
        getattr(exc, "value", None) == pynvml.NVML_ERROR_NOT_SUPPORTED
    )


def _missing(exc: BaseException) -> bool:
    """The function is absent from the driver (too old or too new for this spelling)."""
    return isinstance(exc, pynvml.NVMLError) and getattr(exc, "value", None) in (
        pynvml.NVML_ERROR_FUNCTION_NOT_FOUND,
        getattr(pynvml, "NVML_ERROR_ARGUMENT_VERSION_MISMATCH", -1),
    )


class Nvml:
    """An NVML session: ``nvmlInit`` once on open, ``nvmlShutdown`` once on close.

    ``read()`` may be called many times in between (the agent keeps one session for
    its lifetime). When init failed, every ``read()`` returns no GPUs and the init
    error, so each snapshot says why it is empty.
    """

    def __init__(self) -> None:
        self.initialized = False
        self.init_error: NvmlError | None = None
        self._attempted = False

    def open(self) -> Nvml:
        """Initialise NVML; a failure is kept in ``init_error``, not raised."""
        if self.initialized:
            return self
        self._attempted = True
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # no driver, no library, no device: not a crash
            self.init_error = NvmlError("nvmlInit", _message(exc))
        else:
            self.initialized = True
            self.init_error = None
        return self

    def close(self) -> NvmlError | None:
        """Shut NVML down; returns the error when shutdown failed (nothing to do about it)."""
        self._attempted = False
        if not self.initialized:
            return None
        self.initialized = False
        try:
            pynvml.nvmlShutdown()
        except Exception as exc:
            return NvmlError("nvmlShutdown", _message(exc))
        return None

    def __enter__(self) -> Nvml:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _call(
        errors: list[NvmlError], gpu: int | None, call: str, *attempts: Callable[[], Any]
    ) -> Any:
        """Run the first of ``attempts`` that exists; on failure record ``call``, return None.

        Each attempt is a lambda that looks its pynvml function up when it runs (so a
        test can replace one); later attempts are older spellings of the same call,
        tried when the driver or pynvml lacks the newer one.
        """
        last: BaseException | None = None
        for attempt in attempts:
            try:
                return attempt()
            except AttributeError as exc:  # not in this pynvml
                last = exc
            except Exception as exc:
                if _missing(exc):
                    last = exc
                    continue
                if _unsupported(exc):
                    return None
                errors.append(NvmlError(call, _message(exc), gpu))
                return None
        errors.append(NvmlError(call, _message(last) if last else "no attempt", gpu))
        return None

    def read(self) -> GpuSnapshot:
        """Read every GPU now. Never raises. Opens the session if needed, but does not
        retry a failed ``nvmlInit`` (close and read again to retry)."""
        if not self._attempted:
            self.open()
        if not self.initialized:
            assert self.init_error is not None
            return GpuSnapshot(errors=[self.init_error])
        errors: list[NvmlError] = []
        count = self._call(errors, None, "nvmlDeviceGetCount", lambda: pynvml.nvmlDeviceGetCount())
        gpus = [self._read_one(i, errors) for i in range(count or 0)]
        return GpuSnapshot([g for g in gpus if g is not None], errors)

    def _read_one(self, index: int, errors: list[NvmlError]) -> GpuReading | None:
        nv = pynvml

        def call(name: str, *attempts: Callable[[], Any]) -> Any:
            return self._call(errors, index, name, *attempts)

        handle = call("nvmlDeviceGetHandleByIndex", lambda: nv.nvmlDeviceGetHandleByIndex(index))
        if handle is None:
            return None
        reading = GpuReading(index=index)
        uuid = call("nvmlDeviceGetUUID", lambda: nv.nvmlDeviceGetUUID(handle))
        reading.uuid = None if uuid is None else _text(uuid)
        name = call("nvmlDeviceGetName", lambda: nv.nvmlDeviceGetName(handle))
        reading.name = None if name is None else _text(name)

        util = call(
            "nvmlDeviceGetUtilizationRates", lambda: nv.nvmlDeviceGetUtilizationRates(handle)
        )
        if util is not None:
            reading.utilization_ratio = min(max(util.gpu / 100.0, 0.0), 1.0)

        # version 2 counts the memory the driver reserves apart from "used", as
        # nvidia-smi does; version 1 (all older drivers have) counts it as used
        memory = call(
            "nvmlDeviceGetMemoryInfo",
            lambda: nv.nvmlDeviceGetMemoryInfo(handle, version=nv.nvmlMemory_v2),
            lambda: nv.nvmlDeviceGetMemoryInfo(handle),
        )
        if memory is not None:
            reading.memory_used_bytes = int(memory.used)
            reading.memory_total_bytes = int(memory.total)

        temp = call(
            "nvmlDeviceGetTemperature",
            lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU),
        )
        if temp is not None:
            reading.temperature_celsius = float(temp)

        milliwatts = call("nvmlDeviceGetPowerUsage", lambda: nv.nvmlDeviceGetPowerUsage(handle))
        if milliwatts is not None:
            reading.power_watts = milliwatts / 1000.0

        mode = call("nvmlDeviceGetEccMode", lambda: nv.nvmlDeviceGetEccMode(handle))
        if mode is not None and mode[0] == nv.NVML_FEATURE_ENABLED:
            ecc = call(
                "nvmlDeviceGetTotalEccErrors",
                lambda: nv.nvmlDeviceGetTotalEccErrors(
                    handle, nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nv.NVML_VOLATILE_ECC
                ),
            )
            reading.ecc_uncorrected_errors = None if ecc is None else int(ecc)

        # "ClocksThrottleReasons" became "ClocksEventReasons" in driver 535
        mask = call(
            "nvmlDeviceGetCurrentClocksEventReasons",
            lambda: nv.nvmlDeviceGetCurrentClocksEventReasons(handle),
            lambda: nv.nvmlDeviceGetCurrentClocksThrottleReasons(handle),
        )
        if mask is not None:
            reading.throttle_reasons = [r for r, bit in THROTTLE_REASONS.items() if mask & bit]
        return reading


def read_gpus() -> GpuSnapshot:
    """One-off reading of every GPU (init, read, shut down). Never raises."""
    with Nvml() as nvml:
        return nvml.read()


# ---------------------------------------------------------------- nvidia-smi comparison

SMI_FIELDS: tuple[tuple[str, str], ...] = (
    ("index", "index"),
    ("uuid", "uuid"),
    ("utilization.gpu", "utilization_ratio"),
    ("memory.used", "memory_used_bytes"),
    ("memory.total", "memory_total_bytes"),
    ("temperature.gpu", "temperature_celsius"),
    ("power.draw", "power_watts"),
)
"""nvidia-smi query field -> GpuReading attribute, in the order of the query."""


class SmiError(StreamsError, RuntimeError):
    """nvidia-smi is missing, failed or unreadable: check the driver install on the node."""


def _smi_number(text: str) -> float | None:
    text = text.strip()
    if not text or text.startswith("[") or text in ("N/A", "Not Supported"):
        return None
    return float(text)


def parse_nvidia_smi(output: str) -> list[dict[str, Any]]:
    """Parse ``--format=csv,noheader,nounits`` output into base units (bytes, ratio, W)."""
    rows = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(SMI_FIELDS):
            raise SmiError(f"unexpected nvidia-smi line: {line!r}")
        try:
            util, used, total, temp, power = (_smi_number(c) for c in cells[2:])
        except ValueError as exc:
            raise SmiError(f"unexpected nvidia-smi line: {line!r}") from exc
        rows.append(
            {
                "index": int(cells[0]),
                "uuid": cells[1],
                "utilization_ratio": None if util is None else util / 100.0,
                "memory_used_bytes": None if used is None else round(used * MIB),
                "memory_total_bytes": None if total is None else round(total * MIB),
                "temperature_celsius": temp,
                "power_watts": power,
            }
        )
    return rows


def nvidia_smi_readings(timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """What ``nvidia-smi`` reports for every GPU, in the same base units as ``GpuReading``.

    Raises SmiError when nvidia-smi is absent or fails.
    """
    exe = shutil.which("nvidia-smi")
    if exe is None:
        raise SmiError("nvidia-smi not found on PATH")
    query = ",".join(name for name, _ in SMI_FIELDS)
    try:
        done = subprocess.run(
            [exe, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SmiError(f"nvidia-smi: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SmiError(
            f"nvidia-smi exited {done.returncode}: {detail[0] if detail else 'no output'}"
        )
    return parse_nvidia_smi(done.stdout)


def _within(
    a: float | None, b: float | None, tolerance: Callable[[float, float], float]
) -> bool | None:
    """True/False when both are known; None (no verdict) when both are unknown."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        return False
    return abs(a - b) <= tolerance(a, b)


def _tolerances(total: float | None) -> dict[str, Callable[[float, float], float]]:
    return {
        # utilization is sampled by each tool at its own instant
        "utilization_ratio": lambda a, b: 0.10,
        "memory_used_bytes": lambda a, b: max(0.02 * (total or 0), 64 * MIB),
        # nvidia-smi prints whole MiB
        "memory_total_bytes": lambda a, b: 1 * MIB,
        "temperature_celsius": lambda a, b: 3.0,
        # averaged over different windows
        "power_watts": lambda a, b: max(0.15 * abs(b), 15.0),
    }


COMPARED = (
    "utilization_ratio",
    "memory_used_bytes",
    "memory_total_bytes",
    "temperature_celsius",
    "power_watts",
)


def _pair(
    agent: Sequence[GpuReading], smi: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[GpuReading, Mapping[str, Any]]], list[str]]:
    """Match GPUs by UUID (robust to enumeration order), else by index."""
    problems: list[str] = []
    by_uuid = {r.get("uuid"): r for r in smi if r.get("uuid")}
    by_index = {r.get("index"): r for r in smi}
    used: set[int] = set()
    pairs = []
    for gpu in agent:
        row = by_uuid.get(gpu.uuid) if gpu.uuid else None
        if row is None:
            row = by_index.get(gpu.index)
        if row is None or id(row) in used:
            problems.append(f"gpu{gpu.index} ({gpu.uuid}): read by the agent, not by nvidia-smi")
            continue
        used.add(id(row))
        pairs.append((gpu, row))
    for row in smi:
        if id(row) not in used:
            problems.append(
                f"gpu{row.get('index')} ({row.get('uuid')}): in nvidia-smi, not read by the agent"
            )
    return pairs, problems


def compare(agent: Sequence[GpuReading], smi: Sequence[Mapping[str, Any]]) -> list[str]:
    """Mismatches between the agent's readings and nvidia-smi's, one line each; [] = agree.

    Tolerances: utilization 10 points; memory used 2 % of total or 64 MiB; total 1 MiB;
    temperature 3 °C; power 15 % or 15 W. A value known on one side only is a mismatch.
    """
    pairs, problems = _pair(agent, smi)
    for gpu, row in pairs:
        tolerances = _tolerances(row.get("memory_total_bytes") or gpu.memory_total_bytes)
        for attr in COMPARED:
            a, b = getattr(gpu, attr), row.get(attr)
            if _within(a, b, tolerances[attr]) is False:
                problems.append(
                    f"gpu{gpu.index} {attr}: agent {_show(attr, a)}, nvidia-smi {_show(attr, b)}"
                )
    return problems


def _show(attr: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if attr.endswith("_bytes"):
        return f"{value / MIB:.0f} MiB"
    if attr == "utilization_ratio":
        return f"{value * 100:.0f} %"
    if attr == "power_watts":
        return f"{value:.1f} W"
    return f"{value:g} C"  # ASCII: the check may run under any locale


def _table(agent: Sequence[GpuReading], smi: Sequence[Mapping[str, Any]]) -> str:
    pairs, _ = _pair(agent, smi)
    lines = [f"{'gpu':<5}{'reading':<24}{'agent':>14}{'nvidia-smi':>14}  verdict"]
    for gpu, row in pairs:
        tolerances = _tolerances(row.get("memory_total_bytes") or gpu.memory_total_bytes)
        lines.append(f"{gpu.index:<5}{'name':<24}{gpu.name or 'n/a'}  {gpu.uuid or ''}")
        for attr in COMPARED:
            a, b = getattr(gpu, attr), row.get(attr)
            verdict = {True: "ok", False: "MISMATCH", None: "-"}[_within(a, b, tolerances[attr])]
            lines.append(f"{'':<5}{attr:<24}{_show(attr, a):>14}{_show(attr, b):>14}  {verdict}")
        lines.append(
            f"{'':<5}{'ecc_uncorrected_errors':<24}{_show_int(gpu.ecc_uncorrected_errors)}"
        )
        reasons = (
            "n/a" if gpu.throttle_reasons is None else ",".join(gpu.throttle_reasons) or "none"
        )
        lines.append(f"{'':<5}{'throttle_reasons':<24}{reasons}")
    return "\n".join(lines)


def _show_int(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Compare NVML with nvidia-smi: 0 agree, 1 mismatch, 2 nothing to compare."""
    del argv  # no options
    snapshot = read_gpus()
    if not snapshot.gpus:
        why = "; ".join(str(e) for e in snapshot.errors) or "NVML reports 0 GPUs"
        print(f"no NVIDIA GPU: {why}")
        return 2
    try:
        smi = nvidia_smi_readings()
    except SmiError as exc:
        print(f"cannot compare: {exc}")
        return 2
    print(_table(snapshot.gpus, smi))
    for err in snapshot.errors:
        print(f"NVML error: {err}")
    mismatches = compare(snapshot.gpus, smi)
    for line in mismatches:
        print(f"MISMATCH {line}")
    print(
        f"{len(snapshot.gpus)} GPU(s): "
        + (f"{len(mismatches)} mismatch(es)" if mismatches else "agent agrees with nvidia-smi")
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
