"""GPU readings through NVML (``pynvml``, from the ``nvidia-ml-py`` package).

This module imports only the standard library and pynvml, on purpose: ``gpu.py``,
the stand-alone check against nvidia-smi, imports it as a sibling file on a GPU
machine where nothing but nvidia-ml-py is installed.

Every NVML call is wrapped on its own: a failing call (a GPU fallen off the bus, a
counter the driver cannot read) leaves its field None and adds an ``NvmlError``, and
the other readings go on. A call the device does not support (NVML_ERROR_NOT_SUPPORTED,
e.g. ECC on a consumer card) is not a fault: its field is None and no error is added,
so that an error counter only moves for real faults. ``nvmlInit`` failing (no driver,
no GPU) gives an empty snapshot with one ``nvmlInit`` error, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pynvml

__all__ = [
    "NVML_CALLS",
    "THROTTLE_REASONS",
    "GpuSnapshot",
    "Nvml",
    "NvmlError",
    "NvmlReading",
    "read_gpus",
]

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
class NvmlReading:
    """One GPU as NVML read it, in base units; None where the call failed or is unsupported.

    The fields are those of the wire record ``streams.events.models.NvmlReading`` (a test
    holds them equal), which the agent validates it into; this plain dataclass exists so
    that reading a GPU needs nothing beyond the standard library and pynvml.
    """

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

    gpus: list[NvmlReading] = field(default_factory=list)
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

    def _read_one(self, index: int, errors: list[NvmlError]) -> NvmlReading | None:
        """One GPU's readings, in the order of ``NVML_CALLS``; None without a handle."""

        def call(name: str, *attempts: Callable[[], Any]) -> Any:
            return self._call(errors, index, name, *attempts)

        handle = call(
            "nvmlDeviceGetHandleByIndex", lambda: pynvml.nvmlDeviceGetHandleByIndex(index)
        )
        if handle is None:
            return None
        reading = NvmlReading(index=index)
        for read in (_read_identity, _read_load, _read_thermals, _read_ecc, _read_throttle):
            read(call, handle, reading)
        return reading


#: ``call(name, *attempts)``: one wrapped NVML call of the GPU being read.
_Call = Callable[..., Any]


def _read_identity(call: _Call, handle: Any, reading: NvmlReading) -> None:
    uuid = call("nvmlDeviceGetUUID", lambda: pynvml.nvmlDeviceGetUUID(handle))
    reading.uuid = None if uuid is None else _text(uuid)
    name = call("nvmlDeviceGetName", lambda: pynvml.nvmlDeviceGetName(handle))
    reading.name = None if name is None else _text(name)


def _read_load(call: _Call, handle: Any, reading: NvmlReading) -> None:
    util = call(
        "nvmlDeviceGetUtilizationRates", lambda: pynvml.nvmlDeviceGetUtilizationRates(handle)
    )
    if util is not None:
        reading.utilization_ratio = min(max(util.gpu / 100.0, 0.0), 1.0)
    # version 2 counts the memory the driver reserves apart from "used", as
    # nvidia-smi does; version 1 (all older drivers have) counts it as used
    memory = call(
        "nvmlDeviceGetMemoryInfo",
        lambda: pynvml.nvmlDeviceGetMemoryInfo(handle, version=pynvml.nvmlMemory_v2),
        lambda: pynvml.nvmlDeviceGetMemoryInfo(handle),
    )
    if memory is not None:
        reading.memory_used_bytes = int(memory.used)
        reading.memory_total_bytes = int(memory.total)


def _read_thermals(call: _Call, handle: Any, reading: NvmlReading) -> None:
    temp = call(
        "nvmlDeviceGetTemperature",
        lambda: pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU),
    )
    if temp is not None:
        reading.temperature_celsius = float(temp)
    milliwatts = call("nvmlDeviceGetPowerUsage", lambda: pynvml.nvmlDeviceGetPowerUsage(handle))
    if milliwatts is not None:
        reading.power_watts = milliwatts / 1000.0


def _read_ecc(call: _Call, handle: Any, reading: NvmlReading) -> None:
    """Volatile uncorrected errors, asked only when ECC is on (else the field stays None)."""
    mode = call("nvmlDeviceGetEccMode", lambda: pynvml.nvmlDeviceGetEccMode(handle))
    if mode is not None and mode[0] == pynvml.NVML_FEATURE_ENABLED:
        ecc = call(
            "nvmlDeviceGetTotalEccErrors",
            lambda: pynvml.nvmlDeviceGetTotalEccErrors(
                handle, pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_VOLATILE_ECC
            ),
        )
        reading.ecc_uncorrected_errors = None if ecc is None else int(ecc)


def _read_throttle(call: _Call, handle: Any, reading: NvmlReading) -> None:
    # "ClocksThrottleReasons" became "ClocksEventReasons" in driver 535
    mask = call(
        "nvmlDeviceGetCurrentClocksEventReasons",
        lambda: pynvml.nvmlDeviceGetCurrentClocksEventReasons(handle),
        lambda: pynvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle),
    )
    if mask is not None:
        reading.throttle_reasons = [r for r, bit in THROTTLE_REASONS.items() if mask & bit]


def read_gpus() -> GpuSnapshot:
    """One-off reading of every GPU (init, read, shut down). Never raises."""
    with Nvml() as nvml:
        return nvml.read()
