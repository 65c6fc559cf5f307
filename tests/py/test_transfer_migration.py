"""Migration 0046 (cross-shard tips of 0 net tokens): a shard migrated up to 0045 holds tips whose fee was the
whole tip, marked delivered at once though the relay never carried them; after the upgrade they are pending
again, for the relay, and every other outbox row is as it was. Going back before 0046 is refused (LP204) while
such a tip waits, and once none does it restores the old rules."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from livepanty_db import migrate, paths

HASH = "$2b$04$" + "a" * 53


def _outbox(conn: psycopg.Connection, sender: uuid.UUID, amount: int, fee: int, status: str) -> uuid.UUID:
    return conn.execute(
        "INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount,"
        " idempotency_key, transaction_id, status, delivered_at)"
        " VALUES (gen_random_uuid(), %s, gen_random_uuid(), 1, %s, %s, gen_random_uuid()::text,"
        " gen_random_uuid(), %s, CASE WHEN %s = 'delivered' THEN now() END) RETURNING id",
        [sender, amount, fee, status, status],
    ).fetchone()[0]


def test_0046_sends_the_tips_of_zero_net_tokens_it_finds(empty_db: str, db_tree_up_to: Any) -> None:
    migrate.apply(empty_db, root=db_tree_up_to(45))
    with psycopg.connect(empty_db) as conn:
        sender = conn.execute(
            "INSERT INTO lp.users (email, username, password_hash, date_of_birth)"
            " VALUES ('zed@example.org', 'zed', %s, DATE '1990-01-01') RETURNING id",
            [HASH],
        ).fetchone()[0]
        whole_fee = _outbox(conn, sender, 100, 100, "delivered")  # never carried
        delivered = _outbox(conn, sender, 100, 20, "delivered")
        pending = _outbox(conn, sender, 50, 10, "pending")
        conn.commit()
        with pytest.raises(psycopg.errors.CheckViolation):  # 0045: no row of 0 tokens in lp.transfers_in
            conn.execute(
                "INSERT INTO lp.transfers_in (id, from_shard, sender_id, recipient_id, tip_amount, amount,"
                " transaction_id, sent_at) VALUES (gen_random_uuid(), 1, gen_random_uuid(), %s, 100, 0,"
                " gen_random_uuid(), now())",
                [sender],
            )

    migrate.apply(empty_db)

    with psycopg.connect(empty_db) as conn:
        rows = dict(conn.execute("SELECT id, status FROM lp.transfers_out").fetchall())
        assert rows == {whole_fee: "pending", delivered: "delivered", pending: "pending"}
        conn.execute(
            "INSERT INTO lp.transfers_in (id, from_shard, sender_id, recipient_id, tip_amount, amount,"
            " transaction_id, sent_at) VALUES (gen_random_uuid(), 1, gen_random_uuid(), %s, 100, 0,"
            " gen_random_uuid(), now())",
            [sender],
        )
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation):  # 0 tokens only for a refund
            _outbox(conn, sender, 0, 0, "pending")

    later = [  # the migrations after 0046, newest first: rolled back before it (they do not touch its rows)
        p.name.removesuffix(".sql")
        for p in reversed(paths.migration_files())
        if not p.name.endswith(".rollback.sql") and int(p.name[:4]) > 46
    ]
    assert later
    assert migrate.rollback(empty_db, len(later)) == later
    with pytest.raises(migrate.MigrationError, match="LP204"):
        migrate.rollback(empty_db)
    with psycopg.connect(empty_db) as conn:
        conn.execute("DELETE FROM lp.transfers_out WHERE id = %s", [whole_fee])
    assert migrate.rollback(empty_db) == ["0046_zero_net_cross_shard_tips"]
    with psycopg.connect(empty_db) as conn:
        checks = dict(
            conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conname IN ('transfers_out_amount_check', 'transfers_in_check')"
            ).fetchall()
        )
    assert checks == {
        "transfers_out_amount_check": "CHECK ((amount > 0))",
        "transfers_in_check": "CHECK (((amount > 0) AND (amount <= tip_amount)))",
    }
