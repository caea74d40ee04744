"""The hash rule: a lower rate keeps a subset of a higher one, the client's per-event
decision equals the worker's vectorised one, the kept share is the rate (scipy's
binomial test), always-keep rules keep with probability 1, and the module imports
without Faust (the producer client uses it)."""

from __future__ import annotations

import subprocess
import sys
from hashlib import blake2b

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from streams.sampling import KeepRule, Sampler, Tier, sampling_hash, threshold

ids = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=200, unique=True)
rates = st.floats(min_value=0.0, max_value=1.0)
seeds = st.integers(min_value=0, max_value=2**64 - 1)


@given(ids, rates, rates, seeds)
def test_a_lower_rate_keeps_a_subset_of_a_higher_one(
    prediction_ids: list[str], a: float, b: float, seed: int
) -> None:
    low, high = sorted((a, b))
    lower = Sampler({Tier.labels: low}, seed).keep_mask(Tier.labels, prediction_ids)
    higher = Sampler({Tier.labels: high}, seed).keep_mask(Tier.labels, prediction_ids)
    assert not (lower & ~higher).any()


@given(ids, rates, seeds)
def test_client_and_worker_decide_alike(prediction_ids: list[str], rate: float, seed: int) -> None:
    """The client asks one id at a time (``keeps``, ``tiers``); stage 1 asks a batch."""
    client = Sampler({Tier.drift: max(rate, 1e-9), Tier.audit: rate}, seed)
    worker = Sampler.from_dict(client.to_dict())  # as a restored aggregate holds it
    for tier in (Tier.drift, Tier.audit):
        batch = worker.keep_mask(tier, prediction_ids).tolist()
        assert batch == [client.keeps(tier, i) for i in prediction_ids]
        assert batch == [tier in client.tiers(i) for i in prediction_ids]


@given(st.text(min_size=1), seeds)
def test_the_hash_is_keyed_blake2b_as_documented(prediction_id: str, seed: int) -> None:
    """Any language can reproduce it: BLAKE2b-64 keyed by the seed's 8 LE bytes."""
    digest = blake2b(prediction_id.encode(), digest_size=8, key=seed.to_bytes(8, "little"))
    assert sampling_hash(prediction_id, seed) == int.from_bytes(digest.digest(), "little")


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5])
def test_the_kept_share_is_the_rate(rate: float) -> None:
    n = 20_000
    kept = int(
        Sampler({Tier.labels: rate}, seed=5)
        .keep_mask(Tier.labels, [f"p{i}" for i in range(n)])
        .sum()
    )
    assert stats.binomtest(kept, n, rate).pvalue > 0.001


def test_tiers_nest_under_one_hash() -> None:
    """With audit below labels, every audited prediction is also labelled."""
    sampler = Sampler({Tier.labels: 0.2, Tier.audit: 0.05}, seed=1)
    chosen = [sampler.tiers(f"p{i}") for i in range(5_000)]
    audited = [t for t in chosen if Tier.audit in t]
    assert audited and all(Tier.labels in t for t in audited)
    assert all(t[Tier.audit] == pytest.approx(0.05) for t in audited)


def test_rate_extremes() -> None:
    assert threshold(0.0) == 0 and threshold(1.0) == 2**64
    sampler = Sampler({Tier.audit: 0.0})
    assert not sampler.keep_mask(Tier.audit, ["a", "b"]).any()
    assert sampler.keep_mask(Tier.drift, ["a", "b"]).all()
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        Sampler({Tier.labels: 1.5})


def test_an_always_keep_rule_keeps_its_segment_with_probability_one() -> None:
    rule = KeepRule("country", frozenset({"DE"}), frozenset({Tier.labels}))
    sampler = Sampler({Tier.labels: 0.01}, seed=2, rules=[rule])
    segments = [{"country": "DE"}, {"country": "US"}] * 500
    mask = sampler.keep_mask(Tier.labels, [f"p{i}" for i in range(1000)], segments)
    assert mask[::2].all() and mask[1::2].sum() < 50
    assert sampler.probability(Tier.labels, {"country": "DE"}) == 1.0
    assert sampler.probability(Tier.labels, {"country": "US"}) == pytest.approx(0.01)
    assert sampler.probability(Tier.drift, {"country": "DE"}) == 1.0  # drift at its default


def test_importable_without_faust() -> None:
    code = "import sys, streams.sampling, streams.client; assert 'faust' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_config_refuses_an_empty_drift_or_label_tier_by_name(tmp_path) -> None:
    from streams.config.loading import load_config
    from streams.errors import StreamsError

    path = tmp_path / "monitor.yaml"
    model = "models: [{id: m, features: {x: numeric}, reference: r.json, sampling: %s}]"
    path.write_text(model % "{labels: 0, audit: 0}")
    with pytest.raises(
        StreamsError, match=r"models\.0\.sampling\.labels: Input should be greater than 0"
    ):
        load_config(path)
    path.write_text(model % "{labels: 0.1, audit: 0.05, always_keep: [{segment: c, values: [a]}]}")
    sampling = load_config(path).models[0].sampling
    assert Sampler.from_config(sampling).rules[0].tiers == {Tier.drift, Tier.labels}
