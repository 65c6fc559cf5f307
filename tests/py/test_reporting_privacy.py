"""What schema ``reporting`` shows of a user's account activity (docs/reporting.md, "Coarse values").

``reporting.users`` gives the UTC dates of sign-up and last login, not their times; the same instants must not
come back through another view: a wallet is opened at registration (``reporting.wallets``), and registrations,
logins and failed logins are audited (``reporting.audit_logs``). Nor is a KYC document's expiry shown, not
even as the moment its approval was marked expired (``reporting.kyc_verifications``,
``reporting.audit_logs``). Each test reads as ``livepanty_readonly``, after the actions ran in transactions of
their own (so that their instants differ from every other row's).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from livepanty_db import Client
from livepanty_db.errors import InvalidCredentials

PASSWORD = "Report-only-dates-42"


def reporting_instants(conn: psycopg.Connection, instants: list[datetime]) -> list[str]:
    """Every column of every reporting view (as the current role) that holds one of ``instants`` exactly."""
    columns = conn.execute(
        """SELECT c.relname, a.attname
             FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v' AND a.attnum > 0
              AND NOT a.attisdropped
              AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype)
            ORDER BY 1, 2"""
    ).fetchall()
    assert columns, "no timestamp column in reporting at all: the scan would be vacuous"
    found = []
    for view, column in columns:
        query = sql.SQL("SELECT count(*) FROM reporting.{} WHERE {}::timestamptz = ANY(%s)").format(
            sql.Identifier(view), sql.Identifier(column)
        )
        if conn.execute(query, [instants]).fetchone()[0]:
            found.append(f"reporting.{view}.{column}")
    return found


def test_sign_up_and_login_times_are_shown_as_dates_only(db_url: str) -> None:
    name = f"dora_{uuid.uuid4().hex[:8]}"
    with Client(db_url, role="livepanty_app") as app:
        user = app.register_user(
            email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1991, 2, 3)
        )
    with Client(db_url, role="livepanty_app") as app:
        app.login(name, PASSWORD)
        with pytest.raises(InvalidCredentials):
            app.login(name, "not-the-password-42")
    with psycopg.connect(db_url, autocommit=True) as conn:
        signed_up, logged_in = conn.execute(
            "SELECT created_at, last_login_at FROM lp.users WHERE id = %s", [user.id]
        ).fetchone()
        (failed,) = conn.execute(
            "SELECT occurred_at FROM lp.audit_logs WHERE action = 'auth.login_failed' AND target_id = %s",
            [str(user.id)],
        ).fetchone()
        (wallet,) = conn.execute("SELECT id FROM lp.wallets WHERE user_id = %s", [user.id]).fetchone()
        audit_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id::text FROM lp.audit_logs WHERE target_id = %s"
                " OR target_id IN (SELECT s.id::text FROM lp.auth_sessions AS s WHERE s.user_id = %s)",
                [str(user.id), user.id],
            )
        ]
        assert len({signed_up, logged_in, failed}) == 3
        conn.execute("SET ROLE livepanty_readonly")
        assert reporting_instants(conn, [signed_up, logged_in, failed]) == []
        # What is shown instead: the UTC day, the same in every view.
        key = "(SELECT lp.pseudonym(%s::text, s.value) FROM lp.secrets AS s WHERE s.name = 'pseudonym')"
        conn.execute("RESET ROLE")
        pseudonyms = {
            "user": conn.execute(f"SELECT {key}", [user.id]).fetchone()[0],
            "wallet": conn.execute(f"SELECT {key}", [wallet]).fetchone()[0],
            "audit": [conn.execute(f"SELECT {key}", [i]).fetchone()[0] for i in audit_ids],
        }
        conn.execute("SET ROLE livepanty_readonly")
        day = signed_up.astimezone(UTC).date()
        assert conn.execute(
            "SELECT created_on, last_login_on FROM reporting.users WHERE id = %s", [pseudonyms["user"]]
        ).fetchone() == (day, logged_in.astimezone(UTC).date())
        assert conn.execute(
            "SELECT user_id, created_on FROM reporting.wallets WHERE id = %s", [pseudonyms["wallet"]]
        ).fetchone() == (pseudonyms["user"], day)
        shown = conn.execute(
            "SELECT action, occurred_on FROM reporting.audit_logs WHERE id = ANY(%s) ORDER BY action",
            [pseudonyms["audit"]],
        ).fetchall()
        assert shown == [
            ("auth.login", logged_in.astimezone(UTC).date()),
            ("auth.login_failed", failed.astimezone(UTC).date()),
            ("user.register", day),
        ]


def test_a_kyc_documents_expiry_is_not_shown(db_url: str, seed: Any) -> None:
    """An approval whose document expired is marked expired by the job, which follows the expiry: neither the
    instant it was marked nor its day may be tied to the verification (or its holder) in any view."""
    name = f"pia_{uuid.uuid4().hex[:8]}"
    with Client(db_url, role="livepanty_app") as app:
        user = app.register_user(
            email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 4, 5),
            role="performer",
        )  # fmt: skip
    seed.approve_kyc(user.id)
    with psycopg.connect(db_url) as conn:  # the provider reports that the document expired
        conn.execute(
            "UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 minute' WHERE user_id = %s",
            [user.id],
        )
    with Client(db_url, role="livepanty_service") as service:
        assert service.expire_kyc_approvals() == 1
    with psycopg.connect(db_url, autocommit=True) as conn:
        verification, marked, ended = conn.execute(
            "SELECT id, updated_at, approval_ended_at FROM lp.kyc_verifications"
            " WHERE user_id = %s AND status = 'expired'",
            [user.id],
        ).fetchone()
        key = "(SELECT lp.pseudonym(%s::text, s.value) FROM lp.secrets AS s WHERE s.name = 'pseudonym')"
        pseudonyms = [conn.execute(f"SELECT {key}", [i]).fetchone()[0] for i in (verification, user.id)]
        conn.execute("SET ROLE livepanty_readonly")
        assert reporting_instants(conn, [marked, ended]) == []
        # What is shown instead: the UTC month of the last change.
        assert conn.execute(
            "SELECT status::text, updated_month FROM reporting.kyc_verifications WHERE id = %s",
            [pseudonyms[0]],
        ).fetchone() == ("expired", marked.astimezone(UTC).date().replace(day=1))
        # The audit trail tells how many approvals expired on a day, not whose.
        assert conn.execute(
            "SELECT count(*) FROM reporting.audit_logs"
            " WHERE action = 'kyc.approval_expired' AND target_id IS NULL"
        ).fetchone() == (1,)
        assert conn.execute(
            "SELECT action FROM reporting.audit_logs WHERE target_id = ANY(%s) OR actor_id = ANY(%s)",
            [pseudonyms, pseudonyms],
        ).fetchall() == [("user.register",)]
