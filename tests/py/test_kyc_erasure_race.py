"""An erasure (or a deletion) racing a KYC decision on the user's open verification (the rest:
tests/sql/test_kyc_review.sql).

The erasure, and a deletion of the account, abandons the user's open verifications (lp.abandon_open_kyc).
The KYC functions lock a verification before its user's row (api.apply_kyc_webhook, api.approve_kyc: the
row, then the gate's cache on lp.users), so the erasure (the deletion) must take the verification before the
user row too, or the two deadlock. The test holds the verification as a webhook's first step does, lets the
erasure queue, then takes the user row as the webhook's second step does: with the erasure locking in the
wrong order that is a cycle (40P01); in the right one the "webhook" finishes and the erasure then abandons
the verification.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import psycopg
import pytest

from livepanty_db import Client

pytestmark = pytest.mark.not_through_pgbouncer("waits on the eraser's backend pid")

PASSWORD = "Who-are-you-42"


def wait_blocked(conn: psycopg.Connection, pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)).fetchone()[0]:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("end", ["erase", "delete"])
def test_an_erasure_and_a_webhook_on_the_open_verification_do_not_deadlock(db_url: str, end: str) -> None:
    with Client(db_url) as client:
        client.create_admin(  # ada, who erases
            email="ada@example.org", username="ada", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        )  # fmt: skip
        erno = client.register_user(
            email="erno@example.org", username="erno", password=PASSWORD, date_of_birth=date(1990, 1, 1),
            role="performer",
        ).id  # fmt: skip
        with client.acting_as(erno, reason="test") as tx:
            verification = tx.submit_kyc(
                document_type="passport", document_country="DE", document_front_url="s3://kyc-docs/front.jpg",
                provider="veriff", provider_reference="vf-erno",
            ).id  # fmt: skip

    errors: list[BaseException] = []
    with psycopg.connect(db_url) as webhook, psycopg.connect(db_url) as watcher:
        watcher.autocommit = True
        webhook.execute("SET deadlock_timeout = '50ms'")
        # The webhook's first step: the verification, locked.
        webhook.execute("SELECT 1 FROM lp.kyc_verifications WHERE id = %s FOR UPDATE", (verification,))

        with psycopg.connect(db_url) as eraser:
            eraser.execute("SET deadlock_timeout = '50ms'")
            eraser_pid = eraser.info.backend_pid

            def erase() -> None:
                try:
                    eraser.execute("SELECT tests.authenticate_as('ada')")
                    if end == "erase":
                        eraser.execute("SELECT api.erase_user(%s, 'asked by mail')", (erno,))
                    else:
                        eraser.execute("SELECT api.delete_user(%s, 'asked by mail')", (erno,))
                    eraser.commit()
                except BaseException as exc:  # reported below
                    errors.append(exc)
                    eraser.rollback()

            thread = threading.Thread(target=erase)
            thread.start()
            assert wait_blocked(watcher, eraser_pid), (
                "the erasure never waited for the webhook's verification"
            )
            # The webhook's second step: the user's row (the gate's cache, age_verified_at).
            try:
                webhook.execute(
                    "UPDATE lp.users SET age_verified_at = age_verified_at WHERE id = %s", (erno,)
                )
                webhook.commit()
            except psycopg.Error as exc:
                errors.append(exc)
                webhook.rollback()
            thread.join(30)
            assert not thread.is_alive()

    assert [getattr(e, "sqlstate", repr(e)) for e in errors] == []
    with psycopg.connect(db_url) as conn:
        status = conn.execute("SELECT status::text FROM lp.kyc_verifications WHERE id = %s", (verification,))
        assert status.fetchone()[0] == "abandoned"
        erasures = conn.execute("SELECT count(*) FROM lp.erasures WHERE user_id = %s", (erno,)).fetchone()[0]
        assert erasures == (1 if end == "erase" else 0)
