"""Dead letters that reach the broker: a failed send is retried until it is acked.

Faust acknowledges a batch's events when the agent's body returns, or raises: a dead
letter whose send raised would take the rest of its batch with it, unfolded but
committed (issue 18: 143 valid events lost to one over-large record). So a dead
letter's delivery is an awaitable that resolves only once the broker has the record,
resending with backoff meanwhile; the agent gathers it before it saves its state, and
its events are not acknowledged before that. Records are bounded
(events/decode.py, ``deadletter_record``), so a retry can succeed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from streams.backoff import Backoff

log = logging.getLogger(__name__)

#: Between resends of a dead letter: quick at first (a leader moved), then every 10 s.
RETRY = Backoff(base_s=0.1, cap_s=10.0)
#: Produce one record; returns its delivery (which may fail later) or raises.
Send = Callable[[bytes | None, bytes], Awaitable[Awaitable[Any]]]


async def send_until_acked(
    send: Send,
    key: bytes | None,
    value: bytes,
    *,
    backoff: Backoff = RETRY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Awaitable[Any]:
    """Hand the record to the producer; the returned awaitable resolves once the
    broker acked it, after as many resends as that takes. Never raises."""
    try:
        delivery: Awaitable[Any] | None = await send(key, value)
    except Exception as exc:  # any failure is retried, never raised
        log.warning("dead letter not sent (%s: %s); retrying", type(exc).__name__, exc)
        delivery = None
    return asyncio.ensure_future(_acked(send, key, value, delivery, backoff, sleep))


async def _acked(
    send: Send,
    key: bytes | None,
    value: bytes,
    delivery: Awaitable[Any] | None,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]],
) -> Any:
    attempt = 0
    while True:
        try:
            if delivery is None:  # the last send or delivery failed: wait, then resend
                await sleep(backoff.delay(attempt))
                attempt += 1
                delivery = await send(key, value)
            return await delivery
        except Exception as exc:
            log.warning(
                "dead letter not delivered (%s: %s); resend %d",
                type(exc).__name__,
                exc,
                attempt + 1,
            )
            delivery = None
