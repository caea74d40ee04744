"""Halves of an exchange meet in either order; the table is bounded and counts losses."""

from __future__ import annotations

from streams.gateway.kserve import InferenceEvent
from streams.gateway.pairing import Pairing


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def half(kind: str, ce_id: str, model: str = "m") -> InferenceEvent:
    return InferenceEvent(kind, ce_id, model, None, [{"x": 1}])


def test_halves_pair_in_either_order_and_by_model() -> None:
    pairing = Pairing()
    assert pairing.offer(half("response", "1")) is None
    assert pairing.offer(half("request", "1", model="other")) is None  # same id, other model
    request, response = pairing.offer(half("request", "1"))  # type: ignore[misc]
    assert (request.kind, response.kind, len(pairing)) == ("request", "response", 1)


def test_a_full_table_refuses_and_an_old_half_expires_both_counted() -> None:
    clock = Clock()
    pairing = Pairing(capacity=2, timeout_s=60, clock=clock)
    pairing.offer(half("request", "1"))
    clock.now = 30
    pairing.offer(half("request", "2"))
    assert pairing.full()
    pairing.offer(half("request", "3"))
    pairing.offer(half("request", "2"))
    assert dict(pairing.unpaired) == {"full": 1, "duplicate": 1}
    clock.now = 61  # request 1 waited past the timeout; 2 still waits
    assert not pairing.full()
    assert pairing.offer(half("response", "1")) is None
    assert pairing.offer(half("response", "2")) is not None
    assert pairing.unpaired["expired"] == 1
