"""Partitioned lp.ledger and lp.audit_logs (migrations 0033, 0034; docs/ledger.md, "Partitions").

* The conversion: a database migrated up to 0032 with entries made through the API over five months is
  upgraded; every row comes back with its id, in id order, each in its month's partition, verify_ledger clean,
  the identity continuing; the rollback gives the same rows back in an unpartitioned table.
* Direct access to a partition is as safe as through the parent: refused to the application roles (no USAGE on
  lp_partitions, no privilege), append-only for the owner too (row triggers cloned, TRUNCATE trigger added).
* api.maintain_partitions: creates ahead, moves rows out of the default partition, idempotent, parallel-safe.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from livepanty_db import archive, errors, migrate, paths

PASSWORD = "partition test 1"
ROWS = "SELECT row_to_json(t)::text FROM {table} AS t ORDER BY t.id"


def _tree_up_to(tmp_path: Path, last: int) -> Path:
    """A copy of db/ with the migrations up to ``last``. The repeatables stay (they run on the unpartitioned
    tables too: same columns), so the API can make the data; but for the policies of the tables of 0035 and
    0038."""
    root = tmp_path / "db"
    shutil.copytree(paths.db_root(), root)
    for path in (root / "migrations").iterdir():
        if int(path.name[:4]) > last:
            path.unlink()
    for table in (
        "archives",
        "ledger_checkpoints",
        "earnings_checkpoints",
        "shard_self",
        "transfers_out",
        "transfers_in",
        "remote_users",
        "payout_hold_requests",
        "payout_hold_receipts",
        "sanction_requests",
        "sanction_receipts",
        "remote_gates",
        "payout_hold_lifts",
        "payout_hold_lift_receipts",
    ):
        (root / "policies" / f"{table}.sql").unlink()
    return root


#: An empty stand-in for lp.transfers_out (migration 0038), which today's api.tip reads (a key used for a tip
#: to another shard), while the history is made on a database migrated up to 0032.
STAND_IN_TRANSFERS_OUT = (
    "CREATE TABLE lp.transfers_out (sender_id uuid, idempotency_key text, hold_id uuid, refund_of uuid);"
    " GRANT SELECT ON lp.transfers_out TO livepanty_owner"
)


def _make_history(dsn: str) -> None:
    """Users, purchases and tips through the API, then the history spread over the last five months (as the
    superuser, append-only triggers off: the API cannot write the past)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(STAND_IN_TRANSFERS_OUT)  # (dropped at the end, before 0038 makes the real one)
        ids, tokens = {}, {}
        for name, role in (
            ("vera", "viewer"),
            ("walt", "viewer"),
            ("pia", "performer"),
            ("pete", "performer"),
        ):
            ids[name] = conn.execute(
                "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                " p_date_of_birth => %s, p_role => %s)",
                (f"{name}@example.com", name, PASSWORD, date(1990, 1, 1), role),
            ).fetchone()[0]
            tokens[name] = conn.execute("SELECT token FROM api.login(%s, %s)", (name, PASSWORD)).fetchone()[0]
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at, expires_at) SELECT u, 'identity', 'approved', 'passport', 'DE', now(),"
            " now() + interval '1 year' FROM unnest(%s::uuid[]) AS u",
            [[ids["pia"], ids["pete"]]],
        )
        for name in ("vera", "walt"):
            conn.execute(
                "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),"
                " ARRAY[ROW(lp.system_wallet('issuance'), -5000, 'purchase', 0, false)::lp.posting,"
                "       ROW((SELECT id FROM lp.wallets WHERE user_id = %s), 5000, 'purchase', 0, false)"
                "::lp.posting])",
                [ids[name]],
            )
    for i in range(40):
        sender, recipient = ("vera", "pia") if i % 2 else ("walt", "pete")
        if i in (12, 34):  # pia spends some of her earnings too (lp.payable_tokens counts it)
            sender, recipient = "pia", "pete"
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT api.authenticate(%s)", [tokens[sender]])
            conn.execute(
                "SELECT api.tip(p_recipient_id => %s, p_amount => %s, p_idempotency_key => %s)",
                [ids[recipient], 10 + i, f"tip-{i}"],
            )
    with psycopg.connect(dsn, autocommit=True) as conn:
        spread = (
            "date_trunc('month', now(), 'UTC') - interval '4 months'"
            " + ({n} - 1) * (interval '140 days' / {max})"
        )
        # Every entry of a ledger transaction keeps one time (one lp.post, one database transaction): the
        # transaction's time follows its first entry's id. Audit rows each their own.
        conn.execute("ALTER TABLE lp.ledger DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.ledger AS l SET created_at = "
            + spread.format(n="t.first_id", max="(SELECT max(id) FROM lp.ledger)")
            + " FROM (SELECT transaction_id, min(id) AS first_id FROM lp.ledger GROUP BY transaction_id) AS t"
            " WHERE t.transaction_id = l.transaction_id"
        )
        conn.execute("ALTER TABLE lp.ledger ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE lp.audit_logs DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.audit_logs SET occurred_at = "
            + spread.format(n="id", max="(SELECT max(id) FROM lp.audit_logs)")
        )
        conn.execute("ALTER TABLE lp.audit_logs ENABLE TRIGGER USER")
        # A tip row is written in its ledger transaction: same start time.
        conn.execute("ALTER TABLE lp.tips DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.tips AS t SET created_at = (SELECT min(l.created_at) FROM lp.ledger AS l"
            " WHERE l.transaction_id = t.transaction_id)"
        )
        conn.execute("ALTER TABLE lp.tips ENABLE TRIGGER USER")
        conn.execute("DROP TABLE lp.transfers_out")


def _snapshot(dsn: str) -> dict[str, list[str]]:
    with psycopg.connect(dsn) as conn:
        return {t: [r[0] for r in conn.execute(ROWS.format(table=t))] for t in ("lp.ledger", "lp.audit_logs")}


def _totals(dsn: str) -> tuple[Any, ...]:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE livepanty_service")
        return conn.execute("SELECT * FROM api.ledger_totals()").fetchone()


def _violations(dsn: str) -> list[Any]:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE livepanty_service")
        return conn.execute("SELECT * FROM api.verify_ledger()").fetchall()


def test_conversion_keeps_every_row_and_its_order(empty_db: str, tmp_path: Path) -> None:
    migrate.apply(empty_db, root=_tree_up_to(tmp_path, 32))
    _make_history(empty_db)
    before = _snapshot(empty_db)
    assert len(before["lp.ledger"]) > 80
    assert len(before["lp.audit_logs"]) > 4
    with psycopg.connect(empty_db) as conn:
        months = conn.execute(
            "SELECT count(DISTINCT date_trunc('month', created_at, 'UTC')) FROM lp.ledger"
        ).fetchone()[0]
        assert months >= 4  # the history spans several months: several partitions get rows

    migrate.apply(empty_db)

    assert _snapshot(empty_db) == before
    assert _violations(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        assert (
            conn.execute("SELECT relkind FROM pg_class WHERE oid = 'lp.ledger'::regclass").fetchone()[0]
            == "p"
        )
        # Each row sits in its month's partition; nothing is left in a default partition.
        misplaced = conn.execute(
            "SELECT count(*) FROM lp.ledger AS l"
            " WHERE l.tableoid::regclass::text"
            "       <> 'lp_partitions.ledger_' || to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY_MM')"
        ).fetchone()[0]
        assert misplaced == 0
        used = conn.execute("SELECT count(DISTINCT tableoid) FROM lp.ledger").fetchone()[0]
        assert used == months
        assert conn.execute("SELECT count(*) FROM lp_partitions.audit_logs_default").fetchone()[0] == 0
        # The identity continues after the copied ids.
        old_max = conn.execute("SELECT max(id) FROM lp.ledger").fetchone()[0]
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),"
            " ARRAY[ROW(lp.system_wallet('issuance'), -7, 'purchase', 0, false)::lp.posting,"
            "       ROW((SELECT w.id FROM lp.wallets AS w JOIN lp.users AS u ON u.id = w.user_id"
            "            WHERE u.username = 'vera'), 7, 'purchase', 0, false)::lp.posting])"
        )
        new_min = conn.execute("SELECT min(id) FROM lp.ledger WHERE id > %s", [old_max]).fetchone()[0]
        assert new_min == old_max + 1
        conn.rollback()

    # Every migration after 0032 (the newest down to 0033, the partitioned ledger).
    migrations = (paths.db_root() / "migrations").glob("*.sql")
    later = [p for p in migrations if not p.name.endswith(".rollback.sql")]
    migrate.rollback(empty_db, len([p for p in later if int(p.name[:4]) > 32]))

    assert _snapshot(empty_db) == before
    with psycopg.connect(empty_db) as conn:
        kinds = conn.execute(
            "SELECT relkind FROM pg_class WHERE oid IN ('lp.ledger'::regclass, 'lp.audit_logs'::regclass)"
        ).fetchall()
        assert kinds == [("r",), ("r",)]
        assert conn.execute("SELECT to_regnamespace('lp_partitions')").fetchone()[0] is None

    migrate.apply(empty_db)
    assert _snapshot(empty_db) == before
    assert _violations(empty_db) == []


def _current_partition(conn: psycopg.Connection, table: str) -> str:
    return conn.execute(
        f"SELECT 'lp_partitions.{table}_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')"
    ).fetchone()[0]


@pytest.mark.parametrize(
    "role", ["livepanty_app", "livepanty_service", "livepanty_readonly", "livepanty_mailer"]
)
def test_application_roles_cannot_reach_a_partition(db_url: str, role: str) -> None:
    statements = [
        "SELECT * FROM {p}",
        "INSERT INTO {p} (id) VALUES (1)",
        "UPDATE {p} SET id = id",
        "DELETE FROM {p}",
        "TRUNCATE {p}",
    ]
    with psycopg.connect(db_url) as conn:
        partitions = [
            _current_partition(conn, "ledger"),
            "lp_partitions.ledger_default",
            _current_partition(conn, "audit_logs"),
            "lp_partitions.audit_logs_default",
        ]
        conn.execute(f"SET ROLE {role}")
        for partition in partitions:
            for statement in statements:
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(statement.format(p=partition))


def test_partitions_are_append_only_for_the_owner_too(db_url: str, seed: Any) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        user = conn.execute(
            "SELECT id FROM api.register_user(p_email => 'ola@example.com', p_username => 'ola',"
            " p_password => %s, p_date_of_birth => DATE '1990-01-01')",
            [PASSWORD],
        ).fetchone()[0]
    seed.fund(100, user)
    with psycopg.connect(db_url) as conn:
        ledger = _current_partition(conn, "ledger")
        audit = _current_partition(conn, "audit_logs")
        assert conn.execute(f"SELECT count(*) FROM {ledger}").fetchone()[0] > 0
        assert conn.execute(f"SELECT count(*) FROM {audit}").fetchone()[0] > 0
        conn.commit()
        conn.execute("SET ROLE livepanty_owner")
        for statement in (
            f"UPDATE {ledger} SET amount = amount",
            f"DELETE FROM {ledger}",
            f"TRUNCATE {ledger}",
            "TRUNCATE lp_partitions.ledger_default",
            f"UPDATE {audit} SET action = 'x.y'",
            f"DELETE FROM {audit}",
            f"TRUNCATE {audit}",
            "UPDATE lp.ledger SET amount = amount",
            "TRUNCATE lp.ledger",
        ):
            with pytest.raises(psycopg.Error) as refused, conn.transaction():
                conn.execute(statement)
            assert refused.value.sqlstate == "LP090", statement


def test_every_partition_is_secured(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        partitions = conn.execute(
            "SELECT c.oid::regclass::text, c.relrowsecurity AND c.relforcerowsecurity, c.relacl::text[],"
            "       (SELECT array_agg(p.polroles::regrole[]::text) FROM pg_policy AS p"
            "         WHERE p.polrelid = c.oid),"
            "       (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger AS t"
            "         WHERE t.tgrelid = c.oid)"
            "  FROM pg_class AS c WHERE c.relnamespace = 'lp_partitions'::regnamespace AND c.relkind = 'r'"
        ).fetchall()
        assert len(partitions) == 10  # default + this month + 3 ahead, for both tables
        for name, forced, acl, policies, triggers in partitions:
            assert forced, name
            assert acl is None or all(
                not a.startswith(("=", "livepanty_app", "livepanty_service")) for a in acl
            )
            assert policies == ["{livepanty_owner}"], name
            table = "ledger" if ".ledger_" in name else "audit_logs"
            assert triggers == [f"{table}_append_only", f"{table}_no_truncate"], name
        usage = conn.execute(
            "SELECT r FROM unnest(ARRAY['livepanty_app', 'livepanty_service', 'livepanty_readonly',"
            " 'livepanty_mailer']) AS r WHERE has_schema_privilege(r, 'lp_partitions', 'USAGE')"
        ).fetchall()
        assert usage == []


def _maintain(dsn: str, months: int) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE livepanty_service")
        return conn.execute("SELECT * FROM api.maintain_partitions(%s)", [months]).fetchall()


def test_maintain_partitions_creates_ahead_once(db_url: str) -> None:
    assert _maintain(db_url, 3) == []  # the install made this month and the next three
    made = _maintain(db_url, 5)
    assert sorted((m[0], m[4]) for m in made) == [("lp.audit_logs", 0)] * 2 + [("lp.ledger", 0)] * 2
    assert _maintain(db_url, 5) == []
    with psycopg.connect(db_url) as conn:
        furthest = conn.execute(
            "SELECT to_char((date_trunc('month', now(), 'UTC') + interval '5 months') AT TIME ZONE 'UTC',"
            " 'YYYY_MM')"
        ).fetchone()[0]
        assert (
            conn.execute(f"SELECT to_regclass('lp_partitions.ledger_{furthest}')").fetchone()[0] is not None
        )
        audited = conn.execute(
            "SELECT count(*) FROM lp.audit_logs"
            " WHERE action = 'partitions.create' AND target_type = 'partition'"
        ).fetchone()[0]
        assert audited == 4


@pytest.mark.parametrize("months", [-1, 25, None])
def test_maintain_partitions_refuses_a_bad_horizon(db_url: str, months: Any) -> None:
    with pytest.raises(psycopg.Error) as refused:
        _maintain(db_url, months)
    assert refused.value.sqlstate == "LP018"
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'lp_partitions'::regnamespace"
                " AND relkind = 'r'"
            ).fetchone()[0]
            == 10
        )


def test_rows_in_the_default_partition_move_to_their_month(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        ids = [
            conn.execute(
                "INSERT INTO lp.audit_logs (occurred_at, action, details) VALUES (%s, 'test.backdated', '{}')"
                " RETURNING id",
                [when],
            ).fetchone()[0]
            for when in ("2024-03-05T10:00:00Z", "2024-03-20T10:00:00Z", "2023-11-30T23:59:59Z")
        ]
        assert conn.execute("SELECT count(*) FROM lp_partitions.audit_logs_default").fetchone()[0] == 3
    made = _maintain(db_url, 3)
    assert sorted((m[1], m[4]) for m in made) == [
        ("lp_partitions.audit_logs_2023_11", 1),
        ("lp_partitions.audit_logs_2024_03", 2),
    ]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM lp_partitions.audit_logs_default").fetchone()[0] == 0
        rows = conn.execute(
            "SELECT id, tableoid::regclass::text FROM lp.audit_logs"
            " WHERE action = 'test.backdated' ORDER BY id"
        ).fetchall()
        assert rows == [
            (ids[0], "lp_partitions.audit_logs_2024_03"),
            (ids[1], "lp_partitions.audit_logs_2024_03"),
            (ids[2], "lp_partitions.audit_logs_2023_11"),
        ]
        # The moved partition is secured like the others.
        assert conn.execute(
            "SELECT relforcerowsecurity FROM pg_class"
            " WHERE oid = 'lp_partitions.audit_logs_2024_03'::regclass"
        ).fetchone()[0]


def test_maintain_partitions_in_parallel(db_url: str) -> None:
    results: list[list[tuple[Any, ...]]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            results.append(_maintain(db_url, 8))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    made = [m[1] for result in results for m in result]
    assert len(made) == len(set(made)) == 10  # months 4..8 of both tables, each made by exactly one run


def test_inserts_through_the_parent_land_in_their_partition(db_url: str, seed: Any) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        user = conn.execute(
            "SELECT id FROM api.register_user(p_email => 'ida@example.com', p_username => 'ida',"
            " p_password => %s, p_date_of_birth => DATE '1990-01-01')",
            [PASSWORD],
        ).fetchone()[0]
    seed.fund(50, user)
    with psycopg.connect(db_url) as conn:
        where = conn.execute(
            "SELECT DISTINCT l.tableoid::regclass::text FROM lp.ledger AS l"
            " JOIN lp.wallets AS w ON w.id = l.wallet_id WHERE w.user_id = %s",
            [user],
        ).fetchall()
        assert where == [(_current_partition(conn, "ledger"),)]
        assert uuid.UUID(str(user))


# -- archiving --------------------------------------------------------------------------------------------


@pytest.fixture
def history(empty_db: str, tmp_path: Path) -> str:
    """A database with five months of entries made through the API, converted to partitions."""
    migrate.apply(empty_db, root=_tree_up_to(tmp_path, 32))
    _make_history(empty_db)
    migrate.apply(empty_db)
    return empty_db


def _month_start(conn: psycopg.Connection, months_back: int) -> datetime:
    return conn.execute(
        "SELECT date_trunc('month', now(), 'UTC') - make_interval(months => %s)", [months_back]
    ).fetchone()[0]


def _partitions(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT c.oid::regclass::text FROM pg_class AS c"
                " WHERE c.relnamespace = 'lp_partitions'::regnamespace AND c.relkind = 'r' ORDER BY 1"
            )
        ]


def test_archive_verify_restore_round_trip(history: str, tmp_path: Path) -> None:
    before_rows = _snapshot(history)
    totals_before = _totals(history)
    partitions = _partitions(history)
    with psycopg.connect(history) as conn:
        boundary = _month_start(conn, 2)
        old = conn.execute("SELECT count(*) FROM lp.ledger WHERE created_at < %s", [boundary]).fetchone()[0]
        assert old > 10
        assert (
            conn.execute("SELECT count(*) FROM lp.ledger WHERE created_at >= %s", [boundary]).fetchone()[0]
            > 10
        )
    directory = tmp_path / "cold"

    done = archive.archive(history, boundary, directory)

    archived = {a.partition for a in done}
    assert archived == {
        p for p in partitions if not p.endswith("_default") and p[-7:] < boundary.strftime("%Y_%m")
    }
    assert {a.partition.split(".")[1].rsplit("_", 2)[0] for a in done} == {"ledger", "audit_logs"}
    assert sum(a.rows for a in done if ".ledger_" in a.partition) == old
    for a in done:
        assert a.file.exists()
        assert archive.file_digest(a.file) == a.file_sha256
    with psycopg.connect(history) as conn:
        assert (
            conn.execute("SELECT count(*) FROM lp.ledger WHERE created_at < %s", [boundary]).fetchone()[0]
            == 0
        )
        gone = [p for p in archived if conn.execute("SELECT to_regclass(%s)", [p]).fetchone()[0] is not None]
        assert gone == []
        assert (
            conn.execute(
                "SELECT count(*) FROM lp.ledger_checkpoints WHERE boundary = %s", [boundary]
            ).fetchone()[0]
            > 0
        )
    # The remaining ledger still proves every chain, from the checkpoint, and the totals still add up.
    assert _violations(history) == []
    assert _totals(history)[2:] == totals_before[2:]  # circulating, in user and system wallets, imbalance 0
    assert _totals(history)[-1] == 0

    # The chains really start from the checkpoint: a checkpoint balance changed behind the seal is caught.
    with psycopg.connect(history) as conn:
        conn.execute("ALTER TABLE lp.ledger_checkpoints DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.ledger_checkpoints SET balance = balance + 1"
            " WHERE (wallet_id, shard) = (SELECT c.wallet_id, c.shard FROM lp.ledger_checkpoints AS c"
            "  JOIN lp.ledger AS l ON l.wallet_id = c.wallet_id AND l.shard = c.shard LIMIT 1)"
        )
        conn.execute("SET ROLE livepanty_service")
        found = {r[0] for r in conn.execute("SELECT * FROM api.verify_ledger()")}
        assert {"chain_start", "checkpoint_seal"} <= found
        conn.rollback()

    # A damaged file is refused before anything changes.
    victim = next(a for a in done if ".ledger_" in a.partition)
    damaged = tmp_path / victim.file.name
    data = bytearray(victim.file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(errors.ArchiveContentMismatch):
        archive.restore(history, damaged)
    # So is an intact archive whose rows were changed (a file rewritten with a new digest).
    header, rows = archive.read_archive(victim.file)
    forged = tmp_path / ("forged-" + victim.file.name)
    lines = list(rows)
    assert '"description":null' in lines[0]
    lines[0] = lines[0].replace('"description":null', '"description":"forged"', 1)
    with gzip.open(forged, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(header) + "\n" + "".join(line + "\n" for line in lines))
    with psycopg.connect(history, autocommit=True) as conn:
        conn.execute("ALTER TABLE lp.archives DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.archives SET file_sha256 = %s WHERE partition_name = %s",
            [archive.file_digest(forged), victim.partition],
        )
    with pytest.raises(errors.ArchiveContentMismatch):
        archive.restore(history, forged)
    with psycopg.connect(history, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass(%s)", [victim.partition]).fetchone()[0] is None
        conn.execute(
            "UPDATE lp.archives SET file_sha256 = %s WHERE partition_name = %s",
            [victim.file_sha256, victim.partition],
        )

    for a in done:
        name, rows_back = archive.restore(history, a.file)
        assert (name, rows_back) == (a.partition, a.rows)

    after = _snapshot(history)
    assert after["lp.ledger"] == before_rows["lp.ledger"]
    # The audit trail is back whole, followed by the entries of the archive and the restores.
    assert after["lp.audit_logs"][: len(before_rows["lp.audit_logs"])] == before_rows["lp.audit_logs"]
    assert len(after["lp.audit_logs"]) > len(before_rows["lp.audit_logs"])
    assert _partitions(history) == partitions
    assert _violations(history) == []
    with psycopg.connect(history) as conn:
        conn.execute("SET ROLE livepanty_service")
        listed = conn.execute(
            "SELECT partition_name, restored_at IS NOT NULL FROM api.list_archives()"
        ).fetchall()
        assert sorted(listed) == sorted((p, True) for p in archived)
        with pytest.raises(psycopg.Error) as again:
            conn.execute("SELECT api.restore_partition(%s)", [done[0].archive_id])
        assert again.value.sqlstate == "LP196"


def test_archive_that_cuts_a_chain_is_refused(history: str, tmp_path: Path) -> None:
    with psycopg.connect(history, autocommit=True) as conn:
        boundary = _month_start(conn, 2)  # (a month old at least 720 hours: lp.archive_horizon)
        # An entry written after a later one of the same account but dated before the boundary (a
        # transaction that started before the boundary and committed after another one): archiving there
        # would cut its chain.
        target = conn.execute(
            "SELECT l.id FROM lp.ledger AS l"
            " WHERE l.created_at >= %(b)s"
            "   AND EXISTS (SELECT 1 FROM lp.ledger AS e WHERE e.wallet_id = l.wallet_id"
            "   AND e.shard = l.shard AND e.created_at >= %(b)s AND e.id < l.id)"
            "   AND EXISTS (SELECT 1 FROM lp.ledger AS e WHERE e.wallet_id = l.wallet_id"
            "   AND e.shard = l.shard AND e.created_at < %(b)s)"
            " ORDER BY l.id LIMIT 1",
            {"b": boundary},
        ).fetchone()[0]
        for partition in ["lp.ledger", *(p for p in _partitions(history) if ".ledger_" in p)]:
            conn.execute(f"ALTER TABLE {partition} DISABLE TRIGGER USER")
        # The whole ledger transaction (and its tip) moves: its entries share one time.
        conn.execute(
            "UPDATE lp.ledger SET created_at = %s - interval '1 second'"
            " WHERE transaction_id = (SELECT transaction_id FROM lp.ledger WHERE id = %s)",
            [boundary, target],
        )
        conn.execute("ALTER TABLE lp.tips DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.tips SET created_at = %s - interval '1 second'"
            " WHERE transaction_id = (SELECT transaction_id FROM lp.ledger WHERE id = %s)",
            [boundary, target],
        )
        conn.execute("ALTER TABLE lp.tips ENABLE TRIGGER USER")
    before = _partitions(history)
    with pytest.raises(errors.ArchiveCutsChain):
        archive.archive(history, boundary, tmp_path / "cold")
    assert _partitions(history) == before
    with psycopg.connect(history) as conn:
        assert conn.execute("SELECT count(*) FROM lp.ledger_checkpoints").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM lp.archives").fetchone()[0] == 0
    # An earlier boundary cuts nothing.
    with psycopg.connect(history) as conn:
        earlier = _month_start(conn, 3)
    assert archive.archive(history, earlier, tmp_path / "cold")
    assert _violations(history) == []


@pytest.mark.parametrize("before", ["2020-01-15T00:00:00Z", "2999-01-01T00:00:00Z", None])
def test_archive_boundary_must_be_a_past_month_start(db_url: str, before: Any) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("SET ROLE livepanty_service")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT * FROM api.archive_prepare(%s)", [before])
        assert refused.value.sqlstate == "LP190"


def test_detach_refuses_a_file_that_does_not_hold_the_rows(history: str) -> None:
    with psycopg.connect(history) as conn:
        conn.execute("SET ROLE livepanty_service")
        boundary = _month_start(conn, 2)
        plan = conn.execute("SELECT * FROM api.archive_prepare(%s)", [boundary]).fetchall()
        conn.commit()
        name, _table, rows, content = plan[0][1], plan[0][0], plan[0][4], plan[0][7]
        for bad_rows, bad_content in ((rows - 1, content), (rows, "0" * 64)):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(
                    "SELECT api.archive_detach(%s, %s, 'x.jsonl.gz', %s, %s, %s)",
                    [name, boundary, "a" * 64, bad_rows, bad_content],
                )
            assert refused.value.sqlstate == "LP195"
            conn.rollback()
        assert conn.execute("SELECT count(*) FROM api.list_archives()").fetchone()[0] == 0
    assert name in _partitions(history)


def test_reads_of_the_partitioned_ledger_use_its_indexes(history: str) -> None:
    """The per-account reads (api.wallet_history, api.balance_at, verify's chains) and the transaction lookups
    (api.verify_ledger) can walk the partitions' indexes. The partitions here are tiny, so sequential scans
    are switched off: a plan that still scans a partition has no index to use (Seq Scan shows regardless)."""
    with psycopg.connect(history) as conn:
        conn.execute("ANALYZE lp.ledger")
        conn.execute("SET enable_seqscan = off")
        wallet, tx = conn.execute(
            "SELECT wallet_id, transaction_id FROM lp.ledger ORDER BY id LIMIT 1"
        ).fetchone()
        plans = {
            "history": "SELECT l.* FROM lp.ledger AS l WHERE l.wallet_id = %(w)s AND l.shard = 0"
            " AND l.id < 9223372036854775807 ORDER BY l.id DESC LIMIT 20",
            "balance_at": "SELECT l.balance_after FROM lp.ledger AS l WHERE l.wallet_id = %(w)s"
            " AND l.shard = 0 AND l.created_at <= now() ORDER BY l.id DESC LIMIT 1",
            "transaction": "SELECT * FROM lp.ledger AS l WHERE l.transaction_id = %(t)s",
            "chain": "SELECT l.id, lag(l.balance_after)"
            " OVER (PARTITION BY l.wallet_id, l.shard ORDER BY l.id)"
            " FROM lp.ledger AS l WHERE l.wallet_id BETWEEN %(w)s AND %(w)s",
        }
        for name, query in plans.items():
            plan = "\n".join(
                r[0] for r in conn.execute("EXPLAIN " + query, {"w": wallet, "t": tx}).fetchall()
            )
            assert "Seq Scan" not in plan, f"{name}:\n{plan}"
            assert "Index" in plan, f"{name}:\n{plan}"
            if name == "chain":
                assert "Sort" not in plan.replace("Sort Key", ""), f"{name}: the window needs no sort\n{plan}"


def _cli(dsn: str, *args: str, fmt: str = "json") -> Any:
    from click.testing import CliRunner

    from livepanty_db.cli import main

    return CliRunner().invoke(main, ["--dsn", dsn, "--format", fmt, *args])


def test_cli_archive_list_restore_and_partitions(history: str, tmp_path: Path) -> None:
    with psycopg.connect(history) as conn:
        month = _month_start(conn, 3).strftime("%Y-%m")
    cold = tmp_path / "cold"
    result = _cli(history, "archive", "--before", month, "--dir", str(cold))
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert {row["partition"].split(".")[1].rsplit("_", 2)[0] for row in written} == {"ledger", "audit_logs"}
    assert all(Path(row["file"]).parent == cold for row in written)
    assert _violations(history) == []

    listed = _cli(history, "archive", "list")
    assert listed.exit_code == 0, listed.output
    assert sorted(r["partition_name"] for r in json.loads(listed.stdout)) == sorted(
        r["partition"] for r in written
    )

    # A damaged file: refused with its code, nothing restored.
    target = Path(written[0]["file"])
    damaged = tmp_path / target.name
    damaged.write_bytes(target.read_bytes()[:-9] + b"xxxxxxxxx")
    refused = _cli(history, "archive", "restore", str(damaged))
    assert refused.exit_code == 1
    assert "LP195" in refused.output
    assert written[0]["partition"] not in _partitions(history)

    for row in written:
        back = _cli(history, "archive", "restore", row["file"])
        assert back.exit_code == 0, back.output
    assert _violations(history) == []
    assert all(row["partition"] in _partitions(history) for row in written)

    # Not a month / no directory: usage errors before any database work.
    assert _cli(history, "archive", "--before", "2025-13", "--dir", str(cold)).exit_code != 0
    assert _cli(history, "archive", "--before", "2025-01").exit_code == 2

    made = _cli(history, "jobs", "partitions", "--months-ahead", "4")
    assert made.exit_code == 0, made.output
    assert len(json.loads(made.stdout)) == 2


# -- archive safety: one run at a time, files that never change under their record, erasures survive a restore


def _cold_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl.gz"))


def test_a_second_archive_run_is_refused_while_one_runs(
    history: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two operators at once (the reviewer's reproduction: a slow writer, another run meanwhile): the second
    is refused before it records or writes anything; the first one's files are the recorded ones, and they
    restore."""
    with psycopg.connect(history) as conn:
        boundary = _month_start(conn, 2)
    cold = tmp_path / "cold"
    slow = threading.Event()  # the first run is writing its first file
    go_on = threading.Event()
    real_write = gzip.GzipFile.write
    first = threading.current_thread()  # replaced by the first run's thread below

    def slow_write(self: gzip.GzipFile, data: Any) -> int:
        if threading.current_thread() is first and not go_on.is_set():
            slow.set()
            go_on.wait(30)
        return real_write(self, data)

    monkeypatch.setattr(gzip.GzipFile, "write", slow_write)
    outcome: dict[str, Any] = {}

    def run_first() -> None:
        try:
            outcome["done"] = archive.archive(history, boundary, cold)
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run_first)
    first = thread
    thread.start()
    try:
        assert slow.wait(30), outcome
        with pytest.raises(archive.ArchiveLocked):
            archive.archive(history, boundary, cold)
        refused = _cli(
            history, "archive", "--before", boundary.strftime("%Y-%m"), "--dir", str(cold), fmt="table"
        )
        assert refused.exit_code == 1
        assert refused.stderr.startswith("error: another livepanty-db archive is running on "), refused.stderr
        assert "Traceback" not in refused.output
        assert _cold_files(cold) == []  # the first run's file is not published yet; the second wrote none
    finally:
        go_on.set()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    done = outcome["done"]
    assert done
    assert sorted(a.file for a in done) == _cold_files(cold)
    assert list(cold.glob("*.part")) == []
    with psycopg.connect(history) as conn:
        conn.execute("SET ROLE livepanty_service")
        recorded = {
            r[0]: r[1] for r in conn.execute("SELECT file_name, file_sha256 FROM api.list_archives()")
        }
    assert recorded == {str(a.file.resolve()): archive.file_digest(a.file) for a in done}
    for a in done:
        assert archive.restore(history, a.file) == (a.partition, a.rows)
    assert _violations(history) == []
    # The lock is free again: a later run works.
    assert archive.archive(history, boundary, cold)


def test_archive_files_are_private_deterministic_and_never_replaced(history: str, tmp_path: Path) -> None:
    with psycopg.connect(history) as conn:
        boundary = _month_start(conn, 2)
        conn.execute("SET ROLE livepanty_service")
        plans = conn.execute("SELECT * FROM api.archive_prepare(%s)", [boundary]).fetchall()
        conn.commit()
    cold = tmp_path / "cold"
    cold.mkdir()
    # A file already under the first partition's name, with other bytes: refused, kept, nothing detached.
    first = cold / f"{plans[0][1].split('.', 1)[1]}.{plans[0][7][:12]}.jsonl.gz"
    first.write_bytes(b"an older copy")
    with pytest.raises(errors.ArchiveContentMismatch, match="exists and holds other bytes"):
        archive.archive(history, boundary, cold)
    assert first.read_bytes() == b"an older copy"
    assert plans[0][1] in _partitions(history)
    with psycopg.connect(history) as conn:
        assert conn.execute("SELECT count(*) FROM lp.archives").fetchone()[0] == 0
    assert [p.name for p in cold.iterdir() if p.name.endswith(".part")] == []
    first.unlink()

    done = archive.archive(history, boundary, cold)
    assert done
    for path in [*_cold_files(cold), cold / archive.LOCK_NAME]:
        assert path.stat().st_mode & 0o777 == 0o600, path
    for a in done:
        # gzip's header holds no time (bytes 4-7): the same rows give the same bytes in every run.
        assert a.file.read_bytes()[4:8] == b"\0\0\0\0"
        assert archive.restore(history, a.file) == (a.partition, a.rows)
    assert _violations(history) == []


def test_archive_to_a_directory_that_cannot_be_made_is_a_readable_error(history: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with psycopg.connect(history) as conn:
        month = _month_start(conn, 2).strftime("%Y-%m")
    result = _cli(history, "archive", "--before", month, "--dir", str(blocker / "cold"), fmt="table")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr == f"error: archive to {blocker / 'cold'}: Not a directory\n", result.stderr
    assert "Traceback" not in result.output
    with psycopg.connect(history) as conn:
        assert conn.execute("SELECT count(*) FROM lp.ledger_checkpoints").fetchone()[0] == 0
    assert len(_partitions(history)) > 4


#: What the erasure of vera must remove from the audit trail, wherever a row of hers comes back from.
VERA_TRACES = ("203.0.113.7", "VeraBrowser", "Secret Lane", "vera@example.com", '"username": "vera"')


def _plant_vera_rows(dsn: str, month: datetime) -> None:
    """Audit rows of an old month that an erasure of vera scrubs: her own login (address, user agent), an
    anonymous failed login from her address (into walt's account), a block of her by walt (his address, a
    reason naming her), a mailer error quoting her address; and walt's own login, which stays."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "WITH u AS (SELECT (SELECT id FROM lp.users WHERE username = 'vera') AS vera,"
            "                  (SELECT id FROM lp.users WHERE username = 'walt') AS walt)"
            " INSERT INTO lp.audit_logs (occurred_at, actor_id, actor_role, action, target_type, target_id,"
            "                            ip_address, details)"
            " SELECT %(at)s::timestamptz + interval '1 day', r.* FROM u, LATERAL (VALUES"
            "  (u.vera, 'viewer', 'auth.login', 'session', gen_random_uuid()::text, inet '203.0.113.7',"
            "   jsonb_build_object('user_agent', 'VeraBrowser/1.0')),"
            "  (NULL, NULL, 'auth.login_failed', 'user', u.walt::text, inet '203.0.113.7',"
            "   jsonb_build_object('username', 'vera', 'user_agent', 'VeraBrowser/1.0',"
            "                      'reason', 'bad_password')),"
            "  (u.walt, 'viewer', 'user.block', 'user', u.vera::text, inet '198.51.100.9',"
            "   jsonb_build_object('reason', 'vera lives at 1 Secret Lane')),"
            "  (NULL, NULL, 'outbox.failed', 'message', gen_random_uuid()::text, NULL,"
            "   jsonb_build_object('user_id', u.vera, 'error', '550 vera@example.com: no such user')),"
            "  (u.walt, 'viewer', 'auth.login', 'session', gen_random_uuid()::text, inet '198.51.100.9',"
            "   jsonb_build_object('user_agent', 'WaltBrowser/2.0'))"
            " ) AS r",
            {"at": month},
        )


def _audit_text(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return "\n".join(r[0] for r in conn.execute("SELECT row_to_json(a)::text FROM lp.audit_logs AS a"))


def _erase(dsn: str, username: str) -> psycopg.Connection:
    """lp.erase (the one erasure path of api.request_erasure and api.erase_user), not committed yet."""
    conn = psycopg.connect(dsn)
    user = conn.execute("SELECT id FROM lp.users WHERE username = %s", [username]).fetchone()[0]
    conn.execute("SELECT lp.erase(%s, 'admin', NULL, 'data subject request')", [user])
    return conn


def _assert_vera_erased(dsn: str) -> None:
    text = _audit_text(dsn)
    for trace in VERA_TRACES:
        assert trace not in text, trace
        assert trace.replace(": ", ":") not in text, trace
    assert "WaltBrowser/2.0" in text  # walt's own row stays as it was
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "SELECT ip_address, details FROM lp.audit_logs WHERE action = 'user.block'"
        ).fetchone() == (None, {})  # about her: walt's address and his reason naming her are gone
        assert conn.execute(
            "SELECT ip_address, details FROM lp.audit_logs WHERE action = 'auth.login_failed'"
            " AND actor_id IS NULL AND details ->> 'reason' = 'bad_password'"
        ).fetchone() == (None, {"reason": "bad_password"})  # the fixed code stays


def test_erasures_made_after_an_archive_are_applied_when_it_is_restored(history: str, tmp_path: Path) -> None:
    with psycopg.connect(history) as conn:
        boundary, month = _month_start(conn, 2), _month_start(conn, 3)
    _plant_vera_rows(history, month)
    cold = tmp_path / "cold"
    done = archive.archive(history, boundary, cold)
    with _erase(history, "vera") as conn:
        conn.commit()
    # The archive files still hold her data (documented: they are deleted with the archive, never edited) ...
    held = next(a for a in done if a.partition.endswith("audit_logs_" + month.strftime("%Y_%m")))
    assert "VeraBrowser" in gzip.decompress(held.file.read_bytes()).decode()
    # ... and a restore brings it back only scrubbed, in the same transaction.
    for a in done:
        assert archive.restore(history, a.file) == (a.partition, a.rows)
    _assert_vera_erased(history)
    with psycopg.connect(history) as conn:
        applied = conn.execute(
            "SELECT (details ->> 'erasures_applied')::int FROM lp.audit_logs"
            " WHERE action = 'partitions.restore' AND target_id = %s",
            [held.partition],
        ).fetchone()[0]
        assert applied >= 4
        # Replaying the exported log cannot help here (the erasure is in the database already): the restore
        # itself must scrub.
        conn.execute("SET ROLE livepanty_service")
        entry = conn.execute("SELECT row_to_json(e)::jsonb FROM api.list_erasures() AS e").fetchone()[0]
        replay = conn.execute("SELECT outcome FROM api.replay_erasure(%s)", [json.dumps(entry)]).fetchone()
        assert replay == ("already_applied",)
    assert _violations(history) == []


def test_an_erasure_in_flight_when_a_restore_finishes_is_not_missed(history: str, tmp_path: Path) -> None:
    with psycopg.connect(history) as conn:
        boundary, month = _month_start(conn, 2), _month_start(conn, 3)
    _plant_vera_rows(history, month)
    done = archive.archive(history, boundary, tmp_path / "cold")
    held = next(a for a in done if a.partition.endswith("audit_logs_" + month.strftime("%Y_%m")))
    erasing = _erase(history, "vera")  # scrubbed the trail it sees, not committed yet
    outcome: dict[str, Any] = {}

    def run_restore() -> None:
        try:
            outcome["back"] = archive.restore(history, held.file)
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run_restore)
    thread.start()
    try:
        thread.join(3)  # the restore waits for the erasure (or, unguarded, finishes without it)
    finally:
        erasing.commit()
        erasing.close()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["back"] == (held.partition, held.rows)
    _assert_vera_erased(history)


# -- reads over the whole history or a recent window give the same answers after archiving -----------------


def _login(dsn: str, name: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT token FROM api.login(%s, %s)", (name, PASSWORD)).fetchone()[0]


def _payable(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return dict(
            conn.execute(
                "SELECT u.username::text, lp.payable_tokens(w.id) FROM lp.users AS u"
                " JOIN lp.wallets AS w ON w.user_id = u.id"
            ).fetchall()
        )


def _request_payout(dsn: str, token: str, tokens: int, key: str) -> Any:
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT api.authenticate(%s)", [token])
        return conn.execute(
            "SELECT status::text, tokens FROM api.request_payout(%s, 'bank_transfer', %s)", [tokens, key]
        ).fetchone()


def test_payable_tokens_and_payouts_are_the_same_after_archiving(history: str, tmp_path: Path) -> None:
    """lp.payable_tokens sums earnings, spending and refunds over the whole ledger but subtracts every payout
    (lp.payouts stays): with the entries before the boundary archived it under-counted (a performer with
    earnings paid out in part had 0 payable). The carry-forward recorded with the checkpoint keeps it
    exact."""
    with psycopg.connect(history, autocommit=True) as conn:
        conn.execute("UPDATE lp.settings SET value = '1' WHERE key = 'payouts.min_tokens'")
        boundary = _month_start(conn, 2)
        # pia earned and spent on both sides of the boundary, and earned after it what is not matured yet
        earned_before, spent_before, earned_after = conn.execute(
            "SELECT count(*) FILTER (WHERE l.created_at < %(b)s AND l.entry_kind = 'tip' AND l.amount > 0),"
            "       count(*) FILTER (WHERE l.created_at < %(b)s AND l.entry_kind = 'tip' AND l.amount < 0),"
            "       count(*) FILTER (WHERE l.created_at > now() - interval '7 days' AND l.amount > 0)"
            "  FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id"
            "  JOIN lp.users AS u ON u.id = w.user_id WHERE u.username = 'pia'",
            {"b": boundary},
        ).fetchone()
        assert earned_before > 0
        assert spent_before > 0
        assert earned_after > 0
    pia = _login(history, "pia")
    assert _request_payout(history, pia, 100, "before") == ("requested", 100)
    before = _payable(history)
    assert before["pia"] > 100

    done = archive.archive(history, boundary, tmp_path / "cold")

    assert _payable(history) == before
    with psycopg.connect(history) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM lp.earnings_checkpoints WHERE boundary = %s", [boundary]
            ).fetchone()[0]
            > 0
        )
        # A later boundary carries the earlier one's sums forward (when it is old enough to be archived).
        later = _month_start(conn, 1)
        allowed = conn.execute("SELECT %s <= now() - interval '720 hours'", [later]).fetchone()[0]
    if allowed:
        done += archive.archive(history, later, tmp_path / "cold")
        assert _payable(history) == before
    # What is payable, to the token, can be paid out (the old sum refused it, LP112), and no more.
    with pytest.raises(psycopg.Error) as refused:
        _request_payout(history, pia, before["pia"] + 1, "too much")
    assert refused.value.sqlstate == "LP112"
    assert _request_payout(history, pia, before["pia"], "all") == ("requested", before["pia"])
    assert _payable(history)["pia"] == 0
    assert _violations(history) == []

    # The carry-forward is under the checkpoint's seal.
    with psycopg.connect(history) as conn:
        conn.execute("ALTER TABLE lp.earnings_checkpoints DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE lp.earnings_checkpoints SET earned = earned + 1"
            " WHERE boundary = (SELECT max(boundary) FROM lp.earnings_checkpoints)"
        )
        conn.execute("SET ROLE livepanty_service")
        assert "checkpoint_seal" in {r[0] for r in conn.execute("SELECT * FROM api.verify_ledger()")}
        conn.rollback()

    # Restored: the whole ledger is read again, with the same answers.
    for a in done:
        archive.restore(history, a.file)
    assert _payable(history) == {**before, "pia": 0}
    assert _violations(history) == []


def test_balance_at_is_the_same_after_archiving(history: str, tmp_path: Path) -> None:
    """api.balance_at read each account's last entry at or before the time from the database only: after the
    boundary but before an account's next entry it said 0. It starts from the checkpoint now, and refuses a
    time whose entries are only in the archive files (LP198)."""
    with psycopg.connect(history) as conn:
        boundary = _month_start(conn, 2)
        now = conn.execute("SELECT now()").fetchone()[0]
    times = [
        boundary,
        boundary + timedelta(seconds=1),
        boundary + timedelta(days=10),
        boundary + timedelta(days=40),
        now,
    ]
    earlier = boundary - timedelta(seconds=1)
    tokens = {name: _login(history, name) for name in ("vera", "walt", "pia", "pete")}

    def balances(at: list[datetime]) -> dict[tuple[str, datetime], Any]:
        found: dict[tuple[str, datetime], Any] = {}
        for name, token in tokens.items():
            with psycopg.connect(history) as conn:
                conn.execute("SELECT api.authenticate(%s)", [token])
                for when in at:
                    try:
                        with conn.transaction():
                            found[name, when] = conn.execute(
                                "SELECT api.balance_at(p_at => %s)", [when]
                            ).fetchone()[0]
                    except psycopg.Error as exc:
                        found[name, when] = exc.sqlstate
        return found

    before = balances([*times, earlier])
    # Not vacuous: every account has its last entry before the boundary in the archive, and a balance there.
    assert all(before[name, boundary + timedelta(seconds=1)] > 0 for name in tokens)

    done = archive.archive(history, boundary, tmp_path / "cold")

    after = balances([*times, earlier])
    assert {k: v for k, v in after.items() if k[1] != earlier} == {
        k: v for k, v in before.items() if k[1] != earlier
    }
    assert {after[name, earlier] for name in tokens} == {"LP198"}
    for a in done:
        archive.restore(history, a.file)
    assert balances([*times, earlier]) == before


def test_spending_limit_usage_is_the_same_after_archiving(history: str, tmp_path: Path) -> None:
    """A monthly limit counts the last 720 hours: an archive boundary inside that window took spending out of
    it, so the limit could be exceeded. Such a boundary is refused now (LP190, lp.archive_horizon)."""
    with psycopg.connect(history, autocommit=True) as conn:
        vera = conn.execute("SELECT id FROM lp.users WHERE username = 'vera'").fetchone()[0]
        pia = conn.execute("SELECT id FROM lp.users WHERE username = 'pia'").fetchone()[0]
        # Not vacuous: vera spent within the last 720 hours before the current month began.
        assert (
            conn.execute(
                "SELECT count(*) FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id"
                " WHERE w.user_id = %s AND l.entry_kind = 'tip' AND l.amount < 0"
                "   AND l.created_at > now() - interval '720 hours'"
                "   AND l.created_at < date_trunc('month', now(), 'UTC')",
                [vera],
            ).fetchone()[0]
            > 0
        )
    token = _login(history, "vera")
    with psycopg.connect(history) as conn:
        conn.execute("SELECT api.authenticate(%s)", [token])
        conn.execute("SELECT api.set_spending_limit('monthly', 1000000)")
        conn.commit()

    def usage() -> list[tuple[str, int, int]]:
        with psycopg.connect(history) as conn:
            return conn.execute(
                "SELECT period, spent, reserved FROM lp.spending_limit_usage(%s)", [vera]
            ).fetchall()

    before = usage()
    assert before[0][0] == "monthly"
    assert before[0][1] > 0
    for months_back in (2, 1, 0):  # successive boundaries, oldest first
        with psycopg.connect(history) as conn:
            boundary = _month_start(conn, months_back)
            inside = conn.execute("SELECT %s > now() - interval '720 hours'", [boundary]).fetchone()[0]
        try:
            refused = not archive.archive(history, boundary, tmp_path / "cold")
        except errors.InvalidArchiveBoundary:
            refused = True
        assert usage() == before
        assert refused == inside
    assert _violations(history) == []
    # The cap holds: with what was spent in the window before, 10 more would pass it.
    with psycopg.connect(history) as conn:
        conn.execute("SELECT api.authenticate(%s)", [token])
        conn.execute("SELECT api.set_spending_limit('monthly', %s)", [before[0][1] + 5])
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(
                "SELECT api.tip(p_recipient_id => %s, p_amount => 10, p_idempotency_key => 'over')", [pia]
            )
        assert refused.value.sqlstate == "LP105"


def test_archive_detach_refuses_a_boundary_within_the_windows(history: str) -> None:
    """api.archive_detach checks the horizon too (a caller that skipped api.archive_prepare, or a payout hold
    raised since): nothing is detached."""
    with psycopg.connect(history, autocommit=True) as conn:
        conn.execute("SET ROLE livepanty_service")
        boundary = _month_start(conn, 2)
        plan = conn.execute("SELECT * FROM api.archive_prepare(%s)", [boundary]).fetchall()
        conn.execute("RESET ROLE")
        conn.execute("UPDATE lp.settings SET value = '365' WHERE key = 'payouts.hold_days'")
        conn.execute("SET ROLE livepanty_service")
        name, rows, content = plan[0][1], plan[0][4], plan[0][7]
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(
                "SELECT api.archive_detach(%s, %s, 'x.jsonl.gz', %s, %s, %s)",
                [name, boundary, "a" * 64, rows, content],
            )
        assert refused.value.sqlstate == "LP190"
        with pytest.raises(psycopg.Error) as again:
            conn.execute("SELECT * FROM api.archive_prepare(%s)", [boundary])
        assert again.value.sqlstate == "LP190"
    assert name in _partitions(history)
