"""The operator CLI (users, admin, sessions) through click's CliRunner, on a fresh database per test."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg.conninfo import make_conninfo

from livepanty_db import Client
from livepanty_db.cli import main

PASSWORD = "Correct-Horse-42"


def cli(db_url: str, *args: str, input: str | None = None, fmt: str | None = None) -> Result:
    options = ["--dsn", db_url] + (["--format", fmt] if fmt else [])
    return CliRunner().invoke(main, [*options, *args], input=input)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def counts(db_url: str) -> tuple[int, ...]:
    """Rows in the tables an operator command may write: they must not change after a refused one."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM lp.users),"
            " (SELECT count(*) FROM lp.audit_logs WHERE action <> 'auth.act_as'),"
            " (SELECT count(*) FROM lp.auth_sessions WHERE revoked_at IS NULL),"
            " (SELECT count(*) FROM lp.users WHERE role = 'admin' AND deleted_at IS NULL)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def create_admin(db_url: str, name: str = "boss") -> Result:
    return ok(
        cli(
            db_url,
            "admin",
            "create",
            "--email",
            f"{name}@example.com",
            "--username",
            name,
            "--dob",
            "1980-01-01",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
    )


def create_user(db_url: str, name: str, *extra: str) -> Result:
    return ok(
        cli(
            db_url,
            "users",
            "create",
            "--email",
            f"{name}@example.com",
            "--username",
            name,
            "--dob",
            "1990-06-01",
            "--password-stdin",
            *extra,
            input=PASSWORD + "\n",
        )
    )


def json_rows(result: Result) -> list[dict[str, Any]]:
    return json.loads(ok(result).stdout)


@pytest.fixture
def populated(db_url: str) -> str:
    """An admin (boss) and two users (alice, a performer; bob, a viewer)."""
    create_admin(db_url)
    create_user(db_url, "alice", "--role", "performer", "--display-name", "Alice")
    create_user(db_url, "bob")
    return db_url


# --- users --------------------------------------------------------------------------------------------------


def test_users_create_table_output(db_url: str) -> None:
    result = create_user(db_url, "alice", "--role", "performer", "--country", "de")
    assert "alice" in result.stdout
    assert "performer" in result.stdout
    assert "created performer alice" in result.stderr
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT role, country_code FROM lp.users WHERE username = 'alice'").fetchone()
    assert row == ("performer", "DE")


def test_users_create_prompts_for_the_password_twice(db_url: str) -> None:
    result = ok(
        cli(
            db_url,
            "users",
            "create",
            "--email",
            "carol@example.com",
            "--username",
            "carol",
            "--dob",
            "1990-06-01",
            input=f"{PASSWORD}\n{PASSWORD}\n",
        )
    )
    assert "carol" in result.stdout
    assert PASSWORD not in result.output  # hidden input is not echoed
    with Client(db_url) as client:
        assert client.login("carol", PASSWORD).token


def test_users_show_by_login_and_by_id(populated: str) -> None:
    [alice] = json_rows(cli(populated, "users", "show", "ALICE@example.com", "--as", "boss", fmt="json"))
    assert (alice["username"], alice["role"], alice["display_name"]) == ("alice", "performer", "Alice")
    [again] = json_rows(cli(populated, "users", "show", alice["id"], "--as", "boss@example.com", fmt="json"))
    assert again == alice
    table = ok(cli(populated, "users", "show", "bob", "--as", "boss")).stdout
    assert "bob@example.com" in table
    assert "viewer" in table


def test_users_list_json_and_csv(populated: str) -> None:
    users = json_rows(cli(populated, "users", "list", "--as", "boss", fmt="json"))
    assert [u["username"] for u in users] == ["boss", "alice", "bob"]
    assert users[0]["role"] == "admin"
    assert users[0]["date_of_birth"] == "1980-01-01"

    page = json_rows(cli(populated, "users", "list", "--limit", "2", "--as", "boss", fmt="json"))
    rest = json_rows(cli(populated, "users", "list", "--after", page[-1]["id"], "--as", "boss", fmt="json"))
    assert [u["username"] for u in page + rest] == ["boss", "alice", "bob"]

    result = ok(cli(populated, "users", "list", "--role", "performer", "--as", "boss", fmt="csv"))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["username"], r["role"]) for r in rows] == [("alice", "performer")]
    assert UUID(rows[0]["id"])


def test_users_set_role_and_delete(populated: str) -> None:
    [bob] = json_rows(cli(populated, "users", "set-role", "bob", "moderator", "--as", "boss", fmt="json"))
    assert bob["role"] == "moderator"
    # the new moderator can act, within what the API lets moderators do
    assert len(json_rows(cli(populated, "users", "list", "--as", "bob", fmt="json"))) == 3
    [alice] = json_rows(
        cli(populated, "users", "delete", "alice", "--reason", "test", "--yes", "--as", "boss", fmt="json")
    )
    assert alice["deleted_at"] is not None
    names = [u["username"] for u in json_rows(cli(populated, "users", "list", "--as", "boss", fmt="json"))]
    assert names == ["boss", "bob"]


def test_users_delete_asks_first(populated: str) -> None:
    before = counts(populated)
    result = cli(populated, "users", "delete", "alice", "--as", "boss", input="n\n")
    assert result.exit_code == 1
    assert counts(populated) == before
    ok(cli(populated, "users", "delete", "alice", "--as", "boss", input="y\n"))
    assert counts(populated)[0] == before[0]  # soft delete: the row stays


# --- admin --------------------------------------------------------------------------------------------------


def test_admin_create_with_password_stdin(db_url: str) -> None:
    result = create_admin(db_url)
    assert "admin" in result.stdout
    assert "created admin boss" in result.stderr
    with Client(db_url) as client:
        session = client.login("boss", PASSWORD)
        assert client.authenticate(session.token).role == "admin"


def test_admin_create_prompts_with_confirmation_and_has_no_default(db_url: str) -> None:
    args = ("admin", "create", "--email", "root2@example.com", "--username", "chief", "--dob", "1980-01-01")
    result = cli(db_url, *args, input="")  # nothing typed: no default password to fall back on
    assert result.exit_code == 1
    assert counts(db_url)[0] == 0
    result = cli(db_url, *args, input=f"{PASSWORD}\nsomething-else-1\n")  # confirmation differs
    assert result.exit_code == 1
    assert counts(db_url)[0] == 0
    ok(cli(db_url, *args, input=f"{PASSWORD}\n{PASSWORD}\n"))
    assert counts(db_url)[0] == 1


def test_admin_create_needs_the_service_role(db_url: str) -> None:
    app_dsn = make_conninfo(db_url, options="-c role=livepanty_app")
    result = cli(
        app_dsn,
        "admin",
        "create",
        "--email",
        "x@example.com",
        "--username",
        "chief",
        "--dob",
        "1980-01-01",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error [42501]: permission denied")
    assert counts(db_url)[0] == 0


# --- sessions -----------------------------------------------------------------------------------------------


def test_sessions_list_and_revoke(populated: str) -> None:
    with Client(populated) as client:
        first = client.login("alice", PASSWORD, user_agent="pytest-1")
        second = client.login("alice", PASSWORD, user_agent="pytest-2", device_info={"os": "linux"})
        client.login("bob", PASSWORD)

    sessions = json_rows(cli(populated, "sessions", "list", "--user", "alice", "--as", "boss", fmt="json"))
    assert [s["id"] for s in sessions] == [str(second.session_id), str(first.session_id)]
    assert sessions[0]["device_info"] == {"os": "linux"}
    assert "token" not in sessions[0]
    table = ok(cli(populated, "sessions", "list", "--user", "alice", "--as", "boss")).stdout
    assert "pytest-2" in table

    [revoked] = json_rows(
        cli(populated, "sessions", "revoke", str(first.session_id), "--as", "boss", fmt="json")
    )
    assert (revoked["id"], revoked["revoke_reason"]) == (str(first.session_id), "admin")
    live = json_rows(cli(populated, "sessions", "list", "--user", "alice", "--as", "boss", fmt="json"))
    assert [s["id"] for s in live] == [str(second.session_id)]
    every = json_rows(
        cli(populated, "sessions", "list", "--user", "alice", "--all", "--as", "boss", fmt="json")
    )
    assert len(every) == 2

    [outcome] = json_rows(
        cli(populated, "sessions", "revoke-all", "--user", "alice", "--as", "boss", fmt="json")
    )
    assert (outcome["username"], outcome["revoked"]) == ("alice", 1)
    result = ok(cli(populated, "sessions", "list", "--user", "alice", "--as", "boss", fmt="csv"))
    assert result.stdout.splitlines()[0].startswith("id,user_id,")
    assert len(result.stdout.splitlines()) == 1  # header only
    bob = json_rows(cli(populated, "sessions", "list", "--user", "bob", "--as", "boss", fmt="json"))
    assert len(bob) == 1  # bob's session was not touched


# --- errors -------------------------------------------------------------------------------------------------


def new_user(email: str = "c@example.com", username: str = "carol", dob: str = "1990-01-01") -> list[str]:
    return ["users", "create", "--email", email, "--username", username, "--dob", dob]


@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        (new_user(email="nope"), PASSWORD, "LP010"),
        (new_user(username="9x"), PASSWORD, "LP011"),
        (new_user(), "weak", "LP012"),
        (new_user(dob="2020-01-01"), PASSWORD, "LP013"),
        (new_user(dob="1899-12-31"), PASSWORD, "LP014"),
        (new_user(email="BOB@example.com"), PASSWORD, "LP015"),
        (new_user(username="Alice"), PASSWORD, "LP016"),
        ([*new_user(), "--role", "admin"], PASSWORD, "LP017"),  # a role, but not one anybody registers as
        (["users", "show", "nobody", "--as", "boss"], None, "LP003"),
        (["users", "show", "alice", "--as", "ghost"], None, "LP003"),
        (["users", "list", "--as", "bob"], None, "LP002"),
        (["users", "list", "--limit", "0", "--as", "boss"], None, "LP018"),
        (["users", "set-role", "boss", "viewer", "--as", "boss"], None, "LP030"),
        # An admin's own deletion wants a recent login: --as (the back office in boss's name) has no session.
        (["users", "delete", "boss", "--yes", "--as", "boss"], None, "LP171"),
        (["users", "show", "alice", "--as", "not-a-uuid-00000000"], None, "LP003"),
        (["sessions", "revoke", "00000000-0000-0000-0000-000000000000", "--as", "boss"], None, "LP003"),
        (["sessions", "list", "--user", "alice", "--as", "alice"], None, "LP002"),
        (
            ["admin", "create", "--email", "x@example.com", "--username", "admin", "--dob", "1980-01-01"],
            PASSWORD,
            "LP011",
        ),
    ],
)
def test_refused_calls_exit_1_with_the_code_and_change_nothing(
    populated: str, args: list[str], stdin: str | None, code: str
) -> None:
    if stdin is not None:
        args = [*args, "--password-stdin"]
    before = counts(populated)
    result = cli(populated, *args, input=None if stdin is None else stdin + "\n")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error [{code}]: "), result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert counts(populated) == before


def test_error_output_carries_detail_and_hint(populated: str) -> None:
    result = cli(populated, "users", "show", "alice", "--as", "ghost")
    assert result.stderr.splitlines()[1].startswith("  hint: ")
    result = cli(populated, "users", "set-role", "boss", "viewer", "--as", "boss")
    assert "hint: Create or promote another admin first." in result.stderr


def test_a_refusal_is_one_json_object_with_format_json(populated: str) -> None:
    before = counts(populated)
    result = cli(populated, "users", "set-role", "boss", "viewer", "--as", "boss", fmt="json")
    assert result.exit_code == 1
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "LP030"
    assert error["hint"] == "Create or promote another admin first."
    assert counts(populated) == before


@pytest.mark.parametrize(
    "args",
    [
        new_user(dob="01/02/1990"),
        [*new_user(), "--role", "superuser"],  # not a user_role at all
        ["users", "list"],  # --as is required
        ["users", "set-role", "bob", "king", "--as", "boss"],
        ["sessions", "revoke-all", "--as", "boss"],  # --user is required
        ["sessions", "revoke", "not-a-uuid", "--as", "boss"],  # the CLI checks ids before any call
    ],
)
def test_usage_errors_exit_2(populated: str, args: list[str]) -> None:
    before = counts(populated)
    result = cli(populated, *args, input=PASSWORD + "\n")
    assert result.exit_code == 2, result.output
    assert counts(populated) == before


def test_as_from_the_environment(populated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEPANTY_AS", "boss")
    assert len(json_rows(cli(populated, "users", "list", fmt="json"))) == 3


def test_unreachable_database_is_an_error_not_a_traceback() -> None:
    result = cli("postgresql://127.0.0.1:1/nothing?connect_timeout=2", "users", "list", "--as", "boss")
    assert result.exit_code == 1
    assert result.stderr.startswith("error [08001]: ")  # ConnectionFailed, with its SQLSTATE


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:s3cret-pw@127.0.0.1:1/nothing?connect_timeout=2",
        "host=127.0.0.1 port=1 user=app password=s3cret-pw dbname=nothing connect_timeout=2",
        "host=127.0.0.1,127.0.0.1 port=1 user=app password=s3cret-pw connect_timeout=2",  # two attempts
    ],
)
@pytest.mark.parametrize(
    "args", [["users", "list", "--as", "boss"], ["migrate", "status"], ["verify"], ["values"]]
)
@pytest.mark.parametrize("fmt", [None, "json"])
def test_a_refused_connection_is_one_line_naming_host_and_port(
    dsn: str, args: list[str], fmt: str | None
) -> None:
    """libpq's report of a refused connection spans lines (its "Is the server running ...?" on a tab-indented
    second line, one block per attempt): the CLI prints it as one line, which still names the host and port
    (not masked as if they were the password) and never the password."""
    result = cli(dsn, *args, fmt=fmt)
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output, result.output
    if fmt == "json":
        message = json.loads(result.stderr)["error"]["message"]
    else:
        assert result.stderr.count("\n") == 1, repr(result.stderr)
        assert result.stderr.endswith("\n"), repr(result.stderr)
        assert result.stderr.startswith("error"), result.stderr
        message = result.stderr.rstrip("\n")
    assert "\n" not in message, repr(message)
    assert "\t" not in message, repr(message)
    assert '"127.0.0.1", port 1 failed: Connection refused' in message, message
    assert "Is the server running on that host" in message, message


def test_users_send_reset_queues_a_mail_and_never_shows_the_token(populated: str) -> None:
    result = ok(cli(populated, "users", "send-reset", "alice", "--as", "boss"))
    assert "queued for the mailer" in result.stderr
    with psycopg.connect(populated) as conn:
        queued = conn.execute(
            "SELECT o.email, o.payload FROM lp.outbox AS o JOIN lp.users AS u ON u.id = o.user_id"
            " WHERE u.username = 'alice' AND o.kind = 'password_reset' AND o.status = 'queued'"
        ).fetchall()
    assert [email for email, _ in queued] == ["alice@example.com"]
    secrets = [str(v) for v in queued[0][1].values() if len(str(v)) >= 20]  # the token (and its link)
    assert secrets
    for secret in secrets:
        assert secret not in result.output
    # Only staff may: a viewer acting is refused (the user is not visible to them), nothing queued.
    result = cli(populated, "users", "send-reset", "alice", "--as", "bob")
    assert result.exit_code == 1
    with psycopg.connect(populated) as conn:
        assert conn.execute("SELECT count(*) FROM lp.outbox").fetchone()[0] == 1


def test_users_unlock_show_lockout_and_read_the_audit_trail(populated: str) -> None:
    with psycopg.connect(populated) as conn:
        conn.execute(
            "UPDATE lp.users SET locked_until = now() + interval '15 minutes' WHERE username = 'bob'"
        )
    shown = json_rows(cli(populated, "users", "show", "bob", "--as", "boss", fmt="json"))[0]
    assert shown["locked_until"] is not None
    assert shown["failed_login_count"] == 0
    # Only admins unlock; the refusal changes nothing.
    refused = cli(populated, "users", "unlock", "bob", "--reason", "ticket 1", "--as", "alice")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error [LP002]: ")
    ok(cli(populated, "users", "unlock", "bob", "--reason", "ticket 1", "--as", "boss"))
    shown = json_rows(cli(populated, "users", "show", "bob", "--as", "boss", fmt="json"))[0]
    assert shown["locked_until"] is None
    again = cli(populated, "users", "unlock", "bob", "--reason", "ticket 1", "--as", "boss")
    assert again.exit_code == 1
    assert again.stderr.startswith("error [LP004]: ")

    entries = json_rows(cli(populated, "audit", "--action", "user.unlock", "--as", "boss", fmt="json"))
    assert [(e["actor"], e["action"], e["details"]["reason"]) for e in entries] == [
        ("boss", "user.unlock", "ticket 1")
    ]
    everything = json_rows(cli(populated, "audit", "--as", "boss", "--limit", "1000", fmt="json"))
    assert len(everything) > 3
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)  # newest first
    audit = ("audit", "--as", "boss")
    page = json_rows(cli(populated, *audit, "--limit", "2", "--before", str(ids[1]), fmt="json"))
    assert [e["id"] for e in page] == ids[2:4]
    by_actor = json_rows(cli(populated, *audit, "--actor", "boss", "--limit", "1000", fmt="json"))
    assert by_actor
    assert {e["actor"] for e in by_actor} == {"boss"}
    # Row level security: a viewer reads nothing of the trail.
    assert json_rows(cli(populated, "audit", "--as", "bob", fmt="json")) == []


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://app:s3cret-pw@[db.example/livepanty", "host=db.example user=app password=s3cret -pw"],
)
@pytest.mark.parametrize("args", [["users", "list", "--as", "boss"], ["migrate", "status"], ["verify"]])
@pytest.mark.parametrize("fmt", [None, "json"])
def test_a_dsn_libpq_cannot_parse_is_an_error_without_its_password(
    dsn: str, args: list[str], fmt: str | None
) -> None:
    """libpq quotes a DSN it cannot parse (or a piece of it) back in its message: the CLI's error never shows
    the password, in text or as the one JSON object of --format json."""
    result = cli(dsn, *args, fmt=fmt)
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output, result.output
    assert "-pw" not in result.output, result.output
    if fmt == "json":
        assert json.loads(result.stderr)["error"]["message"]
    else:
        assert result.stderr.startswith("error"), result.stderr
        assert "Traceback" not in result.output
