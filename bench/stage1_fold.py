"""Stage 1's own work on envelopes, without Kafka or Faust: the ceiling of one worker's
core, beside decoding alone, measured in the same run.

    .venv/bin/python bench/stage1_fold.py [--events 100000] [--size 500] [--repeats 3]

It generates ``--events`` simulated 25-feature predictions, splits them into envelopes of
``--size`` for 4 partitions, keeps partition 0's, and times, in CPU seconds of this
process (best of ``--repeats``: the machine's other jobs do not count):

1. decode: ``decode_message`` of every envelope (msgspec rows, every event validated);
2. stage 1: ``Stage1.process`` of every envelope into a partition state (decode, catalog
   check, windowing, and the sketch folds of each closed window), its state serialised
   every 4 envelopes as the worker saves it;
3. stage 1 + pending: the same, plus the pending-label record of every event (what the
   label join stores).

Rates are predictions/s, each with its ratio to decoding alone.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from streams.config.loading import load_config
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, FEATURES, EventGenerator
from streams.devtools.simulator.producer import write_reference
from streams.events.decode import decode_message
from streams.events.envelope import split_batches
from streams.labels.join import pending_record
from streams.windows.stage1 import PartitionState, Stage1
from streams.worker.run import load_models

PARTITIONS = 4
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def best_rate(run: Callable[[], int], repeats: int) -> float:
    best = 0.0
    for _ in range(repeats):
        started = time.process_time()
        n = run()
        best = max(best, n / (time.process_time() - started))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="(default: %(default)s)")
    parser.add_argument(
        "--size", type=int, default=500, help="envelope size (default: %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="(default: %(default)s)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    reference = write_reference(workdir / "reference.parquet", rows=20_000)
    model = {"id": DEFAULT_MODEL_ID, "features": dict(FEATURES), "reference": str(reference)}
    model |= {"window_s": 60, "performance": {"enabled": True, "cohorts": ["country"]}}
    (workdir / "monitor.yaml").write_text(yaml.safe_dump({"models": [model]}))
    specs = load_models(load_config(workdir / "monitor.yaml"))
    ts = T0 + np.sort(np.random.default_rng(0).uniform(0, 3600, args.events))
    events = EventGenerator(seed=0).generate(ts).to_events()
    envelopes = [
        v for p, _, v in split_batches("predictions", events, PARTITIONS, args.size) if p == 0
    ]

    def decode() -> int:
        return sum(len(decode_message(raw, "predictions", 1_000_000).events) for raw in envelopes)

    def stage1(pending: bool) -> Callable[[], int]:
        def run() -> int:
            folder, state, n = Stage1(specs, PARTITIONS, 1_000_000), PartitionState(0), 0
            for offset, raw in enumerate(envelopes):
                accepted, _ = folder.process(state, offset, None, raw)
                n += len(accepted)
                if pending:
                    for event, event_ts in accepted:
                        pending_record(event, ["country"], 0, event_ts)
                if offset % 4 == 3:
                    state.serialize()
            return n

        return run

    base = best_rate(decode, args.repeats)
    print(f"{len(envelopes)} envelopes of up to {args.size} (partition 0 of {PARTITIONS})")
    print(f"decode (msgspec rows)          {base:10,.0f} predictions/s")
    for name, pending in (("stage 1", False), ("stage 1 + pending records", True)):
        rate = best_rate(stage1(pending), args.repeats)
        print(f"{name:30} {rate:10,.0f} predictions/s   {rate / base:5.2f}x decode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
