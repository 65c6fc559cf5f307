"""Erasure and retention through the Python client (sync and async) and ``livepanty-db privacy``.

The SQL rules are tested in SQL (tests/sql/test_erasure.sql) and the restore/replay path in
tests/py/test_erasure_restore.py; this checks what the client and the CLI add: typed results (Erasure,
ErasureReplay, UUIDs, datetimes, the retained list), the typed errors (RecentLoginRequired, ErasureBlocked,
PermissionDenied), and each command's exit status and output.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import uuid
from datetime import date, datetime
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from livepanty_db import AsyncClient, Client, Erasure, ErasureReplay, demo, new_idempotency_key
from livepanty_db.cli import main
from livepanty_db.errors import (
    ErasureBlocked,
    InvalidArgument,
    InvalidState,
    LivepantyError,
    PermissionDenied,
    RecentLoginRequired,
)

PASSWORD = "Privacy-first-42"
RETENTION_CATEGORIES = [
    "sessions", "reset_tokens", "viewer_rows", "stream_events", "ip_addresses", "dismissed_reports",
    "kyc_records", "emails",
]  # fmt: skip


def cli(db_url: str, *args: str, fmt: str = "json", stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--dsn", db_url, "--format", fmt, *args], input=stdin)


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
def people(db_url: str) -> dict[str, Any]:
    with Client(db_url) as client:
        admin = client.create_admin(
            email="chief@example.org", username="chief", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        )
        return {"admin": admin.id, "vera": register(client, "vera"), "vic": register(client, "vic")}


def test_a_user_erases_themself_through_a_fresh_login(db_url: str, people: dict[str, Any], seed: Any) -> None:
    with Client(db_url, role="livepanty_app") as app:
        session = app.login("vera", PASSWORD, ip_address="192.0.2.10")
        with app.session(session.token) as tx:
            erasure = tx.request_erasure(reason="bye")
    assert isinstance(erasure, Erasure)
    assert (erasure.user_id, erasure.via, erasure.requested_by, erasure.reason) == (
        people["vera"], "self", people["vera"], "bye"
    )  # fmt: skip
    assert isinstance(erasure.erased_at, datetime)
    assert erasure.erased["sessions"] == 1
    assert erasure.retained == []  # nothing financial, no KYC, no consent
    with psycopg.connect(seed.database_of(people["vera"])) as conn:  # her shard behind a router
        row = conn.execute(
            "SELECT username, deleted_at IS NOT NULL FROM lp.users WHERE id = %s", (people["vera"],)
        ).fetchone()
    assert row is not None
    assert row[0].startswith("erased_")
    assert row[1]


def test_an_old_session_or_the_back_office_cannot_ask(db_url: str, people: dict[str, Any], seed: Any) -> None:
    with Client(db_url, role="livepanty_app") as app:
        session = app.login("vic", PASSWORD)
    seed.execute(
        "UPDATE lp.auth_sessions SET created_at = now() - interval '1 hour' WHERE id = %s",
        (session.session_id,),
        user=people["vic"],
    )
    with (
        Client(db_url, role="livepanty_app") as app,
        pytest.raises(RecentLoginRequired),
        app.session(session.token) as tx,
    ):
        tx.request_erasure()
    with (
        Client(db_url) as client,
        pytest.raises(RecentLoginRequired),
        client.acting_as(people["vic"], reason="test") as tx,
    ):
        tx.request_erasure()


def test_admins_erase_others_and_refusals_are_typed(db_url: str, people: dict[str, Any]) -> None:
    with Client(db_url) as client:
        with pytest.raises(PermissionDenied), client.acting_as(people["vic"], reason="test") as tx:
            tx.erase_user(people["vera"], "no")
        with client.acting_as(people["vera"], reason="test") as tx:
            tx.create_payment("small", "stripe", idempotency_key=new_idempotency_key())
        with pytest.raises(ErasureBlocked) as blocked, client.acting_as(people["admin"], reason="t") as tx:
            tx.erase_user(people["vera"], "mail")
        assert "pending payments" in (blocked.value.detail or "")
        with client.acting_as(people["admin"], reason="test") as tx:
            erasure = tx.erase_user(people["vic"], "ticket 9")
        assert (erasure.via, erasure.requested_by) == ("admin", people["admin"])
        with pytest.raises(InvalidState), client.acting_as(people["admin"], reason="test") as tx:
            tx.erase_user(people["vic"], "twice")
        with Client(db_url, role="livepanty_service") as service:
            log = service.list_erasures()
            assert [e.id for e in log] == [erasure.id]
            replay = service.replay_erasure(log[0])
            assert replay == ErasureReplay(erasure.id, people["vic"], "already_applied")
            with pytest.raises(InvalidArgument):
                service.purge_personal_data("everything")
            assert service.purge_personal_data("sessions") == 0
    with Client(db_url, role="livepanty_app") as app, pytest.raises(LivepantyError):
        app.purge_personal_data("sessions")


def test_async_client_mirrors_the_sync_one(db_url: str, people: dict[str, Any]) -> None:
    async def run() -> tuple[Erasure, list[Erasure], int]:
        async with AsyncClient(db_url) as client, client.acting_as(people["admin"], reason="test") as tx:
            erasure = await tx.erase_user(people["vic"], "async")
        async with AsyncClient(db_url, role="livepanty_service") as service:
            log = await service.list_erasures(limit=10)
            replay = await service.replay_erasure(log[0])
            assert replay.outcome == "already_applied"
            return erasure, log, await service.purge_personal_data("ip_addresses", limit=10)

    erasure, log, purged = asyncio.run(run())
    assert [e.id for e in log] == [erasure.id]
    assert purged == 0


def test_cli_request_erase_log_and_purge(db_url: str, people: dict[str, Any]) -> None:
    on_argv = cli(db_url, "privacy", "request-erasure", "--login", "vera", "--password", PASSWORD)
    assert on_argv.exit_code == 2  # a password on argv shows in ps: no such option
    assert "No such option '--password'" in on_argv.output
    request = ["privacy", "request-erasure", "--login", "vera", "--password-stdin", "--reason", "bye"]
    result = ok(cli(db_url, *request, stdin=PASSWORD + "\n"))
    assert [(r["user_id"], r["via"]) for r in json.loads(result.stdout)] == [(str(people["vera"]), "self")]
    wrong = cli(db_url, "privacy", "request-erasure", "--login", "vic", stdin="wrong-password\n")  # prompted
    assert wrong.exit_code == 1
    assert "LP020" in wrong.stderr

    denied = cli(db_url, "privacy", "erase", "vic", "--reason", "x", "--yes", "--as", "vic")
    assert denied.exit_code == 1
    assert json.loads(denied.stderr)["error"]["code"] == "LP002"
    # An erasure cannot be undone: asked first, and no answer (no terminal) is no.
    unasked = cli(db_url, "privacy", "erase", "vic", "--reason", "ticket 1", "--as", "chief")
    assert unasked.exit_code == 1
    assert "not confirmed: nothing was done" in unasked.stderr
    assert len(json.loads(ok(cli(db_url, "privacy", "log")).stdout)) == 1  # vera's own request only
    ok(cli(db_url, "privacy", "erase", "vic", "--reason", "ticket 1", "--yes", "--as", "chief"))
    table = ok(cli(db_url, "privacy", "log", fmt="table")).stdout
    assert str(people["vic"]) in table
    assert "admin" in table
    assert len(json.loads(ok(cli(db_url, "privacy", "log")).stdout)) == 2

    purged = json.loads(ok(cli(db_url, "privacy", "purge")).stdout)
    assert [r["category"] for r in purged] == RETENTION_CATEGORIES
    assert all(r["batches"] >= 1 for r in purged)
    one = json.loads(ok(cli(db_url, "privacy", "purge", "--category", "sessions", "--limit", "5")).stdout)
    assert [r["category"] for r in one] == ["sessions"]
    bad = cli(db_url, "privacy", "purge", "--category", "everything")
    assert bad.exit_code == 2
    assert "retention_category" in bad.stderr


def test_the_demo_erases_a_leaver_on_every_run(
    db_url: str, seed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's erasure step (livepanty_db.demo, run after the rest of the demo): the demo runs repeatedly
    on one database, and each run registers and erases a new leaver."""
    with Client(db_url, role="livepanty_app") as app, Client(db_url, role="livepanty_service") as service:
        for _ in range(2):
            demo._erasure(app, service)
            out = capsys.readouterr().out
            assert "demo_leaver" in out
            assert "holds 1 row for that id" in out
    found = seed.rows("SELECT count(*) FROM lp.users WHERE email = 'demo-leaver@example.com'")
    assert sum(n for (n,) in found) == 0, "both leavers' e-mail addresses are gone"


def test_concurrent_purge_batches_share_the_work(db_url: str, people: dict[str, Any], seed: Any) -> None:
    """Four workers purging the same category at once: each due row is purged by exactly one of them (the
    batches skip rows another holds), nobody waits on another, and together they purge everything due."""
    seed.execute(
        "INSERT INTO lp.auth_sessions"
        " (user_id, token_hash, ip_address, created_at, last_seen_at, expires_at)"
        " SELECT %s, sha256(convert_to(g::text, 'UTF8')), '203.0.113.99', now() - interval '100 days',"
        " now() - interval '100 days', now() - interval '40 days' FROM generate_series(1, 400) AS g",
        (people["vic"],),
        user=people["vic"],
    )
    barrier = threading.Barrier(4)

    def worker() -> int:
        total = 0
        with Client(db_url, role="livepanty_service") as service:
            barrier.wait()
            while (count := service.purge_personal_data("sessions", limit=25)) > 0:
                total += count
        return total

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        totals = list(pool.map(lambda _: worker(), range(4)))
    assert sum(totals) == 400
    left = seed.rows("SELECT count(*) FROM lp.auth_sessions WHERE ip_address = '203.0.113.99'")
    audited = seed.rows(
        "SELECT sum((details ->> 'purged')::integer) FROM lp.audit_logs WHERE action = 'privacy.purge'"
    )
    assert sum(n for (n,) in left) == 0
    assert sum(n or 0 for (n,) in audited) == 400
