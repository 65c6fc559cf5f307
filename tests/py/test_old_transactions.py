"""Tokens move only in a transaction begun at most ``ledger.max_transaction_seconds`` ago (LP205).

A ledger entry is dated by its transaction's start (``created_at DEFAULT now()``), and the payout hold period,
the spending limits, ``api.balance_at`` and the monthly partitions read that date. A transaction held open for
days (the application's login can keep one busy with ``pg_sleep``) would date a tip in the past: the tip would
count as earnings matured long ago, payable at once. ``lp.post`` and ``lp.post_batch`` (the one writer) refuse
such a transaction; a short one is not affected, and the check reads no setting while the transaction is less
than a second old.
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from livepanty_db.errors import TransactionTooOld, TransientError, translate

pytestmark = pytest.mark.not_through_pgbouncer("sets up its users with SQL helpers in the test database")

TIP = "SELECT api.tip(tests.user_id('pia'), 10, %s)"


@pytest.fixture
def funded(db_url: str) -> str:
    """vic with 1000 bought tokens, pia a performer; ledger.max_transaction_seconds = 1."""
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT tests.create_user('pia', 'performer'), tests.create_user('vic')")
        conn.execute("SELECT tests.purchase('vic', 'small', 'v1')")
        conn.execute("UPDATE lp.settings SET value = '1'::jsonb WHERE key = 'ledger.max_transaction_seconds'")
    return db_url


def money(db_url: str) -> tuple[int, int]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM lp.ledger), (SELECT count(*) FROM lp.tips)"
        ).fetchone()  # type: ignore[return-value]


def test_a_tip_in_a_transaction_begun_too_long_ago_is_refused_and_moves_nothing(funded: str) -> None:
    before = money(funded)
    with psycopg.connect(funded) as conn:
        conn.execute("SELECT tests.authenticate_as('vic')")
        time.sleep(2.2)  # more than the setting (1 s) and the second below which no setting is read
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(TIP, (uuid.uuid4().hex,))
        assert refused.value.sqlstate == "LP205"
        error = translate(refused.value)
        assert isinstance(error, TransactionTooOld)
        assert isinstance(error, TransientError)
        conn.rollback()
    assert money(funded) == before
    # A new transaction moves the tokens.
    with psycopg.connect(funded) as conn:
        conn.execute("SELECT tests.authenticate_as('vic')")
        conn.execute(TIP, (uuid.uuid4().hex,))
    assert money(funded)[1] == before[1] + 1


def test_the_batch_writer_refuses_an_old_transaction_too(funded: str) -> None:
    """lp.post_batch (api.tip_many, the goal settlement) applies the same bound."""
    with psycopg.connect(funded) as conn:
        wallets = conn.execute(
            "SELECT lp.system_wallet('issuance'),"
            " (SELECT id FROM lp.wallets WHERE user_id = tests.user_id('vic'))"
        ).fetchone()
        time.sleep(2.2)
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(
                "SELECT lp.post_batch('payment', ARRAY[%(tx)s, %(tx)s]::uuid[],"
                " ARRAY[%(tx)s, %(tx)s]::uuid[], ARRAY[%(a)s, %(b)s]::uuid[], ARRAY[-5, 5]::bigint[],"
                " ARRAY['purchase', 'purchase'],"
                " ARRAY[false, true])",
                {"tx": uuid.uuid4(), "a": wallets[0], "b": wallets[1]},
            )
        assert refused.value.sqlstate == "LP205"


def test_the_bound_is_a_setting_with_a_range(funded: str) -> None:
    with psycopg.connect(funded) as conn:
        conn.execute("SELECT tests.create_user('ada', 'admin'), tests.authenticate_as('ada')")
        for value in ("0", "86401", '"900"'):
            with pytest.raises(psycopg.Error) as refused, conn.transaction():
                conn.execute("SELECT api.set_setting('ledger.max_transaction_seconds', %s::jsonb)", (value,))
            assert refused.value.sqlstate == "LP092", value
        conn.execute("SELECT api.set_setting('ledger.max_transaction_seconds', '3600'::jsonb)")
        assert conn.execute(
            "SELECT value FROM lp.settings WHERE key = 'ledger.max_transaction_seconds'"
        ).fetchone() == (3600,)


def test_a_spending_limit_is_not_loosened_from_a_transaction_begun_too_long_ago(funded: str) -> None:
    """A loosening waits limits.raise_cooldown_hours from the transaction's start: from a transaction held
    open that long it would apply at once. Refused (LP205, nothing changed); a stricter limit still applies.
    """
    with psycopg.connect(funded) as conn:
        conn.execute("SELECT tests.authenticate_as('vic')")
        conn.execute("SELECT api.set_spending_limit('daily', 100)")
        conn.commit()
    with psycopg.connect(funded) as conn:
        conn.execute("SELECT tests.authenticate_as('vic')")
        time.sleep(2.2)
        with pytest.raises(psycopg.Error) as refused, conn.transaction():
            conn.execute("SELECT api.set_spending_limit('daily', 500)")
        assert refused.value.sqlstate == "LP205"
        assert "loosen a spending limit" in str(refused.value)
        stricter = conn.execute("SELECT limit_tokens FROM api.set_spending_limit('daily', 50)").fetchone()
        assert stricter == (50,)
        conn.commit()
    with psycopg.connect(funded) as conn:
        assert conn.execute(
            "SELECT limit_tokens, pending_limit_tokens FROM lp.spending_limits"
            " WHERE user_id = tests.user_id('vic') AND period = 'daily'"
        ).fetchone() == (50, None)
