"""Retrying calls that failed for a reason that may pass (:class:`~livepanty_db.errors.TransientError`).

Opt-in: the client never retries by itself, because only the caller knows what one attempt is. Retried:

- a failure the server answered (deadlock, serialization failure, lock or statement timeout, 40xxx, 55P03,
  57014) or a connection that could not be opened (08001, 57P03): nothing happened, any call is repeated;
- a connection lost while the call ran (class 08 but 08001, 57P01, 57P02) or a shard's answer lost (LP200):
  the COMMIT may have happened with its answer lost (:func:`~livepanty_db.errors.outcome_may_be_unknown`).
  Repeated only when the caller says ``idempotent=True``: every state-changing call in it carries an
  idempotency key (the same in every attempt: an attempt whose COMMIT did happen is answered from the key with
  the original result instead of being done twice), or it only reads. Otherwise
  :class:`~livepanty_db.errors.OutcomeUnknown` is raised at once (the lost failure its ``__cause__``): a call
  without a key repeated after it committed would be done twice, or refused for what succeeded::

    key = new_idempotency_key()                       # one key per intended operation, made once
    tip = call_with_retry(lambda: client.tip(..., idempotency_key=key), idempotent=True)

    def transfer() -> Tip:                            # a whole transaction is one attempt
        with client.session(token) as tx:
            return tx.tip(..., idempotency_key=key)
    tip = call_with_retry(transfer, idempotent=True)

Refusals (an LP code, a bad argument) are raised at once: repeating them cannot help.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from livepanty_db.errors import TransientError, outcome_may_be_unknown, outcome_unknown

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


def _retryable(exc: TransientError, idempotent: bool) -> None:
    """Raise OutcomeUnknown (from ``exc``) when ``exc`` may have followed a COMMIT and the call is not
    ``idempotent``."""
    if not idempotent and outcome_may_be_unknown(exc):
        raise outcome_unknown(exc) from exc


def call_with_retry(
    func: Callable[[], T],
    *,
    idempotent: bool = False,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``func()``, called again after a :class:`TransientError` (up to ``attempts`` calls in all, with
    jittered exponential pauses); the last TransientError is raised when every attempt failed; any other
    exception at once. A lost connection (the call may have happened) is retried only when ``idempotent``
    (``func`` only reads, or every state-changing call in it carries an idempotency key, the same in every
    attempt); otherwise :class:`~livepanty_db.errors.OutcomeUnknown` is raised at once."""
    delays = backoff_delays(attempts, base_delay, max_delay)
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return func()
        except TransientError as exc:
            _retryable(exc, idempotent)
            if delay is None:
                raise
            log.info("attempt %d failed with [%s] %s; retrying in %.3f s", attempt, exc.sqlstate, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def call_with_retry_async(
    func: Callable[[], Awaitable[T]],
    *,
    idempotent: bool = False,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
) -> T:
    """:func:`call_with_retry` for coroutines: ``await func()`` again after a TransientError (a lost
    connection only when ``idempotent``, else :class:`~livepanty_db.errors.OutcomeUnknown`)."""
    delays = backoff_delays(attempts, base_delay, max_delay)
    for attempt, delay in enumerate([*delays, None], start=1):
        try:
            return await func()
        except TransientError as exc:
            _retryable(exc, idempotent)
            if delay is None:
                raise
            log.info("attempt %d failed with [%s] %s; retrying in %.3f s", attempt, exc.sqlstate, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
