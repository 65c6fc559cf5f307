"""Encrypted backups and point-in-time recovery with pgBackRest (docs/operations.md, "Backups").

Design
------
* :func:`setup` writes a pgBackRest configuration (one stanza, a local repository directory, encryption
  ``aes-256-cbc``, retention), turns on WAL archiving (``archive_mode``, ``archive_command`` =
  ``pgbackrest archive-push``; ``ALTER SYSTEM``, so it lasts), restarts the embedded cluster when
  ``archive_mode`` changed (a DBA's own server is told to restart instead), and runs ``stanza-create`` and
  ``check``.
* The repository's passphrase is a *key file* outside the repository (created with 256 random bits unless the
  DBA names one), mode 0600, owned by the OS user pgBackRest runs as. It is never written into the
  configuration or on a command line: pgBackRest gets it in the environment (``PGBACKREST_REPO1_CIPHER_PASS``)
  of each run, and ``archive_command`` / ``restore_command`` read it from the file when they run.
* Our own settings (where the configuration, key file and repository are) are kept in
  ``livepanty-backup.json`` beside the configuration file; the embedded default keeps everything in
  ``<cluster directory>/backup/`` (owned by the server's OS user, mode 0700), so it needs no option at all.
* pgBackRest runs as the server's OS user (``postgres`` when we are root, as for the server itself).
* :func:`restore` restores into a *new* directory, never over a running cluster, to a point in time; the copy
  does not archive (``archive_mode=off``: it must never push WAL into the repository of the cluster it was
  restored from) and may be started on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql

from livepanty_db import local

#: pgBackRest's binary (``LIVEPANTY_PGBACKREST`` overrides the one found on PATH).
PGBACKREST_ENV = "LIVEPANTY_PGBACKREST"
#: Where a DBA's backup settings are looked up when no --config is given (after the embedded default).
CONFIG_ENV = "LIVEPANTY_BACKUP_CONFIG"
SETTINGS_FILE = "livepanty-backup.json"
DEFAULT_STANZA = "livepanty"
CIPHER_TYPE = "aes-256-cbc"
BACKUP_TYPES = ("full", "diff", "incr")
#: Characters refused in paths that go into archive_command / restore_command (shell and % escapes).
_UNSAFE_PATH = re.compile(r"[\"'`$\\%\s]")
_STANZA = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BackupError(RuntimeError):
    """A backup operation cannot be done; the message says why and what to do."""


@dataclass
class BackupSettings:
    """Where one stanza's pieces are; saved as ``livepanty-backup.json`` beside ``config``."""

    stanza: str
    config: str
    repo_path: str
    key_file: str
    pg_data: str
    pg_port: int
    pg_socket_path: str
    log_path: str
    lock_path: str
    retention_full: int = 2
    retention_diff: int = 6
    archive_timeout: int = 60
    compress_type: str = "lz4"
    process_max: int = 2
    #: Whether the cluster is the embedded one (livepanty_db.local): set-up may restart it.
    embedded: bool = False
    #: The embedded cluster's home (LIVEPANTY_HOME), to restart it.
    home: str | None = None

    @property
    def settings_path(self) -> Path:
        return Path(self.config).parent / SETTINGS_FILE

    def save(self) -> None:
        path = self.settings_path
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)
        _give_to_server_user(path, 0o640)

    @classmethod
    def load(cls, config: Path | str | None = None) -> BackupSettings:
        """The settings of ``config`` (a pgBackRest configuration written by :func:`setup`), else of
        ``$LIVEPANTY_BACKUP_CONFIG``, else of the embedded cluster."""
        if config is None and os.environ.get(CONFIG_ENV):
            config = os.environ[CONFIG_ENV]
        if config is None:
            cluster = local.Cluster()
            cluster_dir = cluster.cluster_dir
            if cluster_dir is None:
                raise BackupError(
                    f"backups are not set up: the local cluster in {cluster.home} has never been started "
                    "(`livepanty-db local start`, then `livepanty-db backup setup`)"
                )
            path = cluster_dir / "backup" / SETTINGS_FILE
        else:
            path = Path(config).absolute().parent / SETTINGS_FILE
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except FileNotFoundError:
            where = f"for {config}" if config else "for the local cluster"
            raise BackupError(
                f"backups are not set up {where} ({path} is missing): run `livepanty-db backup setup` first"
            ) from None
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{path} is not a livepanty-db backup settings file ({exc})") from exc


@dataclass(frozen=True)
class BackupInfo:
    """One backup in the repository (from ``pgbackrest info --output=json``)."""

    label: str
    type: str
    started_at: datetime
    stopped_at: datetime
    database_size: int
    repository_size: int
    wal_start: str | None
    wal_stop: str | None
    prior: str | None
    error: bool = False

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RestoreResult:
    target_dir: str
    backup: str
    to_time: datetime
    started: bool = False
    port: int | None = None
    url: str | None = None
    seconds: float = 0.0

    def row(self) -> dict[str, Any]:
        return asdict(self)


# -- running pgBackRest --------------------------------------------------------------------------------------


def pgbackrest_binary() -> str:
    """pgBackRest's executable; a clear error when it is not installed."""
    configured = os.environ.get(PGBACKREST_ENV)
    found = configured if configured else shutil.which("pgbackrest")
    if not found or not os.access(found, os.X_OK):
        where = f"{PGBACKREST_ENV}={configured}" if configured else "PATH"
        raise BackupError(
            f"pgbackrest is not installed (not found in {where}); install it with: apt-get install pgbackrest"
        )
    return str(Path(found).absolute())


def _server_user_ids() -> tuple[int, int] | None:
    user = local.Cluster._server_user()
    return (user.pw_uid, user.pw_gid) if user is not None else None


def _give_to_server_user(path: Path, mode: int) -> None:
    path.chmod(mode)
    ids = _server_user_ids()
    if ids is not None:
        os.chown(path, *ids)


def _make_dir(path: Path) -> None:
    """Create a directory for the server's OS user (mode 0700); an existing one is left as it is."""
    if path.is_dir():
        return
    path.mkdir(parents=True)
    _give_to_server_user(path, 0o700)


def read_key(settings: BackupSettings) -> str:
    path = Path(settings.key_file)
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise BackupError(f"cannot read the repository key file {path}: {exc.strerror}") from exc
    if not key:
        raise BackupError(f"the repository key file {path} is empty")
    return key


def run_pgbackrest(
    settings: BackupSettings, command: str, *args: str, key: str | None = None, timeout: float = 3600
) -> subprocess.CompletedProcess[str]:
    """``pgbackrest --config=... --stanza=... COMMAND ARGS`` as the server's OS user, the repository key in
    its environment only; a BackupError with pgBackRest's own message when it fails."""
    argv = [pgbackrest_binary(), f"--config={settings.config}", f"--stanza={settings.stanza}", command, *args]
    env = local._server_env()
    env["PGBACKREST_REPO1_CIPHER_PASS"] = key if key is not None else read_key(settings)
    result = subprocess.run(
        local.Cluster()._as_server_user(argv),
        capture_output=True,
        text=True,
        errors="replace",  # a wrong passphrase makes pgBackRest print decrypted garbage
        stdin=subprocess.DEVNULL,
        check=False,
        env=env,
        timeout=timeout,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise BackupError(f"pgbackrest {command} failed (exit code {result.returncode}):\n{output}")
    return result


def _shell_command(settings: BackupSettings, *args: str) -> str:
    """A shell command line running pgBackRest with the key read from the key file when it runs (for
    archive_command / restore_command; the paths were checked by :func:`_check_path`)."""
    return (
        f'PGBACKREST_REPO1_CIPHER_PASS="$(cat {settings.key_file})" {pgbackrest_binary()} '
        f"--config={settings.config} --stanza={settings.stanza} {' '.join(args)}"
    )


def archive_command(settings: BackupSettings) -> str:
    return _shell_command(settings, "archive-push", '"%p"')


def restore_command(settings: BackupSettings, pg_data: Path) -> str:
    """The restore_command of a copy restored into ``pg_data`` (pgBackRest checks it is the server's)."""
    return _shell_command(settings, f"--pg1-path={pg_data}", "archive-get", "%f", '"%p"')


def _check_path(what: str, path: Path) -> Path:
    path = path.absolute()
    if _UNSAFE_PATH.search(str(path)):
        raise BackupError(
            f"{what} {path} contains a space, quote, $, backslash or %: it goes into archive_command; "
            "choose a plain path"
        )
    return path


# -- set-up --------------------------------------------------------------------------------------------------


def _config_text(settings: BackupSettings) -> str:
    return (
        "# Written by `livepanty-db backup setup`; the passphrase is NOT here: it is read from the key file\n"
        f"# {settings.key_file} (PGBACKREST_REPO1_CIPHER_PASS) at every run.\n"
        "[global]\n"
        f"repo1-path={settings.repo_path}\n"
        f"repo1-cipher-type={CIPHER_TYPE}\n"
        "repo1-retention-full-type=count\n"
        f"repo1-retention-full={settings.retention_full}\n"
        f"repo1-retention-diff={settings.retention_diff}\n"
        f"compress-type={settings.compress_type}\n"
        f"process-max={settings.process_max}\n"
        f"archive-timeout={settings.archive_timeout}\n"
        "start-fast=y\n"
        f"log-path={settings.log_path}\n"
        f"lock-path={settings.lock_path}\n"
        "log-level-console=warn\n"
        "log-level-stderr=warn\n"
        "log-level-file=info\n"
        "\n"
        f"[{settings.stanza}]\n"
        f"pg1-path={settings.pg_data}\n"
        f"pg1-port={settings.pg_port}\n"
        f"pg1-socket-path={settings.pg_socket_path}\n"
        f"pg1-user={local.SUPERUSER}\n"
    )


def embedded_settings(cluster: local.Cluster, **overrides: Any) -> BackupSettings:
    """The default settings for the embedded cluster: everything under ``<cluster dir>/backup``."""
    status = cluster.status()
    if not status.initialised or status.cluster_dir is None or status.port is None:
        raise BackupError(
            f"the local cluster in {cluster.home} is not initialised: run `livepanty-db local start` first"
        )
    socket_dir = cluster.socket_dir
    if socket_dir is None:
        raise BackupError(
            f"the local cluster in {cluster.home} has no Unix socket (its path would be too long), which "
            "pgBackRest needs: choose a shorter LIVEPANTY_HOME"
        )
    base = status.cluster_dir / "backup"
    values: dict[str, Any] = {
        "stanza": DEFAULT_STANZA,
        "config": str(base / "pgbackrest.conf"),
        "repo_path": str(base / "repo"),
        "key_file": str(base / "repository.key"),
        "pg_data": str(status.cluster_dir / "data"),
        "pg_port": status.port,
        "pg_socket_path": str(socket_dir),
        "log_path": str(base / "log"),
        "lock_path": str(base / "lock"),
        "embedded": True,
        "home": str(cluster.home),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return BackupSettings(**values)


def _write_key(path: Path, given: Path | None) -> str:
    """The repository key: a DBA's own key file (``given``) is used in place; else an existing key file is
    kept (re-running set-up must not lose access to the backups made with it); else 288 random bits are
    written to ``path``, mode 0600, owned by the server's OS user."""
    if given is not None:
        return read_key_file(given)
    if path.exists():
        return read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    _give_to_server_user(path, 0o600)
    return path.read_text().strip()


def read_key_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode & 0o777
        key = path.read_text().strip()
    except OSError as exc:
        raise BackupError(f"cannot read the repository key file {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise BackupError(
            f"the repository key file {path} is readable by others (mode {mode:o}): chmod 600 it, owned by "
            f"the OS user the server runs as"
        )
    ids = _server_user_ids()
    if ids is not None and path.stat().st_uid != ids[0]:
        raise BackupError(
            f"the repository key file {path} must be owned by the {local.SERVER_OS_USER} OS user "
            "(archive_command reads it as that user): chown it"
        )
    if len(key) < 20:
        raise BackupError(f"the repository key file {path} holds fewer than 20 characters: use a long secret")
    return key


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _archive_settings(conn: psycopg.Connection) -> dict[str, tuple[str, bool]]:
    rows = conn.execute(
        "SELECT name, setting, pending_restart FROM pg_settings"
        " WHERE name IN ('archive_mode', 'archive_command', 'wal_level')"
    ).fetchall()
    return {name: (setting, pending) for name, setting, pending in rows}


def setup(
    settings: BackupSettings,
    *,
    dsn: str,
    key_file: Path | None = None,
    restart: bool = True,
) -> list[str]:
    """Configure archiving and the stanza (see the module docstring); returns notes for the operator.

    ``dsn`` connects as a superuser to the server whose data directory is ``settings.pg_data``.
    ``key_file``: the DBA's own key file, used in place (mode 0600); default: a new one beside the
    configuration (kept if it exists)."""
    pgbackrest_binary()
    if not _STANZA.match(settings.stanza):
        raise BackupError(f"stanza name {settings.stanza!r}: use 1 to 64 letters, digits, - or _")
    if settings.retention_full < 1 or settings.retention_diff < 1:
        raise BackupError("retention counts must be at least 1")
    for what, value in (
        ("the configuration file", settings.config),
        ("the repository path", settings.repo_path),
        ("the data directory", settings.pg_data),
        ("the key file", str(key_file) if key_file else settings.key_file),
    ):
        _check_path(what, Path(value))
    if key_file is not None:
        settings.key_file = str(key_file.absolute())
    notes: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        data_dir = conn.execute("SELECT current_setting('data_directory')").fetchone()
        if data_dir is None or Path(data_dir[0]).resolve() != Path(settings.pg_data).resolve():
            raise BackupError(
                f"the server at the DSN has data directory {data_dir[0] if data_dir else '?'}, not "
                f"{settings.pg_data}: give the --pg-data of that server"
            )
        key_path = Path(settings.key_file)
        new_key = key_file is None and not key_path.exists()
        key = _write_key(key_path, key_file)
        config = Path(settings.config)
        _make_dir(config.parent)
        for directory in (settings.repo_path, settings.log_path, settings.lock_path):
            _make_dir(Path(directory))
        # stanza-create proves the key opens an existing repository before archiving is pointed at it; if it
        # fails, the previous configuration comes back and nothing else was changed.
        previous = {path: _read_or_none(path) for path in (config, settings.settings_path)}
        config.write_text(_config_text(settings))
        _give_to_server_user(config, 0o640)
        settings.save()
        try:
            run_pgbackrest(settings, "stanza-create", key=key)
        except BaseException:
            for path, text in previous.items():
                if text is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_text(text)
            if new_key:
                key_path.unlink(missing_ok=True)
            raise
        if conn.execute("SELECT current_setting('wal_level') = 'minimal'").fetchone() == (True,):
            conn.execute("ALTER SYSTEM SET wal_level = 'replica'")  # archiving needs at least replica
        conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
        conn.execute(
            psycopg.sql.SQL("ALTER SYSTEM SET archive_command = {}").format(
                psycopg.sql.Literal(archive_command(settings))
            )
        )
        conn.execute(f"ALTER SYSTEM SET archive_timeout = '{int(settings.archive_timeout)}s'")
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.2)
        current = _archive_settings(conn)
    needs_restart = any(pending for _, pending in current.values()) or current["archive_mode"][0] != "on"
    if needs_restart:
        if settings.embedded and restart and settings.home:
            cluster = local.Cluster(settings.home)
            cluster.stop()
            cluster.start()
            notes.append("restarted the local cluster (archive_mode and wal_level need a restart)")
        else:
            notes.append(
                "archive_mode (or wal_level) needs a server restart: restart PostgreSQL, then run "
                "`livepanty-db backup check`"
            )
            return notes
    run_pgbackrest(settings, "check", key=key)
    notes.append(f"stanza {settings.stanza} ready: WAL archiving into {settings.repo_path} ({CIPHER_TYPE})")
    return notes


def check(settings: BackupSettings) -> None:
    """``pgbackrest check``: the configuration, the repository and archiving work."""
    run_pgbackrest(settings, "check")


# -- backups -------------------------------------------------------------------------------------------------


def _stanza_info(settings: BackupSettings) -> dict[str, Any]:
    result = run_pgbackrest(settings, "info", "--output=json")
    try:
        stanzas = json.loads(result.stdout, strict=False)
    except ValueError as exc:
        raise BackupError(f"pgbackrest info printed no JSON: {exc}") from exc
    for stanza in stanzas:
        if stanza.get("name") == settings.stanza:
            status = stanza.get("status", {})
            if status.get("code") not in (0, 2):  # 2: no valid backups yet
                reasons = [
                    str(repo.get("status", {}).get("message", ""))
                    for repo in stanza.get("repo", [])
                    if repo.get("status", {}).get("code", 0) != 0
                ]
                detail = "; ".join(_printable(r) for r in reasons if r) or status.get("message", "unusable")
                raise BackupError(
                    f"stanza {settings.stanza}: the repository cannot be read: {detail} (a wrong key file "
                    f"{settings.key_file}, or no stanza-create yet)"
                )
            return stanza
    raise BackupError(f"stanza {settings.stanza} is not in the repository: run `livepanty-db backup setup`")


def _printable(text: str) -> str:
    """pgBackRest's message without the bytes a wrong passphrase decrypts into it."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:300]


def _epoch(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def list_backups(settings: BackupSettings) -> list[BackupInfo]:
    """The backups in the repository, oldest first."""
    backups = []
    for item in _stanza_info(settings).get("backup", []):
        archive = item.get("archive") or {}
        size = item.get("info", {})
        backups.append(
            BackupInfo(
                label=item["label"],
                type=item["type"],
                started_at=_epoch(item["timestamp"]["start"]),
                stopped_at=_epoch(item["timestamp"]["stop"]),
                database_size=int(size.get("size", 0)),
                repository_size=int(size.get("repository", {}).get("size", 0)),
                wal_start=archive.get("start"),
                wal_stop=archive.get("stop"),
                prior=item.get("prior"),
                error=bool(item.get("error", False)),
            )
        )
    return backups


def run_backup(settings: BackupSettings, backup_type: str = "full") -> BackupInfo:
    """Take a backup (``full``, ``diff`` or ``incr``; the first one is always full) and return it."""
    if backup_type not in BACKUP_TYPES:
        raise BackupError(f"backup type {backup_type!r}: choose from {', '.join(BACKUP_TYPES)}")
    before = {b.label for b in list_backups(settings)}
    run_pgbackrest(settings, "backup", f"--type={backup_type}")
    new = [b for b in list_backups(settings) if b.label not in before]
    if not new:
        raise BackupError("pgbackrest backup succeeded but no new backup is listed")
    return new[-1]


# -- restore -------------------------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with an explicit offset (``2026-12-04T20:30:00+00:00``, ``...Z``)."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise BackupError(f"{text!r} is not an ISO 8601 time (e.g. 2026-12-04T20:30:00+00:00)") from None
    if value.tzinfo is None:
        raise BackupError(f"{text!r} has no time zone: add one (+00:00 or Z for UTC)")
    return value


def _pg_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def choose_backup(backups: list[BackupInfo], to_time: datetime) -> BackupInfo:
    """The latest good backup that had ended by ``to_time`` (recovery starts there and replays WAL)."""
    usable = [b for b in backups if not b.error and b.stopped_at <= to_time]
    if usable:
        return usable[-1]
    good = [b for b in backups if not b.error]
    if not good:
        raise BackupError("the repository holds no backup yet: run `livepanty-db backup run` first")
    raise BackupError(
        f"{to_time.isoformat()} is before the end of the first backup ({good[0].stopped_at.isoformat()}, "
        f"{good[0].label}): no backup can be recovered to that time"
    )


def _free_port_or(port: int | None) -> int:
    if port is None:
        return local.free_port()
    if not local._port_is_free(port):
        raise BackupError(f"port {port} is in use")
    return port


def restore(
    settings: BackupSettings,
    to_time: datetime,
    target_dir: Path,
    *,
    start: bool = False,
    port: int | None = None,
    wait_seconds: float = 300,
) -> RestoreResult:
    """Restore the repository's backups, replayed to ``to_time``, into the new directory ``target_dir``;
    with ``start``, start it on ``port`` (default: a free one) and wait until it is promoted."""
    began = time.monotonic()
    target = _check_path("the target directory", target_dir)
    if target.exists():
        raise BackupError(f"the target directory {target} exists: restore only into a new directory")
    if not target.parent.is_dir():
        raise BackupError(f"the parent of the target directory, {target.parent}, does not exist")
    if to_time > datetime.now(UTC):
        raise BackupError(f"{to_time.isoformat()} is in the future: give a time the WAL archive covers")
    backup = choose_backup(list_backups(settings), to_time)
    chosen_port = _free_port_or(port) if start else None
    _make_dir(target)
    cluster = local.Cluster()
    if not cluster._server_user_can_reach(target):
        target.rmdir()
        raise BackupError(
            f"the server's OS user cannot reach {target}: a parent directory is not searchable by it"
        )
    try:
        run_pgbackrest(
            settings,
            "restore",
            f"--pg1-path={target}",
            f"--set={backup.label}",
            "--type=time",
            f"--target={_pg_time(to_time)}",
            "--target-action=promote",
            "--archive-mode=off",
            f"--recovery-option=restore_command={restore_command(settings, target)}",
        )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    result = RestoreResult(str(target), backup.label, to_time)
    if not start:
        return RestoreResult(**{**result.row(), "seconds": round(time.monotonic() - began, 1)})
    try:
        url = start_restored(target, chosen_port or local.free_port(), wait_seconds=wait_seconds)
    except BaseException:
        # A copy that cannot reach the time (its WAL is not archived yet, ...) is of no use: nothing is kept.
        stop_restored(target)
        shutil.rmtree(target, ignore_errors=True)
        raise
    return RestoreResult(
        str(target), backup.label, to_time, True, chosen_port, url, round(time.monotonic() - began, 1)
    )


def start_restored(target: Path, port: int, *, wait_seconds: float = 300) -> str:
    """Start a restored data directory on 127.0.0.1:``port`` (socket in the directory when the path is short
    enough), wait until recovery reached its target and the server was promoted; returns its URL."""
    bindir = local.pg_bin()
    cluster = local.Cluster()
    log_file = target / "restore-server.log"
    socket_dir = local.Cluster._socket_dir(target, port)
    options = ["-p", str(port), "-k", socket_dir, "-c", "listen_addresses=127.0.0.1"]
    try:
        cluster._run(
            [str(bindir / "pg_ctl"), "start", "-D", str(target), "-l", str(log_file), "-w", "-t",
             str(int(wait_seconds)), "-o", shlex.join(options)],
            "pg_ctl start",
        )  # fmt: skip
    except local.LocalClusterError as exc:
        raise BackupError(f"{exc}\n--- last lines of {log_file} ---\n{local._tail(log_file)}") from exc
    # Promotion is read from the control file (pg_controldata), not through a connection: a DBA's pg_hba.conf
    # may not let us in without a password.
    deadline = time.monotonic() + wait_seconds
    while True:
        if not (target / "postmaster.pid").exists():
            raise BackupError(
                f"the restored server stopped during recovery\n--- last lines of {log_file} ---\n"
                f"{local._tail(log_file)}"
            )
        if _cluster_state(bindir, target) == "in production":
            _wait_writable(port, deadline)
            return f"postgresql://{local.SUPERUSER}@127.0.0.1:{port}/{local.DATABASE}"
        if time.monotonic() > deadline:
            raise BackupError(
                f"the restored server has not finished recovery after {wait_seconds:.0f} s"
                f"\n--- last lines of {log_file} ---\n{local._tail(log_file)}"
            )
        time.sleep(0.2)


def _wait_writable(port: int, deadline: float) -> None:
    """The control file says "in production" a moment before new sessions may write: wait for
    pg_is_in_recovery() to turn false, when we can connect (best effort: a pg_hba.conf asking for a password
    ends the wait)."""
    url = f"postgresql://{local.SUPERUSER}@127.0.0.1:{port}/postgres"
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.OperationalError:
            return
        if row is not None and not row[0]:
            return
        time.sleep(0.1)


def _cluster_state(bindir: Path, data_dir: Path) -> str | None:
    """``Database cluster state`` of pg_controldata (``in archive recovery``, ``in production``, ...)."""
    result = subprocess.run(
        local.Cluster()._as_server_user([str(bindir / "pg_controldata"), "-D", str(data_dir)]),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        env={**local._server_env(), "LC_ALL": "C"},
    )
    for line in result.stdout.splitlines():
        if line.startswith("Database cluster state:"):
            return line.split(":", 1)[1].strip()
    return None


def stop_restored(target: Path) -> None:
    """Stop a server started by :func:`start_restored` (fast shutdown); a no-op when it does not run."""
    bindir = local.pg_bin()
    cluster = local.Cluster()
    if (target / "postmaster.pid").exists():
        with contextlib.suppress(local.LocalClusterError):
            cluster._run(
                [str(bindir / "pg_ctl"), "stop", "-D", str(target), "-m", "fast", "-w"], "pg_ctl stop"
            )


def replay_erasures(url: str, log_file: Path) -> dict[str, int]:
    """Re-apply an erasure log (JSON lines of ``livepanty-db privacy export-erasures``) to a restored
    database, as the back office (api.replay_erasure, idempotent); returns the count of each outcome."""
    from livepanty_db.client import Client

    entries = []
    for number, line in enumerate(log_file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except ValueError as exc:
            raise BackupError(f"{log_file} line {number} is not JSON: {exc}") from exc
    counts: dict[str, int] = {}
    with Client(url, role="livepanty_service") as client:
        for entry in entries:
            outcome = client.replay_erasure(entry).outcome
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
