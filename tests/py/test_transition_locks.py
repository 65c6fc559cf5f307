"""lp.lock_payment and lp.lock_payout take the business row FOR NO KEY UPDATE (docs/ledger.md, lock protocol).

Two real connections: the first locks a payment or a payout through its helper and keeps its transaction open;
the second, with NOWAIT, may still take FOR KEY SHARE on the row (what a foreign-key check onto it takes) but
neither FOR NO KEY UPDATE nor FOR UPDATE (``55P03``): transitions of one row queue behind each other, and a
foreign-key check never waits for one. What the helpers raise: tests/sql/test_transition_locks.sql.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

SETUP = """
SELECT tests.create_user('bea'), tests.create_user('pia', 'performer', p_verified => false);
INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, document_front_url,
                                  reviewed_at)
VALUES (tests.user_id('pia'), 'identity', 'approved', 'passport', 'DE', 's3://kyc-docs/pia.jpg', now());
INSERT INTO lp.payments (user_id, provider, tokens, amount_minor, idempotency_key)
VALUES (tests.user_id('bea'), 'stripe', 500, 499, 'pay-1');
INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method,
                        idempotency_key)
SELECT tests.user_id('pia'), k.id, 5000, 100, 5000, 'paypal', 'po-1' FROM lp.kyc_verifications AS k;
"""

#: (table, the helper call that locks the row with id %s)
HELPERS = {
    "lp.payments": "SELECT lp.lock_payment(%s, ARRAY['pending'], 'completed')",
    "lp.payouts": "SELECT lp.lock_payout(%s, ARRAY['requested'], 'approved')",
}


@pytest.fixture
def rows(db_url: str) -> dict[str, uuid.UUID]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(SETUP)
        return {
            "lp.payments": conn.execute("SELECT id FROM lp.payments").fetchone()[0],
            "lp.payouts": conn.execute("SELECT id FROM lp.payouts").fetchone()[0],
        }


def other_side(conn: psycopg.Connection, table: str, row_id: uuid.UUID, mode: str) -> str:
    """'ok' when ``mode`` on the row is granted at once, else the SQLSTATE (55P03: it would have to wait)."""
    try:
        with conn.transaction():
            conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR {mode} NOWAIT", (row_id,))
    except psycopg.Error as exc:
        return exc.sqlstate or "?"
    return "ok"


@pytest.mark.parametrize("table", sorted(HELPERS))
def test_the_helper_locks_for_no_key_update(db_url: str, rows: dict[str, uuid.UUID], table: str) -> None:
    with psycopg.connect(db_url) as holder, psycopg.connect(db_url, autocommit=True) as other:
        holder.execute(HELPERS[table], (rows[table],))  # transaction left open: the lock stays
        outcomes = {
            mode: other_side(other, table, rows[table], mode)
            for mode in ("KEY SHARE", "SHARE", "NO KEY UPDATE", "UPDATE")
        }
        holder.rollback()
        assert outcomes == {"KEY SHARE": "ok", "SHARE": "55P03", "NO KEY UPDATE": "55P03", "UPDATE": "55P03"}
        assert other_side(other, table, rows[table], "UPDATE") == "ok", "the lock ends with the transaction"
