"""A viewer's own open transaction does not stall the show billing job for everybody else.

The application's database login is in the attacker's hands (docs/CONVENTIONS.md): a viewer's transaction can
be left open after it locked one of that viewer's rows that the billing job (api.bill_shows) reaches while it
captures or tops up their reservation: their wallet row (a release of another hold of theirs), their
spending-limit rows (api.set_spending_limit), their spend counter and wallet (a tip: the control case, the
counter was already taken SKIP LOCKED). The job takes such a viewer's rows SKIP LOCKED, bills every other
viewer, and leaves that one for a later call; once the blocker commits or rolls back, the next run bills them,
each minute exactly once.

Every call is a transaction of its own on a connection of its own, as the application makes them (role
``livepanty_app``, the acting user proved by ``api.authenticate``; the job as ``livepanty_service``). The
job's connection runs with a lock_timeout: a job that waits for the blocker fails with lock_not_available
(55P03) instead of hanging the test.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

pytestmark = pytest.mark.not_through_pgbouncer(
    "the billing job's session holds its role and lock_timeout, and a test waits on its backend pid"
)

PASSWORD = "billing blockers 1"
RATE = 10
FUNDS = 5000
MINUTES = 2  # completed minutes of the show when the job runs


def begin_as(conn: psycopg.Connection[Any], token: str) -> None:
    conn.execute("BEGIN")
    conn.execute("SET LOCAL ROLE livepanty_app")
    conn.execute("SELECT api.authenticate(%s)", [token])


def one_call(dsn: str, token: str, query: str, params: list[Any]) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        begin_as(conn, token)
        row = conn.execute(query, params).fetchone()
        conn.execute("COMMIT")
        return row


def bill_until_done(dsn: str) -> list[tuple[Any, ...]]:
    """Runs the billing job until it returns no row; every row it returned. Fails on a wait over 3 s."""
    rows = []
    with psycopg.connect(dsn, autocommit=True) as job:
        job.execute("SET ROLE livepanty_service")
        job.execute("SET lock_timeout = '3s'")
        for _ in range(100):
            row = job.execute(
                "SELECT show_id, user_id, captured, released, outcome FROM api.bill_shows()"
            ).fetchone()
            if row is None:
                return rows
            rows.append(row)
    raise AssertionError(f"the job did not finish: {rows}")


@pytest.fixture
def show(db_url: str, seed: Any) -> dict[str, Any]:
    """A running group show of hera at RATE a minute, MINUTES completed: vic joined first, then wes."""
    client = Client(db_url)
    try:
        users = {}
        for name, role in (("hera", "performer"), ("vic", "viewer"), ("wes", "viewer")):
            users[name] = client.register_user(
                email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
                role=role,
            ).id  # fmt: skip
            users[f"{name}_token"] = client.login(name, PASSWORD).token
    finally:
        client.close()
    seed.approve_kyc(users["hera"])
    seed.fund(FUNDS, users["vic"], users["wes"])
    stream = one_call(db_url, users["hera_token"], "SELECT id FROM api.schedule_stream('Night')", [])[0]
    one_call(db_url, users["hera_token"], "SELECT api.consent_to_stream(%s, '203.0.113.1')", [stream])
    one_call(db_url, users["hera_token"], "SELECT api.start_stream(%s)", [stream])
    one_call(db_url, users["hera_token"], "SELECT api.set_show_price('group', %s, 1, NULL, 2)", [RATE])
    show_id = one_call(db_url, users["hera_token"], "SELECT id FROM api.offer_show(%s, 'group')", [stream])[0]
    for name in ("vic", "wes"):
        one_call(db_url, users[f"{name}_token"], "SELECT api.join_stream(%s)", [stream])
        one_call(db_url, users[f"{name}_token"], "SELECT api.join_show(%s, %s)", [show_id, f"join-{name}"])
    one_call(db_url, users["hera_token"], "SELECT api.start_show(%s)", [show_id])
    with psycopg.connect(db_url, autocommit=True) as clock:
        clock.execute(
            "UPDATE lp.shows SET started_at = started_at - make_interval(mins => %s) WHERE id = %s",
            [MINUTES, show_id],
        )
        clock.execute(
            "UPDATE lp.show_participants SET billed_from = billed_from - make_interval(mins => %s)"
            " WHERE show_id = %s",
            [MINUTES, show_id],
        )
    return {**users, "stream": stream, "show": show_id}


def billed(dsn: str, show_id: Any) -> dict[Any, tuple[int, int, int, int]]:
    """Per viewer of the show: billed tokens, what their hold's captures add up to, captures, keys."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT p.user_id, p.billed_tokens,
                   (SELECT coalesce(sum(c.amount), 0) FROM lp.hold_captures AS c WHERE c.hold_id = p.hold_id),
                   (SELECT count(*) FROM lp.hold_captures AS c WHERE c.hold_id = p.hold_id),
                   (SELECT count(DISTINCT c.idempotency_key) FROM lp.hold_captures AS c
                     WHERE c.hold_id = p.hold_id)
              FROM lp.show_participants AS p WHERE p.show_id = %s
            """,
            [show_id],
        ).fetchall()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def lock_release_of_own_hold(dsn: str, show: dict[str, Any], conn: psycopg.Connection[Any]) -> None:
    """vic releases a hold of his own (not the show's): the hold row, then his wallet row, left locked."""
    hold = one_call(
        dsn,
        show["vic_token"],
        "SELECT id FROM api.place_hold(%s, 50, %s, 'other')",
        [show["hera"], uuid.uuid4().hex],
    )[0]
    begin_as(conn, show["vic_token"])
    conn.execute("SELECT api.release_hold(%s, 'open-release')", [hold])


def lock_by_tip(dsn: str, show: dict[str, Any], conn: psycopg.Connection[Any]) -> None:
    """vic tips hera: his spend counter, then his wallet row, left locked."""
    begin_as(conn, show["vic_token"])
    conn.execute("SELECT api.tip(%s, 5, 'open-tip')", [show["hera"]])


def lock_by_spending_limit(dsn: str, show: dict[str, Any], conn: psycopg.Connection[Any]) -> None:
    """vic sets a daily spending limit (well above the show): his limit row, left locked."""
    one_call(dsn, show["vic_token"], "SELECT api.set_spending_limit('daily', 4000)", [])
    begin_as(conn, show["vic_token"])
    conn.execute("SELECT api.set_spending_limit('daily', 3000)")


@pytest.mark.parametrize("blocker", [lock_release_of_own_hold, lock_by_tip, lock_by_spending_limit])
@pytest.mark.parametrize("outcome", ["COMMIT", "ROLLBACK"])
def test_a_viewer_s_open_transaction_holds_up_only_their_own_billing(
    db_url: str, show: dict[str, Any], blocker: Any, outcome: str
) -> None:
    vic, wes = show["vic"], show["wes"]
    with psycopg.connect(db_url, autocommit=True) as viewer:
        blocker(db_url, show, viewer)
        # The job bills wes (whose participation comes after vic's) and leaves vic, waiting for nobody.
        rows = bill_until_done(db_url)
        assert [(r[1], r[2], r[4]) for r in rows] == [(wes, MINUTES * RATE, "billed")]
        assert billed(db_url, show["show"])[vic] == (0, 0, 0, 0)
        viewer.execute(outcome)
    # The blocker gone, the next run bills vic, once.
    rows = bill_until_done(db_url)
    assert [(r[1], r[2], r[4]) for r in rows] == [(vic, MINUTES * RATE, "billed")]
    assert bill_until_done(db_url) == []
    # The host ends the show (no minute completed since): both settled, each minute captured once.
    one_call(db_url, show["hera_token"], "SELECT api.end_show(%s)", [show["show"]])
    rows = bill_until_done(db_url)
    assert sorted((r[1], r[2], r[4]) for r in rows) == sorted([(vic, 0, "settled"), (wes, 0, "settled")])
    parts = billed(db_url, show["show"])
    for user in (vic, wes):
        amount, captured, captures, keys = parts[user]
        assert (amount, captured) == (MINUTES * RATE, MINUTES * RATE), user
        assert captures == keys, user
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
        assert conn.execute(
            "SELECT count(*) FROM lp.holds AS h JOIN lp.show_participants AS p ON p.hold_id = h.id"
            " WHERE h.status = 'open'"
        ).fetchone() == (0,)


def test_the_host_ends_the_show_while_a_viewer_s_transaction_is_open(
    db_url: str, show: dict[str, Any]
) -> None:
    # api.end_show moves no money (the job settles it) and waits only for the show row. The job held that row
    # while it waited for vic's wallet: the host's end waited for vic's open transaction through it.
    vic, wes = show["vic"], show["wes"]
    results: list[Any] = []
    with psycopg.connect(db_url, autocommit=True) as viewer, psycopg.connect(db_url, autocommit=True) as job:
        lock_release_of_own_hold(db_url, show, viewer)
        job.execute("SET ROLE livepanty_service")
        pid = job.info.backend_pid

        def run_job() -> None:
            try:
                while (
                    row := job.execute("SELECT user_id, outcome FROM api.bill_shows()").fetchone()
                ) is not None:
                    results.append(row)
            except psycopg.Error as error:
                results.append(error.sqlstate)

        worker = threading.Thread(target=run_job)
        worker.start()
        try:
            with psycopg.connect(db_url, autocommit=True) as probe:
                deadline = time.monotonic() + 5
                while worker.is_alive() and time.monotonic() < deadline:
                    waiting = probe.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid]).fetchone()[
                        0
                    ]
                    if waiting:
                        break
                    time.sleep(0.05)
            with psycopg.connect(db_url, autocommit=True) as host:
                begin_as(host, show["hera_token"])
                host.execute("SET LOCAL lock_timeout = '3s'")
                status = host.execute("SELECT status::text FROM api.end_show(%s)", [show["show"]]).fetchone()[
                    0
                ]
                host.execute("COMMIT")
            assert status == "ended"
        finally:
            viewer.execute("ROLLBACK")
            worker.join()
    assert results == [(wes, "billed")]
    rows = bill_until_done(db_url)
    assert sorted((r[1], r[2], r[4]) for r in rows) == sorted(
        [(vic, MINUTES * RATE, "settled"), (wes, 0, "settled")]
    )
