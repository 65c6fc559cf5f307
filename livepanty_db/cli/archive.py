"""``livepanty-db archive``: old ledger and audit log partitions to files in a directory, and back.

``archive --before YYYY-MM`` records the sealed checkpoint of every account's balance at the boundary, then
writes each monthly partition of lp.ledger and lp.audit_logs below it to a compressed, checksummed file,
reads it back, and only then detaches and drops the partition (livepanty_db.archive). ``archive restore FILE``
brings one back; ``archive list`` shows what is archived. The directory is ``--dir``, else
``$LIVEPANTY_ARCHIVE_DIR``.
"""

from __future__ import annotations

from pathlib import Path

import click

from livepanty_db import archive as archiving
from livepanty_db.cli.common import catalogued_errors, emit_records, field_names, service_client
from livepanty_db.cli.output import emit, note, register_error
from livepanty_db.models import ArchiveRecord

# A directory that cannot be made or written, a full disk, another run holding the lock: `error: ...`, exit 1.
register_error(archiving.ArchiveError)

LIST_COLUMNS = ["partition_name", "range_from", "row_count", "file_name", "archived_at", "restored_at"]


@click.group("archive", invoke_without_command=True)
@click.option("--before", metavar="YYYY-MM", help="Archive every month before this one (UTC).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=archiving.DIR_ENV,
    show_envvar=True,
    help="Where the archive files go (cold storage; a mounted object store works too).",
)
@click.pass_context
@catalogued_errors
def command(ctx: click.Context, before: str | None, directory: Path | None) -> None:
    """Archive old monthly partitions of the ledger and the audit trail to files (--before YYYY-MM --dir DIR),
    after sealing a checkpoint of every account's balance at the boundary; `archive restore FILE` brings one
    back, `archive list` shows them. Nothing is dropped that did not read back exactly from its file."""
    if ctx.invoked_subcommand is not None:
        return
    if before is None or directory is None:
        raise click.UsageError("archive needs --before YYYY-MM and --dir DIR (or LIVEPANTY_ARCHIVE_DIR)", ctx)
    boundary = archiving.parse_month(before)
    done = archiving.archive(ctx.find_root().obj.dsn(), boundary, directory, progress=note)
    emit(
        [
            {"partition": a.partition, "rows": a.rows, "file": str(a.file), "sha256": a.file_sha256}
            for a in done
        ],
        ["partition", "rows", "file", "sha256"],
    )
    note(f"archive: {len(done)} partition(s) before {before} archived to {directory}")


@command.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@catalogued_errors
def restore(ctx: click.Context, file: Path) -> None:
    """Bring an archived partition back from its FILE (checked against the digests recorded at archiving)."""
    partition, rows = archiving.restore(ctx.find_root().obj.dsn(), file)
    emit([{"partition": partition, "rows": rows}], ["partition", "rows"])
    note(f"archive restore: {partition} is back ({rows} rows)")


@command.command("list")
@click.pass_context
@catalogued_errors
def list_archives(ctx: click.Context) -> None:
    """Every partition archived (api.list_archives), oldest first, and whether it was restored."""
    records = service_client(ctx).list_archives()
    emit_records(records, field_names(ArchiveRecord) if ctx.find_root().obj.wide else LIST_COLUMNS)
