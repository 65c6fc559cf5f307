"""Fraud controls on money through the Python client (sync and async) and the CLI group ``fraud``.

The SQL rules are tested in SQL (tests/sql/test_fraud_controls.sql); this checks what a single transaction
cannot show and what the client adds: the velocity flag (a fraud case) survives the refusal across real
commits, the typed errors (VelocityLimit, NewAccountLimit, PermissionDenied), the FraudLimit rows of
``get_fraud_limits`` (sync and async) and ``livepanty-db fraud limits``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner, Result

from livepanty_db import AsyncClient, Client, FraudLimit, new_idempotency_key
from livepanty_db.cli import main
from livepanty_db.errors import LivepantyError, NewAccountLimit, PermissionDenied, VelocityLimit

PASSWORD = "Velocity-checked-42"


def cli(db_url: str, *args: str, fmt: str = "json") -> Result:
    return CliRunner().invoke(main, ["--dsn", db_url, "--format", fmt, *args])


def register(client: Client, name: str, role: str = "viewer") -> uuid.UUID:
    user = client.register_user(
        email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1),
        role=role,
    )  # fmt: skip
    return user.id


def setting(db_url: str, people: dict[str, Any], key: str, value: int) -> None:
    """An admin sets ``key`` (api.set_setting; behind a router, on every shard)."""
    with Client(db_url) as client, client.acting_as(people["chief"], reason="settings") as tx:
        tx.set_setting(key, value)


def fraud_cases(seed: Any, user_id: uuid.UUID) -> int:
    """The fraud cases about ``user_id`` (behind a router, added up over the shards)."""
    rows = seed.rows(
        "SELECT count(*) FROM lp.reports WHERE reported_user_id = %s AND reason::text = 'fraud'"
        " AND source::text = 'fraud'",
        (user_id,),
    )
    return sum(int(n) for (n,) in rows)


@pytest.fixture
def people(db_url: str, seed: Any) -> dict[str, Any]:
    with Client(db_url) as client:
        people = {
            "mona": register(client, "mona"),
            "pia": register(client, "pia", "performer"),
            "vic": register(client, "vic"),
            "nat": register(client, "nat"),
        }
        admin = client.create_admin(
            email="chief@example.org", username="chief", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        )
        people["chief"] = admin.id
        with client.acting_as(admin.id, reason="staff") as tx:
            tx.set_user_role(people["mona"], "moderator")
    seed.approve_kyc(people["pia"])
    seed.fund(10_000, people["vic"], people["nat"])
    return people


def test_the_velocity_flag_survives_the_refusal(db_url: str, people: dict[str, Any], seed: Any) -> None:
    setting(db_url, people, "fraud.tips_per_hour", 2)
    with Client(db_url) as client:
        for n in (1, 2):  # each tip commits on its own
            with client.acting_as(people["vic"], reason="tip") as tx:
                tx.tip(recipient_id=people["pia"], amount=10, idempotency_key=f"v-{n}")
        assert fraud_cases(seed, people["vic"]) == 1  # committed with the tip that reached the threshold
        with pytest.raises(VelocityLimit) as refused, client.acting_as(people["vic"], reason="tip") as tx:
            tx.tip(recipient_id=people["pia"], amount=10, idempotency_key="v-3")
        assert "try again after" in (refused.value.hint or "").lower()
        assert fraud_cases(seed, people["vic"]) == 1  # the refusal rolled back, the case stayed
        with client.acting_as(people["vic"], reason="read") as tx:
            tip_row = next(r for r in tx.get_fraud_limits() if r.kind == "tip")
        assert (tip_row.per_hour, tip_row.this_hour) == (2, 2)


def test_a_case_exists_exactly_when_a_committed_tip_reached_the_threshold(
    db_url: str, people: dict[str, Any], seed: Any
) -> None:
    """docs/trust-and-safety.md: the tip that reaches fraud.tips_per_hour opens the case in its own
    transaction, so a reaching tip that then fails (LP100, not enough tokens) leaves no case and its count
    undone; the same tip once it can pass opens it, and the refused next one keeps it."""
    setting(db_url, people, "fraud.tips_per_hour", 3)
    poor = people["nat"]
    seed.execute(  # nat keeps 20 tokens: two tips of 10
        "SELECT lp.post(gen_random_uuid(), 'adjustment', gen_random_uuid(), ARRAY["
        " ROW((SELECT id FROM lp.wallets WHERE user_id = %s), -9980, 'adjustment', 0, false)::lp.posting,"
        " ROW(lp.system_wallet('issuance'), 9980, 'adjustment', 0, false)::lp.posting])",
        [poor],
        user=poor,
    )
    with Client(db_url) as client:
        for n in (1, 2):
            with client.acting_as(poor, reason="tip") as tx:
                tx.tip(recipient_id=people["pia"], amount=10, idempotency_key=f"x-{n}")
        with pytest.raises(LivepantyError) as failed, client.acting_as(poor, reason="tip") as tx:
            tx.tip(recipient_id=people["pia"], amount=10, idempotency_key="x-3")  # reaches 3, cannot pay
        assert failed.value.sqlstate == "LP100"
        assert fraud_cases(seed, poor) == 0
        with client.acting_as(poor, reason="read") as tx:
            assert next(r for r in tx.get_fraud_limits() if r.kind == "tip").this_hour == 2
        seed.fund(100, poor)
        with client.acting_as(poor, reason="tip") as tx:
            tx.tip(recipient_id=people["pia"], amount=10, idempotency_key="x-3")
        assert fraud_cases(seed, poor) == 1
        with pytest.raises(VelocityLimit), client.acting_as(poor, reason="tip") as tx:
            tx.tip(recipient_id=people["pia"], amount=10, idempotency_key="x-4")
        assert fraud_cases(seed, poor) == 1


def test_new_account_caps_and_the_limits_read(db_url: str, people: dict[str, Any]) -> None:
    setting(db_url, people, "fraud.new_account_max_tip", 100)
    with Client(db_url) as client:
        with pytest.raises(NewAccountLimit), client.acting_as(people["nat"], reason="tip") as tx:
            tx.tip(recipient_id=people["pia"], amount=101, idempotency_key=new_idempotency_key())
        with client.acting_as(people["nat"], reason="tip") as tx:
            tx.tip(recipient_id=people["pia"], amount=100, idempotency_key=new_idempotency_key())
            rows = tx.get_fraud_limits()
        assert [r.kind for r in rows] == ["tip", "purchase"]
        assert all(isinstance(r, FraudLimit) for r in rows)
        assert (rows[0].new_account, rows[0].verified_payment, rows[0].max_tokens, rows[0].tokens_today) == (
            True, False, 100, 100
        )  # fmt: skip
        with pytest.raises(PermissionDenied), client.acting_as(people["vic"], reason="peek") as tx:
            tx.get_fraud_limits(people["nat"])
        with client.acting_as(people["mona"], reason="case review") as tx:
            assert tx.get_fraud_limits(people["nat"])[0].tokens_today == 100

    async def read() -> list[FraudLimit]:
        async with AsyncClient(db_url) as aclient, aclient.acting_as(people["mona"], reason="review") as atx:
            return await atx.get_fraud_limits(user_id=people["nat"])

    assert asyncio.run(read()) == rows


def test_cli_fraud_limits(db_url: str, people: dict[str, Any]) -> None:
    result = cli(db_url, "fraud", "limits", "nat", "--as", "mona")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["new_account"]) for r in rows] == [("tip", True), ("purchase", True)]
    table = cli(db_url, "fraud", "limits", "nat", fmt="table")
    assert table.exit_code == 0
    assert "purchase" in table.stdout
    denied = cli(db_url, "fraud", "limits", "nat", "--as", "vic")
    assert denied.exit_code != 0
    assert "LP002" in denied.stderr
