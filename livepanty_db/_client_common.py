"""What the sync and async clients share: types, limits and helpers (see :mod:`livepanty_db.client`)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import sql as pgsql
from psycopg.types.json import Jsonb

from livepanty_db import sql
from livepanty_db.errors import DatabaseError, error_for_code
from livepanty_db.models import (
    Erasure,
    LoginResult,
    PasswordChangeResult,
    Session,
)

T = TypeVar("T")

#: A uuid, as a UUID or its text form.
Id = UUID | str
#: An IP address as ipaddress object or text.
IpAddress = IPv4Address | IPv6Address | str
#: The default size limit of a DSN-built client's own pool (connections are made on demand; idle ones above
#: none are closed after psycopg_pool's max_idle, 10 minutes). ``Client(dsn, pool_size=N)`` changes it.
MAX_POOL_SIZE = 16
#: How long a DSN-built client waits for a pooled connection before ConnectionFailed (seconds).
POOL_TIMEOUT = 30.0
#: Isolation levels :meth:`Client.transaction` accepts (PostgreSQL's names, lower case).
ISOLATION_LEVELS = ("read committed", "repeatable read", "serializable")
#: How long a mailer's claim holds its messages by default (``api.claim_messages``' own default).
DEFAULT_LEASE = timedelta(minutes=5)

_LOGIN_FAILURES = {
    "LP020": "invalid credentials",
    "LP022": "the account is suspended or banned",
}


def new_idempotency_key() -> str:
    """A fresh idempotency key for one money operation: a time-ordered uuid (RFC 9562 version 7 layout: the
    millisecond Unix time, then 74 random bits), as text.

    Time-ordered, so that the database claims it at the right edge of the unique index that holds the
    keys (``lp.tips (idempotency_key, sender_id)``) instead of on a random page: that keeps the WAL a tip
    writes flat as the tables grow (docs/benchmarks.md, "Flat cost"). The 74 random bits (``secrets``) keep
    two keys apart, made in the same millisecond or not. Any other unique text of 1..128 characters works
    as a key too.

    The client never makes keys up itself, because only the caller knows what counts as a retry. Make one key
    per intended operation (one purchase, one tip, ...), keep it with the request, and pass the same key again
    when retrying that operation after a timeout or a lost connection: the database then returns the original
    result instead of doing it twice. A new key means a new operation.
    """
    millis = time.time_ns() // 1_000_000 & _MILLIS_MASK
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    return str(uuid.UUID(int=millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b))


#: The 48 bits of Unix milliseconds a version 7 uuid holds.
_MILLIS_MASK = (1 << 48) - 1


def _login_outcome(result: LoginResult) -> Session:
    """The :class:`Session` of a successful login, or the exception ``api.login`` reported in-band."""
    if not result.success:
        code = result.error_code or "LP020"
        raise error_for_code(code, _LOGIN_FAILURES.get(code, "login refused"))
    if (
        result.user_id is None
        or result.session_id is None
        or result.token is None
        or result.expires_at is None
    ):
        raise DatabaseError(f"api.login reported success without a session: {result!r}")
    return Session(result.user_id, result.session_id, result.token, result.expires_at)


def _password_change_outcome(result: PasswordChangeResult) -> int:
    """How many other sessions a password change revoked, or the exception reported in-band."""
    if not result.success:
        raise error_for_code(result.error_code or "LP020", "the current password is wrong")
    return result.sessions_revoked


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _erasure_entry(entry: Erasure | Mapping[str, Any]) -> Jsonb:
    """An erasure log row (a model, or its exported JSON object) as the jsonb ``api.replay_erasure`` takes."""
    row = dataclasses.asdict(entry) if isinstance(entry, Erasure) else dict(entry)
    return Jsonb(row, dumps=lambda obj: json.dumps(obj, default=str))


def _role_statement(role: str) -> pgsql.Composed:
    return sql.SET_LOCAL_ROLE.format(role=pgsql.Identifier(role))


def _refuse_aborted(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    """Raise when a block ends normally on an aborted transaction (a refused call was caught inside it).

    COMMIT would silently roll back everything the block did: a money operation the caller believes done.
    """
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
        raise DatabaseError(
            "the transaction was aborted by a refused call caught inside the block and has been rolled back",
            sqlstate="25P02",
            hint="Let a refused call's exception leave the block; go on in a new transaction.",
        )


def _connect_kwargs(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"autocommit": True, "prepare_threshold": None, **(extra or {})}


def _transaction_statement(isolation: str | None, read_only: bool) -> pgsql.SQL | None:
    """``SET TRANSACTION ...`` for :meth:`Client.transaction`'s options (None: the server's defaults)."""
    if isolation is not None and isolation not in ISOLATION_LEVELS:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATION_LEVELS)}, not {isolation!r}")
    modes = [f"ISOLATION LEVEL {isolation.upper()}"] if isolation else []
    if read_only:
        modes.append("READ ONLY")
    return pgsql.SQL("SET TRANSACTION " + ", ".join(modes)) if modes else None


def _snapshot_statement(snapshot: str) -> pgsql.Composed:
    """``SET TRANSACTION SNAPSHOT`` for :meth:`Client.transaction`'s ``snapshot`` (an exported id)."""
    return pgsql.SQL("SET TRANSACTION SNAPSHOT {}").format(pgsql.Literal(snapshot))


# --- read routing to replicas -----------------------------------------------------------------------------

#: The client methods that only read, which a client with ``replica=...`` sends to a replica (when one is
#: within the maximum lag) instead of the primary. Only calls made on the client itself are routed: calls on a
#: transaction (``transaction()``, ``session()``, ``acting_as()``) run on that transaction's connection. Every
#: function behind these calls is STABLE (tests/py/test_replica.py checks it), so it runs on a hot standby.
READ_ONLY_CALLS = frozenset(
    {
        "balance_at",
        "detector_precision",
        "earnings_summary",
        "get_fraud_limits",
        "get_kyc_status",
        "get_payment",
        "get_preferences",
        "get_spending_limits",
        "get_stream",
        "get_user",
        "get_wallet",
        "ledger_stats",
        "ledger_totals",
        "list_appeals",
        "list_bundles",
        "list_erasures",
        "list_live_streams",
        "list_menu",
        "list_payments",
        "list_payouts",
        "list_pending_kyc",
        "list_performer_streams",
        "list_sessions",
        "list_settings",
        "list_tips",
        "list_users",
        "my_case_decisions",
        "my_sanctions",
        "performer_top_tippers",
        "public_profile",
        "review_queue",
        "stream_events",
        "stream_goals",
        "stream_shows",
        "stream_stats",
        "stream_summary",
        "stream_top_tippers",
        "user_summary",
        "verify_ledger",
        "wallet_history",
    }
)
#: The statements of :data:`READ_ONLY_CALLS` (a call is recognised by its statement).
READ_ONLY_STATEMENTS = frozenset(getattr(sql, name.upper()) for name in READ_ONLY_CALLS)
#: The parameters that name the user a call is about, for "read your writes".
USER_PARAMS = ("user_id", "performer_id", "viewer_id")
#: Default maximum replay lag (seconds) of a replica that may serve reads.
DEFAULT_MAX_REPLICA_LAG = 1.0
#: How long a replica's measured lag is trusted before it is measured again (seconds).
REPLICA_CHECK_INTERVAL = 1.0
#: Connect timeout for replicas (seconds; libpq's minimum is 2), and how long a replica that could not be
#: reached is left alone before it is tried again.
REPLICA_CONNECT_TIMEOUT = 2.0
REPLICA_RETRY_AFTER = 5.0
#: Read your writes remembers at most this many users; past it, the client forgets them all and holds back
#: every user's reads from replicas until one has replayed past the newest forgotten write (bounded memory).
MAX_TRACKED_WRITERS = 10000
#: The primary's WAL write position, as text (also the commit position of a write just committed).
PRIMARY_LSN = "SELECT pg_current_wal_insert_lsn()::text"
#: A replica's recovery state, replay position, last replayed commit time and clock, in one round trip.
REPLICA_POSITION = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(), "
    "clock_timestamp()"
)


def _is_read_only(query: Any) -> bool:
    return isinstance(query, str) and query in READ_ONLY_STATEMENTS


def _users_in(params: Mapping[str, Any] | None) -> set[str]:
    """The users a call's parameters name (as text), for read-your-writes bookkeeping."""
    if not params:
        return set()
    return {str(params[key]) for key in USER_PARAMS if params.get(key) is not None}


def _writers_in(query: Any, rows: Sequence[Any]) -> set[str]:
    """The users a write call's result names as writers, beyond its parameters and the acting user: the
    senders of the tips ``api.tip_many`` applied (each tip is its sender's write, as a tip of their own
    session is), for read-your-writes bookkeeping."""
    if query is not sql.TIP_MANY:
        return set()
    return {str(r.sender_id) for r in rows if getattr(r, "tip_id", None) and getattr(r, "sender_id", None)}


def _lsn(text: str | None) -> int | None:
    if text is None:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _replica_sources(replica: Any) -> list[Any]:
    """``replica=`` as a list: None, one DSN or pool, or a sequence of them."""
    if replica is None:
        return []
    if isinstance(replica, (str, bytes)) or not isinstance(replica, (list, tuple)):
        return [replica]
    return list(replica)


class EventLoopMismatch(RuntimeError):
    """An :class:`~livepanty_db.AsyncClient` or :class:`~livepanty_db.batcher.AsyncTipBatcher` was used from
    an event loop other than the one it serves while that loop is still open (two loops at once, e.g. one per
    thread, or one set aside without being closed): its pools, locks and futures belong to one loop, and a
    waiter of one loop is never woken by another. Use one client (one batcher) per event loop. After its loop
    is closed (an ``asyncio.run`` ended) the next loop to use it takes it over."""


class _EventLoopBound:
    """What :class:`~livepanty_db.AsyncClient` adds for its event loop (the synchronous client has
    :class:`_EveryThread` in its place: tools/async_to_sync.py maps the one name onto the other).

    ``_claim_loop()`` runs before the client takes a connection or a lock. From the loop it serves it does
    nothing. From another loop it raises :class:`EventLoopMismatch` while that loop is open, at once (a pool
    waiter of the wrong loop would sleep until the pool timeout and read as a connection failure). Once that
    loop is closed, the running loop takes the client over: new locks, and new pools in place of the client's
    own (built from DSNs), whose worker tasks ended with the old loop (their idle connections are closed
    here); pools given to the client are the caller's to replace."""

    _loop: asyncio.AbstractEventLoop | None = None
    _lock: Any
    _pool: Any
    _own_pool: bool
    _opened: bool
    replicas: list[ReplicaState]

    def _claim_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None and not self._loop.is_closed():
            raise EventLoopMismatch(
                "this AsyncClient serves another event loop that is still open: use one client per event "
                "loop (or close that loop first)"
            )
        if self._loop is not None:
            self._lock = asyncio.Lock()
            if self._own_pool and self._opened:
                self._pool = _fresh_pool(self._pool)
                self._opened = False
            for replica in self.replicas:
                replica.lock = asyncio.Lock()
                if replica.own_pool and replica.opened:
                    replica.pool = _fresh_pool(replica.pool)
                    replica.opened = False
        self._loop = loop


def _fresh_pool(old: Any) -> Any:
    """An unopened pool with ``old``'s settings, for a client whose loop ended with ``old``'s workers; the
    idle connections ``old`` kept are closed (without their loop: libpq's close needs none)."""
    for conn in list(getattr(old, "_pool", ())):
        conn.pgconn.finish()
    return type(old)(
        old.conninfo,
        kwargs=old.kwargs,
        min_size=old.min_size,
        max_size=old.max_size,
        check=type(old).check_connection,
        timeout=old.timeout,
        open=False,
        name=old.name,
    )


class _EveryThread:
    """What :class:`~livepanty_db.Client` has in place of :class:`_EventLoopBound`: nothing to claim, its
    pools and locks serve every thread."""

    def _claim_loop(self) -> None:
        return None


@dataclasses.dataclass
class ReplicaState:
    """What a client knows about one replica: its pool, last measured lag, and whether it is down."""

    pool: Any
    own_pool: bool
    opened: bool = False
    #: When (time.monotonic) the lag was last measured, and what it was (None: not a replica / unknown).
    checked_at: float = float("-inf")
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    replay_lsn: int | None = None
    #: Until when (time.monotonic) the replica is skipped because it could not be reached.
    down_until: float = float("-inf")
    #: How many routed reads it served (for operators and tests).
    served: int = 0
    #: How many of its connections broke during a call (each marked it down; the read went to the primary).
    lost_connections: int = 0
    lock: Any = None

    def record(self, primary_lsn: int, row: Any, now: float) -> None:
        """Store a measurement: the primary's position and the replica's :data:`REPLICA_POSITION` row."""
        in_recovery, replay, replay_time, clock = row
        self.checked_at = now
        self.replay_lsn = _lsn(replay)
        if not in_recovery or self.replay_lsn is None:
            self.lag_seconds = self.lag_bytes = None  # promoted or not a replica: never routed to
            return
        self.lag_bytes = max(0, primary_lsn - self.replay_lsn)
        if self.lag_bytes == 0:
            self.lag_seconds = 0.0
        elif replay_time is None:
            self.lag_seconds = float("inf")
        else:
            self.lag_seconds = max(0.0, (clock - replay_time).total_seconds())

    def mark_down(self, now: float, retry_after: float) -> None:
        self.checked_at = now
        self.down_until = now + retry_after
        self.lag_seconds = self.lag_bytes = None
