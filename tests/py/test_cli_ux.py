"""The CLI as a DBA uses it: ids checked before any call, tables that fit a terminal (--wide for every
column), hints that name CLI commands instead of SQL functions, progress of the long jobs on stderr."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from livepanty_db.cli import common, main, output
from livepanty_db.client import Client
from livepanty_db.models import GoalSettlement, ShowBilling

#: Nothing listens there: a command that reached the database would fail with exit status 1, not 2.
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


# --- ids are checked by the CLI -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["payments", "complete", "abc", "--reference", "r"], "PAYMENT_ID"),
        (["payments", "list", "--user", "bob", "--after", "abc"], "--after"),
        (["holds", "capture", "abc", "--amount", "1"], "HOLD_ID"),
        (["holds", "place", "--as", "bob", "--payee", "x", "--amount", "1", "--stream", "abc"], "--stream"),
        (["payouts", "approve", "abc", "--as", "boss"], "PAYOUT_ID"),
        (["streams", "end", "abc", "--as", "alice"], "STREAM_ID"),
        (["streams", "show-join", "abc", "--as", "bob"], "SHOW_ID"),
        (
            ["reports", "resolve", "abc", "--action", "dismiss", "--facts", "f", "--rule", "r", "--as", "m"],
            "CASE_ID",
        ),
        (["sanctions", "revoke", "abc", "--reason", "r", "--as", "boss"], "SANCTION_ID"),
        (["appeals", "decide", "abc", "--grant", "--reasons", "r", "--as", "boss"], "APPEAL_ID"),
        (["kyc", "approve", "abc", "--as", "boss"], "VERIFICATION_ID"),
        (["sessions", "revoke", "abc", "--as", "boss"], "SESSION_ID"),
        (["tips", "send", "--as", "bob", "--to", "alice", "--amount", "5", "--item", "abc"], "--item"),
        (["flags", "raise", "d", "other", "0.5", "--content-type", "stream", "--user", "abc"], "--user"),
    ],
)
def test_a_malformed_id_is_a_usage_error_before_any_database_call(args: list[str], name: str) -> None:
    result = run("--dsn", UNREACHABLE, *args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{name}': 'abc' is not a UUID" in result.stderr, result.stderr


def test_a_user_argument_still_takes_a_username() -> None:
    # "username or id": not checked as a UUID, so the command goes on to the (unreachable) database.
    result = run("--dsn", UNREACHABLE, "wallets", "show", "bob")
    assert result.exit_code == 1, result.output
    assert "is not a UUID" not in result.stderr


# --- tables fit a terminal ----------------------------------------------------------------------------------

PASSWORD = "Correct-Horse-42"


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def user_ids(db_url: str) -> dict[str, uuid.UUID]:
    with psycopg.connect(db_url) as conn:
        return dict(conn.execute("SELECT username::text, id FROM lp.users").fetchall())


@pytest.fixture
def tipped(db_url: str, seed: Any) -> str:
    """boss (admin), alice (performer, verified), bob and carol (viewers, funded), who tipped alice."""
    create = ["--email", "boss@example.com", "--username", "boss", "--dob", "1980-01-01", "--password-stdin"]
    ok(run("--dsn", db_url, "admin", "create", *create, input=PASSWORD + "\n"))
    for name, role in (("alice", "performer"), ("bob", "viewer"), ("carol", "viewer")):
        args = ["--email", f"{name}@example.com", "--username", name, "--dob", "1990-06-01", "--role", role]
        ok(run("--dsn", db_url, "users", "create", *args, "--password-stdin", input=PASSWORD + "\n"))
    ids = user_ids(db_url)
    seed.approve_kyc(ids["alice"])
    seed.fund(1000, ids["bob"], ids["carol"])
    for sender, amount in (("bob", "10"), ("carol", "20"), ("bob", "30")):
        ok(run("--dsn", db_url, "tips", "send", "--as", sender, "--to", "alice", "--amount", amount))
    return db_url


def test_tables_show_usernames_in_one_query_and_wide_shows_every_column(
    tipped: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = user_ids(tipped)
    calls: list[int] = []
    lookup = common.usernames

    def counted(values: Any) -> Any:
        calls.append(len(values))
        return lookup(values)

    monkeypatch.setattr(common, "usernames", counted)
    args = ("tips", "list", "--as", "alice", "--received")
    table = ok(run("--dsn", tipped, *args)).stdout
    header = table.splitlines()[0].split()
    assert header[:3] == ["id", "sender", "recipient"]
    assert "message" not in header
    assert "stream_id" not in header
    assert table.count("bob") == 2
    assert table.count("carol") == 1
    assert table.count("alice") == 3
    for user_id in ids.values():
        assert str(user_id) not in table  # names, never the ids
    assert calls == [6]  # one lookup for the three rows (two ids each)

    # --wide, before or after the sub-command: every column, the ids as they are, no lookup
    for wide in (["--wide", *args], [*args, "--wide"]):
        calls.clear()
        table = ok(run("--dsn", tipped, *wide)).stdout
        header = table.splitlines()[0].split()
        assert header[:3] == ["id", "sender_id", "recipient_id"]
        assert {"message", "stream_id", "net_amount"} <= set(header)
        assert str(ids["bob"]) in table
        assert str(ids["carol"]) in table
        assert calls == []

    # json and csv: every field, ids, whatever --wide says
    listed = json.loads(ok(run("--dsn", tipped, "--format", "json", *args)).stdout)
    assert {row["sender_id"] for row in listed} == {str(ids["bob"]), str(ids["carol"])}
    assert "message" in listed[0]
    csv_header = ok(run("--dsn", tipped, "--format", "csv", *args)).stdout.splitlines()[0]
    assert csv_header.startswith("id,sender_id,recipient_id,")
    assert "message" in csv_header


def test_other_tables_name_their_users(tipped: str) -> None:
    ids = user_ids(tipped)
    ok(run("--dsn", tipped, "holds", "place", "--as", "bob", "--payee", "alice", "--amount", "5"))
    holds = ok(run("--dsn", tipped, "holds", "list", "--as", "bob")).stdout.splitlines()
    assert holds[0].split()[:3] == ["id", "user", "payee"]
    assert holds[2].split()[1:3] == ["bob", "alice"]
    users = ok(run("--dsn", tipped, "users", "list", "--as", "boss")).stdout
    sessions = ok(run("--dsn", tipped, "sessions", "list", "--user", "bob", "--all", "--as", "boss")).stdout
    for table in (users, sessions):
        assert "date_of_birth" not in table
        assert "device_info" not in table
    wallet = ok(run("--dsn", tipped, "wallets", "show", "alice")).stdout
    assert wallet.splitlines()[0].split()[0] == "user"
    assert "alice" in wallet
    assert str(ids["alice"]) not in wallet
    assert str(ids["alice"]) in ok(run("--dsn", tipped, "--wide", "wallets", "show", "alice")).stdout


# --- hints name CLI commands --------------------------------------------------------------------------------


def test_the_hint_rewriter_names_the_command_that_wraps_a_function() -> None:
    assert output.cli_hints("api.list_bundles() lists the bundles on sale.", main) == (
        "`livepanty-db payments bundles` lists the bundles on sale."
    )
    assert output.cli_hints("api.set_show_price", main) == "`livepanty-db streams show-price`"
    assert output.cli_hints("see api.place_hold(p_amount => 5).", main) == "see `livepanty-db holds place`."
    # a function no command wraps: unchanged
    text = "The session ended: join again (api.join_stream)."
    assert output.cli_hints(text, main) == text
    assert output.cli_hints(None, main) is None
    # a function named by several commands: the one naming only it (config show names two)
    commands = output.api_commands(main)
    assert commands["list_bundles"] == "livepanty-db payments bundles"
    assert commands["list_settings"] == "livepanty-db config show"
    assert commands["complete_payment"] == "livepanty-db payments complete"


def test_a_refusal_hint_names_the_cli_command(tipped: str) -> None:
    result = run("--dsn", tipped, "payments", "create", "--as", "bob", "--bundle", "gold")
    assert result.exit_code == 1, result.output
    assert "error [LP113]: " in result.stderr
    assert "  hint: `livepanty-db payments bundles` lists the bundles on sale." in result.stderr
    assert "api." not in result.stderr
    result = run("--dsn", tipped, "--format", "json", "payments", "create", "--as", "bob", "--bundle", "gold")
    assert json.loads(result.stderr)["error"]["hint"].startswith("`livepanty-db payments bundles`")
    codes = [
        row["code"]
        for row in json.loads(
            ok(run("--dsn", tipped, "--format", "json", "payments", "bundles", "--as", "bob")).stdout
        )
    ]
    assert codes  # the command the hint names lists them


# --- progress of the long jobs ------------------------------------------------------------------------------


def test_jobs_show_one_line_per_batch_on_stderr_and_the_totals_on_stdout(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = iter([2, 2, 1])  # three batches of --limit 2: two full, the last short
    monkeypatch.setattr(Client, "sweep_wallets", lambda self, limit: next(counts))
    result = ok(run("--dsn", db_url, "--format", "json", "jobs", "sweep", "--limit", "2", "--until-done"))
    assert json.loads(result.stdout) == [{"job": "sweep_wallets", "processed": 5, "batches": 3}]
    progress = [line for line in result.stderr.splitlines() if ": batch " in line]
    assert progress == [
        "sweep_wallets: batch 1, 2 so far",
        "sweep_wallets: batch 2, 4 so far",
        "sweep_wallets: batch 3, 5 so far",
    ]

    runs = iter([GoalSettlement(1, 0, 1, 0, 0), GoalSettlement(0, 2, 0, 1, 0), GoalSettlement(0, 0, 0, 0, 0)])
    monkeypatch.setattr(Client, "settle_tip_goals", lambda self, limit: next(runs))
    result = ok(run("--dsn", db_url, "--format", "json", "jobs", "settle-goals", "--until-done"))
    [totals] = json.loads(result.stdout)
    assert (totals["processed"], totals["batches"], totals["tips_refunded"]) == (5, 3, 2)
    assert [line for line in result.stderr.splitlines() if ": run " in line] == [
        "settle_tip_goals: run 1, 2 so far",
        "settle_tip_goals: run 2, 5 so far",
        "settle_tip_goals: run 3, 5 so far",
    ]

    viewer = uuid.uuid4()
    steps = iter(
        [ShowBilling(viewer, viewer, 10, 0, "billed"), ShowBilling(viewer, viewer, 5, 20, "settled"), None]
    )
    monkeypatch.setattr(Client, "bill_shows", lambda self: next(steps))
    result = ok(run("--dsn", db_url, "--format", "json", "jobs", "bill-shows"))
    [billed] = json.loads(result.stdout)
    assert (billed["steps"], billed["captured"], billed["released"], billed["settled"]) == (2, 15, 20, 1)
    assert [line for line in result.stderr.splitlines() if ": step " in line] == [
        "bill_shows: step 1, 10 tokens captured, 0 viewer(s) settled so far",
        "bill_shows: step 2, 15 tokens captured, 1 viewer(s) settled so far",
    ]


def test_a_real_sweep_reports_its_batches(tipped: str) -> None:
    result = ok(run("--dsn", tipped, "jobs", "sweep", "--limit", "1", "--until-done", "--format", "json"))
    [totals] = json.loads(result.stdout)
    assert totals["batches"] >= 2  # at least one full batch of 1, then the short one
    progress = [line for line in result.stderr.splitlines() if line.startswith("sweep_wallets: batch ")]
    assert len(progress) == totals["batches"]
    assert progress[-1] == f"sweep_wallets: batch {totals['batches']}, {totals['processed']} so far"
