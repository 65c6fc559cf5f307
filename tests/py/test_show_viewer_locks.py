"""A viewer's open join or leave of a show holds up nobody else's show calls.

The application's database login is in the attacker's hands (docs/CONVENTIONS.md): a viewer may call
``api.join_show`` or ``api.leave_show`` and keep the transaction open for as long as they like (a join moves
tokens, bounded only in when it may begin: ledger.max_transaction_seconds checks a transaction's age when it
writes the ledger, not when it commits; a leave moves none). Both took the show row FOR NO KEY UPDATE: the
host's ``api.end_show`` (and start) waited for that viewer's transaction, another viewer's join of the show
too, and the billing job (``api.bill_shows``, SKIP LOCKED) billed nobody of the show until it ended. Now a
join locks no show row and a leave only its own participant row; the transitions and the job take participant
rows SKIP LOCKED, and the job settles afterwards, as the show's start and end decide, whoever a transition
could not see or take. One leave still holds the show row: a private show's payer's, which ends the show.

The victims' connections run with a lock_timeout: a call that waits for the viewer fails with
lock_not_available (55P03) instead of hanging the test.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from livepanty_db import Client

pytestmark = pytest.mark.not_through_pgbouncer(
    "a test keeps a viewer's transaction open in a session of its own"
)

PASSWORD = "viewer locks 1"
RATE = 10
FUNDS = 5000
MINUTES = 2  # completed minutes of a started show when the job first runs


def begin_as(conn: psycopg.Connection[Any], token: str) -> None:
    conn.execute("BEGIN")
    conn.execute("SET LOCAL ROLE livepanty_app")
    conn.execute("SELECT api.authenticate(%s)", [token])


def one_call(dsn: str, token: str, query: str, params: list[Any], lock_timeout: str = "2s") -> Any:
    """One call in a transaction of its own; a lock wait over lock_timeout raises LockNotAvailable."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        begin_as(conn, token)
        conn.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
        row = conn.execute(query, params).fetchone()
        conn.execute("COMMIT")
        return row


def bill_until_done(dsn: str) -> list[tuple[Any, ...]]:
    """Runs the billing job until it returns no row; every row it returned. Fails on a wait over 2 s."""
    rows = []
    with psycopg.connect(dsn, autocommit=True) as job:
        job.execute("SET ROLE livepanty_service")
        job.execute("SET lock_timeout = '2s'")
        for _ in range(100):
            row = job.execute(
                "SELECT show_id, user_id, captured, released, outcome FROM api.bill_shows()"
            ).fetchone()
            if row is None:
                return rows
            rows.append(row)
    raise AssertionError(f"the job did not finish: {rows}")


def shift_clock(dsn: str, show_id: Any, minutes: int) -> None:
    """The show started (and its viewers' billing) `minutes` earlier."""
    with psycopg.connect(dsn, autocommit=True) as clock:
        clock.execute(
            "UPDATE lp.shows SET started_at = started_at - make_interval(mins => %s) WHERE id = %s",
            [minutes, show_id],
        )
        clock.execute(
            "UPDATE lp.show_participants SET billed_from = billed_from - make_interval(mins => %s),"
            " joined_at = joined_at - make_interval(mins => %s) WHERE show_id = %s",
            [minutes, minutes, show_id],
        )


def make_show(db_url: str, seed: Any, show_type: str = "group", start: bool = True) -> dict[str, Any]:
    """hera's group (or ticket) show at RATE; vic and wes in it (started MINUTES ago); xan watching only."""
    client = Client(db_url)
    try:
        users: dict[str, Any] = {}
        for name, role in (("hera", "performer"), ("vic", "viewer"), ("wes", "viewer"), ("xan", "viewer")):
            users[name] = client.register_user(
                email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
                role=role,
            ).id  # fmt: skip
            users[f"{name}_token"] = client.login(name, PASSWORD).token
    finally:
        client.close()
    seed.approve_kyc(users["hera"])
    seed.fund(FUNDS, users["vic"], users["wes"], users["xan"])
    hera = users["hera_token"]
    stream = one_call(db_url, hera, "SELECT id FROM api.schedule_stream('Night')", [])[0]
    one_call(db_url, hera, "SELECT api.consent_to_stream(%s, '203.0.113.1')", [stream])
    one_call(db_url, hera, "SELECT api.start_stream(%s)", [stream])
    one_call(
        db_url,
        hera,
        "SELECT api.set_show_price(%s, %s, 1, NULL, %s)",
        [show_type, RATE, 2 if show_type == "group" else None],
    )
    show_id = one_call(db_url, hera, "SELECT id FROM api.offer_show(%s, %s)", [stream, show_type])[0]
    for name in ("vic", "wes", "xan"):
        one_call(db_url, users[f"{name}_token"], "SELECT api.join_stream(%s)", [stream])
    for name in ("vic", "wes"):
        one_call(db_url, users[f"{name}_token"], "SELECT api.join_show(%s, %s)", [show_id, f"join-{name}"])
    if start:
        one_call(db_url, hera, "SELECT api.start_show(%s)", [show_id])
        shift_clock(db_url, show_id, MINUTES)
    return {**users, "stream": stream, "show": show_id}


def parts(dsn: str, show_id: Any) -> dict[Any, tuple[Any, ...]]:
    """Per viewer of the show: out, due, billed, captured on the hold, settled, hold still open."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT p.user_id, p.left_at IS NOT NULL, p.due_tokens, p.billed_tokens,
                   (SELECT coalesce(sum(c.amount), 0) FROM lp.hold_captures AS c WHERE c.hold_id = p.hold_id),
                   p.settled_at IS NOT NULL, h.status = 'open'
              FROM lp.show_participants AS p JOIN lp.holds AS h ON h.id = p.hold_id
             WHERE p.show_id = %s
            """,
            [show_id],
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows}


def ledger_clean(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
        assert conn.execute(
            "SELECT count(*) FROM lp.holds AS h JOIN lp.show_participants AS p ON p.hold_id = h.id"
            " WHERE h.status = 'open' OR p.settled_at IS NULL"
        ).fetchone() == (0,)


def open_join(conn: psycopg.Connection[Any], show: dict[str, Any]) -> None:
    """xan joins the show, and the transaction stays open."""
    begin_as(conn, show["xan_token"])
    conn.execute("SELECT api.join_show(%s, 'join-xan')", [show["show"]])


def open_leave(conn: psycopg.Connection[Any], show: dict[str, Any]) -> None:
    """vic leaves the show, and the transaction stays open."""
    begin_as(conn, show["vic_token"])
    conn.execute("SELECT api.leave_show(%s)", [show["show"]])


@pytest.mark.parametrize("outcome", ["COMMIT", "ROLLBACK"])
@pytest.mark.parametrize("action", [open_join, open_leave])
def test_an_open_join_or_leave_holds_up_neither_the_job_nor_the_host_nor_other_viewers(
    db_url: str, seed: Any, action: Any, outcome: str
) -> None:
    show = make_show(db_url, seed)
    vic, wes, xan = show["vic"], show["wes"], show["xan"]
    with psycopg.connect(db_url, autocommit=True) as viewer:
        action(viewer, show)
        # The job bills every viewer of the show but the one whose own participation is in flight.
        rows = bill_until_done(db_url)
        billed_now = [vic, wes] if action is open_join else [wes]
        assert sorted((r[1], r[2], r[4]) for r in rows) == sorted(
            (u, MINUTES * RATE, "billed") for u in billed_now
        )
        if action is open_leave:
            # Another viewer joins the show meanwhile (it waited for vic's leave on the show row).
            one_call(db_url, show["xan_token"], "SELECT api.join_show(%s, 'join-xan')", [show["show"]])
        # The host ends the show at once (it waited for the viewer's transaction).
        status = one_call(
            db_url, show["hera_token"], "SELECT status::text FROM api.end_show(%s)", [show["show"]]
        )
        assert status == ("ended",)
        viewer.execute(outcome)
    bill_until_done(db_url)
    got = parts(db_url, show["show"])
    # vic and wes: the show ended with MINUTES completed (all captured). xan joined a running show at its end:
    # no minute completed, nothing owed (a join that committed after the end is settled as the end decides).
    expected = {wes: (True, MINUTES * RATE, MINUTES * RATE, MINUTES * RATE, True, False)}
    if action is open_leave and outcome == "COMMIT":
        # vic's leave came first (its time is its transaction's start): every started minute, by his doing.
        owed = (MINUTES + 1) * RATE
        expected[vic] = (True, owed, owed, owed, True, False)
    else:
        expected[vic] = (True, MINUTES * RATE, MINUTES * RATE, MINUTES * RATE, True, False)
    if action is open_leave or outcome == "COMMIT":
        expected[xan] = (True, 0, 0, 0, True, False)
    assert got == expected
    ledger_clean(db_url)


@pytest.mark.parametrize("show_type", ["group", "ticket"])
def test_a_join_in_flight_when_the_host_starts_is_billed_from_the_start(
    db_url: str, seed: Any, show_type: str
) -> None:
    # xan joins the open show and keeps the transaction open; the host starts it meanwhile (it waited).
    # His participation commits after the start, without a billing start: the job gives it the show's start.
    show = make_show(db_url, seed, show_type, start=False)
    xan = show["xan"]
    with psycopg.connect(db_url, autocommit=True) as viewer:
        open_join(viewer, show)
        status = one_call(
            db_url, show["hera_token"], "SELECT status::text FROM api.start_show(%s)", [show["show"]]
        )
        assert status == ("running",)
        viewer.execute("COMMIT")
    shift_clock(db_url, show["show"], MINUTES)
    rows = bill_until_done(db_url)
    owed = MINUTES * RATE if show_type == "group" else RATE
    assert sorted((r[1], r[2]) for r in rows) == sorted((u, owed) for u in (show["vic"], show["wes"], xan))
    one_call(db_url, show["hera_token"], "SELECT api.end_show(%s)", [show["show"]])
    bill_until_done(db_url)
    assert parts(db_url, show["show"])[xan] == (True, owed, owed, owed, True, False)
    ledger_clean(db_url)


def test_a_join_in_flight_when_the_host_cancels_is_released(db_url: str, seed: Any) -> None:
    show = make_show(db_url, seed, start=False)
    xan = show["xan"]
    with psycopg.connect(db_url, autocommit=True) as viewer:
        open_join(viewer, show)
        status = one_call(
            db_url, show["hera_token"], "SELECT status::text FROM api.end_show(%s)", [show["show"]]
        )
        assert status == ("cancelled",)
        viewer.execute("COMMIT")
    bill_until_done(db_url)
    assert parts(db_url, show["show"])[xan] == (True, 0, 0, 0, True, False)
    ledger_clean(db_url)


def test_a_private_show_s_payer_leaving_holds_the_show_row_the_documented_limit(
    db_url: str, seed: Any
) -> None:
    # The payer of a private show ends it by leaving: their leave holds the show row until it ends. Another
    # viewer's join does not wait for it; the host's end_show does (lock wait), and the job bills nobody of
    # the show meanwhile (waiting for nobody). Once the leave commits, nobody is billed past its end.
    show = make_show(db_url, seed, start=False)
    hera, vic, wes, xan = show["hera_token"], show["vic"], show["wes"], show["xan"]
    one_call(db_url, hera, "SELECT api.set_show_price('private', %s, 1, %s)", [RATE, RATE])
    private = one_call(
        db_url, show["vic_token"], "SELECT id FROM api.request_show(%s, 'ask')", [show["stream"]]
    )
    one_call(db_url, hera, "SELECT api.answer_show(%s, true)", [private[0]])
    one_call(db_url, show["xan_token"], "SELECT api.join_show(%s, 'spy-xan')", [private[0]])
    shift_clock(db_url, private[0], MINUTES)
    with psycopg.connect(db_url, autocommit=True) as viewer:
        begin_as(viewer, show["vic_token"])
        viewer.execute("SELECT api.leave_show(%s)", [private[0]])
        one_call(db_url, show["wes_token"], "SELECT api.join_show(%s, 'spy-wes')", [private[0]])
        with pytest.raises(psycopg.errors.LockNotAvailable):
            one_call(db_url, hera, "SELECT api.end_show(%s)", [private[0]], lock_timeout="200ms")
        assert [r for r in bill_until_done(db_url) if r[0] == private[0]] == []
        viewer.execute("COMMIT")
    bill_until_done(db_url)
    got = parts(db_url, private[0])
    # vic: every started minute; the spies only completed minutes, up to his leave (wes: none).
    assert got[vic] == (True, (MINUTES + 1) * RATE, (MINUTES + 1) * RATE, (MINUTES + 1) * RATE, True, False)
    assert got[xan] == (True, MINUTES * RATE, MINUTES * RATE, MINUTES * RATE, True, False)
    assert got[wes] == (True, 0, 0, 0, True, False)
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT status::text, ended_by FROM lp.shows WHERE id = %s", [private[0]]
        ).fetchone() == (
            "ended",
            "viewer",
        )


def test_a_credit_in_flight_to_a_viewer_who_performs_holds_up_only_their_own_billing(
    db_url: str, seed: Any
) -> None:
    # pia, a performer, watches hera's group show; her tokens are in a credit shard, and a tip to her is in
    # flight (it holds that shard; the tipper's transaction stays open). The job's top-up of her reservation
    # needs that shard's tokens: it waited for the tip (lp.reserve waits for busy shards when the idle ones
    # leave it short). Now it leaves her for a later call and bills the others.
    show = make_show(db_url, seed, start=False)
    client = Client(db_url)
    try:
        pia = client.register_user(
            email="pia@example.com", username="pia", password=PASSWORD, date_of_birth="1990-01-01",
            role="performer",
        ).id  # fmt: skip
        pia_token = client.login("pia", PASSWORD).token
    finally:
        client.close()
    seed.approve_kyc(pia)
    seed.fund(RATE, pia)  # the join sweeps it into her main balance and reserves it all
    one_call(db_url, pia_token, "SELECT api.join_stream(%s)", [show["stream"]])
    one_call(db_url, pia_token, "SELECT api.join_show(%s, 'join-pia')", [show["show"]])
    one_call(db_url, show["hera_token"], "SELECT api.start_show(%s)", [show["show"]])
    shift_clock(db_url, show["show"], MINUTES)
    seed.fund(FUNDS, pia)  # her earnings, in her first credit shard
    with psycopg.connect(db_url, autocommit=True) as tipper:
        begin_as(tipper, show["xan_token"])
        tipper.execute("SELECT api.tip(%s, 5, 'open-tip')", [pia])  # holds that shard
        rows = bill_until_done(db_url)
        assert sorted((r[1], r[2], r[4]) for r in rows) == sorted(
            (u, MINUTES * RATE, "billed") for u in (show["vic"], show["wes"])
        )
        tipper.execute("COMMIT")
    rows = bill_until_done(db_url)
    assert [(r[1], r[2], r[4]) for r in rows] == [(pia, MINUTES * RATE, "billed")]
    one_call(db_url, show["hera_token"], "SELECT api.end_show(%s)", [show["show"]])
    bill_until_done(db_url)
    assert parts(db_url, show["show"])[pia] == (
        True, MINUTES * RATE, MINUTES * RATE, MINUTES * RATE, True, False,
    )  # fmt: skip
    ledger_clean(db_url)


@pytest.mark.parametrize("call", ["release", "capture"])
def test_the_back_office_holding_a_show_s_hold_holds_up_only_that_viewer_s_billing(
    db_url: str, seed: Any, call: str
) -> None:
    # The back office (livepanty_service, nobody acting) may release or capture any hold: a transaction of its
    # own left open on vic's show reservation held the hold row, which the job waited for (lp.lock_hold). Now
    # the job takes it SKIP LOCKED: it bills wes, leaves vic, and bills him once the transaction is gone.
    show = make_show(db_url, seed)
    vic, wes = show["vic"], show["wes"]
    with psycopg.connect(db_url) as conn:
        hold = conn.execute(
            "SELECT hold_id FROM lp.show_participants WHERE show_id = %s AND user_id = %s",
            [show["show"], vic],
        ).fetchone()[0]
    with psycopg.connect(db_url, autocommit=True) as office:
        office.execute("BEGIN")
        office.execute("SET LOCAL ROLE livepanty_service")
        if call == "release":
            office.execute("SELECT api.release_hold(%s, 'open-release')", [hold])
        else:
            office.execute("SELECT api.capture_hold(%s, 1, 'open-capture')", [hold])
        rows = bill_until_done(db_url)
        assert [(r[1], r[2], r[4]) for r in rows] == [(wes, MINUTES * RATE, "billed")]
        office.execute("ROLLBACK")
    rows = bill_until_done(db_url)
    assert [(r[1], r[2], r[4]) for r in rows] == [(vic, MINUTES * RATE, "billed")]
    one_call(db_url, show["hera_token"], "SELECT api.end_show(%s)", [show["show"]])
    bill_until_done(db_url)
    for user in (vic, wes):
        assert parts(db_url, show["show"])[user] == (
            True, MINUTES * RATE, MINUTES * RATE, MINUTES * RATE, True, False,
        ), user  # fmt: skip
    ledger_clean(db_url)


def test_a_leave_that_the_end_overtook_is_billed_as_the_end_decides(db_url: str, seed: Any) -> None:
    # The host's transaction begins first (its now() is the show's end), then vic's leave (a later now(),
    # every started minute by his doing) takes his row; the end, which no longer waits for it, commits first.
    # vic's leave commits after: out after the show's end. The job bills him as the end decided (completed
    # minutes up to the end), never past it.
    show = make_show(db_url, seed)
    vic, wes = show["vic"], show["wes"]
    with (
        psycopg.connect(db_url, autocommit=True) as host,
        psycopg.connect(db_url, autocommit=True) as viewer,
    ):
        begin_as(host, show["hera_token"])
        host.execute("SELECT pg_sleep(0.2)")
        open_leave(viewer, show)
        host.execute("SET LOCAL lock_timeout = '2s'")
        assert host.execute("SELECT status::text FROM api.end_show(%s)", [show["show"]]).fetchone() == (
            "ended",
        )
        host.execute("COMMIT")
        viewer.execute("COMMIT")
    with psycopg.connect(db_url) as conn:
        left, ended = conn.execute(
            "SELECT p.left_at, s.ended_at FROM lp.show_participants AS p"
            " JOIN lp.shows AS s ON s.id = p.show_id WHERE p.show_id = %s AND p.user_id = %s",
            [show["show"], vic],
        ).fetchone()
        assert left > ended
    bill_until_done(db_url)
    got = parts(db_url, show["show"])
    for user in (vic, wes):
        assert got[user] == (True, MINUTES * RATE, MINUTES * RATE, MINUTES * RATE, True, False), user
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM lp.show_participants AS p JOIN lp.shows AS s ON s.id = p.show_id"
            " WHERE p.show_id = %s AND p.left_at > s.ended_at",
            [show["show"]],
        ).fetchone() == (0,)
    ledger_clean(db_url)
