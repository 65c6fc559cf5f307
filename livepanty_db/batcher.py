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
``api.tip`` does (docs/scale-out.md). When the whole batch fails for a transient reason (a lost connection,
a timeout, a serialization failure), every caller in it gets that error (a copy of its own); since every
tip carries its idempotency key, retrying is safe. When it fails for any other reason (a tip the database
cannot even read, such as a message with a NUL character), nothing of it was applied and each caller sends
its own tip with ``api.tip``, so only the bad tip's caller gets an error, the one ``api.tip`` gives. A
refusal of one tip is raised to its caller as ``api.tip`` raises it: it does not commit a surrounding
transaction block.

Closing (``close``, the context manager's exit) sends what is queued and stops; a tip offered after that is
refused (``RuntimeError``). An asyncio caller cancelled before its batch is sent is left out of it (a tip
already sent may still commit: retry with the same key). Cancelling ``AsyncTipBatcher.close`` fails the
tips it had not settled (``RuntimeError``; the outcome of a batch in flight is unknown: retry with the same
key) and propagates the cancellation.

One ``AsyncTipBatcher`` serves one event loop at a time: used again after its loop was closed (successive
``asyncio.run`` calls) it starts afresh on the new loop; from a second loop while its own is open it refuses
the tip (:class:`EventLoopMismatch`, a ``RuntimeError``), never leaving the caller waiting.

Latency: a tip waits for a free flusher, at most ``max_wait`` for company, plus the batch's own transaction.
The default ``max_wait`` 0 is a group commit: a free flusher sends at once whatever is queued, so batches are
single tips on a quiet system and grow with the load (measured: docs/benchmarks.md, "The batcher's defaults").
"""

from __future__ import annotations

import asyncio
import copy
import json
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from livepanty_db._client_common import EventLoopMismatch
from livepanty_db.client import AsyncClient, Client
from livepanty_db.errors import ConnectionFailed, LivepantyError, TransientError, class_for_sqlstate
from livepanty_db.models import Tip, TipOutcome, TipRequest

#: The in-band error code of ``api.tip_many`` that asks for the single-tip path: LP114 (a spending limit,
#: holds past their time, earnings to sweep).
SEND_ALONE = frozenset({"LP114"})


@dataclass(frozen=True, slots=True)
class _Alone:
    """Marker: the caller sends this tip with api.tip itself."""


#: What a tip left unsettled when its batcher stopped raises (a batch in flight: the outcome is unknown).
CLOSED = (
    "the tip batcher was closed before this tip's outcome was known: retry it with the same idempotency key"
)


#: What each caller of a batch gets when its answer cannot be read (a bug: the batch may have been applied).
UNREAD = (
    "the answer of this tip's batch could not be read, and the batch may have been applied: retry the tip "
    "with the same idempotency key to learn its outcome"
)


def _unread(exc: BaseException) -> RuntimeError:
    error = RuntimeError(UNREAD)
    error.__cause__ = exc
    return error


def _request(
    session_token: str,
    recipient_id: UUID | str,
    amount: int,
    idempotency_key: str,
    stream_id: UUID | str | None,
    message: str | None,
    is_anonymous: bool,
    menu_item_id: UUID | str | None,
) -> TipRequest | None:
    """The tip as a batch item, or None when it cannot travel in a batch's JSON document (a value JSON
    cannot carry, a NUL character PostgreSQL text cannot hold): the caller then sends it alone, with api.tip,
    and gets what api.tip gives it, while the other tips of the batch are not failed by it. So does a key that
    is neither text nor a UUID (an integer, say), which api.tip takes as its text and a batch would refuse."""
    if not isinstance(idempotency_key, str | UUID):
        return None
    request = TipRequest(
        session_token,
        recipient_id,
        amount,
        str(idempotency_key) if isinstance(idempotency_key, UUID) else idempotency_key,
        stream_id,
        message,
        is_anonymous,
        menu_item_id,
    )
    try:
        json.dumps(request.as_json()).encode("utf-8")  # (a lone surrogate cannot be encoded)
    except (TypeError, ValueError):
        return None
    if any("\x00" in value for value in request.as_json().values() if isinstance(value, str)):
        return None
    return request


def _tip(request: TipRequest, outcome: TipOutcome) -> Tip:
    """The :class:`Tip` that ``api.tip`` would have returned for an accepted tip of a batch.

    ``api.tip_many`` does not report the goal a tip counted toward: ``goal_id`` is None here and ``status``
    completed, also for a tip held in escrow for a refund_if_missed goal (``list_tips`` shows its status).
    """
    # trimmed as lp.check_text trims (spaces only)
    message = request.message.strip(" ") if request.message is not None else None
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
        idempotency_key=request.idempotency_key.strip(" "),
        created_at=outcome.created_at,  # type: ignore[arg-type]
        goal_id=None,
        menu_item_id=UUID(str(request.menu_item_id)) if request.menu_item_id is not None else None,
        settlement_id=None,
        replayed=outcome.replayed,
    )


def _settle(request: TipRequest, outcome: TipOutcome) -> Tip | _Alone | LivepantyError:
    if outcome.error_code is None:
        return _tip(request, outcome)
    if outcome.error_code in SEND_ALONE:
        return _Alone()
    # raised as api.tip raises it (not an in-band answer: a transaction block around the call rolls back)
    code = outcome.error_code
    return class_for_sqlstate(code)(outcome.error_message or code, sqlstate=code)


def _batch_failed(exc: BaseException) -> Any:
    """What each caller of a batch that failed as a whole gets: the error when it is transient (the batch
    may be sent again, keys and all), else the single-tip path (nothing was applied; each tip judged
    alone)."""
    if isinstance(exc, TransientError | ConnectionFailed) or not isinstance(exc, Exception):
        return exc
    return _Alone()


def _for_caller(exc: BaseException) -> BaseException:
    """A copy of a batch's error for one of its callers, with the same class, code, texts and ``__cause__``:
    one exception object raised in every caller's thread or task would gather all their tracebacks (and any
    note one caller adds) and be mutated by several threads at once."""
    if not isinstance(exc, LivepantyError):
        return exc
    try:
        mine = copy.copy(exc)
    except Exception:  # pragma: no cover - a LivepantyError subclass that cannot be copied
        return exc
    mine.__cause__ = exc.__cause__
    mine.__suppress_context__ = exc.__suppress_context__
    return mine


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
        self._lock = threading.Lock()
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
        request = _request(
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
        if request is None:
            future.set_result(_Alone())
        else:
            with self._lock:  # not after close() has queued its stop markers
                if self._closed:
                    raise RuntimeError("this TipBatcher is closed")
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
        except BaseException as exc:  # transient: every caller gets it; else each sends its own tip
            failed = _batch_failed(exc)
            for _, future in batch:
                if isinstance(failed, BaseException):
                    future.set_exception(_for_caller(failed))
                else:
                    future.set_result(failed)
            if not isinstance(exc, Exception):
                raise
            return
        try:
            for (request, future), outcome in zip(batch, outcomes, strict=True):
                future.set_result(_settle(request, outcome))
        except Exception as exc:  # an answer it cannot read: no caller is left waiting, the flusher goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(_unread(exc))

    def close(self) -> None:
        """Send what is queued, then stop the flusher threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)
        for thread in self._threads:
            thread.join()
        # Whatever a flusher that stopped early (its batch raised past it) left behind: never left waiting.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].set_exception(RuntimeError(CLOSED))

    def __enter__(self) -> TipBatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTipBatcher:
    """The asyncio twin of :class:`TipBatcher`: coalesces concurrent :meth:`tip` coroutines of one event loop
    into ``api.tip_many`` calls of ``client``. Use ``async with`` or ``await close()``.

    Its queue and flusher tasks belong to the loop of its first tip. Once that loop is closed (an
    ``asyncio.run`` ended, which cancelled the flushers), the next loop to use the batcher gets a queue and
    flushers of its own; while it is open, any other loop is refused with :class:`EventLoopMismatch`."""

    def __init__(
        self, client: AsyncClient, *, max_batch: int = 100, max_wait: float = 0.0, flushers: int = 2
    ) -> None:
        _check(max_batch, max_wait, flushers)
        self.client, self.max_batch, self.max_wait, self.flushers = client, max_batch, max_wait, flushers
        self._queue: asyncio.Queue[tuple[TipRequest, asyncio.Future[Any]] | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: The loop the queue and flushers belong to (None before the first tip).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _bind(self) -> asyncio.Queue[tuple[TipRequest, asyncio.Future[Any]] | None] | None:
        """The queue of the running loop, None when it has none yet: a closed loop's queue and flushers (ended
        with it) are dropped; EventLoopMismatch while they belong to another loop that is open."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            if not self._loop.is_closed():
                raise EventLoopMismatch(
                    "this AsyncTipBatcher runs on another event loop that is still open: use one batcher per "
                    "event loop (or close that loop first)"
                )
            self._queue, self._tasks, self._loop = None, [], None
        return self._queue

    def _start(self) -> asyncio.Queue[tuple[TipRequest, asyncio.Future[Any]] | None]:
        q = self._bind()
        if q is None:
            self._loop = asyncio.get_running_loop()
            q = self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._run(q)) for _ in range(self.flushers)]
        return q

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
        """What ``client.session(session_token)`` and its ``tip(...)`` return or raise, through a batch.
        :class:`EventLoopMismatch` (nothing sent) from another loop while the batcher's loop is open."""
        if self._closed:
            raise RuntimeError("this AsyncTipBatcher is closed")
        self._bind()
        request = _request(
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
        if request is None:
            future.set_result(_Alone())
        else:
            self._start().put_nowait((request, future))  # (unbounded: never waits, so close() cannot slip in)
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
        batch = [(request, future) for request, future in batch if not future.done()]  # (callers cancelled)
        if not batch:
            return
        try:
            outcomes = await self.client.tip_many([request for request, _ in batch])
        except asyncio.CancelledError:  # (close() cancelled): the outcome is unknown, never left waiting
            for _, future in batch:
                if not future.done():
                    future.set_exception(RuntimeError(CLOSED))
            raise
        except Exception as exc:  # transient: every caller gets it; else each sends its own tip
            failed = _batch_failed(exc)
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(failed, BaseException):
                    future.set_exception(_for_caller(failed))
                else:
                    future.set_result(failed)
            return
        try:
            for (request, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(_settle(request, outcome))
        except Exception as exc:  # an answer it cannot read: no caller is left waiting, the flusher goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(_unread(exc))

    async def close(self) -> None:
        """Send what is queued, then stop the flusher tasks. Cancelled, it stops them at once: the tips not
        sent yet fail (``RuntimeError``), and the cancellation propagates. :class:`EventLoopMismatch` (still
        open) from another loop than the batcher's while that one is open: close it on its own loop."""
        if self._closed:
            return
        self._bind()
        self._closed = True
        if self._queue is None:
            return
        for _ in self._tasks:
            self._queue.put_nowait(None)
        try:
            await asyncio.gather(*self._tasks)
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            raise
        finally:
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None and not item[1].done():
                    item[1].set_exception(RuntimeError(CLOSED))

    async def __aenter__(self) -> AsyncTipBatcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
