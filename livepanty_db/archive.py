"""Archiving old partitions of lp.ledger and lp.audit_logs to files, and restoring them (docs/ledger.md,
"Archiving").

An archive file is gzip-compressed JSON lines: a header object (format, table, partition, month range,
boundary, rows, id range, content digest, checkpoint seal), then each row's ``row_to_json`` text exactly as
the database gave it, in id order. The **content digest** is sha256 over the concatenated sha256 of each
row's text (what ``lp.partition_digest`` computes in the database); the **file digest** is sha256 of the
compressed file.

:func:`archive`: one run at a time per directory (an exclusive ``flock`` on
``<dir>/.livepanty-archive.lock`` for the whole run; a second run is refused, :class:`ArchiveLocked`).
``api.archive_prepare`` records the sealed checkpoint and lists the partitions below the boundary; each is
streamed into a temporary file of its own in the directory (created exclusively, mode 0600), flushed, fsynced,
linked to its final name ``<partition>.<digest prefix>.jsonl.gz`` (never over an existing file: one with the
same bytes is kept, one with other bytes is refused, LP195), the directory fsynced, then the file is read back
from disk: its rows and content digest must be the partition's, and ``api.archive_detach`` checks them again
in the database, under its lock, before it detaches and drops the partition. The gzip header carries no time
(mtime 0), so the same rows always give the same bytes. :func:`restore`: the file's digest must be the one
recorded (``lp.archives``), its rows go back in one transaction and ``api.restore_partition`` attaches them
only if they are exactly the archived ones, then applies every erasure made since to a restored audit month. A
file-system failure (a directory that cannot be made or written, a full disk) is an :class:`ArchiveError`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row, tuple_row

from livepanty_db.errors import ArchiveContentMismatch, ArchiveNotFound, InvalidArchiveBoundary, translate

FORMAT = "livepanty-archive-v1"
#: Rows per round trip (reading a partition, restoring one).
BATCH = 5000
#: Environment variable naming the archive directory (the CLI's ``--dir`` default).
DIR_ENV = "LIVEPANTY_ARCHIVE_DIR"
#: gzip level: archives are written once and read rarely; 6 is zlib's balance of size and speed.
COMPRESSION = 6
#: The lock file of an archive directory: an archive run holds an exclusive flock on it from start to end.
LOCK_NAME = ".livepanty-archive.lock"
#: Archive files hold personal data (the audit trail: addresses, user agents): readable by their owner only.
FILE_MODE = 0o600


class ArchiveError(RuntimeError):
    """The archive directory or a file in it cannot be used (made, locked, written, read): the message names
    the path and the system's reason. Nothing was detached for the partition being written."""


class ArchiveLocked(ArchiveError):
    """Another archive run holds the directory's lock: refused before anything is recorded or written."""


@dataclass(frozen=True)
class Archived:
    """One partition archived by :func:`archive`."""

    partition: str
    file: Path
    rows: int
    file_sha256: str
    content_sha256: str
    archive_id: UUID


def parse_month(text: str) -> datetime:
    """``YYYY-MM`` -> the start of that UTC month (InvalidArchiveBoundary otherwise)."""
    try:
        month = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise InvalidArchiveBoundary(f"{text!r} is not a month (YYYY-MM)", sqlstate="LP190") from None
    return month.replace(tzinfo=UTC)


def content_digest(rows: Iterator[str]) -> tuple[int, str]:
    """(rows, content digest) of row texts, as lp.partition_digest computes them."""
    outer = hashlib.sha256()
    count = 0
    for row in rows:
        outer.update(hashlib.sha256(row.encode("utf-8")).digest())
        count += 1
    return count, outer.hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_archive(path: Path) -> tuple[dict[str, Any], Iterator[str]]:
    """The header of an archive file and an iterator over its row texts (ArchiveContentMismatch when the file
    is not a readable archive)."""
    handle = gzip.open(path, "rt", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by rows()
    try:
        header = json.loads(handle.readline())
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("not a livepanty archive")
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        handle.close()
        message = f"{path}: not a readable archive file ({exc})"
        raise ArchiveContentMismatch(message, sqlstate="LP195") from exc

    def rows() -> Iterator[str]:
        try:
            with handle:
                for line in handle:
                    yield line.rstrip("\n")
        except (OSError, EOFError, zlib.error) as exc:
            raise ArchiveContentMismatch(f"{path}: the file is damaged ({exc})", sqlstate="LP195") from exc

    return header, rows()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _service(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET ROLE livepanty_service")


def _os_error(exc: OSError, what: str) -> ArchiveError:
    """``what`` failed: the system's reason, and the path it names when ``what`` does not say it already."""
    message = f"{what}: {exc.strerror or exc}"
    if exc.filename is not None and str(exc.filename) not in what:
        message += f": {exc.filename}"
    return ArchiveError(message)


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive flock on the directory's lock file; ArchiveLocked when another run holds it."""
    lock = directory / LOCK_NAME
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveLocked(
                f"another livepanty-db archive is running on {directory} (it holds {lock}): nothing was done;"
                " run again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


#: errno values of a file system that has no hard links (some object-store mounts).
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS})


def _keep_or_refuse(partial: Path, path: Path) -> None:
    """``path`` exists already: keep it when it holds the bytes just written (a run that stopped after writing
    it: the same rows give the same bytes), refuse otherwise (LP195)."""
    if file_digest(path) != file_digest(partial):
        raise ArchiveContentMismatch(
            f"{path} exists and holds other bytes than the archive just written from the same rows: it is "
            "not replaced and nothing was detached (an older or damaged copy: check it, move it away, run "
            "again)",
            sqlstate="LP195",
        )


def _publish(partial: Path, path: Path) -> None:
    """Give the written temporary file its final name, never over another file."""
    try:
        os.link(partial, path)  # fails when the name is taken: an existing file is never replaced
    except FileExistsError:
        _keep_or_refuse(partial, path)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # No hard links here: the name is checked, then taken, under the directory's lock.
        if path.exists():
            _keep_or_refuse(partial, path)
        else:
            os.replace(partial, path)


def _write(conn: psycopg.Connection[Any], plan: dict[str, Any], boundary: datetime, path: Path) -> None:
    header = {
        "format": FORMAT,
        "table": plan["table_name"],
        "partition": plan["partition_name"],
        "range_from": plan["range_from"].isoformat(),
        "range_to": plan["range_to"].isoformat(),
        "boundary": boundary.isoformat(),
        "row_count": plan["row_count"],
        "first_id": plan["first_id"],
        "last_id": plan["last_id"],
        "content_sha256": plan["content_sha256"],
        "checkpoint_accounts": plan["checkpoint_accounts"],
        "checkpoint_sha256": plan["checkpoint_sha256"],
    }
    # A temporary file of this run's own (O_EXCL, mode 0600), in the directory (the link stays on one file
    # system).
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), FILE_MODE)
            # mtime 0: the gzip header holds no time, so the same rows give the same bytes in every run.
            with gzip.GzipFile(
                filename=path.name, mode="wb", fileobj=raw, compresslevel=COMPRESSION, mtime=0
            ) as gz:
                gz.write((json.dumps(header, sort_keys=True) + "\n").encode("utf-8"))
                with conn.transaction(), conn.cursor(name="archive_rows", row_factory=tuple_row) as cur:
                    cur.itersize = BATCH
                    cur.execute("SELECT * FROM api.partition_rows(%s)", [plan["partition_name"]])
                    for (row,) in cur:
                        gz.write(row.encode("utf-8") + b"\n")
            raw.flush()
            os.fsync(raw.fileno())
        _publish(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _fsync_dir(path.parent)


def archive(
    dsn: str,
    before: datetime,
    directory: Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[Archived]:
    """Archive every monthly partition of lp.ledger and lp.audit_logs below ``before`` (a UTC month start)
    into ``directory``; the partitions archived. A partition whose file does not read back exactly is left in
    place (ArchiveContentMismatch) and nothing after it is archived. One run at a time per directory
    (ArchiveLocked); a file-system failure is an ArchiveError."""
    done: list[Archived] = []
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _directory_lock(directory):
            _archive_locked(dsn, before, directory, done, progress)
    except OSError as exc:
        raise _os_error(exc, f"archive to {directory}") from exc
    return done


def _archive_locked(
    dsn: str,
    before: datetime,
    directory: Path,
    done: list[Archived],
    progress: Callable[[str], None] | None,
) -> None:
    try:
        with psycopg.connect(dsn, row_factory=dict_row) as conn:
            # api.archive_detach compares on a snapshot taken after it locked the partition: READ COMMITTED,
            # whatever the server's default_transaction_isolation (it refuses any other level, LP195).
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            _service(conn)
            plans = conn.execute("SELECT * FROM api.archive_prepare(%s)", [before]).fetchall()
            conn.commit()  # the checkpoint is recorded and sealed before anything leaves the database
            for plan in plans:
                name = plan["partition_name"]
                path = directory / f"{name.split('.', 1)[1]}.{plan['content_sha256'][:12]}.jsonl.gz"
                _write(conn, plan, before, path)
                header, rows = read_archive(path)
                count, digest = content_digest(rows)
                expected = (plan["row_count"], plan["content_sha256"], name)
                if (count, digest, header["partition"]) != expected:
                    raise ArchiveContentMismatch(
                        f"{path} does not read back as {name}: {count} rows, {digest}; expected "
                        f"{plan['row_count']} rows, {plan['content_sha256']}",
                        sqlstate="LP195",
                    )
                sha = file_digest(path)
                archive_id = conn.execute(
                    "SELECT api.archive_detach(%s, %s, %s, %s, %s, %s) AS id",
                    [name, before, str(path.resolve()), sha, count, digest],
                ).fetchone()["id"]
                conn.commit()
                done.append(Archived(name, path, count, sha, digest, archive_id))
                if progress:
                    progress(f"{name}: {count} rows -> {path}")
    except psycopg.Error as exc:
        raise translate(exc) from exc


def restore(dsn: str, path: Path) -> tuple[str, int]:
    """Bring the partition archived in ``path`` back (one transaction); its name and rows. The file must be
    the one recorded at archiving (its sha256) and hold exactly the archived rows. The erasures made since the
    archive are applied to a restored audit month in the same transaction (api.restore_partition)."""
    try:
        return _restore(dsn, path)
    except OSError as exc:
        raise _os_error(exc, f"restore from {path}") from exc


def _restore(dsn: str, path: Path) -> tuple[str, int]:
    header, rows = read_archive(path)
    sha = file_digest(path)
    try:
        with psycopg.connect(dsn, row_factory=dict_row) as conn:
            _service(conn)
            record = next(
                (
                    r
                    for r in conn.execute("SELECT * FROM api.list_archives()").fetchall()
                    if r["partition_name"] == header.get("partition") and r["restored_at"] is None
                ),
                None,
            )
            if record is None:
                raise ArchiveNotFound(
                    f"{path}: no archived partition {header.get('partition')} waits to be restored",
                    sqlstate="LP196",
                )
            if sha != record["file_sha256"]:
                raise ArchiveContentMismatch(
                    f"{path}: sha256 {sha} is not the {record['file_sha256']} recorded when "
                    f"{record['partition_name']} was archived: the file is damaged or another one",
                    sqlstate="LP195",
                )
            batch: list[str] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    conn.execute("SELECT api.restore_partition(%s, %s::text[])", [record["id"], batch])
                    batch = []
            if batch:
                conn.execute("SELECT api.restore_partition(%s, %s::text[])", [record["id"], batch])
            count = conn.execute("SELECT api.restore_partition(%s) AS n", [record["id"]]).fetchone()["n"]
            conn.commit()
            return record["partition_name"], count
    except psycopg.Error as exc:
        raise translate(exc) from exc
