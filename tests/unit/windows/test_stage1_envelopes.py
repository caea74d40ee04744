"""Stage 1 on envelopes: the same events folded one per message or many per message make
the same windows (counts, sketches); bad and foreign events are dead-lettered alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from tests.unit.windows.test_stages import T0, partial_counts, spec  # noqa: F401

from streams.codec import unpack_partial
from streams.events.envelope import encode_batch
from streams.kafka.partitioner import partition_for
from streams.windows.stage1 import DeadLetter, ModelSpec, PartitionState, Stage1


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def events(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    times = T0 + np.sort(rng.uniform(0, 300, n))
    times[::17] -= 40  # out of order, some beyond the lateness
    return [
        {
            "model_id": "m",
            "model_version": "1",
            "prediction_id": f"p{i}",
            "timestamp": iso(float(t)),
            "features": {"x": float(rng.normal()), "color": str(rng.choice(["red", "blue"]))},
            "prediction": {"score": float(rng.uniform())},
            "latency_ms": float(rng.uniform(1, 50)),
        }
        for i, t in enumerate(times)
    ]


def run(stage1: Stage1, state: PartitionState, messages: list[bytes]) -> list[Any]:
    outputs = []
    for offset, raw in enumerate(messages):
        outputs += stage1.process(state, offset, None, raw)[1]
    return outputs + stage1.flush_idle(state)


def merged(outputs: list[Any]) -> dict[int, dict[str, Any]]:
    """Each window's count, late count and sketches, partials of a window merged."""
    from streams.windows.aggregate import WindowAggregate

    windows: dict[int, WindowAggregate] = {}
    for out in outputs:
        if isinstance(out, DeadLetter) or out.body["kind"] != "partial":
            continue
        agg = WindowAggregate.from_dict(unpack_partial(out.serialize())["aggregate"])
        if agg.window_start in windows:
            windows[agg.window_start] += agg
        else:
            windows[agg.window_start] = agg
    return {
        w: {
            "count": a.count,
            "late": a.late,
            "x": _exact_part(a.features["x"]),
            "color": a.features["color"].to_bytes(),
            "score": _exact_part(a.score),
            "latency": _exact_part(a.latency),
        }
        for w, a in windows.items()
    }


def _exact_part(sketch: Any) -> tuple[bytes, int]:
    """A numeric sketch's bytes without its quantile sketch, whose randomised compactions
    agree within its rank error (tests/unit/sketches), not byte for byte; and its count."""
    plain = sketch.copy()
    plain.quantiles = None
    return plain.to_bytes(), sketch.quantiles.n


def test_envelopes_fold_into_the_windows_single_events_make(spec: ModelSpec) -> None:  # noqa: F811
    stream = events(2000)
    singles = run(
        Stage1({"m": spec}, 1, 10_000), PartitionState(0), [orjson.dumps(e) for e in stream]
    )
    for size in (1, 100, 500):
        batches = [encode_batch("predictions", stream[i : i + size]) for i in range(0, 2000, size)]
        enveloped = run(Stage1({"m": spec}, 1, 10_000), PartitionState(0), batches)
        assert merged(enveloped) == merged(singles), size
    assert sum(w["count"] for w in merged(singles).values()) == 2000


def test_bad_and_foreign_events_are_dead_lettered_alone(spec: ModelSpec) -> None:  # noqa: F811
    stage1 = Stage1({"m": spec}, num_partitions=4, max_event_bytes=10_000)
    stream = [e for e in events(400) if partition_for(e["prediction_id"].encode(), 4) == 2]
    mine = stream[:50]
    foreign = next(
        e for e in events(400, seed=1) if partition_for(e["prediction_id"].encode(), 4) != 2
    )
    foreign = {**foreign, "prediction_id": "q" + foreign["prediction_id"]}
    assert partition_for(foreign["prediction_id"].encode(), 4) != 2
    batch = [*mine[:10], {**mine[10], "model_id": "nope"}, foreign, {**mine[11], "features": 1}]
    batch += mine[12:50]
    state = PartitionState(2)
    accepted, outputs = stage1.process(state, 0, b"k", encode_batch("predictions", batch))
    dead = [(o.index, o.rejection.reason) for o in outputs if isinstance(o, DeadLetter)]
    assert sorted(dead) == [(10, "unknown_model"), (11, "foreign_partition"), (12, "schema")]
    assert len(accepted) == 48
    foreign_letter = next(o for o in outputs if isinstance(o, DeadLetter) and o.index == 11)
    assert orjson.loads(foreign_letter.raw)["prediction_id"] == foreign["prediction_id"]
    outputs += stage1.flush_idle(state)
    assert sum(partial_counts(outputs).values()) == 48


def test_a_replayed_envelope_is_skipped_whole(spec: ModelSpec) -> None:  # noqa: F811
    stage1 = Stage1({"m": spec}, 1, 10_000)
    batches = [encode_batch("predictions", events(300)[i : i + 100]) for i in range(0, 300, 100)]
    state = PartitionState(0)
    before = [
        o for off, raw in enumerate(batches[:2]) for o in stage1.process(state, off, None, raw)[1]
    ]
    restored = PartitionState.deserialize(state.serialize())
    after = [
        o for off, raw in enumerate(batches) for o in stage1.process(restored, off, None, raw)[1]
    ]
    after += stage1.flush_idle(restored)
    assert sum(partial_counts(before + after).values()) == 300
