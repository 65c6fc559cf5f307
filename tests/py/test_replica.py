"""Read routing to a real streaming replica on loopback (livepanty_db.replica, Client(replica=...)).

One primary and its replica for the module: an embedded cluster of its own (made with ``Cluster`` in a
temporary directory, migrated), with the replica made by ``LocalReplica.start()`` (pg_basebackup -R).
Whether a read was served by the replica is proven by data: with replay paused on the replica, a row
committed on the primary is invisible there, so a read that does not see it came from the replica and one
that sees it from the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from livepanty_db import client_sync, migrate, sql
from livepanty_db._client_common import READ_ONLY_CALLS
from livepanty_db.cli import main
from livepanty_db.client import AsyncClient, Client
from livepanty_db.errors import LivepantyError
from livepanty_db.local import Cluster, free_port
from livepanty_db.models import TipRequest
from livepanty_db.replica import LocalReplica

FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
PASSWORD = "tulip garden 9"

pytestmark = pytest.mark.skipif(
    shutil.which("runuser") is None, reason="needs the PostgreSQL server binaries and runuser"
)


@dataclass
class Pair:
    home: Path
    primary: str
    replica: str
    local_replica: LocalReplica


def wait_caught_up(pair: Pair, timeout: float = 30.0) -> None:
    """Wait until the replica has replayed everything the primary wrote (replay must not be paused)."""
    with psycopg.connect(pair.primary, autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(pair.replica, autocommit=True) as replica:
        while True:
            done = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]
            if done:
                return
            if time.monotonic() > deadline:
                raise AssertionError("the replica did not catch up")
            time.sleep(0.05)


@contextlib.contextmanager
def replay_paused(pair: Pair) -> Iterator[None]:
    with psycopg.connect(pair.replica, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    base = Path(tempfile.mkdtemp(prefix="livepanty-replica-"))
    base.chmod(0o755)
    cluster = Cluster(base, server_options=FAST_SETTINGS)
    local_replica = LocalReplica(cluster)
    try:
        cluster.start()
        primary = cluster.url()
        migrate.apply(primary)
        with psycopg.connect(primary, autocommit=True) as conn:
            conn.execute("UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'")
        local_replica.start()
        result = Pair(base, primary, local_replica.url(), local_replica)
        wait_caught_up(result)
        yield result
    finally:
        with contextlib.suppress(Exception):
            local_replica.stop()
        with contextlib.suppress(Exception):
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def register(client: Client, role: str = "viewer"):
    name = "u" + uuid.uuid4().hex[:10]
    return client.register_user(
        email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01", role=role
    )


def seen(client: Client, user) -> bool:
    """Whether ``api.user_summary`` (a routed read-only call) shows the user (a superuser sees every row)."""
    return any(row.id == user.id for row in client.user_summary())


def test_the_replica_is_a_replica_and_status_measures_its_lag(pair):
    status = pair.local_replica.status()
    assert status.running
    assert status.in_recovery
    assert status.url == pair.replica
    with psycopg.connect(pair.replica, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    with replay_paused(pair):
        with Client(pair.primary) as writer:
            register(writer)
        behind = pair.local_replica.status()
        assert behind.lag_bytes > 0
        assert behind.lag_seconds > 0
    # Caught up: 0 bytes behind (polled: background WAL, e.g. autovacuum, may be in flight at any moment).
    deadline = time.monotonic() + 30
    while pair.local_replica.status().lag_bytes != 0:
        assert time.monotonic() < deadline, pair.local_replica.status()
        time.sleep(0.1)


def test_a_read_only_call_is_served_by_the_replica(pair):
    with Client(pair.primary) as writer:
        user = register(writer)
        wait_caught_up(pair)
        with replay_paused(pair):
            newer = register(writer)
            with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client:
                # A user the replica has not replayed yet: absent there, present on the primary.
                assert not seen(client, newer)
                assert seen(client, user)
                assert client.replicas[0].served == 2
                assert seen(writer, newer)
                # A call that is not read-only goes to the primary (a replica would refuse it).
                register(client)
                assert client.replicas[0].served == 2


def test_a_replica_that_lags_more_than_the_maximum_is_skipped(pair):
    with Client(pair.primary) as writer, replay_paused(pair):
        newer = register(writer)
        time.sleep(0.3)
        with Client(pair.primary, replica=pair.replica, max_replica_lag=0.2) as client:
            assert seen(client, newer)  # the primary answered
            assert client.replicas[0].served == 0
            assert client.replicas[0].lag_bytes > 0
            assert client.replicas[0].lag_seconds > 0.2
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=0.2) as client:
        assert seen(client, newer)
        assert client.replicas[0].served == 1  # caught up: within the maximum again


def test_a_replica_nobody_listens_on_is_skipped_without_waiting(pair):
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/livepanty"
    with Client(pair.primary) as writer:
        user = register(writer)
    wait_caught_up(pair)
    with Client(pair.primary, replica=[nowhere, pair.replica], max_replica_lag=3600) as client:
        started = time.monotonic()
        for _ in range(4):
            assert seen(client, user)
        elapsed = time.monotonic() - started
        down, up = client.replicas
        assert down.served == 0
        assert down.down_until > time.monotonic()  # left alone for a while, not retried on every call
        assert up.served == 4  # every read went to the replica that is up
        # No pool timeout (30 s) was waited: a refused connection fails at once.
        assert elapsed < 10, elapsed


def test_a_stopped_replica_falls_back_to_the_primary_then_is_used_again(pair):
    with Client(pair.primary) as writer:
        user = register(writer)
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600, replica_check_interval=0) as client:
        assert seen(client, user)
        assert client.replicas[0].served == 1
        pair.local_replica.stop()
        try:
            assert seen(client, user)  # served by the primary
            assert client.replicas[0].served == 1
            assert client.replicas[0].down_until > time.monotonic()
        finally:
            pair.local_replica.start()
        wait_caught_up(pair)
        client.replicas[0].down_until = float("-inf")  # skip the retry delay of the test's clock
        client.replicas[0].checked_at = float("-inf")
        assert seen(client, user)
        assert client.replicas[0].served == 2


def test_read_your_writes_sends_the_writers_reads_to_the_primary_until_replayed(pair):
    with Client(pair.primary) as setup:
        user = register(setup)
        other = register(setup)
        token = setup.login(user.username, PASSWORD).token
        other_token = setup.login(other.username, PASSWORD).token
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client:
        with client.session(token, on_replica=True) as tx:  # authenticate may refresh last_seen_at: primary
            tx.get_preferences()
        with client.session(token, on_replica=True) as tx:
            assert tx.get_preferences() is not None
        assert client.replicas[0].served >= 1
        with replay_paused(pair):
            with client.session(token) as tx:
                tx.update_preferences(language="de")
            served = client.replicas[0].served
            with client.session(token, on_replica=True) as tx:
                assert tx.get_preferences().language == "de"  # the primary: the replica has not replayed it
            assert client.replicas[0].served == served + 1  # tried the replica, then went to the primary
            with client.session(other_token, on_replica=True) as tx:  # another user: the replica serves
                tx.get_preferences()
            assert client.replicas[0].served == served + 2
        wait_caught_up(pair)
        client.replicas[0].checked_at = float("-inf")
        with client.session(token, on_replica=True) as tx:  # replayed past the write: the replica again
            assert tx.get_preferences().language == "de"
            assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is True


def test_a_session_the_replica_does_not_know_yet_is_authenticated_on_the_primary(pair):
    """A login committed on the primary but not yet replayed: the replica answers LP023 for the new token (and
    LP022 for a user whose sanction the primary has lifted since). The replica cannot refuse what it has not
    seen: the block goes to the primary, which decides."""
    with Client(pair.primary) as setup:
        user = register(setup)
        banned = register(setup)
        banned_token = setup.login(banned.username, PASSWORD).token
    with psycopg.connect(pair.primary, autocommit=True) as dba:
        dba.execute(
            "INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (%s, 'ban', 'test')",
            [banned.id],
        )
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client, replay_paused(pair):
        token = client.login(user.username, PASSWORD).token  # not on the replica yet
        with client.session(token, on_replica=True) as tx:
            assert tx.authenticated.user_id == user.id
            assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is False
        with psycopg.connect(pair.primary, autocommit=True) as dba:
            dba.execute(
                "UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'appeal'"
                " WHERE user_id = %s",
                [banned.id],
            )
        with client.session(banned_token, on_replica=True) as tx:  # the ban is lifted on the primary
            assert tx.authenticated.user_id == banned.id
            assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is False
        # a token the primary refuses too: its LP023
        with pytest.raises(LivepantyError) as refused, client.session("A" * 43, on_replica=True):
            pass
        assert refused.value.sqlstate == "LP023"


def test_tips_of_a_batch_are_their_senders_writes(pair):
    """A tip through ``tip_many`` (the batcher's call) is its sender's write: their next read waits for the
    replica to replay it, as after a tip in their own session; a sender whose tip was refused reads the
    replica."""
    with Client(pair.primary) as setup:
        viewer = register(setup)
        broke = register(setup)
        performer = register(setup, "performer")
        token = setup.login(viewer.username, PASSWORD).token
        broke_token = setup.login(broke.username, PASSWORD).token
    with psycopg.connect(pair.primary) as conn:
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(), ARRAY["
            " ROW((SELECT id FROM lp.wallets WHERE user_id = %(u)s), 1000::bigint, 'purchase', 0, false)"
            "::lp.posting,"
            " ROW(lp.system_wallet('issuance'), -1000::bigint, 'purchase', 0, false)::lp.posting])",
            {"u": viewer.id},
        )
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
            " now() + interval '1 year')",
            [performer.id],
        )
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client:
        for t in (token, broke_token):
            with client.session(t, on_replica=True) as tx:  # authenticate may refresh last_seen_at: primary
                tx.get_wallet()
        with replay_paused(pair):
            outcomes = client.tip_many(
                [TipRequest(t, performer.id, 100, key) for t, key in ((token, "rw-1"), (broke_token, "rw-2"))]
            )
            assert [o.error_code for o in outcomes] == [None, "LP100"]
            served = client.replicas[0].served
            with client.session(token, on_replica=True) as tx:
                assert tx.get_wallet().balance == 900  # the primary: the replica has not replayed the tip
            with client.session(broke_token, on_replica=True) as tx:  # nothing written for them: the replica
                assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is True
            assert client.replicas[0].served == served + 2


def test_without_read_your_writes_the_writer_reads_the_replica(pair):
    with Client(pair.primary) as setup:
        user = register(setup)
        token = setup.login(user.username, PASSWORD).token
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600, read_your_writes=False) as client:
        with client.session(token, on_replica=True):
            pass
        with replay_paused(pair):
            with client.session(token) as tx:
                tx.update_preferences(language="fr")
            with client.session(token, on_replica=True) as tx:
                assert tx.get_preferences().language != "fr"  # stale, as asked
                assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is True


def test_explicit_transactions_stay_on_the_primary_unless_read_only_on_replica(pair):
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client:
        with client.transaction() as tx:
            assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is False
        with client.transaction(read_only=True) as tx:
            assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is False
        with client.transaction(read_only=True, on_replica=True) as tx:
            assert tx.fetch("SELECT pg_is_in_recovery()")[0][0] is True
        with pytest.raises(ValueError, match="read_only"), client.transaction(on_replica=True):
            pass


def test_the_async_client_routes_too(pair):
    async def scenario() -> tuple[bool, int]:
        async with AsyncClient(pair.primary, replica=[pair.replica], max_replica_lag=3600) as client:
            async with client.transaction(read_only=True, on_replica=True) as tx:
                in_recovery = (await tx.fetch("SELECT pg_is_in_recovery()"))[0][0]
            await client.user_summary()
            return in_recovery, client.replicas[0].served

    assert asyncio.run(scenario()) == (True, 2)


def test_every_routed_call_is_backed_by_a_stable_function_or_a_view(pair):
    """A call in READ_ONLY_CALLS whose function could write would fail on a replica."""
    with psycopg.connect(pair.primary, autocommit=True) as conn:
        for name in sorted(READ_ONLY_CALLS):
            statement = getattr(sql, name.upper())
            kind = conn.execute(
                "SELECT coalesce((SELECT string_agg(DISTINCT p.provolatile::text, '') FROM pg_proc AS p"
                "  JOIN pg_namespace AS n ON n.oid = p.pronamespace"
                "  WHERE n.nspname = 'api' AND p.proname = %s),"
                " (SELECT 'view' FROM pg_views WHERE schemaname = 'api' AND viewname = %s))",
                [name, name],
            ).fetchone()[0]
            assert kind in ("s", "i", "view"), (name, kind, statement)


def test_cli_replica_commands(pair, monkeypatch):
    monkeypatch.setenv("LIVEPANTY_HOME", str(pair.home))
    runner = CliRunner()
    result = runner.invoke(main, ["--format", "json", "local", "replica", "status"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["running"] is True
    assert status["in_recovery"] is True
    assert status["url"] == pair.replica
    assert status["lag_bytes"] is not None
    overview = json.loads(runner.invoke(main, ["--format", "json", "local", "status"]).output)
    assert overview["replica_running"] is True
    assert overview["replica_url"] == pair.replica
    try:
        result = runner.invoke(main, ["--format", "json", "local", "replica", "stop"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["running"] is False
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pair.replica, connect_timeout=2).close()
    finally:
        result = runner.invoke(main, ["--format", "json", "local", "replica", "start"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["running"] is True
    wait_caught_up(pair)


def test_read_your_writes_memory_is_bounded_and_stays_safe_past_the_bound(pair, monkeypatch):
    monkeypatch.setattr(client_sync, "MAX_TRACKED_WRITERS", 1)
    with Client(pair.primary) as setup:
        first, second, bystander = register(setup), register(setup), register(setup)
        tokens = [setup.login(user.username, PASSWORD).token for user in (first, second)]
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client, replay_paused(pair):
        client.public_profile(bystander.id)
        assert client.replicas[0].served == 1  # nobody wrote: the replica
        with client.session(tokens[0]) as tx:
            tx.update_preferences(theme="dark")
        client.public_profile(bystander.id)
        assert client.replicas[0].served == 2  # one writer tracked, and it is not the bystander
        with client.session(tokens[1]) as tx:
            tx.update_preferences(theme="dark")
        # Two writers > 1: forgotten, so no user's reads may go to a replica that lacks the newest write.
        client.public_profile(bystander.id)
        assert client.replicas[0].served == 2
        client.list_erasures()  # a read about no user is not held back
        assert client.replicas[0].served == 3


def test_status_before_any_start_and_destroy_stops_and_deletes_the_replica():
    base = Path(tempfile.mkdtemp(prefix="livepanty-replica-destroy-"))
    base.chmod(0o755)
    cluster = Cluster(base, server_options=FAST_SETTINGS)
    replica = LocalReplica(cluster)
    try:
        never = replica.status()
        assert not never.running
        assert never.url is None
        started = replica.start()
        assert started.running
        with psycopg.connect(started.url, autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        replica_dir = replica.directory
        cluster.destroy()
        assert not replica_dir.exists()
        assert not (base / "replica.json").exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(started.url, connect_timeout=2).close()
    finally:
        with contextlib.suppress(Exception):
            replica.stop()
        with contextlib.suppress(Exception):
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def _waiting_backend(dsn: str, timeout: float = 30.0) -> int:
    """The pid of the one client backend of the server at ``dsn`` that waits on a lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchall()
            if rows:
                assert len(rows) == 1, rows
                return rows[0][0]
            assert time.monotonic() < deadline, "no call waits on the lock"
            time.sleep(0.05)


def test_a_read_whose_replica_connection_is_lost_is_made_again_on_the_primary(pair, monkeypatch):
    """A routed read waits on the replica (which replayed an ACCESS EXCLUSIVE lock on lp.users and, paused,
    keeps it); its backend is terminated there. The caller gets the primary's answer, and the replica is left
    alone for the back-off (shortened to 2 s here), then used again."""
    monkeypatch.setattr(client_sync, "REPLICA_RETRY_AFTER", 2.0)
    with Client(pair.primary) as writer:
        register(writer)
    wait_caught_up(pair)
    with (
        Client(pair.primary) as writer,
        Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client,
        ThreadPoolExecutor(1) as executor,
    ):
        with replay_paused(pair):
            with psycopg.connect(pair.primary) as locker:
                locker.execute("LOCK TABLE lp.users IN ACCESS EXCLUSIVE MODE")
                with psycopg.connect(pair.replica, autocommit=True) as replica:
                    replica.execute("SELECT pg_wal_replay_resume()")
                    wait_caught_up(pair)  # the replica holds the lock now
                    replica.execute("SELECT pg_wal_replay_pause()")  # ... and keeps it
            newer = register(writer)  # on the primary only (the lock is gone there)
            call = executor.submit(seen, client, newer)
            pid = _waiting_backend(pair.replica)
            with psycopg.connect(pair.replica, autocommit=True) as replica:
                replica.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert call.result(timeout=60) is True  # the primary's answer: the replica lacks the user
            state = client.replicas[0]
            assert (state.served, state.lost_connections) == (1, 1)
            assert state.down_until > time.monotonic()
            # Within the back-off the next reads go to the primary (the paused replica would not see newer).
            assert seen(client, newer)
            assert state.served == 1
        wait_caught_up(pair)
        while state.down_until > time.monotonic():
            time.sleep(0.1)
        assert seen(client, newer)
        assert (state.served, state.lost_connections) == (2, 1)  # the back-off is over: the replica again


def test_a_call_that_writes_is_not_made_again_when_its_connection_is_lost(pair):
    """Only routed reads are retried: a write whose connection is terminated fails, and is not repeated."""
    name = "u" + uuid.uuid4().hex[:10]
    with (
        Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client,
        ThreadPoolExecutor(1) as executor,
    ):
        with psycopg.connect(pair.primary) as locker:
            locker.execute("LOCK TABLE lp.users IN ACCESS EXCLUSIVE MODE")
            call = executor.submit(
                client.register_user,
                email=f"{name}@example.com",
                username=name,
                password=PASSWORD,
                date_of_birth="1990-01-01",
            )
            pid = _waiting_backend(pair.primary)
            locker.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(LivepantyError):
            call.result(timeout=60)
        assert client.replicas[0].lost_connections == 0
    with psycopg.connect(pair.primary) as conn:
        assert conn.execute("SELECT count(*) FROM lp.users WHERE username = %s", [name]).fetchone()[0] == 0
    wait_caught_up(pair)


def test_an_sql_error_on_the_replica_is_raised_and_the_replica_stays_in_use(pair):
    """An error the replica's SQL raises (here an argument out of range) is the caller's: not retried, and the
    replica is not marked down."""
    with Client(pair.primary) as writer:
        user = register(writer)
    wait_caught_up(pair)
    with Client(pair.primary, replica=pair.replica, max_replica_lag=3600) as client:
        with pytest.raises(LivepantyError) as raised:
            client.list_users(limit=0)
        assert raised.value.sqlstate.startswith("LP"), raised.value
        state = client.replicas[0]
        assert (state.served, state.lost_connections) == (1, 0)
        assert state.down_until == float("-inf")
        assert seen(client, user)
        assert state.served == 2
