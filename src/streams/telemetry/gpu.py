"""The stand-alone GPU check: NVML's readings (``nvml.py``) against ``nvidia-smi``'s.

Run as ``python src/streams/telemetry/gpu.py`` on a GPU machine where nothing but
nvidia-ml-py is installed: it imports only the standard library, pynvml and its
sibling ``nvml.py``, prints the agent's readings next to ``nvidia-smi``'s and exits 0
when they agree, 1 when they do not, 2 when there is nothing to compare (no GPU, no
driver, no nvidia-smi).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

if __package__:  # imported as streams.telemetry.gpu
    from streams.telemetry.nvml import NvmlReading, read_gpus
else:  # run as a file, without the package: nvml.py lies beside this one
    from nvml import NvmlReading, read_gpus

try:  # run stand-alone (the standard library and pynvml only), a local stand-in root
    from streams.errors import StreamsError
except ImportError:  # pragma: no cover - only without the package on the path

    class StreamsError(Exception):  # type: ignore[no-redef]
        """Stand-in for the package's error root when this file runs on its own."""


__all__ = [
    "SmiError",
    "compare",
    "main",
    "nvidia_smi_readings",
    "parse_nvidia_smi",
]

MIB = 1024 * 1024

SMI_FIELDS: tuple[tuple[str, str], ...] = (
    ("index", "index"),
    ("uuid", "uuid"),
    ("utilization.gpu", "utilization_ratio"),
    ("memory.used", "memory_used_bytes"),
    ("memory.total", "memory_total_bytes"),
    ("temperature.gpu", "temperature_celsius"),
    ("power.draw", "power_watts"),
)
"""nvidia-smi query field -> NvmlReading attribute, in the order of the query."""


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
    """What ``nvidia-smi`` reports for every GPU, in the same base units as ``NvmlReading``.

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
    agent: Sequence[NvmlReading], smi: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[NvmlReading, Mapping[str, Any]]], list[str]]:
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


def compare(agent: Sequence[NvmlReading], smi: Sequence[Mapping[str, Any]]) -> list[str]:
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


def _table(agent: Sequence[NvmlReading], smi: Sequence[Mapping[str, Any]]) -> str:
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
