"""Following a stream's events: ``Client.events`` and ``AsyncClient.events``.

The database appends every event of a stream in the transaction that made it and, at commit, sends a wake-up
on the stream's channel (the event id as a hint, never the event). The channel's name is keyed, not the
stream id (PostgreSQL has no privilege on LISTEN): ``api.stream_channel`` hands it to who may read the stream,
asked again at every (re)connection. A follower keeps one connection that LISTENs and reads with
``api.stream_events`` after the last position it yielded:

* LISTEN first, then read: an event committed after the LISTEN wakes the follower, one committed before is
  read, so none is missed between the two.
* ``api.stream_events`` returns only events of transactions older than every running one, so a position never
  has an event appear behind it; a wake-up may come before its event is readable (an older transaction
  still runs), so after a wake-up that brings nothing the follower reads again shortly, and every ``wait``
  seconds in any case.
* The channel's name moves when the stream's visibility changes (a public stream made private: who learned the
  public name hears nothing after); the old channel's listeners get the wake-up :data:`MOVED`, and the
  follower asks for the channel again and LISTENs there (``NotFound`` when the reader may no longer see the
  stream). It also asks again after ``wait`` seconds without a wake-up (through a router the shard's MOVED
  reaches nobody).
* A lost connection (killed, server restart) is a :class:`~livepanty_db.errors.TransientError` or a psycopg
  ``OperationalError``: the follower reconnects, LISTENs again and reads on from its last position. Nothing is
  lost or yielded twice; a follower that resumes with ``after=`` (a position it stored) does the same across
  restarts. A position older than the purge horizon raises ``EventsPurged`` (LP125): resync.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from psycopg import sql as pgsql

from livepanty_db.errors import TransientError

if TYPE_CHECKING:
    from livepanty_db.client import AsyncClient, Client
    from livepanty_db.models import StreamEvent

__all__ = ["follow", "follow_async"]

#: Events read per call while catching up.
BATCH = 500
#: Re-reads after a wake-up that brought nothing (its event waits for an older transaction), in seconds.
RETRY_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
#: How often a lost connection is retried, in seconds (then every RECONNECT_DELAYS[-1]).
RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
#: The payload of the wake-up api.update_stream sends on a stream's old channel when it moved (its visibility
#: changed: lp.event_channel).
MOVED = "channel"


_LOST = (TransientError, psycopg.OperationalError, psycopg.InterfaceError)


class _Seen:
    """The ids of the events yielded lately (at most ``size``): a wake-up whose hint (the event id; empty from
    a batch of tips) is one of them brings nothing new (it arrived while that event was being read)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.order: deque[int] = deque()
        self.ids: set[int] = set()

    def add(self, event_id: int) -> None:
        self.order.append(event_id)
        self.ids.add(event_id)
        if len(self.order) > self.size:
            self.ids.discard(self.order.popleft())

    def fresh(self, payload: str) -> bool:
        return not payload.isdigit() or int(payload) not in self.ids


def follow(
    client: Client,
    stream_id: UUID | str,
    *,
    token: str | None = None,
    after: str | None = None,
    wait: float = 30.0,
    read: Callable[[str | None, int], list[StreamEvent]] | None = None,
    channel_of: Callable[[], str] | None = None,
) -> Iterator[StreamEvent]:
    """Yield the stream's events after position ``after`` (None: from the oldest kept), as they come, forever
    (stop by leaving the loop). Reads act as the owner of session ``token``, or go through ``read(after,
    limit)`` and ``channel_of()`` (the stream's LISTEN channel, ``api.stream_channel``; the operator CLI reads
    as the user it acts as). The channel is asked for at every (re)connection: its name is keyed, handed out
    only to who may read the stream."""
    if read is None or channel_of is None:
        if token is None:
            raise ValueError("follow needs a session token, or both a read and a channel_of function")

        def read(position: str | None, limit: int) -> list[StreamEvent]:
            with client.session(token) as tx:
                return tx.stream_events(stream_id, after=position, limit=limit)

        def channel_of() -> str:
            with client.session(token) as tx:
                return tx.stream_channel(stream_id)

    position = after
    seen = _Seen()
    listener: psycopg.Connection[Any] | None = None
    name = ""
    failures = 0
    try:
        while True:
            try:
                if listener is None:
                    name = channel_of()
                    listener = client._listen_connection()
                    listener.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(name)))
                got = 0
                while True:
                    batch = read(position, BATCH)
                    for event in batch:
                        position = event.position
                        seen.add(event.id)
                        yield event
                    got += len(batch)
                    if len(batch) < BATCH:
                        break
                failures = 0
                payloads = [n.payload for n in listener.notifies(timeout=wait, stop_after=1)]
                # The channel moved (MOVED; or, with no wake-up in `wait` seconds, asked again: on a sharded
                # installation the shard's MOVED reaches no listener of the router): LISTEN there.
                if MOVED in payloads or (not payloads and channel_of() != name):
                    listener.close()
                    listener = None
                    continue
                woken = any(seen.fresh(payload) for payload in payloads)
                if woken and got == 0:
                    for delay in RETRY_DELAYS:
                        time.sleep(delay)
                        if read(position, 1):
                            break
            except _LOST:
                if listener is not None:
                    listener.close()
                    listener = None
                time.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
                failures += 1
    finally:
        if listener is not None:
            listener.close()


async def follow_async(
    client: AsyncClient,
    stream_id: UUID | str,
    *,
    token: str,
    after: str | None = None,
    wait: float = 30.0,
) -> AsyncIterator[StreamEvent]:
    """The async twin of :func:`follow`."""
    position = after
    seen = _Seen()
    listener: psycopg.AsyncConnection[Any] | None = None
    name = ""
    failures = 0
    try:
        while True:
            try:
                if listener is None:
                    async with client.session(token) as tx:
                        name = await tx.stream_channel(stream_id)
                    listener = await client._listen_connection()
                    await listener.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(name)))
                got = 0
                while True:
                    async with client.session(token) as tx:
                        batch = await tx.stream_events(stream_id, after=position, limit=BATCH)
                    for event in batch:
                        position = event.position
                        seen.add(event.id)
                        yield event
                    got += len(batch)
                    if len(batch) < BATCH:
                        break
                failures = 0
                payloads = [notify.payload async for notify in listener.notifies(timeout=wait, stop_after=1)]
                moved = MOVED in payloads
                if not payloads:  # no wake-up in `wait` seconds: has the channel moved? (as the sync twin)
                    async with client.session(token) as tx:
                        moved = await tx.stream_channel(stream_id) != name
                if moved:
                    await listener.close()
                    listener = None
                    continue
                woken = any(seen.fresh(payload) for payload in payloads)
                if woken and got == 0:
                    for delay in RETRY_DELAYS:
                        await asyncio.sleep(delay)
                        async with client.session(token) as tx:
                            if await tx.stream_events(stream_id, after=position, limit=1):
                                break
            except _LOST:
                if listener is not None:
                    await listener.close()
                    listener = None
                await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
                failures += 1
    finally:
        if listener is not None:
            await listener.close()
