"""The Python client of the livepanty SQL API (psycopg 3), sync and async with the same method names.

Design
------
* Every API call runs in a transaction. A :class:`Transaction` (:class:`AsyncTransaction`) wraps one open
  transaction and has one method per ``api`` function. Calling a method on the :class:`Client` itself runs
  it in a fresh transaction of its own, committed before the method returns, with nobody acting.
* Acting as a platform user is a per-transaction context, exactly as the SQL conventions define it::

      with client.acting_as(admin_id) as tx:   # trusted code: set_config('lp.user_id', ..., true)
          tx.set_user_role(user_id, "moderator")
          tx.list_users(role="moderator")       # same transaction, same acting user

      with client.session(token) as tx:         # api.authenticate(token) first
          tx.update_preferences(theme="dark")

  When the block ends normally the transaction commits; when it raises, it rolls back. After a refused call
  inside a block the transaction is aborted (PostgreSQL semantics): leave the block.
* ``role="livepanty_app"`` starts every transaction with ``SET LOCAL ROLE livepanty_app`` so that a
  superuser or DBA connection is held to the application's grants and row level security.
* Every psycopg error is turned into a :mod:`livepanty_db.errors` exception (``errors.translate``), the
  psycopg error kept as ``__cause__``. ``login`` raises ``InvalidCredentials`` / ``AccountSanctioned`` for
  the failures ``api.login`` reports in-band, ``change_password`` raises ``InvalidCredentials`` for a wrong
  current password (also in-band). Such an in-band refusal does not abort the transaction: when it leaves a
  ``with`` block, the block's transaction is committed first (docs/errors.md: the failure counter, lockout
  and audit record must persist), then the exception propagates.
* Built from a DSN, the client opens its connections itself (``autocommit`` outside explicit transactions,
  ``prepare_threshold=None`` so it works behind pgbouncer in transaction mode) and keeps a couple idle for
  reuse; :meth:`Client.close` closes them. Built from a ``psycopg_pool`` pool, it borrows a connection per
  transaction and never closes the pool.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Self, TypeVar
from uuid import UUID

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import RowFactory, class_row, scalar_row, tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from livepanty_db import sql
from livepanty_db.errors import DatabaseError, LivepantyError, error_for_code, translate
from livepanty_db.models import (
    Authenticated,
    LoginResult,
    PasswordChangeResult,
    Preferences,
    PublicProfile,
    ResetRequest,
    Sanction,
    Session,
    SessionInfo,
    Setting,
    StreamStats,
    StreamSummary,
    UserAccount,
    UserSummary,
)

__all__ = ["AsyncClient", "AsyncTransaction", "Client", "Transaction"]

T = TypeVar("T")

#: A uuid, as a UUID or its text form.
Id = UUID | str
#: An IP address as ipaddress object or text.
IpAddress = IPv4Address | IPv6Address | str
#: How many idle connections a DSN-built client keeps for reuse.
MAX_IDLE_CONNECTIONS = 2

_LOGIN_FAILURES = {
    "LP020": "invalid credentials",
    "LP022": "the account is suspended or banned",
}


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


def _role_statement(role: str) -> pgsql.Composed:
    return sql.SET_LOCAL_ROLE.format(role=pgsql.Identifier(role))


def _connect_kwargs(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"autocommit": True, "prepare_threshold": None, **(extra or {})}


def _reusable(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    return (
        not conn.closed
        and not conn.broken
        and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    )


# ============================================================================================================
# Synchronous
# ============================================================================================================


class _Api:
    """The API methods, written once for :class:`Transaction` and :class:`Client` (see ``_fetch``)."""

    def _fetch(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> list[T]:
        raise NotImplementedError

    def _one(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> T:
        return self._fetch(query, params, row_factory)[0]

    def _optional(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> T | None:
        rows = self._fetch(query, params, row_factory)
        return rows[0] if rows else None

    # --- identity and sessions ------------------------------------------------------------------------------

    def register_user(
        self,
        *,
        email: str,
        username: str,
        password: str,
        date_of_birth: date | str,
        role: str = "viewer",
        display_name: str | None = None,
        country_code: str | None = None,
        ip_address: IpAddress | None = None,
    ) -> UserAccount:
        """Register a viewer or performer (``api.register_user``)."""
        params = {
            "email": email,
            "username": username,
            "password": password,
            "date_of_birth": date_of_birth,
            "role": role,
            "display_name": display_name,
            "country_code": country_code,
            "ip_address": ip_address,
        }
        return self._one(sql.REGISTER_USER, params, class_row(UserAccount))

    def create_admin(
        self,
        *,
        email: str,
        username: str,
        password: str,
        date_of_birth: date | str,
        display_name: str | None = None,
    ) -> UserAccount:
        """Create an admin account (``api.create_admin``; needs ``livepanty_service`` or a superuser)."""
        params = {
            "email": email,
            "username": username,
            "password": password,
            "date_of_birth": date_of_birth,
            "display_name": display_name,
        }
        return self._one(sql.CREATE_ADMIN, params, class_row(UserAccount))

    def login(
        self,
        login: str,
        password: str,
        *,
        ip_address: IpAddress | None = None,
        user_agent: str | None = None,
        device_info: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
    ) -> Session:
        """Log in by e-mail or username (``api.login``): a :class:`Session` with the token (shown only here).

        Raises ``InvalidCredentials`` (LP020) or ``AccountSanctioned`` (LP022) for refused logins; the failure
        counter and audit record are committed all the same when called on the client.
        """
        params = {
            "login": login,
            "password": password,
            "ip_address": ip_address,
            "user_agent": user_agent,
            "device_info": _jsonb(device_info),
            "ttl": ttl,
        }
        return _login_outcome(self._one(sql.LOGIN, params, class_row(LoginResult)))

    def authenticate(self, token: str) -> Authenticated:
        """Validate a session token (``api.authenticate``); inside a transaction its user then acts."""
        return self._one(sql.AUTHENTICATE, {"token": token}, class_row(Authenticated))

    def current_user_id(self) -> UUID | None:
        """The platform user acting in the transaction, or None (``api.current_user_id``)."""
        return self._one(sql.CURRENT_USER_ID, None, scalar_row)

    def list_sessions(self, user_id: Id | None = None, *, include_ended: bool = False) -> list[SessionInfo]:
        """The acting user's sessions (admins: ``user_id``'s), newest first (``api.list_sessions``)."""
        params = {"user_id": user_id, "include_ended": include_ended}
        return self._fetch(sql.LIST_SESSIONS, params, class_row(SessionInfo))

    def revoke_session(self, session_id: Id | None = None) -> SessionInfo:
        """Revoke one session; default the current one, i.e. log out (``api.revoke_session``)."""
        return self._one(sql.REVOKE_SESSION, {"session_id": session_id}, class_row(SessionInfo))

    def revoke_all_sessions(self, user_id: Id | None = None, *, keep_current: bool = False) -> int:
        """Revoke every live session of the acting user (admins: of ``user_id``); returns how many."""
        params = {"user_id": user_id, "keep_current": keep_current}
        return self._one(sql.REVOKE_ALL_SESSIONS, params, scalar_row)

    def change_password(
        self, current_password: str, new_password: str, *, ip_address: IpAddress | None = None
    ) -> int:
        """Change the acting user's password; returns how many other sessions were revoked.

        A wrong current password raises ``InvalidCredentials`` (LP020), reported in-band by the API so that
        it counts towards the lockout: called on the client, that count is committed first.
        """
        params = {
            "current_password": current_password,
            "new_password": new_password,
            "ip_address": ip_address,
        }
        result = self._one(sql.CHANGE_PASSWORD, params, class_row(PasswordChangeResult))
        return _password_change_outcome(result)

    def request_password_reset(self, email: str, *, ip_address: IpAddress | None = None) -> ResetRequest:
        """Issue a reset token to e-mail (``token`` is None for an unknown address: answer the same way)."""
        params = {"email": email, "ip_address": ip_address}
        return self._one(sql.REQUEST_PASSWORD_RESET, params, class_row(ResetRequest))

    def reset_password(self, token: str, new_password: str, *, ip_address: IpAddress | None = None) -> UUID:
        """Set a new password with a reset token; returns the user id (``api.reset_password``)."""
        params = {"token": token, "new_password": new_password, "ip_address": ip_address}
        return self._one(sql.RESET_PASSWORD, params, scalar_row)

    # --- preferences ----------------------------------------------------------------------------------------

    def get_preferences(self) -> Preferences:
        """The acting user's preferences (``api.get_preferences``)."""
        return self._one(sql.GET_PREFERENCES, None, class_row(Preferences))

    def update_preferences(
        self,
        *,
        language: str | None = None,
        timezone: str | None = None,
        theme: str | None = None,
        email_notifications: bool | None = None,
        push_notifications: bool | None = None,
        tip_notifications: bool | None = None,
        marketing_emails: bool | None = None,
        show_online_status: bool | None = None,
        content_filter: str | None = None,
    ) -> Preferences:
        """Update the acting user's preferences; None leaves a field unchanged."""
        params = {
            "language": language,
            "timezone": timezone,
            "theme": theme,
            "email_notifications": email_notifications,
            "push_notifications": push_notifications,
            "tip_notifications": tip_notifications,
            "marketing_emails": marketing_emails,
            "show_online_status": show_online_status,
            "content_filter": content_filter,
        }
        return self._one(sql.UPDATE_PREFERENCES, params, class_row(Preferences))

    # --- users (staff) --------------------------------------------------------------------------------------

    def get_user(self, user_id: Id | None = None) -> UserAccount:
        """The acting user's account, or (moderators, admins) anyone's (``api.get_user``)."""
        return self._one(sql.GET_USER, {"user_id": user_id}, class_row(UserAccount))

    def find_user(self, login: str) -> UserAccount:
        """Moderators and admins: the active user with this e-mail or username (``api.find_user``)."""
        return self._one(sql.FIND_USER, {"login": login}, class_row(UserAccount))

    def list_users(
        self,
        *,
        role: str | None = None,
        after: Id | None = None,
        limit: int = 50,
        include_deleted: bool = False,
    ) -> list[UserAccount]:
        """Moderators and admins: users in registration order; ``after`` = last id of the previous page."""
        params = {"role": role, "after": after, "limit": limit, "include_deleted": include_deleted}
        return self._fetch(sql.LIST_USERS, params, class_row(UserAccount))

    def set_user_role(self, user_id: Id, role: str) -> UserAccount:
        """Admins: change a user's platform role (``api.set_user_role``)."""
        return self._one(sql.SET_USER_ROLE, {"user_id": user_id, "role": role}, class_row(UserAccount))

    def delete_user(self, user_id: Id | None = None, *, reason: str | None = None) -> UserAccount:
        """Soft-delete the acting user, or (admins) any user (``api.delete_user``)."""
        return self._one(sql.DELETE_USER, {"user_id": user_id, "reason": reason}, class_row(UserAccount))

    # --- moderation -----------------------------------------------------------------------------------------

    def sanction_user(
        self,
        user_id: Id,
        sanction_type: str,
        reason: str,
        *,
        ends_at: datetime | None = None,
        report_id: Id | None = None,
    ) -> Sanction:
        """Moderators and admins: warning, mute, suspension (needs ``ends_at``) or ban."""
        params = {
            "user_id": user_id,
            "type": sanction_type,
            "reason": reason,
            "ends_at": ends_at,
            "report_id": report_id,
        }
        return self._one(sql.SANCTION_USER, params, class_row(Sanction))

    def revoke_sanction(self, sanction_id: Id, reason: str) -> Sanction:
        """Moderators and admins: lift a sanction early (``api.revoke_sanction``)."""
        params = {"sanction_id": sanction_id, "reason": reason}
        return self._one(sql.REVOKE_SANCTION, params, class_row(Sanction))

    # --- settings -------------------------------------------------------------------------------------------

    def list_settings(self) -> list[Setting]:
        """Admins: every runtime setting (``api.list_settings``)."""
        return self._fetch(sql.LIST_SETTINGS, None, class_row(Setting))

    def set_setting(self, key: str, value: Any) -> Setting:
        """Admins: change a runtime setting; ``value`` is any JSON value (``api.set_setting``)."""
        return self._one(sql.SET_SETTING, {"key": key, "value": Jsonb(value)}, class_row(Setting))

    # --- public reads ---------------------------------------------------------------------------------------

    def public_profile(self, user_id: Id) -> PublicProfile | None:
        """The public face of an active user, or None (``api.public_profile``)."""
        return self._optional(sql.PUBLIC_PROFILE, {"user_id": user_id}, class_row(PublicProfile))

    def stream_stats(self, stream_id: Id) -> StreamStats | None:
        """Aggregate statistics of a stream that is not deleted, or None (``api.stream_stats``)."""
        return self._optional(sql.STREAM_STATS, {"stream_id": stream_id}, class_row(StreamStats))

    def user_summary(self) -> list[UserSummary]:
        """The rows of ``api.user_summary`` this reader may see (RLS), in registration order."""
        return self._fetch(sql.USER_SUMMARY, None, class_row(UserSummary))

    def stream_summary(self) -> list[StreamSummary]:
        """The rows of ``api.stream_summary`` this reader may see (RLS), latest first."""
        return self._fetch(sql.STREAM_SUMMARY, None, class_row(StreamSummary))


class Transaction(_Api):
    """One open transaction on one connection, with the API methods. Made by the client's context managers."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        #: The user set by :meth:`Client.acting_as` or :meth:`authenticate`, if any.
        self.acting_user_id: UUID | None = None
        #: What :meth:`authenticate` returned (set by :meth:`Client.session`).
        self.authenticated: Authenticated | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("this transaction has ended: use the API inside its `with` block")
        return self._conn

    def _execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> None:
        try:
            self._connection().execute(statement, params)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _fetch(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> list[T]:
        try:
            with self._connection().cursor(row_factory=row_factory) as cur:
                cur.execute(query, params)
                return cur.fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def fetch(
        self, query: Any, params: Mapping[str, Any] | None = None, *, row_factory: RowFactory[Any] = tuple_row
    ) -> list[Any]:
        """Run a statement that is not an API call in this transaction (operator tooling, tests).

        Rows come from ``row_factory`` (tuples by default); errors are translated like the API's.
        """
        return self._fetch(query, params, row_factory)

    def _act_as(self, user_id: Id) -> None:
        self._execute(sql.SET_ACTING_USER, {"user_id": user_id})
        self.acting_user_id = user_id if isinstance(user_id, UUID) else UUID(str(user_id))

    def authenticate(self, token: str) -> Authenticated:
        """Validate a session token; its user acts for the rest of this transaction."""
        self.authenticated = super().authenticate(token)
        self.acting_user_id = self.authenticated.user_id
        return self.authenticated

    def _end(self) -> None:
        self._conn = None


class Client(_Api):
    """Synchronous client: ``Client(dsn)`` or ``Client(pool)``; optional ``role="livepanty_app"``."""

    def __init__(
        self,
        source: str | ConnectionPool,
        *,
        role: str | None = None,
        connect_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(source, ConnectionPool):
            self._pool: ConnectionPool | None = source
            self._conninfo: str | None = None
        elif isinstance(source, str):
            self._pool, self._conninfo = None, source
        else:
            raise TypeError(
                f"Client needs a DSN or a psycopg_pool.ConnectionPool, not {type(source).__name__}"
            )
        self.role = role
        self._connect_kwargs = _connect_kwargs(connect_kwargs)
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    # --- connections ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = psycopg.Connection.connect(self._conninfo or "", **self._connect_kwargs)
            except psycopg.Error as exc:
                raise translate(exc) from exc
        try:
            yield conn
        finally:
            with self._lock:
                if _reusable(conn) and len(self._idle) < MAX_IDLE_CONNECTIONS:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def close(self) -> None:
        """Close the idle connections the client opened (a pool given to the client stays open)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A transaction with nobody acting (``SET LOCAL ROLE`` first when the client has a ``role``).

        Commits when the block ends, rolls back when it raises; but an in-band refusal (a failed login or
        password check) is committed before it propagates, so its failure counter and audit record persist.
        """
        refusal: LivepantyError | None = None
        with self._connection() as conn:
            tx = Transaction(conn)
            try:
                with conn.transaction():
                    if self.role:
                        tx._execute(_role_statement(self.role))
                    try:
                        yield tx
                    except LivepantyError as exc:
                        if not exc.in_band:
                            raise
                        refusal = exc
            except psycopg.Error as exc:  # COMMIT itself failed (deferred constraints, lost connection)
                raise translate(exc) from exc
            finally:
                tx._end()
        if refusal is not None:
            raise refusal

    @contextlib.contextmanager
    def acting_as(self, user_id: Id) -> Iterator[Transaction]:
        """A transaction in which platform user ``user_id`` acts (``lp.user_id``; trusted code only)."""
        with self.transaction() as tx:
            tx._act_as(user_id)
            yield tx

    @contextlib.contextmanager
    def session(self, token: str) -> Iterator[Transaction]:
        """A transaction in which the owner of session ``token`` acts (``api.authenticate``).

        ``tx.authenticated`` holds the session; ``InvalidSession`` or ``AccountSanctioned`` if it may not act.
        """
        with self.transaction() as tx:
            tx.authenticate(token)
            yield tx

    def _fetch(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> list[T]:
        with self.transaction() as tx:
            return tx._fetch(query, params, row_factory)


# ============================================================================================================
# Asynchronous: the same methods, awaited
# ============================================================================================================


class _AsyncApi:
    """The API methods for :class:`AsyncTransaction` and :class:`AsyncClient` (see ``_fetch``)."""

    async def _fetch(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> list[T]:
        raise NotImplementedError

    async def _one(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> T:
        return (await self._fetch(query, params, row_factory))[0]

    async def _optional(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> T | None:
        rows = await self._fetch(query, params, row_factory)
        return rows[0] if rows else None

    # --- identity and sessions ------------------------------------------------------------------------------

    async def register_user(
        self,
        *,
        email: str,
        username: str,
        password: str,
        date_of_birth: date | str,
        role: str = "viewer",
        display_name: str | None = None,
        country_code: str | None = None,
        ip_address: IpAddress | None = None,
    ) -> UserAccount:
        """Register a viewer or performer (``api.register_user``)."""
        params = {
            "email": email,
            "username": username,
            "password": password,
            "date_of_birth": date_of_birth,
            "role": role,
            "display_name": display_name,
            "country_code": country_code,
            "ip_address": ip_address,
        }
        return await self._one(sql.REGISTER_USER, params, class_row(UserAccount))

    async def create_admin(
        self,
        *,
        email: str,
        username: str,
        password: str,
        date_of_birth: date | str,
        display_name: str | None = None,
    ) -> UserAccount:
        """Create an admin account (``api.create_admin``; needs ``livepanty_service`` or a superuser)."""
        params = {
            "email": email,
            "username": username,
            "password": password,
            "date_of_birth": date_of_birth,
            "display_name": display_name,
        }
        return await self._one(sql.CREATE_ADMIN, params, class_row(UserAccount))

    async def login(
        self,
        login: str,
        password: str,
        *,
        ip_address: IpAddress | None = None,
        user_agent: str | None = None,
        device_info: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
    ) -> Session:
        """Log in by e-mail or username (``api.login``); see :meth:`Client.login`."""
        params = {
            "login": login,
            "password": password,
            "ip_address": ip_address,
            "user_agent": user_agent,
            "device_info": _jsonb(device_info),
            "ttl": ttl,
        }
        return _login_outcome(await self._one(sql.LOGIN, params, class_row(LoginResult)))

    async def authenticate(self, token: str) -> Authenticated:
        """Validate a session token (``api.authenticate``); inside a transaction its user then acts."""
        return await self._one(sql.AUTHENTICATE, {"token": token}, class_row(Authenticated))

    async def current_user_id(self) -> UUID | None:
        """The platform user acting in the transaction, or None (``api.current_user_id``)."""
        return await self._one(sql.CURRENT_USER_ID, None, scalar_row)

    async def list_sessions(
        self, user_id: Id | None = None, *, include_ended: bool = False
    ) -> list[SessionInfo]:
        """The acting user's sessions (admins: ``user_id``'s), newest first (``api.list_sessions``)."""
        params = {"user_id": user_id, "include_ended": include_ended}
        return await self._fetch(sql.LIST_SESSIONS, params, class_row(SessionInfo))

    async def revoke_session(self, session_id: Id | None = None) -> SessionInfo:
        """Revoke one session; default the current one, i.e. log out (``api.revoke_session``)."""
        return await self._one(sql.REVOKE_SESSION, {"session_id": session_id}, class_row(SessionInfo))

    async def revoke_all_sessions(self, user_id: Id | None = None, *, keep_current: bool = False) -> int:
        """Revoke every live session of the acting user (admins: of ``user_id``); returns how many."""
        params = {"user_id": user_id, "keep_current": keep_current}
        return await self._one(sql.REVOKE_ALL_SESSIONS, params, scalar_row)

    async def change_password(
        self, current_password: str, new_password: str, *, ip_address: IpAddress | None = None
    ) -> int:
        """Change the acting user's password; returns how many other sessions were revoked (see Client)."""
        params = {
            "current_password": current_password,
            "new_password": new_password,
            "ip_address": ip_address,
        }
        result = await self._one(sql.CHANGE_PASSWORD, params, class_row(PasswordChangeResult))
        return _password_change_outcome(result)

    async def request_password_reset(
        self, email: str, *, ip_address: IpAddress | None = None
    ) -> ResetRequest:
        """Issue a reset token to e-mail (``token`` is None for an unknown address: answer the same way)."""
        params = {"email": email, "ip_address": ip_address}
        return await self._one(sql.REQUEST_PASSWORD_RESET, params, class_row(ResetRequest))

    async def reset_password(
        self, token: str, new_password: str, *, ip_address: IpAddress | None = None
    ) -> UUID:
        """Set a new password with a reset token; returns the user id (``api.reset_password``)."""
        params = {"token": token, "new_password": new_password, "ip_address": ip_address}
        return await self._one(sql.RESET_PASSWORD, params, scalar_row)

    # --- preferences ----------------------------------------------------------------------------------------

    async def get_preferences(self) -> Preferences:
        """The acting user's preferences (``api.get_preferences``)."""
        return await self._one(sql.GET_PREFERENCES, None, class_row(Preferences))

    async def update_preferences(
        self,
        *,
        language: str | None = None,
        timezone: str | None = None,
        theme: str | None = None,
        email_notifications: bool | None = None,
        push_notifications: bool | None = None,
        tip_notifications: bool | None = None,
        marketing_emails: bool | None = None,
        show_online_status: bool | None = None,
        content_filter: str | None = None,
    ) -> Preferences:
        """Update the acting user's preferences; None leaves a field unchanged."""
        params = {
            "language": language,
            "timezone": timezone,
            "theme": theme,
            "email_notifications": email_notifications,
            "push_notifications": push_notifications,
            "tip_notifications": tip_notifications,
            "marketing_emails": marketing_emails,
            "show_online_status": show_online_status,
            "content_filter": content_filter,
        }
        return await self._one(sql.UPDATE_PREFERENCES, params, class_row(Preferences))

    # --- users (staff) --------------------------------------------------------------------------------------

    async def get_user(self, user_id: Id | None = None) -> UserAccount:
        """The acting user's account, or (moderators, admins) anyone's (``api.get_user``)."""
        return await self._one(sql.GET_USER, {"user_id": user_id}, class_row(UserAccount))

    async def find_user(self, login: str) -> UserAccount:
        """Moderators and admins: the active user with this e-mail or username (``api.find_user``)."""
        return await self._one(sql.FIND_USER, {"login": login}, class_row(UserAccount))

    async def list_users(
        self,
        *,
        role: str | None = None,
        after: Id | None = None,
        limit: int = 50,
        include_deleted: bool = False,
    ) -> list[UserAccount]:
        """Moderators and admins: users in registration order; ``after`` = last id of the previous page."""
        params = {"role": role, "after": after, "limit": limit, "include_deleted": include_deleted}
        return await self._fetch(sql.LIST_USERS, params, class_row(UserAccount))

    async def set_user_role(self, user_id: Id, role: str) -> UserAccount:
        """Admins: change a user's platform role (``api.set_user_role``)."""
        return await self._one(sql.SET_USER_ROLE, {"user_id": user_id, "role": role}, class_row(UserAccount))

    async def delete_user(self, user_id: Id | None = None, *, reason: str | None = None) -> UserAccount:
        """Soft-delete the acting user, or (admins) any user (``api.delete_user``)."""
        return await self._one(
            sql.DELETE_USER, {"user_id": user_id, "reason": reason}, class_row(UserAccount)
        )

    # --- moderation -----------------------------------------------------------------------------------------

    async def sanction_user(
        self,
        user_id: Id,
        sanction_type: str,
        reason: str,
        *,
        ends_at: datetime | None = None,
        report_id: Id | None = None,
    ) -> Sanction:
        """Moderators and admins: warning, mute, suspension (needs ``ends_at``) or ban."""
        params = {
            "user_id": user_id,
            "type": sanction_type,
            "reason": reason,
            "ends_at": ends_at,
            "report_id": report_id,
        }
        return await self._one(sql.SANCTION_USER, params, class_row(Sanction))

    async def revoke_sanction(self, sanction_id: Id, reason: str) -> Sanction:
        """Moderators and admins: lift a sanction early (``api.revoke_sanction``)."""
        params = {"sanction_id": sanction_id, "reason": reason}
        return await self._one(sql.REVOKE_SANCTION, params, class_row(Sanction))

    # --- settings -------------------------------------------------------------------------------------------

    async def list_settings(self) -> list[Setting]:
        """Admins: every runtime setting (``api.list_settings``)."""
        return await self._fetch(sql.LIST_SETTINGS, None, class_row(Setting))

    async def set_setting(self, key: str, value: Any) -> Setting:
        """Admins: change a runtime setting; ``value`` is any JSON value (``api.set_setting``)."""
        return await self._one(sql.SET_SETTING, {"key": key, "value": Jsonb(value)}, class_row(Setting))

    # --- public reads ---------------------------------------------------------------------------------------

    async def public_profile(self, user_id: Id) -> PublicProfile | None:
        """The public face of an active user, or None (``api.public_profile``)."""
        return await self._optional(sql.PUBLIC_PROFILE, {"user_id": user_id}, class_row(PublicProfile))

    async def stream_stats(self, stream_id: Id) -> StreamStats | None:
        """Aggregate statistics of a stream that is not deleted, or None (``api.stream_stats``)."""
        return await self._optional(sql.STREAM_STATS, {"stream_id": stream_id}, class_row(StreamStats))

    async def user_summary(self) -> list[UserSummary]:
        """The rows of ``api.user_summary`` this reader may see (RLS), in registration order."""
        return await self._fetch(sql.USER_SUMMARY, None, class_row(UserSummary))

    async def stream_summary(self) -> list[StreamSummary]:
        """The rows of ``api.stream_summary`` this reader may see (RLS), latest first."""
        return await self._fetch(sql.STREAM_SUMMARY, None, class_row(StreamSummary))


class AsyncTransaction(_AsyncApi):
    """One open transaction on one async connection, with the API methods (awaited)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn: psycopg.AsyncConnection[Any] | None = conn
        self.acting_user_id: UUID | None = None
        self.authenticated: Authenticated | None = None

    def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None:
            raise RuntimeError("this transaction has ended: use the API inside its `async with` block")
        return self._conn

    async def _execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> None:
        try:
            await self._connection().execute(statement, params)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    async def _fetch(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> list[T]:
        try:
            async with self._connection().cursor(row_factory=row_factory) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc

    async def fetch(
        self, query: Any, params: Mapping[str, Any] | None = None, *, row_factory: RowFactory[Any] = tuple_row
    ) -> list[Any]:
        """Run a statement that is not an API call in this transaction (see :meth:`Transaction.fetch`)."""
        return await self._fetch(query, params, row_factory)

    async def _act_as(self, user_id: Id) -> None:
        await self._execute(sql.SET_ACTING_USER, {"user_id": user_id})
        self.acting_user_id = user_id if isinstance(user_id, UUID) else UUID(str(user_id))

    async def authenticate(self, token: str) -> Authenticated:
        """Validate a session token; its user acts for the rest of this transaction."""
        self.authenticated = await super().authenticate(token)
        self.acting_user_id = self.authenticated.user_id
        return self.authenticated

    def _end(self) -> None:
        self._conn = None


class AsyncClient(_AsyncApi):
    """Asynchronous client: ``AsyncClient(dsn)`` or ``AsyncClient(async_pool)``; as :class:`Client`."""

    def __init__(
        self,
        source: str | AsyncConnectionPool,
        *,
        role: str | None = None,
        connect_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(source, AsyncConnectionPool):
            self._pool: AsyncConnectionPool | None = source
            self._conninfo: str | None = None
        elif isinstance(source, str):
            self._pool, self._conninfo = None, source
        else:
            raise TypeError(
                f"AsyncClient needs a DSN or a psycopg_pool.AsyncConnectionPool, not {type(source).__name__}"
            )
        self.role = role
        self._connect_kwargs = _connect_kwargs(connect_kwargs)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if self._pool is not None:
            async with self._pool.connection() as conn:
                yield conn
            return
        conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo or "", **self._connect_kwargs)
            except psycopg.Error as exc:
                raise translate(exc) from exc
        try:
            yield conn
        finally:
            if _reusable(conn) and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
            else:
                await conn.close()

    async def close(self) -> None:
        """Close the idle connections the client opened (a pool given to the client stays open)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTransaction]:
        """A transaction with nobody acting; see :meth:`Client.transaction`."""
        refusal: LivepantyError | None = None
        async with self._connection() as conn:
            tx = AsyncTransaction(conn)
            try:
                async with conn.transaction():
                    if self.role:
                        await tx._execute(_role_statement(self.role))
                    try:
                        yield tx
                    except LivepantyError as exc:
                        if not exc.in_band:
                            raise
                        refusal = exc
            except psycopg.Error as exc:
                raise translate(exc) from exc
            finally:
                tx._end()
        if refusal is not None:
            raise refusal

    @contextlib.asynccontextmanager
    async def acting_as(self, user_id: Id) -> AsyncIterator[AsyncTransaction]:
        """A transaction in which platform user ``user_id`` acts (``lp.user_id``; trusted code only)."""
        async with self.transaction() as tx:
            await tx._act_as(user_id)
            yield tx

    @contextlib.asynccontextmanager
    async def session(self, token: str) -> AsyncIterator[AsyncTransaction]:
        """A transaction in which the owner of session ``token`` acts (``api.authenticate``)."""
        async with self.transaction() as tx:
            await tx.authenticate(token)
            yield tx

    async def _fetch(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> list[T]:
        async with self.transaction() as tx:
            return await tx._fetch(query, params, row_factory)
