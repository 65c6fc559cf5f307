"""The token economy's operator CLI (wallets, payments, tips, holds, payouts, kyc, config, verify, jobs) and
the demo, through click's CliRunner on a fresh database per test."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql
from psycopg.conninfo import make_conninfo

from livepanty_db import demo, errors
from livepanty_db.cli import main
from livepanty_db.cli import verify as verify_cli
from livepanty_db.client import Client

PASSWORD = "Correct-Horse-42"
NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"


def cli(db_url: str, *args: str, input: str | None = None, fmt: str | None = None) -> Result:
    options = ["--dsn", db_url] + (["--format", fmt] if fmt else [])
    return CliRunner().invoke(main, [*options, *args], input=input)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def rows(result: Result) -> list[dict[str, Any]]:
    return json.loads(ok(result).stdout)


def one(result: Result) -> dict[str, Any]:
    [row] = rows(result)
    return row


def j(db_url: str, *args: str) -> Any:
    """Run a command with --format json and return its parsed output."""
    return json.loads(ok(cli(db_url, *args, fmt="json")).stdout)


def snapshot(db_url: str) -> tuple[Any, ...]:
    """Everything a money command may change: it must stay the same after a refused one."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """
            SELECT (SELECT count(*) FROM lp.ledger),
                   (SELECT coalesce(sum(balance), 0) || '/' || coalesce(sum(reserved), 0) FROM lp.wallets),
                   (SELECT string_agg(status::text, ',' ORDER BY id) FROM lp.payments),
                   (SELECT count(*) FROM lp.tips),
                   (SELECT string_agg(status::text || captured, ',' ORDER BY id) FROM lp.holds),
                   (SELECT string_agg(status::text, ',' ORDER BY id) FROM lp.payouts),
                   (SELECT string_agg(status::text, ',' ORDER BY id) FROM lp.kyc_verifications),
                   (SELECT count(*) FROM lp.adjustments),
                   (SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM lp.settings),
                   (SELECT string_agg(code || tokens || active, ',' ORDER BY code) FROM lp.token_bundles),
                   (SELECT count(*) FROM lp.audit_logs WHERE action <> 'auth.act_as'),
                   (SELECT count(*) FROM lp.idempotency_keys)
            """
        ).fetchone()
    assert row is not None
    return tuple(row)


def create_user(db_url: str, name: str, *extra: str) -> None:
    args = ["--email", f"{name}@example.com", "--username", name, "--password-stdin"]
    ok(cli(db_url, "users", "create", *args, "--dob", "1990-06-01", *extra, input=PASSWORD + "\n"))


def buy(db_url: str, buyer: str, bundle: str = "large") -> dict[str, Any]:
    """A completed purchase: create as the buyer, complete as the service."""
    payment = one(cli(db_url, "payments", "create", "--as", buyer, "--bundle", bundle, fmt="json"))
    assert payment["status"] == "pending"
    reference = f"ref-{uuid.uuid4().hex[:12]}"
    return one(cli(db_url, "payments", "complete", payment["id"], "--reference", reference, fmt="json"))


@pytest.fixture
def economy(db_url: str, seed: Any) -> str:
    """boss (admin), alice (performer, an approved identity verification: the KYC gate of being paid), bob
    (viewer) who bought the large bundle (6000 tokens)."""
    ok(
        cli(
            db_url,
            "admin",
            "create",
            "--email",
            "boss@example.com",
            "--username",
            "boss",
            "--dob",
            "1980-01-01",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
    )
    create_user(db_url, "alice", "--role", "performer", "--display-name", "Alice")
    create_user(db_url, "bob")
    buy(db_url, "bob")
    with psycopg.connect(db_url) as conn:
        alice = conn.execute("SELECT id FROM lp.users WHERE username = 'alice'").fetchone()[0]
    seed.approve_kyc(alice)
    return db_url


def approved_performer(db_url: str, name: str = "alice") -> None:
    """KYC-approved, earnings payable at once, minimum payout 1000."""
    kyc = one(
        cli(
            db_url,
            "kyc",
            "submit",
            "--as",
            name,
            "--document-type",
            "passport",
            "--country",
            "de",
            "--front",
            "s3://kyc-docs/alice/front.jpg",
            fmt="json",
        )
    )
    assert kyc["status"] == "submitted"
    assert [k["id"] for k in j(db_url, "kyc", "pending", "--as", "boss")] == [kyc["id"]]
    approved = one(cli(db_url, "kyc", "approve", kyc["id"], "--as", "boss", fmt="json"))
    assert approved["status"] == "approved"
    ok(cli(db_url, "config", "set", "payouts.hold_days", "0", "--as", "boss"))
    ok(cli(db_url, "config", "set", "payouts.min_tokens", "1000", "--as", "boss"))


# --- payments -----------------------------------------------------------------------------------------------


def test_payments_create_complete_replay_and_list(economy: str) -> None:
    created = cli(economy, "payments", "create", "--as", "bob", "--bundle", "small", fmt="json")
    [payment] = rows(created)
    assert (payment["tokens"], payment["amount_minor"], payment["status"]) == (500, 499, "pending")
    # no --key: a new key is made and printed (stderr) so that the operator can retry with it
    assert "idempotency key: " in created.stderr
    assert payment["idempotency_key"] in created.stderr

    args = ("payments", "complete", payment["id"], "--reference", "psp-1", "--key", "complete-1")
    done = one(cli(economy, *args, fmt="json"))
    assert (done["status"], done["provider_reference"]) == ("completed", "psp-1")
    before = snapshot(economy)
    # a retry with the key: the same answer, flagged as a replay, nothing twice
    assert one(cli(economy, *args, fmt="json")) == {**done, "replayed": True}
    assert done["replayed"] is False
    assert snapshot(economy) == before

    mine = j(economy, "payments", "list", "--user", "bob")
    assert [p["tokens"] for p in mine] == [500, 6000]  # newest first
    assert [p["id"] for p in j(economy, "payments", "list", "--as", "boss", "--status", "completed")] == [
        p["id"] for p in mine
    ]
    assert j(economy, "payments", "list", "--user", "alice") == []
    table = ok(cli(economy, "payments", "list", "--user", "bob")).stdout
    assert "completed" in table
    assert "idempotency_key" not in table  # the table shows the main columns, json and csv all of them
    assert one(cli(economy, "wallets", "show", "bob", fmt="json"))["available"] == 6500


def test_payments_fail_refund_chargeback(economy: str) -> None:
    pending = one(cli(economy, "payments", "create", "--as", "bob", "--bundle", "small", fmt="json"))
    failed = one(cli(economy, "payments", "fail", pending["id"], "--reason", "card declined", fmt="json"))
    assert (failed["status"], failed["failure_reason"]) == ("failed", "card declined")

    refunded = buy(economy, "bob", "medium")
    result = one(cli(economy, "payments", "refund", refunded["id"], "--reason", "asked", fmt="json"))
    assert (result["status"], result["recovered_tokens"]) == ("refunded", 1100)

    charged = buy(economy, "bob", "medium")
    result = one(cli(economy, "payments", "chargeback", charged["id"], "--reason", "fraud", fmt="json"))
    assert (result["status"], result["recovered_tokens"]) == ("chargeback", 1100)
    statuses = [p["status"] for p in j(economy, "payments", "list", "--user", "bob")]
    assert statuses == ["chargeback", "refunded", "failed", "completed"]
    assert one(cli(economy, "wallets", "show", "bob", fmt="json"))["total"] == 6000


# --- wallets ------------------------------------------------------------------------------------------------


def test_wallets_show_history_and_adjust(economy: str) -> None:
    wallet = one(cli(economy, "wallets", "show", "bob", fmt="json"))
    assert (wallet["balance"], wallet["reserved"], wallet["available"], wallet["in_debt"]) == (
        6000,
        0,
        6000,
        False,
    )
    assert one(cli(economy, "wallets", "show", "bob@example.com", "--as", "boss", fmt="json")) == wallet

    credit = one(
        cli(economy, "wallets", "adjust", "bob", "250", "--reason", "goodwill", "--as", "boss", fmt="json")
    )
    assert credit["amount"] == 250
    debit = cli(
        economy, "wallets", "adjust", "bob", "-50", "--reason", "correction", "--key", "adj-2", "--as", "boss"
    )
    assert "-50" in ok(debit).stdout
    assert "idempotency key" not in debit.stderr  # given, so not made up
    assert one(cli(economy, "wallets", "show", "bob", fmt="json"))["available"] == 6200

    entries = j(economy, "wallets", "history", "bob")
    assert [(e["amount"], e["entry_kind"]) for e in entries] == [
        (-50, "adjustment"),
        (250, "adjustment"),
        (6000, "purchase"),
    ]
    assert entries[0]["balance_after"] == 6200
    page = j(economy, "wallets", "history", "bob", "--limit", "2")
    rest = j(economy, "wallets", "history", "bob", "--before", str(page[-1]["id"]), "--as", "boss")
    assert page + rest == entries
    result = ok(cli(economy, "wallets", "history", "bob", "--limit", "1", fmt="csv"))
    [entry] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert entry["amount"] == "-50"
    assert f"--before {entry['id']}" in result.stderr


# --- tips ---------------------------------------------------------------------------------------------------


def test_tips_send_list_and_anonymity(economy: str) -> None:
    tip = one(
        cli(
            economy,
            "tips",
            "send",
            "--as",
            "bob",
            "--to",
            "alice",
            "--amount",
            "100",
            "--message",
            "hi",
            fmt="json",
        )
    )
    assert (tip["amount"], tip["fee_amount"], tip["message"], tip["is_anonymous"]) == (100, 20, "hi", False)
    args = ("tips", "send", "--as", "bob", "--to", "alice", "--amount", "55", "--anonymous", "--key", "t-2")
    first = cli(economy, *args, fmt="json")
    anonymous = one(first)
    assert "replayed" not in first.stderr
    before = snapshot(economy)
    retried = cli(economy, *args)  # replayed, not tipped twice; the table run says so on stderr
    assert "replayed: the answer of an earlier call with this idempotency key" in ok(retried).stderr
    assert anonymous["id"] in retried.stdout
    assert snapshot(economy) == before

    sent = j(economy, "tips", "list", "--as", "bob")
    assert [(t["amount"], t["sender_id"] is not None) for t in sent] == [(55, True), (100, True)]
    received = j(economy, "tips", "list", "--as", "alice", "--received")
    assert [(t["amount"], t["net_amount"], t["sender_id"]) for t in received] == [
        (55, 44, None),  # anonymous: hidden from the performer
        (100, 80, tip["sender_id"]),
    ]
    by_admin = j(economy, "tips", "list", "--as", "boss", "--user", "alice", "--received")
    assert by_admin[0]["sender_id"] == tip["sender_id"]  # never hidden from admins
    assert one(cli(economy, "wallets", "show", "alice", fmt="json"))["total"] == 124


# --- holds --------------------------------------------------------------------------------------------------


def test_holds_place_capture_release_list_and_expire(economy: str) -> None:
    hold = one(
        cli(
            economy,
            "holds",
            "place",
            "--as",
            "bob",
            "--payee",
            "alice",
            "--amount",
            "300",
            "--minutes",
            "30",
            fmt="json",
        )
    )
    assert (hold["amount"], hold["status"], hold["purpose"]) == (300, "open", "private_show")
    assert one(cli(economy, "wallets", "show", "bob", fmt="json"))["reserved"] == 300

    args = ("holds", "capture", hold["id"], "--amount", "100", "--key", "cap-1")
    capture = one(cli(economy, *args, fmt="json"))
    assert (capture["amount"], capture["fee_amount"]) == (100, 20)
    assert one(cli(economy, *args, fmt="json")) == {**capture, "replayed": True}  # replay
    released = one(cli(economy, "holds", "release", hold["id"], fmt="json"))
    assert (released["status"], released["captured"]) == ("released", 100)

    bob = one(cli(economy, "wallets", "show", "bob", fmt="json"))
    assert (bob["total"], bob["reserved"]) == (5900, 0)
    assert one(cli(economy, "wallets", "show", "alice", fmt="json"))["total"] == 80
    assert [h["id"] for h in j(economy, "holds", "list", "--as", "bob")] == [hold["id"]]
    assert [h["status"] for h in j(economy, "holds", "list", "--as", "alice", "--payee")] == ["released"]
    assert j(economy, "holds", "list", "--as", "alice") == []
    assert j(economy, "holds", "list", "--as", "bob", "--status", "open") == []

    assert j(economy, "holds", "expire") == [{"job": "expire_holds", "processed": 0, "batches": 1}]
    result = ok(cli(economy, "holds", "list", "--as", "bob"))
    assert "released" in result.stdout


# --- kyc and payouts ----------------------------------------------------------------------------------------


def test_kyc_and_payouts(economy: str) -> None:
    ok(cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "5000"))  # alice earns 4000
    approved_performer(economy)
    [status] = j(economy, "kyc", "status", "alice", "--as", "boss")
    assert status["status"] == "approved"
    assert j(economy, "kyc", "pending", "--as", "boss") == []

    paid = one(
        cli(
            economy,
            "payouts",
            "request",
            "--as",
            "alice",
            "--tokens",
            "1500",
            "--method",
            "paypal",
            fmt="json",
        )
    )
    assert (paid["status"], paid["amount_minor"], paid["currency"]) == ("requested", 1500, "USD")
    assert (
        one(cli(economy, "payouts", "approve", paid["id"], "--as", "boss", fmt="json"))["status"]
        == "approved"
    )
    send = ("payouts", "send", paid["id"], "--key", "send-1")
    sent = one(cli(economy, *send, fmt="json"))
    assert (sent["status"], sent["sending_at"] is not None) == ("sending", True)
    assert one(cli(economy, *send, fmt="json")) == {**sent, "replayed": True}  # replay
    args = ("payouts", "mark-paid", paid["id"], "--reference", "pp-42", "--key", "paid-1")
    assert one(cli(economy, *args, fmt="json"))["status"] == "paid"
    assert one(cli(economy, *args, fmt="json"))["status"] == "paid"  # replay

    failed = one(
        cli(
            economy, "payouts", "request", "--as", "alice", "--tokens", "1000", "--method", "wire", fmt="json"
        )
    )
    ok(cli(economy, "payouts", "approve", failed["id"], "--as", "boss"))
    ok(cli(economy, "payouts", "send", failed["id"]))
    result = one(cli(economy, "payouts", "mark-failed", failed["id"], "--reason", "bank said no", fmt="json"))
    assert (result["status"], result["failure_reason"]) == ("failed", "bank said no")

    rejected = one(
        cli(
            economy,
            "payouts",
            "request",
            "--as",
            "alice",
            "--tokens",
            "1000",
            "--method",
            "check",
            fmt="json",
        )
    )
    result = one(
        cli(
            economy,
            "payouts",
            "reject",
            rejected["id"],
            "--reason",
            "check again",
            "--as",
            "boss",
            fmt="json",
        )
    )
    assert (result["status"], result["rejection_reason"]) == ("rejected", "check again")

    everyone = j(economy, "payouts", "list", "--as", "boss")
    assert [p["status"] for p in everyone] == ["rejected", "failed", "paid"]
    assert [
        p["id"] for p in j(economy, "payouts", "list", "--user", "alice", "--status", "paid", "--as", "boss")
    ] == [paid["id"]]
    assert one(cli(economy, "wallets", "show", "alice", fmt="json"))["total"] == 2500


def test_kyc_reject(economy: str) -> None:
    args = ("--document-type", "national_id", "--country", "FR", "--front", "s3://kyc-docs/a/f.png")
    kyc = one(
        cli(economy, "kyc", "submit", "--as", "alice", *args, "--back", "s3://kyc-docs/a/b.png", fmt="json")
    )
    result = one(cli(economy, "kyc", "reject", kyc["id"], "--reason", "blurry", "--as", "boss", fmt="json"))
    assert (result["status"], result["rejection_reason"]) == ("declined", "blurry")
    assert j(economy, "kyc", "status", "bob", "--as", "boss") == []


# --- config -------------------------------------------------------------------------------------------------


def test_config_show_set_and_bundle(economy: str) -> None:
    shown = j(economy, "config", "show", "--as", "boss")
    settings = {s["key"]: s["value"] for s in shown["settings"]}
    assert settings["tips.fee_bps"] == 2000
    assert settings["refunds.shortfall_policy"] == "debt"
    assert [b["code"] for b in shown["bundles"]] == ["small", "medium", "large"]

    assert (
        one(cli(economy, "config", "set", "tips.fee_bps", "1500", "--as", "boss", fmt="json"))["value"]
        == 1500
    )
    policy = one(
        cli(economy, "config", "set", "refunds.shortfall_policy", '"write_off"', "--as", "boss", fmt="json")
    )
    assert policy["value"] == "write_off"
    tip = one(cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "100", fmt="json"))
    assert tip["fee_amount"] == 15

    bundle = one(
        cli(
            economy,
            "config",
            "bundle",
            "huge",
            "--tokens",
            "20000",
            "--price-minor",
            "14999",
            "--as",
            "boss",
            fmt="json",
        )
    )
    assert (bundle["code"], bundle["tokens"], bundle["active"]) == ("huge", 20000, True)
    ok(
        cli(
            economy,
            "config",
            "bundle",
            "small",
            "--tokens",
            "500",
            "--price-minor",
            "499",
            "--inactive",
            "--as",
            "boss",
        )
    )
    bundles = {b["code"]: b["active"] for b in j(economy, "config", "show", "--as", "boss")["bundles"]}
    assert bundles == {"small": False, "medium": True, "large": True, "huge": True}

    table = ok(cli(economy, "config", "show", "--as", "boss")).stdout
    assert "== settings" in table
    assert "== bundles" in table
    blocks = ok(cli(economy, "config", "show", "--as", "boss", fmt="csv")).stdout.split("\n\n")
    assert [block.splitlines()[0].split(",")[0] for block in blocks] == ["key", "code"]


# --- jobs ---------------------------------------------------------------------------------------------------


def test_jobs_sweep_and_expire_holds(economy: str) -> None:
    ok(cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "100"))
    before = one(cli(economy, "wallets", "show", "alice", fmt="json"))
    assert (before["balance"], before["pending_credits"]) == (0, 80)
    [result] = j(economy, "jobs", "sweep", "--limit", "10", "--until-done")
    assert result["processed"] == 1
    after = one(cli(economy, "wallets", "show", "alice", fmt="json"))
    assert (after["balance"], after["pending_credits"]) == (80, 0)
    assert j(economy, "jobs", "sweep")[0]["processed"] == 0
    assert j(economy, "jobs", "expire-holds", "--limit", "5")[0]["processed"] == 0


# --- verify -------------------------------------------------------------------------------------------------


def busy_ledger(db_url: str) -> None:
    ok(cli(db_url, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "333"))
    hold = one(cli(db_url, "holds", "place", "--as", "bob", "--payee", "alice", "--amount", "90", fmt="json"))
    ok(cli(db_url, "holds", "capture", hold["id"], "--amount", "40"))
    ok(cli(db_url, "wallets", "adjust", "bob", "7", "--reason", "test", "--as", "boss"))


def test_verify_clean_ledger_exits_0(economy: str) -> None:
    busy_ledger(economy)
    result = ok(cli(economy, "verify", fmt="json"))
    report = json.loads(result.stdout)
    assert report["violations"] == []
    [totals] = report["totals"]
    assert totals["imbalance"] == 0
    assert totals["circulating"] == totals["in_user_wallets"] + totals["in_system_wallets"] == 6000
    assert "no violations" in result.stderr
    assert "verifying" in result.stderr  # the progress bar's label
    # small chunks and periods, one to three connections: the same verdict, all on one snapshot
    for jobs in ("1", "3"):
        small = cli(
            economy, "verify", "--chunk-wallets", "1", "--period-entries", "1", "--jobs", jobs, fmt="json"
        )
        assert json.loads(ok(small).stdout) == report
        assert f"{jobs} connection(s)" in small.stderr
    assert "== violations" in ok(cli(economy, "verify")).stdout


def test_verify_finds_a_corrupted_entry_and_exits_1(economy: str) -> None:
    busy_ledger(economy)
    with psycopg.connect(economy, autocommit=True) as conn:  # the superuser of the test cluster
        conn.execute("ALTER TABLE lp.ledger DISABLE TRIGGER ledger_append_only")
        conn.execute(  # the row's own check wants after = before + amount: a forger keeps it
            "UPDATE lp.ledger SET amount = amount + 1, balance_after = balance_after + 1"
            " WHERE id = (SELECT max(id) FROM lp.ledger)"
        )
        conn.execute("ALTER TABLE lp.ledger ENABLE TRIGGER ledger_append_only")
    reports = []
    for chunk, period, jobs in (("1000", "500000", "2"), ("2", "1", "1"), ("2", "1", "3")):
        result = cli(
            economy,
            "verify",
            "--chunk-wallets",
            chunk,
            "--period-entries",
            period,
            "--jobs",
            jobs,
            fmt="json",
        )
        assert result.exit_code == 1, result.output
        report = json.loads(result.stdout)
        checks = {v["check_name"] for v in report["violations"]}
        assert "transaction_unbalanced" in checks
        assert "violation(s) found" in result.stderr
        reports.append(report)
    assert reports[0] == reports[1] == reports[2]  # the same rows, in the same order, however split
    result = cli(economy, "verify", fmt="csv")
    assert result.exit_code == 1
    assert result.stdout.startswith("check_name,wallet_id,shard,transaction_id,detail\n")


def test_verify_workers_share_the_leaders_snapshot(economy: str) -> None:
    """Workers that import the exported snapshot see the ledger as it was when it was exported: a corruption
    committed afterwards is invisible to every worker, and found by a verification that starts after it."""
    busy_ledger(economy)
    leader_client = verify_cli.snapshot_client(economy)
    with leader_client, leader_client.transaction() as leader:
        [(snapshot,)] = leader.fetch("SELECT pg_catalog.pg_export_snapshot()")
        entries = leader.fetch("SELECT count(*) FROM lp.ledger")[0][0]
        with psycopg.connect(economy, autocommit=True) as conn:  # committed while the snapshot is open
            conn.execute("ALTER TABLE lp.ledger DISABLE TRIGGER ledger_append_only")
            conn.execute(
                "UPDATE lp.ledger SET amount = amount + 1, balance_after = balance_after + 1"
                " WHERE id = (SELECT max(id) FROM lp.ledger)"
            )
            conn.execute("ALTER TABLE lp.ledger ENABLE TRIGGER ledger_append_only")
        work = verify_cli.plan(leader.ledger_stats(chunk_wallets=1), leader.ledger_periods(chunk_entries=1))
        assert len(work) > 6
        seen: list[int] = []
        found = verify_cli.run_parallel(
            leader, economy, snapshot, 3, work, lambda item: seen.append(item.size)
        )
        assert found == []
        assert len(seen) == len(work)
        worker_client = verify_cli.snapshot_client(economy)
        with (
            worker_client,
            worker_client.transaction(
                isolation="repeatable read", read_only=True, snapshot=snapshot
            ) as worker,
        ):
            assert worker.fetch("SELECT count(*) FROM lp.ledger")[0][0] == entries
            assert worker.verify_ledger() == []
    result = cli(economy, "verify", "--jobs", "3", fmt="json")
    assert result.exit_code == 1, result.output
    with (
        Client(economy) as client,
        pytest.raises(ValueError, match="repeatable read"),
        client.transaction(snapshot=snapshot),
    ):
        pass


# --- the service role is really used ------------------------------------------------------------------------


@pytest.fixture
def ops_login(economy: str) -> Iterator[tuple[str, str]]:
    """A non-superuser login role (cluster-wide, so dropped afterwards): (its DSN, its name)."""
    name = f"lp_ops_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(economy, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    try:
        yield make_conninfo(economy, user=name), name
    finally:
        with psycopg.connect(economy, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_service_commands_run_as_livepanty_service(economy: str, ops_login: tuple[str, str]) -> None:
    dsn, name = ops_login
    pending = one(cli(economy, "payments", "create", "--as", "bob", "--bundle", "small", fmt="json"))
    before = snapshot(economy)
    for args in (
        ("payments", "complete", pending["id"], "--reference", "r-1"),
        ("verify",),
        ("jobs", "sweep"),
    ):
        result = cli(dsn, *args)
        assert result.exit_code == 1, result.output
        assert "error [42501]: permission denied to set role" in result.stderr, result.stderr
    assert snapshot(economy) == before

    with psycopg.connect(economy, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT livepanty_service TO {}").format(sql.Identifier(name)))
    assert one(cli(dsn, "payments", "complete", pending["id"], "--reference", "r-1", fmt="json"))[
        "status"
    ] == ("completed")
    assert json.loads(ok(cli(dsn, "verify", fmt="json")).stdout)["violations"] == []


# --- refusals -----------------------------------------------------------------------------------------------


@pytest.fixture
def refusable(economy: str) -> dict[str, str]:
    """Objects the refusal cases point at: a completed payment, a hold, alice's requested payout."""
    [payment] = j(economy, "payments", "list", "--user", "bob")
    hold = one(
        cli(economy, "holds", "place", "--as", "bob", "--payee", "alice", "--amount", "100", fmt="json")
    )
    ok(cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "2000", "--key", "tip-1"))
    ok(cli(economy, "wallets", "adjust", "bob", "5", "--reason", "x", "--key", "adj-1", "--as", "boss"))
    approved_performer(economy)
    payout = one(
        cli(
            economy, "payouts", "request", "--as", "alice", "--tokens", "1000", "--method", "wire", fmt="json"
        )
    )
    return {"economy": economy, "payment": payment["id"], "hold": hold["id"], "payout": payout["id"]}


REFUSALS = [
    (["tips", "send", "--as", "bob", "--to", "boss", "--amount", "10"], "LP102"),
    (["tips", "send", "--as", "bob", "--to", "alice", "--amount", "0"], "LP103"),
    (["tips", "send", "--as", "alice", "--to", "alice", "--amount", "10"], "LP101"),
    (["tips", "send", "--as", "bob", "--to", "alice", "--amount", "999999"], "LP100"),
    (["tips", "send", "--as", "bob", "--to", "alice", "--amount", "2001", "--key", "tip-1"], "LP106"),
    (["tips", "send", "--as", "bob", "--to", "nobody", "--amount", "10"], "LP003"),
    # bad arguments PostgreSQL (or the driver, for a NUL character) refuses: InvalidArgument, nothing done
    (["tips", "send", "--as", "bob", "--to", "alice", "--amount", "10", "--message", "a\x00b"], "22021"),
    (["tips", "send", "--as", "bob", "--to", "alice", "--amount", "99999999999999999999"], "22003"),
    (["tips", "list", "--as", "bob", "--user", "alice"], "LP002"),
    (["wallets", "show", "alice", "--as", "bob"], "LP003"),
    (["wallets", "adjust", "bob", "100", "--reason", "x", "--as", "alice"], "LP002"),
    (["wallets", "adjust", "boss", "100", "--reason", "x", "--as", "boss"], "LP002"),
    (["wallets", "adjust", "bob", "6", "--reason", "x", "--key", "adj-1", "--as", "boss"], "LP106"),
    (["wallets", "adjust", "bob", "-99999", "--reason", "x", "--as", "boss"], "LP100"),
    (["wallets", "history", "bob", "--limit", "0"], "LP018"),
    (["payments", "create", "--as", "bob", "--bundle", "gold"], "LP113"),
    (["payments", "complete", "{payment}", "--reference", "again"], "LP004"),
    (["payments", "refund", NO_SUCH_ID, "--reason", "x"], "LP003"),
    (["payments", "list", "--user", "alice", "--as", "bob"], "LP002"),
    (["holds", "capture", "{hold}", "--amount", "101"], "LP110"),
    (["holds", "place", "--as", "bob", "--payee", "alice", "--amount", "0"], "LP103"),
    (["holds", "place", "--as", "bob", "--payee", "bob", "--amount", "10"], "LP101"),
    (["payouts", "request", "--as", "bob", "--tokens", "1000", "--method", "wire"], "LP102"),
    (["payouts", "request", "--as", "alice", "--tokens", "999999", "--method", "wire"], "LP112"),
    (["payouts", "approve", "{payout}", "--as", "alice"], "LP002"),
    (["payouts", "mark-paid", "{payout}", "--reference", "x"], "LP004"),
    (["payouts", "send", "{payout}"], "LP004"),
    (["kyc", "pending", "--as", "bob"], "LP002"),
    (["kyc", "approve", NO_SUCH_ID, "--as", "boss"], "LP003"),
    (["config", "set", "tips.fee_bps", "20000", "--as", "boss"], "LP092"),
    (["config", "set", "tips.nothing", "1", "--as", "boss"], "LP091"),
    (["config", "show", "--as", "alice"], "LP002"),
    (["config", "bundle", "small", "--tokens", "0", "--price-minor", "1", "--as", "boss"], "LP103"),
    (["jobs", "sweep", "--limit", "0"], "LP018"),
    (["verify", "--chunk-wallets", "5"], None),  # control: allowed, exit 0
]


@pytest.mark.parametrize(("args", "code"), REFUSALS)
def test_refused_calls_exit_1_with_the_code_and_change_nothing(
    refusable: dict[str, str], args: list[str], code: str | None
) -> None:
    economy = refusable["economy"]
    args = [arg.format(**refusable) for arg in args]
    before = snapshot(economy)
    result = cli(economy, *args)
    assert snapshot(economy) == before
    if code is None:
        ok(result)
        return
    assert result.exit_code == 1, result.output
    assert f"error [{code}]: " in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    # A refused call did nothing: no made-up idempotency key is offered for a retry.
    assert "to retry this call safely" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        [
            "config",
            "set",
            "refunds.shortfall_policy",
            "write_off",
            "--as",
            "boss",
        ],  # a JSON string needs quotes
        ["tips", "send", "--to", "alice", "--amount", "5"],  # --as is required
        ["payments", "list"],  # whose? --user or --as
        ["wallets", "adjust", "bob", "ten", "--reason", "x", "--as", "boss"],
        ["payouts", "request", "--as", "alice", "--tokens", "1000", "--method", "cash"],
        ["verify", "--chunk-wallets", "0"],
    ],
)
def test_usage_errors_exit_2(economy: str, args: list[str]) -> None:
    before = snapshot(economy)
    result = cli(economy, *args)
    assert result.exit_code == 2, result.output
    assert snapshot(economy) == before


# --- the demo -----------------------------------------------------------------------------------------------


def test_demo_runs_twice_on_a_fresh_database(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo.run(db_url)
    first = capsys.readouterr().out
    demo.run(db_url)
    second = capsys.readouterr().out
    for output in (first, second):
        assert "no violations" in output
        assert "payouts.hold_days" in output
        assert "paula ended it: 1 unique viewer(s), 3 tips, 200 tokens" in output
        assert "paid the escrow out to paula: 3 tip(s)" in output
        assert "captured 60 tokens: 3 completed minutes" in output
        kinds = ("goal_started", "menu_item", "goal_reached", "show_requested", "show_started", "show_ended")
        for kind in kinds:
            assert kind in output
        assert "stream_started" in output
        assert "stream_ended" in output
    assert "exists already" in second
    with psycopg.connect(db_url) as conn:
        paid = conn.execute("SELECT count(*) FROM lp.payouts WHERE status = 'paid'").fetchone()
    assert paid == (2,)
    assert json.loads(ok(cli(db_url, "verify", fmt="json")).stdout)["violations"] == []


def test_wallets_limits_view_and_set_for_a_user(economy: str) -> None:
    assert j(economy, "wallets", "limits", "bob") == []
    lowered = one(cli(economy, "wallets", "set-limit", "bob", "daily", "500", fmt="json"))
    assert (lowered["period"], lowered["limit_tokens"]) == ("daily", 500)  # lowering applies at once
    [daily] = j(economy, "wallets", "limits", "bob")
    assert (daily["limit_tokens"], daily["spent"], daily["remaining"]) == (500, 0, 500)
    raised = cli(economy, "wallets", "set-limit", "bob", "daily", "none", fmt="json")
    assert one(raised)["pending_effective_at"] is not None  # a removal waits for the cooling-off period
    assert "cooling-off" in raised.stderr
    # The limit is the user's own: a tip over it is refused.
    refused = cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "600")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error [LP105]: ")
    bad = cli(economy, "wallets", "set-limit", "bob", "daily", "lots")
    assert bad.exit_code == 2
    assert cli(economy, "wallets", "set-limit", "bob", "hourly", "5").exit_code == 2


@pytest.mark.parametrize(
    ("failure", "note"),
    [
        (errors.TransientError("could not serialize access", sqlstate="40001"), True),
        (errors.TransientError("deadlock detected", sqlstate="40P01"), True),
        (errors.TransientError("canceling statement due to lock timeout", sqlstate="55P03"), True),
        (errors.TransientError("canceling statement due to statement timeout", sqlstate="57014"), True),
        (errors.ConnectionFailed("server closed the connection unexpectedly", sqlstate="08006"), True),
        (errors.ShardUnavailable("shard 1 did not answer"), True),
        (errors.PermissionDenied("permission denied for function tip", sqlstate="42501"), False),
        (errors.ConstraintViolation("duplicate key value", sqlstate="23505"), False),
        (errors.ConstraintViolation("violates check constraint", sqlstate="23514"), False),
        (errors.DatabaseError("function api.tip does not exist", sqlstate="42883"), False),
        (errors.InsufficientFunds("not enough tokens"), False),
        (errors.InvalidArgument("invalid input syntax", sqlstate="22P02"), False),
    ],
    ids=lambda v: v.sqlstate if isinstance(v, errors.LivepantyError) else str(v),
)
def test_a_made_up_key_is_offered_for_a_retry_only_after_a_transient_failure(
    economy: str, monkeypatch: pytest.MonkeyPatch, failure: errors.LivepantyError, note: bool
) -> None:
    """The made-up idempotency key is printed with "to retry this call safely" after a failure that may pass
    (40001, 40P01, 55P03, 57014, a lost connection, LP200), never after one a retry cannot help: an integrity
    violation (class 23), insufficient privilege (42501) or any other refusal."""
    from livepanty_db.client import Transaction

    def refused(self: Transaction, *args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(Transaction, "tip", refused)
    result = cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "10")
    assert result.exit_code == 1, result.output
    assert f"error [{failure.sqlstate}]: " in result.stderr, result.stderr
    assert ("idempotency key: " in result.stderr) is note, result.stderr
    assert ("to retry this call safely" in result.stderr) is note, result.stderr


def test_an_interrupted_money_command_still_prints_its_made_up_key(
    economy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the tip's call is on its way (its COMMIT may have happened): the command stops (exit 1,
    no traceback) and still prints the idempotency key it made up, the only way to retry without tipping
    twice."""
    from livepanty_db.client import Transaction

    made = Transaction.tip

    def tip_then_interrupted(self: Transaction, *args: Any, **kwargs: Any) -> Any:
        made(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Transaction, "tip", tip_then_interrupted)
    tips_before = len(j(economy, "tips", "list", "--as", "bob"))
    result = cli(economy, "tips", "send", "--as", "bob", "--to", "alice", "--amount", "10")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    found = re.search(r"idempotency key: (\S+) ", result.stderr)
    assert found, result.stderr
    monkeypatch.setattr(Transaction, "tip", made)
    for _ in range(
        2
    ):  # (interrupted before its COMMIT here: made by the first retry, replayed by the second)
        ok(
            cli(
                economy,
                "tips",
                "send",
                "--as",
                "bob",
                "--to",
                "alice",
                "--amount",
                "10",
                "--key",
                found.group(1),
            )
        )
    assert len(j(economy, "tips", "list", "--as", "bob")) == tips_before + 1
