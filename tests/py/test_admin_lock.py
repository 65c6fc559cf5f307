"""The lock that guards admin changes (lp.lock_admin_set) is one only the owner's functions can take.

It used to be ``pg_advisory_xact_lock(hashtext('lp.users.admin_set'))``: any role that can connect (the
reporting login included) could take that key in an open transaction and block every ``api.set_user_role``
and ``api.delete_user``. It is now a row lock on ``lp.locks``, a table no application role is granted.
Checked here, each with two real connections (the waiting one under a short ``lock_timeout``, so that a block
shows as ``55P03``):

* a reporting login holding the old advisory key no longer blocks an admin changing roles or deleting a user;
* no application role can lock (or read) the lock row;
* a plain user deleting their own account, transaction left open, no longer blocks admins (a non-admin's
  deletion cannot remove an admin and takes no global lock);
* the races that the narrowing must survive: a promotion against the account's self-deletion, in both orders,
  and two admins demoting each other (the last admin always stays).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from livepanty_db import Client

PASSWORD = "Correct-Horse-42"
ADULT = date(1990, 5, 17)
#: How long a call may wait for a lock before it counts as blocked.
LOCK_TIMEOUT = "1500ms"


@dataclass
class World:
    dsn: str  #: the superuser's DSN
    app_dsn: str  #: a login that is a member of livepanty_app only
    reporter_dsn: str  #: a login that is a member of livepanty_readonly only
    ids: dict[str, uuid.UUID]
    tokens: dict[str, str]
    seed: Any  #: the superuser's set-up and reads on the users' own databases (tests/conftest.py, Seed)


@pytest.fixture
def world(db_url: str, seed: Any) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:8]
    logins = {"app": f"lp_app_{suffix}", "reporter": f"lp_reporter_{suffix}"}
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE livepanty_app").format(pgsql.Identifier(logins["app"]))
        )
        conn.execute(
            pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE livepanty_readonly").format(
                pgsql.Identifier(logins["reporter"])
            )
        )
    ids: dict[str, uuid.UUID] = {}
    with Client(db_url) as dba:
        for name in ("ada", "abe"):
            ids[name] = dba.create_admin(
                email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=ADULT
            ).id
        for name in ("vic", "val"):
            ids[name] = dba.register_user(
                email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=ADULT
            ).id
        tokens = {name: dba.login(name, PASSWORD).token for name in ids}
    try:
        yield World(
            db_url,
            make_conninfo(db_url, user=logins["app"]),
            make_conninfo(db_url, user=logins["reporter"]),
            ids,
            tokens,
            seed,
        )
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for login in logins.values():
                conn.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(login)))
                conn.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(login)))


def app(world: World) -> psycopg.Connection[Any]:
    """A connection of the application's login, autocommit off (each block below is one open transaction)."""
    return psycopg.connect(world.app_dsn, prepare_threshold=None)


def as_user(conn: psycopg.Connection[Any], world: World, name: str) -> None:
    """Start acting as ``name`` in the connection's current transaction, as the application does."""
    conn.execute("SELECT api.authenticate(%s)", (world.tokens[name],))


def outcome(conn: psycopg.Connection[Any], query: str, params: Any = None) -> str:
    """Run ``query`` in the open transaction: 'ok' or the SQLSTATE it raised (the transaction stays open)."""
    try:
        with conn.transaction():
            conn.execute(query, params)
        return "ok"
    except psycopg.Error as exc:
        return exc.sqlstate or "?"


def waiting_for_a_lock(dsn: str, pid: int) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row is not None and row[0] == "Lock"


def role_and_deleted(world: World, name: str) -> tuple[str, bool] | None:
    """The user's role and whether they are deleted, read as the superuser on their own database."""
    return world.seed.row(
        "SELECT role, deleted_at IS NOT NULL FROM lp.users WHERE id = %s",
        (world.ids[name],),
        user=world.ids[name],
    )


@contextlib.contextmanager
def reporter_holding(world: World, *keys: str) -> Iterator[None]:
    """The reporting login holding the advisory ``keys`` (``hashtext``) in an open transaction, in the test's
    database and, behind a router, in the router and every shard (where the called functions run)."""
    login = conninfo_to_dict(world.reporter_dsn)["user"]
    with contextlib.ExitStack() as stack:
        holders = []
        for dsn in dict.fromkeys((world.dsn, *world.seed.databases)):
            holder = stack.enter_context(psycopg.connect(make_conninfo(dsn, user=login)))
            assert holder.execute("SELECT current_user").fetchone()[0].startswith("lp_reporter_")
            for key in keys:
                holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))  # held: no commit yet
            holders.append(holder)
        yield
        for holder in holders:
            holder.rollback()


def admin_call_under_timeout(world: World, name: str, query: str, params: Any) -> str:
    """``query`` as admin ``name`` in its own transaction with a short lock_timeout, rolled back."""
    with app(world) as conn:
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        as_user(conn, world, name)
        result = outcome(conn, query, params)
        conn.rollback()
        return result


# --- nobody but the owner can take the lock --------------------------------------------------------------


def test_the_old_advisory_key_no_longer_blocks_admin_changes(world: World) -> None:
    """Fails on the advisory lock: the reporting login's key made both admin calls time out (55P03)."""
    with reporter_holding(world, "lp.users.admin_set"):
        assert (
            admin_call_under_timeout(
                world, "ada", "SELECT api.set_user_role(%s, 'moderator')", (world.ids["vic"],)
            )
            == "ok"
        )
        assert (
            admin_call_under_timeout(
                world, "ada", "SELECT api.set_user_role(%s, 'viewer')", (world.ids["abe"],)
            )
            == "ok"
        )
        assert (
            admin_call_under_timeout(world, "ada", "SELECT api.delete_user(%s)", (world.ids["val"],)) == "ok"
        )


def test_application_roles_cannot_lock_or_read_the_lock_row(world: World) -> None:
    with psycopg.connect(world.dsn, autocommit=True) as conn:
        roles = [
            r
            for (r,) in conn.execute(
                "SELECT rolname FROM pg_roles"
                " WHERE rolname LIKE 'livepanty\\_%' AND rolname <> 'livepanty_owner' ORDER BY rolname"
            ).fetchall()
        ]
    assert {"livepanty_app", "livepanty_service", "livepanty_readonly"} <= set(roles)
    for dsn, label in ((world.app_dsn, "application login"), (world.reporter_dsn, "reporting login")):
        with psycopg.connect(dsn) as conn:
            if dsn == world.app_dsn:
                as_user(conn, world, "ada")  # even an acting admin
            for query in (
                "SELECT 1 FROM lp.locks FOR UPDATE",
                "SELECT 1 FROM lp.locks FOR NO KEY UPDATE",
                "SELECT 1 FROM lp.locks FOR SHARE",
                "SELECT name FROM lp.locks",
            ):
                assert outcome(conn, query) == "42501", f"{label}: {query}"
    with psycopg.connect(world.dsn) as conn:
        for role in roles:
            conn.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(role)))
            assert outcome(conn, "SELECT 1 FROM lp.locks FOR UPDATE") == "42501", role
            assert outcome(conn, "SELECT lp.lock_admin_set()") == "42501", role
            conn.execute("RESET ROLE")
        conn.rollback()


def test_a_user_deleting_their_own_account_does_not_block_admins(world: World) -> None:
    """Fails before: the viewer's open self-deletion held the global lock and the admin's call timed out."""
    with app(world) as viewer:
        as_user(viewer, world, "vic")
        assert outcome(viewer, "SELECT api.delete_user()") == "ok"  # open transaction
        assert (
            admin_call_under_timeout(
                world, "ada", "SELECT api.set_user_role(%s, 'moderator')", (world.ids["val"],)
            )
            == "ok"
        )
        assert (
            admin_call_under_timeout(world, "ada", "SELECT api.delete_user(%s)", (world.ids["abe"],)) == "ok"
        )
        viewer.commit()
    assert role_and_deleted(world, "vic") == ("viewer", True)


def test_a_refused_caller_never_holds_the_lock(world: World) -> None:
    """A viewer's set_user_role / delete_user of someone else is refused (LP002) before any lock: the
    transaction stays open, the admin is not held up."""
    with app(world) as viewer:
        as_user(viewer, world, "vic")
        assert outcome(viewer, "SELECT api.set_user_role(%s, 'admin')", (world.ids["vic"],)) == "LP002"
        assert outcome(viewer, "SELECT api.delete_user(%s)", (world.ids["ada"],)) == "LP002"
        assert (
            admin_call_under_timeout(
                world, "ada", "SELECT api.set_user_role(%s, 'moderator')", (world.ids["val"],)
            )
            == "ok"
        )
        viewer.rollback()


# --- races --------------------------------------------------------------------------------------------------


def run_blocked(world: World, name: str, query: str, params: Any, release: Callable[[], None]) -> str:
    """Run ``query`` as ``name`` in another thread; once it waits for a lock, call ``release`` (which ends the
    transaction it waits for), then return its outcome (committed when 'ok')."""
    result: dict[str, str] = {}
    pid: dict[str, int] = {}
    started = threading.Event()

    def call() -> None:
        with app(world) as conn:
            pid["pid"] = conn.info.backend_pid
            as_user(conn, world, name)
            started.set()
            result["outcome"] = outcome(conn, query, params)
            conn.commit()

    thread = threading.Thread(target=call)
    thread.start()
    assert started.wait(10)
    deadline = time.monotonic() + 10
    while not waiting_for_a_lock(world.dsn, pid["pid"]):
        assert thread.is_alive(), f"did not wait for the lock: {result}"
        assert time.monotonic() < deadline, "never waited for the lock"
        time.sleep(0.02)
    release()
    thread.join(20)
    assert not thread.is_alive()
    return result["outcome"]


def test_self_deletion_first_then_a_promotion_finds_the_account_gone(world: World) -> None:
    with app(world) as viewer:
        as_user(viewer, world, "vic")
        assert outcome(viewer, "SELECT api.delete_user()") == "ok"
        promotion = run_blocked(
            world, "ada", "SELECT api.set_user_role(%s, 'admin')", (world.ids["vic"],), viewer.commit
        )
    assert promotion == "LP003"
    assert role_and_deleted(world, "vic") == ("viewer", True)


def test_a_promotion_first_then_the_self_deletion_is_refused(world: World) -> None:
    """The viewer's role check ran before the promotion committed; under the row lock the account is an admin:
    LP004, nothing changed (deleting it without the global lock could remove the last admin)."""
    with app(world) as admin:
        as_user(admin, world, "ada")
        assert outcome(admin, "SELECT api.set_user_role(%s, 'admin')", (world.ids["vic"],)) == "ok"
        deletion = run_blocked(world, "vic", "SELECT api.delete_user()", None, admin.commit)
    assert deletion == "LP004"
    assert role_and_deleted(world, "vic") == ("admin", False)
    # Retried, it is an admin's deletion: checked against the other admins, and allowed (two remain).
    with app(world) as conn:
        as_user(conn, world, "vic")
        assert outcome(conn, "SELECT api.delete_user()") == "ok"
        conn.commit()
    assert role_and_deleted(world, "vic") == ("admin", True)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("SELECT api.set_user_role(%s, 'viewer')", "SELECT api.set_user_role(%s, 'viewer')"),
        ("SELECT api.delete_user(%s)", "SELECT api.delete_user(%s)"),
        ("SELECT api.set_user_role(%s, 'viewer')", "SELECT api.delete_user(%s)"),
    ],
)
def test_two_admins_removing_each_other_leave_one_admin(world: World, first: str, second: str) -> None:
    """ada and abe are the only admins; each removes the other at the same time: the second waits for the
    lock, then finds it would remove the last admin (LP030)."""
    with app(world) as ada:
        as_user(ada, world, "ada")
        assert outcome(ada, first, (world.ids["abe"],)) == "ok"
        other = run_blocked(world, "abe", second, (world.ids["ada"],), ada.commit)
    assert other == "LP030"
    assert role_and_deleted(world, "ada") == ("admin", False)
    with psycopg.connect(world.dsn) as conn:
        admins = conn.execute(
            "SELECT count(*) FROM lp.users WHERE role = 'admin' AND deleted_at IS NULL"
        ).fetchone()
    assert admins == (1,)


# --- no advisory lock on a guessable key anywhere ----------------------------------------------------------


def test_no_function_takes_an_advisory_lock(world: World) -> None:
    """Any login can take any advisory key: a function that waits on one can be blocked by anyone. Every
    function of every schema but the system's and the test harness's (lp, api, monitoring, ...),
    extension members left out; a sharded installation's shard and router schemas are scanned in
    tests/py/test_shards.py."""
    with psycopg.connect(world.dsn) as conn:
        ours = (
            " FROM pg_proc AS p"
            " WHERE p.pronamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema', 'tests')"
            " AND p.pronamespace::regnamespace::text !~ '^pg_'"
            " AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_proc'::regclass"
            " AND d.objid = p.oid AND d.deptype = 'e')"
        )
        schemas = {r[0] for r in conn.execute("SELECT p.pronamespace::regnamespace::text" + ours)}
        rows = conn.execute(
            "SELECT p.oid::regprocedure::text" + ours + " AND p.prosrc ~* 'pg_(try_)?advisory'"
        ).fetchall()
    assert {"lp", "api", "monitoring"} <= schemas  # not vacuous
    assert rows == []


def test_old_registration_and_spending_keys_block_nothing(world: World) -> None:
    """Fails on the advisory locks of lp.create_user and lp.check_spending_limit: a reporting login holding
    the keys made the registration of that address, and every tip of a user with a limit, time out (55P03)."""
    with Client(world.dsn) as dba:
        with dba.acting_as(world.ids["ada"], reason="test setup") as tx:
            tx.set_user_role(world.ids["val"], "performer")
        world.seed.approve_kyc(world.ids["val"])  # the KYC gate of being paid
        with dba.acting_as(world.ids["vic"], reason="test setup") as tx:
            tx.set_spending_limit("daily", 1000)
    with (
        reporter_holding(
            world,
            "lp.users.email:newbie@example.com",
            "lp.users.username:newbie",
            f"lp.spending_limits:{world.ids['vic']}",
        ),
        app(world) as conn,
    ):
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        registered = outcome(
            conn,
            "SELECT api.register_user('newbie@example.com', 'newbie', %s, DATE '1990-05-17')",
            (PASSWORD,),
        )
        as_user(conn, world, "vic")
        tipped = outcome(conn, "SELECT api.tip(%s, 10, 'k1')", (world.ids["val"],))
        conn.rollback()
    assert registered == "ok"
    assert tipped == "LP100"  # past the limit check (it comes first), refused by lp.post: vic has no tokens


def test_application_roles_cannot_lock_spending_limit_rows(world: World) -> None:
    with Client(world.dsn) as dba, dba.acting_as(world.ids["vic"], reason="test setup") as tx:
        tx.set_spending_limit("daily", 1000)
    with app(world) as conn:
        as_user(conn, world, "vic")
        assert outcome(conn, "SELECT 1 FROM lp.spending_limits FOR NO KEY UPDATE") == "42501"
        assert outcome(conn, "SELECT 1 FROM lp.spending_limits FOR SHARE") == "42501"


def test_concurrent_registrations_of_one_address_get_the_catalogued_error(world: World) -> None:
    """Without the advisory lock the unique index decides; the loser still gets LP015, not 23505."""
    barrier = threading.Barrier(2)
    results: list[str] = []

    def register(username: str) -> None:
        with app(world) as conn:
            barrier.wait()
            results.append(
                outcome(
                    conn,
                    "SELECT api.register_user('twin@example.com', %s, %s, DATE '1990-05-17')",
                    (username, PASSWORD),
                )
            )
            conn.commit()

    threads = [threading.Thread(target=register, args=(name,)) for name in ("twin_one", "twin_two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["LP015", "ok"]


def test_concurrent_tips_of_a_limited_user_cannot_pass_the_cap_together(world: World) -> None:
    """Two tips of 60 against a daily cap of 100, at the same moment: exactly one goes through."""
    with Client(world.dsn) as dba:
        with dba.acting_as(world.ids["ada"], reason="test setup") as tx:
            tx.adjust_balance(world.ids["vic"], 1000, "test funding", idempotency_key=str(uuid.uuid4()))
            tx.set_user_role(world.ids["val"], "performer")
        world.seed.approve_kyc(world.ids["val"])  # the KYC gate of being paid
        with dba.acting_as(world.ids["vic"], reason="test setup") as tx:
            tx.set_spending_limit("daily", 100)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def tip() -> None:
        with app(world) as conn:
            as_user(conn, world, "vic")
            barrier.wait()
            results.append(outcome(conn, "SELECT api.tip(%s, 60, %s)", (world.ids["val"], str(uuid.uuid4()))))
            conn.commit()

    threads = [threading.Thread(target=tip) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["LP105", "ok"]
