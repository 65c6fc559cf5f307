"""The KYC lifecycle through the Python client (sync and async) and the CLI (``livepanty-db kyc``).

The SQL rules are tested in SQL (tests/sql/test_kyc_lifecycle.sql); this checks what the client and the CLI
add: typed results (KycWebhookEvent, KycRecord, the new KycVerification columns), typed refusals
(KycAttemptsExhausted LP131, KycRecordFrozen LP130, KycReferenceTaken LP132, PermissionDenied), the
service-only webhook, and the commands' output.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from livepanty_db import AsyncClient, Client
from livepanty_db.cli import main
from livepanty_db.errors import (
    InvalidArgument,
    InvalidDateOfBirth,
    KycAttemptsExhausted,
    KycRecordFrozen,
    KycReferenceTaken,
    PermissionDenied,
)

PASSWORD = "Who-are-you-42"


def cli(db_url: str, *args: str, fmt: str = "json") -> Result:
    return CliRunner().invoke(main, ["--dsn", db_url, "--format", fmt, *args])


def register(client: Client, name: str, role: str = "viewer") -> uuid.UUID:
    user = client.register_user(
        email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1),
        role=role,
    )  # fmt: skip
    return user.id


@pytest.fixture
def people(db_url: str) -> dict[str, uuid.UUID]:
    with Client(db_url) as client:
        people = {"ada": client.create_admin(
            email="ada@example.org", username="ada", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        ).id}  # fmt: skip
        people["pia"] = register(client, "pia", "performer")
        people["vic"] = register(client, "vic")
        people["cora"] = register(client, "cora")
        with client.acting_as(people["ada"], reason="test") as tx:
            tx.set_user_role(people["cora"], "compliance_officer")
    return people


def submit(client: Client, user_id: uuid.UUID, reference: str | None = None, **extra: Any) -> Any:
    with client.acting_as(user_id, reason="test") as tx:
        return tx.submit_kyc(
            document_type="passport", document_country="DE", document_front_url="s3://kyc-docs/front.jpg",
            provider="veriff" if reference else "manual", provider_reference=reference, **extra,
        )  # fmt: skip


def test_webhook_score_record_and_freeze(db_url: str, people: dict[str, uuid.UUID], seed: Any) -> None:
    with Client(db_url) as client:
        verification = submit(client, people["pia"], "vf-pia", legal_name="Pia Maria Roe", aliases=["Velvet"])
        assert (verification.status, verification.legal_name_encrypted) == ("submitted", None)

        with Client(db_url, role="livepanty_service") as service:
            event = service.apply_kyc_webhook(
                "veriff", "evt-1", "vf-pia", "in_review", score=Decimal("0.95"),
                verified_date_of_birth=date(1991, 2, 3), reasons=["clear"],
            )  # fmt: skip
            assert (event.outcome, event.status_before) == ("applied", "submitted")
            assert event.status_after == "approved"
            assert event.score == Decimal("0.9500")
            # A repeat of the event id returns the same row.
            assert service.apply_kyc_webhook("veriff", "evt-1", "vf-pia", "declined") == event
            late = service.apply_kyc_webhook("veriff", "evt-2", "vf-pia", "in_review")
            assert (late.outcome, late.status_after) == ("ignored", "approved")
            assert late.note is not None

        with pytest.raises(PermissionDenied), Client(db_url, role="livepanty_app") as app:
            app.apply_kyc_webhook("veriff", "evt-3", "vf-pia", "declined")

        with client.acting_as(people["pia"], reason="test") as tx:
            mine = tx.get_kyc_status()
        assert mine is not None
        assert (mine.status, mine.decided_by, mine.reasons, mine.legal_name_encrypted) == (
            "approved", "score", ["clear"], None,
        )  # fmt: skip
        assert mine.approved_at is not None

        with client.acting_as(people["cora"], reason="AML request") as tx:
            record = tx.kyc_record(verification.id)
        assert (record.legal_name, record.date_of_birth, record.aliases) == (
            "Pia Maria Roe", date(1991, 2, 3), ["Velvet"],
        )  # fmt: skip
        assert "Pia Maria Roe" not in repr(record)
        with pytest.raises(PermissionDenied), client.acting_as(people["ada"], reason="test") as tx:
            tx.kyc_record(verification.id)

    with pytest.raises(psycopg.Error) as refused:
        seed.execute(
            "UPDATE lp.kyc_verifications SET document_country = 'FR' WHERE id = %s",
            [verification.id],
            user=people["pia"],
        )
    assert refused.value.sqlstate == KycRecordFrozen.code


def test_attempts_and_override(db_url: str, people: dict[str, uuid.UUID]) -> None:
    with Client(db_url) as client:
        with client.acting_as(people["ada"], reason="test") as tx:
            tx.set_setting("kyc.max_declines", 1)
        first = submit(client, people["vic"])
        with client.acting_as(people["ada"], reason="test") as tx:
            assert tx.reject_kyc(first.id, "blurry").status == "declined"
        with pytest.raises(KycAttemptsExhausted):
            submit(client, people["vic"])
        with client.acting_as(people["ada"], reason="test") as tx:
            assert tx.allow_kyc_retry(people["vic"], "new passport") == 1
        second = submit(client, people["vic"])
        with client.acting_as(people["ada"], reason="test") as tx:
            tx.reject_kyc(second.id, "blurry again")
            overridden = tx.override_kyc_decision(second.id, "approved", "checked on a video call")
        assert (overridden.status, overridden.decided_by, overridden.reviewed_by) == (
            "approved", "override", people["ada"],
        )  # fmt: skip


def test_async_mirrors_sync(db_url: str, people: dict[str, uuid.UUID]) -> None:
    with Client(db_url) as client:
        verification = submit(client, people["pia"], "vf-async", legal_name="Async Name")

    async def run() -> tuple[Any, Any, Any]:
        async with AsyncClient(db_url, role="livepanty_service") as service:
            event = await service.apply_kyc_webhook(
                "veriff", "a-1", "vf-async", "in_review", score=Decimal("0.5")
            )
        async with AsyncClient(db_url) as client:
            async with client.acting_as(people["cora"], reason="test") as tx:
                record = await tx.kyc_record(verification.id)
            async with client.acting_as(people["ada"], reason="test") as tx:
                decided = await tx.override_kyc_decision(verification.id, "declined", "document forged")
        return event, record, decided

    event, record, decided = asyncio.run(run())
    assert (event.outcome, event.status_after) == ("applied", "in_review")
    assert record.legal_name == "Async Name"
    assert (decided.status, decided.rejection_reason) == ("declined", "document forged")


def test_cli(db_url: str, people: dict[str, uuid.UUID]) -> None:
    result = cli(db_url, "kyc", "submit", "--as", "pia", "--document-type", "passport", "--country", "DE",
                 "--front", "s3://kyc-docs/front.jpg", "--provider", "veriff",
                 "--provider-reference", "vf-cli", "--legal-name", "Pia Cli", "--alias", "Velvet",
                 "--alias", "Rose")  # fmt: skip
    assert result.exit_code == 0, result.output
    verification_id = json.loads(result.stdout)[0]["id"]

    result = cli(db_url, "kyc", "webhook", "veriff", "cli-1", "vf-cli", "in_review", "--score", "0.5",
                 "--reason", "glare")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status_after"] == "in_review"

    result = cli(db_url, "kyc", "webhook", "veriff", "cli-1", "vf-cli", "declined")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status_after"] == "in_review"  # the repeat changed nothing

    result = cli(db_url, "kyc", "override", verification_id, "approved", "--reason", "checked", "--as", "ada")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["decided_by"] == "override"

    result = cli(db_url, "kyc", "record", verification_id, "--as", "cora")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)[0]
    assert (record["legal_name"], record["aliases"]) == ("Pia Cli", ["Rose", "Velvet"])

    result = cli(db_url, "kyc", "record", verification_id, "--as", "ada")
    assert result.exit_code == 1
    assert "LP002" in result.output

    result = cli(db_url, "kyc", "allow-retry", "vic", "--reason", "x", "--as", "ada")
    assert result.exit_code == 1
    assert "LP004" in result.output


def approved_earlier(seed: Any, user_id: uuid.UUID) -> None:
    """An approval of an earlier verification (10 days old) that still counts, written by the superuser (on
    the user's shard behind a router)."""
    seed.execute(
        """INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,
                                             reviewed_at)
           VALUES (%s, 'identity', 'approved', 'passport', 'DE', now() - interval '10 days')""",
        [user_id],
        user=user_id,
    )
    seed.execute("UPDATE lp.users SET age_verified_at = now() WHERE id = %s", [user_id], user=user_id)


def finding_state(seed: Any, user_id: uuid.UUID) -> tuple[Any, ...]:
    """(the KYC gate's refusal, age verified, the user's cases as reason/priority, earlier approvals left),
    read on the user's shard behind a router."""
    row = seed.row(
        """SELECT lp.kyc_refusal(u.id), u.age_verified_at IS NOT NULL,
                      (SELECT array_agg(r.reason::text || '/' || r.priority ORDER BY r.created_at)
                         FROM lp.reports AS r WHERE r.reported_user_id = u.id),
                      (SELECT count(*) FROM lp.kyc_verifications AS k
                        WHERE k.user_id = u.id AND k.status = 'approved')
             FROM lp.users AS u WHERE u.id = %s""",
        [user_id],
        user=user_id,
    )
    assert row is not None
    return tuple(row)


def minor_birthday() -> date:
    """A date of birth 16 or 17 years ago: a minor's."""
    return date(date.today().year - 16, 1, 1)


def test_reject_with_date_of_birth(db_url: str, people: dict[str, uuid.UUID], seed: Any) -> None:
    """api.reject_kyc's reviewer date of birth (``verified_date_of_birth``): a minor's is an underage
    finding (earlier approvals end, the gate closes, a critical case), an adult's an ordinary decline, an
    implausible one InvalidDateOfBirth, one differing from a provider's reading InvalidArgument; never
    returned to the admin."""
    approved_earlier(seed, people["pia"])
    approved_earlier(seed, people["vic"])
    with Client(db_url) as client:
        pia_again = submit(client, people["pia"])  # manual: no provider-read date of birth
        vic_again = submit(client, people["vic"])
        with pytest.raises(InvalidDateOfBirth), client.acting_as(people["ada"], reason="test") as tx:
            tx.reject_kyc(pia_again.id, "blurred", verified_date_of_birth=date(1899, 12, 31))
        assert finding_state(seed, people["pia"]) == (None, True, None, 1)
        with client.acting_as(people["ada"], reason="test") as tx:
            declined = tx.reject_kyc(
                pia_again.id, "the passport shows 16", verified_date_of_birth=minor_birthday()
            )
        assert (declined.status, declined.decided_by, declined.verified_date_of_birth) == (
            "declined",
            "admin",
            None,
        )
        assert declined.rejection_reason == "underage: the passport shows 16"
        assert finding_state(seed, people["pia"]) == (
            "identity verification expired: re-verification needed", False, ["underage/critical"], 0,
        )  # fmt: skip

    async def run() -> Any:
        async with AsyncClient(db_url) as client, client.acting_as(people["ada"], reason="test") as tx:
            return await tx.reject_kyc(
                vic_again.id, "selfie mismatch", verified_date_of_birth=date(1988, 7, 14)
            )

    ordinary = asyncio.run(run())
    assert (ordinary.status, ordinary.rejection_reason, ordinary.verified_date_of_birth) == (
        "declined", "selfie mismatch", None,
    )  # fmt: skip
    assert finding_state(seed, people["vic"]) == (None, True, None, 1)

    with Client(db_url) as client:
        read = submit(client, people["cora"], "vf-cora")
        with Client(db_url, role="livepanty_service") as service:
            service.apply_kyc_webhook(
                "veriff", "c-1", "vf-cora", "in_review", verified_date_of_birth=date(1991, 2, 3)
            )
        with pytest.raises(InvalidArgument), client.acting_as(people["ada"], reason="test") as tx:
            tx.reject_kyc(read.id, "under age", verified_date_of_birth=minor_birthday())
        with client.acting_as(people["ada"], reason="test") as tx:
            same = tx.reject_kyc(read.id, "glare", verified_date_of_birth=date(1991, 2, 3))
        assert (same.status, same.rejection_reason) == ("declined", "glare")


def test_cli_reject_with_date_of_birth(db_url: str, people: dict[str, uuid.UUID], seed: Any) -> None:
    approved_earlier(seed, people["pia"])
    with Client(db_url) as client:
        verification = submit(client, people["pia"])
    result = cli(
        db_url, "kyc", "reject", str(verification.id), "--reason", "16", "--dob", "2100-01-01", "--as", "ada"
    )
    assert result.exit_code == 1
    assert "LP014" in result.output
    minor = minor_birthday().isoformat()
    result = cli(
        db_url, "kyc", "reject", str(verification.id), "--reason", "16", "--dob", minor, "--as", "ada"
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert (row["status"], row["rejection_reason"], row["verified_date_of_birth"]) == (
        "declined",
        "underage: 16",
        None,
    )
    assert finding_state(seed, people["pia"]) == (
        "identity verification expired: re-verification needed", False, ["underage/critical"], 0,
    )  # fmt: skip


def test_concurrent_deliveries_of_one_event_apply_once(
    db_url: str, people: dict[str, uuid.UUID], seed: Any
) -> None:
    """Eight webhook receivers deliver the same event at once: one applies it, all return the same row."""
    with Client(db_url) as client:
        verification = submit(client, people["pia"], "vf-race")

    def deliver(_: int) -> Any:
        with Client(db_url, role="livepanty_service") as service:
            return service.apply_kyc_webhook(
                "veriff", "race-1", "vf-race", "in_review", score=Decimal("0.95")
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        events = list(pool.map(deliver, range(8)))
    assert len(set(events)) == 1
    assert (events[0].outcome, events[0].status_after) == ("applied", "approved")
    audits = seed.rows(
        "SELECT count(*) FROM lp.audit_logs WHERE action = 'kyc.webhook' AND target_id = %s",
        [str(verification.id)],
    )
    assert sum(count for (count,) in audits) == 1  # in every database


def test_two_users_submitting_one_reference_at_once_get_one_verification(
    db_url: str, people: dict[str, uuid.UUID]
) -> None:
    """A provider's reference names one person (api.submit_kyc, LP132). Two users submitting the same one at
    the same moment: the second waits for the first (the named lock kyc.references) and is then refused, so
    the provider's webhook cannot reach the wrong verification."""
    with Client(db_url) as first, Client(db_url) as second, ThreadPoolExecutor(1) as pool:
        with first.acting_as(people["pia"], reason="test") as tx:
            tx.submit_kyc(
                document_type="passport", document_country="DE", document_front_url="s3://kyc-docs/pia.jpg",
                provider="veriff", provider_reference="vf-shared",
            )  # fmt: skip
            late = pool.submit(submit, second, people["vic"], "vf-shared")
            wait([late], timeout=0.5)
            assert not late.done(), f"decided before the first submission committed: {late.exception()!r}"
        with pytest.raises(KycReferenceTaken):
            late.result(timeout=30)
    with psycopg.connect(db_url) as conn:
        holders = conn.execute(
            "SELECT user_id FROM lp.kyc_verifications"
            " WHERE provider = 'veriff' AND provider_reference = 'vf-shared'"
        ).fetchall()
    assert holders == [(people["pia"],)]
