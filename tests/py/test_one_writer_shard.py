"""One writer on a shard and on the router (README, docs/ledger.md "One writer"): the catalog scans of
tests/sql/test_one_writer.sql (tests/sql/helpers/30_catalog_scan.sql) run again after the shard side
(db/shard/shard.sql, shard.configure and the generated shard.<name> wrappers) or the router side
(db/router/*.sql and the generated routes) is installed, as livepanty_db.shards.install does, on a clone
of the template in one transaction that is rolled back (the role livepanty_router too). What the
installation adds to each scan must be exactly what is listed here: a new function of schema shard or
router that writes money state, runs dynamic SQL or makes a writable view over money state fails."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from livepanty_db import shards
from livepanty_db.paths import db_root

SCANS = ("money_writes", "dynamic_statements", "other_dynamic_sql", "writable_views")

#: What the shard side adds. shard.configure creates the shard's in-transit system wallets and their credit
#: shards at zero (no balance column named: checked below); shard.locate finds which table holds an id.
SHARD_ADDS = {
    "money_writes": [
        ("shard.configure(integer,integer)", "insert into", "lp.wallet_shards"),
        ("shard.configure(integer,integer)", "insert into", "lp.wallets"),
    ],
    "dynamic_statements": [("shard.locate(text,uuid)", "select s.shard::integer from lp.shard_self as")],
    "other_dynamic_sql": [],
    "writable_views": [],
}

#: The router holds no money: its routes replace the api functions (their dynamic statements go with them).
ROUTER_ADDS: dict[str, list[tuple[str, ...]]] = {scan: [] for scan in SCANS}


def _scans(conn: psycopg.Connection) -> dict[str, Counter]:
    return {scan: Counter(conn.execute(f"SELECT * FROM tests.{scan}()").fetchall()) for scan in SCANS}


def _schemas(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT DISTINCT split_part(fn, '.', 1) FROM tests.own_functions()")}


def _added(before: dict[str, Counter], after: dict[str, Counter]) -> dict[str, list[tuple[str, ...]]]:
    return {scan: sorted((after[scan] - before[scan]).elements()) for scan in SCANS}


@pytest.fixture
def clone(pg_server, template_db: str) -> Iterator[psycopg.Connection]:
    """A connection (superuser, one transaction, rolled back) to a clone of the migrated template."""
    with pg_server.database(template=template_db) as dsn, psycopg.connect(dsn) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def _install_shard(conn: psycopg.Connection) -> None:
    conn.execute(
        "DO $r$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_router')"
        " THEN CREATE ROLE livepanty_router LOGIN; END IF; END $r$;"
        " GRANT livepanty_app, livepanty_service, livepanty_mailer TO livepanty_router"
    )
    conn.execute((db_root() / "shard" / "shard.sql").read_text())
    conn.execute("SET ROLE livepanty_owner")
    conn.execute("SELECT shard.configure(0, 2)")
    conn.execute("RESET ROLE")
    conn.execute(shards.shard_wrappers_sql(shards.read_api_functions(conn)))
    conn.execute(shards.shard_view_wrappers_sql(shards.read_api_views(conn)))


def test_the_shard_side_adds_only_the_listed_writers(clone: psycopg.Connection) -> None:
    before = _scans(clone)
    _install_shard(clone)
    schemas = _schemas(clone)
    assert {"lp", "api", "shard"} <= schemas  # the scan reads the shard schema
    assert _added(before, _scans(clone)) == SHARD_ADDS
    assert _added(_scans(clone), before) == {scan: [] for scan in SCANS}
    created_with_balance = clone.execute(
        "SELECT f.fn FROM tests.own_functions() AS f,"
        r" regexp_matches(f.src, 'insert\s+into\s+lp\.wallet(?:s|_shards)\s*\(([^)]*)\)', 'g') AS m"
        r" WHERE m[1] ~ '\m(balance|reserved|debt_since)\M'"
    ).fetchall()
    assert created_with_balance == []


@pytest.mark.skipif(
    not Path("/usr/share/postgresql/15/extension/plproxy.control").exists(),
    reason="needs PL/Proxy (postgresql-15-plproxy)",
)
def test_the_router_side_adds_no_writer(clone: psycopg.Connection) -> None:
    before = _scans(clone)
    clone.execute("CREATE EXTENSION IF NOT EXISTS plproxy")
    clone.execute((db_root() / "router" / "router.sql").read_text())
    functions = shards.read_api_functions(clone)
    views = shards.read_api_views(clone)
    clone.execute(shards.router_routes_sql(functions))
    clone.execute(shards.router_view_routes_sql(views))
    clone.execute((db_root() / "router" / "routes.sql").read_text())
    schemas = _schemas(clone)
    assert {"router", "router_proxy"} <= schemas  # the scan reads the router's schemas
    assert _added(before, _scans(clone)) == ROUTER_ADDS


def test_a_shard_function_writing_money_through_execute_fails_the_scan(clone: psycopg.Connection) -> None:
    """The probe the brief asks for, on a shard: a function of schema shard whose EXECUTE updates a wallet."""
    before = _scans(clone)
    _install_shard(clone)
    clone.execute(
        "CREATE FUNCTION shard.probe(p_wallet uuid) RETURNS void LANGUAGE plpgsql AS $p$ BEGIN"
        " EXECUTE format('UPDATE lp.wallets SET balance = balance + 1 WHERE id = %L', p_wallet); END $p$"
    )
    added = _added(before, _scans(clone))
    assert added != SHARD_ADDS
    assert ("shard.probe(uuid)", "update", "lp.wallets") in added["money_writes"]
    statement = ("shard.probe(uuid)", "update lp.wallets set balance = balance + 1 w")
    assert statement in added["dynamic_statements"]
