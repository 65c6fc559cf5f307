"""Migrations (yoyo over ``db/migrations``) and the repeatable definitions (``db/functions``, ``db/views``,
``db/policies``), as docs/CONVENTIONS.md describes them.

Every entry point connects as the DSN's user, which must be a superuser (the SQL creates roles and extensions
and switches to ``livepanty_owner`` itself).

* :func:`apply`: apply pending migrations (each in its own transaction: a failing one is rolled back, not
  recorded, and stops the run), then re-apply the repeatables in one transaction. Runs serialise on a
  session-level advisory lock (:data:`LOCK_KEY`) and on yoyo's own lock. With ``lock_wait`` (seconds) a run
  waits at most that long for that lock and for each lock its statements need (``lock_timeout``), then fails
  with a :class:`MigrationError` that names the sessions holding the migration lock; without it, it waits
  as long as it takes and logs who it waits for.
* :func:`status`: applied and pending migrations.
* :func:`rollback`: roll back the latest ``count`` migrations (or all). The repeatable objects are dropped
  first (so rollback files only undo their own migration) and stay dropped until the next :func:`apply`.
* :func:`build_canonical`: load ``db/schema`` into an empty database, then the repeatables (used to check that
  migrations and the canonical schema agree).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from yoyo import exceptions as yoyo_exceptions
from yoyo import get_backend, read_migrations
from yoyo.backends.base import DatabaseBackend
from yoyo.migrations import MigrationList

from livepanty_db import paths
from livepanty_db.errors import one_line

log = logging.getLogger(__name__)

#: Session-level advisory lock taken by apply/rollback/build_canonical ("lpmigrat" in ASCII).
LOCK_KEY = 0x6C70_6D69_6772_6174
#: The role that owns every object; the repeatables run as it.
OWNER_ROLE = "livepanty_owner"
#: yoyo's bookkeeping tables (in the connecting user's current schema, normally public).
YOYO_TABLES = ("_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock")

_QUALIFIED_FILE = re.compile(r"^(?P<schema>[a-z_][a-z0-9_]*)\.(?P<name>[a-z_][a-z0-9_]*)\.sql$")
_POLICY_FILE = re.compile(r"^[a-z_][a-z0-9_]*\.sql$")
_YOYO_ERRORS = (yoyo_exceptions.BadMigration, yoyo_exceptions.MigrationConflict, yoyo_exceptions.LockTimeout)


class MigrationError(RuntimeError):
    """A migration run failed; the message says which file and why (the failing migration was rolled back)."""


@dataclass(frozen=True)
class MigrationStatus:
    id: str
    applied: bool
    applied_at: datetime | None
    #: False for a migration recorded in the database whose file no longer exists.
    has_file: bool = True

    @property
    def state(self) -> str:
        if not self.has_file:
            return "applied (file missing)"
        return "applied" if self.applied else "pending"


# -- connections ---------------------------------------------------------------------------------------------


def yoyo_uri(dsn: str, *, lock_wait: float | None = None) -> str:
    """Turn a libpq DSN (URI or key/value, incl. a socket ``host=``) into a ``postgresql+psycopg://`` URI.

    yoyo passes the query parameters of its URI to ``psycopg.connect`` as keyword arguments (and does not
    percent-decode the path), so every libpq parameter, the database name included, goes into the query
    string: socket directories, names and passwords with odd characters and options such as ``sslmode`` stay
    intact. With ``lock_wait`` (seconds), ``-c lock_timeout`` joins the connection's ``options``.
    """
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise MigrationError(f"invalid DSN: {exc}") from exc
    if "schema" in params:
        raise MigrationError("'schema' is not a libpq parameter")  # yoyo would take it as its own option
    params = _lock_timeout_options(params, lock_wait)
    return "postgresql+psycopg:///?" + urlencode({key: str(value) for key, value in params.items()})


def _lock_timeout_options(dsn_params: dict[str, Any], lock_wait: float | None) -> dict[str, Any]:
    """``dsn_params`` with ``-c lock_timeout=...`` added to its libpq ``options`` (with ``lock_wait``)."""
    if lock_wait is None:
        return dsn_params
    extra = f"-c lock_timeout={_lock_timeout_ms(lock_wait)}"
    options = dsn_params.get("options")
    return {**dsn_params, "options": f"{options} {extra}" if options else extra}


def _lock_timeout_ms(lock_wait: float) -> int:
    return max(1, math.ceil(lock_wait * 1000))


def _check_lock_wait(lock_wait: float | None) -> None:
    if lock_wait is not None and (
        isinstance(lock_wait, bool) or not isinstance(lock_wait, (int, float)) or not lock_wait > 0
    ):
        raise MigrationError(f"lock_wait must be a positive number of seconds, not {lock_wait!r}")


@contextlib.contextmanager
def _session(dsn: str, lock_wait: float | None = None) -> Iterator[psycopg.Connection]:
    """An autocommit connection (transactions are explicit); MigrationError if it cannot connect.

    With ``lock_wait``, its statements wait at most that long for a lock (``lock_timeout``)."""
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise MigrationError(f"cannot connect to the database: {one_line(str(exc))}") from exc
    with conn:
        if lock_wait is not None:
            timeout = f"{_lock_timeout_ms(lock_wait)}ms"
            conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)", [timeout])
        yield conn


def lock_holders(conn: psycopg.Connection) -> str:
    """The sessions holding the migration lock (:data:`LOCK_KEY`), for a message: pid, login, application,
    state and since when (as the connecting superuser sees them in pg_stat_activity)."""
    rows = conn.execute(
        """
        SELECT a.pid, a.usename, a.application_name, a.state,
               to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
          FROM pg_catalog.pg_locks AS l
          LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                   SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
           AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 1
         ORDER BY a.pid
        """,
        [LOCK_KEY >> 32, LOCK_KEY & 0xFFFF_FFFF],
    ).fetchall()
    if not rows:
        return "a session that has just released it"
    return "; ".join(
        f"pid {pid} (login {user or '?'}, application {app or '-'!r}, "
        f"{state or 'unknown state'} since {since} UTC)"
        for pid, user, app, state, since in rows
    )


#: How often a run that waits for the migration lock says who holds it (seconds).
LOCK_REPORT_EVERY = 10.0


@contextlib.contextmanager
def _migration_lock(conn: psycopg.Connection, lock_wait: float | None = None) -> Iterator[None]:
    """Serialise migration runs on this database (session-level advisory lock).

    Waits for the holder (a waiter the server sees: pg_locks, pg_blocking_pids), saying every
    :data:`LOCK_REPORT_EVERY` seconds who it is (any login can take an advisory lock, so the holder need not
    be a migration run); with ``lock_wait``, MigrationError after that many seconds, naming the holders."""
    deadline = None if lock_wait is None else time.monotonic() + lock_wait
    got = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]
    if not got:
        session_timeout = conn.execute("SELECT pg_catalog.current_setting('lock_timeout')").fetchone()[0]
        try:
            while not got:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise MigrationError(
                        f"the migration lock of this database is held by {lock_holders(conn)}; gave up "
                        f"after {lock_wait:g} s (--lock-wait). A migration run holds it while it runs; "
                        "a session that is not one (any login can take an advisory lock) can be ended with "
                        "pg_terminate_backend(pid)"
                    )
                log.warning("waiting for the migration lock of this database, held by %s", lock_holders(conn))
                step = LOCK_REPORT_EVERY if remaining is None else min(LOCK_REPORT_EVERY, remaining)
                conn.execute(
                    "SELECT pg_catalog.set_config('lock_timeout', %s, false)", [f"{_lock_timeout_ms(step)}ms"]
                )
                try:
                    conn.execute("SELECT pg_catalog.pg_advisory_lock(%s)", [LOCK_KEY])
                    got = True
                except psycopg.errors.LockNotAvailable:
                    pass
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)", [session_timeout])
    try:
        yield
    finally:
        # A broken connection has released the lock already; do not mask the original error.
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", [LOCK_KEY])


@contextlib.contextmanager
def _yoyo(dsn: str, lock_wait: float | None = None) -> Iterator[DatabaseBackend]:
    try:
        backend = get_backend(yoyo_uri(dsn, lock_wait=lock_wait))
    except psycopg.Error as exc:
        raise MigrationError(f"cannot connect to the database: {one_line(str(exc))}") from exc
    with backend:
        yield backend


def _read_migrations(root: Path | None) -> MigrationList:
    directory = paths.migrations_dir(root)
    if not directory.is_dir():
        raise MigrationError(f"migrations directory not found: {directory}")
    try:
        return read_migrations(str(directory))
    except _YOYO_ERRORS as exc:
        raise MigrationError(f"cannot read the migrations in {directory}: {exc!r}") from exc


# -- errors --------------------------------------------------------------------------------------------------


def describe_error(exc: BaseException, text: str | None = None) -> str:
    """A readable, multi-line description of a database error (SQLSTATE, line, detail, hint, context)."""
    if not isinstance(exc, psycopg.Error):
        return str(exc)
    diag = exc.diag
    message = diag.message_primary or one_line(str(exc))  # libpq's report of a connection spans lines
    lines = [f"{message} [SQLSTATE {diag.sqlstate}]" if diag.sqlstate else message]
    if text is not None and diag.statement_position:
        lines.append(f"at line {_line_of(text, int(diag.statement_position))}")
    for label, value in (
        ("detail", diag.message_detail),
        ("hint", diag.message_hint),
        ("context", diag.context),
    ):
        if value:
            lines.append(f"{label}: {value}")
    if diag.sqlstate == "55P03":
        lines.append(
            "a lock wait exceeded --lock-wait: another session (an open transaction that read or wrote the "
            "object) holds a lock this run needs; pg_stat_activity and pg_blocking_pids() show it"
        )
    return "\n  ".join(lines)


def _line_of(text: str, position: int) -> int:
    """1-based line number of a 1-based character position in text."""
    return text.count("\n", 0, max(position - 1, 0)) + 1


def _display(path: Path, root: Path | None) -> str:
    base = paths.db_root() if root is None else Path(root)
    try:
        return str(Path("db") / path.relative_to(base))
    except ValueError:
        return str(path)


def _run_file(conn: psycopg.Connection, path: Path, root: Path | None) -> None:
    """Run one SQL file as a single simple-protocol query (several statements, no parameters)."""
    text = path.read_text(encoding="utf-8")
    try:
        conn.execute(text.encode("utf-8"), prepare=False)
    except psycopg.Error as exc:
        raise MigrationError(f"{_display(path, root)}: {describe_error(exc, text)}") from exc
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        raise MigrationError(
            f"{_display(path, root)} ended the transaction (COMMIT/ROLLBACK are not allowed)"
        )


# -- repeatables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Repeatables:
    """The repeatable files of a db/ tree: (path, schema, name) of functions and views; policy paths."""

    functions: list[tuple[Path, str, str]]
    views: list[tuple[Path, str, str]]
    policies: list[Path]

    @classmethod
    def load(cls, root: Path | None) -> _Repeatables:
        policies = paths.policy_files(root)
        for path in policies:
            if not _POLICY_FILE.match(path.name):
                raise MigrationError(f"{path}: a policy file must be named <table>.sql (lower case)")
        return cls(
            _qualified_names(paths.function_files(root), "function"),
            _qualified_names(paths.view_files(root), "view"),
            policies,
        )

    def files(self) -> list[Path]:
        """In the order they run: functions, views, policies (each sorted by name)."""
        return [p for p, _, _ in self.functions] + [p for p, _, _ in self.views] + self.policies


def _qualified_names(files: Sequence[Path], kind: str) -> list[tuple[Path, str, str]]:
    names = []
    for path in files:
        match = _QUALIFIED_FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: a {kind} file must be named <schema>.<name>.sql (lower case)")
        names.append((path, match["schema"], match["name"]))
    return names


def _become_owner(conn: psycopg.Connection) -> None:
    exists = conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", [OWNER_ROLE]).fetchone()
    if not exists:
        raise MigrationError(
            f"role {OWNER_ROLE} does not exist: the migrations (or db/schema) must create it"
        )
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER_ROLE)))
    conn.execute("SET LOCAL check_function_bodies = off")


def _drop_repeatables(conn: psycopg.Connection, repeatables: _Repeatables) -> None:
    """In the caller's transaction, as the owner: drop every overload of each function named by a
    db/functions file (CASCADE), each view named by a db/views file (CASCADE), every policy in schema lp.
    MigrationError when a statement fails (e.g. a lock wait over ``lock_timeout``)."""
    try:
        _drop_repeatables_unchecked(conn, repeatables)
    except psycopg.Error as exc:
        raise MigrationError(
            f"dropping the functions, views and policies to re-create them failed: {describe_error(exc)}"
        ) from exc


def _drop_repeatables_unchecked(conn: psycopg.Connection, repeatables: _Repeatables) -> None:
    for _path, schema, name in repeatables.functions:
        signatures = conn.execute(
            """
            SELECT p.oid::regprocedure::text
              FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = %s AND p.proname = %s AND p.prokind IN ('f', 'p', 'w')
            """,
            [schema, name],
        ).fetchall()
        for (signature,) in signatures:
            # regprocedure output quotes and qualifies as needed; IF EXISTS: a CASCADE may have taken it.
            conn.execute(sql.SQL("DROP ROUTINE IF EXISTS {} CASCADE").format(sql.SQL(signature)))
    for _path, schema, name in repeatables.views:
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {} CASCADE").format(sql.Identifier(schema, name)))
    policies = conn.execute(
        "SELECT policyname, schemaname, tablename FROM pg_catalog.pg_policies WHERE schemaname = 'lp'"
    ).fetchall()
    for policy, schema, table in policies:
        conn.execute(
            sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(
                sql.Identifier(policy), sql.Identifier(schema, table)
            )
        )


def _apply_repeatables(conn: psycopg.Connection, root: Path | None) -> None:
    """In the caller's transaction: drop and re-create the repeatable definitions."""
    repeatables = _Repeatables.load(root)
    if not repeatables.files():
        return
    _become_owner(conn)
    _drop_repeatables(conn, repeatables)
    for path in repeatables.files():
        _run_file(conn, path, root)
        current = conn.execute("SELECT current_user").fetchone()[0]
        if current != OWNER_ROLE:
            raise MigrationError(
                f"{_display(path, root)} changed the role to {current}: repeatable files run as {OWNER_ROLE} "
                "and must not SET ROLE or RESET ROLE"
            )
    # Each file must define the object it is named after, and no later file may have dropped it (CASCADE).
    for path, schema, name in repeatables.functions:
        found = conn.execute(
            """
            SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = %s AND p.proname = %s
            """,
            [schema, name],
        ).fetchone()
        if not found:
            raise MigrationError(
                f"{_display(path, root)} does not define a function {schema}.{name}, "
                "or a later file dropped it"
            )
    for path, schema, name in repeatables.views:
        found = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_views WHERE schemaname = %s AND viewname = %s", [schema, name]
        ).fetchone()
        if not found:
            raise MigrationError(
                f"{_display(path, root)}: view {schema}.{name} does not exist after the repeatables ran "
                "(the file does not create it, or a later view file dropped it with CASCADE: "
                "a view must sort after the views it uses)"
            )


# -- migrations ----------------------------------------------------------------------------------------------


def apply(dsn: str, *, root: Path | None = None, lock_wait: float | None = None) -> list[str]:
    """Apply pending migrations, then re-apply the repeatables. Returns the ids of the migrations applied.

    Raises MigrationError when a migration fails (it was rolled back and not recorded; the migrations
    before it in this run stay applied; the repeatables are not re-applied) or when the repeatables fail
    (their transaction is rolled back; the previous definitions stay). ``lock_wait``: see the module's
    docstring (a lock wait over it fails the migration or the repeatables like any error).
    """
    _check_lock_wait(lock_wait)
    migrations = _read_migrations(root)
    applied: list[str] = []
    with _session(dsn, lock_wait) as conn, _migration_lock(conn, lock_wait):
        with _yoyo(dsn, lock_wait) as backend:
            try:
                with backend.lock():
                    for migration in backend.to_apply(migrations):
                        try:
                            backend.apply_one(migration)
                        except (psycopg.Error, *_YOYO_ERRORS) as exc:
                            raise MigrationError(
                                f"migration {migration.id} failed and was rolled back (not recorded; "
                                f"the repeatables were not re-applied): {describe_error(exc)}"
                            ) from exc
                        applied.append(migration.id)
                        log.info("applied migration %s", migration.id)
            except yoyo_exceptions.LockTimeout as exc:
                raise MigrationError(f"yoyo's migration lock is held: {exc}") from exc
        with conn.transaction():
            _apply_repeatables(conn, root)
        log.info("re-applied the repeatable functions, views and policies")
    return applied


def status(dsn: str, *, root: Path | None = None) -> list[MigrationStatus]:
    """Every migration file in order, applied or pending, plus applied migrations whose file is gone."""
    migrations = _read_migrations(root)
    rows = _applied_rows(dsn)
    applied_at = {hash_: when for hash_, _id, when in rows}
    result = [MigrationStatus(m.id, m.hash in applied_at, applied_at.get(m.hash)) for m in migrations]
    known = {m.hash for m in migrations}
    result += [
        MigrationStatus(id_, True, when, has_file=False) for hash_, id_, when in rows if hash_ not in known
    ]
    return result


def _applied_rows(dsn: str) -> list[tuple[str, str, Any]]:
    """(hash, id, applied_at) of yoyo's log of applied migrations, read in a READ ONLY transaction.

    Only reads: no yoyo lock, no bookkeeping tables created or upgraded (yoyo's own status call does both,
    which fails for a reporting role and writes to an empty database). A database without yoyo's table has
    nothing applied.
    """
    with _session(dsn) as conn:
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                table = conn.execute("SELECT to_regclass('_yoyo_migration')::text").fetchone()[0]
                if table is None:
                    return []
                return conn.execute(
                    "SELECT migration_hash, migration_id, applied_at_utc FROM _yoyo_migration"
                    " ORDER BY applied_at_utc, migration_id"
                ).fetchall()
        except psycopg.errors.InsufficientPrivilege as exc:
            hint = " (grant SELECT on _yoyo_migration to this login)"
            raise MigrationError(f"cannot read the migration log: {exc}".strip() + hint) from exc
        except psycopg.Error as exc:
            raise MigrationError(f"cannot read the migration log: {exc}".strip()) from exc


def rollback(
    dsn: str, count: int | Literal["all"] = 1, *, root: Path | None = None, lock_wait: float | None = None
) -> list[str]:
    """Roll back the latest ``count`` applied migrations (``"all"`` for every one). Returns their ids.

    The repeatable objects (functions, views and policies named by db/) are dropped first, in their own
    transaction, so a rollback file only has to undo its own migration. They are not re-applied afterwards:
    the files describe the newest schema and in general do not fit an older one. ``apply`` brings them back.
    If a rollback file fails, that migration stays applied (its rollback transaction is undone) and the error
    says which migrations were rolled back before it; when none was, the repeatables are restored.
    ``lock_wait``: see the module's docstring.
    """
    _check_lock_wait(lock_wait)
    if count != "all" and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise MigrationError(f"count must be a positive integer or 'all', not {count!r}")
    migrations = _read_migrations(root)
    rolled_back: list[str] = []
    with _session(dsn, lock_wait) as conn, _migration_lock(conn, lock_wait), _yoyo(dsn, lock_wait) as backend:
        try:
            with backend.lock():
                candidates = list(backend.to_rollback(migrations))
                selected = candidates if count == "all" else candidates[:count]
                for migration in selected:
                    rollback_file = Path(migration.path).with_suffix(".rollback.sql")
                    if not rollback_file.exists():
                        raise MigrationError(
                            f"migration {migration.id} has no rollback file ({rollback_file.name}); "
                            "nothing was rolled back"
                        )
                repeatables = _Repeatables.load(root)
                if selected and repeatables.files():
                    with conn.transaction():
                        _become_owner(conn)
                        _drop_repeatables(conn, repeatables)
                for migration in selected:
                    try:
                        backend.rollback_one(migration)
                    except (psycopg.Error, *_YOYO_ERRORS) as exc:
                        message = (
                            f"rollback of migration {migration.id} failed and was undone: "
                            f"{describe_error(exc)}\n"
                            f"rolled back before it: {', '.join(rolled_back) or 'none'}"
                        )
                        if not rolled_back:
                            try:
                                with conn.transaction():
                                    _apply_repeatables(conn, root)
                            except MigrationError as reapply:
                                message += f"\nre-applying the repeatables failed too: {reapply}"
                        raise MigrationError(message) from exc
                    rolled_back.append(migration.id)
        except yoyo_exceptions.LockTimeout as exc:
            raise MigrationError(f"yoyo's migration lock is held: {exc}") from exc
    return rolled_back


def build_canonical(dsn: str, *, root: Path | None = None, lock_wait: float | None = None) -> None:
    """Load db/schema (file-name order), then the repeatables, into an empty database in one transaction."""
    _check_lock_wait(lock_wait)
    files = paths.schema_files(root)
    if not files:
        raise MigrationError(f"no schema files in {paths.db_root() if root is None else root}/schema")
    with _session(dsn, lock_wait) as conn, _migration_lock(conn, lock_wait):
        existing = conn.execute(
            "SELECT string_agg(nspname, ', ') FROM pg_catalog.pg_namespace WHERE nspname IN ('lp', 'api')"
        ).fetchone()[0]
        if existing:
            raise MigrationError(f"build_canonical needs an empty database, but schema(s) {existing} exist")
        with conn.transaction():
            for path in files:
                _run_file(conn, path, root)
            _apply_repeatables(conn, root)
