"""Labels in envelopes: joined as single labels are, a bad or foreign label dead-lettered
alone with its index, an early one deferred as a single event."""

from __future__ import annotations

import orjson
from tests.unit.labels.test_labels import CONFIG, T0

from streams.events.envelope import encode_batch
from streams.kafka.partitioner import partition_for
from streams.labels.join import LabelJoin, LabelState
from streams.labels.pending import Pending


def label(pid: str, value: str = "1") -> dict[str, str]:
    return {
        "model_id": "m",
        "prediction_id": pid,
        "timestamp": "2026-01-02T00:00:00Z",
        "label": value,
    }


def ids_of(partition: int, n: int) -> list[str]:
    return [
        p for p in (f"p{i}" for i in range(10 * n)) if partition_for(p.encode(), 4) == partition
    ][:n]


def test_an_envelope_of_labels_joins_like_single_labels() -> None:
    pids = ids_of(1, 6)
    store = {p: Pending("m", T0 + 10, 0.9, ("country=DE",), 1).to_bytes() for p in pids}
    foreign = next(p for p in (f"q{i}" for i in range(100)) if partition_for(p.encode(), 4) != 1)
    batch = [label(p) for p in pids[:3]]
    batch += [{**label(pids[3]), "label": 1}, label(foreign), label(pids[4]), label(pids[0])]
    join = LabelJoin({"m": CONFIG}, num_partitions=4, max_bytes=10_000)
    single = join.process(LabelState(1), [(0, None, orjson.dumps(label(pids[5])))], store.get, T0)
    result = join.process(LabelState(1), [(0, b"k", encode_batch("labels", batch))], store.get, T0)
    assert {o: n for (_, o), n in result.counts.items()} == {"joined": 4, "duplicate": 1}
    dead = [(d.index, d.rejection.reason, d.offset) for d in result.deadletters]
    assert dead == [(3, "schema", 0), (4, "foreign_partition", 0)]
    assert orjson.loads(result.deadletters[1].raw)["prediction_id"] == foreign
    assert {o: n for (_, o), n in single.counts.items()} == {"joined": 1}


def test_an_early_label_out_of_an_envelope_is_deferred_and_joins_later() -> None:
    join = LabelJoin({"m": CONFIG}, num_partitions=1, max_bytes=10_000)
    state = LabelState(0)
    store: dict[str, bytes] = {}
    batch = encode_batch("labels", [label("a"), label("b")])
    first = join.process(state, [(0, None, batch)], store.get, T0)  # predictions behind
    assert first.counts == {} and len(state.deferred) == 2
    store["a"] = Pending("m", T0, 0.9, (), 0).to_bytes()
    later = join.process(state, [], store.get, float("inf"))
    assert {o: n for (_, o), n in later.counts.items()} == {"joined": 1, "orphan": 1}
