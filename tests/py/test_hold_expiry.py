"""Hold expiry is judged by the statement's clock, in transactions that began before the expiry.

A hold expires at its ``expires_at``; every decision that a hold is expired (lp.hold_due: lp.lock_hold before
a capture or release, the job api.expire_holds, the lazy expiries, the spending limits) reads
``statement_timestamp()``, the start of the statement that asks, not ``now()``, the start of its transaction.
A transaction opened before the expiry therefore gets no grace: each of its statements after the expiry sees
the hold expired (the defect: a payee's transaction that captured 1 token before the expiry went on capturing
the rest after it, while the holder's spending limits no longer counted the hold, so a new hold of the holder
passed the daily limit).

The pgTAP files cannot show this: a file reaches the server as one message, in which statement_timestamp() is
now() for every statement. Here every call is a statement of its own, on connections of their own, as the
application makes them (role ``livepanty_app``, the acting user proved by ``api.authenticate``; the job as
``livepanty_service``); holds live a few seconds and the test sleeps past their expiry.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

PASSWORD = "hold expiry test 1"
LIFETIME = 3.0  # seconds a hold lives in these tests
LIMIT = 1000  # the holder's daily spending limit
PLACE_HOLD = "SELECT id, expires_at FROM api.place_hold(%s, %s, %s, 'other', make_interval(secs => %s))"
CAPTURE = "SELECT id FROM api.capture_hold(%s, %s, %s)"


def begin_as(conn: psycopg.Connection[Any], token: str | None) -> None:
    """Opens a transaction on ``conn`` as the application acting for ``token`` (None: the back office job)."""
    conn.execute("BEGIN")
    conn.execute("SET LOCAL ROLE livepanty_app" if token else "SET LOCAL ROLE livepanty_service")
    if token:
        conn.execute("SELECT api.authenticate(%s)", [token])


def one_call(dsn: str, token: str | None, query: str, params: list[Any]) -> Any:
    """One call in a transaction of its own, as the application makes it; returns its first row."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        begin_as(conn, token)
        try:
            row = conn.execute(query, params).fetchone()
        except psycopg.Error:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return row


def sqlstate_of(dsn: str, token: str | None, query: str, params: list[Any]) -> str | None:
    """The SQLSTATE a call in a transaction of its own raises (None: it succeeded and committed)."""
    try:
        one_call(dsn, token, query, params)
    except psycopg.Error as error:
        return error.sqlstate
    return None


def sleep_past(moment: Any) -> None:
    """Sleeps until the database clock is past ``moment`` (a timestamptz read from the database)."""
    while True:
        left = (moment - moment.now(moment.tzinfo)).total_seconds()
        if left < -0.3:
            return
        time.sleep(max(left + 0.35, 0.05))


@pytest.fixture
def people(db_url: str, seed: Any) -> dict[str, Any]:
    """vera (a viewer with 5000 tokens and a daily spending limit of 1000) and pia (a verified performer)."""
    client = Client(db_url)
    try:
        vera = client.register_user(email="vera@example.com", username="vera", password=PASSWORD,
                                    date_of_birth="1990-01-01")  # fmt: skip
        pia = client.register_user(email="pia@example.com", username="pia", password=PASSWORD,
                                   date_of_birth="1990-01-01", role="performer")  # fmt: skip
        tokens = {"vera": client.login("vera", PASSWORD).token, "pia": client.login("pia", PASSWORD).token}
    finally:
        client.close()
    seed.approve_kyc(pia.id)
    seed.fund(5000, vera.id)
    one_call(db_url, tokens["vera"], "SELECT api.set_spending_limit('daily', %s)", [LIMIT])
    return {"vera": vera.id, "pia": pia.id, **{f"{k}_token": v for k, v in tokens.items()}}


def place(db_url: str, people: dict[str, Any], amount: int, lifetime: float = LIFETIME) -> tuple[Any, Any]:
    """A hold of vera for pia; returns its id and expires_at."""
    row = one_call(
        db_url, people["vera_token"], PLACE_HOLD, [people["pia"], amount, uuid.uuid4().hex, lifetime]
    )
    return row[0], row[1]


def spent_and_reserved(db_url: str, people: dict[str, Any]) -> tuple[int, int]:
    row = one_call(db_url, people["vera_token"], "SELECT spent, reserved FROM api.get_spending_limits()", [])
    return int(row[0]), int(row[1])


def test_a_transaction_opened_before_the_expiry_cannot_capture_after_it(
    db_url: str, people: dict[str, Any]
) -> None:
    hold, expires_at = place(db_url, people, 1000)
    with psycopg.connect(db_url, autocommit=True) as payee:
        begin_as(payee, people["pia_token"])
        payee.execute(CAPTURE, [hold, 1, "c-1"])  # before the expiry: captured
        sleep_past(expires_at)
        with pytest.raises(psycopg.Error) as refused:
            payee.execute(CAPTURE, [hold, 999, "c-999"])
        assert refused.value.sqlstate == "LP109", (
            "a capture after the expiry is refused, in a transaction opened before it"
        )
        payee.execute("ROLLBACK")
    # Nothing was captured; the hold is expired by whatever touches it next, its tokens back.
    status = one_call(db_url, people["vera_token"], "SELECT status::text FROM api.get_hold(%s)", [hold])[0]
    assert status == "expired"
    assert spent_and_reserved(db_url, people) == (0, 0)


def test_the_expiry_job_in_a_transaction_opened_before_the_expiry_expires_the_hold(
    db_url: str, people: dict[str, Any]
) -> None:
    hold, expires_at = place(db_url, people, 400)
    with psycopg.connect(db_url, autocommit=True) as job:
        begin_as(job, None)
        job.execute("SELECT 1")  # the transaction's clock (now()) starts before the expiry
        sleep_past(expires_at)
        assert job.execute("SELECT api.expire_holds()").fetchone()[0] == 1
        job.execute("COMMIT")
    status = one_call(db_url, people["vera_token"], "SELECT status::text FROM api.get_hold(%s)", [hold])[0]
    assert status == "expired"


def test_a_hold_being_captured_across_its_expiry_still_counts_toward_the_limits(
    db_url: str, people: dict[str, Any]
) -> None:
    hold, expires_at = place(db_url, people, 1000)
    refusals: list[str | None] = []

    def holder_spends() -> None:
        # The hold is past its expiry and no statement starting now may capture it; but the payee's
        # transaction, which holds it, may still commit what it took before: the check waits for it and counts
        # what it spent (LP105 once the payee committed: 999 spent). (A check that did not count it would pass
        # and then wait for the holder's wallet row, which the payee's capture holds, and go on once the payee
        # committed: 999 + 900 spent of 1000.)
        refusals.append(
            sqlstate_of(db_url, people["vera_token"], PLACE_HOLD, [people["pia"], 900, "over", LIFETIME])
        )
        refusals.append(
            sqlstate_of(db_url, people["vera_token"], "SELECT api.tip(%s, 5, 'tip-over')", [people["pia"]])
        )

    with psycopg.connect(db_url, autocommit=True) as payee:
        begin_as(payee, people["pia_token"])
        # Judged before the expiry: a valid capture, not committed yet.
        payee.execute(CAPTURE, [hold, 999, "c-999"])
        sleep_past(expires_at)
        holder = threading.Thread(target=holder_spends)
        holder.start()
        holder.join(timeout=LIFETIME)
        payee.execute("COMMIT")
    holder.join()
    assert refusals == ["LP105", "LP105"], "the hold being captured counted toward the daily limit"
    # Committed: 999 spent, the hold no longer counts (it is expired on the way), 1 token left of the day.
    assert (
        sqlstate_of(db_url, people["vera_token"], PLACE_HOLD, [people["pia"], 2, "two", LIFETIME]) == "LP105"
    )
    assert sqlstate_of(db_url, people["vera_token"], PLACE_HOLD, [people["pia"], 1, "one", LIFETIME]) is None
    assert spent_and_reserved(db_url, people) == (999, 1)
    status = one_call(db_url, people["vera_token"], "SELECT status::text FROM api.get_hold(%s)", [hold])[0]
    assert status == "expired"
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []


def test_a_hold_placed_late_in_a_transaction_is_reserved_not_born_expired(
    db_url: str, people: dict[str, Any]
) -> None:
    # Its life counts from its transaction's start (expires_at = created_at + lifetime): placed by a statement
    # that starts later than that, it is still reserved by that statement (its own transaction never judges it
    # due), and every other transaction sees it due once committed.
    with psycopg.connect(db_url, autocommit=True) as holder:
        begin_as(holder, people["vera_token"])
        time.sleep(0.5)
        hold = holder.execute(PLACE_HOLD, [people["pia"], 300, "late", 0.1]).fetchone()[0]
        assert holder.execute("SELECT status::text FROM api.get_hold(%s)", [hold]).fetchone()[0] == "open"
        assert holder.execute("SELECT reserved FROM api.get_spending_limits()").fetchone()[0] == 300
        holder.execute("COMMIT")
    assert sqlstate_of(db_url, people["pia_token"], CAPTURE, [hold, 1, "c-1"]) == "LP109"
    status = one_call(db_url, people["vera_token"], "SELECT status::text FROM api.get_hold(%s)", [hold])[0]
    assert status == "expired"
    assert spent_and_reserved(db_url, people) == (0, 0)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []


@pytest.mark.parametrize("outcome", ["COMMIT", "ROLLBACK"])
@pytest.mark.parametrize(
    "spend",
    [("SELECT api.tip(%s, 600, 'tip-600')", []), (PLACE_HOLD, [900, "hold-900", LIFETIME])],
    ids=["tip", "place_hold"],
)
def test_a_due_hold_the_expiry_job_holds_does_not_refuse_a_spend_that_fits_without_it(
    db_url: str, people: dict[str, Any], spend: tuple[str, list[Any]], outcome: str
) -> None:
    # The expiry job holds vera's due hold of 1000 (and her wallet row) in a transaction in flight: it is
    # freeing those tokens. The check of her spending limit waits for it instead of counting the hold whole
    # (the defect: LP105 at once, for tokens that were free); whether the job commits (the hold expired) or
    # rolls back (still due: the spend expires it itself), the hold is free and the spend passes.
    hold, expires_at = place(db_url, people, 1000)
    query, params = spend
    results: list[str | None] = []
    with psycopg.connect(db_url, autocommit=True) as job:
        sleep_past(expires_at)
        begin_as(job, None)
        assert job.execute("SELECT api.expire_holds()").fetchone()[0] == 1
        spender = threading.Thread(
            target=lambda: results.append(
                sqlstate_of(db_url, people["vera_token"], query, [people["pia"], *params])
            )
        )
        spender.start()
        spender.join(timeout=1.0)
        waited = spender.is_alive()
        job.execute(outcome)
    spender.join()
    assert results == [None], "a spend that fits once the due hold is free was refused"
    assert waited, "the spend waited for the expiry job's transaction"
    status = one_call(db_url, people["vera_token"], "SELECT status::text FROM api.get_hold(%s)", [hold])[0]
    assert status == "expired"
    spent, reserved = spent_and_reserved(db_url, people)
    assert (spent, reserved) == ((600, 0) if "tip" in query else (0, 900))
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
