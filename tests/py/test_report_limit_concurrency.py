"""The report limit holds under concurrency (``api.report``, ``review.max_reports_per_hour``, LP145).

Concurrent reports of one user used to each count the reporter's filings of the last hour before the others
committed, so a burst of parallel calls passed the limit. ``api.report`` now locks the reporter's own
``lp.users`` row (FOR NO KEY UPDATE) before it counts, in a statement of its own: a second report of the same
user waits for the first to commit or roll back, then counts what it filed. Checked with two real sessions of
the application's role, each in an open transaction: the second is seen waiting on a lock (pg_stat_activity)
before the first commits, then it is refused with LP145. Reports of another user do not wait (the lock is the
reporter's), and the back office acting for a user (not limited) takes no lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

PASSWORD = "Report-burst-42"
ADULT = date(1990, 1, 1)


@dataclass
class World:
    dsn: str
    ids: dict[str, uuid.UUID]
    tokens: dict[str, str]


@pytest.fixture
def world(db_url: str) -> World:
    ids: dict[str, uuid.UUID] = {}
    with Client(db_url) as dba:
        for name in ("vic", "val", "tom", "tim", "tia"):
            ids[name] = dba.register_user(
                email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=ADULT
            ).id
        tokens = {name: dba.login(name, PASSWORD).token for name in ("vic", "val")}
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.settings SET value = '2'::jsonb WHERE key = 'review.max_reports_per_hour'")
    return World(db_url, ids, tokens)


def session(world: World, name: str) -> psycopg.Connection[Any]:
    """A connection acting as ``name`` through the application's role, its transaction left open."""
    conn = psycopg.connect(world.dsn, prepare_threshold=None)
    conn.execute("SET ROLE livepanty_app")
    conn.execute("SELECT api.authenticate(%s)", (world.tokens[name],))
    return conn


def report(conn: psycopg.Connection[Any], world: World, target: str) -> Any:
    return conn.execute("SELECT (api.report('user', %s, 'spam')).id", (world.ids[target],)).fetchone()[0]


def waits_for_a_lock(dsn: str, pid: int) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row is not None and row[0] == "Lock"


def filings_of(world: World, name: str) -> int:
    with psycopg.connect(world.dsn) as conn:
        return conn.execute(
            "SELECT count(*) FROM lp.report_filings WHERE reporter_id = %s", (world.ids[name],)
        ).fetchone()[0]


def test_a_burst_of_reports_of_one_user_cannot_pass_the_limit(world: World) -> None:
    """Fails before the fix: the second report counted one filing (the first was not committed), was filed
    without waiting, and vic ended with 3 filings under a limit of 2."""
    with session(world, "vic") as conn:
        report(conn, world, "tom")
        conn.commit()  # vic's first filing of the hour: one left
    first = session(world, "vic")
    second = session(world, "vic")
    outcome: dict[str, Any] = {}

    def run_second() -> None:
        try:
            outcome["id"] = report(second, world, "tia")
            second.commit()
        except psycopg.Error as exc:  # reported to the test thread
            outcome["sqlstate"] = exc.sqlstate
            second.rollback()
        except BaseException as exc:  # reported to the test thread
            outcome["error"] = exc

    try:
        assert report(first, world, "tim") is not None  # 2 of 2, not committed yet
        thread = threading.Thread(target=run_second)
        thread.start()
        deadline = time.monotonic() + 15
        while not waits_for_a_lock(world.dsn, second.info.backend_pid):
            assert thread.is_alive(), f"the second report did not wait for the first: {outcome}"
            assert time.monotonic() < deadline, "the second report never waited on a lock"
            time.sleep(0.02)
        first.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        first.close()
        second.close()
    assert outcome == {"sqlstate": "LP145"}
    assert filings_of(world, "vic") == 2


def test_reports_of_another_user_do_not_wait(world: World) -> None:
    """The lock is the reporter's own: val's report goes through while vic's is in flight."""
    first = session(world, "vic")
    other = session(world, "val")
    try:
        report(first, world, "tom")  # in flight
        other.execute("SET LOCAL lock_timeout = '2s'")
        assert report(other, world, "tim") is not None  # (another case: tom's would wait on its unique key)
        other.commit()
        first.commit()
    finally:
        first.close()
        other.close()
    assert (filings_of(world, "vic"), filings_of(world, "val")) == (1, 1)


def test_the_back_office_acting_for_a_user_is_not_limited_nor_held_up(world: World) -> None:
    """api.act_as is exempt from the limit, so it takes no lock: it files past the limit while the user's own
    report is in flight."""
    first = session(world, "vic")
    try:
        report(first, world, "tom")  # vic's own report, in flight
        with psycopg.connect(world.dsn, prepare_threshold=None) as office:
            office.execute("SET ROLE livepanty_service")
            office.execute("SET LOCAL lock_timeout = '2s'")
            office.execute("SELECT api.act_as(%s, 'report burst test')", (world.ids["vic"],))
            for target in ("tim", "tia", "val"):
                assert report(office, world, target) is not None
        first.commit()
    finally:
        first.close()
    assert filings_of(world, "vic") == 4
