"""Two deliveries of one KYC webhook event id that name different verifications, racing (the rest:
tests/sql/test_kyc_lifecycle.sql, tests/py/test_kyc_client.py).

api.apply_kyc_webhook is idempotent by (provider, event id): a repeat returns the stored event and changes
nothing. Two deliveries of one event id with the same reference are serialised by the verification's row
lock. With different references (a provider's bug, or a forged replay) each delivery locks a different
verification, so neither sees the other's event before recording its own: the second must still get the
answer a sequential repeat gets (the first delivery's stored event, nothing applied to its own
verification), never a raw unique violation (23505). The test lets the first delivery run up to its commit,
starts the second, waits until it is blocked on the first (the event's key), then commits the first.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

pytestmark = pytest.mark.not_through_pgbouncer("waits on the second delivery's backend pid")

PASSWORD = "Who-are-you-42"

APPLY = (
    "SELECT provider, event_id, verification_id, status_before::text, status_after::text, outcome"
    "  FROM api.apply_kyc_webhook('veriff', 'evt-race', %s, %s, NULL, NULL, NULL, DATE '1990-01-01')"
)


def wait_blocked(conn: psycopg.Connection, pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)).fetchone()[0]:
            return True
        time.sleep(0.02)
    return False


def performer_with_verification(client: Client, name: str, reference: str) -> uuid.UUID:
    user = client.register_user(
        email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1),
        role="performer",
    ).id  # fmt: skip
    with client.acting_as(user, reason="test") as tx:
        return tx.submit_kyc(
            document_type="passport", document_country="DE", document_front_url=f"s3://kyc-docs/{name}.jpg",
            provider="veriff", provider_reference=reference,
        ).id  # fmt: skip


def test_one_event_id_for_two_references_racing_answers_as_a_repeat(db_url: str) -> None:
    with Client(db_url) as client:
        first_kyc = performer_with_verification(client, "pia", "vf-pia")
        second_kyc = performer_with_verification(client, "pam", "vf-pam")

    outcome: dict[str, Any] = {}
    with (
        psycopg.connect(db_url) as first,
        psycopg.connect(db_url) as second,
        psycopg.connect(db_url) as watcher,
    ):
        watcher.autocommit = True
        first.execute("SET ROLE livepanty_service")
        second.execute("SET ROLE livepanty_service")
        second_pid = second.info.backend_pid
        # The first delivery: applied, not committed yet.
        applied = first.execute(APPLY, ("vf-pia", "approved")).fetchone()
        assert applied[2:] == (first_kyc, "submitted", "approved", "applied")

        def deliver_again() -> None:
            try:
                outcome["row"] = second.execute(APPLY, ("vf-pam", "approved")).fetchone()
                second.commit()
            except psycopg.Error as exc:  # reported below
                outcome["error"] = exc.sqlstate
                second.rollback()

        thread = threading.Thread(target=deliver_again)
        thread.start()
        assert wait_blocked(watcher, second_pid), "the second delivery never waited for the first"
        first.commit()
        thread.join(30)
        assert not thread.is_alive()

    assert outcome.get("error") is None, f"the second delivery failed with {outcome.get('error')}"
    assert outcome["row"] == applied  # the first delivery's stored event, as a sequential repeat answers
    with psycopg.connect(db_url) as conn:
        statuses = dict(
            conn.execute(
                "SELECT id, status::text FROM lp.kyc_verifications WHERE id = ANY(%s)",
                ([first_kyc, second_kyc],),
            ).fetchall()
        )
        assert statuses == {first_kyc: "approved", second_kyc: "submitted"}  # nothing applied to pam's
        audits = conn.execute(
            "SELECT count(*) FROM lp.audit_logs"
            " WHERE action = 'kyc.webhook' AND details ->> 'event_id' = 'evt-race'"
        ).fetchone()[0]
        assert audits == 1
        (age_verified,) = conn.execute(
            "SELECT age_verified_at FROM lp.users AS u JOIN lp.kyc_verifications AS k ON k.user_id = u.id"
            " WHERE k.id = %s",
            (second_kyc,),
        ).fetchone()
        assert age_verified is None


def test_one_event_id_for_two_references_in_sequence_answers_as_a_repeat(db_url: str) -> None:
    """The sequential case the race must match: the stored event, nothing applied to the second."""
    with Client(db_url) as client:
        first_kyc = performer_with_verification(client, "pia", "vf-pia")
        second_kyc = performer_with_verification(client, "pam", "vf-pam")
    with psycopg.connect(db_url) as conn:
        conn.execute("SET ROLE livepanty_service")
        applied = conn.execute(APPLY, ("vf-pia", "approved")).fetchone()
        conn.commit()
        assert conn.execute(APPLY, ("vf-pam", "approved")).fetchone() == applied
        conn.commit()
        conn.execute("RESET ROLE")
        (status,) = conn.execute(
            "SELECT status::text FROM lp.kyc_verifications WHERE id = %s", (second_kyc,)
        ).fetchone()
        assert (applied[2], status) == (first_kyc, "submitted")
