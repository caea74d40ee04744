"""The label join under a label tier: a label whose prediction the tier did not keep is
counted ``unsampled`` (a sampled one without a record stays an orphan), a stored record
joins with its inclusion probability, and the partial's Horvitz-Thompson tally weights
each pair by 1/p (hand computation)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.labels.test_labels import T0, label

from streams.codec import unpack_partial
from streams.config.models import ModelConfig
from streams.labels.join import LabelJoin, LabelState
from streams.labels.pending import Pending, read_pending
from streams.labels.performance_windows import PerformanceState, evaluate
from streams.sampling import Sampler, Tier, WeightedTally

CONFIG = ModelConfig(
    id="m",
    features={"x": "numeric"},
    reference=Path("unused.json"),
    performance={"window_s": 600, "cohorts": ["country"]},
    sampling={"labels": 0.25, "seed": 9, "always_keep": [{"segment": "country", "values": ["DE"]}]},
)


def test_unsampled_labels_are_counted_apart_from_orphans() -> None:
    sampler = Sampler.from_config(CONFIG.sampling)
    ids = [f"p{i}" for i in range(400)]
    kept = [i for i in ids if sampler.keeps(Tier.labels, i)]
    dropped = [i for i in ids if not sampler.keeps(Tier.labels, i)]
    stored = kept[:-5]  # the last five sampled predictions never came: orphans
    store = {
        i: Pending("m", T0 + 5, 0.9, ("country=US",), 0, probability=0.25).to_bytes()
        for i in stored
    }
    # an always-kept cohort's prediction is stored whatever its hash: its label joins
    store[dropped[0]] = Pending("m", T0 + 5, 0.2, ("country=DE",), 0, probability=1.0).to_bytes()
    join = LabelJoin({"m": CONFIG}, num_partitions=1, max_bytes=10_000)
    messages = [(n, i.encode(), label(i)) for n, i in enumerate(ids)]
    result = join.process(LabelState(0), messages, store.get, float("inf"))
    counts = {o: n for (_, o), n in result.counts.items()}
    assert counts == {
        "joined": len(stored) + 1,
        "orphan": len(kept) - len(stored),
        "unsampled": len(dropped) - 1,
    }
    ((_, raw),) = result.partials
    tallies = unpack_partial(raw)["weighted"][str(int(T0))]
    everyone = WeightedTally.from_list(tallies["*"])
    # by hand: each US label stands for 4 predictions, the DE one for itself; the US
    # ones (score 0.9, label 1) are right, the DE one (score 0.2, label 1) wrong
    assert everyone.count().value == pytest.approx(4 * len(stored) + 1)
    assert everyone.mean().value == pytest.approx(4 * len(stored) / (4 * len(stored) + 1))
    assert WeightedTally.from_list(tallies["country=DE"]).count().value == 1.0
    # stage 2 reports the weighted estimates with their intervals
    state = PerformanceState()
    state.apply(unpack_partial(raw), CONFIG.performance)
    record, _, _ = evaluate(state, int(T0), CONFIG.performance)
    cohort = record["cohorts"]["*"]
    assert cohort["n"] == len(stored) + 1
    assert cohort["weighted_labels"] == pytest.approx(4 * len(stored) + 1)
    assert (
        cohort["weighted_accuracy_lo"]
        < cohort["weighted_accuracy"]
        < cohort["weighted_accuracy_hi"]
    )


def test_old_records_read_as_fully_sampled() -> None:
    """Records stored before sampling carry no probability: every prediction was kept."""
    record = Pending("m", T0, 0.5, (), 0)
    body = record.to_bytes().replace(b',"probability":1.0', b"")
    assert b"probability" not in body
    assert read_pending(body).probability == 1.0  # type: ignore[union-attr]


def test_raising_the_label_rate_turns_no_earlier_prediction_into_an_orphan() -> None:
    """At 1 %, then 10 %: for one label horizon, a label without a record is an orphan
    only if even 1 % would have kept it; a horizon later, 10 % decides."""

    def config(rate: float) -> ModelConfig:
        base = CONFIG.model_dump() | {"sampling": {"labels": rate, "seed": 9}}
        return ModelConfig.model_validate(base | {"performance": {"label_horizon_s": 1000}})

    ids = [f"q{i}" for i in range(3_000)]
    low, high = Sampler({Tier.labels: 0.01}, 9), Sampler({Tier.labels: 0.1}, 9)
    below_low = [i for i in ids if low.keeps(Tier.labels, i)]
    band = [i for i in ids if high.keeps(Tier.labels, i) and not low.keeps(Tier.labels, i)]
    assert below_low and band
    now = 2_000_000_000.0  # after the labels' time, or they would be refused as future
    clock = [now]
    state = LabelState(0)

    def outcomes(rate: float, batch: list[str]) -> dict[str, int]:
        join = LabelJoin({"m": config(rate)}, 1, 10_000, now=lambda: clock[0])
        start = state.offset + 1
        messages = [(start + n, i.encode(), label(i)) for n, i in enumerate(batch)]
        result = join.process(state, messages, {}.get, float("inf"))
        return {o: n for (_, o), n in result.counts.items()}

    assert outcomes(0.01, below_low[:1]) == {"orphan": 1}  # the worker ran at 1 %
    clock[0] = now + 500  # raised to 10 %: labels of 1 %-era predictions keep arriving
    restored = LabelState.deserialize(state.serialize())
    state.rates = restored.rates
    assert outcomes(0.1, band + below_low) == {"unsampled": len(band), "orphan": len(below_low)}
    clock[0] = now + 1_600  # a label horizon after the raise: 10 % decides
    assert outcomes(0.1, band) == {"orphan": len(band)}
