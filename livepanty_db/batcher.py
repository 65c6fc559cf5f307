"""Tip batchers: coalesce concurrent single tips into ``api.tip_many`` calls.

An application that tips from many threads (:class:`TipBatcher`) or coroutines (:class:`AsyncTipBatcher`)
calls ``batcher.tip(session_token, recipient_id, amount, idempotency_key=...)`` exactly as it would call
``client.session(token).tip(...)``, and gets the same :class:`~livepanty_db.models.Tip` or the same typed
error. Behind it, tips that queue while the batcher's connections are busy (up to ``max_batch``; with
``max_wait`` > 0, also those that arrive within ``max_wait`` seconds of the first) travel in one
``api.tip_many`` transaction, checked exactly as ``api.tip`` checks them and applied set-based: one
refused tip fails alone. A tip the batch path does not apply (LP114: a spending limit, or earnings to sweep)
is sent with ``api.tip`` by the caller's own thread or task. Through the router of a sharded installation a
batch may hold tips to performers of other shards: the router sends each of those through the outbox as
``api.tip`` does (docs/scale-out.md). When the whole batch fails (a lost connection, a
timeout), every caller in it gets that error; since every tip carries its idempotency key, retrying is safe.

Latency: a tip waits for a free flusher, at most ``max_wait`` for company, plus the batch's own transaction.
The default ``max_wait`` 0 is a group commit: a free flusher sends at once whatever is queued, so batches are
single tips on a quiet system and grow with the load (measured: docs/benchmarks.md, "The batcher's defaults").
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from livepanty_db.client import AsyncClient, Client
from livepanty_db.errors import LivepantyError, error_for_code
from livepanty_db.models import Tip, TipOutcome, TipRequest

#: The in-band error code of ``api.tip_many`` that asks for the single-tip path: LP114 (a spending limit,
#: holds past their time, earnings to sweep).
SEND_ALONE = frozenset({"LP114"})


@dataclass(frozen=True, slots=True)
class _Alone:
    """Marker: the caller sends this tip with api.tip itself."""


def _tip(request: TipRequest, outcome: TipOutcome) -> Tip:
    """The :class:`Tip` that ``api.tip`` would have returned for an accepted tip of a batch.

    ``api.tip_many`` does not report the goal a tip counted toward: ``goal_id`` is None here and ``status``
    completed, also for a tip held in escrow for a refund_if_missed goal (``list_tips`` shows its status).
    """
    message = request.message.strip() if request.message is not None else None
    return Tip(
        id=outcome.tip_id,  # type: ignore[arg-type]
        sender_id=outcome.sender_id,  # type: ignore[arg-type]
        recipient_id=outcome.recipient_id,  # type: ignore[arg-type]
        stream_id=UUID(str(request.stream_id)) if request.stream_id is not None else None,
        amount=outcome.amount,  # type: ignore[arg-type]
        fee_amount=outcome.fee_amount,  # type: ignore[arg-type]
        message=message or None,
        is_anonymous=request.is_anonymous,
        status="completed",
        transaction_id=outcome.transaction_id,  # type: ignore[arg-type]
        idempotency_key=request.idempotency_key.strip(),
        created_at=outcome.created_at,  # type: ignore[arg-type]
        goal_id=None,
        menu_item_id=UUID(str(request.menu_item_id)) if request.menu_item_id is not None else None,
        settlement_id=None,
    )


def _settle(request: TipRequest, outcome: TipOutcome) -> Tip | _Alone | LivepantyError:
    if outcome.error_code is None:
        return _tip(request, outcome)
    if outcome.error_code in SEND_ALONE:
        return _Alone()
    return error_for_code(outcome.error_code, outcome.error_message or outcome.error_code)


def _check(max_batch: int, max_wait: float, flushers: int) -> None:
    if not 1 <= max_batch <= 1000:
        raise ValueError("max_batch must be between 1 and 1000 (api.tip_many's limit)")
    if not 0 <= max_wait <= 1:
        raise ValueError("max_wait must be between 0 and 1 second")
    if flushers < 1:
        raise ValueError("flushers must be at least 1")


class TipBatcher:
    """Coalesces concurrent :meth:`tip` calls from many threads into ``api.tip_many`` calls of ``client``.

    ``flushers`` threads send batches (each batch is one transaction on one connection of the client).
    Use as a context manager, or call :meth:`close`, which sends what is queued and stops the threads.
    """

    def __init__(
        self, client: Client, *, max_batch: int = 100, max_wait: float = 0.0, flushers: int = 2
    ) -> None:
        _check(max_batch, max_wait, flushers)
        self.client, self.max_batch, self.max_wait = client, max_batch, max_wait
        self._queue: queue.Queue[tuple[TipRequest, Future[Any]] | None] = queue.Queue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"livepanty-tip-batcher-{i}", daemon=True)
            for i in range(flushers)
        ]
        for thread in self._threads:
            thread.start()

    def tip(
        self,
        session_token: str,
        recipient_id: UUID | str,
        amount: int,
        *,
        idempotency_key: str,
        stream_id: UUID | str | None = None,
        message: str | None = None,
        is_anonymous: bool = False,
        menu_item_id: UUID | str | None = None,
    ) -> Tip:
        """What ``client.session(session_token).tip(...)`` returns or raises, through a batch."""
        if self._closed:
            raise RuntimeError("this TipBatcher is closed")
        request = TipRequest(
            session_token,
            recipient_id,
            amount,
            idempotency_key,
            stream_id,
            message,
            is_anonymous,
            menu_item_id,
        )
        future: Future[Any] = Future()
        self._queue.put((request, future))
        result = future.result()
        if isinstance(result, _Alone):
            with self.client.session(session_token) as tx:
                return tx.tip(
                    recipient_id,
                    amount,
                    idempotency_key=idempotency_key,
                    stream_id=stream_id,
                    message=message,
                    is_anonymous=is_anonymous,
                    menu_item_id=menu_item_id,
                )
        if isinstance(result, LivepantyError):
            raise result
        return result  # type: ignore[no-any-return]

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._flush(batch)
            if stop:
                return

    def _flush(self, batch: list[tuple[TipRequest, Future[Any]]]) -> None:
        try:
            outcomes = self.client.tip_many([request for request, _ in batch])
        except BaseException as exc:  # every caller of the batch gets the error
            for _, future in batch:
                future.set_exception(exc)
            return
        for (request, future), outcome in zip(batch, outcomes, strict=True):
            future.set_result(_settle(request, outcome))

    def close(self) -> None:
        """Send what is queued, then stop the flusher threads."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> TipBatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTipBatcher:
    """The asyncio twin of :class:`TipBatcher`: coalesces concurrent :meth:`tip` coroutines of one event loop
    into ``api.tip_many`` calls of ``client``. Use ``async with`` or ``await close()``."""

    def __init__(
        self, client: AsyncClient, *, max_batch: int = 100, max_wait: float = 0.0, flushers: int = 2
    ) -> None:
        _check(max_batch, max_wait, flushers)
        self.client, self.max_batch, self.max_wait, self.flushers = client, max_batch, max_wait, flushers
        self._queue: asyncio.Queue[tuple[TipRequest, asyncio.Future[Any]] | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    def _start(self) -> asyncio.Queue[tuple[TipRequest, asyncio.Future[Any]] | None]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._run(self._queue)) for _ in range(self.flushers)]
        return self._queue

    async def tip(
        self,
        session_token: str,
        recipient_id: UUID | str,
        amount: int,
        *,
        idempotency_key: str,
        stream_id: UUID | str | None = None,
        message: str | None = None,
        is_anonymous: bool = False,
        menu_item_id: UUID | str | None = None,
    ) -> Tip:
        """What ``client.session(session_token)`` and its ``tip(...)`` return or raise, through a batch."""
        if self._closed:
            raise RuntimeError("this AsyncTipBatcher is closed")
        request = TipRequest(
            session_token,
            recipient_id,
            amount,
            idempotency_key,
            stream_id,
            message,
            is_anonymous,
            menu_item_id,
        )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._start().put((request, future))
        result = await future
        if isinstance(result, _Alone):
            async with self.client.session(session_token) as tx:
                return await tx.tip(
                    recipient_id,
                    amount,
                    idempotency_key=idempotency_key,
                    stream_id=stream_id,
                    message=message,
                    is_anonymous=is_anonymous,
                    menu_item_id=menu_item_id,
                )
        if isinstance(result, LivepantyError):
            raise result
        return result  # type: ignore[no-any-return]

    async def _run(self, q: asyncio.Queue[tuple[TipRequest, asyncio.Future[Any]] | None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await q.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - loop.time()
                try:
                    item = await asyncio.wait_for(q.get(), remaining) if remaining > 0 else q.get_nowait()
                except (TimeoutError, asyncio.QueueEmpty):
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            await self._flush(batch)
            if stop:
                return

    async def _flush(self, batch: list[tuple[TipRequest, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await self.client.tip_many([request for request, _ in batch])
        except Exception as exc:  # every caller of the batch gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (request, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(_settle(request, outcome))

    async def close(self) -> None:
        """Send what is queued, then stop the flusher tasks."""
        if self._closed:
            return
        self._closed = True
        if self._queue is not None:
            for _ in self._tasks:
                await self._queue.put(None)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*self._tasks)

    async def __aenter__(self) -> AsyncTipBatcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
