"""The backup drill (docs/operations.md, "Backups and point-in-time recovery"): pgBackRest on a cluster of its
own (never the developer's embedded one), set up by ``livepanty-db backup setup`` with WAL archiving into an
encrypted repository.

Seed users and purchases through the client, take a full backup, make tips, take an incremental backup,
make more tips, note the time T (after a commit), erase a user, make more tips, drop a table by mistake;
restore to T into a new directory and start it: exactly the tips before T exist, every wallet has its
balance of time T, ``api.verify_ledger`` is clean, the dropped table is back, and so is the erased user's
personal data, which replaying the exported erasure log (``privacy replay-erasures``, or ``backup restore
--replay-erasures``) removes again. Then the repository's encryption and every refusal of the commands.

The module's cluster is shared by its tests, which run in file order (the drill first).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql as pgsql

from livepanty_db import Client, backup, migrate, new_idempotency_key
from livepanty_db.cli import main
from livepanty_db.local import Cluster

PASSWORD = "Drill-Password-42"
ADULT = date(1990, 1, 2)
ERIN = {"email": "erin.drill@example.org", "username": "erin_drill", "display_name": "Erin Drillperson"}
NEEDLES = [ERIN["email"], ERIN["username"], ERIN["display_name"], "erin says hi"]


@dataclass
class Drill:
    home: Path
    cluster: Cluster
    env: dict[str, str]
    config: Path
    restored: list[Path] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.cluster.url()

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--format", "json", *args], env=self.env)

    def plain(self, *args: str) -> Result:
        """The command with text output (refusals: ``error: ...`` on stderr)."""
        return CliRunner().invoke(main, list(args), env=self.env)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def refused(result: Result, text: str) -> None:
    assert result.exit_code == 1, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.stderr.startswith("error: "), result.stderr
    assert text in result.stderr, result.stderr


def wait_archived(url: str, timeout: float = 120) -> None:
    """Switch to a new WAL segment and wait until the one just closed is in the repository."""
    with psycopg.connect(url, autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            last, failed = conn.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
            if last is not None and last >= segment:
                return
            assert time.monotonic() < deadline, f"{segment} not archived (last {last}, failed {failed})"
            time.sleep(0.1)


def places(url: str, needles: list[str]) -> list[str]:
    """Every lp table.column of a text-like type (read from the catalog) holding one of the needles."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """
            SELECT c.oid::regclass::text, a.attname
              FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
              JOIN pg_type AS t ON t.oid = a.atttypid
             WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
               AND NOT a.attisdropped
               AND (t.oid = ANY (ARRAY['text', 'ext.citext', 'inet', 'jsonb']::regtype[])
                    OR t.typelem = ANY (ARRAY['text', 'ext.citext', 'inet', 'jsonb']::regtype[]))
            """
        ).fetchall()
        found = []
        for table, column in columns:
            query = pgsql.SQL(
                "SELECT EXISTS (SELECT 1 FROM {} AS x, unnest(%s::text[]) AS n (needle)"
                " WHERE strpos(lower(x.{}::text), lower(n.needle)) > 0)"
            ).format(pgsql.SQL(table), pgsql.Identifier(column))
            if conn.execute(query, [needles]).fetchone()[0]:
                found.append(f"{table}.{column}")
    return sorted(found)


def snapshot(url: str) -> dict[str, object]:
    """What the restored copy must equal: tip ids, ledger size, every wallet's balance."""
    with psycopg.connect(url) as conn:
        return {
            "tips": {r[0] for r in conn.execute("SELECT id FROM lp.tips").fetchall()},
            "ledger": conn.execute("SELECT count(*) FROM lp.ledger").fetchone()[0],
            "balances": dict(conn.execute("SELECT id, balance FROM lp.wallets").fetchall()),
        }


def tips(url: str, pairs: list[tuple[object, object]], amount: int, erin: object = None) -> None:
    """Each sender tips its recipient; erin's tip carries a message that names her."""
    with Client(url) as client:
        for sender, recipient in pairs:
            with client.acting_as(sender, reason="drill") as tx:
                tx.tip(
                    recipient,
                    amount,
                    idempotency_key=new_idempotency_key(),
                    message="erin says hi" if sender == erin else None,
                )


@pytest.fixture(scope="module")
def drill() -> Iterator[Drill]:
    home = Path(tempfile.mkdtemp(prefix="lp-bk-"))
    home.chmod(0o755)
    cluster = Cluster(home, server_options=("fsync=off", "synchronous_commit=off"))
    started = time.monotonic()
    restored: list[Path] = []
    try:
        cluster.start()
        migrate.apply(cluster.url())
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'")
            conn.execute("ALTER SYSTEM SET fsync = off")  # the set-up's restart keeps the drill fast
        env = {"LIVEPANTY_HOME": str(home), "LIVEPANTY_DSN": cluster.url()}
        setup = CliRunner().invoke(
            main,
            ["--format", "json", "backup", "setup", "--archive-timeout", "5", "--retention-full", "2"],
            env=env,
        )
        ok(setup)
        values = {row["key"]: row["value"] for row in json.loads(setup.stdout)}
        drill = Drill(
            home, cluster, {**env, backup.CONFIG_ENV: values["config"]}, Path(values["config"]), restored
        )
        drill.facts["setup_seconds"] = round(time.monotonic() - started, 1)
        yield drill
    finally:
        for directory in restored:
            backup.stop_restored(directory)
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_setup_writes_an_encrypted_stanza_with_the_key_outside_the_repository(drill: Drill) -> None:
    settings = backup.BackupSettings.load(drill.config)
    assert settings.embedded
    key = Path(settings.key_file)
    repo = Path(settings.repo_path)
    assert key.stat().st_mode & 0o777 == 0o600
    assert not key.is_relative_to(repo), "the key lives outside the repository"
    text = drill.config.read_text()
    assert "repo1-cipher-type=aes-256-cbc" in text
    assert key.read_text().strip() not in text, "the passphrase is not in the configuration"
    assert "repo1-retention-full=2" in text
    with psycopg.connect(drill.url) as conn:
        settings_rows = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_command')"
            ).fetchall()
        )
    assert settings_rows["archive_mode"] == "on"
    assert "archive-push" in settings_rows["archive_command"]
    assert key.read_text().strip() not in settings_rows["archive_command"]
    # Idempotent: a second set-up keeps the key (the old backups stay readable).
    before = key.read_text()
    ok(drill.cli("backup", "setup", "--archive-timeout", "5"))
    assert key.read_text() == before


def test_drill_restore_to_a_point_in_time(drill: Drill, tmp_path: Path) -> None:
    began = time.monotonic()
    url = drill.url
    with Client(url) as client, psycopg.connect(url, autocommit=True) as conn:
        client.create_admin(email="boss@example.org", username="boss", password=PASSWORD, date_of_birth=ADULT)
        viewers = [
            client.register_user(
                email=f"v{i}@example.org", username=f"viewer{i}", password=PASSWORD, date_of_birth=ADULT
            )
            for i in range(3)
        ]
        erin = client.register_user(password=PASSWORD, date_of_birth=ADULT, **ERIN)
        performers = [
            client.register_user(
                email=f"p{i}@example.org",
                username=f"performer{i}",
                password=PASSWORD,
                date_of_birth=ADULT,
                role="performer",
            )
            for i in range(2)
        ]
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at, expires_at) SELECT u, 'identity', 'approved', 'passport', 'DE', now(),"
            " now() + interval '1 year' FROM unnest(%s::uuid[]) AS u",
            [[p.id for p in performers]],
        )
        with Client(url, role="livepanty_service") as service:
            for buyer in [*viewers, erin]:
                with client.acting_as(buyer.id, reason="drill") as tx:
                    payment = tx.create_payment("small", "stripe", idempotency_key=new_idempotency_key())
                service.complete_payment(
                    payment.id, f"ch_{uuid.uuid4().hex}", idempotency_key=new_idempotency_key()
                )
        before_backup = conn.execute("SELECT clock_timestamp()").fetchone()[0]

    full = json.loads(ok(drill.cli("backup", "run", "--type", "full")).stdout)
    assert [b["type"] for b in full] == ["full"]
    senders = [erin.id, *[v.id for v in viewers]]
    tips(url, [(s, performers[i % 2].id) for i, s in enumerate(senders)], 10, erin=erin.id)
    incr = json.loads(ok(drill.cli("backup", "run", "--type", "incr")).stdout)
    assert incr[0]["type"] == "incr"
    assert incr[0]["prior"] == full[0]["label"]
    tips(url, [(v.id, performers[1].id) for v in viewers], 7)
    at_t = snapshot(url)
    with psycopg.connect(url) as conn:
        t = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # after the last commit before T
    time.sleep(0.05)

    # After T: erin is erased (the log exported outside the backups), more tips, a table dropped by mistake.
    ok(drill.cli("privacy", "erase", str(erin.id), "--reason", "request by mail", "--yes", "--as", "boss"))
    assert places(url, NEEDLES) == []
    log = tmp_path / "erasures.jsonl"
    ok(drill.cli("privacy", "export-erasures", "--output", str(log)))
    tips(url, [(v.id, performers[0].id) for v in viewers], 5)
    after = snapshot(url)
    assert len(after["tips"]) == len(at_t["tips"]) + 3
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE lp.tips CASCADE")
    wait_archived(url)

    listed = json.loads(ok(drill.cli("backup", "list")).stdout)
    assert [b["label"] for b in listed] == [full[0]["label"], incr[0]["label"]]

    target = drill.home / "restored"
    restore_began = time.monotonic()
    result = drill.cli(
        "backup", "restore", "--to-time", t.isoformat(), "--target-dir", str(target), "--start"
    )
    drill.restored.append(target)
    ok(result)
    restore_seconds = time.monotonic() - restore_began
    row = json.loads(result.stdout)[0]
    assert row["backup"] == incr[0]["label"], "the latest backup that ended before T"
    restored = row["url"]
    assert restored.startswith("postgresql://")
    assert str(row["port"]) in restored

    # Exactly the tips before T, every balance of time T, a sound ledger, the dropped table back.
    assert snapshot(restored) == at_t
    with Client(restored, role="livepanty_service") as service:
        assert service.verify_ledger() == []
    with psycopg.connect(restored) as conn:
        assert conn.execute("SHOW archive_mode").fetchone()[0] == "off", "the copy never archives"
        assert not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]

    # Restored to before the erasure: erin's data is back, the log does not know it ...
    assert {"lp.users.email", "lp.users.username", "lp.tips.message"} <= set(places(restored, NEEDLES))
    assert json.loads(ok(drill.cli("--dsn", restored, "privacy", "log")).stdout) == []
    # ... until the exported log is replayed.
    replayed = json.loads(ok(drill.cli("--dsn", restored, "privacy", "replay-erasures", str(log))).stdout)
    assert [(r["user_id"], r["outcome"]) for r in replayed] == [(str(erin.id), "replayed")]
    assert places(restored, NEEDLES) == []
    with Client(restored, role="livepanty_service") as service:
        assert service.verify_ledger() == []

    # The same in one command: restore --replay-erasures.
    second = drill.home / "restored-2"
    result = drill.cli(
        "backup",
        "restore",
        "--to-time",
        t.isoformat(),
        "--target-dir",
        str(second),
        "--start",
        "--replay-erasures",
        str(log),
    )
    drill.restored.append(second)
    row = json.loads(ok(result).stdout)[0]
    assert row["erasures"] == "1 replayed"
    assert places(row["url"], NEEDLES) == []
    assert snapshot(row["url"])["tips"] == at_t["tips"]

    drill.facts.update(
        t=t,
        before_backup=before_backup,
        full=full[0]["label"],
        restore_seconds=round(restore_seconds, 1),
        drill_seconds=round(time.monotonic() - began, 1),
    )
    print(
        f"\nbackup drill: setup {drill.facts['setup_seconds']} s (cluster, migrations, backup setup); "
        f"drill {drill.facts['drill_seconds']} s; one restore + start {drill.facts['restore_seconds']} s"
    )


def test_the_repository_is_encrypted(drill: Drill) -> None:
    settings = backup.BackupSettings.load(drill.config)
    files = [p for p in Path(settings.repo_path).rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert len(files) > 100
    plain = [str(p) for p in files if p.read_bytes()[:8] != b"Salted__"]
    assert plain == [], "every file of the repository is aes-256-cbc ciphertext (OpenSSL 'Salted__' header)"
    needles = [ERIN["username"].encode(), b"lp.tips", b"pg_control", b"backup:current", b"db-system-id"]
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
    # Without the passphrase, or with a wrong one, pgBackRest cannot read the repository.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PGBACKREST"))}
    argv = ["pgbackrest", f"--config={settings.config}", f"--stanza={settings.stanza}", "info"]
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    bare = subprocess.run([*runner, *argv], env=env, capture_output=True, text=True, check=False)
    assert bare.returncode != 0
    assert "repo1-cipher-pass" in bare.stdout + bare.stderr
    wrong = drill.home / "wrong.key"
    wrong.write_text("a-wrong-passphrase-of-some-length\n")
    with pytest.raises(backup.BackupError, match=r"cannot be read: .*unable to load info file"):
        backup.list_backups(dataclasses.replace(settings, key_file=str(wrong)))
    assert backup.list_backups(settings), "with the key file it reads"


def test_refusals(drill: Drill, tmp_path: Path) -> None:
    t = drill.facts.get("t")
    if not isinstance(t, datetime):
        pytest.fail("the drill did not run")
    # The target directory exists (the running cluster's, or any other).
    data_dir = str(drill.cluster.data_dir)
    refused(drill.plain("backup", "restore", "--to-time", t.isoformat(), "--target-dir", data_dir), "exists")
    existing = tmp_path / "there"
    existing.mkdir()
    refused(
        drill.plain("backup", "restore", "--to-time", t.isoformat(), "--target-dir", str(existing)),
        "restore only into a new directory",
    )
    # A time before the end of the first backup; a time without a zone; not a time.
    early = drill.facts["before_backup"]
    assert isinstance(early, datetime)
    target = tmp_path / "new"
    refused(
        drill.plain("backup", "restore", "--to-time", early.isoformat(), "--target-dir", str(target)),
        "before the end of the first backup",
    )
    assert not target.exists(), "a refused restore leaves nothing behind"
    refused(
        drill.plain("backup", "restore", "--to-time", "2026-12-04 20:30:00", "--target-dir", str(target)),
        "has no time zone",
    )
    refused(
        drill.plain("backup", "restore", "--to-time", "yesterday", "--target-dir", str(target)),
        "is not an ISO 8601 time",
    )
    assert not target.exists()
    usage = drill.cli(
        "backup",
        "restore",
        "--to-time",
        t.isoformat(),
        "--target-dir",
        str(target),
        "--replay-erasures",
        str(drill.config),
    )
    assert usage.exit_code == 2
    assert "--replay-erasures needs --start" in usage.stderr
    future = datetime.now(t.tzinfo) + timedelta(hours=1)
    refused(
        drill.plain("backup", "restore", "--to-time", future.isoformat(), "--target-dir", str(target)),
        "is in the future",
    )
    # A time the archive does not reach (archiving broken since): recovery ends before it; nothing is kept.
    with psycopg.connect(drill.cluster.url("postgres"), autocommit=True) as conn:
        command = conn.execute("SHOW archive_command").fetchone()[0]
        conn.execute("ALTER SYSTEM SET archive_command = '/bin/false'")
        conn.execute("SELECT pg_reload_conf()")
        try:
            time.sleep(0.5)
            conn.execute("CREATE TABLE public.not_archived ()")
            late = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            conn.execute("DROP TABLE public.not_archived")
            late_target = drill.home / "late"
            refused(
                drill.plain(
                    "backup",
                    "restore",
                    "--to-time",
                    late.isoformat(),
                    "--target-dir",
                    str(late_target),
                    "--start",
                ),
                "recovery ended before configured recovery target was reached",
            )
            assert not late_target.exists()
        finally:
            conn.execute(pgsql.SQL("ALTER SYSTEM SET archive_command = {}").format(pgsql.Literal(command)))
            conn.execute("SELECT pg_reload_conf()")
    # A port in use.
    refused(
        drill.plain(
            "backup",
            "restore",
            "--to-time",
            t.isoformat(),
            "--target-dir",
            str(target),
            "--start",
            "--port",
            str(drill.cluster.port),
        ),
        f"port {drill.cluster.port} is in use",
    )
    assert not target.exists()


def test_restore_without_start_leaves_a_copy_ready_to_recover(drill: Drill) -> None:
    t = drill.facts.get("t")
    if not isinstance(t, datetime):
        pytest.fail("the drill did not run")
    target = drill.home / "not-started"
    result = drill.plain("backup", "restore", "--to-time", t.isoformat(), "--target-dir", str(target))
    ok(result)
    assert "pg_ctl start -D" in result.stderr
    assert (target / "PG_VERSION").exists()
    assert (target / "recovery.signal").exists(), "it recovers to T when started"
    auto = (target / "postgresql.auto.conf").read_text()
    assert "archive_mode = 'off'" in auto
    assert "recovery_target_time" in auto
    assert not (target / "postmaster.pid").exists(), "not started"
    shutil.rmtree(target)


def test_refusals_without_a_set_up_stanza_or_pgbackrest(tmp_path: Path, drill: Drill) -> None:
    fresh = {"LIVEPANTY_HOME": str(tmp_path / "home"), backup.CONFIG_ENV: ""}

    def run(*args: str, **env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**fresh, **env})

    # Never started: nothing to back up, and nothing is started by asking.
    refused(run("backup", "list"), "backups are not set up")
    refused(run("backup", "run"), "backups are not set up")
    refused(
        run("backup", "restore", "--to-time", "2026-01-01T00:00:00Z", "--target-dir", str(tmp_path / "x")),
        "backups are not set up",
    )
    assert not (tmp_path / "home" / "state.json").exists()
    # A DBA's config that set-up never wrote.
    refused(
        run("backup", "list", "--config", str(tmp_path / "nowhere" / "pgbackrest.conf")),
        "run `livepanty-db backup setup` first",
    )
    # pgbackrest missing: set-up says how to install it, before starting anything.
    missing = str(tmp_path / "no-pgbackrest")
    refused(run("backup", "setup", LIVEPANTY_PGBACKREST=missing), "pgbackrest is not installed")
    assert not (tmp_path / "home" / "state.json").exists()
    refused(
        run("backup", "list", LIVEPANTY_PGBACKREST=missing, **{backup.CONFIG_ENV: str(drill.config)}),
        "apt-get install pgbackrest",
    )
    # --pg-data without --config is a usage error.
    usage = run("backup", "setup", "--pg-data", str(tmp_path))
    assert usage.exit_code == 2
    assert "--pg-data needs --config" in usage.stderr
    usage = run("backup", "setup", "--config", str(tmp_path / "x.conf"))
    assert usage.exit_code == 2
    assert "--config is for a DBA's own server" in usage.stderr


def test_choose_backup_takes_the_latest_that_ended_by_the_time() -> None:
    start = datetime.fromisoformat("2026-12-01T00:00:00+00:00")

    def info(label: str, hours: int, error: bool = False) -> backup.BackupInfo:
        return backup.BackupInfo(
            label,
            "full",
            start + timedelta(hours=hours - 1),
            start + timedelta(hours=hours),
            1,
            1,
            None,
            None,
            None,
            error,
        )

    backups = [info("a", 1), info("b", 5), info("c", 9, error=True)]
    assert backup.choose_backup(backups, start + timedelta(hours=4)).label == "a"
    assert backup.choose_backup(backups, start + timedelta(hours=5)).label == "b"
    assert backup.choose_backup(backups, start + timedelta(hours=10)).label == "b", "never a backup in error"
    with pytest.raises(backup.BackupError, match="before the end of the first backup"):
        backup.choose_backup(backups, start)
    with pytest.raises(backup.BackupError, match="no backup yet"):
        backup.choose_backup([], start)


def test_setup_for_a_dbas_own_server(drill: Drill) -> None:
    """Last: the drill's cluster stands in for a DBA's own server (--pg-data, --pg-port, --pg-socket-path,
    --config, --repo-path, their own --key-file); its archive_command now feeds this second stanza."""
    cluster_dir = drill.cluster.cluster_dir
    assert cluster_dir is not None
    dba = drill.home / "dba"
    dba.mkdir()
    dba.chmod(0o755)
    key = dba / "my.key"
    key.write_text("a DBA's own long passphrase, kept by them\n")
    key.chmod(0o644)
    if os.geteuid() == 0:
        shutil.chown(key, "postgres", "postgres")
    config = dba / "etc" / "pgbackrest.conf"
    args = [
        "backup", "setup", "--stanza", "dbamain", "--pg-data", str(drill.cluster.data_dir),
        "--pg-port", str(drill.cluster.port), "--pg-socket-path", str(drill.cluster.socket_dir),
        "--config", str(config), "--repo-path", str(dba / "repo"), "--key-file", str(key),
        "--log-path", str(dba / "log"), "--lock-path", str(dba / "lock"),
        "--dsn", drill.cluster.url("postgres"),
    ]  # fmt: skip
    env = {**drill.env, backup.CONFIG_ENV: ""}
    refused(CliRunner().invoke(main, args, env=env), "is readable by others")
    assert not config.exists(), "a refused set-up writes nothing"
    key.chmod(0o600)
    ok(CliRunner().invoke(main, args, env=env))
    assert key.read_text() not in config.read_text()
    settings = backup.BackupSettings.load(config)
    assert (settings.stanza, settings.key_file, settings.embedded) == ("dbamain", str(key), False)

    def json_of(*command: str) -> list[dict]:
        result = CliRunner().invoke(main, ["--format", "json", *command, "--config", str(config)], env=env)
        return json.loads(ok(result).stdout)

    # Set-up again with another key: the repository's key is checked first; nothing is changed.
    other = dba / "other.key"
    other.write_text("another passphrase that never made this repository\n")
    other.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(other, "postgres", "postgres")
    config_text = config.read_text()
    with psycopg.connect(drill.cluster.url("postgres")) as conn:
        archiving = conn.execute("SHOW archive_command").fetchone()[0]
    again = [*args[: args.index("--key-file") + 1], str(other), *args[args.index("--key-file") + 2 :]]
    refused(CliRunner().invoke(main, again, env=env), "pgbackrest stanza-create failed")
    assert config.read_text() == config_text
    assert backup.BackupSettings.load(config).key_file == str(key)
    with psycopg.connect(drill.cluster.url("postgres")) as conn:
        assert conn.execute("SHOW archive_command").fetchone()[0] == archiving
    ok(CliRunner().invoke(main, ["backup", "check", "--config", str(config)], env=env))

    made = json_of("backup", "run")
    listed = json_of("backup", "list")
    assert [b["label"] for b in listed] == [made[0]["label"]]
    assert made[0]["type"] == "full", "the first backup of a stanza is a full one"


def test_a_dbas_server_is_never_restarted_by_setup(tmp_path: Path) -> None:
    """archive_mode off on a DBA's own server: setup says to restart and does not; after the DBA's restart
    `backup check` and a backup work."""
    home = Path(tempfile.mkdtemp(prefix="lp-bk-dba-"))
    home.chmod(0o755)
    server = Cluster(home, server_options=("fsync=off",))
    try:
        server.start()
        pid = server.status().pid
        config = home / "etc" / "pgbackrest.conf"
        env = {"LIVEPANTY_HOME": str(tmp_path / "unused"), backup.CONFIG_ENV: ""}
        args = [
            "--dsn", server.url("postgres"), "backup", "setup", "--pg-data", str(server.data_dir),
            "--pg-port", str(server.port), "--pg-socket-path", str(server.socket_dir),
            "--config", str(config), "--repo-path", str(home / "repo"),
            "--log-path", str(home / "log"), "--lock-path", str(home / "lock"), "--retention-full", "1",
        ]  # fmt: skip
        result = ok(CliRunner().invoke(main, args, env=env))
        assert "archive_mode (or wal_level) needs a server restart" in result.stderr
        assert server.status().pid == pid, "not restarted"
        with psycopg.connect(server.url("postgres")) as conn:
            assert conn.execute("SHOW archive_mode").fetchone()[0] == "off"
        refused(
            CliRunner().invoke(main, ["backup", "check", "--config", str(config)], env=env), "check failed"
        )
        server.stop()
        server.start()  # the DBA's restart
        ok(CliRunner().invoke(main, ["backup", "check", "--config", str(config)], env=env))

        def json_of(*command: str) -> list[dict]:
            result = CliRunner().invoke(
                main, ["--format", "json", *command, "--config", str(config)], env=env
            )
            return json.loads(ok(result).stdout)

        first = json_of("backup", "run")
        assert first[0]["type"] == "full"
        # Retention (--retention-full 1): the next full backup expires the first one.
        second = json_of("backup", "run")
        assert [b["label"] for b in json_of("backup", "list")] == [second[0]["label"]]
        assert not (tmp_path / "unused").exists(), "the embedded cluster was never involved"
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
