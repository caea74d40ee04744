"""A dead letter's delivery resolves only once the broker acked it: a send that raises
or a delivery that fails is resent (no sleeping: the test's sleep records the waits)."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.worker.deadletters import RETRY, send_until_acked


class FlakyTopic:
    """Raises on the first ``raises`` sends, fails the next ``fails`` deliveries."""

    def __init__(self, raises: int, fails: int) -> None:
        self.raises, self.fails = raises, fails
        self.sent: list[tuple[bytes | None, bytes]] = []
        self.acked: list[bytes] = []

    async def send(self, key: bytes | None, value: bytes) -> Any:
        self.sent.append((key, value))
        if self.raises:
            self.raises -= 1
            raise RuntimeError("MessageSizeTooLargeError")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self.fails:
            self.fails -= 1
            future.set_exception(RuntimeError("NotLeaderForPartition"))
        else:
            self.acked.append(value)
            future.set_result("ack")
        return future


def test_a_dead_letter_is_resent_until_acked_and_only_then_resolves() -> None:
    topic = FlakyTopic(raises=2, fails=2)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> Any:
        delivery = await send_until_acked(topic.send, b"k", b"v", sleep=sleep)
        assert topic.acked == []  # handed over, not yet on the broker
        return await delivery

    assert asyncio.run(main()) == "ack"
    assert topic.sent == [(b"k", b"v")] * 5 and topic.acked == [b"v"]
    assert len(waits) == 4 and all(0 < w <= RETRY.cap_s for w in waits)


def test_a_healthy_send_is_not_repeated() -> None:
    topic = FlakyTopic(raises=0, fails=0)

    async def main() -> Any:
        return await (await send_until_acked(topic.send, None, b"v"))

    assert asyncio.run(main()) == "ack" and topic.sent == [(None, b"v")]
