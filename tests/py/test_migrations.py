"""Migrations and repeatables: both builds agree, naming, rollback, failure, concurrency, idempotence."""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb
from yoyo.connections import parse_uri

from livepanty_db import local, migrate, paths

MIGRATION_NAME = re.compile(
    r"^(?P<number>\d{4})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)(?P<rollback>\.rollback)?\.sql$"
)


def schema_dump(dsn: str) -> str:
    """``pg_dump --schema-only`` (owners and privileges kept), without yoyo's bookkeeping tables."""
    excluded = [arg for table in migrate.YOYO_TABLES for arg in ("--exclude-table", f"public.{table}")]
    result = subprocess.run(
        [str(local.pg_bin() / "pg_dump"), "--schema-only", "--dbname", dsn, *excluded],
        capture_output=True,
        text=True,
        check=True,
    )
    # pg_dump >= 15.14 brackets the script with \restrict <random key> ... \unrestrict <random key>.
    return "\n".join(
        line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
    )


def assert_same_schema(expected: str, actual: str, expected_name: str, actual_name: str) -> None:
    if expected != actual:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), expected_name, actual_name, lineterm="", n=5
        )
        pytest.fail("schemas differ:\n" + "\n".join(diff), pytrace=False)


def migration_ids() -> list[str]:
    return [
        p.name.removesuffix(".sql") for p in paths.migration_files() if not p.name.endswith(".rollback.sql")
    ]


def rollback_through(dsn: str, migration_id: str) -> list[str]:
    """Roll back every migration from the newest down to ``migration_id`` included; their ids, newest first
    (a test of one migration's rollback keeps working once later migrations land)."""
    ids = migration_ids()
    return migrate.rollback(dsn, len(ids) - ids.index(migration_id))


@pytest.fixture(scope="module")
def migrated_schema(pg_server) -> str:
    """The schema dump of a database built by ``migrate.apply`` (the reference for several tests)."""
    with pg_server.database() as dsn:
        migrate.apply(dsn)
        return schema_dump(dsn)


def test_migrations_match_the_canonical_schema(pg_server, migrated_schema):
    with pg_server.database() as canonical:
        migrate.build_canonical(canonical)
        assert_same_schema(migrated_schema, schema_dump(canonical), "db/migrations", "db/schema")


def test_schema_dump_sees_the_objects(migrated_schema):
    # Guards the comparison itself: an empty or failing dump would make every diff pass.
    assert "CREATE SCHEMA lp;" in migrated_schema
    assert "CREATE SCHEMA api;" in migrated_schema
    assert "_yoyo" not in migrated_schema


def test_migration_files_are_named_and_numbered():
    files = [p.name for p in paths.migrations_dir().iterdir()]
    assert files, "no migrations"
    bad = [name for name in files if not MIGRATION_NAME.match(name)]
    assert not bad, (
        f"migration files must be named NNNN_snake_case.sql or NNNN_snake_case.rollback.sql: {bad}"
    )
    forward = [MIGRATION_NAME.match(n) for n in files if not MIGRATION_NAME.match(n)["rollback"]]
    numbers = sorted(int(m["number"]) for m in forward)
    assert len(numbers) == len(set(numbers)), f"duplicate migration numbers: {sorted(numbers)}"
    assert numbers == list(range(1, len(numbers) + 1)), (
        f"migration numbers must be 0001.. without gaps: {numbers}"
    )
    forward_names = {m.string.removesuffix(".sql") for m in forward}
    orphans = [
        n
        for n in files
        if n.endswith(".rollback.sql") and n.removesuffix(".rollback.sql") not in forward_names
    ]
    assert not orphans, f"rollback files without a forward migration: {orphans}"


def test_repeatable_files_are_named_after_their_object():
    named = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.sql$")
    bad = [p.name for p in paths.function_files() + paths.view_files() if not named.match(p.name)]
    bad += [p.name for p in paths.policy_files() if not re.match(r"^[a-z_][a-z0-9_]*\.sql$", p.name)]
    assert not bad


def test_rollback_all_empties_lp_and_api_and_reapply_works(empty_db, migrated_schema):
    assert migrate.apply(empty_db) == migration_ids()
    assert migrate.rollback(empty_db, "all") == list(reversed(migration_ids()))
    with psycopg.connect(empty_db) as conn:
        leftovers = conn.execute(
            """
            SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname IN ('lp', 'api')
            UNION ALL
            SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('lp', 'api')
            UNION ALL
            SELECT t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname IN ('lp', 'api')
            """
        ).fetchall()
    assert leftovers == []
    assert all(s.state == "pending" for s in migrate.status(empty_db))
    assert migrate.apply(empty_db) == migration_ids()
    assert_same_schema(migrated_schema, schema_dump(empty_db), "first build", "after rollback and re-apply")


def test_rollback_one_then_apply_restores_the_schema(empty_db, migrated_schema):
    migrate.apply(empty_db)
    assert migrate.rollback(empty_db) == migration_ids()[-1:]
    assert [s.id for s in migrate.status(empty_db) if s.state == "pending"] == migration_ids()[-1:]
    assert migrate.apply(empty_db) == migration_ids()[-1:]
    assert_same_schema(migrated_schema, schema_dump(empty_db), "first build", "after rollback and re-apply")


def _copy_db_tree(tmp_path: Path) -> Path:
    root = tmp_path / "db"
    shutil.copytree(paths.db_root(), root)
    return root


def _next_migration_number() -> int:
    return len(migration_ids()) + 1


def test_failed_migration_leaves_no_trace(empty_db, tmp_path):
    migrate.apply(empty_db)
    before = schema_dump(empty_db)
    root = _copy_db_tree(tmp_path)
    broken_id = f"{_next_migration_number():04d}_broken_probe"
    (root / "migrations" / f"{broken_id}.sql").write_text(
        "SET ROLE livepanty_owner;\nCREATE TABLE lp.broken_probe (id int);\nSELECT 1 / 0;\nRESET ROLE;\n"
    )
    # A new repeatable that must not appear: repeatables are not applied after a failed migration.
    (root / "functions" / "api.zz_probe.sql").write_text(
        "CREATE FUNCTION api.zz_probe() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
    )

    with pytest.raises(migrate.MigrationError, match=rf"{broken_id}.*division by zero"):
        migrate.apply(empty_db, root=root)

    assert_same_schema(before, schema_dump(empty_db), "before", "after the failed migration")
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT to_regclass('lp.broken_probe')").fetchone()[0] is None
        assert conn.execute("SELECT to_regproc('api.zz_probe')").fetchone()[0] is None
        recorded = conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
    assert (broken_id,) not in recorded
    states = {s.id: s.state for s in migrate.status(empty_db, root=root)}
    assert states[broken_id] == "pending"


def test_failed_repeatable_keeps_the_previous_definitions(empty_db, tmp_path):
    migrate.apply(empty_db)
    before = schema_dump(empty_db)
    root = _copy_db_tree(tmp_path)
    (root / "functions" / "api.zz_broken.sql").write_text(
        "-- a repeatable with a syntax error on line 3\n"
        "CREATE FUNCTION api.zz_broken() RETURNS int\n"
        "LANGUAGE sql AS $$ SELECT 1 $$ GARBAGE;\n"
    )
    with pytest.raises(migrate.MigrationError, match=r"db/functions/api\.zz_broken\.sql.*\n.*at line 3"):
        migrate.apply(empty_db, root=root)
    assert_same_schema(before, schema_dump(empty_db), "before", "after the failed repeatable")


def test_concurrent_applies_serialise(empty_db, migrated_schema):
    start = threading.Barrier(2)

    def run() -> list[str]:
        start.wait()
        return migrate.apply(empty_db)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result() for f in [pool.submit(run), pool.submit(run)]]
    # One run applied everything; the other waited for the lock and found nothing pending.
    assert sorted(results, key=len) == [[], migration_ids()]
    assert_same_schema(migrated_schema, schema_dump(empty_db), "single apply", "two concurrent applies")


def test_apply_waits_for_the_migration_lock(empty_db):
    with psycopg.connect(empty_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [migrate.LOCK_KEY])
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(migrate.apply, empty_db)
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            for _ in range(1200):  # poll for the apply to block on our lock (at most ~60 s)
                if holder.execute(waiting).fetchone()[0] == 1:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("apply never waited for the advisory lock")
            assert not future.done()
            assert not any(s.applied for s in migrate.status(empty_db))
            holder.execute("SELECT pg_advisory_unlock(%s)", [migrate.LOCK_KEY])
            assert future.result() == migration_ids()


def test_apply_twice_is_a_no_op(empty_db, migrated_schema):
    migrate.apply(empty_db)
    assert migrate.apply(empty_db) == []
    # The second run dropped and re-created every repeatable (CASCADE): nothing else may have gone with them.
    assert_same_schema(migrated_schema, schema_dump(empty_db), "first apply", "second apply")


def test_apply_accepts_key_value_and_socket_dsns(pg_server, empty_db):
    params = psycopg.conninfo.conninfo_to_dict(empty_db)
    if pg_server.socket_dir is not None:
        dsn = f"host={pg_server.socket_dir} port={params['port']} dbname={params['dbname']} user=postgres"
    else:
        dsn = " ".join(f"{key}={value}" for key, value in params.items())
    migrate.apply(dsn)
    assert all(s.applied for s in migrate.status(dsn))


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u@h:5433/db", {"user": "u", "host": "h", "port": "5433", "dbname": "db"}),
        (
            "postgresql://u:p%40ss@/my%20db?host=/run/pg",
            {"user": "u", "password": "p@ss", "dbname": "my db", "host": "/run/pg"},
        ),
        (
            "host=/run/x port=5 dbname=d sslmode=disable",
            {"host": "/run/x", "port": "5", "dbname": "d", "sslmode": "disable"},
        ),
    ],
)
def test_yoyo_uri_keeps_every_parameter(dsn, expected):
    uri = parse_uri(migrate.yoyo_uri(dsn))
    assert uri.scheme == "postgresql+psycopg"
    assert uri.args == expected


def test_rollback_refuses_a_bad_count(empty_db):
    with pytest.raises(migrate.MigrationError, match="positive integer"):
        migrate.rollback(empty_db, 0)


def test_build_canonical_refuses_a_non_empty_database(empty_db):
    migrate.apply(empty_db)
    with pytest.raises(migrate.MigrationError, match="empty database"):
        migrate.build_canonical(empty_db)


_GATE_REASON = (
    "go-live gate: hana: identity verification expired: re-verification needed;"
    " cleo: no consent for this stream; nils: not an active performer"
)


def test_0051_rewrites_the_go_live_gate_reasons_it_finds(empty_db, db_tree_up_to):
    """A stream the go-live gate ended before 0051 named who lacked what, by username, in its public end
    reason and stream_ended event and in its stream.end audit row. After the upgrade the three say 'go-live
    gate'; the audit row names the lacking users by id where the name resolves to the stream's cast (nils is
    not in it: no name), and every other reason (a host's) is as it was."""
    migrate.apply(empty_db, root=db_tree_up_to(50))
    with psycopg.connect(empty_db) as conn:
        users = {
            name: conn.execute(
                "INSERT INTO lp.users (email, username, password_hash, date_of_birth, role)"
                " VALUES (%s, %s, %s, DATE '1990-01-01', 'performer') RETURNING id",
                [f"{name}@example.org", name, "$2b$04$" + "a" * 53],
            ).fetchone()[0]
            for name in ("hana", "cleo", "nils")
        }
        streams = {
            key: conn.execute(
                "INSERT INTO lp.streams (host_id, title, status, started_at, ended_at, end_reason)"
                " VALUES (%s, 'live', 'ended', now() - interval '1 hour', now(), %s) RETURNING id",
                [users["hana"], reason],
            ).fetchone()[0]
            for key, reason in (("gated", _GATE_REASON), ("hosted", "bye, see you"))
        }
        conn.execute(
            "INSERT INTO lp.stream_performers (stream_id, performer_id) VALUES (%s, %s)",
            [streams["gated"], users["cleo"]],
        )
        for key, reason, by in (("gated", _GATE_REASON, "gate"), ("hosted", "bye, see you", "host")):
            conn.execute(
                "INSERT INTO lp.stream_events (stream_id, kind, payload) VALUES (%s, 'stream_ended', %s)",
                [streams[key], Jsonb({"reason": reason, "by": by, "tips_count": 0})],
            )
            conn.execute(
                "INSERT INTO lp.audit_logs (action, target_type, target_id, details)"
                " VALUES ('stream.end', 'stream', %s, %s)",
                [str(streams[key]), Jsonb({"status": "ended", "reason": reason, "by": by})],
            )

    assert "0051_gate_reasons_name_nobody" in migrate.apply(empty_db)

    with psycopg.connect(empty_db) as conn:

        def of(sql: str) -> dict:
            return {key: conn.execute(sql, [streams[key]]).fetchone()[0] for key in streams}

        assert of("SELECT end_reason FROM lp.streams WHERE id = %s") == {
            "gated": "go-live gate",
            "hosted": "bye, see you",
        }
        assert of("SELECT payload FROM lp.stream_events WHERE stream_id = %s AND kind = 'stream_ended'") == {
            "gated": {"reason": "go-live gate", "by": "gate", "tips_count": 0},
            "hosted": {"reason": "bye, see you", "by": "host", "tips_count": 0},
        }
        assert of(
            "SELECT details FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = %s::text"
        ) == {
            "gated": {
                "status": "ended",
                "reason": "go-live gate",
                "by": "gate",
                "gaps": [
                    {
                        "user_id": str(users["hana"]),
                        "lacks": "identity verification expired: re-verification needed",
                    },
                    {"user_id": str(users["cleo"]), "lacks": "no consent for this stream"},
                    {"user_id": None, "lacks": "not an active performer"},
                ],
            },
            "hosted": {"status": "ended", "reason": "bye, see you", "by": "host"},
        }
        # The audit trail is append-only again once the migration is done.
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("UPDATE lp.audit_logs SET details = '{}' WHERE action = 'stream.end'")
        assert refused.value.sqlstate == "LP090"


def test_0052_fills_who_ended_streams_and_closed_goals_from_the_evidence_left(empty_db, db_tree_up_to):
    """Before 0052 only a stream's stream_ended event and stream.end audit row said who ended it, and the
    host's erasure blanked the end reason unless one of them said an admin or the gate: once both had expired,
    it blanked staff's and the system's reasons too. 0052 puts who ended it on the row (ended_by) from the
    event, else the audit row, and leaves NULL where neither is left (a live stream too); the backfill keeps
    updated_at. Then the erasure reads the row: after the evidence expires, an admin's and the gate's reasons
    stay, the host's go, and a stream with no evidence at all (NULL) is judged as before (the host's). Goals
    likewise (closed_by): reached and missed ones by the system, a cancelled one by whom its goal.cancel audit
    row says, NULL without one; after the audit rows expire an admin's cancel reason stays."""
    migrate.apply(empty_db, root=db_tree_up_to(51))
    touched = "2026-01-01 00:00:00+00"
    with psycopg.connect(empty_db) as conn:
        host = conn.execute(
            "INSERT INTO lp.users (email, username, password_hash, date_of_birth, role)"
            " VALUES ('hana@example.org', 'hana', %s, DATE '1990-01-01', 'performer') RETURNING id",
            ["$2b$04$" + "a" * 53],
        ).fetchone()[0]
        # key: (status, end reason, the stream_ended event's 'by' or None, the audit row's 'by' or None)
        cases = {
            "evented": ("ended", "moderation: rule 4.2", "admin", "admin"),
            "audited": ("cancelled", "not tonight after all", None, "host"),
            "gated": ("ended", "account deleted", None, "gate"),
            "hosted": ("ended", "bye, see you", "host", None),
            "lost": ("ended", "moderation: rule 5.1", None, None),
            "live": ("live", None, None, None),
        }
        streams = {}
        for key, (status, reason, event_by, audit_by) in cases.items():
            streams[key] = conn.execute(
                "INSERT INTO lp.streams (host_id, title, status, started_at, ended_at, end_reason,"
                " updated_at) VALUES (%s, 'show', %s,"
                " CASE WHEN %s <> 'cancelled' THEN now() - interval '1 hour' END,"
                " CASE WHEN %s = 'ended' THEN now() END, %s, %s) RETURNING id",
                [host, status, status, status, reason, touched],
            ).fetchone()[0]
            if event_by is not None:
                conn.execute(
                    "INSERT INTO lp.stream_events (stream_id, kind, payload) VALUES (%s, 'stream_ended', %s)",
                    [streams[key], Jsonb({"reason": reason, "by": event_by, "tips_count": 0})],
                )
            if audit_by is not None:
                conn.execute(
                    "INSERT INTO lp.audit_logs (action, target_type, target_id, details)"
                    " VALUES ('stream.end', 'stream', %s, %s)",
                    [str(streams[key]), Jsonb({"status": status, "reason": reason, "by": audit_by})],
                )

        # Goals of the 'evented' stream. key: (status, close reason, the goal.cancel audit row's 'by' or None)
        goal_cases = {
            "reached": ("reached", None, None),
            "missed": ("missed", "deadline passed", None),
            "by_admin": ("cancelled", "off-topic: rule 3", "admin"),
            "by_host": ("cancelled", "not today", "host"),
            "ended": ("cancelled", "stream ended", None),
            "untold": ("cancelled", "no record of who", None),
            "queued": ("queued", None, None),
        }
        goals = {}
        for position, (key, (status, reason, audit_by)) in enumerate(goal_cases.items(), start=1):
            goals[key] = conn.execute(
                "INSERT INTO lp.tip_goals (stream_id, position, description, target_tokens, status,"
                " closed_at, close_reason) VALUES (%s, %s, 'goal', 100, %s,"
                " CASE WHEN %s <> 'queued' THEN now() END, %s) RETURNING id",
                [streams["evented"], position, status, status, reason],
            ).fetchone()[0]
            if audit_by is not None:
                conn.execute(
                    "INSERT INTO lp.audit_logs (action, target_type, target_id, details)"
                    " VALUES ('goal.cancel', 'tip_goal', %s, %s)",
                    [str(goals[key]), Jsonb({"reason": reason, "by": audit_by})],
                )

    assert "0052_who_ended_streams_and_goals" in migrate.apply(empty_db)

    with psycopg.connect(empty_db) as conn:

        def of(sql: str) -> dict:
            return {key: conn.execute(sql, [streams[key]]).fetchone()[0] for key in streams}

        assert of("SELECT ended_by FROM lp.streams WHERE id = %s") == {
            "evented": "admin",
            "audited": "host",
            "gated": "gate",
            "hosted": "host",
            "lost": None,
            "live": None,
        }
        assert set(of("SELECT updated_at::text FROM lp.streams WHERE id = %s").values()) == {touched}

        def of_goals(sql: str) -> dict:
            return {key: conn.execute(sql, [goals[key]]).fetchone()[0] for key in goals}

        assert of_goals("SELECT closed_by FROM lp.tip_goals WHERE id = %s") == {
            "reached": "system",
            "missed": "system",
            "by_admin": "admin",
            "by_host": "host",
            "ended": None,
            "untold": None,
            "queued": None,
        }
        # Time passes: the events are purged and the audit month archived (its partition dropped). Then hana
        # is erased.
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM lp.stream_events WHERE kind = 'stream_ended'")
        conn.execute("DELETE FROM lp.audit_logs WHERE action IN ('stream.end', 'goal.cancel')")
        conn.execute("SET LOCAL session_replication_role = origin")
        conn.execute("SELECT lp.erase_personal_data(%s)", [host])
        assert of("SELECT end_reason FROM lp.streams WHERE id = %s") == {
            "evented": "moderation: rule 4.2",
            "audited": None,
            "gated": "account deleted",
            "hosted": None,
            "lost": None,
            "live": None,
        }
        assert of_goals("SELECT close_reason FROM lp.tip_goals WHERE id = %s") == {
            "reached": None,
            "missed": "deadline passed",
            "by_admin": "off-topic: rule 3",
            "by_host": None,
            "ended": "stream ended",
            "untold": None,
            "queued": None,
        }


def test_0053_closes_the_appeals_of_lifted_sanctions_and_reviews_suspensions_revoked_after_their_end(
    empty_db, db_tree_up_to
):
    """Before 0053 an appeal pending when its sanction was lifted stayed pending for ever; 0053 closes each
    as moot, as of the lift, by whom lifted it, with the lift's reason, and leaves the other appeals (of a
    sanction in force, or decided) as they were. The review job's index now holds the review_on_expiry
    suspensions revoked at or after their end (reviewed all the same), not those lifted early. The rollback
    makes the moot appeals pending again."""
    migrate.apply(empty_db, root=db_tree_up_to(52))
    with psycopg.connect(empty_db) as conn:
        users = {
            name: conn.execute(
                "INSERT INTO lp.users (email, username, password_hash, date_of_birth, role)"
                " VALUES (%s, %s, %s, DATE '1990-01-01', %s) RETURNING id",
                [f"{name}@example.org", name, "$2b$04$" + "a" * 53, role],
            ).fetchone()[0]
            for name, role in (("vic", "viewer"), ("mona", "moderator"), ("max", "moderator"))
        }
        # key: (type, starts, ends, revoked (NULL: not), revoke reason, review_on_expiry, appeal status)
        cases = {
            "lifted": ("mute", "-2 hours", None, "-1 hour", "a song lyric", False, "pending"),
            "in_force": ("mute", "-2 hours", None, None, None, False, "pending"),
            "denied": ("tip_block", "-2 hours", None, "-1 hour", "served", False, "denied"),
            "late": ("suspension", "-3 hours", "-2 hours", "-1 hour", "served", True, None),
            "early": ("suspension", "-3 hours", "-1 hour", "-2 hours", "a mistake", True, None),
        }
        sanctions, appeals = {}, {}
        for key, (kind, starts, ends, revoked, reason, review, appeal) in cases.items():
            sanctions[key] = conn.execute(
                "INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, issued_by, starts_at,"
                " ends_at, revoked_at, revoked_by, revoke_reason, review_on_expiry)"
                " VALUES (%(user)s, %(kind)s, 'rule 3', %(mona)s, now() + %(starts)s::interval,"
                " now() + %(ends)s::interval, now() + %(revoked)s::interval,"
                " CASE WHEN %(revoked)s::text IS NOT NULL THEN %(max)s::uuid END, %(reason)s, %(review)s)"
                " RETURNING id",
                {"user": users["vic"], "kind": kind, "mona": users["mona"], "max": users["max"],
                 "starts": starts, "ends": ends, "revoked": revoked, "reason": reason, "review": review},
            ).fetchone()[0]  # fmt: skip
            if appeal is not None:
                appeals[key] = conn.execute(
                    "INSERT INTO lp.sanction_appeals (sanction_id, user_id, statement, status, decided_by,"
                    " decided_at, decision_reasons) VALUES (%s, %s, 'please', %s,"
                    " CASE WHEN %s <> 'pending' THEN %s::uuid END, CASE WHEN %s <> 'pending' THEN now() END,"
                    " CASE WHEN %s <> 'pending' THEN 'no' END) RETURNING id",
                    [sanctions[key], users["vic"], appeal, appeal, users["mona"], appeal, appeal],
                ).fetchone()[0]

    assert "0053_sanction_lifecycle" in migrate.apply(empty_db)

    with psycopg.connect(empty_db) as conn:
        rows = {
            key: conn.execute(
                "SELECT a.status::text, a.decided_by = %s, a.decided_at = s.revoked_at, a.decision_reasons"
                " FROM lp.sanction_appeals AS a JOIN lp.user_sanctions AS s ON s.id = a.sanction_id"
                " WHERE a.id = %s",
                [users["max"], appeal],
            ).fetchone()
            for key, appeal in appeals.items()
        }
        assert rows == {
            "lifted": ("moot", True, True, "The sanction was lifted: a song lyric"),
            "in_force": ("pending", None, None, None),
            "denied": ("denied", False, False, "no"),
        }
        conn.execute("SET enable_seqscan = off")
        due = conn.execute(
            "SELECT s.id FROM lp.user_sanctions AS s"
            " WHERE s.review_on_expiry AND s.expiry_handled_at IS NULL"
            " AND (s.revoked_at IS NULL OR s.revoked_at >= s.ends_at) AND s.ends_at <= now()"
        ).fetchall()
        assert due == [(sanctions["late"],)]
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT s.id FROM lp.user_sanctions AS s"
                " WHERE s.review_on_expiry AND s.expiry_handled_at IS NULL"
                " AND (s.revoked_at IS NULL OR s.revoked_at >= s.ends_at) AND s.ends_at <= now()"
            )
        )
        assert "user_sanctions_review_due_idx" in plan

    assert rollback_through(empty_db, "0053_sanction_lifecycle")[-1] == "0053_sanction_lifecycle"
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(
            "SELECT array_agg(status::text ORDER BY status::text) FROM lp.sanction_appeals"
            " WHERE decided_at IS NULL AND decision_reasons IS NULL"
        ).fetchone()[0] == ["pending", "pending"]


def test_0056_rewrites_the_end_reasons_that_told_a_performers_sanction_verification_role_or_flag(
    empty_db, db_tree_up_to
):
    """Before 0056 a stream the platform ended because of one performer said why in its public end reason
    and stream_ended event ('performer ban', 'performer became viewer', 'identity verification expired: ...',
    'automated moderation: violence'). After the upgrade both say 'go-live gate'; the stream.end audit row
    says it too, with the old reason as what the user lacked, by the id of the user found from what the
    ending left at the same time (the sanction, the role change's or the expiry's audit row, the acted flag),
    else the one performer of a cast of one, else nobody. A host's own reason, an admin's and an account's
    deletion stay as they were; so does updated_at. The audit trail is append-only again afterwards."""
    migrate.apply(empty_db, root=db_tree_up_to(55))
    touched = "2026-01-01 00:00:00+00"
    with psycopg.connect(empty_db) as conn:
        users = {
            name: conn.execute(
                "INSERT INTO lp.users (email, username, password_hash, date_of_birth, role)"
                " VALUES (%s, %s, %s, DATE '1990-01-01', 'performer') RETURNING id",
                [f"{name}@example.org", name, "$2b$04$" + "a" * 53],
            ).fetchone()[0]
            for name in ("hana", "cleo", "nils")
        }
        # key: (end reason, ended_by, co-performer or None, what else the ending left at its time)
        cases = {
            "banned": ("performer ban", "gate", "cleo", "sanction"),
            "demoted": ("performer became viewer", "gate", None, None),
            "demoted_duo": ("performer became moderator", "gate", "cleo", "role_change"),
            "lapsed": (
                "identity verification expired: re-verification needed",
                "gate",
                "cleo",
                "kyc_expired",
            ),
            "flagged": ("automated moderation: violence", "gate", "cleo", "flag"),
            "untold": ("performer suspension", None, "cleo", None),
            "hosted": ("performer ban", "host", None, None),
            "admin": ("performer ban", "admin", None, None),
            "deleted": ("account deleted", "gate", "cleo", None),
        }
        streams, ended_at = {}, {}
        for key, (reason, by, co, left) in cases.items():
            streams[key], ended_at[key] = conn.execute(
                "INSERT INTO lp.streams (host_id, title, status, started_at, ended_at, end_reason, ended_by,"
                " updated_at) VALUES (%s, 'show', 'ended', now() - interval '1 hour',"
                " now() - %s * interval '1 minute', %s, %s, %s) RETURNING id, ended_at",
                [users["hana"], len(streams), reason, by, touched],
            ).fetchone()
            if co is not None:
                conn.execute(
                    "INSERT INTO lp.stream_performers (stream_id, performer_id) VALUES (%s, %s)",
                    [streams[key], users[co]],
                )
            conn.execute(
                "INSERT INTO lp.stream_events (stream_id, kind, payload) VALUES (%s, 'stream_ended', %s)",
                [streams[key], Jsonb({"reason": reason, "by": by or "gate", "tips_count": 0})],
            )
            conn.execute(
                "INSERT INTO lp.audit_logs (action, target_type, target_id, details, occurred_at)"
                " VALUES ('stream.end', 'stream', %s, %s, %s)",
                [
                    str(streams[key]),
                    Jsonb({"status": "ended", "reason": reason, "by": by or "gate"}),
                    ended_at[key],
                ],
            )
            if left == "sanction":  # cleo was banned then; hana was banned another time
                for user, at in ((users["cleo"], ended_at[key]), (users["hana"], touched)):
                    conn.execute(
                        "INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, created_at)"
                        " VALUES (%s, 'ban', 'rule 1', %s)",
                        [user, at],
                    )
            elif left == "role_change":
                conn.execute(
                    "INSERT INTO lp.audit_logs (action, target_type, target_id, details, occurred_at)"
                    " VALUES ('user.role_change', 'user', %s, %s, %s)",
                    [str(users["cleo"]), Jsonb({"from": "performer", "to": "moderator"}), ended_at[key]],
                )
            elif left == "kyc_expired":
                conn.execute(
                    "INSERT INTO lp.audit_logs (action, target_type, target_id, details, occurred_at)"
                    " VALUES ('kyc.approval_expired', 'kyc_verification', %s, %s, %s)",
                    [str(uuid.uuid4()), Jsonb({"user_id": str(users["hana"])}), ended_at[key]],
                )
            elif left == "flag":  # the flag named nils, who is not on camera
                conn.execute(
                    "INSERT INTO lp.moderation_flags (stream_id, user_id, content_type, detector, category,"
                    " confidence, status, disposition, created_at) VALUES (%s, %s, 'stream_video', 'vision',"
                    " 'violence', 0.99, 'escalated', 'acted', %s)",
                    [streams[key], users["nils"], ended_at[key]],
                )

    assert "0056_private_end_reasons_and_no_truncate" in migrate.apply(empty_db)

    kept = {
        key: reason
        for key, (reason, by, _co, _left) in cases.items()
        if key in ("hosted", "admin", "deleted")
    }
    with psycopg.connect(empty_db) as conn:

        def of(sql: str, *args: str) -> dict:
            return {key: conn.execute(sql, [streams[key], *args]).fetchone()[0] for key in streams}

        public = {key: kept.get(key, "go-live gate") for key in streams}
        assert of("SELECT end_reason FROM lp.streams WHERE id = %s") == public
        events = "SELECT payload ->> 'reason' FROM lp.stream_events WHERE stream_id = %s AND kind = %s"
        assert of(events, "stream_ended") == public
        assert set(of("SELECT updated_at::text FROM lp.streams WHERE id = %s").values()) == {touched}
        about = {
            "banned": "cleo",
            "demoted": "hana",
            "demoted_duo": "cleo",
            "lapsed": "hana",
            "flagged": "nils",
        }
        assert of(
            "SELECT details FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = %s::text"
        ) == {
            key: {"status": "ended", "reason": public[key], "by": by or "gate"}
            | (
                {}
                if key in kept
                else {
                    "gaps": [
                        {
                            "user_id": str(users[about[key]]) if key in about else None,
                            "lacks": reason,
                        }
                    ]
                }
            )
            for key, (reason, by, _co, _left) in cases.items()
        }
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("UPDATE lp.audit_logs SET details = '{}' WHERE action = 'stream.end'")
        assert refused.value.sqlstate == "LP090"


def test_0055_replaces_the_partition_move_and_its_rollback_restores_the_old_one(empty_db, db_tree_up_to):
    """0055 gives lp.create_month_partition its lock before the read and its one-statement move (the
    definition of db/schema, which test_migrations_match_the_canonical_schema compares); the rollback puts
    back the definition and comment of 0033, byte for byte. Its behaviour under concurrent writers:
    tests/py/test_partition_races.py."""
    definition = (
        "SELECT pg_get_functiondef(p.oid), obj_description(p.oid, 'pg_proc') FROM pg_proc AS p"
        " WHERE p.oid = 'lp.create_month_partition(regclass, timestamptz)'::regprocedure"
    )
    migrate.apply(empty_db, root=db_tree_up_to(53))
    with psycopg.connect(empty_db) as conn:
        before = conn.execute(definition).fetchone()
    assert "LOCK TABLE" not in before[0]
    assert "0055_partition_move_lock" in migrate.apply(empty_db)
    with psycopg.connect(empty_db) as conn:
        after = conn.execute(definition).fetchone()
    assert "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE" in after[0]
    assert "DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *" in after[0]
    rolled_back = migrate.rollback(empty_db, sum(int(m[:4]) >= 55 for m in migration_ids()))
    assert rolled_back[-1] == "0055_partition_move_lock"
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(definition).fetchone() == before


def test_0054_adds_the_sending_status_and_its_rollback_makes_sending_payouts_approved(
    empty_db, db_tree_up_to
):
    """0054 makes lp.payout_status anew with 'sending' between approved and rejected and adds sending_at:
    every payout keeps its status (none was sending before), sending_at NULL; a sending payout needs
    sending_at (the CHECK) and is in the partial index of the payouts in progress. The upgrade also runs over
    the release before's view of the column (reporting.payouts, re-created by the repeatables). The rollback
    makes the sending payouts approved again and drops the value and the column."""
    migrate.apply(empty_db, root=db_tree_up_to(53))
    statuses = ("requested", "approved", "paid", "rejected", "failed", "cancelled")
    with psycopg.connect(empty_db) as conn:
        user = conn.execute(
            "INSERT INTO lp.users (email, username, password_hash, date_of_birth, role)"
            " VALUES ('pia@example.org', 'pia', %s, DATE '1990-01-01', 'performer') RETURNING id",
            ["$2b$04$" + "a" * 53],
        ).fetchone()[0]
        kyc = conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now()) RETURNING id",
            [user],
        ).fetchone()[0]
        payouts = {
            status: conn.execute(
                "INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor,"
                " method, status, paid_at, rejection_reason, idempotency_key)"
                " VALUES (%s, %s, 5000, 100, 5000, 'paypal', %s,"
                " CASE WHEN %s = 'paid' THEN now() END, CASE WHEN %s = 'rejected' THEN 'no' END, %s)"
                " RETURNING id",
                [user, kyc, status, status, status, status],
            ).fetchone()[0]
            for status in statuses
        }
        # The release before's reporting view over the column (the real one is a repeatable).
        conn.execute("CREATE VIEW reporting.payouts AS SELECT id, status FROM lp.payouts")

    assert "0054_payout_sending" in migrate.apply(empty_db)

    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT enum_range(NULL::lp.payout_status)::text[]").fetchone()[0] == [
            "requested", "approved", "sending", "rejected", "paid", "failed", "cancelled",
        ]  # fmt: skip
        rows = conn.execute("SELECT id, status::text, sending_at FROM lp.payouts").fetchall()
        assert sorted(rows) == sorted((payouts[s], s, None) for s in statuses)
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute("UPDATE lp.payouts SET status = 'sending' WHERE id = %s", [payouts["approved"]])
        conn.execute(
            "UPDATE lp.payouts SET status = 'sending', sending_at = now() WHERE id = %s",
            [payouts["approved"]],
        )
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT id FROM lp.payouts WHERE status = 'sending' ORDER BY created_at"
            )
        )
        assert "payouts_status_idx" in plan
        conn.commit()

    assert rollback_through(empty_db, "0054_payout_sending")[-1] == "0054_payout_sending"
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT enum_range(NULL::lp.payout_status)::text[]").fetchone()[0] == [
            "requested", "approved", "rejected", "paid", "failed", "cancelled",
        ]  # fmt: skip
        assert conn.execute(
            "SELECT status::text FROM lp.payouts WHERE id = %s", [payouts["approved"]]
        ).fetchone() == ("approved",)
        column = conn.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = 'lp.payouts'::regclass AND attname = 'sending_at'"
            " AND NOT attisdropped"
        ).fetchone()
        assert column is None


def test_0057_is_refused_while_ledger_partitions_are_archived(empty_db, db_tree_up_to):
    """0057 adds the carry-forward of lp.payable_tokens to the checkpoints of archive boundaries. With a
    ledger partition archived the sums of its entries cannot be made any more: applying it is refused (LP197),
    and so is rolling it back (the checkpoint's seal covers the carry-forward) until they are restored."""
    migrate.apply(empty_db, root=db_tree_up_to(56))
    archived = (
        "INSERT INTO lp.archives (table_name, partition_name, range_from, range_to, boundary,"
        " checkpoint_accounts, checkpoint_sha256, file_name, file_sha256, content_sha256, row_count)"
        " VALUES ('lp.ledger', %s, '2020-01-01', '2020-02-01', '2020-02-01', 0, repeat('a', 64),"
        " 'f.jsonl.gz', repeat('b', 64), repeat('c', 64), 0)"
    )
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(archived, ["lp_partitions.ledger_2020_01"])
    with pytest.raises(migrate.MigrationError, match="restore them before applying 0057"):
        migrate.apply(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('lp.earnings_checkpoints')").fetchone()[0] is None
        conn.execute("UPDATE lp.archives SET restored_at = now()")

    applied = migrate.apply(empty_db)
    assert "0057_archive_carry_forward" in applied
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('lp.earnings_checkpoints')").fetchone()[0] is not None
        conn.execute(archived, ["lp_partitions.ledger_2020_02"])
    later = len([m for m in migration_ids() if int(m[:4]) > 57])
    with pytest.raises(migrate.MigrationError, match="restore them before rolling back 0057"):
        migrate.rollback(empty_db, later + 1)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("UPDATE lp.archives SET restored_at = now() WHERE restored_at IS NULL")
    # The refused run rolled back the migrations after 0057 before it stopped at 0057: only 0057 is left.
    assert migrate.rollback(empty_db, 1) == ["0057_archive_carry_forward"]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT to_regclass('lp.earnings_checkpoints')").fetchone()[0] is None


def test_0058_abandons_the_open_verifications_of_accounts_deleted_or_erased_before_it(
    empty_db, db_tree_up_to
):
    """Since 0058's release an erasure and a deletion abandon the account's open identity verifications; an
    account deleted or erased before it kept them open (an admin or a webhook could still decide them). 0058
    abandons those, audits each with the status it had, and leaves every other verification as it was; the
    rollback gives them back that status."""
    migrate.apply(empty_db, root=db_tree_up_to(57))
    with psycopg.connect(empty_db) as conn:
        users = {
            name: conn.execute(
                "INSERT INTO lp.users (email, username, password_hash, date_of_birth, role, deleted_at)"
                " VALUES (%s, %s, %s, DATE '1990-01-01', 'performer', CASE WHEN %s THEN now() END)"
                " RETURNING id",
                [f"{name}@example.org", name, "$2b$04$" + "a" * 53, deleted],
            ).fetchone()[0]
            for name, deleted in (
                ("del", True),
                ("era", False),
                ("era2", True),
                ("live", False),
                ("old", True),
            )
        }
        conn.execute(
            "INSERT INTO lp.erasures (user_id, via) VALUES (%s, 'self'), (%s, 'admin')",
            [users["era"], users["era2"]],
        )
        # key: (user, status)
        cases = {
            "deleted_submitted": ("del", "submitted"),
            "erased_in_review": ("era", "in_review"),
            "erased_deleted_resubmission": ("era2", "resubmission_requested"),
            "live_started": ("live", "started"),
            "deleted_declined": ("old", "declined"),
        }
        verifications = {
            key: conn.execute(
                "INSERT INTO lp.kyc_verifications (user_id, status, reviewed_at, rejection_reason)"
                " VALUES (%s, %s, CASE WHEN %s = 'declined' THEN now() END,"
                " CASE WHEN %s = 'declined' THEN 'blurred' END) RETURNING id",
                [users[user], status, status, status],
            ).fetchone()[0]
            for key, (user, status) in cases.items()
        }

    assert "0058_abandon_erased_users_verifications" in migrate.apply(empty_db)

    def statuses() -> dict[str, str]:
        with psycopg.connect(empty_db) as conn:
            return {
                key: conn.execute(
                    "SELECT status::text FROM lp.kyc_verifications WHERE id = %s", [vid]
                ).fetchone()[0]
                for key, vid in verifications.items()
            }

    assert statuses() == {
        "deleted_submitted": "abandoned",
        "erased_in_review": "abandoned",
        "erased_deleted_resubmission": "abandoned",
        "live_started": "started",
        "deleted_declined": "declined",
    }
    with psycopg.connect(empty_db) as conn:
        audited = conn.execute(
            "SELECT target_id, details ->> 'previous_status', details ->> 'user_id', actor_id"
            " FROM lp.audit_logs WHERE action = 'kyc.abandon' AND target_type = 'kyc_verification'"
            " ORDER BY details ->> 'previous_status'"
        ).fetchall()
    assert audited == [
        (str(verifications["erased_in_review"]), "in_review", str(users["era"]), None),
        (
            str(verifications["erased_deleted_resubmission"]),
            "resubmission_requested",
            str(users["era2"]),
            None,
        ),
        (str(verifications["deleted_submitted"]), "submitted", str(users["del"]), None),
    ]

    assert rollback_through(empty_db, "0058_abandon_erased_users_verifications")[-1] == (
        "0058_abandon_erased_users_verifications"
    )
    assert statuses() == {key: status for key, (_, status) in cases.items()}


def test_0066_names_both_uses_of_review_claim_minutes_and_its_rollback_restores_the_old_text(
    pg_server, empty_db
):
    """Since 0065 api.claim_case does not hand a moderator back a case whose claim of theirs ended less than
    review.claim_minutes ago: 0066 says so in the setting's description, as the canonical schema seeds it; its
    rollback restores the description 0027 seeded, word for word."""
    query = "SELECT description FROM lp.settings WHERE key = 'review.claim_minutes'"
    migrate.apply(empty_db)
    with psycopg.connect(empty_db) as conn:
        migrated = conn.execute(query).fetchone()[0]
    assert "api.extend_case_claim renews it from now" in migrated
    assert "api.claim_case does not hand a moderator back a case whose claim of theirs ended" in migrated
    with pg_server.database() as canonical:
        migrate.build_canonical(canonical)
        with psycopg.connect(canonical) as conn:
            assert conn.execute(query).fetchone()[0] == migrated
    migration = "0066_claim_minutes_description"
    assert rollback_through(empty_db, migration)[-1] == migration
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(query).fetchone()[0] == (
            "Length in minutes of a moderator's lease on a claimed case (api.claim_case);"
            " api.extend_case_claim renews it from now."
        )


def test_0067_claims_tip_keys_in_an_index_led_by_the_key_and_its_rollback_restores_the_sender_first_key(
    empty_db, db_tree_up_to
):
    """0067 swaps lp.tips' unique key (sender_id, idempotency_key) for (idempotency_key, sender_id): the same
    uniqueness (a key per sender; tips already there keep theirs), the key first, so that time-ordered keys
    are claimed at the index's right edge. The rollback restores the sender-first key."""
    key_columns = (
        "SELECT c.conname, array_agg(a.attname::text ORDER BY k.n)"
        "  FROM pg_catalog.pg_constraint AS c"
        " CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k (attnum, n)"
        "  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
        " WHERE c.conrelid = 'lp.tips'::regclass AND c.contype = 'u' GROUP BY c.conname"
    )
    insert = (
        "INSERT INTO lp.tips (sender_id, recipient_id, amount, fee_amount, transaction_id, idempotency_key)"
        " VALUES (%s, %s, 10, 2, gen_random_uuid(), %s)"
    )
    alice, bob, paula = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    migrate.apply(empty_db, root=db_tree_up_to(66))
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(key_columns).fetchall() == [
            ("tips_sender_id_idempotency_key_key", ["sender_id", "idempotency_key"])
        ]
        for sender in (alice, bob):  # one key text, two senders: allowed before and after
            conn.execute(insert, [sender, paula, "k-1"])
    migrate.apply(empty_db)
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(key_columns).fetchall() == [
            ("tips_idempotency_key_sender_id_key", ["idempotency_key", "sender_id"])
        ]
        assert conn.execute("SELECT count(*) FROM lp.tips WHERE idempotency_key = 'k-1'").fetchone()[0] == 2
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, [alice, paula, "k-1"])
    migration = "0067_tip_key_first"
    assert rollback_through(empty_db, migration)[-1] == migration
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(key_columns).fetchall() == [
            ("tips_sender_id_idempotency_key_key", ["sender_id", "idempotency_key"])
        ]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, [bob, paula, "k-1"])


def test_0068_claims_cross_shard_tip_keys_in_an_index_led_by_the_key_and_its_rollback_restores_it(
    empty_db, db_tree_up_to
):
    """0068 swaps lp.transfers_out's partial unique index (sender_id, idempotency_key) for (idempotency_key,
    sender_id), as 0067 did for lp.tips: the same uniqueness (one key per sender for tips; captures and
    refunds outside it), the key first. The rollback restores the sender-first index. (The rows name users
    and holds that do not exist: the foreign keys are not what is tested, session_replication_role skips
    them.)"""
    definition = "SELECT pg_get_indexdef('lp.transfers_out_tip_key_idx'::regclass)"
    insert = (
        "INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount,"
        " idempotency_key, transaction_id, hold_id)"
        " VALUES (gen_random_uuid(), %s, %s, 1, 10, 2, %s, gen_random_uuid(), %s)"
    )
    alice, bob, paula = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    no_foreign_keys = "SET session_replication_role = replica"
    where = " WHERE ((hold_id IS NULL) AND (refund_of IS NULL))"
    migrate.apply(empty_db, root=db_tree_up_to(67))
    with psycopg.connect(empty_db) as conn:
        conn.execute(no_foreign_keys)
        assert conn.execute(definition).fetchone()[0].endswith("(sender_id, idempotency_key)" + where)
        for sender in (alice, bob):  # one key text, two senders: allowed before and after
            conn.execute(insert, [sender, paula, "k-1", None])
        conn.execute(insert, [alice, paula, "k-1", uuid.uuid4()])  # a capture's key is outside the rule
    migrate.apply(empty_db)
    with psycopg.connect(empty_db) as conn:
        conn.execute(no_foreign_keys)
        assert conn.execute(definition).fetchone()[0].endswith("(idempotency_key, sender_id)" + where)
        assert (
            conn.execute("SELECT count(*) FROM lp.transfers_out WHERE idempotency_key = 'k-1'").fetchone()[0]
            == 3
        )
        conn.execute(insert, [bob, paula, "k-1", uuid.uuid4()])
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, [alice, paula, "k-1", None])
    migration = "0068_transfer_key_first"
    assert rollback_through(empty_db, migration)[-1] == migration
    with psycopg.connect(empty_db) as conn:
        conn.execute(no_foreign_keys)
        assert conn.execute(definition).fetchone()[0].endswith("(sender_id, idempotency_key)" + where)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, [bob, paula, "k-1", None])
