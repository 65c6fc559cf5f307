"""Role checks before any lock (docs/CONVENTIONS.md, "Who is acting": the platform role checks come first in
every function, before any lock is taken), for every api function, from the catalog.

Every api function that livepanty_app or livepanty_service may execute is called by a plain viewer (through
livepanty_service, so that the service-only functions are reached too, with a real session), every argument
given (a uuid names another user; text 'x', numbers 1, ...), each call in its own transaction: once freely,
and once while another session holds a FOR UPDATE lock on every row of every table of schema lp (lp.locks
included) and the caller's lock_timeout is short. A function that takes a lock before it refuses the viewer
waits there and fails with 55P03 instead of its refusal. So:

* the functions that refuse the viewer with LP002 are exactly ROLE_REQUIRED (a function added later that
  requires a platform role fails here until it is listed, and then it is checked);
* every function answers the same under the locks as freely, LP002 among them, without waiting, except the few
  a viewer may run (their work takes locks: WAITS_FOR_ITS_WORK);
* nothing changed (a digest of every table of lp before and after).
A probe function that locks the user row before its role check is caught (test_a_lock_before_the_check_...).
tests/py/test_admin_lock.py samples two functions with a real admin waiting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

LOCK_TIMEOUT_MS = 300

#: Every api function that refuses a plain viewer with LP002 (arguments as in _literal).
ROLE_REQUIRED = {
    "api.add_stream_performer",
    "api.add_tip_goal",
    "api.adjust_balance",
    "api.allow_kyc_retry",
    "api.answer_show",
    "api.approve_kyc",
    "api.approve_payout",
    "api.block_viewer",
    "api.claim_case",
    "api.consent_to_stream",
    "api.decide_appeal",
    "api.delete_user",
    "api.detector_precision",
    "api.earnings_summary",
    "api.erase_user",
    "api.extend_case_claim",
    "api.find_user",
    "api.get_fraud_limits",
    "api.get_kyc_status",
    "api.kyc_record",
    "api.list_appeals",
    "api.list_payments",
    "api.list_payouts",
    "api.list_pending_kyc",
    "api.list_sessions",
    "api.list_settings",
    "api.list_users",
    "api.offer_show",
    "api.override_kyc_decision",
    "api.refund_show",
    "api.reject_kyc",
    "api.reject_payout",
    "api.release_case",
    "api.remove_stream_performer",
    "api.resolve_case",
    "api.review_queue",
    "api.revoke_all_sessions",
    "api.revoke_sanction",
    "api.rotate_stream_key",
    "api.sanction_user",
    "api.schedule_stream",
    "api.set_bundle",
    "api.set_menu_item",
    "api.set_setting",
    "api.set_show_price",
    "api.set_user_role",
    "api.start_show",
    "api.start_stream",
    "api.unblock_viewer",
    "api.unlock_user",
    "api.update_stream",
}

#: Functions the viewer may run (they do not refuse), whose own work locks rows: they wait under the locks.
WAITS_FOR_ITS_WORK = {
    "api.change_password": "the viewer's own password: locks the user row",
    "api.request_erasure": "the viewer's own erasure: locks the user row",
    "api.maintain_partitions": "back office, no platform role: the lp.locks row ledger.partitions",
    "api.archive_detach": "back office, no platform role: the lp.locks row ledger.partitions",
    "api.restore_partition": "back office, no platform role: the lp.locks row ledger.partitions",
}


@dataclass
class World:
    dsn: str
    token: str  #: the viewer's session token
    other: Any  #: another viewer's id, every uuid argument


@pytest.fixture
def world(pg_server, template_db: str) -> Iterator[World]:
    """A clone of the template (one database, also in the sharded and pgbouncer passes) with a viewer, another
    viewer, a performer, a moderator and an admin."""
    with pg_server.database(template=template_db) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name, role in (("rvic", "viewer"), ("rtom", "viewer"), ("rpat", "performer"),
                               ("rmod", "moderator"), ("rada", "admin")):  # fmt: skip
                conn.execute("SELECT tests.create_user(%s, %s)", (name, role))
            token = conn.execute("SELECT (api.login('rvic', tests.password())).token").fetchone()[0]
            other = conn.execute("SELECT tests.user_id('rtom')").fetchone()[0]
        yield World(dsn, token, other)


def _functions(conn: psycopg.Connection) -> list[tuple[str, list[str]]]:
    return [
        (name, types)
        for name, types in conn.execute(
            "SELECT p.oid::regprocedure::text, array(SELECT pg_catalog.format_type(t, NULL)"
            "  FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, k) ORDER BY k)"
            " FROM pg_proc AS p WHERE p.pronamespace = 'api'::regnamespace AND p.prokind = 'f'"
            " AND (has_function_privilege('livepanty_app', p.oid, 'EXECUTE')"
            "      OR has_function_privilege('livepanty_service', p.oid, 'EXECUTE'))"
            " ORDER BY 1"
        ).fetchall()
    ]


def _literal(type_name: str, other: Any) -> sql.Composable:
    if type_name == "uuid":
        return sql.SQL("{}::uuid").format(sql.Literal(str(other)))
    if type_name in ("text", "ext.citext", "citext"):
        return sql.SQL("'x'")
    if type_name in ("bigint", "integer", "smallint", "numeric"):
        return sql.SQL("1::{}").format(sql.SQL(type_name))
    if type_name == "boolean":
        return sql.SQL("false")
    if type_name in ("timestamp with time zone", "date"):
        return sql.SQL("now()::{}").format(sql.SQL(type_name))
    if type_name == "interval":
        return sql.SQL("'1 hour'::interval")
    if type_name in ("jsonb", "json", "inet") or type_name.endswith("[]"):
        value = "127.0.0.1" if type_name == "inet" else "{}"
        return sql.SQL("{}::{}").format(sql.Literal(value), sql.SQL(type_name))
    return sql.SQL("NULL::{}").format(sql.SQL(type_name))


def _digest(conn: psycopg.Connection) -> dict[str, str]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class AS c"
            " WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
    ]
    return {
        t: conn.execute(
            sql.SQL(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '')"
                " FROM {} AS x"
            ).format(sql.SQL(t))
        ).fetchone()[0]
        for t in tables
    }


@dataclass
class Outcome:
    sqlstate: str  #: 'ok' or the SQLSTATE raised
    seconds: float


def _call_all(world: World, *, locked: bool) -> dict[str, Outcome]:
    """Each api function called by the viewer in its own transaction; with ``locked``, while another session
    holds every row of every table of lp FOR UPDATE."""
    outcomes: dict[str, Outcome] = {}
    with psycopg.connect(world.dsn) as locker, psycopg.connect(world.dsn) as conn:
        functions = _functions(conn)
        conn.rollback()
        if locked:
            for (table,) in locker.execute(
                "SELECT c.oid::regclass::text FROM pg_class AS c"
                " WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p')"
            ).fetchall():
                locker.execute(sql.SQL("SELECT 1 FROM {} FOR UPDATE").format(sql.SQL(table)))
        for signature, types in functions:
            name = signature.split("(", 1)[0]
            call = sql.SQL("SELECT {}({})").format(
                sql.SQL(name), sql.SQL(", ").join(_literal(t, world.other) for t in types)
            )
            conn.execute("SET LOCAL ROLE livepanty_service")
            conn.execute("SELECT api.authenticate(%s)", (world.token,))
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
            started = time.monotonic()
            try:
                conn.execute(call)
                state = "ok"
            except psycopg.Error as exc:
                state = exc.sqlstate or "?"
            outcomes[name] = Outcome(state, time.monotonic() - started)
            conn.rollback()
        locker.rollback()
    return outcomes


def test_role_checks_come_before_any_lock_in_every_api_function(world: World) -> None:
    with psycopg.connect(world.dsn, autocommit=True) as conn:
        before = _digest(conn)
    free = _call_all(world, locked=False)
    locked = _call_all(world, locked=True)
    with psycopg.connect(world.dsn, autocommit=True) as conn:
        assert _digest(conn) == before  # nothing changed

    assert len(free) > 100  # every api function was called
    refused = {name for name, o in free.items() if o.sqlstate == "LP002"}
    assert refused == ROLE_REQUIRED
    # Under the locks every refusal is the same, at once; only the listed functions wait for their own work.
    assert {name: o.sqlstate for name, o in locked.items() if name in ROLE_REQUIRED} == dict.fromkeys(
        ROLE_REQUIRED, "LP002"
    )
    assert max(locked[name].seconds for name in ROLE_REQUIRED) < LOCK_TIMEOUT_MS / 1000
    changed = {
        name: (free[name].sqlstate, locked[name].sqlstate)
        for name in free
        if free[name].sqlstate != locked[name].sqlstate
    }
    assert changed == {name: (free[name].sqlstate, "55P03") for name in WAITS_FOR_ITS_WORK}
    assert not {n for n, o in free.items() if o.sqlstate == "55P03"}  # nobody else held a lock


def test_a_lock_before_the_check_is_caught(world: World) -> None:
    """The test's own probe: a function that locks the user row it names, then requires an admin, answers
    LP002 freely and 55P03 under the locks."""
    with psycopg.connect(world.dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION api.probe_lock_first(p_user_id uuid) RETURNS void"
            " LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $p$ BEGIN"
            " PERFORM 1 FROM lp.users AS u WHERE u.id = p_user_id FOR UPDATE;"
            " PERFORM lp.require_user('admin'); END $p$;"
            " ALTER FUNCTION api.probe_lock_first(uuid) OWNER TO livepanty_owner;"
            " GRANT EXECUTE ON FUNCTION api.probe_lock_first(uuid) TO livepanty_service"
        )
    free = _call_all(world, locked=False)
    locked = _call_all(world, locked=True)
    assert (free["api.probe_lock_first"].sqlstate, locked["api.probe_lock_first"].sqlstate) == (
        "LP002",
        "55P03",
    )
