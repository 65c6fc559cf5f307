"""The review queue through the Python client (sync and async) and the CLI groups ``reports`` and ``flags``.

The rules are tested in SQL (tests/sql/test_review_queue.sql); this checks what the client adds: typed errors
(CannotReportSelf, AlreadyReported, CaseClaimedByOther, CaseNotClaimed, PermissionDenied), the models the
methods return, the async mirror, and the CLI commands with their json, csv and table output.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner, Result

from livepanty_db import AsyncClient, Client
from livepanty_db.cli import main
from livepanty_db.errors import (
    AlreadyReported,
    CannotReportSelf,
    CaseClaimedByOther,
    CaseNotClaimed,
    PermissionDenied,
)
from livepanty_db.models import CaseDecision, ModerationFlag, ReportFiling, ReviewCase, ReviewQueueEntry

PASSWORD = "Review-queue-42"


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
        people = {name: register(client, name) for name in ("mona", "max", "vic", "wes", "xena")}
        admin = client.create_admin(
            email="chief@example.org", username="chief", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        )
        with client.acting_as(admin.id, reason="staff") as tx:
            for name in ("mona", "max"):
                tx.set_user_role(people[name], "moderator")
    return people


def test_report_claim_resolve_sync(db_url: str, people: dict[str, uuid.UUID]) -> None:
    with Client(db_url, role="livepanty_service") as client:
        with client.acting_as(people["vic"], reason="report") as tx:
            filing = tx.report("user", people["wes"], "harassment", "insults")
        assert isinstance(filing, ReportFiling)
        assert filing.trusted
        with pytest.raises(CannotReportSelf), client.acting_as(people["vic"], reason="report") as tx:
            tx.report("profile", people["vic"], "spam")
        with pytest.raises(AlreadyReported), client.acting_as(people["vic"], reason="report") as tx:
            tx.report("user", people["wes"], "harassment")
        with client.acting_as(people["xena"], reason="report") as tx:
            assert tx.report("user", people["wes"], "harassment").case_id == filing.case_id
        with pytest.raises(PermissionDenied), client.acting_as(people["vic"], reason="peek") as tx:
            tx.review_queue()

        with client.acting_as(people["mona"], reason="queue") as tx:
            queue = tx.review_queue()
            assert [(e.case_id, e.reporter_count, e.overdue) for e in queue] == [(filing.case_id, 2, False)]
            assert isinstance(queue[0], ReviewQueueEntry)
            case = tx.claim_case()
        assert isinstance(case, ReviewCase)
        assert case.id == filing.case_id
        assert case.status == "in_review"
        with client.acting_as(people["max"], reason="queue") as tx:
            assert tx.claim_case() is None
        with pytest.raises(CaseClaimedByOther), client.acting_as(people["max"], reason="queue") as tx:
            tx.resolve_case(case.id, "dismiss", "f", "r")
        with client.acting_as(people["mona"], reason="queue") as tx:
            assert tx.extend_case_claim(case.id).claim_expires_at is not None
            resolved = tx.resolve_case(case.id, "warn", "Insults in chat.", "Rule 2: harassment")
        assert (resolved.status, resolved.action) == ("resolved", "warn")
        assert resolved.decision is not None
        assert resolved.decision["automated"] is False
        with client.acting_as(people["xena"], reason="report") as tx:
            spam = tx.report("user", people["wes"], "spam")
        with pytest.raises(CaseNotClaimed), client.acting_as(people["mona"], reason="queue") as tx:
            tx.release_case(spam.case_id)
        with client.acting_as(people["wes"], reason="read") as tx:
            decisions = tx.my_case_decisions()
        assert [(d.case_id, d.action, d.rule) for d in decisions] == [(case.id, "warn", "Rule 2: harassment")]
        assert isinstance(decisions[0], CaseDecision)
        assert client.escalate_cases() == 0


def test_flags_and_precision_async(db_url: str, people: dict[str, uuid.UUID]) -> None:
    async def scenario() -> tuple[ModerationFlag, ModerationFlag, list[Any]]:
        async with AsyncClient(db_url, role="livepanty_service") as service:
            ignored = await service.raise_flag("vision-v9", "nudity", Decimal("0.2"), "profile",
                                               user_id=people["wes"])  # fmt: skip
            queued = await service.raise_flag(
                "vision-v9", "spam", 0.95, "profile", "bio", user_id=people["wes"], details={"model": "v9"}
            )
            async with service.acting_as(people["max"], reason="queue") as tx:
                case = await tx.claim_case()
                assert case is not None
                assert case.id == queued.case_id
                await tx.resolve_case(case.id, "dismiss", "An ordinary bio.", "No rule broken")
                precision = await tx.detector_precision()
            return ignored, queued, precision

    ignored, queued, precision = asyncio.run(scenario())
    assert (ignored.disposition, ignored.case_id) == ("ignored", None)
    assert queued.disposition == "queued"
    assert queued.details == {"model": "v9"}
    assert [(p.detector, p.confirmed, p.dismissed, p.precision_ratio) for p in precision] == [
        ("vision-v9", 0, 1, Decimal("0"))
    ]


def test_cli_reports_and_flags(db_url: str, people: dict[str, uuid.UUID]) -> None:
    filed = cli(db_url, "reports", "file", "user", str(people["wes"]), "--reason", "spam", "--as", "vic")
    assert filed.exit_code == 0, filed.stderr
    case_id = json.loads(filed.stdout)[0]["case_id"]
    self_report = cli(db_url, "reports", "file", "user", str(people["vic"]), "--reason", "spam",
                      "--as", "vic")  # fmt: skip
    assert self_report.exit_code != 0
    assert "LP140" in self_report.stderr
    bad_reason = cli(db_url, "reports", "file", "user", str(people["wes"]), "--reason", "rude", "--as", "vic")
    assert bad_reason.exit_code != 0

    queue = cli(db_url, "reports", "queue", "--as", "mona")
    assert queue.exit_code == 0, queue.stderr
    assert [row["case_id"] for row in json.loads(queue.stdout)] == [case_id]
    table = cli(db_url, "reports", "queue", "--as", "mona", fmt="table")
    assert table.exit_code == 0
    assert "priority_score" in table.stdout
    csv = cli(db_url, "reports", "queue", "--overdue", "--as", "mona", fmt="csv")
    assert csv.exit_code == 0
    assert csv.stdout.startswith("case_id,")

    claimed = cli(db_url, "reports", "claim", "--as", "mona")
    assert claimed.exit_code == 0, claimed.stderr
    assert json.loads(claimed.stdout)[0]["id"] == case_id
    other = cli(db_url, "reports", "resolve", case_id, "--action", "dismiss", "--facts", "f", "--rule", "r",
                "--as", "max")  # fmt: skip
    assert other.exit_code != 0
    assert "LP142" in other.stderr
    resolved = cli(db_url, "reports", "resolve", case_id, "--action", "warn", "--facts", "Spam links.",
                   "--rule", "Rule 5: spam", "--as", "mona")  # fmt: skip
    assert resolved.exit_code == 0, resolved.stderr
    assert json.loads(resolved.stdout)[0]["status"] == "resolved"
    decisions = cli(db_url, "reports", "decisions", "--as", "wes")
    assert decisions.exit_code == 0, decisions.stderr
    assert [(d["case_id"], d["rule"]) for d in json.loads(decisions.stdout)] == [(case_id, "Rule 5: spam")]
    escalated = cli(db_url, "reports", "escalate")
    assert escalated.exit_code == 0
    assert escalated.stdout.strip() == "0"

    flag = cli(db_url, "flags", "raise", "vision-v9", "violence", "0.75", "--content-type", "profile",
               "--user", str(people["xena"]), "--details", '{"frame": 3}')  # fmt: skip
    assert flag.exit_code == 0, flag.stderr
    assert json.loads(flag.stdout)[0]["disposition"] == "queued"
    bad = cli(db_url, "flags", "raise", "vision-v9", "violence", "1.5", "--content-type", "profile",
              "--user", str(people["xena"]))  # fmt: skip
    assert bad.exit_code != 0
    assert "LP018" in bad.stderr
    precision = cli(db_url, "flags", "precision", "--as", "mona")
    assert precision.exit_code == 0, precision.stderr
    assert json.loads(precision.stdout) == []  # nothing decided yet


def test_demo_report_and_flag_is_rerunnable(
    db_url: str, seed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's review queue part (livepanty_db.demo._report_and_flag) runs twice on one database."""
    from livepanty_db import demo

    with Client(db_url) as dba:
        admin_id = dba.create_admin(
            email="demo_admin@example.com", username="demo_admin", password=PASSWORD,
            date_of_birth=date(1990, 1, 1),
        ).id  # fmt: skip
        with Client(db_url, role="livepanty_app") as app, Client(db_url, role="livepanty_service") as service:
            demo._report_and_flag(app, service, dba, admin_id)
            demo._report_and_flag(app, service, dba, admin_id)
    out = capsys.readouterr().out
    assert out.count("demo_moderator claimed it") == 2
    rows = seed.rows(  # behind a router, every shard's (a report lives on its target's shard)
        "SELECT r.created_at, r.status::text, r.action::text, r.reporter_count, r.flag_count"
        " FROM lp.reports AS r JOIN lp.users AS u ON u.id = r.reported_user_id"
        " WHERE u.username = 'demo_spammer'"
    )
    assert [row[1:] for row in sorted(rows)] == [("resolved", "warn", 1, 1), ("resolved", "warn", 1, 1)]
