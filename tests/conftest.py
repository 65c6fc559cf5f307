"""Test harness: a throwaway PostgreSQL cluster, a migrated template database, and a fresh clone per test.

* ``pg_server`` (session): a cluster started as the ``postgres`` OS user in a temporary directory under /tmp,
  on a free port, with the embedded cluster's settings (``livepanty_db.local``: pg_stat_statements preloaded)
  and durability turned off for speed; or, when ``LIVEPANTY_TEST_DSN`` is set, that existing
  server (the DSN must name a superuser; its database is used for maintenance, e.g. ``.../postgres``).
* ``template_db`` (session): a database migrated with ``livepanty_db.migrate.apply`` (migrations and
  repeatables), plus ``pgtap`` and ``plpgsql_check``, with ``auth.bcrypt_cost`` lowered to 4 (fast hashing),
  and the shared pgTAP helpers of ``tests/sql/helpers/*.sql`` (schema ``tests``; run in name order).
* ``db_url`` / ``conn``: a database cloned from the template for one test (dropped afterwards) / a psycopg
  connection to it (autocommit off). ``empty_db``: a fresh empty database (from template0).
* ``LIVEPANTY_TEST_PGBOUNCER=1``: ``db_url`` points through a pgbouncer in transaction pooling mode (started
  for the session as the ``postgres`` OS user, one pool per test database) in front of the test server, as an
  application behind a pooler sees it. Tests that need a feature a transaction-mode pooler does not keep
  (LISTEN, session-level state, a server connection of their own) are marked
  ``@pytest.mark.not_through_pgbouncer("reason")`` and skipped under it with that reason.
* ``LIVEPANTY_TEST_SHARDS=2``: ``db_url`` is the router of a sharded installation (livepanty_db.shards;
  docs/scale-out.md) over that many shard databases, all cloned per test from templates made once for the
  session on the same server (the router's PL/Proxy cluster is pointed at the test's own shards). A relay
  thread delivers the test's cross-shard tips while it runs, as the relay job does in production. ``seed``
  writes on each user's own shard (found in the router's directory) or on every shard, and reads and verifies
  across every shard once the relay has delivered. ``conn`` is a connection to the router: a test that reads
  or writes tables directly sees the router's empty copies. The Makefile's router pass runs the client and
  concurrency tests; those listed in ``NEEDS_ONE_DATABASE`` are skipped there with their reason, and so are
  the pgTAP files. A test that needs one database with the whole schema (forced lock interleavings) asks for
  ``one_database_url``: the test database, or the installation's first shard. With
  ``LIVEPANTY_TEST_PGBOUNCER=1`` as well, ``db_url`` reaches that router through the pgbouncer (the
  Makefile's fourth pass), and the skips of both apply.
* ``tests/sql/test_*.sql`` run through pytest-pgtap, each file in its own clone: every assertion is reported
  as a subtest, and a failing assertion, a plan mismatch, a missing plan or an SQL error fails the run.

This file is self-contained (tests/py/test_pgtap_harness.py copies it to run pytest on failing SQL files).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pytest_pgtap.pgtap import Runner

from livepanty_db import migrate, paths
from livepanty_db.local import Cluster

#: Test-speed settings (never for durability-sensitive measurements).
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
TEST_DSN_ENV = "LIVEPANTY_TEST_DSN"
PGBOUNCER_ENV = "LIVEPANTY_TEST_PGBOUNCER"
SHARDS_ENV = "LIVEPANTY_TEST_SHARDS"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
#: Server connections per test database: enough for the concurrency tests' simultaneous transactions.
PGBOUNCER_POOL_SIZE = 40


def through_pgbouncer() -> bool:
    return os.environ.get(PGBOUNCER_ENV) == "1"


def shard_count() -> int:
    """The number of shards behind the router of ``db_url`` (0: one database, the default)."""
    value = os.environ.get(SHARDS_ENV, "0") or "0"
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"{SHARDS_ENV} must be a number of shards, not {value!r}") from None


#: With LIVEPANTY_TEST_SHARDS: the tests of the router pass (Makefile) that cannot run against a router, by
#: node id (all parameters), each with why. Every other test of those modules runs there unchanged.
NEEDS_ONE_DATABASE: dict[str, str] = {
    "tests/py/test_client.py::test_acting_as_is_one_transaction": (
        "a router transaction is not atomic across calls (docs/scale-out.md, Limits)"
    ),
    "tests/py/test_client.py::test_a_refusal_caught_inside_a_block_is_not_committed": (
        "a router transaction is not atomic across calls (docs/scale-out.md, Limits); reads lp.users"
    ),
    "tests/py/test_client.py::test_application_role_sees_rows_through_rls": (
        "the superuser's RLS bypass does not cross the router: a routed call runs as an application role"
    ),
    "tests/py/test_client_robustness.py::test_a_savepoint_lets_a_block_catch_a_refusal_and_go_on": (
        "a router transaction is not atomic across calls: a savepoint does not undo a shard's commit"
    ),
    "tests/py/test_batcher.py::test_a_refusal_through_the_batcher_rolls_its_block_back": (
        "a router transaction is not atomic across calls (docs/scale-out.md, Limits): the block commits"
    ),
    "tests/py/test_hold_expiry.py": (
        "keeps a transaction open across calls (a router transaction is not atomic across calls)"
    ),
    "tests/py/test_show_billing_blockers.py": (
        "keeps a viewer's transaction open across calls (a router transaction is not atomic across calls)"
    ),
    "tests/py/test_id_oracles.py": "creates its users and objects with the SQL helpers in the test database",
    "tests/py/test_kyc_erasure_race.py": "forces a lock interleaving with SQL on lp tables of one database",
    "tests/py/test_kyc_webhook_race.py": "forces a lock interleaving with SQL on lp tables of one database",
    "tests/py/test_payout_races.py": "creates its users and money with the SQL helpers in the test database",
    "tests/py/test_old_transactions.py": (
        "creates its users and money with the SQL helpers in the test database"
    ),
    "tests/py/test_show_viewer_locks.py": (
        "keeps a viewer's transaction open across calls and reads lp tables of one database"
    ),
    "tests/py/test_goal_deadline_races.py": (
        "forces a lock interleaving with SQL on lp tables of one database"
    ),
    "tests/py/test_reporting_privacy.py": "reads the reporting views of one database (they are not routed)",
    "tests/py/test_kyc_client.py::test_two_users_submitting_one_reference_at_once_get_one_verification": (
        "keeps a submitter's transaction open across calls (a router transaction is not atomic across calls),"
        " and across shards a provider reference is checked, not locked (docs/scale-out.md, Limits)"
    ),
    "tests/py/test_admin_lock.py::test_self_deletion_first_then_a_promotion_finds_the_account_gone": (
        "forces a lock interleaving: keeps a transaction open across calls and waits for its lock in one"
        " database's pg_stat_activity"
    ),
    "tests/py/test_admin_lock.py::test_a_promotion_first_then_the_self_deletion_is_refused": (
        "forces a lock interleaving: keeps a transaction open across calls and waits for its lock in one"
        " database's pg_stat_activity"
    ),
    "tests/py/test_admin_lock.py::test_two_admins_removing_each_other_leave_one_admin": (
        "forces a lock interleaving: keeps a transaction open across calls and waits for its lock in one"
        " database's pg_stat_activity"
    ),
    **dict.fromkeys(
        (
            "tests/py/test_shows_client.py::test_a_private_show_through_the_client",
            "tests/py/test_shows_client.py::test_typed_errors",
            "tests/py/test_shows_client.py::test_the_show_commands",
            "tests/py/test_goals_menus_client.py::test_the_menu_commands",
            "tests/py/test_goals_menus_client.py::test_the_goal_commands",
        ),
        "asserts that a call refused inside acting_as (the CLI's --as) changes nothing, the audit log"
        " included: through a router api.act_as commits its auth.act_as audit row on the shard before the"
        " call is refused (a router transaction is not atomic across calls)",
    ),
}


def _needs_one_database(item: pytest.Item) -> str | None:
    base = item.nodeid.split("[", 1)[0]
    module = item.nodeid.split("::", 1)[0]
    for key in (item.nodeid, base, module):
        if key in NEEDS_ONE_DATABASE:
            return NEEDS_ONE_DATABASE[key]
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "not_through_pgbouncer(reason): skipped when LIVEPANTY_TEST_PGBOUNCER=1 (needs a session-level "
        "feature that a transaction-mode pooler does not keep)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shard_count():
        for item in items:
            sql_file = item.path.suffix == ".sql"
            reason = "pgTAP files test one database" if sql_file else _needs_one_database(item)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=f"{SHARDS_ENV}: {reason}"))
    if not through_pgbouncer():
        return
    for item in items:
        marker = item.get_closest_marker("not_through_pgbouncer")
        if marker is not None:
            reason = marker.args[0] if marker.args else "needs a session-level feature"
            item.add_marker(pytest.mark.skip(reason=f"not through pgbouncer (transaction mode): {reason}"))


@dataclass(frozen=True)
class PgServer:
    """A PostgreSQL server on which the tests may create and drop databases (as a superuser)."""

    admin_dsn: str
    #: Whether the harness started this server itself (and so owns every database on it).
    own_cluster: bool
    #: Unix socket directory of the server, when the harness started it.
    socket_dir: Path | None = None

    def dsn(self, dbname: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    def create_database(self, template: str = "template0", prefix: str = "lp_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def database(self, template: str = "template0") -> Iterator[str]:
        """A new database (empty, or a clone of ``template``) for the block; yields its DSN."""
        name = self.create_database(template)
        try:
            yield self.dsn(name)
        finally:
            self.drop_database(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    external = os.environ.get(TEST_DSN_ENV)
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            is_superuser = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()[0]
        if not is_superuser:
            pytest.exit(f"{TEST_DSN_ENV} must connect as a superuser", returncode=4)
        yield PgServer(external, own_cluster=False)
        return
    # A directory under /tmp that the postgres OS user can traverse (mkdtemp makes it 0700).
    base = Path(tempfile.mkdtemp(prefix="livepanty-test-"))
    base.chmod(0o755)
    cluster = Cluster(base, server_options=FAST_SETTINGS)
    try:
        cluster.start()
        yield PgServer(cluster.url("postgres"), own_cluster=True, socket_dir=cluster.socket_dir)
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


#: Shared pgTAP helpers (schema "tests"), loaded into the template after the extensions, in name order.
SQL_HELPERS_DIR = Path(__file__).resolve().parent / "sql" / "helpers"


def load_sql_helpers(conn: psycopg.Connection) -> None:
    """Run every ``tests/sql/helpers/*.sql`` file (one query each, as the superuser) in the template database.

    Skipped when the directory is absent (tests/py/test_pgtap_harness.py runs a copy of this file alone)."""
    if not SQL_HELPERS_DIR.is_dir():
        return
    for path in sorted(SQL_HELPERS_DIR.glob("*.sql")):
        text = path.read_text()
        try:
            conn.execute(text)
        except psycopg.Error as exc:
            raise RuntimeError(f"{path}: {migrate.describe_error(exc, text)}") from exc


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> Iterator[str]:
    """Name of the migrated template database (unique per run on an external server)."""
    name = "lp_template" if pg_server.own_cluster else f"lp_template_{uuid.uuid4().hex[:12]}"
    pg_server.drop_database(name)
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        migrate.apply(pg_server.dsn(name))
        with psycopg.connect(pg_server.dsn(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pgtap")
            conn.execute("CREATE EXTENSION plpgsql_check")
            load_sql_helpers(conn)
            if conn.execute("SELECT to_regclass('lp.settings')").fetchone()[0] is not None:
                conn.execute("UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'")
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true").format(sql.Identifier(name)))
        yield name
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name)))
        pg_server.drop_database(name)


@pytest.fixture(scope="session")
def pgbouncer_port(pg_server: PgServer) -> Iterator[int | None]:
    """The port of a pgbouncer (transaction mode) in front of the test server, or None (see the docstring)."""
    if not through_pgbouncer():
        yield None
        return
    if not Path(PGBOUNCER).exists():
        pytest.exit(f"{PGBOUNCER_ENV}=1 but pgbouncer is not installed (apt-get install pgbouncer)", 4)
    target = conninfo_to_dict(pg_server.admin_dsn)
    workdir = Path(tempfile.mkdtemp(prefix="livepanty-test-pgbouncer-"))
    workdir.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    user = target.get("user", "postgres")
    (workdir / "userlist.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target.get('host', '127.0.0.1')} port={target.get('port', 5432)}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir}/userlist.txt\npool_mode = transaction\n"
        f"default_pool_size = {PGBOUNCER_POOL_SIZE}\nmax_client_conn = 1000\n"
        f"max_db_connections = {PGBOUNCER_POOL_SIZE}\nautodb_idle_timeout = 60\n"
        f"logfile = {workdir}/pgbouncer.log\npidfile = {workdir}/pgbouncer.pid\n"
    )
    as_root = os.geteuid() == 0
    if as_root:
        for path in (workdir, *workdir.iterdir()):
            shutil.chown(path, "postgres")
    argv = [PGBOUNCER, "-d", str(workdir / "pgbouncer.ini")]
    subprocess.run(["runuser", "-u", "postgres", "--", *argv] if as_root else argv, check=True)
    try:
        probe = make_conninfo(pg_server.admin_dsn, host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(probe, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        pid_file = workdir / "pgbouncer.pid"
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class ShardTemplates:
    """The template databases of a sharded installation (``LIVEPANTY_TEST_SHARDS``): the router's and each
    shard's, made once for the session from the migrated template."""

    router: str
    shards: tuple[str, ...]


@pytest.fixture(scope="session")
def shard_templates(pg_server: PgServer, template_db: str) -> Iterator[ShardTemplates | None]:
    count = shard_count()
    if not count:
        yield None
        return
    from livepanty_db import shards

    names = [pg_server.create_database(template_db, prefix="lp_shard_template") for _ in range(count)]
    router = pg_server.create_database(template_db, prefix="lp_router_template")
    try:
        shards.install(pg_server.dsn(router), [pg_server.dsn(name) for name in names])
        with pg_server.admin() as conn:
            for name in (router, *names):
                conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true").format(sql.Identifier(name)))
        yield ShardTemplates(router, tuple(names))
    finally:
        with pg_server.admin() as conn:
            for name in (router, *names):
                conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name)))
        for name in (router, *names):
            pg_server.drop_database(name)


@dataclass(frozen=True)
class Databases:
    """The databases of one test: ``url`` is what the test is given (the database, or the router)."""

    url: str
    shards: tuple[str, ...] = ()


def _relay_until(dsns: tuple[str, ...], stop: threading.Event, errors: list[BaseException]) -> None:
    from livepanty_db import shards

    connections = shards.RelayConnections(dsns)
    try:
        while not stop.is_set():
            try:
                shards.relay_once(dsns, connections=connections)
            except psycopg.Error:  # a test dropping or restarting things: the next pass retries
                connections.close()
                connections = shards.RelayConnections(dsns)
            except BaseException as exc:
                errors.append(exc)
                return
            stop.wait(0.005)
    finally:
        connections.close()


@pytest.fixture
def test_databases(
    pg_server: PgServer,
    template_db: str,
    pgbouncer_port: int | None,
    shard_templates: ShardTemplates | None,
) -> Iterator[Databases]:
    if shard_templates is None:
        with pg_server.database(template=template_db) as dsn:
            yield Databases(
                dsn if pgbouncer_port is None else make_conninfo(dsn, host="127.0.0.1", port=pgbouncer_port)
            )
        return
    from livepanty_db import shards

    names: list[str] = []
    try:
        for template in shard_templates.shards:
            names.append(pg_server.create_database(template, prefix="lp_test_shard"))
        router = pg_server.create_database(shard_templates.router, prefix="lp_test_router")
        names.append(router)
        shard_dsns = tuple(pg_server.dsn(name) for name in names[:-1])
        with psycopg.connect(pg_server.dsn(router), autocommit=True) as conn:
            partitions = [shards.partition_conninfo(d) for d in shard_dsns]
            options = sql.SQL(", ").join(
                sql.SQL("SET {} {}").format(sql.Identifier(f"p{i}"), sql.Literal(p))
                for i, p in enumerate(partitions)
            )
            server = sql.Identifier(shards.CLUSTER)
            conn.execute(sql.SQL("ALTER SERVER {} OPTIONS ({})").format(server, options))
        stop = threading.Event()
        relay_errors: list[BaseException] = []
        relay = threading.Thread(target=_relay_until, args=(shard_dsns, stop, relay_errors), daemon=True)
        relay.start()
        url = pg_server.dsn(router)
        if pgbouncer_port is not None:  # both: the application's pooler in front of the router
            url = make_conninfo(url, host="127.0.0.1", port=pgbouncer_port)
        try:
            yield Databases(url, shard_dsns)
        finally:
            stop.set()
            relay.join(timeout=30)
        if relay_errors:
            raise relay_errors[0]
    finally:
        for name in reversed(names):
            pg_server.drop_database(name)


@pytest.fixture
def db_url(test_databases: Databases) -> str:
    """DSN of a fresh database cloned from the migrated template, dropped after the test (through pgbouncer
    when LIVEPANTY_TEST_PGBOUNCER=1; the router of a sharded installation when LIVEPANTY_TEST_SHARDS=N)."""
    return test_databases.url


@pytest.fixture
def one_database_url(test_databases: Databases) -> str:
    """DSN of one database that holds the whole schema: ``db_url``, or with LIVEPANTY_TEST_SHARDS the first
    shard of the test's sharded installation (directly, not through the router or pgbouncer). For the tests
    that force lock interleavings inside one database (tests/py/test_lock_protocol.py): in the router pass
    they run on a shard, which is one database with the shard schema installed, its relay running."""
    return test_databases.shards[0] if test_databases.shards else test_databases.url


@pytest.fixture
def empty_db(pg_server: PgServer) -> Iterator[str]:
    """DSN of a fresh empty database (from template0), dropped after the test."""
    with pg_server.database() as dsn:
        yield dsn


@pytest.fixture
def db_tree_up_to(tmp_path: Path) -> Any:
    """``db_tree_up_to(last)``: a copy of db/ with the migrations up to ``last`` and no repeatable definitions
    (they fit the newest schema only), for a test of what a migration does to the data it finds."""

    def build(last: int) -> Path:
        root = tmp_path / "db"
        shutil.copytree(paths.db_root(), root)
        for path in (root / "migrations").iterdir():
            if int(path.name[:4]) > last:
                path.unlink()
        for folder in ("functions", "views", "policies"):
            for path in (root / folder).glob("*.sql"):
                path.unlink()
        return root

    return build


_APPROVE_KYC = """
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at,
                                      expires_at)
    SELECT u, 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year'
      FROM unnest(%s::uuid[]) AS u
"""
_FUND = """
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   array_append(ARRAY(SELECT ROW(w.id, %(tokens)s::bigint, 'purchase', 0, false)::lp.posting
                                        FROM lp.wallets AS w WHERE w.user_id = ANY (%(users)s::uuid[])
                                       ORDER BY w.id),
                                ROW(lp.system_wallet('issuance'), -%(total)s::bigint, 'purchase', 0, false)
                                    ::lp.posting))
"""


_BALANCES = """
    SELECT coalesce(w.user_id::text, w.system_code),
           w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s
                                  WHERE s.wallet_id = w.id), 0)
      FROM lp.wallets AS w
"""


@dataclass
class Seed:
    """Set-up the API has no call for, written as the superuser into a test's database: an approved identity
    verification (as api.approve_kyc leaves it), tokens bought (one balanced purchase from issuance) and
    settings; and the superuser's reads of the outcome (balances, tips, the ledger's soundness). Behind a
    router (``shards``), each user's rows are written on the shard the directory names, settings on every
    shard, and the reads wait for the relay, then add up every shard."""

    dsn: str
    shards: tuple[str, ...] = ()

    @property
    def databases(self) -> tuple[str, ...]:
        """The databases that hold the test's data: the shards, or the one database."""
        return self.shards or (self.dsn,)

    def set_setting(self, key: str, value: str) -> None:
        """``lp.settings`` ``key`` set to the JSON ``value`` in every database (UPDATE of a known key)."""
        for dsn in self.databases:
            with psycopg.connect(dsn) as conn:
                updated = conn.execute(
                    "UPDATE lp.settings SET value = %s::jsonb WHERE key = %s", (value, key)
                ).rowcount
            if updated != 1:
                raise LookupError(f"no setting {key!r}")

    def execute(self, query: str, params: Any = None, *, user: Any = None) -> None:
        """Run ``query`` (a write the API has no call for) in every database, or only in that of ``user``."""
        for dsn in self._by_database((user,)) if user is not None else self.databases:
            with psycopg.connect(dsn) as conn:
                conn.execute(query, params)

    def database_of(self, user: Any) -> str:
        """The DSN of the database that holds ``user``'s rows: their shard behind a router, else the one."""
        (dsn,) = self._by_database((user,))
        return dsn

    def one(self, query: str, params: Any = None, *, user: Any) -> Any:
        """The first column of the first row of ``query`` in the database of ``user`` (None: no row)."""
        (dsn,) = self._by_database((user,))
        with psycopg.connect(dsn) as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def settle(self) -> None:
        """Behind a router: relay until no cross-shard transfer is pending (a no-op on one database)."""
        if self.shards:
            from livepanty_db import shards

            shards.wait_for_relay(self.shards)

    def rows(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        """The rows of ``query`` from every database, one list (after :meth:`settle`)."""
        self.settle()
        found: list[tuple[Any, ...]] = []
        for dsn in self.databases:
            with psycopg.connect(dsn) as conn:
                found += conn.execute(query, params).fetchall()
        return found

    def balances(self) -> dict[str, int]:
        """Every wallet's total (main balance plus credit shards) by user id or system code, added up over
        the shards. Behind a router, a cross-shard tip's stub of its sender holds nothing, and the shards'
        in-transit wallets are added up under ``"in transit"`` (zero once the relay has delivered)."""
        totals: dict[str, int] = {}
        for name, total in self.rows(_BALANCES):
            if self.shards and name.startswith("transit_"):
                name = "in transit"
            totals[name] = totals.get(name, 0) + int(total)
        return totals

    def tip_ids(self) -> set[Any]:
        """The ids of every tip (a cross-shard tip is one id on both its shards)."""
        return {tip_id for (tip_id,) in self.rows("SELECT id FROM lp.tips")}

    def ledger_problems(self) -> list[str]:
        """What ``api.verify_ledger()`` finds; behind a router, on every shard, and the global reconciliation
        (``livepanty-db verify --all-shards``) with nothing left in transit. Empty: sound."""
        self.settle()
        if not self.shards:
            with psycopg.connect(self.dsn) as conn:
                return [str(row) for row in conn.execute("SELECT * FROM api.verify_ledger()").fetchall()]
        from livepanty_db import shards

        report = shards.verify_all(self.shards, router_dsn=self.dsn)
        problems = [f"shard {i}: {n} verify_ledger row(s)" for i, n in report.ledger_problems.items() if n]
        problems += report.problems
        if report.in_transit or report.pending:
            problems.append(f"{report.in_transit} tokens in transit, {report.pending} transfers pending")
        return problems

    def system_main_entries(self) -> int:
        """Ledger entries on a system wallet's main row (docs/ledger.md: system wallets post only to their
        shards), counted in every database that holds a ledger."""
        count = 0
        for dsn in self.shards or (self.dsn,):
            with psycopg.connect(dsn) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id"
                    " WHERE w.kind = 'system' AND l.shard = 0"
                ).fetchone()
                count += int(row[0])
        return count

    def _by_database(self, user_ids: tuple[Any, ...]) -> dict[str, list[Any]]:
        if not self.shards:
            return {self.dsn: list(user_ids)}
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT user_id, shard FROM router.users WHERE user_id = ANY (%s::uuid[])", [list(user_ids)]
            ).fetchall()
        where = {str(user): shard for user, shard in rows}
        missing = [u for u in user_ids if str(u) not in where]
        if missing:
            raise LookupError(f"the router's directory does not know {missing}")
        groups: dict[str, list[Any]] = {}
        for user in user_ids:
            groups.setdefault(self.shards[where[str(user)]], []).append(user)
        return groups

    def approve_kyc(self, *user_ids: Any) -> None:
        for dsn, users in self._by_database(user_ids).items():
            with psycopg.connect(dsn) as conn:
                conn.execute(_APPROVE_KYC, [users])

    def fund(self, tokens: int, *user_ids: Any) -> None:
        for dsn, users in self._by_database(user_ids).items():
            with psycopg.connect(dsn) as conn:
                conn.execute(_FUND, {"tokens": tokens, "users": users, "total": tokens * len(users)})

    def row(self, query: str, params: Any = None, *, user: Any) -> tuple[Any, ...] | None:
        """The first row of ``query`` in the database of ``user`` (None: no row); :meth:`one` for a value."""
        with psycopg.connect(self.database_of(user)) as conn:
            found = conn.execute(query, params).fetchone()
        return None if found is None else tuple(found)

    def username_on_shard_of(self, user: Any, name: str) -> str:
        """A username to register so that the new user lives with ``user``: on one database ``name`` itself;
        behind a router the first of ``name``, ``name_1``, ``name_2``, ... that ``router.place`` puts on
        ``user``'s shard. For a test whose users must share a shard for what it tests (a show holds its
        viewers' tokens on its stream's shard; a cross-shard tip's goal shows when the relay delivers it:
        docs/scale-out.md, "Limits"), not for cross-shard placement itself."""
        if not self.shards:
            return name
        with psycopg.connect(self.dsn) as conn:
            for n in range(1000):
                candidate = name if n == 0 else f"{name}_{n}"
                found = conn.execute(
                    "SELECT router.place(%s) = router.shard_of(%s)", (candidate, user)
                ).fetchone()
                if found is not None and found[0]:
                    return candidate
        raise LookupError(f"no username like {name!r} is placed on the shard of {user}")


@pytest.fixture
def seed(test_databases: Databases) -> Seed:
    """Set-up the API has no call for, and the superuser's reads of the outcome, in the test's database or
    across its shards (see Seed)."""
    return Seed(test_databases.url, test_databases.shards)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A psycopg connection (autocommit off) to the test's own database."""
    with psycopg.connect(db_url) as connection:
        yield connection


# -- pgTAP (pytest-pgtap collects tests/sql/test*.sql) -------------------------------------------------------
# pytest-pgtap's own fixtures are session-scoped and skip silently without a connection. Both are overridden
# here, function-scoped, so each SQL file runs in its own clone of the template and can never be skipped.


@pytest.fixture
def pgtap_connection(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as connection:
        yield connection


_TAP_LINE = re.compile(r"^(?:ok\b|not ok\b|\s*#|1\.\.\d+\s*$|Bail out!)")


class _Runner(Runner):
    """pytest-pgtap's runner, reporting an SQL error as a plain failure with its line in the file, and
    tolerating statements whose first column is not text (pytest-pgtap 0.4 joins the rows as strings)."""

    def run(self, query):  # type: ignore[override]
        try:
            rows = super().run(query)
        except psycopg.Error as exc:
            text = query if isinstance(query, str) else None
            pytest.fail(f"SQL error: {migrate.describe_error(exc, text)}", pytrace=False)
        lines = [row if isinstance(row, str) else str(row) for row in rows if row is not None]
        # Only TAP goes to the parser: a bare SELECT in a test file may print anything (tap.py would take a
        # uuid such as '1ab2...' for a plan line, since its plan pattern is ^1..N with unescaped dots).
        return [line for line in lines if _TAP_LINE.match(line)]


@pytest.fixture
def _pgtap_runner(pgtap_connection: psycopg.Connection) -> Runner:
    return _Runner(pgtap_connection)
