"""The embedded cluster (livepanty_db.local), DSN resolution, and the `local` CLI commands."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from livepanty_db import config, local
from livepanty_db.cli import main


@pytest.fixture
def reachable_home() -> Iterator[Path]:
    """A LIVEPANTY_HOME that the postgres OS user can reach (a 0755 directory under /tmp)."""
    base = Path(tempfile.mkdtemp(prefix="livepanty-local-"))
    base.chmod(0o755)
    home = base / "home"
    try:
        yield home
    finally:
        with contextlib.suppress(local.LocalClusterError):
            local.Cluster(home).destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_start_status_url_restart_stop(reachable_home):
    cluster = local.Cluster(reachable_home)
    assert cluster.status().initialised is False
    with pytest.raises(local.LocalClusterError, match="never been started"):
        cluster.url()

    started = cluster.start()
    assert started.running
    assert started.initialised
    assert started.cluster_dir == reachable_home / "pg"
    port = started.port
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "livepanty"
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        # The project's settings (livepanty.conf): statement statistics and I/O timing.
        assert conn.execute("SHOW shared_preload_libraries").fetchone()[0] == "pg_stat_statements"
        assert conn.execute("SHOW track_io_timing").fetchone()[0] == "on"
        assert conn.execute("SHOW wal_compression").fetchone()[0] == "lz4"
        assert conn.execute("SHOW pg_stat_statements.max").fetchone()[0] == "5000"
    # ... which ALTER SYSTEM overrides (postgresql.auto.conf is read last), at the next restart
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET pg_stat_statements.max = 1000")
    assert cluster.start().pid == started.pid  # already running: a no-op

    stopped = cluster.stop()
    assert not stopped.running
    assert stopped.initialised
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url(), connect_timeout=5)

    # A cluster made before livepanty.conf existed: no include line, no file. The next start adds both.
    data = reachable_home / "pg" / "data"
    conf = data / "postgresql.conf"
    assert conf.read_text().count(local.INCLUDE_LINE) == 1
    conf.write_text(conf.read_text().replace(local.INCLUDE_LINE, ""))
    (data / local.SETTINGS_FILE).unlink()

    restarted = cluster.start()
    assert restarted.running
    assert restarted.port == port
    assert json.loads((reachable_home / "state.json").read_text())["port"] == port
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
        assert conn.execute("SHOW shared_preload_libraries").fetchone()[0] == "pg_stat_statements"
        assert conn.execute("SHOW pg_stat_statements.max").fetchone()[0] == "1000"  # the DBA's choice
    assert conf.read_text().count(local.INCLUDE_LINE) == 1
    cluster.stop()
    assert cluster.start().running
    assert conf.read_text().count(local.INCLUDE_LINE) == 1  # added once, not at every start

    cluster.destroy()
    assert not (reachable_home / "pg").exists()
    assert cluster.status().initialised is False


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback only applies when running as root")
def test_unreachable_home_keeps_cluster_files_elsewhere(tmp_path):
    # pytest's tmp_path lives under a 0700 directory: the postgres OS user cannot reach it.
    home = tmp_path / "home"
    cluster = local.Cluster(home)
    try:
        status = cluster.start()
        assert status.running
        assert status.cluster_dir is not None
        assert status.cluster_dir.parent == local.FALLBACK_ROOT
        assert json.loads((home / "state.json").read_text())["cluster_dir"] == str(status.cluster_dir)
        with psycopg.connect(cluster.url()) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "livepanty"
    finally:
        cluster.destroy()
    assert not status.cluster_dir.exists()


def test_missing_binaries_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEPANTY_PG_BIN", str(tmp_path / "nowhere"))
    with pytest.raises(local.LocalClusterError, match="apt-get install postgresql-15 postgresql-contrib"):
        local.Cluster(tmp_path / "home").start()


def test_dsn_resolution_order(monkeypatch, reachable_home):
    monkeypatch.setenv("LIVEPANTY_DSN", "dbname=from_livepanty_dsn")
    monkeypatch.setenv("DATABASE_URL", "dbname=from_database_url")
    assert config.resolve("dbname=explicit") == config.ResolvedDsn("dbname=explicit", "--dsn")
    assert config.resolve().source == "LIVEPANTY_DSN"
    monkeypatch.setenv("LIVEPANTY_DSN", "")
    assert config.resolve() == config.ResolvedDsn("dbname=from_database_url", "DATABASE_URL")
    monkeypatch.delenv("DATABASE_URL")
    for name in config.LIBPQ_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGDATABASE", "from_libpq")
    assert config.resolve() == config.ResolvedDsn(
        "port=6543 dbname=from_libpq", "libpq environment (PGPORT, PGDATABASE)"
    )
    monkeypatch.setenv("PGPORT", "")  # empty counts as unset
    monkeypatch.delenv("PGDATABASE")
    monkeypatch.setenv("LIVEPANTY_HOME", str(reachable_home))
    resolved = config.resolve()
    assert resolved.source == "local cluster"
    with psycopg.connect(resolved.dsn) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "livepanty"


def test_local_cli(reachable_home):
    runner = CliRunner()
    env = {"LIVEPANTY_HOME": str(reachable_home)}
    result = runner.invoke(main, ["--format", "json", "local", "start"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # one object, not key/value rows
    assert rows["running"] is True
    assert set(rows) == {"home", "cluster_dir", "port", "initialised", "running", "pid", "url"}

    url = runner.invoke(main, ["local", "url"], env=env)
    assert url.exit_code == 0
    assert url.stdout.strip() == rows["url"]
    other = runner.invoke(main, ["local", "url", "-d", "postgres"], env=env)
    assert other.stdout.strip() == rows["url"].rsplit("/", 1)[0] + "/postgres"

    psql = runner.invoke(main, ["local", "psql", "-At", "-c", "SELECT 40 + 2"], env=env)
    assert psql.exit_code == 0, psql.output
    # -d reaches any database of the cluster (psql's output goes to the real stdout: check its exit code).
    in_db = "SELECT 1 / (current_database() = {!r})::int"
    psql = runner.invoke(main, ["local", "psql", "-d", "postgres", "-c", in_db.format("postgres")], env=env)
    assert psql.exit_code == 0, psql.output
    psql = runner.invoke(main, ["local", "psql", "-d", "postgres", "-c", in_db.format("livepanty")], env=env)
    assert psql.exit_code != 0

    result = runner.invoke(main, ["--format", "csv", "local", "stop"], env=env)
    assert result.exit_code == 0, result.output
    assert "running,False" in result.stdout
