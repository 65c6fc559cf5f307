"""What the sync and async clients share: types, limits and helpers (see :mod:`livepanty_db.client`)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
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
    """A fresh idempotency key for one money operation: a random uuid4, as text.

    The client never makes keys up itself, because only the caller knows what counts as a retry. Make one key
    per intended operation (one purchase, one tip, ...), keep it with the request, and pass the same key again
    when retrying that operation after a timeout or a lost connection: the database then returns the original
    result instead of doing it twice. A new key means a new operation.
    """
    return str(uuid.uuid4())


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
