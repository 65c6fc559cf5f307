"""Partition maintenance and archiving against writers in flight (docs/ledger.md, "Partitions", "Archiving").

Each test forces its interleaving with a transaction held open on a second connection and waits until the
server reports the job blocked by it (``pg_blocking_pids``), so no outcome depends on timing:

* lp.create_month_partition (api.maintain_partitions) moving a month's rows out of the default partition
  while a writer's row of that month is still uncommitted there: the move waits for it, and the row ends up
  in its month's partition exactly once (the old code copied, then deleted on a newer snapshot: row lost).
* A writer that reaches the default partition after the move locked it waits, then fails (its row belongs to
  the partition attached meanwhile) and commits nothing; retried, its row lands in the new partition. One that
  read the table before the job came is let through first (no deadlock) and its row is moved.
* api.archive_detach while a transaction has an uncommitted row in the partition it archives: the detach waits
  for it, then refuses (LP195: the file lacks the row) and leaves everything as it was; the next archive run
  has the row in its file (the old code compared before it locked, then dropped the row with the partition).
* api.archive_detach refuses (LP195) in a REPEATABLE READ transaction, whose snapshot could predate its lock.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from livepanty_db import archive, errors

#: A month long past, which the install made no partition for: its rows wait in the default partition.
MONTH = "2024-03"
#: Rows of each table, written directly (the superuser may write the past; the API cannot).
INSERT = {
    "lp.audit_logs": (
        "INSERT INTO lp.audit_logs (occurred_at, action, target_type, target_id, details)"
        " VALUES (%(at)s, 'test.race', 'user', %(tag)s, '{}')"
    ),
    "lp.ledger": (
        "INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind,"
        " reference_type, reference_id, description, created_at)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), 1, 0, 1, 'adjustment', 'adjustment',"
        " gen_random_uuid(), %(tag)s, %(at)s)"
    ),
}
#: Where a row of each table is, by its tag.
WHERE_TAG = {
    "lp.audit_logs": "SELECT tableoid::regclass::text FROM lp.audit_logs WHERE target_id = %s",
    "lp.ledger": "SELECT tableoid::regclass::text FROM lp.ledger WHERE description = %s",
}


def _insert(conn: psycopg.Connection[Any], table: str, tag: str, at: str) -> None:
    conn.execute(INSERT[table], {"tag": tag, "at": at})


def _where(conn: psycopg.Connection[Any], table: str, tag: str) -> list[str]:
    return [r[0] for r in conn.execute(WHERE_TAG[table], [tag]).fetchall()]


def _wait_until_blocked(observer: psycopg.Connection[Any], blocker: int, query_like: str) -> int:
    """The pid of the backend running a statement like ``query_like`` once it waits for ``blocker``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = observer.execute(
            "SELECT pid FROM pg_stat_activity WHERE %s = ANY (pg_blocking_pids(pid)) AND query LIKE %s",
            [blocker, query_like],
        ).fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.01)
    pytest.fail(f"no statement like {query_like!r} came to wait for backend {blocker}")


class Background:
    """A call run on a thread; its result or exception kept for the test."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = call()
            except BaseException as exc:  # handed to the test
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> Any:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the background call did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def _maintain(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as job:
        job.execute("SET ROLE livepanty_service")
        return job.execute("SELECT * FROM api.maintain_partitions(3)").fetchall()


@pytest.mark.parametrize("table", ["lp.ledger", "lp.audit_logs"])
def test_a_row_committed_while_its_month_moves_out_of_the_default_partition_is_kept_once(
    db_url: str, table: str
) -> None:
    short = table.split(".")[1]
    partition = f"lp_partitions.{short}_{MONTH.replace('-', '_')}"
    with psycopg.connect(db_url, autocommit=True) as observer, psycopg.connect(db_url) as writer:
        _insert(observer, table, "waiting", f"{MONTH}-05T10:00:00Z")
        # The writer's row of the month sits uncommitted in the default partition when the job starts.
        _insert(writer, table, "in-flight", f"{MONTH}-20T10:00:00Z")
        assert _where(writer, table, "in-flight") == [f"lp_partitions.{short}_default"]
        job = Background(lambda: _maintain(db_url))
        _wait_until_blocked(observer, writer.info.backend_pid, "%maintain_partitions%")
        writer.commit()
        made = job.join()
        assert _where(observer, table, "in-flight") == [partition]  # there, and once
        assert _where(observer, table, "waiting") == [partition]
        assert [(m[1], m[4]) for m in made if m[0] == table] == [(partition, 2)]
        assert observer.execute(f"SELECT count(*) FROM lp_partitions.{short}_default").fetchone()[0] == 0


def test_a_writer_that_reaches_the_default_partition_after_the_move_commits_nothing_then_retries(
    db_url: str,
) -> None:
    partition = f"lp_partitions.audit_logs_{MONTH.replace('-', '_')}"
    with (
        psycopg.connect(db_url, autocommit=True) as observer,
        psycopg.connect(db_url) as job,
        psycopg.connect(db_url, autocommit=True) as writer,
    ):
        _insert(observer, "lp.audit_logs", "waiting", f"{MONTH}-05T10:00:00Z")
        made = job.execute(
            "SELECT * FROM lp.create_month_partition('lp.audit_logs', %s)", [f"{MONTH}-01T00:00:00Z"]
        ).fetchone()
        assert made == (partition, True, 1)
        # Routed to the default partition (the new one is not committed yet), the insert waits for the job.
        late = Background(lambda: _insert(writer, "lp.audit_logs", "late", f"{MONTH}-21T10:00:00Z"))
        _wait_until_blocked(observer, job.info.backend_pid, "%INSERT INTO lp.audit_logs%")
        job.commit()
        with pytest.raises(psycopg.errors.CheckViolation):  # its row belongs to the partition attached
            late.join()
        assert _where(observer, "lp.audit_logs", "late") == []
        _insert(writer, "lp.audit_logs", "late", f"{MONTH}-21T10:00:00Z")
        assert _where(observer, "lp.audit_logs", "late") == [partition]
        assert _where(observer, "lp.audit_logs", "waiting") == [partition]


def test_a_writer_that_read_the_table_before_the_move_is_waited_for_not_deadlocked(db_url: str) -> None:
    """The move locks the default partition ACCESS EXCLUSIVE at once: a transaction that read the table (its
    ACCESS SHARE lock on the default partition makes the job wait) and then inserts a row of the month goes
    ahead of the job in the lock queue and commits; the job then moves that row. After a weaker lock first
    (SHARE ROW EXCLUSIVE), ATTACH PARTITION's upgrade deadlocked with it."""
    partition = f"lp_partitions.audit_logs_{MONTH.replace('-', '_')}"
    with psycopg.connect(db_url, autocommit=True) as observer, psycopg.connect(db_url) as writer:
        _insert(observer, "lp.audit_logs", "waiting", f"{MONTH}-05T10:00:00Z")
        writer.execute("SELECT count(*) FROM lp.audit_logs WHERE target_id = 'nobody'")
        job = Background(lambda: _maintain(db_url))
        _wait_until_blocked(observer, writer.info.backend_pid, "%maintain_partitions%")
        _insert(writer, "lp.audit_logs", "read-then-write", f"{MONTH}-20T10:00:00Z")
        writer.commit()
        made = job.join()
        assert [(m[1], m[4]) for m in made] == [(partition, 2)]
        assert _where(observer, "lp.audit_logs", "read-then-write") == [partition]


def _archived_rows(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()[1:]


def test_archive_detach_waits_for_a_row_in_flight_and_refuses_it_is_never_lost(
    db_url: str, tmp_path: Path
) -> None:
    old = "2024-01"
    partition = "lp_partitions.audit_logs_2024_01"
    boundary = datetime(2024, 2, 1, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as observer, psycopg.connect(db_url) as writer:
        for i in range(3):
            _insert(observer, "lp.audit_logs", f"old-{i}", f"{old}-1{i}T10:00:00Z")
        _maintain(db_url)
        assert _where(observer, "lp.audit_logs", "old-0") == [partition]
        # A transaction that began before the boundary writes into the partition; it commits only after the
        # archive has written and read back the file (without its row) and called api.archive_detach.
        _insert(writer, "lp.audit_logs", "late", f"{old}-31T23:59:59Z")
        run = Background(lambda: archive.archive(db_url, boundary, tmp_path / "cold"))
        _wait_until_blocked(observer, writer.info.backend_pid, "%archive_detach%")
        writer.commit()
        refused: errors.ArchiveContentMismatch | None = None
        try:
            done = run.join()
        except errors.ArchiveContentMismatch as exc:
            refused, done = exc, []
        # Never lost (nor kept twice): the row is in the database or in the file.
        in_file = sum('"late"' in row for d in done for row in _archived_rows(d.file))
        assert len(_where(observer, "lp.audit_logs", "late")) + in_file == 1
        # Here the file was written before the row committed: refused, and left as it was (the partition with
        # every row, no archive recorded).
        assert refused is not None
        assert refused.sqlstate == "LP195"
        assert _where(observer, "lp.audit_logs", "late") == [partition]
        assert observer.execute(f"SELECT count(*) FROM {partition}").fetchone()[0] == 4
        assert observer.execute("SELECT count(*) FROM lp.archives").fetchone()[0] == 0
    # The next run archives the row with the others.
    done = archive.archive(db_url, boundary, tmp_path / "cold")
    assert [(d.partition, d.rows) for d in done] == [(partition, 4)]
    assert sum('"late"' in row for row in _archived_rows(done[0].file)) == 1


def test_archive_detach_refuses_a_snapshot_older_than_its_lock(db_url: str) -> None:
    partition = "lp_partitions.audit_logs_2024_01"
    with psycopg.connect(db_url, autocommit=True) as observer:
        _insert(observer, "lp.audit_logs", "old", "2024-01-10T10:00:00Z")
        _maintain(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("SET ROLE livepanty_service")
        plan = conn.execute("SELECT * FROM api.archive_prepare('2024-02-01T00:00:00Z')").fetchall()
        conn.commit()
        (row,) = [p for p in plan if p[1] == partition]
        rows, content = row[4], row[7]
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(
                "SELECT api.archive_detach(%s, '2024-02-01T00:00:00Z', 'x.jsonl.gz', %s, %s, %s)",
                [partition, "a" * 64, rows, content],
            )
        assert refused.value.sqlstate == "LP195"
        conn.rollback()
        # The same call in READ COMMITTED goes through.
        conn.execute("SET ROLE livepanty_service")
        assert conn.execute(
            "SELECT api.archive_detach(%s, '2024-02-01T00:00:00Z', 'x.jsonl.gz', %s, %s, %s)",
            [partition, "a" * 64, rows, content],
        ).fetchone()[0]
        conn.commit()
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass(%s)", [partition]).fetchone()[0] is None
