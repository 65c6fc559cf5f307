"""The embedded default cluster: a private PostgreSQL 15 server for development and demos.

Design
------
* State lives in ``LIVEPANTY_HOME`` (default: ``.livepanty/`` in the current directory): ``state.json``
  remembers the port picked on the first start and where the cluster files are; ``.lock`` serialises
  start/stop.
* The cluster files (``data/``, ``server.log`` and the Unix socket) live in the *cluster directory*.
  PostgreSQL refuses to run as root, so when invoked as root the server runs as the ``postgres`` OS user, and
  that user must be able to reach the cluster directory. The cluster directory is ``LIVEPANTY_HOME/pg`` when
  the ``postgres`` user can traverse to ``LIVEPANTY_HOME``; when it cannot (typically a checkout under
  ``/root``, which is mode 0700) the cluster directory is placed in
  ``/var/lib/livepanty/<name>-<hash of LIVEPANTY_HOME>/`` instead, and ``state.json`` records that path.
  Nothing is loosened: no directory permissions are changed.
* The server listens on 127.0.0.1 only, with ``trust`` authentication for 127.0.0.1 and for the Unix socket
  (whose directory only the server user can enter). It is a development server: never expose it.
* ``url()`` is a libpq URI over TCP (``postgresql://postgres@127.0.0.1:PORT/livepanty``) so every client
  works, whatever OS user it runs as.
* Server settings of the project (:data:`SERVER_SETTINGS`: pg_stat_statements preloaded for the slow-statement
  metrics, I/O timing, WAL compression, TCP keepalives) are written at every start into ``livepanty.conf`` in
  the data directory, which ``postgresql.conf`` includes (one line, added once, so clusters made by an older
  version get it at their next start by ``start()``; a server already running needs ``stop()`` and
  ``start()``). ``ALTER SYSTEM`` still overrides them (``postgresql.auto.conf`` is read last);
  ``Cluster(server_options=...)`` (command line) overrides both.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
APT_INSTALL = (
    "apt-get install postgresql-15 postgresql-contrib postgresql-15-pgtap postgresql-15-plpgsql-check"
)
REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")
#: OS user the server runs as when we are root.
SERVER_OS_USER = "postgres"
#: Database superuser created by initdb.
SUPERUSER = "postgres"
DATABASE = "livepanty"
#: Cluster directories for homes the server user cannot reach.
FALLBACK_ROOT = Path("/var/lib/livepanty")
STATE_FILE = "state.json"
#: Settings every embedded cluster runs with (see the module docstring; docs/operations.md "Metrics").
SERVER_SETTINGS: dict[str, str] = {
    # Statement statistics for `livepanty-db metrics` / `doctor` (monitoring.slow_statements); migration 0037
    # installs the extension in schema ext. Loading it needs a restart, hence in the file, not ALTER SYSTEM.
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.max": "5000",
    "pg_stat_statements.track": "top",
    "pg_stat_statements.track_utility": "on",
    "pg_stat_statements.save": "on",
    # Time spent reading and writing blocks (pg_stat_statements, pg_stat_database, EXPLAIN (BUFFERS)): about
    # 25 ns per clock reading on the development machine (pg_test_timing), cheap.
    "track_io_timing": "on",
    # Full-page images compressed: the WAL a tip writes after a checkpoint is mostly those images of random
    # index leaves (bench/money.py --flat, docs/benchmarks.md "Flat cost in steady state"); with lz4, WAL per
    # tip at 0.5 M tips was 1.18x that at 11,000 tips instead of 1.28x.
    "wal_compression": "lz4",
    # A client whose machine or network vanished (no FIN, no RST reaches the server) otherwise keeps its
    # backend, and, idle in a transaction, its locks, until the kernel's keepalive of 2 hours: probed after
    # 10 s of silence, it is gone within 25 s (tested with a cut in the network: tests/py/test_shards.py).
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
#: The file in the data directory that holds SERVER_SETTINGS, and the line of postgresql.conf including it.
SETTINGS_FILE = "livepanty.conf"
INCLUDE_LINE = f"include_if_exists = '{SETTINGS_FILE}'  # added by livepanty-db: project settings\n"
#: sockaddr_un.sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107


class LocalClusterError(RuntimeError):
    """The embedded cluster cannot be set up, started or reached; the message says what to do."""


def pg_bin() -> Path:
    """Directory of the PostgreSQL server binaries (``LIVEPANTY_PG_BIN`` overrides the Debian default)."""
    configured = os.environ.get("LIVEPANTY_PG_BIN")
    directory = Path(configured) if configured else DEFAULT_PG_BIN
    missing = [name for name in REQUIRED_BINARIES if not os.access(directory / name, os.X_OK)]
    if missing:
        where = "LIVEPANTY_PG_BIN" if configured else "the default location"
        raise LocalClusterError(
            f"PostgreSQL server binaries not found in {directory} ({where}; missing: {', '.join(missing)}). "
            f"Install them with: {APT_INSTALL} (or point LIVEPANTY_PG_BIN at a PostgreSQL 15 bin directory)."
        )
    return directory


def default_home() -> Path:
    """``LIVEPANTY_HOME``, else ``.livepanty/`` in the current directory (made absolute)."""
    configured = os.environ.get("LIVEPANTY_HOME")
    return Path(configured).absolute() if configured else Path.cwd() / ".livepanty"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL does for its own listening socket: connections of a server that just stopped linger in
        # TIME_WAIT on the port and must not make it look taken; a program listening on it still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


@dataclass(frozen=True)
class ClusterStatus:
    home: Path
    cluster_dir: Path | None
    port: int | None
    initialised: bool
    running: bool
    pid: int | None
    url: str | None

    def as_dict(self) -> dict[str, object]:
        """The status as one JSON-ready object (paths as strings)."""
        return {
            "home": str(self.home),
            "cluster_dir": str(self.cluster_dir) if self.cluster_dir else None,
            "port": self.port,
            "initialised": self.initialised,
            "running": self.running,
            "pid": self.pid,
            "url": self.url,
        }

    def rows(self) -> list[dict[str, object]]:
        """Key/value rows for the CLI's table and csv output."""
        return [{"key": key, "value": value} for key, value in self.as_dict().items()]


class Cluster:
    """One embedded cluster, identified by its home directory (see the module docstring)."""

    def __init__(self, home: Path | str | None = None, *, server_options: Sequence[str] = ()):
        self.home = Path(home).absolute() if home is not None else default_home()
        #: Extra ``name=value`` server settings passed as ``-c`` at every start (tests turn fsync off).
        self.server_options = tuple(server_options)

    # -- state -----------------------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.home / STATE_FILE

    def _load_state(self) -> dict[str, object] | None:
        try:
            text = self.state_path.read_text()
        except FileNotFoundError:
            return None
        try:
            state = json.loads(text)
            int(state["port"])
            str(state["cluster_dir"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LocalClusterError(
                f"{self.state_path} is not a valid livepanty-db state file ({exc}); "
                "delete it (and the cluster directory it names, if any) to start afresh"
            ) from exc
        return state

    def _save_state(self, state: dict[str, object]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise start/stop/destroy of this cluster between processes."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    @property
    def port(self) -> int | None:
        state = self._load_state()
        return int(state["port"]) if state else None

    @property
    def cluster_dir(self) -> Path | None:
        state = self._load_state()
        return Path(str(state["cluster_dir"])) if state else None

    @property
    def data_dir(self) -> Path | None:
        cluster_dir = self.cluster_dir
        return cluster_dir / "data" if cluster_dir else None

    # -- running things as the server user -------------------------------------------------------------------

    @staticmethod
    def _server_user() -> pwd.struct_passwd | None:
        """The OS user the server runs as: ``postgres`` when we are root, else ourselves (None)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise LocalClusterError(
                f"running as root, but there is no '{SERVER_OS_USER}' OS user to run the server as "
                f"(PostgreSQL refuses to run as root). Install the server package, which creates it: "
                f"{APT_INSTALL}"
            ) from None

    def _as_server_user(self, argv: Sequence[str]) -> list[str]:
        if self._server_user() is None:
            return list(argv)
        return ["runuser", "-u", SERVER_OS_USER, "--", *argv]

    def _run(self, argv: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._as_server_user(argv),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
            env=_server_env(),
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise LocalClusterError(f"{what} failed (exit code {result.returncode}):\n{output}")
        return result

    def _server_user_can_reach(self, path: Path) -> bool:
        if self._server_user() is None:
            return True
        result = subprocess.run(
            self._as_server_user(["test", "-x", str(path)]),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return result.returncode == 0

    # -- set-up ----------------------------------------------------------------------------------------------

    def _choose_cluster_dir(self) -> Path:
        if self._server_user_can_reach(self.home):
            return self.home / "pg"
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.home.parent.name or "root")
        cluster_dir = FALLBACK_ROOT / f"{name}-{digest}"
        log.info(
            "the %s OS user cannot reach %s (a parent directory is not searchable); "
            "keeping the cluster files in %s instead",
            SERVER_OS_USER,
            self.home,
            cluster_dir,
        )
        return cluster_dir

    def _prepare_cluster_dir(self, cluster_dir: Path) -> None:
        cluster_dir.mkdir(parents=True, exist_ok=True)
        cluster_dir.chmod(0o700)
        user = self._server_user()
        if user is not None:
            os.chown(cluster_dir, user.pw_uid, user.pw_gid)
            if not self._server_user_can_reach(cluster_dir):
                raise LocalClusterError(
                    f"the {SERVER_OS_USER} OS user cannot reach {cluster_dir}: a parent directory is not "
                    "searchable by it. Set LIVEPANTY_HOME to a directory outside /root "
                    "(e.g. /var/tmp/livepanty)."
                )

    def _initdb(self, bindir: Path, cluster_dir: Path) -> None:
        data_dir = cluster_dir / "data"
        log.info("initialising a new cluster in %s", data_dir)
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
            "initdb",
        )
        # Only the Unix socket (in a directory only the server user may enter) and 127.0.0.1 are accepted.
        hba = data_dir / "pg_hba.conf"
        hba.write_text(
            "# Written by livepanty-db: a local development cluster.\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            "host    all       all   127.0.0.1/32  trust\n"
        )

    def _write_settings(self, data_dir: Path) -> None:
        """Write SERVER_SETTINGS into ``livepanty.conf`` and include it from ``postgresql.conf`` (once)."""
        text = (
            "# Written by livepanty-db at every start: edits are lost. Override with ALTER SYSTEM\n"
            "# (postgresql.auto.conf is read after this file).\n"
            + "".join(f"{name} = '{value}'\n" for name, value in SERVER_SETTINGS.items())
        )
        path = data_dir / SETTINGS_FILE
        if not path.exists() or path.read_text() != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            user = self._server_user()
            if user is not None:
                os.chown(tmp, user.pw_uid, user.pw_gid)
            tmp.replace(path)
        conf = data_dir / "postgresql.conf"
        current = conf.read_text()
        if INCLUDE_LINE not in current:
            with conf.open("a") as handle:
                handle.write(("" if current.endswith("\n") else "\n") + INCLUDE_LINE)

    @staticmethod
    def _socket_dir(cluster_dir: Path, port: int) -> str:
        """The socket directory, or '' (no Unix socket) when the socket path would be too long."""
        if len(str(cluster_dir / f".s.PGSQL.{port}.lock")) > _MAX_SOCKET_PATH:
            return ""
        return str(cluster_dir)

    @property
    def socket_dir(self) -> Path | None:
        """The server's Unix socket directory (None before the first start, or if the path is too long)."""
        state = self._load_state()
        if state is None:
            return None
        directory = self._socket_dir(Path(str(state["cluster_dir"])), int(state["port"]))
        return Path(directory) if directory else None

    # -- operations ------------------------------------------------------------------------------------------

    def _is_running(self, bindir: Path, data_dir: Path) -> bool:
        if not (data_dir / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            self._as_server_user([str(bindir / "pg_ctl"), "status", "-D", str(data_dir)]),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
            env=_server_env(),
        )
        return result.returncode == 0

    def start(self) -> ClusterStatus:
        """Initialise on first use, start if not running, make sure the ``livepanty`` database exists."""
        bindir = pg_bin()
        with self._locked():
            state = self._load_state()
            if state is None:
                state = {"port": free_port(), "cluster_dir": str(self._choose_cluster_dir())}
                self._save_state(state)
            port = int(state["port"])
            cluster_dir = Path(str(state["cluster_dir"]))
            data_dir = cluster_dir / "data"
            if not (data_dir / "PG_VERSION").exists():
                self._prepare_cluster_dir(cluster_dir)
                self._initdb(bindir, cluster_dir)
            if not self._is_running(bindir, data_dir):
                if not _port_is_free(port):
                    raise LocalClusterError(
                        f"port {port} (remembered in {self.state_path}) is in use by another program; "
                        f"stop that program, or put a free port into {self.state_path}"
                    )
                self._write_settings(data_dir)
                options = [
                    "-p",
                    str(port),
                    "-k",
                    self._socket_dir(cluster_dir, port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                ]
                for setting in self.server_options:
                    options += ["-c", setting]
                log_file = cluster_dir / "server.log"
                try:
                    self._run(
                        [
                            str(bindir / "pg_ctl"),
                            "start",
                            "-D",
                            str(data_dir),
                            "-l",
                            str(log_file),
                            "-w",
                            "-t",
                            "120",
                            "-o",
                            shlex.join(options),
                        ],
                        "pg_ctl start",
                    )
                except LocalClusterError as exc:
                    raise LocalClusterError(
                        f"{exc}\n--- last lines of {log_file} ---\n{_tail(log_file)}"
                    ) from exc
            self._ensure_database(port)
        return self.status()

    def _ensure_database(self, port: int) -> None:
        with psycopg.connect(self._url(port, "postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def stop(self) -> ClusterStatus:
        """Stop the server (fast shutdown) if it runs; a no-op otherwise."""
        with self._locked():
            data_dir = self.data_dir
            if data_dir is not None:
                bindir = pg_bin()
                if self._is_running(bindir, data_dir):
                    self._run(
                        [
                            str(bindir / "pg_ctl"),
                            "stop",
                            "-D",
                            str(data_dir),
                            "-m",
                            "fast",
                            "-w",
                            "-t",
                            "120",
                        ],
                        "pg_ctl stop",
                    )
        return self.status()

    def destroy(self) -> None:
        """Stop the server (and its local replica, if any) and delete the cluster directory and the state
        file (all data is lost)."""
        from livepanty_db.replica import REPLICA_STATE_FILE, LocalReplica

        LocalReplica(self).stop()
        (self.home / REPLICA_STATE_FILE).unlink(missing_ok=True)
        self.stop()
        with self._locked():
            cluster_dir = self.cluster_dir
            if cluster_dir is not None and cluster_dir.exists():
                shutil.rmtree(cluster_dir)
            self.state_path.unlink(missing_ok=True)

    def status(self) -> ClusterStatus:
        state = self._load_state()
        if state is None:
            return ClusterStatus(self.home, None, None, initialised=False, running=False, pid=None, url=None)
        port = int(state["port"])
        cluster_dir = Path(str(state["cluster_dir"]))
        data_dir = cluster_dir / "data"
        initialised = (data_dir / "PG_VERSION").exists()
        running = initialised and self._is_running(pg_bin(), data_dir)
        pid = None
        if running:
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        return ClusterStatus(
            self.home,
            cluster_dir,
            port,
            initialised=initialised,
            running=running,
            pid=pid,
            url=self._url(port, DATABASE),
        )

    @staticmethod
    def _url(port: int, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"

    def url(self, database: str = DATABASE) -> str:
        """libpq URI of a database in this cluster (the cluster need not run; ``start()`` first to use it)."""
        port = self.port
        if port is None:
            raise LocalClusterError(
                f"the local cluster in {self.home} has never been started: run `livepanty-db local start`"
            )
        return self._url(port, database)

    def psql_argv(self, args: Sequence[str] = (), database: str = DATABASE) -> list[str]:
        return [str(pg_bin() / "psql"), self.url(database), *args]

    def psql(self, args: Sequence[str] = (), database: str = DATABASE) -> int:
        """Start the cluster if needed and run psql on it interactively; returns psql's exit code."""
        self.start()
        return subprocess.call(self.psql_argv(args, database))


def _server_env() -> dict[str, str]:
    """The environment for initdb, pg_ctl and postgres: ours without libpq's ``PG*`` variables, which name
    some other server (``PGPORT``, ``PGDATA``, ``PGHOST``, ...) and must not steer the embedded cluster."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read: {exc})"


# Module-level shortcuts for the default cluster (LIVEPANTY_HOME or ./.livepanty).


def start() -> ClusterStatus:
    return Cluster().start()


def stop() -> ClusterStatus:
    return Cluster().stop()


def status() -> ClusterStatus:
    return Cluster().status()


def url(database: str = DATABASE) -> str:
    return Cluster().url(database)


def psql(args: Sequence[str] = (), database: str = DATABASE) -> int:
    return Cluster().psql(args, database)
