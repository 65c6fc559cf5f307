"""Retrying calls that failed for a reason that may pass (:class:`~livepanty_db.errors.TransientError`).

Opt-in: the client never retries by itself, because only the caller knows what one attempt is. Safe for
money calls because each is idempotent by its key: pass the same ``idempotency_key`` in every attempt, and an
attempt whose COMMIT did happen (the connection died while the answer was on its way) is answered from the key
with the original result instead of being done twice::

    key = new_idempotency_key()                       # one key per intended operation, made once
    tip = call_with_retry(lambda: client.tip(..., idempotency_key=key))

    def transfer() -> Tip:                            # a whole transaction is one attempt
        with client.session(token) as tx:
            return tx.tip(..., idempotency_key=key)
    tip = call_with_retry(transfer)

Refusals (an LP code, a bad argument) are raised at once: repeating them cannot help.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from livepanty_db.errors import TransientError

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Attempts in all (the first call included), the first delay and the ceiling of the delays, in seconds.
DEFAULT_ATTEMPTS = 5
DEFAULT_BASE_DELAY = 0.05
DEFAULT_MAX_DELAY = 2.0


def backoff_delays(attempts: int, base_delay: float, max_delay: float) -> list[float]:
    """The pauses between ``attempts`` attempts: exponential with full jitter, each at most ``max_delay``."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    return [random.uniform(0, min(max_delay, base_delay * 2**n)) for n in range(attempts - 1)]  # noqa: S311


def call_with_retry(
    func: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``func()``, called again after a :class:`TransientError` (up to ``attempts`` calls in all, with
    jittered exponential pauses); the last TransientError is raised when every attempt failed; any other
    exception at once."""
    delays = backoff_delays(attempts, base_delay, max_delay)
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return func()
        except TransientError as exc:
            if delay is None:
                raise
            log.info("attempt %d failed with [%s] %s; retrying in %.3f s", attempt, exc.sqlstate, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def call_with_retry_async(
    func: Callable[[], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
) -> T:
    """:func:`call_with_retry` for coroutines: ``await func()`` again after a TransientError."""
    delays = backoff_delays(attempts, base_delay, max_delay)
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return await func()
        except TransientError as exc:
            if delay is None:
                raise
            log.info("attempt %d failed with [%s] %s; retrying in %.3f s", attempt, exc.sqlstate, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
