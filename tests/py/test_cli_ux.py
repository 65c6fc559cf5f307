"""The CLI as a DBA uses it: ids checked before any call, tables that fit a terminal (--wide for every
column), hints that name CLI commands instead of SQL functions, progress of the long jobs on stderr."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from livepanty_db.cli import main

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
