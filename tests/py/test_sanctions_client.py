"""Sanctions and appeals through the Python client (sync and async) and the CLI groups sanctions and appeals.

The SQL rules are tested in SQL (tests/sql/test_sanctions.sql) and the coverage of the check in
tests/py/test_sanction_coverage.py; this checks what the client and the CLI add: typed results (Sanction,
SanctionAppeal, MySanction, AppealQueueEntry), the typed errors (SanctionForbids, AlreadyAppealed,
AppealWindowClosed, PermissionDenied), and each command's exit status and output.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from livepanty_db import (
    AppealQueueEntry,
    AsyncClient,
    Client,
    MySanction,
    Sanction,
    SanctionAppeal,
    demo,
    new_idempotency_key,
)
from livepanty_db.cli import main
from livepanty_db.errors import AlreadyAppealed, AppealWindowClosed, PermissionDenied, SanctionForbids

PASSWORD = "Sanctioned-but-fair-42"


def cli(db_url: str, *args: str, fmt: str = "json") -> Result:
    return CliRunner().invoke(main, ["--dsn", db_url, "--format", fmt, *args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def register(client: Client, name: str, role: str = "viewer") -> uuid.UUID:
    user = client.register_user(
        email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1),
        role=role,
    )  # fmt: skip
    return user.id


@pytest.fixture
def people(db_url: str, seed: Any) -> dict[str, Any]:
    with Client(db_url) as client:
        admin = client.create_admin(
            email="chief@example.org", username="chief", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        )
        people = {
            "admin": admin.id,
            "mona": register(client, "mona"),
            "max": register(client, "max"),
            "pia": register(client, "pia", "performer"),
            "vic": register(client, "vic"),
        }
        with client.acting_as(admin.id, reason="staff") as tx:
            for name in ("mona", "max"):
                tx.set_user_role(people[name], "moderator")
    seed.approve_kyc(people["pia"])
    seed.fund(1000, people["vic"])
    return people


def test_a_sanction_its_refusal_an_appeal_and_its_decision(db_url: str, people: dict[str, Any]) -> None:
    with Client(db_url) as client:
        with client.acting_as(people["mona"], reason="ticket 1") as tx:
            sanction = tx.sanction_user(people["vic"], "tip_block", "card testing")
        assert isinstance(sanction, Sanction)
        assert (sanction.sanction_type, sanction.issued_by, sanction.review_on_expiry) == (
            "tip_block", people["mona"], False
        )  # fmt: skip
        with pytest.raises(SanctionForbids) as refused, client.acting_as(people["vic"], reason="t") as tx:
            tx.tip(people["pia"], 10, idempotency_key=new_idempotency_key())
        assert refused.value.code == "LP150"
        assert str(sanction.id) in (refused.value.hint or "")

        with client.acting_as(people["vic"], reason="support ticket 2") as tx:
            mine = tx.my_sanctions()
            assert [type(m) for m in mine] == [MySanction]
            assert (mine[0].sanction_id, mine[0].forbids, mine[0].in_force) == (
                sanction.id,
                ["tip", "hold"],
                True,
            )
            assert isinstance(mine[0].appealable_until, datetime)
            appeal = tx.appeal_sanction(sanction.id, "The card is mine; the bank confirms it.")
        assert isinstance(appeal, SanctionAppeal)
        assert (appeal.status, appeal.decided_at) == ("pending", None)
        with pytest.raises(AlreadyAppealed), client.acting_as(people["vic"], reason="t") as tx:
            tx.appeal_sanction(sanction.id, "again")

        with pytest.raises(PermissionDenied), client.acting_as(people["mona"], reason="t") as tx:
            tx.decide_appeal(appeal.id, True, "mine to decide?")
        with client.acting_as(people["max"], reason="ticket 3") as tx:
            queue = tx.list_appeals()
            assert [(type(q), q.appeal_id, q.may_decide) for q in queue] == [
                (AppealQueueEntry, appeal.id, True)
            ]
            decided = tx.decide_appeal(appeal.id, True, "The bank confirmed it.")
        assert (decided.status, decided.decided_by, decided.decision_reasons) == (
            "granted", people["max"], "The bank confirmed it."
        )  # fmt: skip
        with client.acting_as(people["vic"], reason="t") as tx:
            assert tx.my_sanctions() == []
            (past,) = tx.my_sanctions(include_past=True)
            assert (past.appeal_status, past.in_force) == ("granted", False)
            assert (past.decided_by_label or "").startswith("moderator #")
            tx.tip(people["pia"], 10, idempotency_key=new_idempotency_key())


def test_the_appeal_window_is_a_typed_error(db_url: str, people: dict[str, Any], seed: Any) -> None:
    with Client(db_url) as client:
        with client.acting_as(people["mona"], reason="t") as tx:
            sanction = tx.sanction_user(people["vic"], "mute", "slurs")
        seed.execute(
            "UPDATE lp.user_sanctions SET starts_at = now() - interval '30 days' WHERE id = %s",
            (sanction.id,),
            user=people["vic"],
        )
        with pytest.raises(AppealWindowClosed), client.acting_as(people["vic"], reason="t") as tx:
            tx.appeal_sanction(sanction.id, "too late")


def test_the_async_client_mirrors_it(db_url: str, people: dict[str, Any]) -> None:
    async def run() -> None:
        async with AsyncClient(db_url) as client:
            async with client.acting_as(people["admin"], reason="t") as tx:
                sanction = await tx.sanction_user(
                    people["pia"], "suspension", "cool down", ends_at=datetime.now(UTC) + timedelta(hours=1),
                    review_on_expiry=True,
                )  # fmt: skip
            assert sanction.review_on_expiry is True
            async with client.acting_as(people["pia"], reason="t") as tx:
                appeal = await tx.appeal_sanction(sanction.id, "please")
                assert [m.appeal_id for m in await tx.my_sanctions()] == [appeal.id]
            async with client.acting_as(people["mona"], reason="t") as tx:
                assert [q.appeal_id for q in await tx.list_appeals(None)] == [appeal.id]
                denied = await tx.decide_appeal(appeal.id, False, "Repeated.")
            assert denied.status == "denied"
            async with client.acting_as(people["admin"], reason="t") as tx:
                assert (await tx.revoke_sanction(sanction.id, "done")).revoked_at is not None
        async with AsyncClient(db_url, role="livepanty_service") as service:
            assert await service.expire_sanctions() == 0

    asyncio.run(run())


def test_cli_sanctions_and_appeals(db_url: str, people: dict[str, Any]) -> None:
    issued = json.loads(
        ok(
            cli(
                db_url,
                "sanctions",
                "issue",
                "vic",
                "--type",
                "payout_hold",
                "--reason",
                "review",
                "--as",
                "mona",
            )
        ).stdout
    )
    assert [(r["sanction_type"], r["reason"]) for r in issued] == [("payout_hold", "review")]
    sanction_id = issued[0]["id"]
    listed = json.loads(ok(cli(db_url, "sanctions", "list", "vic")).stdout)
    assert [(r["sanction_id"], r["forbids"]) for r in listed] == [(sanction_id, ["payout"])]
    table = ok(cli(db_url, "sanctions", "list", "vic", fmt="table")).stdout
    assert "payout_hold" in table

    filed = json.loads(
        ok(cli(db_url, "appeals", "file", sanction_id, "--statement", "why?", "--as", "vic")).stdout
    )
    appeal_id = filed[0]["id"]
    again = cli(db_url, "appeals", "file", sanction_id, "--statement", "again", "--as", "vic")
    assert again.exit_code == 1
    assert "LP152" in again.stderr
    queue = json.loads(ok(cli(db_url, "appeals", "list", "--as", "mona")).stdout)
    assert [(q["appeal_id"], q["may_decide"]) for q in queue] == [(appeal_id, False)]
    refused = cli(db_url, "appeals", "decide", appeal_id, "--grant", "--reasons", "ok", "--as", "mona")
    assert refused.exit_code == 1
    assert "LP002" in refused.stderr
    decided = json.loads(
        ok(cli(db_url, "appeals", "decide", appeal_id, "--deny", "--reasons", "kept", "--as", "max")).stdout
    )
    assert decided[0]["status"] == "denied"
    csv = ok(cli(db_url, "appeals", "list", "--all", "--as", "chief", fmt="csv")).stdout
    assert csv.splitlines()[0].startswith("appeal_id,")
    revoked = json.loads(
        ok(cli(db_url, "sanctions", "revoke", sanction_id, "--reason", "cleared", "--as", "chief")).stdout
    )
    assert revoked[0]["revoked_at"] is not None
    assert ok(cli(db_url, "sanctions", "expire")).stdout.strip() == "0"
    job = json.loads(ok(cli(db_url, "jobs", "expire-sanctions", "--until-done")).stdout)
    assert job == [{"job": "expire_sanctions", "processed": 0, "batches": 1}]
    refused = cli(db_url, "jobs", "expire-sanctions", "--limit", "0")
    assert refused.exit_code == 1
    assert "LP018" in refused.stderr
    bad = cli(db_url, "sanctions", "issue", "vic", "--type", "nap", "--reason", "x", "--as", "mona")
    assert bad.exit_code == 2


def test_the_demo_sanctions_and_appeals_on_every_run(
    db_url: str, seed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's sanction step (livepanty_db.demo): a tip_block refused, appealed, granted by a moderator who
    did not issue it; safe to run again (a new sanction each run)."""
    with (
        Client(db_url) as dba,
        Client(db_url, role="livepanty_app") as app,
        Client(db_url, role="livepanty_service") as service,
    ):
        admin_id = dba.create_admin(
            email="demo-admin@example.com",
            username="demo_admin",
            password=PASSWORD,
            date_of_birth=date(1985, 1, 1),
        ).id
        for _ in range(2):
            demo._sanction_and_appeal(app, service, dba, admin_id)
            out = capsys.readouterr().out
            assert "refused, LP150 SanctionForbids" in out
            assert "may_decide=True" in out
            assert "granted" in out
    counts = seed.rows(  # one row per database: behind a router, each shard's
        "SELECT count(*), count(s.revoked_at) FROM lp.user_sanctions AS s"
        " JOIN lp.users AS u ON u.id = s.user_id WHERE u.username = 'demo_tipper'"
    )
    assert (sum(c for c, _ in counts), sum(r for _, r in counts)) == (2, 2)
