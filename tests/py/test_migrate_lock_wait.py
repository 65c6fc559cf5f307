"""A migration run that cannot get its locks says who holds them, and with ``--lock-wait`` gives up.

Any login can take an advisory lock, so the application's login can hold the migration runner's key
(:data:`livepanty_db.migrate.LOCK_KEY`), and any open transaction that read a table holds a lock that the
DDL of a migration or the re-applied policies must wait for. Without a bound a run waits for ever, silently.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.conninfo import make_conninfo

from livepanty_db import migrate
from livepanty_db.cli import main

ROLE = "lp_lock_holder"
PASSWORD = "Tr0ub4dor&3x-lock"


@pytest.fixture
def migrated(pg_server, template_db):
    """A direct (never routed) clone of the migrated template."""
    with pg_server.database(template=template_db) as dsn:
        yield dsn


@pytest.fixture
def app_login(pg_server, migrated):
    """A login of the application (granted livepanty_app): the attacker of docs/CONVENTIONS.md."""
    with pg_server.admin() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {ROLE}")
        admin.execute(f"CREATE ROLE {ROLE} LOGIN IN ROLE livepanty_app")
    try:
        yield make_conninfo(migrated, user=ROLE)
    finally:
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [ROLE])
            admin.execute(f"DROP ROLE IF EXISTS {ROLE}")


def _applied(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()[0]


def test_an_application_login_holding_the_key_makes_migrate_give_up_naming_it(migrated, app_login):
    with psycopg.connect(app_login, autocommit=True) as holder:
        holder.execute("SET application_name = 'squatter'")
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", [migrate.LOCK_KEY]).fetchone()[0]
        pid = holder.info.backend_pid
        started = time.monotonic()
        with pytest.raises(migrate.MigrationError) as caught:
            migrate.apply(migrated, lock_wait=1)
        elapsed = time.monotonic() - started
        message = str(caught.value)
        assert f"pid {pid} (login {ROLE}, application 'squatter'" in message
        assert "gave up after 1 s" in message
        assert 1 <= elapsed < 10

        result = CliRunner().invoke(main, ["--dsn", migrated, "migrate", "--lock-wait", "0.5"])
        assert result.exit_code == 1
        assert result.stderr.startswith("error: the migration lock of this database is held by pid")
        assert ROLE in result.stderr
        assert "Traceback" not in result.output

        rollback = ["--dsn", migrated, "migrate", "rollback", "--yes", "--lock-wait", "0.5"]
        result = CliRunner().invoke(main, rollback)
        assert result.exit_code == 1
        assert f"pid {pid}" in result.stderr
    # Nothing was rolled back or applied, and once the key is free the same command runs.
    assert _applied(migrated) == len(migrate.status(migrated))
    result = CliRunner().invoke(main, ["--dsn", migrated, "migrate", "--lock-wait", "5"])
    assert result.exit_code == 0, result.output


def test_without_a_bound_migrate_waits_and_says_who_it_waits_for(migrated, app_login, caplog, monkeypatch):
    monkeypatch.setattr(migrate, "LOCK_REPORT_EVERY", 0.2)
    with psycopg.connect(app_login, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [migrate.LOCK_KEY])
        pid = holder.info.backend_pid
        release = threading.Timer(1.5, lambda: holder.execute("SELECT pg_advisory_unlock_all()"))
        release.start()
        try:
            with caplog.at_level(logging.WARNING, logger="livepanty_db.migrate"):
                started = time.monotonic()
                assert migrate.apply(migrated) == []
                elapsed = time.monotonic() - started
        finally:
            release.join()
    assert elapsed >= 1.4
    waits = [r.getMessage() for r in caplog.records if "waiting for the migration lock" in r.getMessage()]
    assert len(waits) >= 2
    assert all(f"pid {pid} (login {ROLE}" in w for w in waits)


def test_a_transaction_holding_a_table_makes_the_repeatables_give_up_and_keeps_the_old_ones(
    migrated, app_login
):
    """An open transaction of the application holds the locks of what it read (here a user's session, read by
    api.authenticate): re-creating the policies of that table waits for it. With --lock-wait the run fails
    after the bound, its transaction rolled back, every function and policy as before."""
    with psycopg.connect(app_login, autocommit=True) as app:
        app.execute(
            "SELECT api.register_user('squat@example.com', 'squatter', %s, date '1990-01-01')", [PASSWORD]
        )
        token = app.execute("SELECT (api.login('squatter', %s)).token", [PASSWORD]).fetchone()[0]
    with psycopg.connect(migrated) as conn:
        before = conn.execute(
            "SELECT (SELECT count(*) FROM pg_policies WHERE schemaname = 'lp'),"
            "       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'api'::regnamespace)"
        ).fetchone()
    with psycopg.connect(app_login) as holder:
        holder.execute("SELECT api.authenticate(%s)", [token])  # the transaction stays open
        started = time.monotonic()
        with pytest.raises(migrate.MigrationError) as caught:
            migrate.apply(migrated, lock_wait=0.5)
        assert time.monotonic() - started < 20
        assert "55P03" in str(caught.value)
        assert "exceeded --lock-wait" in str(caught.value)
        holder.rollback()
    with psycopg.connect(migrated) as conn:
        after = conn.execute(
            "SELECT (SELECT count(*) FROM pg_policies WHERE schemaname = 'lp'),"
            "       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'api'::regnamespace)"
        ).fetchone()
    assert after == before
    assert migrate.apply(migrated, lock_wait=5) == []


@pytest.mark.parametrize("bad", [0, -1, float("nan"), True, "5"])
def test_a_lock_wait_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(migrate.MigrationError, match="lock_wait must be a positive number"):
        migrate.apply("dbname=never_connected", lock_wait=bad)


def test_the_cli_refuses_a_lock_wait_of_zero():
    result = CliRunner().invoke(main, ["--dsn", "dbname=x", "migrate", "--lock-wait", "0"])
    assert result.exit_code == 2
    assert "--lock-wait" in result.output
