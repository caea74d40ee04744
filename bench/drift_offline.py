"""Offline drift on two Parquet files: our engine (``streams drift``) against Evidently's
DataDriftPreset, on the same files, measured in the same run.

    .venv/bin/python bench/drift_offline.py [--rows 100000] [--shift 0.5] [--repeats 3]
        [--out DIR] [--profile 25]

It writes reference.parquet and current.parquet with ``bench/compare/data.py``
(``make_frames(rows, 25, seed, shift)``: 20 numeric and 5 string features; ``shift``
moves ``num_00``'s mean in the current file by that many std), then times:

1. ours in-process: ``streams.offline.compare.run_comparison(reference, current)``, which
   reads both files, profiles the reference, sketches the current file and runs every
   test; imports and interpreter start are excluded. One warm-up, then best of
   ``--repeats``.
2. ours as a process: ``streams drift --reference A --current B --format json``, whole
   wall time (interpreter start and imports included); best of ``--repeats``.
3. Evidently in the benchmark venv (``bash bench/compare/setup.sh``):
   ``bench/compare/evidently_drift.py --json``, whose ``seconds`` is
   ``Dataset.from_pandas`` + ``Report.run`` (tests and widget rendering included) and
   ``load_seconds`` reading both files; and the whole subprocess's wall time. Best of
   ``--repeats`` for each number (taken from the same runs' minima).

Ratios are Evidently over ours for like-for-like pairs: in-process (Evidently's load +
report against ``run_comparison``, which reads the files too; and report alone against
it) and process wall against process wall. It also says whether both flagged the same
columns. ``--profile N`` prints the top N functions of one ``run_comparison`` by
cumulative time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compare.data import make_frames, write_parquet
from streams.offline.compare import run_comparison

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
EVIDENTLY_SCRIPT = ROOT / "bench" / "compare" / "evidently_drift.py"
TARGET = 50.0


def streams_command() -> list[str]:
    """The ``streams`` console script next to this interpreter, or ``python -m streams``."""
    script = Path(sys.executable).parent / "streams"
    return [str(script)] if script.exists() else [sys.executable, "-m", "streams"]


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def ours_in_process(reference: Path, current: Path, repeats: int) -> tuple[float, list[str]]:
    """Best time of run_comparison after one warm-up, and the drifted features."""
    run_comparison(reference, current)
    best, drifted = float("inf"), []
    for _ in range(repeats):
        seconds, result = timed(lambda: run_comparison(reference, current))
        best = min(best, seconds)
        drifted = [f.name for f in result.report.features if f.drifted]
    return best, drifted


def ours_cli(reference: Path, current: Path, repeats: int) -> tuple[float, list[str]]:
    """Best wall time of the ``streams drift`` process, and the features it flagged."""
    command = [
        *streams_command(),
        "drift",
        "--reference",
        str(reference),
        "--current",
        str(current),
        "--format",
        "json",
    ]
    best, drifted = float("inf"), []
    for _ in range(repeats):
        seconds, done = timed(
            lambda: subprocess.run(command, capture_output=True, text=True, check=False)
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"streams drift failed ({done.returncode}):\n{done.stderr}")
        best = min(best, seconds)
        drifted = json.loads(done.stdout)["dataset"]["drifted_features"]
        if bool(drifted) != (done.returncode == 1):
            raise SystemExit(f"streams drift exit {done.returncode} but flagged {drifted}")
    return best, drifted


def bench_python() -> Path | None:
    """The benchmark venv's python, creating the venv (idempotent) if it is missing."""
    if BENCH_PYTHON.exists():
        return BENCH_PYTHON
    print("bench venv missing: running bash bench/compare/setup.sh ...", file=sys.stderr)
    done = subprocess.run(["bash", str(ROOT / "bench" / "compare" / "setup.sh")], check=False)
    return BENCH_PYTHON if done.returncode == 0 and BENCH_PYTHON.exists() else None


def evidently(reference: Path, current: Path, repeats: int) -> dict[str, Any] | None:
    """Minima over ``repeats`` runs of report, load and process wall time, and its flags."""
    python = bench_python()
    if python is None:
        print("Evidently skipped: no benchmark venv (setup.sh failed)", file=sys.stderr)
        return None
    command = [
        str(python),
        str(EVIDENTLY_SCRIPT),
        "--json",
        "--reference",
        str(reference),
        "--current",
        str(current),
    ]
    runs = []
    for _ in range(repeats):
        wall, done = timed(
            lambda: subprocess.run(command, capture_output=True, text=True, check=False)
        )
        if done.returncode != 0:
            print(f"Evidently failed ({done.returncode}):\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
        runs.append({**json.loads(done.stdout), "wall": wall})
    best = dict(runs[-1])
    for key in ("seconds", "load_seconds", "wall"):
        best[key] = min(r[key] for r in runs)
    best["compute_load"] = min(r["seconds"] + r["load_seconds"] for r in runs)
    return best


def profile_once(reference: Path, current: Path, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_comparison, reference, current)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    print(f"\ncProfile of one run_comparison (top {top} by cumulative time):")
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows per file (100000)")
    parser.add_argument("--shift", type=float, default=0.5, help="num_00 shift in std (0.5)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (0)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (3)")
    parser.add_argument("--out", type=Path, help="directory for the Parquet files (a temp dir)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile top N")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="streams-drift-bench-"))
    ref_cols, cur_cols = make_frames(args.rows, 25, args.seed, args.shift)
    reference = write_parquet(ref_cols, out / "reference.parquet")
    current = write_parquet(cur_cols, out / "current.parquet")
    del ref_cols, cur_cols
    print(
        f"data: {args.rows:,} vs {args.rows:,} rows x 25 features (20 numeric, 5 categorical), "
        f"num_00 shifted by {args.shift} std; files in {out}"
    )

    ours_s, ours_flags = ours_in_process(reference, current, args.repeats)
    cli_s, cli_flags = ours_cli(reference, current, args.repeats)
    ev = evidently(reference, current, args.repeats)

    print(f"\n{'':52}  {'seconds':>8}  flagged")
    lines = [
        ("ours in-process: run_comparison (reads files)", ours_s, ours_flags),
        ("ours process: streams drift --format json (wall)", cli_s, cli_flags),
    ]
    if ev is not None:
        v = ev["version"]
        lines += [
            (f"Evidently {v} in-process: load + report", ev["compute_load"], ev["drifted_columns"]),
            (f"Evidently {v} in-process: report only", ev["seconds"], ev["drifted_columns"]),
            (f"Evidently {v} in-process: load only", ev["load_seconds"], None),
            (
                f"Evidently {v} process: evidently_drift.py (wall)",
                ev["wall"],
                ev["drifted_columns"],
            ),
        ]
    for name, seconds, flags in lines:
        shown = "" if flags is None else ", ".join(flags) or "none"
        print(f"{name:52}  {seconds:8.3f}  {shown}")

    if ev is not None:
        ratios = [
            (
                "in-process: Evidently load + report / ours run_comparison",
                ev["compute_load"],
                ours_s,
            ),
            ("in-process: Evidently report only / ours run_comparison", ev["seconds"], ours_s),
            ("process wall: Evidently script / streams drift", ev["wall"], cli_s),
        ]
        print("\nratios Evidently / ours (higher: ours faster):")
        for name, theirs, mine in ratios:
            print(f"  {name:60} {theirs / mine:7.1f}x")
        best_pair = ratios[0][1] / ratios[0][2]
        verdict = "met" if best_pair >= TARGET else "NOT met"
        print(f"target >= {TARGET:.0f}x (in-process, load + report): {verdict} ({best_pair:.1f}x)")
        same = sorted(ours_flags) == sorted(ev["drifted_columns"]) == sorted(cli_flags)
        print(
            f"flagged columns: ours {ours_flags or 'none'}, Evidently "
            f"{ev['drifted_columns'] or 'none'}: {'same' if same else 'DIFFERENT'}"
        )
    if args.profile:
        profile_once(reference, current, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
