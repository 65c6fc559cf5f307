"""``livepanty-db backup``: encrypted backups and point-in-time recovery with pgBackRest (livepanty_db.backup,
docs/operations.md).

With no option the commands work on the embedded cluster (everything under ``<cluster dir>/backup``). For a
DBA's own server, ``setup`` takes its data directory, port and socket directory and a configuration file
path; the other commands then take that ``--config`` (or ``$LIVEPANTY_BACKUP_CONFIG``).
"""

from __future__ import annotations

from pathlib import Path

import click

from livepanty_db import backup as bk
from livepanty_db import local
from livepanty_db.cli.output import emit, handle_errors, note, register_error

register_error(bk.BackupError)

LIST_COLUMNS = ["label", "type", "started_at", "stopped_at", "database_size", "repository_size", "wal_start",
                "wal_stop", "prior"]  # fmt: skip


def _config_option(func):
    return click.option(
        "--config",
        "config",
        metavar="FILE",
        envvar=bk.CONFIG_ENV,
        default=None,
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The pgBackRest configuration written by `backup setup` for a DBA's own server "
        f"(default: ${bk.CONFIG_ENV}, else the embedded cluster's).",
    )(func)


@click.group("backup")
def command() -> None:
    """Encrypted backups, WAL archiving and point-in-time recovery (pgBackRest)."""


@command.command("setup")
@click.option("--stanza", default=bk.DEFAULT_STANZA, show_default=True, help="pgBackRest stanza name.")
@click.option(
    "--pg-data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A DBA's own server: its data directory (then --config is required, and --dsn must reach that "
    "server as a superuser). Default: the embedded cluster.",
)
@click.option("--pg-port", type=int, default=5432, show_default=True, help="With --pg-data: its port.")
@click.option(
    "--pg-socket-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/run/postgresql"),
    show_default=True,
    help="With --pg-data: its Unix socket directory (pgBackRest connects through it).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --pg-data: where to write the pgBackRest configuration (the embedded cluster's is "
    "<cluster dir>/backup/pgbackrest.conf).",
)
@click.option(
    "--repo-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The repository directory (default: <cluster dir>/backup/repo; /var/lib/pgbackrest with --pg-data).",
)
@click.option(
    "--log-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="pgBackRest's log directory (default: <cluster dir>/backup/log; --pg-data: /var/log/pgbackrest).",
)
@click.option(
    "--lock-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="pgBackRest's lock directory (default: <cluster dir>/backup/lock; /tmp/pgbackrest with --pg-data).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Your own repository passphrase file (mode 0600, owned by the server's OS user), used in place. "
    "Default: repository.key beside the configuration, made with random bits (kept when it exists). Keep a "
    "copy offline: without it no backup can be read.",
)
@click.option("--retention-full", type=click.IntRange(1), default=2, show_default=True,
              help="Full backups kept (older ones and their WAL expire).")  # fmt: skip
@click.option("--retention-diff", type=click.IntRange(1), default=6, show_default=True,
              help="Differential backups kept.")  # fmt: skip
@click.option("--archive-timeout", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds: a WAL segment is archived at least this often, and a backup waits this long "
              "for its WAL (the most recent data a restore can lose).")  # fmt: skip
@click.option(
    "--no-restart",
    is_flag=True,
    help="Do not restart the embedded cluster when archive_mode needs it (then restart it and run "
    "`backup check`).",
)
@click.pass_context
@handle_errors
def setup(
    ctx: click.Context,
    stanza: str,
    pg_data: Path | None,
    pg_port: int,
    pg_socket_path: Path,
    config: Path | None,
    repo_path: Path | None,
    log_path: Path | None,
    lock_path: Path | None,
    key_file: Path | None,
    retention_full: int,
    retention_diff: int,
    archive_timeout: int,
    no_restart: bool,
) -> None:
    """Configure WAL archiving (archive_mode, archive_command = pgbackrest archive-push) and an encrypted
    pgBackRest stanza (aes-256-cbc, the passphrase in a key file outside the repository), then run
    stanza-create and check. Idempotent: re-running keeps the key file."""
    bk.pgbackrest_binary()  # before the embedded cluster is started
    common = {
        "stanza": stanza,
        "retention_full": retention_full,
        "retention_diff": retention_diff,
        "archive_timeout": archive_timeout,
    }
    if pg_data is None:
        if config is not None:
            raise click.UsageError("--config is for a DBA's own server (with --pg-data)")
        cluster = local.Cluster()
        cluster.start()
        settings = bk.embedded_settings(
            cluster,
            repo_path=str(repo_path.absolute()) if repo_path else None,
            log_path=str(log_path.absolute()) if log_path else None,
            lock_path=str(lock_path.absolute()) if lock_path else None,
            **common,
        )
        dsn = cluster.url("postgres")
    else:
        if config is None:
            raise click.UsageError("--pg-data needs --config (where to write the pgBackRest configuration)")
        config = config.absolute()
        settings = bk.BackupSettings(
            config=str(config),
            repo_path=str((repo_path or Path("/var/lib/pgbackrest")).absolute()),
            key_file=str(config.parent / "repository.key"),
            pg_data=str(pg_data.absolute()),
            pg_port=pg_port,
            pg_socket_path=str(pg_socket_path.absolute()),
            log_path=str((log_path or Path("/var/log/pgbackrest")).absolute()),
            lock_path=str((lock_path or Path("/tmp/pgbackrest")).absolute()),  # noqa: S108 (pgBackRest's default)
            **common,
        )
        dsn = ctx.find_root().obj.dsn()
    for line in bk.setup(settings, dsn=dsn, key_file=key_file, restart=not no_restart):
        note(line)
    emit(
        [
            {"key": "stanza", "value": settings.stanza},
            {"key": "config", "value": settings.config},
            {"key": "repository", "value": settings.repo_path},
            {"key": "cipher", "value": bk.CIPHER_TYPE},
            {"key": "key_file", "value": settings.key_file},
            {"key": "retention_full", "value": settings.retention_full},
            {"key": "retention_diff", "value": settings.retention_diff},
            {"key": "pg_data", "value": settings.pg_data},
        ],
        ["key", "value"],
    )


@command.command("check")
@_config_option
@handle_errors
def check(config: Path | None) -> None:
    """pgbackrest check: the configuration, the repository and WAL archiving work."""
    settings = bk.BackupSettings.load(config)
    bk.check(settings)
    note(f"stanza {settings.stanza}: archiving and repository OK")


def _emit_backups(rows: list[bk.BackupInfo]) -> None:
    emit([row.row() for row in rows], LIST_COLUMNS)


@command.command("run")
@click.option(
    "--type",
    "backup_type",
    type=click.Choice(bk.BACKUP_TYPES),
    default="full",
    show_default=True,
    help="full: everything; diff: what changed since the last full; incr: since the last backup.",
)
@_config_option
@handle_errors
def run(backup_type: str, config: Path | None) -> None:
    """Take a backup now (pgbackrest backup; expired ones are removed by the retention settings)."""
    made = bk.run_backup(bk.BackupSettings.load(config), backup_type)
    _emit_backups([made])
    note(f"backup {made.label} ({made.type}) done")


@command.command("list")
@_config_option
@handle_errors
def list_(config: Path | None) -> None:
    """The backups in the repository, oldest first (pgbackrest info --output=json)."""
    rows = bk.list_backups(bk.BackupSettings.load(config))
    _emit_backups(rows)
    if rows:
        note(f"recoverable from {rows[0].stopped_at.isoformat()} to the last archived WAL")


@command.command("restore")
@click.option("--to-time", "to_time", required=True, metavar="TIME",
              help="Recover to this time, ISO 8601 with a time zone (2026-12-04T20:30:00+00:00): the "
              "transactions committed by then, none after.")  # fmt: skip
@click.option(
    "--target-dir",
    required=True,
    type=click.Path(path_type=Path),
    help="A NEW data directory (refused if it exists; never the running cluster's).",
)
@click.option("--start", "start", is_flag=True, help="Start the restored copy on 127.0.0.1, print its URL.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="With --start: the port (default: "
              "a free one).")  # fmt: skip
@click.option(
    "--replay-erasures",
    "erasure_log",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="With --start: then re-apply this erasure log (written by `privacy export-erasures`): erasures made "
    "after the restored point are done again (api.replay_erasure).",
)
@_config_option
@handle_errors
def restore(
    to_time: str,
    target_dir: Path,
    start: bool,
    port: int | None,
    erasure_log: Path | None,
    config: Path | None,
) -> None:
    """Point-in-time recovery into a new directory; the copy does not archive (archive_mode off). Open it to
    users only after replaying the erasure log (docs/compliance.md)."""
    if erasure_log is not None and not start:
        raise click.UsageError("--replay-erasures needs --start")
    if port is not None and not start:
        raise click.UsageError("--port needs --start")
    settings = bk.BackupSettings.load(config)
    result = bk.restore(settings, bk.parse_time(to_time), target_dir, start=start, port=port)
    row = result.row()
    if erasure_log is not None and result.url is not None:
        outcomes = bk.replay_erasures(result.url, erasure_log)
        row["erasures"] = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none"
    emit([row], list(row.keys()))
    if result.url:
        note(f"restored copy running at {result.url} (stop it: pg_ctl stop -D {result.target_dir})")
    else:
        note(
            f"restored into {result.target_dir}; start it (as the server's OS user) on a free port: "
            f"pg_ctl start -D {result.target_dir} -o '-p PORT', or restore with --start"
        )
