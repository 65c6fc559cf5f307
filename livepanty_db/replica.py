"""A streaming replica of the embedded cluster on loopback, and the replay-lag measurement the client uses.

* ``LocalReplica(cluster)`` keeps its state in ``LIVEPANTY_HOME/replica.json`` (its port) and its files in
  the ``replica/`` directory of the primary's cluster directory (``replica/data``, ``replica/server.log``,
  the Unix socket). ``start()`` starts the primary if needed, makes the replica with ``pg_basebackup -R -X
  stream`` the first time (``standby.signal`` and ``primary_conninfo`` pointing at ``127.0.0.1:<primary
  port>``), and starts it as the server OS user on its own free port, listening on 127.0.0.1 only.
  ``stop()`` stops it (fast); ``destroy()`` deletes its files. The primary's ``pg_hba.conf`` gets one line
  allowing replication connections from 127.0.0.1 (``trust``, like the rest of this development
  cluster), added and reloaded once.
* ``measure_lag(primary, replica)`` works with any pair of connections (a DBA's own servers too): replay lag
  in bytes (the primary's ``pg_current_wal_insert_lsn()`` minus the replica's ``pg_last_wal_replay_lsn()``)
  and in seconds (0 when the replica has replayed everything the primary has written, else the time since the
  last transaction the replica replayed, ``pg_last_xact_replay_timestamp()``: an upper bound of the real lag,
  so a decision "lag within the maximum" is never too optimistic; it assumes the two servers' clocks agree).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from livepanty_db.local import (
    DATABASE,
    SUPERUSER,
    Cluster,
    LocalClusterError,
    _port_is_free,
    _tail,
    free_port,
    pg_bin,
)

REPLICA_STATE_FILE = "replica.json"
#: The pg_hba.conf line that lets a replica on this host stream from the embedded primary.
REPLICATION_HBA_LINE = "host    replication  all   127.0.0.1/32  trust\n"

#: One round trip on the replica: recovery state, replay position, time of the last replayed transaction.
REPLICA_POSITION = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(), "
    "clock_timestamp()"
)
#: One round trip on the primary: the end of the WAL it has inserted. The insert position, not the write
#: position: with synchronous_commit=off a commit is visible before its WAL is written, and it is lag all the
#: same. (When the last record ends exactly at a page boundary the insert position is past the next page's
#: header, so an idle replica can show a few dozen bytes of lag until the next write: conservative.)
PRIMARY_POSITION = "SELECT pg_current_wal_insert_lsn()::text"


def lsn_to_int(lsn: str | None) -> int | None:
    """A PostgreSQL LSN ('16/B374D848') as a byte position, or None."""
    if lsn is None:
        return None
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class Lag:
    """How far a replica is behind its primary, measured at one moment."""

    in_recovery: bool
    replay_lsn: int | None
    primary_lsn: int
    bytes: int | None
    seconds: float | None


def replica_position(replica: psycopg.Connection[Any]) -> tuple[bool, int | None, Any, Any]:
    row = replica.execute(REPLICA_POSITION).fetchone() or (False, None, None, None)
    return bool(row[0]), lsn_to_int(row[1]), row[2], row[3]


def lag_from(primary_lsn: int, position: tuple[bool, int | None, Any, Any]) -> Lag:
    """The :class:`Lag` from the primary's WAL position and a replica's :data:`REPLICA_POSITION` row."""
    in_recovery, replay_lsn, replay_time, now = position
    if not in_recovery or replay_lsn is None:
        # Not a replica (promoted, or a primary given by mistake): no replay to measure.
        return Lag(in_recovery, replay_lsn, primary_lsn, None, None)
    behind = max(0, primary_lsn - replay_lsn)
    if behind == 0:
        seconds = 0.0
    elif replay_time is None:
        seconds = float("inf")  # nothing replayed since the replica started: unknown, treated as too far
    else:
        seconds = max(0.0, (now - replay_time).total_seconds())
    return Lag(in_recovery, replay_lsn, primary_lsn, behind, seconds)


def measure_lag(primary: psycopg.Connection[Any], replica: psycopg.Connection[Any]) -> Lag:
    """Replay lag of ``replica`` behind ``primary`` (two autocommit connections; see the module docstring).

    The primary is read first, so a replica that catches up in between shows less lag, never more than real.
    """
    row = primary.execute(PRIMARY_POSITION).fetchone()
    primary_lsn = lsn_to_int(row[0] if row else None) or 0
    return lag_from(primary_lsn, replica_position(replica))


@dataclass(frozen=True)
class ReplicaStatus:
    data_dir: Path | None
    port: int | None
    initialised: bool
    running: bool
    url: str | None
    primary_url: str | None
    in_recovery: bool | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "port": self.port,
            "initialised": self.initialised,
            "running": self.running,
            "url": self.url,
            "primary_url": self.primary_url,
            "in_recovery": self.in_recovery,
            "lag_bytes": self.lag_bytes,
            "lag_seconds": self.lag_seconds,
        }

    def rows(self) -> list[dict[str, object]]:
        return [{"key": key, "value": value} for key, value in self.as_dict().items()]


class LocalReplica:
    """The streaming replica of one embedded :class:`~livepanty_db.local.Cluster`."""

    def __init__(self, cluster: Cluster | None = None) -> None:
        self.cluster = cluster if cluster is not None else Cluster()

    @property
    def state_path(self) -> Path:
        return self.cluster.home / REPLICA_STATE_FILE

    def _port(self) -> int | None:
        try:
            return int(json.loads(self.state_path.read_text())["port"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise LocalClusterError(
                f"{self.state_path} is not a valid replica state file ({exc}); stop the replica and delete it"
            ) from exc

    @property
    def directory(self) -> Path | None:
        cluster_dir = self.cluster.cluster_dir
        return cluster_dir / "replica" if cluster_dir else None

    @property
    def data_dir(self) -> Path | None:
        directory = self.directory
        return directory / "data" if directory else None

    def url(self, database: str = DATABASE) -> str:
        port = self._port()
        if port is None:
            raise LocalClusterError(
                "the local replica has never been started: run `livepanty-db local replica start`"
            )
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"

    def _allow_replication(self) -> None:
        """Add the loopback replication line to the primary's pg_hba.conf (once) and reload the primary."""
        data_dir = self.cluster.data_dir
        if data_dir is None:
            raise LocalClusterError("the local cluster was never started: run `livepanty-db local start`")
        hba = data_dir / "pg_hba.conf"
        text = hba.read_text()
        if REPLICATION_HBA_LINE.split() in [line.split() for line in text.splitlines()]:
            return
        hba.write_text(text + ("" if text.endswith("\n") else "\n") + REPLICATION_HBA_LINE)
        self.cluster._run([str(pg_bin() / "pg_ctl"), "reload", "-D", str(data_dir)], "pg_ctl reload")

    def start(self) -> ReplicaStatus:
        """Start the primary if needed, make the replica on first use, start it; returns its status."""
        primary = self.cluster.start()
        bindir = pg_bin()
        with self.cluster._locked():
            directory, data_dir = self.directory, self.data_dir
            if primary.port is None or directory is None or data_dir is None:
                raise LocalClusterError("the local cluster did not start: see `livepanty-db local status`")
            port = self._port()
            if port is None:
                port = free_port()
                self.state_path.write_text(json.dumps({"port": port}) + "\n")
            if not (data_dir / "PG_VERSION").exists():
                self._allow_replication()
                if directory.exists():
                    shutil.rmtree(directory)  # a half-made copy from an interrupted start
                self.cluster._prepare_cluster_dir(directory)
                self.cluster._run(
                    [
                        str(bindir / "pg_basebackup"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(primary.port),
                        "-U",
                        SUPERUSER,
                        "-D",
                        str(data_dir),
                        "-R",
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                        "--no-password",
                    ],
                    "pg_basebackup",
                )
            if not self.cluster._is_running(bindir, data_dir):
                if not _port_is_free(port):
                    raise LocalClusterError(
                        f"port {port} (remembered in {self.state_path}) is in use by another program; "
                        f"stop that program, or delete {self.state_path} to pick another port"
                    )
                self.cluster._write_settings(data_dir)  # the primary's (a copy made earlier may be older)
                options = ["-p", str(port), "-k", Cluster._socket_dir(directory, port)]
                options += ["-c", "listen_addresses=127.0.0.1", "-c", "hot_standby=on"]
                for setting in self.cluster.server_options:
                    options += ["-c", setting]
                log_file = directory / "server.log"
                try:
                    self.cluster._run(
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
                        "pg_ctl start (replica)",
                    )
                except LocalClusterError as exc:
                    tail = _tail(log_file)
                    raise LocalClusterError(f"{exc}\n--- last lines of {log_file} ---\n{tail}") from exc
        return self.status()

    def stop(self) -> ReplicaStatus:
        """Stop the replica (fast shutdown) if it runs; a no-op otherwise."""
        with self.cluster._locked():
            data_dir = self.data_dir
            if data_dir is not None and self.cluster._is_running(pg_bin(), data_dir):
                self.cluster._run(
                    [str(pg_bin() / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "fast", "-w", "-t", "120"],
                    "pg_ctl stop (replica)",
                )
        return self.status()

    def destroy(self) -> None:
        """Stop the replica and delete its files and state (the primary is untouched)."""
        self.stop()
        with self.cluster._locked():
            directory = self.directory
            if directory is not None and directory.exists():
                shutil.rmtree(directory)
            self.state_path.unlink(missing_ok=True)

    def status(self) -> ReplicaStatus:
        """Where the replica is, whether it runs, and (when both run) its replay lag behind the primary."""
        port = self._port()
        data_dir = self.data_dir
        initialised = data_dir is not None and (data_dir / "PG_VERSION").exists()
        running = initialised and data_dir is not None and self.cluster._is_running(pg_bin(), data_dir)
        url = self.url() if port is not None else None
        primary_url = self.cluster.url() if self.cluster.port is not None else None
        status = ReplicaStatus(data_dir, port, initialised, running, url, primary_url)
        if running and url and primary_url:
            with contextlib.suppress(psycopg.Error):
                with (
                    psycopg.connect(primary_url, autocommit=True, connect_timeout=5) as primary,
                    psycopg.connect(url, autocommit=True, connect_timeout=5) as replica,
                ):
                    lag = measure_lag(primary, replica)
                return ReplicaStatus(
                    data_dir,
                    port,
                    initialised,
                    running,
                    url,
                    primary_url,
                    lag.in_recovery,
                    lag.bytes,
                    None if lag.seconds is None else round(lag.seconds, 3),
                )
        return status
