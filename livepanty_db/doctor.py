"""``livepanty-db doctor``: is this database healthy for livepanty, and how is it doing?

:func:`examine` runs every check against one database and returns :class:`Finding` rows, each ``ok``,
``info``, ``warn`` or ``problem`` (a problem makes the command exit 1):

* connection: server version, database, the connecting login and the roles it is a member of;
* migrations: pending ones, applied ones whose file is gone;
* drift: repeatable definitions (functions, views, policies) that differ from the files, found by migrating
  a scratch database on the same server from the files and comparing the catalogs (nothing is applied to the
  examined database, nothing locks it; needs CREATEDB, else reported as not checked);
* extensions the schema needs (citext, pgcrypto), and whether pg_stat_statements is installed and preloaded;
* pooler compatibility: settings pinned to the database or a role that a transaction-mode pooler would not
  carry (``lp.*``, ``search_path``), and the timeouts that protect the server from clients that hang;
* monitoring in brief (the seed's list), read from the views of schema ``monitoring`` (the queries of
  ``livepanty-db metrics``; skipped when they are missing or not readable by the login): connections by state
  and age, the slowest statements (when pg_stat_statements is installed and preloaded), unused indexes and
  sequentially scanned big tables under ``lp``,
  transaction rate over a one-second sample, database and largest table sizes with growth since the last run
  (remembered in a small JSON file under the local home, ``$LIVEPANTY_HOME``).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from livepanty_db import local, migrate
from livepanty_db.errors import one_line

#: Finding statuses, in increasing gravity; only "problem" fails the command.
STATUSES = ("ok", "info", "warn", "problem")
REQUIRED_EXTENSIONS = ("citext", "pgcrypto")
#: An idle-in-transaction session older than this is worth a warning (it holds locks and snapshots).
IDLE_IN_TRANSACTION_WARN_SECONDS = 300
#: Tables under lp with at least this many live rows are "big" for the sequential-scan check.
BIG_TABLE_ROWS = 10_000


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise migrate.MigrationError(f"cannot connect to the database: {one_line(str(exc))}") from exc


def examine(
    dsn: str, *, drift: bool = True, sample_seconds: float = 1.0, state_dir: Path | None = None
) -> list[Finding]:
    """Every check against the database of ``dsn`` (see the module docstring)."""
    findings: list[Finding] = []
    with _connect(dsn) as conn:
        findings += _connection(conn)
        findings += _migrations(dsn)
        findings += _extensions(conn)
        findings += _pooler(conn)
        findings += _activity(conn)
        findings += _statements(conn)
        findings += _indexes(conn)
        findings += _rate(conn, sample_seconds)
        findings += _sizes(conn, state_dir or local.default_home())
        if drift:
            findings += _drift(conn, dsn)
        else:
            findings.append(Finding("drift", "info", "not checked (--no-drift)"))
    return findings


def worst(findings: list[Finding]) -> str:
    return max((f.status for f in findings), key=STATUSES.index, default="ok")


# --- checks -------------------------------------------------------------------------------------------


def _connection(conn: psycopg.Connection[Any]) -> list[Finding]:
    version, database, login, superuser = conn.execute(
        "SELECT current_setting('server_version'), current_database(), current_user,"
        " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
    ).fetchone()
    roles = [
        r[0]
        for r in conn.execute(
            "SELECT b.rolname FROM pg_roles AS b"
            " WHERE b.rolname <> current_user AND pg_has_role(current_user, b.oid, 'MEMBER')"
            " AND b.rolname NOT LIKE 'pg\\_%' ORDER BY 1"
        ).fetchall()
    ]
    major = int(conn.info.server_version) // 10000
    findings = [
        Finding("server", "ok" if major >= 15 else "problem", f"PostgreSQL {version}, database {database}"),
        Finding(
            "login",
            "info",
            f"{login}{' (superuser)' if superuser else ''}; member of: {', '.join(roles) or 'no role'}",
        ),
    ]
    return findings


def _migrations(dsn: str) -> list[Finding]:
    try:
        states = migrate.status(dsn)
    except migrate.MigrationError as exc:
        return [Finding("migrations", "warn", f"not checked: {exc}")]
    pending = [s.id for s in states if not s.applied]
    orphans = [s.id for s in states if not s.has_file]
    findings = [
        Finding(
            "migrations",
            "problem" if pending else "ok",
            f"{len(pending)} pending: {', '.join(pending)}" if pending else f"all {len(states)} applied",
        )
    ]
    if orphans:
        findings.append(Finding("migrations", "warn", f"applied without a file here: {', '.join(orphans)}"))
    return findings


def _extensions(conn: psycopg.Connection[Any]) -> list[Finding]:
    installed = dict(conn.execute("SELECT extname, extversion FROM pg_extension").fetchall())
    findings = []
    for name in REQUIRED_EXTENSIONS:
        if name in installed:
            findings.append(Finding("extensions", "ok", f"{name} {installed[name]}"))
        else:
            findings.append(
                Finding("extensions", "problem", f"{name} is not installed (migrate installs it)")
            )
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    preloaded = "pg_stat_statements" in [name.strip() for name in (preload[0] if preload else "").split(",")]
    if "pg_stat_statements" in installed and preloaded:
        detail = f"pg_stat_statements {installed['pg_stat_statements']}, preloaded"
    elif "pg_stat_statements" in installed:
        detail = (
            f"pg_stat_statements {installed['pg_stat_statements']} installed but not in "
            "shared_preload_libraries (add it, restart): no slow-statement report"
        )
    else:
        detail = "pg_stat_statements not installed (migrate installs it): no slow-statement report"
    findings.append(Finding("extensions", "info", detail))
    return findings


def _pooler(conn: psycopg.Connection[Any]) -> list[Finding]:
    pinned = conn.execute(
        "SELECT coalesce(r.rolname, '(every role)'), coalesce(d.datname, '(every database)'), s.setting"
        " FROM pg_db_role_setting AS x CROSS JOIN LATERAL unnest(x.setconfig) AS s(setting)"
        " LEFT JOIN pg_roles AS r ON r.oid = x.setrole LEFT JOIN pg_database AS d ON d.oid = x.setdatabase"
        " WHERE (x.setdatabase = 0 OR d.datname = current_database())"
        " AND (s.setting LIKE 'lp.%' OR s.setting LIKE 'search\\_path=%')"
    ).fetchall()
    findings = [
        Finding(
            "pooler",
            "problem" if setting.startswith("lp.") else "warn",
            f"{setting} pinned for role {role} on {db}: "
            + (
                "an acting identity is proven per transaction (api.authenticate), never set at role level"
                if setting.startswith("lp.")
                else "every function pins its own search_path; a pinned one only misleads ad-hoc sessions"
            ),
        )
        for role, db, setting in pinned
    ]
    if not pinned:
        findings.append(Finding("pooler", "ok", "no lp.* or search_path pinned to this database or a role"))
    for name in ("idle_in_transaction_session_timeout", "statement_timeout"):
        value = conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]
        findings.append(
            Finding(
                "pooler",
                "ok" if value not in ("0", "0ms") else "info",
                f"{name} = {value}" + ("" if value not in ("0", "0ms") else " (unlimited; consider a bound)"),
            )
        )
    return findings


def _monitoring_views(conn: psycopg.Connection[Any], check: str) -> Finding | None:
    """None when the views of schema monitoring (migration 0032) can be read by this login; else the finding
    that says why the check was skipped (the views hold the queries: they are not repeated here)."""
    readable = conn.execute(
        "SELECT to_regclass('monitoring.connections') IS NOT NULL"
        " AND has_schema_privilege('monitoring', 'USAGE')"
        " AND has_table_privilege('monitoring.connections', 'SELECT')"
    ).fetchone()[0]
    if readable:
        return None
    return Finding(
        check,
        "info",
        "not checked: the views of schema monitoring are missing (migrate) or not readable by this login"
        " (a member of livepanty_readonly, or a superuser)",
    )


def _activity(conn: psycopg.Connection[Any]) -> list[Finding]:
    skipped = _monitoring_views(conn, "connections")
    if skipped:
        return [skipped]
    rows = conn.execute(
        "SELECT state, connections, greatest(oldest_state_seconds, oldest_transaction_seconds)::int"
        " FROM monitoring.connections WHERE connections > 0 ORDER BY state"
    ).fetchall()
    findings = [
        Finding(
            "connections",
            "warn" if state == "idle in transaction" and age > IDLE_IN_TRANSACTION_WARN_SECONDS else "info",
            f"{state}: {count} (oldest {age} s)",
        )
        for state, count, age in rows
    ]
    used, limit = conn.execute("SELECT connections_used, max_connections FROM monitoring.server").fetchone()
    findings.append(
        Finding(
            "connections", "warn" if used > 0.8 * limit else "ok", f"{used} of max_connections {limit} in use"
        )
    )
    return findings


def _statements(conn: psycopg.Connection[Any]) -> list[Finding]:
    if _monitoring_views(conn, "slow statements"):
        return []  # the connections check already said why
    rows = conn.execute(
        "SELECT left(query, 80), calls, round((mean_seconds * 1000)::numeric, 2)"
        " FROM monitoring.slow_statements ORDER BY mean_seconds DESC LIMIT 5"
    ).fetchall()
    return [
        Finding("slow statements", "info", f"{ms} ms mean x {calls}: {query}") for query, calls, ms in rows
    ]


def _indexes(conn: psycopg.Connection[Any]) -> list[Finding]:
    skipped = _monitoring_views(conn, "indexes")
    if skipped:
        return [skipped]
    unused = conn.execute(
        "SELECT table_name || '.' || index_name FROM monitoring.index_usage"
        " WHERE unused AND size_bytes > 8192 * 16 ORDER BY size_bytes DESC LIMIT 10"
    ).fetchall()
    scanned = conn.execute(
        "SELECT table_name, seq_scans, index_scans, live_rows FROM monitoring.table_usage"
        " WHERE live_rows >= %s AND seq_scans > 10 * index_scans + 100"
        " ORDER BY seq_rows_read DESC LIMIT 10",
        [BIG_TABLE_ROWS],
    ).fetchall()
    findings = [
        Finding("indexes", "info", f"never used since the statistics reset: {name}") for (name,) in unused
    ]
    findings += [
        Finding(
            "indexes",
            "warn",
            f"lp.{rel}: {seq} sequential against {idx} index scans over {rows} rows (an index missing?)",
        )
        for rel, seq, idx, rows in scanned
    ]
    if not findings:
        findings.append(
            Finding("indexes", "ok", "no unused index of size, no big table read by sequential scans")
        )
    return findings


def _rate(conn: psycopg.Connection[Any], seconds: float) -> list[Finding]:
    query = (
        "SELECT xact_commit + xact_rollback, xact_rollback FROM pg_stat_database"
        " WHERE datname = current_database()"
    )
    conn.execute("SELECT pg_stat_clear_snapshot()")
    before = conn.execute(query).fetchone()
    time.sleep(seconds)
    conn.execute("SELECT pg_stat_clear_snapshot()")
    after = conn.execute(query).fetchone()
    total = (after[0] - before[0]) / seconds if seconds > 0 else 0.0
    rollbacks = (after[1] - before[1]) / seconds if seconds > 0 else 0.0
    return [
        Finding("transactions", "info", f"{total:.1f}/s ({rollbacks:.1f}/s rolled back) over {seconds:g} s")
    ]


def _sizes(conn: psycopg.Connection[Any], state_dir: Path) -> list[Finding]:
    ident, db_size = conn.execute(
        "SELECT (SELECT system_identifier FROM pg_control_system())::text || '-' || current_database(),"
        " pg_database_size(current_database())"
    ).fetchone()
    tables = dict(
        conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class AS c"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'lp' AND c.relkind IN ('r', 'p') ORDER BY 2 DESC LIMIT 8"
        ).fetchall()
    )
    path = state_dir / "doctor" / f"{ident}.json"
    previous: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(path.read_text())
    since = previous.get("at")

    def growth(now: int, before: int | None) -> str:
        if before is None:
            return ""
        return f", {_size(now - before) if now >= before else '-' + _size(before - now)} since {since}"

    findings = [
        Finding("size", "info", f"database {_size(db_size)}{growth(db_size, previous.get('database'))}")
    ]
    findings += [
        Finding(
            "size", "info", f"lp.{name} {_size(size)}{growth(size, previous.get('tables', {}).get(name))}"
        )
        for name, size in tables.items()
    ]
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        path.write_text(json.dumps({"at": now, "database": db_size, "tables": tables}))
    return findings


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


# --- drift --------------------------------------------------------------------------------------------------

_DEFINITIONS = """
SELECT 'function ' || p.oid::regprocedure::text, pg_get_functiondef(p.oid)
  FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('api', 'lp', 'reporting', 'monitoring') AND p.prokind IN ('f', 'p')
UNION ALL
SELECT 'view ' || c.oid::regclass::text, pg_get_viewdef(c.oid)
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('api', 'lp', 'reporting', 'monitoring') AND c.relkind = 'v'
UNION ALL
SELECT 'policy ' || schemaname || '.' || tablename || '.' || policyname,
       concat_ws(' | ', permissive, roles::text, cmd, qual, with_check)
  FROM pg_policies WHERE schemaname IN ('api', 'lp', 'reporting')
"""


@contextlib.contextmanager
def _scratch_database(conn: psycopg.Connection[Any], dsn: str) -> Iterator[str]:
    name = f"lp_doctor_{uuid.uuid4().hex[:12]}"
    conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield make_conninfo(dsn, dbname=name)
    finally:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _definitions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    return dict(conn.execute(_DEFINITIONS).fetchall())


def _drift(conn: psycopg.Connection[Any], dsn: str) -> list[Finding]:
    """Repeatable definitions in the database that differ from what the files here define."""
    try:
        with _scratch_database(conn, dsn) as scratch:
            # yoyo prints the rows of any migration statement that returns some: keep stdout for the report.
            with contextlib.redirect_stdout(io.StringIO()):
                migrate.apply(scratch)
            with psycopg.connect(scratch) as other:
                expected = _definitions(other)
    except (psycopg.Error, migrate.MigrationError) as exc:
        message = (
            exc.diag.message_primary if isinstance(exc, psycopg.Error) and exc.diag.message_primary else exc
        )
        return [
            Finding("drift", "warn", f"not checked (a scratch database from the files is needed): {message}")
        ]
    actual = _definitions(conn)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    findings = [Finding("drift", "problem", f"missing: {name}") for name in missing]
    findings += [Finding("drift", "problem", f"differs from the files: {name}") for name in changed]
    findings += [Finding("drift", "warn", f"not in the files: {name}") for name in extra]
    if not findings:
        findings.append(
            Finding("drift", "ok", f"{len(expected)} functions, views and policies match the files")
        )
    return findings
