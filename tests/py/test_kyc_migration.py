"""Migration 0026 (KYC lifecycle) converts the data it finds: a database migrated up to 0025 holds pending,
rejected and approved verifications; after the upgrade they are submitted, declined and approved (the approval
stamped and its record frozen), and the one-open-verification rule covers the converted rows."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from livepanty_db import migrate

HASH = "$2b$04$" + "a" * 53


def test_0026_converts_statuses(empty_db: str, db_tree_up_to: Any) -> None:
    migrate.apply(empty_db, root=db_tree_up_to(25))
    with psycopg.connect(empty_db) as conn:
        users = {
            name: conn.execute(
                "INSERT INTO lp.users (email, username, password_hash, date_of_birth)"
                " VALUES (%s, %s, %s, DATE '1990-01-01') RETURNING id",
                [f"{name}@example.org", name, HASH],
            ).fetchone()[0]
            for name in ("pia", "rex", "amy")
        }
        conn.execute(
            "INSERT INTO lp.kyc_verifications"
            " (user_id, status, document_country, reviewed_at, rejection_reason)"
            " VALUES (%(pia)s, 'pending', 'DE', NULL, NULL), (%(rex)s, 'rejected', 'FR', now(), 'blurry'),"
            "        (%(amy)s, 'approved', 'NL', now() - interval '1 day', NULL)",
            users,
        )

    migrate.apply(empty_db)

    with psycopg.connect(empty_db) as conn:
        rows = dict(
            conn.execute(
                "SELECT u.username::text, k.status::text || ':' || (k.approved_at IS NOT NULL)::text"
                " FROM lp.kyc_verifications AS k JOIN lp.users AS u ON u.id = k.user_id"
            ).fetchall()
        )
        assert rows == {"pia": "submitted:false", "rex": "declined:false", "amy": "approved:true"}
        # The converted approval is frozen; the converted open one still counts as open.
        with pytest.raises(psycopg.Error) as frozen:
            conn.execute(
                "UPDATE lp.kyc_verifications SET document_country = 'BE' WHERE user_id = %s", [users["amy"]]
            )
        assert frozen.value.sqlstate == "LP130"
        conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO lp.kyc_verifications (user_id, status) VALUES (%s, 'in_review')", [users["pia"]]
            )
