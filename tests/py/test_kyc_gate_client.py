"""The KYC gate through the Python client (sync and async) and the CLI (``livepanty-db jobs expire-kyc``).

The SQL rules are tested in SQL (tests/sql/test_kyc_gate.sql); this checks what the client and the CLI add:
the typed refusal of a tip to a performer without a valid verification (PayeeNotVerified, LP135) and of a
payout (KycRequired, LP111), the job's method (an int, service role only: PermissionDenied for the
application), its command's output, and the model field approval_ended_at.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner, Result

from livepanty_db import AsyncClient, Client, new_idempotency_key
from livepanty_db.cli import main
from livepanty_db.errors import KycRequired, PayeeNotVerified, PermissionDenied

PASSWORD = "Verified-or-not-42"


def cli(db_url: str, *args: str, fmt: str = "json") -> Result:
    return CliRunner().invoke(main, ["--dsn", db_url, "--format", fmt, *args])


def register(client: Client, name: str, role: str = "viewer") -> uuid.UUID:
    user = client.register_user(
        email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1),
        role=role,
    )  # fmt: skip
    return user.id


@pytest.fixture
def people(db_url: str, seed: Any) -> dict[str, Any]:
    with Client(db_url) as client:
        people = {name: register(client, name, "performer") for name in ("pia", "nora", "eve")}
        people["vic"] = register(client, "vic")
    seed.approve_kyc(people["pia"], people["eve"])
    seed.fund(1000, people["vic"])
    return people


def expire_document(seed: Any, user_id: uuid.UUID) -> None:
    """What a provider reports when the document of an approval expired (as the superuser, on the user's
    shard behind a router)."""
    seed.execute(
        "UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 minute' WHERE user_id = %s",
        [user_id],
        user=user_id,
    )


def test_tips_and_payouts_follow_the_gate(db_url: str, people: dict[str, Any]) -> None:
    with Client(db_url) as client:
        token = client.login("vic", PASSWORD).token
        with client.session(token) as tx:
            assert tx.tip(people["pia"], 10, idempotency_key=new_idempotency_key()).amount == 10
        with pytest.raises(PayeeNotVerified) as refused, client.session(token) as tx:
            tx.tip(people["nora"], 10, idempotency_key=new_idempotency_key())
        assert refused.value.sqlstate == "LP135"
        nora = client.login("nora", PASSWORD).token
        with pytest.raises(KycRequired) as no_payout, client.session(nora) as tx:
            tx.request_payout(5000, "bank_transfer", idempotency_key=new_idempotency_key())
        assert no_payout.value.detail == "no approved identity verification"


def test_expire_kyc_approvals_sync_and_async(db_url: str, people: dict[str, Any], seed: Any) -> None:
    expire_document(seed, people["eve"])
    with Client(db_url, role="livepanty_app") as app, pytest.raises(PermissionDenied):
        app.expire_kyc_approvals()

    async def run() -> None:
        async with AsyncClient(db_url, role="livepanty_service") as service:
            assert await service.expire_kyc_approvals(limit=10) == 1
            assert await service.expire_kyc_approvals(limit=10) == 0

    asyncio.run(run())
    with Client(db_url) as client:
        with client.session(client.login("eve", PASSWORD).token) as tx:
            status = tx.get_kyc_status()
        assert status is not None
        assert status.status == "expired"
        assert status.approval_ended_at is not None
        vic = client.login("vic", PASSWORD).token
        with pytest.raises(PayeeNotVerified), client.session(vic) as tx:
            tx.tip(people["eve"], 10, idempotency_key=new_idempotency_key())
    with Client(db_url, role="livepanty_service") as service:
        assert service.expire_kyc_approvals() == 0


def test_cli_jobs_expire_kyc(db_url: str, people: dict[str, Any], seed: Any) -> None:
    expire_document(seed, people["eve"])
    result = cli(db_url, "jobs", "expire-kyc", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"job": "expire_kyc_approvals", "processed": 1, "batches": 1}]
    result = cli(db_url, "jobs", "expire-kyc", "--until-done", fmt="table")
    assert result.exit_code == 0, result.stderr
    assert "expire_kyc_approvals" in result.stdout
    result = cli(db_url, "jobs", "expire-kyc", "--limit", "0")
    assert result.exit_code == 1
    assert "LP018" in result.stderr
