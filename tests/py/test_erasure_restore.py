"""Erasures survive a restore: a snapshot taken before an erasure, restored, comes back with the erased
user's personal data; ``livepanty-db privacy replay-erasures`` applied with the log exported by
``livepanty-db privacy export-erasures`` erases it again (docs/compliance.md, "Privacy: erasure and
retention").

The snapshot is ``CREATE DATABASE ... TEMPLATE`` of the test's database (a file-level copy, as a restored base
backup is); the scan reads every text, citext, inet and jsonb column (and arrays of them) of every table of
schema lp from the catalog, so tables added later are covered too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict

from livepanty_db import Client, new_idempotency_key
from livepanty_db.cli import main

PASSWORD = "Forget-me-now-42"
EMAIL = "restored.rose@example.org"
USERNAME = "rose_restored"
ADDRESSES = ["192.0.2.91", "2001:db8::91", "192.0.2.92"]
NEEDLES = [EMAIL, USERNAME, "Rose Display", "rose-agent/2.0", *ADDRESSES]


def cli(dsn: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--dsn", dsn, "--format", "json", *args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def places(dsn: str, needles: list[str]) -> list[str]:
    """Every lp table.column of type text, citext, inet or jsonb (or an array of them) holding a needle."""
    with psycopg.connect(dsn) as conn:
        columns = conn.execute(
            """
            SELECT c.oid::regclass::text, a.attname
              FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
              JOIN pg_type AS t ON t.oid = a.atttypid
             WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
               AND NOT a.attisdropped
               AND (t.oid = ANY (ARRAY['text', 'ext.citext', 'inet', 'jsonb']::regtype[])
                    OR t.typelem = ANY (ARRAY['text', 'ext.citext', 'inet', 'jsonb']::regtype[]))
             ORDER BY 1, 2
            """
        ).fetchall()
        found = []
        for table, column in columns:
            query = pgsql.SQL(
                "SELECT EXISTS (SELECT 1 FROM {} AS x, unnest(%s::text[]) AS n (needle)"
                " WHERE strpos(lower(x.{}::text), lower(n.needle)) > 0)"
            ).format(pgsql.SQL(table), pgsql.Identifier(column))
            row = conn.execute(query, [needles]).fetchone()
            if row is not None and row[0]:
                found.append(f"{table}.{column}")
    return found


def ledger_violations(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM api.verify_ledger()").fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def snapshot_of(pg_server) -> Iterator:
    """Take snapshots (CREATE DATABASE ... TEMPLATE) of a test database; dropped afterwards."""
    names: list[str] = []

    def take(dsn: str) -> str:
        source = conninfo_to_dict(dsn)["dbname"]
        name = pg_server.create_database(template=source, prefix="lp_snapshot")
        names.append(name)
        return pg_server.dsn(name)

    yield take
    for name in names:
        pg_server.drop_database(name)


def rich_user(db_url: str, seed) -> uuid.UUID:
    """Rose: sessions from two addresses with a device, a reset request from a third, a stream of her own with
    consent, a tip with a message naming her, a viewer row, a report she wrote; funded and verified."""
    with Client(db_url) as client:
        rose = client.register_user(
            email=EMAIL,
            username=USERNAME,
            password=PASSWORD,
            date_of_birth=date(1990, 1, 2),
            role="performer",
            display_name="Rose Display",
            ip_address=ADDRESSES[0],
        )
        paul = client.register_user(
            email="paul@example.org", username="paul_p", password=PASSWORD, date_of_birth=date(1985, 3, 4),
            role="performer",
        )  # fmt: skip
        client.create_admin(
            email="boss@example.org", username="boss", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        )
        seed.approve_kyc(rose.id, paul.id)
        seed.fund(500, rose.id)
        session = client.login(
            USERNAME, PASSWORD, ip_address=ADDRESSES[0], user_agent="rose-agent/2.0", device_info={"os": "x"}
        )
        client.login(EMAIL, PASSWORD, ip_address=ADDRESSES[1])
        client.request_password_reset(EMAIL, ip_address=ADDRESSES[2])
        with client.acting_as(paul.id, reason="test") as tx:
            paul_stream = tx.schedule_stream("Paul live")
            tx.consent_to_stream(paul_stream.id, ip_address="203.0.113.7")
            tx.start_stream(paul_stream.id)
        with client.session(session.token) as tx:
            tx.update_preferences(language="fr")
            tx.join_stream(paul_stream.id, ip_address=ADDRESSES[0])
            tx.tip(paul.id, 25, idempotency_key=new_idempotency_key(), stream_id=paul_stream.id,
                   message=f"love, {USERNAME}")  # fmt: skip
            own = tx.schedule_stream(f"{USERNAME} on air", description="Rose Display live")
            tx.consent_to_stream(own.id, ip_address=ADDRESSES[0], user_agent="rose-agent/2.0")
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description)"
            " VALUES (%s, %s, 'spam', %s)",
            (rose.id, paul.id, f"spam sent to {USERNAME}"),
        )
    return rose.id


def test_replay_after_restoring_an_older_snapshot_erases_again(
    db_url: str, seed, snapshot_of, tmp_path: Path
) -> None:
    rose = rich_user(db_url, seed)
    before = set(places(db_url, NEEDLES))
    assert {"lp.users.email", "lp.auth_sessions.ip_address", "lp.tips.message"} <= before

    backup = snapshot_of(db_url)  # the backup, taken before the erasure

    erase = ["privacy", "erase", str(rose), "--reason", "request by mail", "--yes", "--as", "boss"]
    erased = ok(cli(db_url, *erase))
    assert json.loads(erased.stdout)[0]["user_id"] == str(rose)
    assert places(db_url, NEEDLES) == []
    log = tmp_path / "erasures.jsonl"
    ok(cli(db_url, "privacy", "export-erasures", "--output", str(log)))
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["user_id"] for e in entries] == [str(rose)]
    exported = log.read_text().lower()
    assert not any(needle.lower() in exported for needle in NEEDLES), "the log holds no erased value"

    # The restore: the backup is older than the erasure, so her data is back and the log does not know her.
    assert {"lp.users.email", "lp.users.username", "lp.tips.message"} <= set(places(backup, NEEDLES))
    assert json.loads(ok(cli(backup, "privacy", "log")).stdout) == []

    replayed = json.loads(ok(cli(backup, "privacy", "replay-erasures", str(log))).stdout)
    assert [(r["user_id"], r["outcome"]) for r in replayed] == [(str(rose), "replayed")]
    assert places(backup, NEEDLES) == [], "after the replay nothing of hers is findable"
    assert ledger_violations(backup) == 0
    restored_log = json.loads(ok(cli(backup, "privacy", "log")).stdout)
    assert [(r["id"], r["via"], r["reason"]) for r in restored_log] == [
        (entries[0]["id"], "admin", "request by mail")
    ]
    assert restored_log[0]["replayed_at"] is not None

    # Idempotent: replaying the same log again changes nothing.
    again = json.loads(ok(cli(backup, "privacy", "replay-erasures", str(log))).stdout)
    assert [r["outcome"] for r in again] == ["already_applied"]


def test_replay_of_a_user_the_backup_predates_restores_the_log_row(
    db_url: str, seed, snapshot_of, tmp_path: Path
) -> None:
    backup = snapshot_of(db_url)  # before the user even registered
    rose = rich_user(db_url, seed)
    ok(cli(db_url, "privacy", "erase", str(rose), "--reason", "legal order", "--yes", "--as", "boss"))
    log = tmp_path / "erasures.jsonl"
    ok(cli(db_url, "privacy", "export-erasures", "--output", str(log)))
    replayed = json.loads(ok(cli(backup, "privacy", "replay-erasures", str(log))).stdout)
    assert [r["outcome"] for r in replayed] == ["user_absent"]
    assert [r["user_id"] for r in json.loads(ok(cli(backup, "privacy", "log")).stdout)] == [str(rose)]


def test_replay_refuses_a_line_that_is_not_json(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text("not json\n")
    result = cli(db_url, "privacy", "replay-erasures", str(log))
    assert result.exit_code == 2
    assert "line 1 is not JSON" in result.stderr
