"""Payouts racing the end of the account (the rest: tests/sql/test_payouts.sql, test_payout_gates.sql,
test_erasure_in_flight.sql).

An erasure refuses an account with money in flight (LP170: a payout requested, approved or sending), since
nobody could settle it with a person nobody can reach any more. A payout request that runs at the same time
as the erasure must not slip past that check: either the erasure sees the payout (LP170, nothing erased) or
the request sees the erasure (LP001, no payout). Each test holds the first transaction open until the second
is seen waiting on a lock, or has finished, then commits the first.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.not_through_pgbouncer("waits on the second transaction's backend pid")

REQUEST = "SELECT id FROM api.request_payout(1000, 'paypal', 'race')"
ERASE = "SELECT api.erase_user(tests.user_id('pia'), 'asked by mail')"


def wait_blocked_or_done(
    conn: psycopg.Connection, pid: int, thread: threading.Thread, timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        if conn.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)).fetchone()[0]:
            return
        time.sleep(0.02)


@pytest.fixture
def staged(db_url: str) -> str:
    """pia, a verified performer with 4000 tokens of earnings payable at once; ada, an admin."""
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.settings SET value = '0'::jsonb WHERE key IN ('payouts.hold_days')")
        conn.execute("UPDATE lp.settings SET value = '1'::jsonb WHERE key IN ('payouts.min_tokens')")
        conn.execute("SELECT tests.create_user('pia', 'performer'), tests.create_user('vic'),"
                     " tests.create_user('ada', 'admin')")  # fmt: skip
        conn.execute("SELECT tests.purchase('vic', 'large', 'v1')")
        conn.execute("SELECT tests.authenticate_as('vic')")
        conn.execute("SELECT api.tip(tests.user_id('pia'), 5000, 'tip-1')")
        conn.commit()
    return db_url


def outcome(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        return {
            "erased": conn.execute("SELECT count(*) FROM lp.erasures").fetchone()[0],
            "payouts": [
                r[0] for r in conn.execute("SELECT status::text FROM lp.payouts ORDER BY created_at")
            ],
            "ledger": conn.execute("SELECT count(*) FROM api.verify_ledger()").fetchone()[0],
        }


def run(conn: psycopg.Connection, actor: str, sql: str, errors: list[BaseException]) -> None:
    try:
        conn.execute("SELECT tests.authenticate_as(%s)", (actor,))
        conn.execute(sql)
        conn.commit()
    except psycopg.Error as exc:
        errors.append(exc)
        conn.rollback()


def race(db_url: str, first: tuple[str, str], second: tuple[str, str]) -> list[BaseException]:
    """``first`` (actor, sql) in an open transaction; ``second`` in a thread; once it waits on a lock (or has
    finished) the first commits. Returns what the second raised."""
    errors: list[BaseException] = []
    with (
        psycopg.connect(db_url) as one,
        psycopg.connect(db_url) as two,
        psycopg.connect(db_url, autocommit=True) as watcher,
    ):
        one.execute("SELECT tests.authenticate_as(%s)", (first[0],))
        one.execute(first[1])
        thread = threading.Thread(target=run, args=(two, second[0], second[1], errors))
        thread.start()
        wait_blocked_or_done(watcher, two.info.backend_pid, thread)
        one.commit()
        thread.join(30)
        assert not thread.is_alive()
    return errors


def test_an_erasure_racing_a_payout_request_in_flight_is_refused(staged: str) -> None:
    errors = race(staged, ("pia", REQUEST), ("ada", ERASE))
    assert [getattr(e, "sqlstate", repr(e)) for e in errors] == ["LP170"], (
        "the erasure missed the payout in flight"
    )
    assert outcome(staged) == {"erased": 0, "payouts": ["requested"], "ledger": 0}


def test_a_payout_request_racing_an_erasure_in_flight_is_refused(staged: str) -> None:
    errors = race(staged, ("ada", ERASE), ("pia", REQUEST))
    assert [getattr(e, "sqlstate", repr(e)) for e in errors] == ["LP001"], (
        "a payout requested for an erased user"
    )
    assert outcome(staged) == {"erased": 1, "payouts": [], "ledger": 0}


def approved_payout(db_url: str) -> str:
    """pia's payout of 1000 tokens, requested and approved by ada: the processor's to send."""
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT tests.authenticate_as('pia')")
        payout = conn.execute(REQUEST).fetchone()[0]
        conn.execute("SELECT tests.authenticate_as('ada')")
        conn.execute("SELECT api.approve_payout(%s, 'approve-1')", (payout,))
        conn.commit()
    return str(payout)


@pytest.mark.parametrize(
    ("gate", "sql", "refusal"),
    [
        (
            "payout_hold",
            "SELECT api.sanction_user(tests.user_id('pia'), 'payout_hold', 'a chargeback')",
            "LP150",
        ),
        (
            "kyc revoked",
            "SELECT api.override_kyc_decision((SELECT id FROM lp.kyc_verifications"
            " WHERE user_id = tests.user_id('pia') AND status = 'approved'), 'declined', 'forged document')",
            "LP111",
        ),
    ],
    ids=["payout_hold", "kyc_revoked"],
)
def test_a_gate_closed_after_the_processors_transaction_began_stops_the_payout(
    staged: str, gate: str, sql: str, refusal: str
) -> None:
    """A payout processor's transaction that began before a moderator's payout_hold (or an admin's revocation
    of the KYC approval) committed must see it when it sends the payout: a sanction starts, and an approval
    ends, at the deciding transaction's now(), later than the processor's. Judged at the transaction's start
    time the gate was still open and the money went (status sending)."""
    payout = approved_payout(staged)
    with psycopg.connect(staged) as processor, psycopg.connect(staged) as staff:
        processor.execute("SET ROLE livepanty_service")
        processor.execute("SELECT 1")  # the processor's transaction (its now()) begins
        time.sleep(0.05)
        staff.execute("SELECT tests.authenticate_as('ada')")
        staff.execute(sql)
        staff.commit()
        with pytest.raises(psycopg.Error) as refused:
            processor.execute("SELECT status FROM api.send_payout(%s, 'send-1')", (payout,))
        assert refused.value.sqlstate == refusal, gate
    with psycopg.connect(staged) as conn:
        assert conn.execute("SELECT status::text FROM lp.payouts WHERE id = %s", (payout,)).fetchone()[0] == (
            "approved"
        )
