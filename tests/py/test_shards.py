"""A sharded installation on loopback (livepanty_db.shards; docs/scale-out.md): one router and two shard
clusters for the module, made with ``LocalTopology`` in a temporary home, used through the unchanged Python
client.

* Registration and login through the directory (placement, the e-mail only as a hash on the router), routed
  reads, same-shard and cross-shard tips (replays, refusals that change nothing), the relay (exactly once,
  also after a worker died between applying and marking), the global reconciliation.
* Failure: a shard that is down makes the calls for its users fail with LP200 at once, the relay resumes when
  it returns; functions that are not routed raise LP202; a call that reaches the wrong shard is refused.
* The application's login cannot reach the directory, the proxies or the shard functions, nor act as a user.
* A stress run: cross-shard tips (and holds captured across shards) from many threads, relay workers (the
  CLI) killed at random, a shard restarted mid-run (and, in one run, the other cut off the network for 12 s:
  nftables, root only); at the end every shard's ledger is clean, the
  reconciliation is at zero, and every tip and capture is credited exactly once against a model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from livepanty_db import shards
from livepanty_db.batcher import TipBatcher
from livepanty_db.cli import main
from livepanty_db.client import Client
from livepanty_db.errors import (
    CrossShardUnsupported,
    EmailTaken,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidCredentials,
    InvalidSession,
    KycReferenceTaken,
    LivepantyError,
    NotRouted,
    PayeeNotVerified,
    RecipientSanctioned,
    ShardUnavailable,
    StreamNotLive,
    UsernameTaken,
    WrongShard,
)
from livepanty_db.models import TipRequest
from livepanty_db.paths import db_root

FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
PASSWORD = "tulip garden 9"

pytestmark = pytest.mark.skipif(
    shutil.which("runuser") is None
    or not Path("/usr/share/postgresql/15/extension/plproxy.control").exists(),
    reason="needs the PostgreSQL server binaries, runuser and PL/Proxy (postgresql-15-plproxy)",
)


@dataclass
class Sharded:
    home: Path
    topology: shards.LocalTopology
    router: str
    shards: list[str]  # superuser DSNs, shard i at index i

    def client(self) -> Client:
        return Client(self.router, role="livepanty_app")


@contextlib.contextmanager
def started_topology(shard_count: int) -> Iterator[Sharded]:
    base = Path(tempfile.mkdtemp(prefix="livepanty-shards-"))
    base.chmod(0o755)
    topology = shards.LocalTopology(base, server_options=FAST_SETTINGS)
    try:
        topology.start(shard_count)
        urls = topology.shard_urls()
        for url in urls:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'")
        yield Sharded(base, topology, topology.router.url(), urls)
    finally:
        with contextlib.suppress(Exception):
            topology.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def sharded() -> Iterator[Sharded]:
    with started_topology(2) as topology:
        yield topology


def register(s: Sharded, role: str = "viewer", *, shard: int | None = None, prefix: str = "u"):
    """A new user through the router; with ``shard``, a username that the router places there."""
    with s.client() as client:
        while True:
            name = prefix + uuid.uuid4().hex[:10]
            if shard is None or placed(s, name) == shard:
                break
        return client.register_user(
            email=f"{name}@example.com",
            username=name,
            password=PASSWORD,
            date_of_birth="1990-01-01",
            role=role,
        )


def moderator_on(s: Sharded, shard: int):
    """A moderator living on ``shard`` (registered through the router, the role set on their shard)."""
    moderator = register(s, shard=shard, prefix="m")
    with psycopg.connect(s.shards[shard]) as conn:
        conn.execute("UPDATE lp.users SET role = 'moderator' WHERE id = %s", [moderator.id])
    return moderator


def created_admin(s: Sharded, *, shard: int):
    """An admin made by the back office through the router (api.create_admin), placed on ``shard``."""
    name = "boss" + uuid.uuid4().hex[:8]
    while placed(s, name) != shard:
        name = "boss" + uuid.uuid4().hex[:8]
    with Client(s.router) as service:
        return service.create_admin(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1980-01-01"
        )


def placed(s: Sharded, username: str) -> int:
    with psycopg.connect(s.router) as conn:
        return conn.execute("SELECT router.place(%s)", [username]).fetchone()[0]


def shard_of(s: Sharded, user_id) -> int:
    with psycopg.connect(s.router) as conn:
        return conn.execute("SELECT shard FROM router.users WHERE user_id = %s", [user_id]).fetchone()[0]


def fund(s: Sharded, user_id, tokens: int) -> None:
    """Tokens bought (a balanced purchase from the shard's issuance wallet), written on the user's shard."""
    with psycopg.connect(s.shards[shard_of(s, user_id)]) as conn:
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(), ARRAY["
            " ROW((SELECT id FROM lp.wallets WHERE user_id = %(u)s), %(t)s::bigint, 'purchase', 0, false)"
            "::lp.posting,"
            " ROW(lp.system_wallet('issuance'), -%(t)s::bigint, 'purchase', 0, false)::lp.posting])",
            {"u": user_id, "t": tokens},
        )


def verified_performer(s: Sharded, shard: int):
    user = register(s, "performer", shard=shard, prefix="p")
    with psycopg.connect(s.shards[shard]) as conn:
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
            " now() + interval '1 year')",
            [user.id],
        )
    return user


def total(s: Sharded, user_id) -> int:
    """The user's wallet total (main balance and shards), read on their shard."""
    with psycopg.connect(s.shards[shard_of(s, user_id)]) as conn:
        return conn.execute(
            "SELECT w.balance"
            " + coalesce((SELECT sum(balance) FROM lp.wallet_shards WHERE wallet_id = w.id), 0)"
            " FROM lp.wallets AS w WHERE w.user_id = %s",
            [user_id],
        ).fetchone()[0]


def token_for(s: Sharded, user) -> str:
    with s.client() as client:
        return client.login(user.username, PASSWORD).token


def go_live(tx, title: str):
    """A stream of the acting performer, scheduled, consented to and started (returned as scheduled)."""
    stream = tx.schedule_stream(title, category="general")
    tx.consent_to_stream(stream.id, ip_address="203.0.113.9")
    tx.start_stream(stream.id)
    return stream


def fee(amount: int) -> int:
    return amount * 2000 // 10000  # tips.fee_bps default


@contextlib.contextmanager
def shortfall_policy(s: Sharded, shard: int, value: str) -> Iterator[None]:
    """``refunds.shortfall_policy`` set to ``value`` on ``shard`` while the block runs, then put back as it
    was (also when the block fails): the module's shards are shared by every test."""
    key = "refunds.shortfall_policy"
    with psycopg.connect(s.shards[shard]) as conn:
        before = conn.execute("SELECT value FROM lp.settings WHERE key = %s", [key]).fetchone()[0]
        assert conn.execute(
            "UPDATE lp.settings SET value = %s WHERE key = %s RETURNING 1", [Jsonb(value), key]
        ).fetchone()
    try:
        yield
    finally:
        with psycopg.connect(s.shards[shard]) as conn:
            conn.execute("UPDATE lp.settings SET value = %s WHERE key = %s", [Jsonb(before), key])


NFT = shutil.which("nft") or "/usr/sbin/nft"
SS = shutil.which("ss") or "/usr/bin/ss"


def _can_cut_the_network() -> bool:
    """Whether this process may add an nftables table (root with CAP_NET_ADMIN, nf_tables in the kernel) and
    has ``ss``: tried once, with a table added and deleted at once."""
    if os.geteuid() != 0 or not os.access(NFT, os.X_OK) or not os.access(SS, os.X_OK):
        return False
    table = f"livepanty_probe_{os.getpid()}"
    added = subprocess.run([NFT, "add", "table", "inet", table], capture_output=True)
    if added.returncode != 0:
        return False
    subprocess.run([NFT, "delete", "table", "inet", table], capture_output=True)
    return True


needs_packet_filter = pytest.mark.skipif(
    not _can_cut_the_network(),
    reason="cutting the network needs nftables (`nft`, installed by `make install-dev`), `ss`, and root "
    "with CAP_NET_ADMIN",
)


@contextlib.contextmanager
def network_cut(port: int) -> Iterator[Any]:
    """Drop every TCP packet to and from ``port`` on the loopback interface (an nftables table of its own): a
    shard cut off by the network, which neither answers nor refuses, and whose connections see no FIN and no
    RST. Yields ``join()``, which ends the cut early; it always ends when the block does (a table left by a
    run killed meanwhile is replaced). It starts half a second late, once every segment sent so far is
    acknowledged: an acknowledgement lost to the cut would have its peer retransmit, and that retransmission,
    reaching a socket gone meanwhile once the cut ends, would reset the connection, a kinder cut than most."""
    time.sleep(0.5)
    table = f"livepanty_cut_{port}"
    subprocess.run([NFT, "delete", "table", "inet", table], capture_output=True)  # (a leftover, if any)
    rules = (
        f"table inet {table} {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n"
        f'    oif "lo" tcp dport {port} drop\n    oif "lo" tcp sport {port} drop\n  }}\n}}\n'
    )
    subprocess.run([NFT, "-f", "-"], input=rules, text=True, check=True, capture_output=True)
    joined = False

    def join() -> None:
        nonlocal joined
        if not joined:
            subprocess.run([NFT, "delete", "table", "inet", table], check=True, capture_output=True)
            joined = True

    try:
        yield join
    finally:
        join()


def _forget_socket(local_port: int, port: int) -> None:
    """Destroy this machine's socket from ``local_port`` to ``port`` (``ss -K``) without a word reaching the
    peer under a cut: as if the cut outlasted TCP's retransmissions of its FIN, or the client's machine
    restarted. Skips the test when the kernel cannot destroy sockets (``ss`` then does nothing)."""
    pair = ["dst", "127.0.0.1", "dport", "=", f":{port}", "sport", "=", f":{local_port}"]
    subprocess.run([SS, "-K", *pair], check=True, capture_output=True)
    left = subprocess.run([SS, "-Htan", *pair], check=True, capture_output=True, text=True).stdout.strip()
    if left:
        pytest.skip(f"this kernel cannot destroy a socket (SOCK_DESTROY): {left}")


def _backends_of(dsn: str, since: datetime, usename: str | None = None) -> list[tuple[int, str]]:
    """The client backends on a shard that started before ``since`` (of ``usename``, or any but this one)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND pid <> pg_backend_pid() AND backend_start < %s AND (%s::text IS NULL OR usename = %s)",
            [since, usename, usename],
        ).fetchall()


# -- directory, login, routed calls -------------------------------------------------------------------------


def test_registration_places_users_and_the_directory_holds_no_address(sharded: Sharded) -> None:
    users = [register(sharded, shard=i % 2) for i in range(4)]
    for user in users:
        home = shard_of(sharded, user.id)
        assert home == placed(sharded, user.username)
        with psycopg.connect(sharded.shards[home]) as conn:
            assert conn.execute("SELECT count(*) FROM lp.users WHERE id = %s", [user.id]).fetchone()[0] == 1
        with psycopg.connect(sharded.shards[1 - home]) as conn:
            assert conn.execute("SELECT count(*) FROM lp.users WHERE id = %s", [user.id]).fetchone()[0] == 0
    with psycopg.connect(sharded.router) as conn:
        rows = conn.execute("SELECT row_to_json(u)::text FROM router.users AS u").fetchall()
        assert rows
        assert not any("@" in r[0] for r in rows)  # addresses only as SHA-256
        assert conn.execute("SELECT count(*) FROM lp.users").fetchone()[0] == 0  # the router holds no user


def test_no_address_reaches_any_table_of_the_router(sharded: Sharded) -> None:
    """ "The router never holds an e-mail address": after a registration, logins by address (right and wrong
    password) and reset requests for a known and an unknown address through the router, no text, citext or
    jsonb column of any table in any schema of the router's database holds either address, in any case."""
    user = register(sharded, shard=1)
    address = f"{user.username}@example.com"
    unknown = f"nobody{uuid.uuid4().hex[:8]}@example.com"
    with sharded.client() as client:
        client.login(address.upper(), PASSWORD)
        with pytest.raises(InvalidCredentials):
            client.login(address, "wrong password 123")
        client.request_password_reset(address)
        client.request_password_reset(unknown)
    found = []
    with psycopg.connect(sharded.router) as conn:
        columns = conn.execute(
            """
            SELECT format('%I.%I', n.nspname, c.relname), a.attname
              FROM pg_class AS c
              JOIN pg_namespace AS n ON n.oid = c.relnamespace
              JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg_toast%'
               AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'jsonb'::regtype, 'json'::regtype,
                                  (SELECT t.oid FROM pg_type AS t WHERE t.typname = 'citext' LIMIT 1))
            """
        ).fetchall()
        assert len(columns) > 10
        for table, column in columns:
            text = f'lower("{column}"::text)'
            hits = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {text} LIKE %s OR {text} LIKE %s",
                [f"%{address.lower()}%", f"%{unknown.lower()}%"],
            ).fetchone()[0]
            if hits:
                found.append(f"{table}.{column}")
    assert found == []


def test_taken_names_and_addresses_are_refused_across_shards(sharded: Sharded) -> None:
    first = register(sharded, shard=0)
    with sharded.client() as client:
        with pytest.raises(UsernameTaken):
            client.register_user(
                email="other@example.com",
                username=first.username.upper(),
                password=PASSWORD,
                date_of_birth="1990-01-01",
            )
        while placed(sharded, name := "u" + uuid.uuid4().hex[:10]) != 1:
            pass
        with pytest.raises(EmailTaken):  # the new name goes to shard 1, which never saw the address
            client.register_user(
                email=first.email.upper(), username=name, password=PASSWORD, date_of_birth="1990-01-01"
            )
    with psycopg.connect(sharded.shards[1]) as conn:
        assert conn.execute("SELECT count(*) FROM lp.users WHERE username = %s", [name]).fetchone()[0] == 0


def test_a_name_registered_twice_at_once_however_spaced_meets_on_one_shard(sharded: Sharded) -> None:
    """Two registrations of one name at the same moment, one with spaces around it (the shards trim a
    username): both are placed on one shard (router.place hashes the name as the shards store it), whose
    unique index refuses the second with LP016, and no second user of that name exists anywhere. Before, the
    spaced name was placed by another hash, registered on the other shard, and refused by the directory with
    LP015 (an address clash), leaving an orphan of the same name behind. A name the directory's own index
    refuses is LP016 too (router.directory_add)."""
    while True:  # a name the hash of the untrimmed name placed elsewhere than its spaced variant
        name = "z" + uuid.uuid4().hex[:10]
        with psycopg.connect(sharded.router) as conn:
            plain, spaced = conn.execute(
                "SELECT (hashtext(lower(%s)) & 2147483647) %% 2, (hashtext(lower(%s)) & 2147483647) %% 2",
                [name, f" {name}"],
            ).fetchone()
        if plain != spaced:
            break
    assert placed(sharded, f" {name} ") == placed(sharded, name)
    outcome: list[Any] = []

    def second() -> None:
        with sharded.client() as client:
            try:
                outcome.append(
                    client.register_user(
                        email=f"second-{name}@example.com",
                        username=f" {name}",
                        password=PASSWORD,
                        date_of_birth="1990-01-01",
                    )
                )
            except LivepantyError as error:
                outcome.append(error)

    with psycopg.connect(sharded.router) as first:  # its directory row uncommitted until the second has run
        first.execute("SET ROLE livepanty_app")
        first.execute(
            "SELECT api.register_user(%s, %s, %s, '1990-01-01')",
            [f"first-{name}@example.com", name, PASSWORD],
        )
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.5)
    thread.join()
    assert len(outcome) == 1
    assert isinstance(outcome[0], UsernameTaken), outcome
    holders = 0
    for dsn in sharded.shards:
        with psycopg.connect(dsn) as conn:
            holders += conn.execute("SELECT count(*) FROM lp.users WHERE username = %s", [name]).fetchone()[0]
    assert holders == 1
    with psycopg.connect(sharded.router) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(
            "SELECT router.directory_add(ROW(gen_random_uuid(), %s, %s, NULL, 'viewer', '1990-01-01', NULL,"
            " NULL, NULL, NULL, now(), NULL)::api.user_account, 1)",
            [f"third-{name}@example.com", name.upper()],
        )
    assert caught.value.sqlstate == "LP016"


def test_login_by_name_or_address_and_routed_reads(sharded: Sharded) -> None:
    user = register(sharded, shard=1)
    fund(sharded, user.id, 700)
    with sharded.client() as client:
        by_mail = client.login(user.email.upper(), PASSWORD)
        by_name = client.login(user.username, PASSWORD)
        assert by_mail.user_id == by_name.user_id == user.id
        with pytest.raises(InvalidCredentials):
            client.login(user.username, "wrong password 1")
        with pytest.raises(InvalidCredentials):
            client.login("nobody" + uuid.uuid4().hex[:8], PASSWORD)
        with client.session(by_name.token) as tx:
            wallet = tx.get_wallet()
            assert (wallet.user_id, wallet.balance) == (user.id, 700)
            assert {s.id for s in tx.list_sessions()} >= {by_mail.session_id, by_name.session_id}
    with psycopg.connect(sharded.shards[1]) as conn:  # the shard counted the failed login
        assert (
            conn.execute("SELECT failed_login_count FROM lp.users WHERE id = %s", [user.id]).fetchone()[0]
            == 1
        )


def test_logins_take_expired_sessions_out_of_the_router(sharded: Sharded) -> None:
    user = register(sharded, shard=0)
    with psycopg.connect(sharded.router) as conn:
        conn.execute(
            "INSERT INTO router.sessions (token_hash, user_id, shard, expires_at)"
            " SELECT sha256(gen_random_uuid()::text::bytea), %s, 0, now() - interval '2 hours'"
            " FROM generate_series(1, 3)",
            [user.id],
        )
        recent = conn.execute(  # expired only a minute ago: kept (a shard's clock may be behind)
            "INSERT INTO router.sessions (token_hash, user_id, shard, expires_at)"
            " VALUES (sha256('recent'::bytea), %s, 0, now() - interval '1 minute') RETURNING token_hash",
            [user.id],
        ).fetchone()[0]

    def expired() -> int:
        with psycopg.connect(sharded.router) as conn:
            return conn.execute(
                "SELECT count(*) FROM router.sessions WHERE expires_at < now() - interval '1 hour'"
            ).fetchone()[0]

    with sharded.client() as client:
        client.login(user.username, PASSWORD)
        assert expired() == 1
        client.login(user.username, PASSWORD)
        assert expired() == 0
    with psycopg.connect(sharded.router) as conn:
        assert conn.execute(
            "SELECT count(*) FROM router.sessions WHERE token_hash = %s", [recent]
        ).fetchone()[0]
        conn.execute("DELETE FROM router.sessions WHERE token_hash = %s", [recent])


def test_a_shards_error_reaches_the_client_in_its_own_words(sharded: Sharded) -> None:
    """A refusal raised on a shard comes through the router with its SQLSTATE, message, detail and hint as the
    single node words them: without PL/Proxy's prefixes, which name the shard's database."""
    viewer = register(sharded, shard=1)
    token = token_for(sharded, viewer)
    with pytest.raises(LivepantyError) as caught, sharded.client() as client, client.session(token) as tx:
        tx.list_users()
    error = caught.value
    assert error.sqlstate == "LP002"
    assert error.message == "permission denied for this platform role"
    assert error.detail == "acting role viewer; required one of moderator, admin"
    shard_db = psycopg.conninfo.conninfo_to_dict(sharded.shards[1])["dbname"]
    for text in (error.message, error.detail, error.hint or ""):
        assert "REMOTE" not in text
        assert "Remote" not in text
        assert shard_db not in text


def test_the_api_views_read_every_shard_and_each_user_once(sharded: Sharded) -> None:
    """On the router, api.user_summary and api.stream_summary are every shard's rows, read there as the caller
    (RLS as on one node): a user sees their own row from their own shard, not the stub another shard holds of
    them; an admin sees every user once, with their home row; streams of both shards are listed. The
    reporting views, not routed, are closed (42501), never silently empty."""
    host = verified_performer(sharded, 1)
    viewer = register(sharded, shard=0)
    fund(sharded, viewer.id, 500)
    name = "boss" + uuid.uuid4().hex[:8]
    with Client(sharded.router) as service:
        admin = service.create_admin(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1980-01-01"
        )
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "views " + host.username)
        with client.session(token_for(sharded, viewer)) as tx:
            tx.tip(host.id, 100, idempotency_key="views-1")  # the viewer's stub on shard 1 (tips received)
            own = tx.user_summary()
            streams = tx.stream_summary()
        with client.session(token_for(sharded, admin)) as tx:
            everyone = tx.user_summary()
    with psycopg.connect(sharded.shards[1]) as conn:
        stubs = conn.execute("SELECT user_id FROM lp.remote_users WHERE user_id = %s", [viewer.id]).fetchall()
    assert stubs == [(viewer.id,)]
    assert [(u.id, u.username, u.balance) for u in own] == [(viewer.id, viewer.username, 400)]
    assert stream.id in [s.id for s in streams]
    assert [s.host_username for s in streams if s.id == stream.id] == [host.username]
    ids = [u.id for u in everyone]
    assert len(ids) == len(set(ids))  # each user once: no stub
    by_id = {u.id: u for u in everyone}
    assert by_id[viewer.id].balance == 400
    assert by_id[viewer.id].email == viewer.email
    assert by_id[host.id].kyc_gate == "verified"
    assert {viewer.id, host.id, admin.id} <= by_id.keys()
    with psycopg.connect(sharded.router) as conn:  # every user the admin sees is in the directory
        known = {r[0] for r in conn.execute("SELECT user_id FROM router.users").fetchall()}
    assert set(ids) <= known
    with psycopg.connect(sharded.router) as conn:
        conn.execute("SET ROLE livepanty_readonly")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM reporting.users")
    with psycopg.connect(sharded.shards[0]) as conn:  # on a shard they stay open
        conn.execute("SET ROLE livepanty_readonly")
        assert conn.execute("SELECT count(*) FROM reporting.users").fetchone()[0] >= 1


def test_install_refuses_an_api_view_without_a_route() -> None:
    """The router never answers a view from its own empty tables: a view of schema api that VIEW_ROUTES does
    not list stops the installation (before anything is written on the router)."""
    routed = [shards.ApiView(name, (("id", "uuid"),), "") for name in shards.VIEW_ROUTES]
    shards._check_views(routed)  # every routed view: accepted
    with pytest.raises(shards.ShardError, match="api views without a route: new_summary"):
        shards._check_views([*routed, shards.ApiView("new_summary", (("id", "uuid"),), "")])


def test_no_actor_route_lets_an_admin_name_another_users_object() -> None:
    """A source scan: a function routed by the acting user (ACTOR_ROUTES) runs on the actor's shard, so it
    must not be one where an admin names another user's object by id (an admin on shard 0 would find nothing
    of a user on shard 1: list_sessions, get_payment and end_stream were such). Those are routed by the
    object (ACTOR_OBJECT_ROUTES, OBJECT_ROUTES) or the user (USER_ROUTES) instead."""
    admin_override = re.compile(r"current_user_role\(\)[^;]*'admin'")
    wrong = []
    for name in shards.ACTOR_ROUTES:
        source = (db_root() / "functions" / f"api.{name}.sql").read_text()
        arguments = source[: source.index(")")]
        named = re.findall(r"\bp_\w+_id\b", arguments)
        if named and admin_override.search(source):
            wrong.append((name, named))
    assert wrong == []


def test_every_api_view_has_a_route() -> None:
    """A view added to schema api without a route would make the installation refuse to start (install
    checks); the routes are exactly the api views of db/views."""
    files = (db_root() / "views").glob("api.*.sql")
    views = {p.name.removeprefix("api.").removesuffix(".sql") for p in files}
    assert views == set(shards.VIEW_ROUTES)


def test_functions_that_are_not_routed_raise_lp202(sharded: Sharded) -> None:
    with pytest.raises(NotRouted), Client(sharded.router, role="livepanty_service") as service:
        service.list_archives()  # the partitions archived are one database's


def test_the_notifier_through_the_router_wakes_its_listeners_for_every_shard(sharded: Sharded) -> None:
    """Clients LISTEN on the router; a stream's events are written (and NOTIFYed at commit) on its shard. The
    router's api.wake_stream_listeners sends every shard's wake-ups on the router: one per stream with new
    events, its newest event id as the payload; its position holds one position per shard, and one with
    another number of parts is LP018. Without it a listener on the router hears nothing."""
    viewer = register(sharded, shard=0)
    fund(sharded, viewer.id, 10_000)
    performers = [verified_performer(sharded, 0), verified_performer(sharded, 1)]
    streams = []
    with sharded.client() as client:
        for n, performer in enumerate(performers):
            with client.session(token_for(sharded, performer)) as tx:
                streams.append(go_live(tx, f"Wake {n}"))
        with client.session(token_for(sharded, viewer)) as tx:
            channels = [tx.stream_channel(stream.id) for stream in streams]
        assert channels[0] != channels[1]
        with (
            Client(sharded.router, role="livepanty_service") as service,
            psycopg.connect(sharded.router, autocommit=True) as listener,
        ):
            for name in channels:
                listener.execute(f'LISTEN "{name}"')
            position = service.wake_stream_listeners(None)
            assert len(position.split(";")) == 2
            with client.session(token_for(sharded, viewer)) as tx:
                for n, (performer, stream) in enumerate(zip(performers, streams, strict=True)):
                    tx.tip(performer.id, 100, idempotency_key=f"wake-{n}", stream_id=stream.id)
            shards.relay_once(sharded.shards)  # the cross-shard tip's credit and event, on shard 1
            assert all(newest_event(sharded, s) is not None for s in streams)
            assert list(listener.notifies(timeout=0.5)) == []  # the shards' NOTIFYs do not reach the router
            moved = service.wake_stream_listeners(position)
            woken = {n.channel: int(n.payload) for n in listener.notifies(timeout=3.0, stop_after=2)}
            newest = [newest_event(sharded, stream) for stream in streams]
            assert woken == dict(zip(channels, newest, strict=True))
            assert service.wake_stream_listeners(moved) == moved  # nothing new: nobody woken
            assert list(listener.notifies(timeout=0.3)) == []
            for bad in (position.split(";")[0], position + ";" + position.split(";")[0], "x;y"):
                with pytest.raises(LivepantyError) as refused:
                    service.wake_stream_listeners(bad)
                assert refused.value.sqlstate == "LP018"


def newest_event(s: Sharded, stream) -> int | None:
    """The newest event id of the stream (a tip's), read on the shard that holds it."""
    for url in s.shards:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT max(id) FROM lp.stream_events WHERE stream_id = %s AND kind = 'tip'", [stream.id]
            ).fetchone()
            if row[0] is not None:
                return int(row[0])
    return None


# -- tips ---------------------------------------------------------------------------------------------------


def test_same_shard_tip_is_an_ordinary_tip_on_that_shard(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 0)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tip = tx.tip(performer.id, 300, idempotency_key="same-1")
    with psycopg.connect(sharded.shards[0]) as conn:
        assert conn.execute("SELECT amount FROM lp.tips WHERE id = %s", [tip.id]).fetchone()[0] == 300
    assert (total(sharded, viewer.id), total(sharded, performer.id)) == (700, 300 - fee(300))


def test_cross_shard_tip_debits_now_credits_once_through_the_relay(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    with sharded.client() as client:
        with client.session(token) as tx:
            tip = tx.tip(performer.id, 250, idempotency_key="cross-1", message="hi")
        assert (tip.sender_id, tip.recipient_id, tip.amount, tip.fee_amount) == (
            viewer.id,
            performer.id,
            250,
            50,
        )
        with client.session(token) as tx:  # a retry: the same tip, nothing debited again
            again = tx.tip(performer.id, 250, idempotency_key="cross-1", message="hi")
        assert again.id == tip.id
        with pytest.raises(IdempotencyConflict), client.session(token) as tx:
            tx.tip(performer.id, 251, idempotency_key="cross-1", message="hi")
    assert total(sharded, viewer.id) == 750
    assert total(sharded, performer.id) == 0
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems
    assert report.in_transit >= 200
    assert report.transit_total == report.in_transit
    stats = shards.relay_once(sharded.shards)
    assert stats.delivered >= 1
    assert not stats.errors
    assert total(sharded, performer.id) == 200
    assert shards.relay_once(sharded.shards).delivered == 0  # nothing twice
    assert total(sharded, performer.id) == 200
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems
    assert (report.in_transit, report.transit_total, report.pending) == (0, 0, 0)


def test_the_relay_delivers_a_batch_in_one_transaction_per_pair_of_shards(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    performers = [verified_performer(sharded, 1) for _ in range(2)]
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tips = [tx.tip(performers[n % 2].id, 10 + n, idempotency_key=f"batch-{n}") for n in range(6)]
    stats = shards.relay_once(sharded.shards)
    assert stats.delivered >= 6
    with psycopg.connect(sharded.shards[1]) as conn:
        transactions = conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM lp.transfers_in WHERE id = ANY (%s)",
            [[t.id for t in tips]],
        ).fetchone()[0]
    assert transactions == 1  # one commit on the performers' shard for the whole batch
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        more = [tx.tip(performers[0].id, 5, idempotency_key=f"single-{n}") for n in range(3)]
    assert shards.relay_once(sharded.shards, batch=False).delivered >= 3
    with psycopg.connect(sharded.shards[1]) as conn:
        transactions = conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM lp.transfers_in WHERE id = ANY (%s)",
            [[t.id for t in more]],
        ).fetchone()[0]
    assert transactions == 3  # batch=False: one transaction per transfer
    tips += more
    assert [total(sharded, p.id) for p in performers] == [
        sum(t.amount - t.fee_amount for t in tips if t.recipient_id == p.id) for p in performers
    ]
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_senders_tip_history_holds_their_cross_shard_tips_in_order(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    near, far = verified_performer(sharded, 0), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        sent = [
            tx.tip(to.id, 10 + n, idempotency_key=f"history-{n}", message=f"m{n}")
            for n, to in enumerate((near, far, near, far))
        ]
        first = tx.list_tips(limit=2)
        second = tx.list_tips(after=first[-1].id, limit=2)
        third = tx.list_tips(after=second[-1].id, limit=2)
    newest_first = list(reversed(sent))
    assert [t.id for t in first + second] == [t.id for t in newest_first]
    assert third == []
    assert [(t.recipient_id, t.amount, t.net_amount, t.message, t.status) for t in first + second] == [
        (t.recipient_id, t.amount, t.amount - t.fee_amount, f"m{3 - n}", "completed")
        for n, t in enumerate(newest_first)
    ]


def test_cross_shard_refusals_change_nothing(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    unverified = register(sharded, "performer", shard=1)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 100)
    with sharded.client() as client:
        token = token_for(sharded, viewer)
        with pytest.raises(PayeeNotVerified), client.session(token) as tx:
            tx.tip(unverified.id, 10, idempotency_key="r-1")
        with pytest.raises(InsufficientFunds), client.session(token) as tx:
            tx.tip(performer.id, 101, idempotency_key="r-2")
        with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
            tx.tip(performer.id, 10, idempotency_key="r-3", stream_id=uuid.uuid4())
        assert caught.value.sqlstate == "LP003"  # no such stream on the performer's shard
        with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
            # A hold lives on its holder's shard, its stream on the payee's, which checks it.
            tx.place_hold(performer.id, 10, idempotency_key="r-4", stream_id=uuid.uuid4())
        assert caught.value.sqlstate == "LP003"
        with pytest.raises(PayeeNotVerified), client.session(token) as tx:
            tx.place_hold(unverified.id, 10, idempotency_key="r-5")  # checked on the payee's shard
    assert total(sharded, viewer.id) == 100
    with psycopg.connect(sharded.shards[0]) as conn:
        holds = conn.execute("SELECT count(*) FROM lp.holds WHERE user_id = %s", [viewer.id]).fetchone()
        assert holds == (0,)
        assert (
            conn.execute(
                "SELECT count(*) FROM lp.transfers_out WHERE sender_id = %s", [viewer.id]
            ).fetchone()[0]
            == 0
        )


def test_a_hold_for_a_payee_of_another_shard_is_captured_and_credited_once(sharded: Sharded) -> None:
    """A hold lives on its holder's shard; its capture for a payee of another shard leaves through the outbox
    (the in-transit wallet of the payee's shard) and the relay credits the payee there exactly once."""
    viewer = register(sharded, shard=0)
    stranger = register(sharded, shard=1)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client:
        viewer_token, performer_token = token_for(sharded, viewer), token_for(sharded, performer)
        with client.session(viewer_token) as tx:
            hold = tx.place_hold(performer.id, 500, idempotency_key="xh-1")
            again = tx.place_hold(performer.id, 500, idempotency_key="xh-1")
            wallet = tx.get_wallet()
        assert (hold.payee_id, hold.status, hold.replayed, again.replayed, again == hold) == (
            performer.id,
            "open",
            False,
            True,
            True,
        )
        assert (wallet.total, wallet.reserved, wallet.available) == (1000, 500, 500)
        with pytest.raises(LivepantyError) as caught, client.session(token_for(sharded, stranger)) as tx:
            tx.capture_hold(hold.id, 100, idempotency_key="xc-0")  # neither payee nor back office
        assert caught.value.sqlstate == "LP003"
        with client.session(performer_token) as tx:
            capture = tx.capture_hold(hold.id, 200, idempotency_key="xc-1")
            replay = tx.capture_hold(hold.id, 200, idempotency_key="xc-1")
        assert (capture.amount, capture.fee_amount, replay.replayed, replay == capture) == (
            200,
            fee(200),
            True,
            True,
        )
        with Client(sharded.router, role="livepanty_service") as service:  # the billing job: nobody acting
            billed = service.capture_hold(hold.id, 100, idempotency_key="xc-2")
        assert total(sharded, viewer.id) == 700
        shards.wait_for_relay(sharded.shards)
        shards.wait_for_relay(sharded.shards)  # a second pass finds nothing more to credit
        assert total(sharded, performer.id) == 300 - fee(200) - fee(100)
        with client.session(viewer_token) as tx:
            released = tx.release_hold(hold.id, idempotency_key="xr-1")
            wallet = tx.get_wallet()
        assert (released.status, released.captured) == ("released", 300)
        assert (wallet.total, wallet.reserved) == (700, 0)
        with client.session(performer_token) as tx:
            earnings = tx.earnings_summary()
        assert (earnings.captures_count, earnings.captures_gross, earnings.captures_net) == (
            2,
            300,
            300 - fee(200) - fee(100),
        )
    with psycopg.connect(sharded.shards[1]) as conn:
        credits = conn.execute(
            "SELECT i.hold_id, l.entry_kind, l.amount FROM lp.transfers_in AS i"
            " JOIN lp.ledger AS l ON l.transaction_id = i.transaction_id AND l.amount > 0"
            " WHERE i.recipient_id = %s ORDER BY l.amount",
            [performer.id],
        ).fetchall()
        tips = conn.execute("SELECT count(*) FROM lp.tips WHERE recipient_id = %s", [performer.id]).fetchone()
    assert credits == [(hold.id, "hold_capture", 100 - fee(100)), (hold.id, "hold_capture", 200 - fee(200))]
    assert tips == (0,)  # a capture is no tip
    assert billed.amount == 100
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report
    with Client(sharded.router, role="livepanty_service") as service:
        assert service.verify_ledger() == []
    # The verification checks such a capture's payee leg on the in-transit wallet: without the outbox row that
    # names its hold, both captures are reported (in a transaction rolled back), and their outbox rows, taken
    # for tips' now, do not have a tip's legs.
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute("UPDATE lp.transfers_out SET hold_id = NULL WHERE hold_id = %s", [hold.id])
        conn.execute("SET LOCAL ROLE livepanty_service")
        found = conn.execute("SELECT check_name FROM api.verify_ledger()").fetchall()
        conn.rollback()
    assert sorted(found) == [("hold_capture_transaction",)] * 2 + [("tip_transaction",)] * 2


def test_a_hold_names_the_live_stream_of_a_payee_of_another_shard(sharded: Sharded) -> None:
    """The stream lives on the payee's shard, the hold on the holder's: the payee's shard checks the stream as
    one node does (not the payee's live one: LP104), the hold records it, a retry with the same key and stream
    replays it (also once the stream has ended), without the stream is LP106, and a refused hold reserves
    nothing."""
    viewer = register(sharded, shard=0)
    host, other = verified_performer(sharded, 1), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client:
        streams = {}
        for performer in (host, other):
            with client.session(token_for(sharded, performer)) as tx:
                stream = go_live(tx, "holds " + performer.username)
                streams[performer.id] = stream.id
        token = token_for(sharded, viewer)
        with pytest.raises(StreamNotLive), client.session(token) as tx:
            tx.place_hold(host.id, 100, idempotency_key="hs-0", stream_id=streams[other.id])
        with client.session(token) as tx:
            hold = tx.place_hold(host.id, 300, idempotency_key="hs-1", stream_id=streams[host.id])
            again = tx.place_hold(host.id, 300, idempotency_key="hs-1", stream_id=streams[host.id])
        assert (hold.stream_id, hold.replayed, again.replayed, again == hold) == (
            streams[host.id],
            False,
            True,
            True,
        )
        with pytest.raises(IdempotencyConflict), client.session(token) as tx:
            tx.place_hold(host.id, 300, idempotency_key="hs-1", stream_id=None)
        with client.session(token_for(sharded, host)) as tx:
            tx.end_stream(streams[host.id])
        with client.session(token) as tx:
            # The stream has ended: the payee's shard refuses it, the holder's shard still answers the retry.
            replay = tx.place_hold(host.id, 300, idempotency_key="hs-1", stream_id=streams[host.id])
        with pytest.raises(StreamNotLive), client.session(token) as tx:
            tx.place_hold(host.id, 100, idempotency_key="hs-2", stream_id=streams[host.id])
        with client.session(token) as tx:
            wallet = tx.get_wallet()
        assert (replay.id, replay.replayed) == (hold.id, True)
        assert (wallet.total, wallet.reserved) == (1000, 300)
        with client.session(token_for(sharded, host)) as tx:
            captured = tx.capture_hold(hold.id, 300, idempotency_key="hs-c")
        assert captured.amount == 300
    shards.wait_for_relay(sharded.shards)
    assert total(sharded, host.id) == 300 - fee(300)
    with psycopg.connect(sharded.shards[0]) as conn:
        recorded = conn.execute(
            "SELECT idempotency_key, stream_id, status FROM lp.holds WHERE user_id = %s",
            [viewer.id],
        ).fetchall()
        here = conn.execute("SELECT count(*) FROM lp.streams WHERE id = %s", [streams[host.id]]).fetchone()
    assert recorded == [("hs-1", streams[host.id], "captured")]
    assert here == (0,)  # the stream is the payee's shard's alone
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean
    # Migration 0042 took the foreign key off lp.holds.stream_id; going back before it would lose this record.
    undo = (db_root() / "migrations" / "0042_hold_streams_across_shards.rollback.sql").read_text()
    with psycopg.connect(sharded.shards[0]) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(undo)
        conn.rollback()
        keys = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'lp.holds'::regclass AND contype = 'f'"
            " AND conkey = ARRAY[(SELECT attnum FROM pg_attribute"
            " WHERE attrelid = 'lp.holds'::regclass AND attname = 'stream_id')]"
        ).fetchone()
    assert refused.value.sqlstate == "LP204"
    assert keys == (0,)
    # On the holder's shard, lp.place_hold takes a stub payee's stream unchecked only when it is none of this
    # shard's streams (a stream here cannot be a payee's of another shard), and never for a NULL flag.
    near = verified_performer(sharded, 0)
    with sharded.client() as client, client.session(token_for(sharded, near)) as tx:
        local_stream = tx.schedule_stream("local " + near.username, category="general").id
    with psycopg.connect(sharded.shards[0]) as conn:
        for stream_id, remote in ((local_stream, True), (None, None)):
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(
                    "SELECT * FROM lp.place_hold(%s, %s, 10, 'hs-guard', 'tip', NULL, %s, %s)",
                    [viewer.id, host.id, stream_id, remote],
                )
            conn.rollback()
            assert caught.value.sqlstate == "LP201"


def test_a_payees_holds_are_listed_from_every_shard_with_keyset_pages(sharded: Sharded) -> None:
    performer = verified_performer(sharded, 1)
    holders = [register(sharded, shard=i % 2) for i in range(4)]  # two on the performer's shard, two not
    for holder in holders:
        fund(sharded, holder.id, 100)
    with sharded.client() as client:
        placed_holds = []
        for n, holder in enumerate(holders):
            with client.session(token_for(sharded, holder)) as tx:
                placed_holds.append(tx.place_hold(performer.id, 10 + n, idempotency_key="lh"))
        with client.session(token_for(sharded, performer)) as tx:
            everything = tx.list_holds("payee")
            first = tx.list_holds("payee", limit=3)
            rest = tx.list_holds("payee", after=first[-1].id, limit=3)
            released = tx.list_holds("payee", status="released")
            mine = tx.list_holds()  # as holder: their own shard
        with pytest.raises(LivepantyError) as caught, client.session(token_for(sharded, performer)) as tx:
            tx.list_holds("payee", after=uuid.uuid4())
    newest_first = sorted(placed_holds, key=lambda h: (h.created_at, h.id), reverse=True)
    assert [h.id for h in everything] == [h.id for h in newest_first]
    assert [h.id for h in first + rest] == [h.id for h in newest_first]
    assert (len(first), len(rest), released, mine) == (3, 1, [], [])
    assert (caught.value.sqlstate, caught.value.message) == ("LP018", "unknown pagination cursor")


def test_a_cross_shard_capture_is_refused_for_a_lapsed_payee_and_only_through_the_router(
    sharded: Sharded,
) -> None:
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 300)
    with sharded.client() as client:
        with client.session(token_for(sharded, viewer)) as tx:
            hold = tx.place_hold(performer.id, 300, idempotency_key="xl-1")
        with psycopg.connect(sharded.shards[1]) as conn:  # the performer's verification lapses
            conn.execute(
                "UPDATE lp.users SET kyc_valid_until = now() - interval '1 day' WHERE id = %s", [performer.id]
            )
        with pytest.raises(PayeeNotVerified), client.session(token_for(sharded, performer)) as tx:
            tx.capture_hold(hold.id, 100, idempotency_key="xl-c1")  # checked on the payee's shard
    with psycopg.connect(sharded.shards[0]) as conn:
        outbox = conn.execute(
            "SELECT count(*) FROM lp.transfers_out WHERE hold_id = %s", [hold.id]
        ).fetchone()
        captured = conn.execute("SELECT captured FROM lp.holds WHERE id = %s", [hold.id]).fetchone()
        # On the holder's shard, the payee is a stub whose checks live elsewhere: the api function itself
        # refuses to pay them (only the router, which asks the payee's shard, may).
        conn.execute("SET ROLE livepanty_service")
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT api.capture_hold(%s, 100, 'xl-direct')", [hold.id])
        assert caught.value.sqlstate == "LP203"
    assert (outbox, captured, total(sharded, viewer.id), total(sharded, performer.id)) == ((0,), (0,), 300, 0)


def test_retries_across_shards_are_answered_from_their_keys_whatever_the_payee_became(
    sharded: Sharded,
) -> None:
    """One node answers a retry from its idempotency key before it checks the payee again; across shards the
    payee's check comes first, so a failed one (the payee banned since, their shard down) asks the payer's
    shard for the key: a retry of a cross-shard tip, hold or capture is answered as a replay, a new key is
    refused in the payee's words, and the same key with other arguments is LP106. Nothing moves twice."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    tip_request = TipRequest(token, performer.id, 50, "rk-many")
    with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
        with client.session(token) as tx:
            tip = tx.tip(performer.id, 100, idempotency_key="rk-tip")
            hold = tx.place_hold(performer.id, 300, idempotency_key="rk-hold")
        capture = service.capture_hold(hold.id, 100, idempotency_key="rk-capture")
        [batched] = client.tip_many([tip_request])
        with psycopg.connect(sharded.shards[1]) as conn:  # the performer is banned on their shard
            conn.execute("SELECT lp.issue_sanction(%s, 'ban', 'fraud', NULL, NULL, NULL)", [performer.id])

        def retries() -> tuple:
            with client.session(token) as tx:
                again_tip = tx.tip(performer.id, 100, idempotency_key="rk-tip")
                again_hold = tx.place_hold(performer.id, 300, idempotency_key="rk-hold")
            again_capture = service.capture_hold(hold.id, 100, idempotency_key="rk-capture")
            [again_batched] = client.tip_many([tip_request])
            return (
                (again_tip.id, again_tip.replayed),
                (again_hold.id, again_hold.replayed),
                (again_capture.id, again_capture.replayed),
                (again_batched.tip_id, again_batched.replayed, again_batched.error_code),
            )

        expected = ((tip.id, True), (hold.id, True), (capture.id, True), (batched.tip_id, True, None))
        assert retries() == expected
        with pytest.raises(RecipientSanctioned), client.session(token) as tx:
            tx.tip(performer.id, 100, idempotency_key="rk-new")  # a new key meets the payee's check
        with pytest.raises(RecipientSanctioned):
            service.capture_hold(hold.id, 100, idempotency_key="rk-capture-new")
        with pytest.raises(IdempotencyConflict), client.session(token) as tx:
            tx.tip(performer.id, 101, idempotency_key="rk-tip")  # the same key, another amount
        sharded.topology.shard(1).stop()  # the payee's shard down: the payer's shard still answers retries
        try:
            assert retries() == expected
            with pytest.raises(ShardUnavailable) as caught, client.session(token) as tx:
                tx.tip(performer.id, 100, idempotency_key="rk-new-2")
            assert caught.value.detail == "shard 1"
        finally:
            sharded.topology.shard(1).start()
    shards.wait_for_relay(sharded.shards)
    assert total(sharded, viewer.id) == 1000 - 100 - 50 - 100
    assert total(sharded, performer.id) == 100 - fee(100) + 50 - fee(50) + 100 - fee(100)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_racing_retry_of_a_cross_shard_tip_is_counted_once(sharded: Sharded) -> None:
    """A retry of a cross-shard tip sent while the first call is in flight waits for it at the sender's fraud
    counter (shard.tip_out), then finds the key claimed and replays it: the velocity rule that the first call
    reached (LP161) does not refuse the retry, and the counters hold one tip, as on one node."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    before = _setting(sharded, "fraud.tips_per_hour")
    _setting(sharded, "fraud.tips_per_hour", "1")
    outcomes: list[Any] = []

    def retry() -> None:
        try:
            with sharded.client() as client, client.session(token) as tx:
                outcomes.append(tx.tip(performer.id, 100, idempotency_key="race-k"))
        except Exception as exc:  # the outcome is asserted below
            outcomes.append(exc)

    try:
        with psycopg.connect(sharded.shards[0]) as blocker:
            blocker.execute("SELECT lp.ensure_spend_counter(%s)", [viewer.id])
            blocker.commit()
            blocker.execute("SELECT 1 FROM lp.spend_counters WHERE user_id = %s FOR UPDATE", [viewer.id])
            threads = [threading.Thread(target=retry) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # both calls wait at the counter row
                with psycopg.connect(sharded.shards[0], autocommit=True) as watch:
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND query LIKE '%%tip_out%%'"
                    ).fetchone()[0]
                if waiting == 2:
                    break
                time.sleep(0.05)
            assert waiting == 2
            blocker.rollback()
            for thread in threads:
                thread.join(60)
    finally:
        _setting(sharded, "fraud.tips_per_hour", before)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert len({o.id for o in outcomes}) == 1
    assert sorted(o.replayed for o in outcomes) == [False, True]
    with psycopg.connect(sharded.shards[0]) as conn:
        counters = conn.execute(
            "SELECT tips_in_hour, tip_tokens_day FROM lp.spend_counters WHERE user_id = %s", [viewer.id]
        ).fetchone()
        cases = conn.execute(
            "SELECT count(*) FROM lp.reports WHERE reported_user_id = %s", [viewer.id]
        ).fetchone()[0]
    assert counters == (1, 100)
    assert cases == 1  # the first call reached the threshold: one fraud case
    shards.wait_for_relay(sharded.shards)
    assert total(sharded, viewer.id) == 900
    assert total(sharded, performer.id) == 100 - fee(100)


@pytest.mark.parametrize("first", ["near", "far"])
@pytest.mark.parametrize("near_via", ["tip", "tip_many"])
def test_one_key_racing_for_a_tip_within_and_one_across_shards_names_one_tip(
    sharded: Sharded, near_via: str, first: str
) -> None:
    """The same key for a tip to a performer of the sender's shard (api.tip, or a batch: api.tip_many) and one
    to a performer of another shard, sent at once: both pass their key probes before either commits, then meet
    at the sender's fraud counter. The one that gets it second sees the key claimed in the other table, read
    again under the counter's lock: LP106, and one tip is made, as one node makes one. Either may queue first
    (the lock's queue decides who gets it first), so both orders are forced."""
    viewer = register(sharded, shard=0)
    near, far = verified_performer(sharded, 0), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    key = f"one-key-{near_via}-{first}"
    outcomes: dict[str, Any] = {}

    def tip_to(name: str, performer: Any) -> None:
        try:
            with sharded.client() as client:
                if name == "near" and near_via == "tip_many":
                    [row] = client.tip_many([TipRequest(token, performer.id, 100, key)])
                    outcomes[name] = IdempotencyConflict("one key") if row.error_code == "LP106" else row
                    return
                with client.session(token) as tx:
                    outcomes[name] = tx.tip(performer.id, 100, idempotency_key=key)
        except Exception as exc:  # the outcome is asserted below
            outcomes[name] = exc

    with psycopg.connect(sharded.shards[0]) as blocker:
        blocker.execute("SELECT lp.ensure_spend_counter(%s)", [viewer.id])
        blocker.commit()
        blocker.execute("SELECT 1 FROM lp.spend_counters WHERE user_id = %s FOR UPDATE", [viewer.id])
        performers = {"near": near, "far": far}
        order = [first, "far" if first == "near" else "near"]
        threads = [threading.Thread(target=tip_to, args=(name, performers[name])) for name in order]
        waiting = 0
        for queued, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the calls queue at the counter row, in this order
                with psycopg.connect(sharded.shards[0], autocommit=True) as watch:
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database() AND pid <> %s",
                        [blocker.info.backend_pid],
                    ).fetchone()[0]
                if waiting == queued:
                    break
                time.sleep(0.05)
        assert waiting == 2, (waiting, outcomes)
        blocker.rollback()
        for thread in threads:
            thread.join(60)
    refused = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert len(refused) == 1, outcomes
    assert isinstance(outcomes[order[1]], IdempotencyConflict), outcomes  # the second in the queue
    shards.wait_for_relay(sharded.shards)
    assert total(sharded, viewer.id) == 900
    assert total(sharded, near.id) + total(sharded, far.id) == 100 - fee(100)


def test_a_cross_shard_tip_naming_a_private_stream_is_not_found(sharded: Sharded) -> None:
    """A tip to a performer of another shard naming their private stream is LP003 to a sender who may not see
    it (shard.payee_check applies lp.stream_visible's rule, as api.tip does on one node), not made, and the
    stream's status is not told."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client:
        with client.session(token_for(sharded, performer)) as tx:
            stream = tx.schedule_stream("Hidden", visibility="private")
            tx.consent_to_stream(stream.id, ip_address="203.0.113.9")
            tx.start_stream(stream.id)
        with pytest.raises(LivepantyError) as refused, client.session(token_for(sharded, viewer)) as tx:
            tx.tip(performer.id, 100, idempotency_key="private-k", stream_id=stream.id)
    assert refused.value.sqlstate == "LP003"
    assert total(sharded, viewer.id) == 1000


def test_a_cross_shard_tip_buying_an_inactive_menu_item_is_not_found(sharded: Sharded) -> None:
    """A tip to a performer of another shard buying an item she took off her menu is LP003 `menu item not
    found` to a sender who may not see inactive items, exactly as an unknown item id (shard.payee_check
    applies api.tip's rule), never LP126, which would tell that the id is one of hers; nothing is made."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    answers = []
    with sharded.client() as client:
        with client.session(token_for(sharded, performer)) as tx:
            item = tx.set_menu_item("Retired", 50, is_active=False)
        for key, item_id in (("inactive-k", item.id), ("unknown-k", uuid.uuid4())):
            with pytest.raises(LivepantyError) as refused, client.session(token_for(sharded, viewer)) as tx:
                tx.tip(performer.id, 50, idempotency_key=key, menu_item_id=item_id)
            answers.append((refused.value.sqlstate, refused.value.message))
    assert answers == [("LP003", "menu item not found")] * 2
    assert total(sharded, viewer.id) == 1000


def test_staff_of_another_shard_are_told_an_inactive_menu_item_is_unavailable(sharded: Sharded) -> None:
    """An admin's first tip to a performer of another shard, buying an item she took off her menu, is LP126
    (staff are told it is unavailable, api.tip's rule, as on one node), not LP003: shard.payee_check reads the
    payer's role from their stub there, which the router makes (router.ensure_user) before it asks."""
    admin = created_admin(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    with psycopg.connect(sharded.shards[1]) as conn:  # she has never acted on the performer's shard
        assert conn.execute("SELECT count(*) FROM lp.users WHERE id = %s", [admin.id]).fetchone()[0] == 0
    with sharded.client() as client:
        with client.session(token_for(sharded, performer)) as tx:
            item = tx.set_menu_item("Retired", 50, is_active=False)
        with pytest.raises(LivepantyError) as refused, client.session(token_for(sharded, admin)) as tx:
            tx.tip(performer.id, 50, idempotency_key="staff-k", menu_item_id=item.id)
    assert (refused.value.sqlstate, refused.value.message) == ("LP126", "the menu item is not available")


def test_a_demoted_admins_old_stub_tells_their_tip_nothing_staff_are_told(sharded: Sharded) -> None:
    """An admin of shard 0 tips a performer of shard 1 (their stub there: an admin) and is then demoted on
    their own shard, not through the router: their next tip there buying an item the performer took off her
    menu is LP003 (not found), a viewer's answer, as on one node, not LP126 (unavailable), what staff are
    told. The router learns the new role when the home shard reports it (api.authenticate) and marks every
    other shard (router.stubs, role NULL); the payee check makes the stub there current before it reads it.
    Before, the stale admin stub answered the check (LP126)."""
    admin = created_admin(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, admin.id, 100)
    with sharded.client() as client:
        with client.session(token_for(sharded, performer)) as tx:
            item = tx.set_menu_item("Retired", 50, is_active=False)
        token = token_for(sharded, admin)
        with client.session(token) as tx:
            tx.tip(performer.id, 10, idempotency_key="before-demotion")
        assert _stub_role(sharded, 1, admin.id) == "admin"
        with psycopg.connect(sharded.shards[0]) as conn:  # on their shard, not through the router
            conn.execute("UPDATE lp.users SET role = 'viewer' WHERE id = %s", [admin.id])
        with pytest.raises(LivepantyError) as refused, client.session(token) as tx:
            tx.tip(performer.id, 50, idempotency_key="after-demotion", menu_item_id=item.id)
        assert refused.value.sqlstate == "LP003"
        assert _stub_role(sharded, 1, admin.id) == "viewer"  # made current on shard 1 (committed there)
        # the refused call rolled the router's notes back; the next call that commits records them
        with client.session(token) as tx:
            tx.tip(performer.id, 10, idempotency_key="after-demotion-plain")
    with psycopg.connect(sharded.router) as conn:
        assert conn.execute(
            "SELECT u.role, s.role FROM router.users AS u JOIN router.stubs AS s ON s.user_id = u.user_id"
            " WHERE u.user_id = %s AND s.shard = 1",
            [admin.id],
        ).fetchone() == ("viewer", "viewer")


def test_a_second_delivery_after_a_dead_worker_changes_nothing(sharded: Sharded) -> None:
    viewer = register(sharded, shard=1)
    performer = verified_performer(sharded, 0)
    fund(sharded, viewer.id, 500)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tip = tx.tip(performer.id, 100, idempotency_key="dead-worker")
    # A worker applied it on the performer's shard and died before marking it on the sender's.
    with (
        psycopg.connect(sharded.shards[1], autocommit=True) as source,
        psycopg.connect(sharded.shards[0], autocommit=True) as target,
        source.transaction(),
    ):
        row = source.execute(
            "SELECT id, sender_id, sender_name, sender_role, recipient_id, amount, fee_amount, message,"
            " is_anonymous, stream_id, menu_item_id, idempotency_key, created_at, hold_id, refund_of"
            " FROM shard.claim_transfers(1, 0, 10000) WHERE id = %s",
            [tip.id],
        ).fetchone()
        applied = target.execute(
            "SELECT shard.transfer_in(0, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            list(row),
        ).fetchone()[0]
        assert applied is True
        raise psycopg.Rollback()  # the worker's transaction dies with it
    assert total(sharded, performer.id) == 80
    shards.wait_for_relay(sharded.shards)
    assert total(sharded, performer.id) == 80
    with psycopg.connect(sharded.shards[0]) as conn:
        assert conn.execute("SELECT count(*) FROM lp.transfers_in WHERE id = %s", [tip.id]).fetchone()[0] == 1
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


# -- failure and misrouting ---------------------------------------------------------------------------------


def test_a_shard_that_is_down_fails_fast_and_the_relay_resumes(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    far = register(sharded, shard=1)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 500)
    token, far_token = token_for(sharded, viewer), token_for(sharded, far)
    with sharded.client() as client, client.session(token) as tx:
        tx.tip(performer.id, 100, idempotency_key="down-1")  # pending for shard 1
    sharded.topology.shard(1).stop()
    try:
        with sharded.client() as client:
            started = time.monotonic()
            with pytest.raises(ShardUnavailable) as caught, client.session(far_token) as tx:
                tx.get_wallet()
            assert caught.value.transient
            assert caught.value.detail == "shard 1"  # the shard's address is for the server log only
            port = str(psycopg.conninfo.conninfo_to_dict(sharded.shards[1])["port"])
            assert port not in caught.value.message + caught.value.detail + (caught.value.hint or "")
            assert time.monotonic() - started < 10
            with pytest.raises(ShardUnavailable), client.session(token) as tx:  # the payee check cannot run
                tx.tip(performer.id, 100, idempotency_key="down-2")
            with pytest.raises(ShardUnavailable) as batch:  # a batch's tip across fails the call alike
                client.tip_many([TipRequest(token, performer.id, 100, "down-3")])
            assert batch.value.detail == "shard 1"
        assert total(sharded, viewer.id) == 400  # down-2 and down-3 debited nothing
        stats = shards.relay_once(sharded.shards)
        assert stats.delivered == 0
        assert stats.errors
        rows = shards.transfer_status(sharded.shards)
        assert any("unreachable" in str(r.get("last_error")) for r in rows)
    finally:
        sharded.topology.shard(1).start()
    shards.wait_for_relay(sharded.shards)
    assert total(sharded, performer.id) == 80
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_call_on_every_shard_fails_when_one_is_down_never_answers_in_part(sharded: Sharded) -> None:
    """With a shard down, every call that reads or runs on all of them is LP200 for that shard: an empty or
    partial answer would read as "clean" (verify_ledger), "no money" (ledger_totals), "nothing due" (the jobs)
    or "nobody live" (the listings)."""
    admin = created_admin(sharded, shard=0)
    admin_token = token_for(sharded, admin)
    calls: dict[str, Any] = {
        "verify_ledger": lambda service, tx: service.verify_ledger(),
        "ledger_totals": lambda service, tx: service.ledger_totals(),
        "expire_holds": lambda service, tx: service.expire_holds(),
        "wake_stream_listeners": lambda service, tx: service.wake_stream_listeners(None),
        "list_live_streams": lambda service, tx: tx.list_live_streams(),
        "list_users": lambda service, tx: tx.list_users(),
        "review_queue": lambda service, tx: tx.review_queue(),
        "list_appeals": lambda service, tx: tx.list_appeals(),
    }
    failed: dict[str, str | None] = {}
    sharded.topology.shard(1).stop()
    try:
        with Client(sharded.router, role="livepanty_service") as service, sharded.client() as client:
            for name, call in calls.items():
                try:
                    with client.session(admin_token) as tx:
                        call(service, tx)
                    failed[name] = "answered"
                except ShardUnavailable as caught:
                    failed[name] = caught.detail
    finally:
        sharded.topology.shard(1).start()
    assert failed == dict.fromkeys(calls, "shard 1")


def test_a_shard_that_is_down_fails_only_the_calls_on_its_own_objects(sharded: Sharded) -> None:
    """An object is found by asking every shard; with one down, each is asked on its own: an object of a shard
    that answers is still routed there, and only an object no answering shard holds fails, with LP200 for the
    shard that did not answer (it may hold it: the router never guesses)."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 0)
    fund(sharded, viewer.id, 500)
    token = token_for(sharded, viewer)
    with sharded.client() as client, client.session(token) as tx:
        hold = tx.place_hold(performer.id, 200, idempotency_key="iso-1")
    sharded.topology.shard(1).stop()
    try:
        with sharded.client() as client:
            with client.session(token) as tx:
                released = tx.release_hold(hold.id, idempotency_key="iso-r1")
            with pytest.raises(ShardUnavailable) as caught, client.session(token) as tx:
                tx.release_hold(uuid.uuid4(), idempotency_key="iso-r2")
        assert (released.id, released.status) == (hold.id, "released")
        assert caught.value.detail == "shard 1"
    finally:
        sharded.topology.shard(1).start()
    with sharded.client() as client:
        with pytest.raises(LivepantyError) as unknown, client.session(token) as tx:
            tx.release_hold(uuid.uuid4(), idempotency_key="iso-r3")
        with client.session(token) as tx:
            assert tx.get_wallet().reserved == 0
    assert unknown.value.sqlstate == "LP003"  # every shard answers again: no shard holds it


def test_a_call_for_another_shard_is_refused_there(sharded: Sharded) -> None:
    user = register(sharded, shard=0)
    with psycopg.connect(sharded.shards[1]) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(
            "SELECT * FROM shard.get_wallet(1, %s, NULL, 'session', 'livepanty_app', NULL)", [user.id]
        )
    assert caught.value.sqlstate == WrongShard.code
    with psycopg.connect(sharded.shards[0]) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT shard.here(1)")
    assert caught.value.sqlstate == WrongShard.code


# -- the attacker holds the application's login --------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "statement"),
    [
        ("router", "SELECT * FROM router.users"),
        ("router", "SELECT * FROM router.sessions"),
        ("router", "SELECT * FROM router.erasure_sync"),
        ("router", "SELECT router.forget_users(ARRAY[gen_random_uuid()])"),
        ("shard", "SELECT * FROM shard.erased_users(0, NULL)"),
        ("shard", "SELECT shard.forget_users(0, ARRAY[gen_random_uuid()])"),
        (
            "router",
            "SELECT router_proxy.payee_check(0, 'hold', gen_random_uuid(), gen_random_uuid(), 1, NULL, NULL)",
        ),
        (
            "shard",
            "SELECT * FROM shard.place_hold_out(0, gen_random_uuid(), NULL, 'session', gen_random_uuid(), 1,"
            " 'k', 'tip', NULL, NULL)",
        ),
        (
            "router",
            "SELECT * FROM router_proxy.get_wallet(0, gen_random_uuid(), NULL, 'service',"
            " 'livepanty_service',"
            " NULL)",
        ),
        ("shard", "SELECT shard.act(0, gen_random_uuid(), NULL, 'service')"),
        (
            "shard",
            "SELECT * FROM shard.get_wallet(0, gen_random_uuid(), NULL, 'service', 'livepanty_service',"
            " NULL)",
        ),
        ("shard", "SELECT * FROM shard.claim_transfers(0, 1, 10)"),
        ("shard", "SELECT * FROM lp.transfers_out"),
        ("shard", "SELECT * FROM lp.payout_hold_requests"),
        (
            "shard",
            "SELECT shard.apply_hold_request(0, 1, gen_random_uuid(), gen_random_uuid(), NULL, NULL, 1)",
        ),
        ("shard", "SELECT * FROM lp.payout_hold_lifts"),
        (
            "shard",
            "SELECT shard.apply_hold_lift(0, 1, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),"
            " gen_random_uuid(), 'x', NULL, NULL, NULL, NULL)",
        ),
    ],
)
def test_the_application_login_reaches_no_routing_internals(
    sharded: Sharded, where: str, statement: str
) -> None:
    dsn = sharded.router if where == "router" else sharded.shards[0]
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE livepanty_app")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


@pytest.mark.parametrize("where", ["shard", "router"])
def test_no_application_role_may_run_any_routing_function(sharded: Sharded, where: str) -> None:
    """A catalog scan, not a sample: every function of the schemas shard (on a shard), router and
    router_proxy (on the router), and the tables of schema router, are out of reach of the application's, the
    back office's, the mailer's and the reporting roles (only livepanty_router runs shard.*; only the owner
    the router's)."""
    dsn = sharded.shards[0] if where == "shard" else sharded.router
    schemas = ["shard"] if where == "shard" else ["router", "router_proxy"]
    roles = ["livepanty_app", "livepanty_service", "livepanty_mailer", "livepanty_readonly", "public"]
    with psycopg.connect(dsn) as conn:
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc AS p"
            " WHERE p.pronamespace::regnamespace::text = ANY (%s)",
            [schemas],
        ).fetchall()
        assert len(functions) > 10
        reachable = conn.execute(
            "SELECT p.oid::regprocedure::text, r.rolname FROM pg_proc AS p"
            " CROSS JOIN (SELECT unnest(%s::text[]) AS rolname) AS r"
            " WHERE p.pronamespace::regnamespace::text = ANY (%s)"
            "   AND CASE WHEN r.rolname = 'public'"
            "            THEN EXISTS (SELECT 1"
            "                           FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a"
            "                          WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')"
            "            ELSE has_function_privilege(r.rolname, p.oid, 'EXECUTE') END",
            [roles, schemas],
        ).fetchall()
        tables = (
            conn.execute(
                "SELECT c.oid::regclass::text, r.rolname FROM pg_class AS c"
                " CROSS JOIN (SELECT unnest(%s::text[]) AS rolname) AS r"
                " WHERE c.relnamespace = 'router'::regnamespace AND c.relkind = 'r' AND r.rolname <> 'public'"
                "   AND has_table_privilege(r.rolname, c.oid, 'SELECT, INSERT, UPDATE, DELETE')",
                [roles],
            ).fetchall()
            if where == "router"
            else []
        )
    assert reachable == []
    assert tables == []


def test_the_view_routes_are_the_only_router_functions_readers_may_run(sharded: Sharded) -> None:
    """A catalog scan: schema router_views holds one route per api view, which the views' readers (the
    application and the back office) may run, as the view's own functions run with its reader's rights; the
    mailer, the reporting role and public may not."""
    roles = ["livepanty_app", "livepanty_service", "livepanty_mailer", "livepanty_readonly", "public"]
    with psycopg.connect(sharded.router) as conn:
        reachable = conn.execute(
            "SELECT p.oid::regprocedure::text, r.rolname FROM pg_proc AS p"
            " CROSS JOIN (SELECT unnest(%s::text[]) AS rolname) AS r"
            " WHERE p.pronamespace = 'router_views'::regnamespace"
            "   AND CASE WHEN r.rolname = 'public'"
            "            THEN EXISTS (SELECT 1"
            "                           FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a"
            "                          WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')"
            "            ELSE has_function_privilege(r.rolname, p.oid, 'EXECUTE') END",
            [roles],
        ).fetchall()
        definers = conn.execute(
            "SELECT bool_and(p.prosecdef), count(*) FROM pg_proc AS p"
            " WHERE p.pronamespace = 'router_views'::regnamespace"
        ).fetchone()
    assert sorted(reachable) == sorted(
        (f"router_views.{view}()", role) for view in shards.VIEW_ROUTES for role in roles[:2]
    )
    assert definers == (True, len(shards.VIEW_ROUTES))


def test_the_application_login_cannot_act_as_a_user_through_the_router(sharded: Sharded) -> None:
    victim = register(sharded, shard=1)
    with psycopg.connect(sharded.router) as conn:
        conn.execute("SET ROLE livepanty_app")
        conn.execute("SELECT set_config('lp.user_id', %s, true)", [str(victim.id)])
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT * FROM api.get_wallet()")
        assert caught.value.sqlstate == "LP005"


# -- the CLI ------------------------------------------------------------------------------------------------


def test_cli_logins_resolve_through_the_directory(sharded: Sharded) -> None:
    # The operator CLI turns --as and a USER argument into ids on its DBA connection; on the router the users
    # live on the shards, so it asks the directory (router.users) by username, address or id.
    admin = created_admin(sharded, shard=1)
    viewer = register(sharded, shard=0)
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--dsn", sharded.router, "--format", "json", *args])

    result = cli(
        "users", "set-role", viewer.username.upper(), "moderator", "--as", f"{admin.username}@example.com"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["role"] == "moderator"
    with psycopg.connect(sharded.shards[0]) as conn:
        assert (
            conn.execute("SELECT role FROM lp.users WHERE id = %s", [viewer.id]).fetchone()[0] == "moderator"
        )
    result = cli("users", "set-role", str(viewer.id), "viewer", "--as", str(admin.id))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["role"] == "viewer"
    # a table shows usernames in place of user ids, read from the directory (the router's lp.users is empty)
    performer = verified_performer(sharded, 0)
    fund(sharded, viewer.id, 100)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tx.tip(performer.id, 10, idempotency_key="cli-table-1")
    table = runner.invoke(main, ["--dsn", sharded.router, "tips", "list", "--as", viewer.username])
    assert table.exit_code == 0, table.output
    assert performer.username in table.stdout, table.stdout
    assert str(performer.id) not in table.stdout, table.stdout
    # nobody with that login: LP003, exit 1, nothing done
    missing = cli("users", "set-role", viewer.username, "admin", "--as", "nobody-" + uuid.uuid4().hex[:8])
    assert missing.exit_code == 1
    assert json.loads(missing.stderr)["error"]["code"] == "LP003"
    with psycopg.connect(sharded.shards[0]) as conn:
        assert conn.execute("SELECT role FROM lp.users WHERE id = %s", [viewer.id]).fetchone()[0] == "viewer"


def test_cli_verify_all_shards_status_and_relay(sharded: Sharded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEPANTY_HOME", str(sharded.home))
    for name in ("LIVEPANTY_DSN", "DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    status = runner.invoke(main, ["local", "status"])
    assert status.exit_code == 0, status.output
    assert "shard 1" in status.output
    relay = runner.invoke(main, ["shards", "relay", "--once"])
    assert relay.exit_code == 0, relay.output
    verify = runner.invoke(main, ["verify", "--all-shards"])
    assert verify.exit_code == 0, verify.output
    assert "shard 1: verify_ledger" in verify.output
    assert "warning" not in verify.output

    def recorded() -> list[tuple]:  # every shard's monitoring shows its latest run
        out = []
        for dsn in sharded.shards:
            with psycopg.connect(dsn) as conn:
                out.append(
                    conn.execute(
                        "SELECT runs, ok, failed_checks,"
                        " entries = (SELECT count(*) FROM lp.ledger)"
                        " FROM monitoring.ledger_verification"
                    ).fetchone()
                )
        return out

    assert recorded() == [(1, True, "", True), (1, True, "", True)]
    assert runner.invoke(main, ["verify", "--all-shards", "--no-record"]).exit_code == 0
    assert [r[0] for r in recorded()] == [1, 1]
    synced = runner.invoke(main, ["shards", "sync-erasures"])
    assert synced.exit_code == 0, synced.output
    assert "stubs_erased" in synced.output
    # A forged credit on one shard's in-transit wallet: the reconciliation finds it, exit status 1.
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'adjustment', gen_random_uuid(), ARRAY["
            " ROW(lp.system_wallet('transit_1'), 5::bigint, 'adjustment', 0, false)::lp.posting,"
            " ROW(lp.system_wallet('adjustments'), -5::bigint, 'adjustment', 0, false)::lp.posting])"
        )
    try:
        broken = runner.invoke(main, ["verify", "--all-shards"])
        assert broken.exit_code == 1, broken.output
        assert "in-transit wallet of shard 1 holds" in broken.output
        # shard 0's own ledger is balanced (the forgery has two legs); the reconciliation is not: every shard
        # records it
        assert [r[:3] for r in recorded()] == [
            (2, False, "cross_shard_reconciliation"),
            (2, False, "cross_shard_reconciliation"),
        ]
    finally:
        with psycopg.connect(sharded.shards[0]) as conn:
            conn.execute(
                "SELECT lp.post(gen_random_uuid(), 'adjustment', gen_random_uuid(), ARRAY["
                " ROW(lp.system_wallet('transit_1'), -5::bigint, 'adjustment', 0, false)::lp.posting,"
                " ROW(lp.system_wallet('adjustments'), 5::bigint, 'adjustment', 0, false)::lp.posting])"
            )


def test_the_reconciliation_finds_a_credit_never_sent_and_a_delivery_never_credited(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 500)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tip = tx.tip(performer.id, 100, idempotency_key="reconcile-1")
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean
    # The relay's confirmation without the credit: the tokens would be lost between the shards.
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute(
            "UPDATE lp.transfers_out SET status = 'delivered', delivered_at = now() WHERE id = %s", [tip.id]
        )
    try:
        report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
        assert f"transfer {tip.id}: marked delivered on shard 0, never credited on shard 1" in report.problems
    finally:
        with psycopg.connect(sharded.shards[0]) as conn:
            conn.execute(
                "UPDATE lp.transfers_out SET status = 'pending', delivered_at = NULL WHERE id = %s", [tip.id]
            )
    assert shards.relay_once(sharded.shards).delivered >= 1
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean
    # A credit whose transfer the sender's shard does not hold: tokens made out of nothing.
    with psycopg.connect(sharded.shards[0]) as conn:
        moved = conn.execute(
            "UPDATE lp.transfers_out SET id = gen_random_uuid() WHERE id = %s RETURNING id", [tip.id]
        )
        forged = moved.fetchone()[0]
    try:
        report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
        assert f"transfer {tip.id}: credited on shard 1, never sent by shard 0" in report.problems
    finally:
        with psycopg.connect(sharded.shards[0]) as conn:
            conn.execute("UPDATE lp.transfers_out SET id = %s WHERE id = %s", [tip.id, forged])
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_the_reconciliation_is_exact_while_tips_and_the_relay_run(sharded: Sharded) -> None:
    """verify --all-shards under traffic: cross-shard tips both ways and a relay delivering while it reads.
    Every report is clean (the earlier reconciliation compared reads of different moments and reported
    differences that were only tips in flight); afterwards, quiet, the sums meet exactly."""
    viewers = [register(sharded, shard=i % 2) for i in range(6)]
    performers = [verified_performer(sharded, i % 2) for i in range(2)]
    for viewer in viewers:
        fund(sharded, viewer.id, 1_000_000)
    tokens = {v.id: token_for(sharded, v) for v in viewers}
    stop = threading.Event()
    failures: list[str] = []
    sent = [0]

    def tipper(viewer) -> None:
        across = next(p for p in performers if shard_of(sharded, p.id) != shard_of(sharded, viewer.id))
        with sharded.client() as client:
            n = 0
            while not stop.is_set():
                try:
                    with client.session(tokens[viewer.id]) as tx:
                        tx.tip(across.id, 10, idempotency_key=f"traffic-{n}")
                    sent[0] += 1
                except LivepantyError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                n += 1

    threads = [threading.Thread(target=tipper, args=(v,)) for v in viewers]
    relay = threading.Thread(
        target=shards.relay, args=(sharded.shards,), kwargs={"interval": 0.01, "stop": stop}
    )
    reports = []
    try:
        for t in [*threads, relay]:
            t.start()
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and not failures:
            reports.append(shards.verify_all(sharded.shards, router_dsn=sharded.router))
    finally:
        stop.set()
        for t in [*threads, relay]:
            t.join(60)
    assert not failures, failures[:5]
    assert sent[0] > 100
    assert len(reports) >= 5
    assert [r.problems for r in reports if not r.clean] == []
    assert any(not r.quiet for r in reports), "the tips and the relay ran while the reconciliation read"
    shards.wait_for_relay(sharded.shards, timeout=60)
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems
    assert report.quiet
    assert (report.in_transit, report.transit_total, report.pending) == (0, 0, 0)


# -- stress -------------------------------------------------------------------------------------------------


def _relay_worker(home: Path) -> subprocess.Popen:
    env = {**os.environ, "LIVEPANTY_HOME": str(home)}
    for name in ("LIVEPANTY_DSN", "DATABASE_URL"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "livepanty_db", "shards", "relay", "--batch", "20", "--interval", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("at_once", "cut"),
    [
        pytest.param(False, False, id="by_relay"),
        pytest.param(True, False, id="at_once"),
        pytest.param(True, True, id="at_once_and_a_cut", marks=needs_packet_filter),
    ],
)
def test_stress_cross_shard_tips_with_killed_relays_and_a_restarted_shard(
    sharded: Sharded, at_once: bool, cut: bool
) -> None:
    """Acceptance (b) of issue 12. With delivery at once (the second run), the router's deliveries race the
    relay workers' for the same transfers all along: every credit still lands exactly once. The third run
    also cuts shard 0 off the network for 12 s before shard 1's restart (no refusal, no reset: calls wait for
    the kernel to give up; relay workers killed meanwhile may leave transactions there behind)."""
    shards.delivery_at_once(sharded.router, at_once)
    try:
        _stress(sharded, cut=cut)
    finally:
        shards.delivery_at_once(sharded.router, False)


def _stress(sharded: Sharded, *, cut: bool = False) -> None:
    viewers = [register(sharded, shard=i % 2) for i in range(8)]
    performers = [verified_performer(sharded, i % 2) for i in range(4)]
    for viewer in viewers:
        fund(sharded, viewer.id, 100_000)
    start_totals = {p.id: total(sharded, p.id) for p in performers}
    tokens = {v.id: token_for(sharded, v) for v in viewers}
    accepted: list[tuple[uuid.UUID, uuid.UUID, int, uuid.UUID]] = []  # (tip id, performer, amount, viewer)
    captured: list[tuple[uuid.UUID, int, uuid.UUID]] = []  # (performer, amount, viewer) of each capture
    # Two performers (one per shard) stream with a goal that refunds when missed: half the tips to them name
    # the stream and wait in escrow; the goals are cancelled mid-run and the settle job sends those tips back
    # (through the outbox for the viewers of the other shard) while relays die and a shard restarts.
    streams: dict[uuid.UUID, uuid.UUID] = {}
    goals: list[tuple[Any, uuid.UUID]] = []  # (host, goal id)
    with sharded.client() as client:
        for host in performers[:2]:
            with client.session(token_for(sharded, host)) as tx:
                stream = go_live(tx, "stress " + host.username)
                goal = tx.add_tip_goal(
                    stream.id, 10_000_000, "never", deadline=datetime.now(UTC) + timedelta(hours=1),
                    refund_if_missed=True,
                )  # fmt: skip
            streams[host.id] = stream.id
            goals.append((host, goal.id))
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []
    transients: list[tuple[float, str | None]] = []  # (when, detail) of each transient error retried

    def tipper(viewer) -> None:
        rng = random.Random(str(viewer.id))
        with sharded.client() as client, Client(sharded.router, role="livepanty_service") as billing:

            def retried(call, *args, **kwargs):  # a retry with the same key, as an application would
                for _attempt in range(50):
                    try:
                        return call(*args, **kwargs)
                    except LivepantyError as exc:
                        if not exc.transient:
                            raise
                        with lock:
                            transients.append((time.monotonic(), exc.detail))
                        time.sleep(0.1)
                raise AssertionError("still failing after 50 attempts")

            def in_session(method, *args, **kwargs):
                with client.session(tokens[viewer.id]) as tx:
                    return getattr(tx, method)(*args, **kwargs)

            n = 0
            while not stop.is_set():
                performer = rng.choice(performers)
                amount = rng.randint(5, 60)
                key = f"stress-{n}"
                n += 1
                try:
                    if n % 5:
                        stream_id = streams.get(performer.id) if rng.random() < 0.5 else None
                        tip = retried(
                            in_session, "tip", performer.id, amount, idempotency_key=key, stream_id=stream_id
                        )
                        with lock:
                            accepted.append((tip.id, performer.id, amount, viewer.id))
                        continue
                    # A hold (across shards for half the performers), billed twice by the back office and
                    # released.
                    hold = retried(in_session, "place_hold", performer.id, 3 * amount, idempotency_key=key)
                    for part in (1, 2):
                        retried(billing.capture_hold, hold.id, amount, idempotency_key=f"{key}-{part}")
                        with lock:
                            captured.append((performer.id, amount, viewer.id))
                    retried(in_session, "release_hold", hold.id, idempotency_key=f"{key}-r")
                except LivepantyError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return

    def settle(service: Client) -> None:  # the settle job, retried while a shard is down
        for _attempt in range(100):
            try:
                service.settle_tip_goals()
                return
            except LivepantyError as exc:
                if not exc.transient:
                    raise
                time.sleep(0.1)
        raise AssertionError("the settle job still failing after 100 attempts")

    threads = [threading.Thread(target=tipper, args=(v,)) for v in viewers]
    workers = [_relay_worker(sharded.home) for _ in range(2)]
    rng = random.Random(12)
    service = Client(sharded.router, role="livepanty_service")
    stack = contextlib.ExitStack()
    try:
        for t in threads:
            t.start()
        started = time.monotonic()
        deadline = started + (32 if cut else 20)
        restarted = cancelled = False
        cut_off: dict[str, Any] = {}  # the cut's join() and when it ends
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.0))
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            workers[victim] = _relay_worker(sharded.home)
            if not cancelled and time.monotonic() > deadline - 14:
                # The workers die too often to deliver much: this thread delivers what is pending now (beside
                # them, exactly once all the same), so that tips across shards wait in escrow when cancelled.
                for _ in range(3):
                    shards.relay_once(sharded.shards)
                with sharded.client() as client:
                    for host, goal_id in goals:
                        with client.session(token_for(sharded, host)) as tx:
                            tx.cancel_tip_goal(goal_id)
                settle(service)
                cancelled = True
            if not restarted and time.monotonic() > deadline - 12:
                sharded.topology.shard(1).stop()
                time.sleep(1.0)
                sharded.topology.shard(1).start()
                restarted = True
            if cut and not cut_off and time.monotonic() > started + 3:  # 3 s to 15 s, shard 0
                cut_off["join"] = stack.enter_context(network_cut(sharded.topology.shard(0).port or 0))
                cut_off["from"], cut_off["until"] = time.monotonic(), time.monotonic() + 12
            if cut_off and time.monotonic() > cut_off["until"]:
                cut_off["join"]()
        assert restarted
        assert bool(cut_off) == cut
    finally:
        stack.close()  # (the cut ends, if it had not yet)
        stop.set()
        for t in threads:
            t.join(60)
        for w in workers:
            w.send_signal(signal.SIGKILL)
            w.wait()
    assert not failures, failures[:5]
    assert len(accepted) > 50
    assert cancelled
    if cut:  # the cut was felt: calls for shard 0's users failed with LP200 while it lasted, and were retried
        assert any(
            detail == "shard 0" and cut_off["from"] <= when <= cut_off["until"] + 10
            for when, detail in transients
        ), transients[:5]
    shards.wait_for_relay(sharded.shards, timeout=60)  # escrowed tips still in flight at the cancel arrive
    settle(service)  # and go back now
    service.close()
    shards.wait_for_relay(sharded.shards, timeout=60)
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems
    assert (report.in_transit, report.transit_total, report.pending) == (0, 0, 0)
    # Which tips went back (escrowed, their goal cancelled): none is left waiting.
    settled: dict[str, str] = {}
    for url in sharded.shards:
        with psycopg.connect(url) as conn:
            settled.update(
                (str(r[0]), r[1])
                for r in conn.execute(
                    "SELECT id, status FROM lp.tips WHERE status IN ('refunded', 'escrowed')"
                ).fetchall()
            )
    assert "escrowed" not in settled.values()
    refunded = set(settled)
    across = {str(t) for t, p, _a, v in accepted if shard_of(sharded, p) != shard_of(sharded, v)}
    assert refunded & across, "some tips across shards were refunded through the outbox"
    # The model: every accepted tip, credited exactly once (net of the fee) to its performer unless it went
    # back, in which case its viewer has the whole tip again, once; every capture once on both sides.
    expected = dict(start_totals)
    spent = {v.id: 100_000 for v in viewers}
    for tip_id, performer, amount, viewer in accepted:
        if str(tip_id) not in refunded:
            expected[performer] += amount - fee(amount)
            spent[viewer] -= amount
    for performer, amount, viewer in captured:
        expected[performer] += amount - fee(amount)
        spent[viewer] -= amount
    assert len(captured) > 10
    assert {p.id: total(sharded, p.id) for p in performers} == expected
    assert {v.id: total(sharded, v.id) for v in viewers} == spent
    ids = {str(t) for t, _p, _a, _v in accepted}
    assert len(ids) == len(accepted)
    received: list[str] = []
    for url in sharded.shards:
        with psycopg.connect(url) as conn:
            received += [str(r[0]) for r in conn.execute("SELECT id FROM lp.transfers_in").fetchall()]
    assert len(received) == len(set(received))


def test_a_purchase_through_the_router_completes_on_the_buyer_shard(sharded: Sharded) -> None:
    buyer = register(sharded, shard=1)
    with sharded.client() as client, client.session(token_for(sharded, buyer)) as tx:
        bundle = tx.list_bundles()[0]
        payment = tx.create_payment(bundle.code, "stripe", idempotency_key="buy-1")
    with Client(sharded.router, role="livepanty_service") as service:
        done = service.complete_payment(payment.id, "pi_123", idempotency_key="complete-1")
        again = service.complete_payment(payment.id, "pi_123", idempotency_key="complete-1")
        assert done.status == again.status == "completed"
        with pytest.raises(LivepantyError) as caught:  # a payment no shard holds: shard 0 says not found
            service.complete_payment(uuid.uuid4(), "pi_x", idempotency_key="complete-2")
        assert caught.value.sqlstate == "LP003"
    assert total(sharded, buyer.id) == bundle.tokens
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_chargeback_holds_the_payouts_of_a_performer_tipped_across_shards(sharded: Sharded) -> None:
    buyer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    token = token_for(sharded, buyer)
    with sharded.client() as client, client.session(token) as tx:
        bundle = tx.list_bundles()[0]
        payment = tx.create_payment(bundle.code, "stripe", idempotency_key="cb-buy")
    with Client(sharded.router, role="livepanty_service") as service:
        service.complete_payment(payment.id, "pi_cb", idempotency_key="cb-complete")
    with sharded.client() as client, client.session(token) as tx:
        tx.tip(performer.id, bundle.tokens // 2, idempotency_key="cb-tip")  # half the tokens, on shard 1
    shards.wait_for_relay(sharded.shards)
    with Client(sharded.router, role="livepanty_service") as service:
        service.chargeback_payment(payment.id, "card stolen", idempotency_key="cb-1")

    def payout_holds() -> list[tuple[uuid.UUID, str]]:
        with psycopg.connect(sharded.shards[1]) as conn:
            return conn.execute(
                "SELECT id, reason FROM lp.user_sanctions"
                " WHERE user_id = %s AND sanction_type = 'payout_hold'",
                [performer.id],
            ).fetchall()

    assert payout_holds() == []  # asked of shard 1, not yet delivered
    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.errors) == (1, [])
    [(_, reason)] = payout_holds()
    assert str(payment.id) in reason
    # A worker that died after applying, before marking: the request is applied again and changes nothing.
    with psycopg.connect(sharded.shards[0]) as conn:
        request = conn.execute(
            "SELECT id FROM lp.payout_hold_requests WHERE payment_id = %s",
            [payment.id],
        ).fetchone()
        conn.execute(
            "UPDATE lp.payout_hold_requests SET status = 'pending', delivered_at = NULL WHERE id = %s",
            [request[0]],
        )
    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.errors) == (0, [])
    assert len(payout_holds()) == 1
    with psycopg.connect(sharded.shards[0]) as conn:
        assert (
            conn.execute("SELECT status FROM lp.payout_hold_requests WHERE id = %s", [request[0]]).fetchone()[
                0
            ]
            == "delivered"
        )
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_chargeback_holds_a_performer_across_shards_whatever_else_she_is_under(sharded: Sharded) -> None:
    """As on one node (tests/sql/test_chargeback_reactions.sql): a payout_hold the performer is under for
    another matter (a moderator's for a day) does not stand in for the chargeback's, and a performer who
    deleted her account gets it all the same. Before, shard.apply_hold_request skipped the first (the hold
    then lapsed with the moderator's) and failed on the second with LP003 at every relay pass."""
    buyer = register(sharded, shard=0)
    timed = verified_performer(sharded, 1)
    deleted = verified_performer(sharded, 1)
    token = token_for(sharded, buyer)
    with sharded.client() as client, client.session(token) as tx:
        bundle = tx.list_bundles()[0]
        payment = tx.create_payment(bundle.code, "stripe", idempotency_key="cb2-buy")
    with Client(sharded.router, role="livepanty_service") as service:
        service.complete_payment(payment.id, "pi_cb2", idempotency_key="cb2-complete")
    with sharded.client() as client, client.session(token) as tx:
        tx.tip(timed.id, bundle.tokens // 2, idempotency_key="cb2-tip-1")
        tx.tip(deleted.id, bundle.tokens // 2, idempotency_key="cb2-tip-2")
    shards.wait_for_relay(sharded.shards)
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute(
            "SELECT lp.issue_sanction(%s, 'payout_hold', 'a moderator checks a document',"
            " now() + interval '1 day', NULL, NULL)",
            [timed.id],
        )
    with sharded.client() as client, client.session(token_for(sharded, deleted)) as tx:
        tx.delete_user()
    with Client(sharded.router, role="livepanty_service") as service:
        service.chargeback_payment(payment.id, "card stolen", idempotency_key="cb2-1")
    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.errors) == (2, [])
    with psycopg.connect(sharded.shards[1]) as conn:
        held = conn.execute(
            "SELECT user_id, count(*) FROM lp.user_sanctions WHERE sanction_type = 'payout_hold'"
            " AND revoked_at IS NULL AND ends_at IS NULL AND issued_by IS NULL AND user_id = ANY(%s)"
            " AND reason LIKE %s GROUP BY user_id",
            [[timed.id, deleted.id], f"%{payment.id}%"],
        ).fetchall()
    assert dict(held) == {timed.id: 1, deleted.id: 1}
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def _charged_back_buyer(s: Sharded, performers: list[Any], key: str) -> tuple[Any, uuid.UUID]:
    """A buyer on shard 0 who buys tokens, tips each performer an equal share across shards and charges the
    payment back; returns the payment and the buyer's fraud case (on shard 0)."""
    buyer = register(s, shard=0)
    token = token_for(s, buyer)
    with s.client() as client, client.session(token) as tx:
        bundle = tx.list_bundles()[0]
        payment = tx.create_payment(bundle.code, "stripe", idempotency_key=f"{key}-buy")
    with Client(s.router, role="livepanty_service") as service:
        service.complete_payment(payment.id, f"pi_{key}", idempotency_key=f"{key}-complete")
    with s.client() as client, client.session(token) as tx:
        for n, performer in enumerate(performers):
            tx.tip(performer.id, bundle.tokens // (len(performers) + 1), idempotency_key=f"{key}-tip-{n}")
    shards.wait_for_relay(s.shards)
    with Client(s.router, role="livepanty_service") as service:
        service.chargeback_payment(payment.id, "card stolen", idempotency_key=f"{key}-cb")
    with psycopg.connect(s.shards[0]) as conn:
        [(case_id,)] = conn.execute(
            "SELECT DISTINCT case_id FROM lp.payout_hold_requests WHERE payment_id = %s", [payment.id]
        ).fetchall()
    return payment, case_id


def _dismiss(s: Sharded, moderator, case_id: uuid.UUID) -> None:
    """The moderator claims the case through the router (the queue's earlier cases claimed and released) and
    dismisses it."""
    with s.client() as client, client.session(token_for(s, moderator)) as tx:
        claimed = [tx.claim_case()]
        while claimed[-1] is not None and claimed[-1].id != case_id:
            claimed.append(tx.claim_case())
        for other in claimed[:-1]:
            tx.release_case(other.id)
        assert claimed[-1] is not None
        assert claimed[-1].id == case_id
        resolved = tx.resolve_case(case_id, "dismiss", "the card was not stolen", "fraud rule 1")
    assert resolved.status == "dismissed"


def _remote_hold(s: Sharded, payment_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The payout_hold request a chargeback on shard 0 asked of shard 1, and the sanction it issued there."""
    with psycopg.connect(s.shards[0]) as conn:
        [(request_id,)] = conn.execute(
            "SELECT id FROM lp.payout_hold_requests WHERE payment_id = %s", [payment_id]
        ).fetchall()
    with psycopg.connect(s.shards[1]) as conn:
        [(sanction_id,)] = conn.execute(
            "SELECT sanction_id FROM lp.payout_hold_receipts WHERE id = %s", [request_id]
        ).fetchall()
    return request_id, sanction_id


def _hold_state(s: Sharded, sanction_id: uuid.UUID) -> tuple[Any, ...]:
    with psycopg.connect(s.shards[1]) as conn:
        return conn.execute(
            "SELECT revoked_at IS NOT NULL, revoked_by, revoke_reason FROM lp.user_sanctions WHERE id = %s",
            [sanction_id],
        ).fetchone()


def _revoke_audits(s: Sharded, sanction_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with psycopg.connect(s.shards[1]) as conn:
        return conn.execute(
            "SELECT actor_id, details ->> 'case_id', details ->> 'case_shard' FROM lp.audit_logs"
            " WHERE action = 'sanction.revoke' AND details ->> 'sanction_id' = %s ORDER BY id",
            [str(sanction_id)],
        ).fetchall()


def test_a_dismissal_of_the_chargeback_case_lifts_the_payout_hold_on_another_shard_once(
    sharded: Sharded,
) -> None:
    """Dismissing the buyer's fraud case on shard 0 asks shard 1 to lift the payout_hold the chargeback's
    request issued there (lp.payout_hold_lifts); the relay delivers it once: revoked by the moderator (their
    stub made on shard 1), audited sanction.revoke with the case and its shard, the performer's pending appeal
    moot. Another buyer's case's payout_hold on the same performer stays. Before, the remote hold stayed until
    a moderator of shard 1 lifted it by hand."""
    performer = verified_performer(sharded, 1)
    moderator = moderator_on(sharded, 0)
    payment, case_id = _charged_back_buyer(sharded, [performer], "lift1")
    other_payment, other_case = _charged_back_buyer(sharded, [performer], "lift1b")
    assert other_case != case_id
    stats = shards.relay_once(sharded.shards)  # (the first hold went with the second buyer's tips)
    assert (stats.lifts, stats.errors) == (0, [])
    request_id, hold = _remote_hold(sharded, payment.id)
    _, other_hold = _remote_hold(sharded, other_payment.id)
    with sharded.client() as client, client.session(token_for(sharded, performer)) as tx:
        appeal = tx.appeal_sanction(hold, "I sold the buyer a show, nothing else")
    assert appeal.status == "pending"

    _dismiss(sharded, moderator, case_id)
    with psycopg.connect(sharded.shards[0]) as conn:
        asked = conn.execute(
            "SELECT details ->> 'payout_hold_lifts_asked' FROM lp.audit_logs"
            " WHERE action = 'case.resolve' AND target_id = %s",
            [str(case_id)],
        ).fetchone()[0]
        [(lift_id, lift_status)] = conn.execute(
            "SELECT id, status FROM lp.payout_hold_lifts WHERE hold_request_id = %s", [request_id]
        ).fetchall()
    assert (asked, lift_status) == ("1", "pending")
    assert _hold_state(sharded, hold)[0] is False  # asked, not yet delivered
    [backlog] = [r for r in shards.transfer_status(sharded.shards) if (r["shard"], r["peer"]) == (0, 1)]
    assert backlog["requests_pending"] == 1

    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.lifts, stats.errors) == (0, 1, [])
    revoked, revoked_by, reason = _hold_state(sharded, hold)
    assert (revoked, revoked_by) == (True, moderator.id)
    assert reason == "case dismissed"  # never the statement of reasons about the buyer
    assert _revoke_audits(sharded, hold) == [(moderator.id, str(case_id), "0")]
    assert _hold_state(sharded, other_hold) == (False, None, None)  # the other case's hold stays
    with psycopg.connect(sharded.shards[1]) as conn:
        assert conn.execute("SELECT status FROM lp.sanction_appeals WHERE id = %s", [appeal.id]).fetchone()[
            0
        ] == ("moot")
        assert conn.execute("SELECT 1 FROM lp.remote_users WHERE user_id = %s", [moderator.id]).fetchone()
        assert conn.execute(
            "SELECT outcome, sanction_id FROM lp.payout_hold_lift_receipts WHERE id = %s", [lift_id]
        ).fetchone() == ("lifted", hold)

    # Exactly once: a second pass finds nothing to claim, and a worker that died after applying, before
    # marking, has the lift applied again, which changes nothing.
    stats = shards.relay_once(sharded.shards)
    assert (stats.lifts, stats.errors) == (0, [])
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute(
            "UPDATE lp.payout_hold_lifts SET status = 'pending', delivered_at = NULL WHERE id = %s", [lift_id]
        )
    stats = shards.relay_once(sharded.shards)
    assert (stats.lifts, stats.errors) == (0, [])
    with psycopg.connect(sharded.shards[0]) as conn:
        status = conn.execute("SELECT status FROM lp.payout_hold_lifts WHERE id = %s", [lift_id]).fetchone()[
            0
        ]
    assert status == "delivered"
    assert _revoke_audits(sharded, hold) == [(moderator.id, str(case_id), "0")]
    assert _hold_state(sharded, other_hold) == (False, None, None)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_dismissal_leaves_a_remote_payout_hold_a_moderator_lifted_by_hand_after_a_chargeback(
    sharded: Sharded,
) -> None:
    """A payout_hold a moderator of the performer's shard lifted before the buyer's case was dismissed stays
    as that moderator left it: the lift is recorded (already_lifted) and writes nothing else."""
    performer = verified_performer(sharded, 1)
    dismisser = moderator_on(sharded, 0)
    by_hand = moderator_on(sharded, 1)
    payment, case_id = _charged_back_buyer(sharded, [performer], "lift2")
    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.errors) == (1, [])
    _, hold = _remote_hold(sharded, payment.id)
    with sharded.client() as client, client.session(token_for(sharded, by_hand)) as tx:
        tx.revoke_sanction(hold, "the tips paid for a show, checked")  # routed to shard 1
    before = _hold_state(sharded, hold)
    assert before == (True, by_hand.id, "the tips paid for a show, checked")

    _dismiss(sharded, dismisser, case_id)
    stats = shards.relay_once(sharded.shards)
    assert (stats.lifts, stats.errors) == (1, [])
    assert _hold_state(sharded, hold) == before
    assert [a[0] for a in _revoke_audits(sharded, hold)] == [by_hand.id]  # the hand's lift only
    with psycopg.connect(sharded.shards[1]) as conn:
        assert conn.execute(
            "SELECT outcome FROM lp.payout_hold_lift_receipts WHERE sanction_id = %s", [hold]
        ).fetchone()[0] == ("already_lifted")
    stats = shards.relay_once(sharded.shards)
    assert (stats.lifts, stats.errors) == (0, [])


def test_a_dismissal_before_the_chargebacks_hold_arrived_lifts_it_after_it_arrives(sharded: Sharded) -> None:
    """The lift waits for its hold request: a case dismissed while the payout_hold request is still pending
    (here refused by the performer's shard at first) leaves the lift unclaimed; once the hold request is
    delivered, the same pass delivers the lift after it, and the hold ends lifted."""
    performer = verified_performer(sharded, 1)
    moderator = moderator_on(sharded, 0)
    payment, case_id = _charged_back_buyer(sharded, [performer], "lift3")
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute(  # a user who does not live on shard 1: refused there (LP199), stays pending
            "UPDATE lp.payout_hold_requests SET performer_id = %s WHERE payment_id = %s",
            [moderator.id, payment.id],
        )
    _dismiss(sharded, moderator, case_id)
    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.lifts) == (0, 0)
    assert len(stats.errors) == 1
    assert "payout hold request" in stats.errors[0]
    with psycopg.connect(sharded.shards[0]) as conn:
        lift = conn.execute(
            "SELECT l.status, l.attempts, l.last_error FROM lp.payout_hold_lifts AS l"
            " JOIN lp.payout_hold_requests AS h ON h.id = l.hold_request_id WHERE h.payment_id = %s",
            [payment.id],
        ).fetchone()
        assert lift == ("pending", 0, None)  # never claimed: its hold request is not delivered
        conn.execute(
            "UPDATE lp.payout_hold_requests SET performer_id = %s WHERE payment_id = %s",
            [performer.id, payment.id],
        )
    stats = shards.relay_once(sharded.shards)
    assert (stats.holds, stats.lifts, stats.errors) == (1, 1, [])
    _, hold = _remote_hold(sharded, payment.id)
    assert _hold_state(sharded, hold)[:2] == (True, moderator.id)
    assert [a[1:] for a in _revoke_audits(sharded, hold)] == [(str(case_id), "0")]


#: Our functions on a database: every schema but the system's, extension members left out.
_OUR_FUNCTIONS = (
    "SELECT p.oid::regprocedure::text FROM pg_proc AS p"
    " WHERE p.pronamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')"
    " AND p.pronamespace::regnamespace::text !~ '^pg_'"
    " AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_proc'::regclass"
    " AND d.objid = p.oid AND d.deptype = 'e')"
)


@pytest.mark.parametrize("where", ["shard", "router"])
def test_no_function_of_a_shard_or_the_router_takes_an_advisory_lock(sharded: Sharded, where: str) -> None:
    """README, "Locks nobody else can take": any login can take any advisory key, so a function that waits on
    one can be held up by anyone. Scans every function of every schema of a shard (shard, lp, api, ...) and of
    the router (router, router_proxy, router_views, api, ...); tests/py/test_admin_lock.py scans one node.
    Failed on shard.apply_sanction_request, which took pg_advisory_xact_lock on its request id."""
    dsn = sharded.shards[0] if where == "shard" else sharded.router
    with psycopg.connect(dsn, autocommit=True) as conn:
        by_schema = _OUR_FUNCTIONS.replace("p.oid::regprocedure::text", "p.pronamespace::regnamespace::text")
        schemas = {r[0] for r in conn.execute(by_schema)}
        assert {"lp", "api", "shard" if where == "shard" else "router"} <= schemas  # not vacuous
        rows = conn.execute(f"{_OUR_FUNCTIONS} AND p.prosrc ~* 'pg_(try_)?advisory'").fetchall()
    assert rows == []


@pytest.mark.parametrize("where", ["shard", "router"])
def test_only_the_identity_functions_call_lp_set_identity(sharded: Sharded, where: str) -> None:
    """docs/CONVENTIONS.md, "Who is acting": on a shard only api.authenticate, api.act_as and shard.act
    (which only livepanty_router may run) call lp.set_identity; on the router its own api.authenticate and
    api.act_as. No role but the owner may execute lp.set_identity (tests/sql/test_catalog_security.sql: one
    node)."""
    dsn = sharded.shards[0] if where == "shard" else sharded.router
    expected = {"api.authenticate(text)", "api.act_as(uuid,text)"}
    if where == "shard":
        expected.add("shard.act(integer,uuid,uuid,text)")
    with psycopg.connect(dsn, autocommit=True) as conn:
        callers = {
            r[0]
            for r in conn.execute(
                f"{_OUR_FUNCTIONS} AND p.prosrc ~ 'lp\\.set_identity\\s*\\('"
                " AND p.oid <> 'lp.set_identity(uuid, uuid, text)'::regprocedure"
            )
        }
        executors = conn.execute(
            "SELECT r.rolname FROM pg_roles AS r"
            " WHERE NOT r.rolsuper AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER')"
            " AND has_function_privilege(r.oid, 'lp.set_identity(uuid, uuid, text)', 'EXECUTE')"
        ).fetchall()
        shard_act = conn.execute(
            "SELECT r.rolname FROM pg_roles AS r"
            " WHERE NOT r.rolsuper AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER')"
            " AND to_regprocedure('shard.act(integer, uuid, uuid, text)') IS NOT NULL"
            " AND has_function_privilege(r.oid, 'shard.act(integer, uuid, uuid, text)', 'EXECUTE')"
        ).fetchall()
    assert (callers, executors) == (expected, [])
    assert shard_act == ([("livepanty_router",)] if where == "shard" else [])


@pytest.mark.parametrize("where", ["shard", "router"])
def test_plpgsql_check_finds_no_error_in_the_routing_code(sharded: Sharded, where: str) -> None:
    """Every PL/pgSQL function of the shard schema (shard 0) and of the router (its schemas, the views' routes
    and its routed api functions) checked by plpgsql_check: no error (warnings are the catalog test's
    business)."""
    dsn = sharded.shards[0] if where == "shard" else sharded.router
    schemas = ["shard"] if where == "shard" else ["router", "router_views", "api"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
        try:
            functions = [
                r[0]
                for r in conn.execute(
                    "SELECT p.oid::regprocedure::text"
                    " FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang"
                    " WHERE l.lanname = 'plpgsql' AND p.pronamespace::regnamespace::text = ANY (%s)",
                    [schemas],
                ).fetchall()
            ]
            assert len(functions) > 10
            errors = []
            for function in functions:
                rows = conn.execute(
                    "SELECT level, message"
                    " FROM plpgsql_check_function_tb(%s::regprocedure, fatal_errors => false)"
                    " WHERE level = 'error'",
                    [function],
                ).fetchall()
                errors += [f"{function}: {message}" for _level, message in rows]
        finally:
            conn.execute("DROP EXTENSION plpgsql_check")
    assert not errors, errors


def test_the_live_listing_merges_every_shard_with_keyset_pages(sharded: Sharded) -> None:
    hosts = [verified_performer(sharded, i) for i in (0, 1, 1)]
    started = []
    with sharded.client() as client:
        for host in hosts:
            with client.session(token_for(sharded, host)) as tx:
                stream = go_live(tx, "merge " + host.username)
                started.append(stream.id)
        viewer = register(sharded, shard=0)
        with client.session(token_for(sharded, viewer)) as tx:
            everything = tx.list_live_streams(limit=200)
            pages, after = [], None
            while True:
                page = tx.list_live_streams(
                    limit=1,
                    after_viewers=after.viewers if after else None,
                    after_id=after.id if after else None,
                )
                if not page:
                    break
                pages += page
                after = page[-1]
    ours = [s.id for s in everything if s.id in started]
    assert sorted(ours) == sorted(started)  # streams of both shards
    assert {shard_of(sharded, s.host_id) for s in everything if s.id in started} == {0, 1}
    assert [(s.viewers, s.id) for s in everything] == sorted(
        ((s.viewers, s.id) for s in everything), reverse=True
    )
    assert [s.id for s in pages] == [s.id for s in everything]  # one row per page: the same listing


def test_users_of_another_shard_act_there_through_stubs(sharded: Sharded) -> None:
    host = verified_performer(sharded, 1)
    viewer = register(sharded, shard=0)
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = tx.schedule_stream("stub night", category="general")
            tx.consent_to_stream(stream.id, ip_address="203.0.113.10")
            started = tx.start_stream(stream.id)
        with Client(sharded.router, role="livepanty_service") as ingest:  # the ingest service
            assert ingest.check_stream_key(started.stream_key).id == stream.id
            with pytest.raises(LivepantyError) as caught:
                ingest.check_stream_key("k" * 43)
            assert caught.value.sqlstate == "LP122"
        assert client.count_guest(stream.id) == 1  # a visitor not logged in, counted on the stream's shard
        with client.session(token_for(sharded, viewer)) as tx:  # the stream lives on shard 1, the viewer on 0
            tx.join_stream(stream.id)
            assert tx.get_stream(stream.id).id == stream.id
        with client.session(token_for(sharded, host)) as tx:
            assert viewer.id in {v.user_id for v in tx.list_stream_viewers(stream.id)}
    with psycopg.connect(sharded.shards[1]) as conn:
        stub = conn.execute(
            "SELECT u.username::text, u.role::text, u.email::text, u.date_of_birth, r.home_shard"
            " FROM lp.users AS u JOIN lp.remote_users AS r ON r.user_id = u.id WHERE u.id = %s",
            [viewer.id],
        ).fetchone()
    assert stub[:2] == (viewer.username, "viewer")
    assert viewer.email.lower() not in stub[2].lower()  # no address of theirs on the other shard
    assert (str(stub[3]), stub[4]) == ("1900-01-01", 0)
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)  # a stub is no resident
    assert report.clean, report.problems


def test_a_stub_whose_name_a_user_there_holds_still_acts_and_is_credited(sharded: Sharded) -> None:
    """Two users of one name on two shards (left by the placement before names were trimmed, or an orphan):
    a user of shard 0 whose name a user of shard 1 holds acts on shard 1 (a stub made by the router) and tips
    there (a stub made by the relay): each stub takes a name of its own (remote_ and hex digits of the id),
    the call answers and the tip is credited once. Before, the stub's insert skipped the clash silently and
    the next insert failed with a raw foreign key error (23503): the call failed, and the tip stayed in
    transit."""
    performer = verified_performer(sharded, 1)
    acting, tipping = register(sharded, shard=0), register(sharded, shard=0)
    fund(sharded, tipping.id, 300)
    holders = [
        orphan(sharded, 1, user.username.upper(), f"h{uuid.uuid4().hex[:8]}@example.com")
        for user in (acting, tipping)
    ]
    shards.wait_for_relay(sharded.shards)
    with sharded.client() as client:
        with client.session(token_for(sharded, acting)) as tx:
            assert tx.public_profile(performer.id) is not None  # routed to shard 1: the stub is made there
        with client.session(token_for(sharded, tipping)) as tx:
            tip = tx.tip(performer.id, 100, idempotency_key="clash-1")
    stats = shards.relay_once(sharded.shards)
    assert (stats.failed, stats.errors) == (0, [])
    assert total(sharded, performer.id) == 100 - fee(100)
    with psycopg.connect(sharded.shards[0]) as conn:
        assert conn.execute("SELECT status FROM lp.transfers_out WHERE id = %s", [tip.id]).fetchone() == (
            "delivered",
        )
    with psycopg.connect(sharded.shards[1]) as conn:
        names = dict(
            conn.execute(
                "SELECT id, username::text FROM lp.users WHERE id = ANY (%s)",
                [[acting.id, tipping.id, *holders]],
            ).fetchall()
        )
        assert conn.execute("SELECT sender_id FROM lp.tips WHERE id = %s", [tip.id]).fetchone() == (
            tipping.id,
        )
    for user, holder in zip((acting, tipping), holders, strict=True):
        assert names[holder] == user.username.upper()  # the user of shard 1 keeps their name
        assert names[user.id] == "remote_" + user.id.hex[:23]
    # Leave the module's installation clean: the two registrations the directory lacks are discarded.
    assert shards.adopt_orphans(sharded.router, sharded.shards, grace=timedelta(0)).discarded == 2
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_replays_are_flagged_through_the_router(sharded: Sharded) -> None:
    """A money call answered from its key on a shard is flagged ``replayed`` through the router, as on one
    node (the shard returns its replay note with the result, the route notes it again): a same-shard tip, a
    cross-shard tip and a purchase; the first call of each is not flagged."""
    viewer = register(sharded, shard=0)
    near, far = verified_performer(sharded, 0), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    seen = {}
    with sharded.client() as client:
        for name, call in (
            ("same-shard tip", lambda tx: tx.tip(near.id, 100, idempotency_key="r-near")),
            ("cross-shard tip", lambda tx: tx.tip(far.id, 100, idempotency_key="r-far")),
            ("create_payment", lambda tx: tx.create_payment("small", "stripe", idempotency_key="r-buy")),
        ):
            with client.session(token) as tx:
                first = call(tx)
            with client.session(token) as tx:
                second = call(tx)
            assert first == second, name
            seen[name] = (first.replayed, second.replayed)
    assert seen == dict.fromkeys(("same-shard tip", "cross-shard tip", "create_payment"), (False, True))
    assert total(sharded, viewer.id) == 800  # each tip debited once


def test_an_admin_is_created_through_the_router_and_the_directory(sharded: Sharded) -> None:
    """api.create_admin is placed and recorded as a registration: the back office may create an admin, who
    logs in through the router; the application may not (42501, as on one node); a taken name is LP016."""
    name = "boss" + uuid.uuid4().hex[:8]
    with Client(sharded.router) as service:
        admin = service.create_admin(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1980-01-01"
        )
        assert admin.role == "admin"
        with pytest.raises(UsernameTaken):
            service.create_admin(
                email=f"x{name}@example.com", username=name, password=PASSWORD, date_of_birth="1980-01-01"
            )
    assert shard_of(sharded, admin.id) == placed(sharded, name)
    with sharded.client() as client:
        with pytest.raises(LivepantyError) as caught:
            client.create_admin(
                email=f"y{name}@example.com",
                username="y" + name,
                password=PASSWORD,
                date_of_birth="1980-01-01",
            )
        assert caught.value.sqlstate == "42501"
        token = token_for(sharded, admin)
        with client.session(token) as tx:
            assert [u.id for u in tx.list_users(role="admin") if u.id == admin.id] == [admin.id]
        with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
            tx.list_users(limit=0)  # the shards refuse the limit, as one node does (not an empty page)
        assert caught.value.sqlstate == "LP018"
    with Client(sharded.router) as service:
        with pytest.raises(LivepantyError) as caught, service.acting_as(uuid.uuid4(), reason="test") as tx:
            tx.get_preferences()
        assert caught.value.sqlstate == "LP003"  # an unknown user, in a single node's words


def test_the_ledger_is_verified_on_every_shard_through_the_router(sharded: Sharded) -> None:
    """api.verify_ledger, api.verify_ledger_period, api.ledger_stats and api.ledger_periods run on every shard
    (RUN ON ALL): a forged entry on one shard is reported through the router, clean again once undone;
    api.ledger_totals is the sum of the shards' totals."""
    viewer = register(sharded, shard=0)
    fund(sharded, viewer.id, 500)
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tx.tip(verified_performer(sharded, 1).id, 100, idempotency_key="v-far")
    shards.wait_for_relay(sharded.shards)

    def forge(delta: int) -> None:
        with psycopg.connect(sharded.shards[1], autocommit=True) as conn:
            conn.execute("ALTER TABLE lp.ledger DISABLE TRIGGER ledger_append_only")
            conn.execute(
                "UPDATE lp.ledger SET amount = amount + %(d)s, balance_after = balance_after + %(d)s"
                " WHERE id = (SELECT max(id) FROM lp.ledger)",
                {"d": delta},
            )
            conn.execute("ALTER TABLE lp.ledger ENABLE TRIGGER ledger_append_only")

    with Client(sharded.router) as service:
        assert service.verify_ledger() == []
        totals = service.ledger_totals()  # the sum of the shards' totals, tokens in transit included
        per_shard = []
        for dsn in sharded.shards:
            with psycopg.connect(dsn) as conn:
                per_shard.append(conn.execute("SELECT * FROM api.ledger_totals()").fetchone())
        assert dataclasses.astuple(totals) == tuple(sum(column) for column in zip(*per_shard, strict=True))
        assert totals.issued >= 500
        assert totals.imbalance == 0
        chunks = service.ledger_stats(chunk_wallets=1000)
        assert sum(c.entries for c in chunks) > 0
        assert [c.chunk for c in chunks] == list(range(1, len(chunks) + 1))  # one numbering, no range twice
        assert len({(c.wallet_from, c.wallet_to) for c in chunks}) == len(chunks)
        forge(1)
        try:
            found = service.verify_ledger()
            assert found, "a forged entry on shard 1 is reported through the router"
            periods = service.ledger_periods()
            ranges = [(p.period_from, p.period_to) for p in periods]
            assert any(service.verify_ledger_period(period_from=a, period_to=b) for a, b in ranges)
        finally:
            forge(-1)
        assert service.verify_ledger() == []


def test_an_admin_acts_on_another_shard_and_a_demotion_follows(sharded: Sharded) -> None:
    admin = register(sharded, shard=0, prefix="a")
    other = register(sharded, shard=1)
    fund(sharded, other.id, 321)
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute("UPDATE lp.users SET role = 'admin' WHERE id = %s", [admin.id])
    token = token_for(sharded, admin)
    with sharded.client() as client:
        with client.session(token) as tx:
            assert tx.get_wallet(other.id).balance == 321  # routed to shard 1, where the admin has a stub
        with psycopg.connect(sharded.shards[0]) as conn:
            conn.execute("UPDATE lp.users SET role = 'viewer' WHERE id = %s", [admin.id])
        with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
            tx.get_wallet(other.id)
        assert caught.value.sqlstate in ("LP002", "LP003")
    with psycopg.connect(sharded.shards[1]) as conn:
        assert (
            conn.execute("SELECT role::text FROM lp.users WHERE id = %s", [admin.id]).fetchone()[0]
            == "viewer"
        )


def _stub_role(s: Sharded, shard: int, user_id) -> str | None:
    with psycopg.connect(s.shards[shard]) as conn:
        row = conn.execute(
            "SELECT u.role::text FROM lp.users AS u JOIN lp.remote_users AS r ON r.user_id = u.id"
            " WHERE u.id = %s",
            [user_id],
        ).fetchone()
    return row[0] if row else None


def _set_role(s: Sharded, admin, user_id, role: str) -> None:
    """An admin sets a user's role through the router (api.set_user_role)."""
    with s.client() as client, client.session(token_for(s, admin)) as tx:
        assert tx.set_user_role(user_id, role).role == role


def test_a_demoted_moderator_keeps_no_power_on_another_shard_whatever_they_tipped_there(
    sharded: Sharded,
) -> None:
    """A moderator of shard 0 with a stub on shard 1 tips a performer there (by the relay, and delivered at
    once), then is demoted through the router: the stub on shard 1 is a viewer at once, and a read only staff
    may make there is refused (LP003, as on one node). Before, a delivery carried the sender's role to the
    stub (shard.transfer_in), which router.stubs did not record: the demoted user kept reading other users'
    addresses on shard 1."""
    admin = created_admin(sharded, shard=0)
    user = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, user.id, 1000)
    token = token_for(sharded, user)
    with sharded.client() as client:
        with client.session(token) as tx:
            assert tx.public_profile(performer.id) is not None  # a stub on shard 1, as a viewer
        assert _stub_role(sharded, 1, user.id) == "viewer"
        _set_role(sharded, admin, user.id, "moderator")
        assert _stub_role(sharded, 1, user.id) == "moderator"  # the role reached the stub at once
        with client.session(token) as tx:
            assert tx.get_user(performer.id).email == performer.email  # staff read it on shard 1
            tips = [tx.tip(performer.id, 50, idempotency_key="demoted-relay").id]
        shards.relay_once(sharded.shards)
        shards.delivery_at_once(sharded.router, True)
        try:
            with client.session(token) as tx:
                tips.append(tx.tip(performer.id, 60, idempotency_key="demoted-at-once").id)
        finally:
            shards.delivery_at_once(sharded.router, False)
        assert total(sharded, performer.id) == 110 - fee(50) - fee(60)  # both credited
        _set_role(sharded, admin, user.id, "viewer")
        assert _stub_role(sharded, 1, user.id) == "viewer"  # at once, before they act there again
        with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
            tx.get_user(performer.id)
        assert caught.value.sqlstate == "LP003"
        with client.session(token) as tx:  # the tips are still theirs to read
            assert {t.id for t in tx.list_tips()} >= set(tips)
    with psycopg.connect(sharded.router) as conn:
        assert conn.execute("SELECT role FROM router.users WHERE user_id = %s", [user.id]).fetchone() == (
            "viewer",
        )
    assert _stub_role(sharded, 1, user.id) == "viewer"


def test_a_tip_claimed_before_a_demotion_gives_the_stub_no_old_role_back(sharded: Sharded) -> None:
    """The relay claims a moderator's cross-shard tip (the claim carries the role they had then), the
    moderator is demoted and acts on the performer's shard as a viewer, and only then is the claimed tip
    applied there: the stub stays a viewer (shard.transfer_in makes a missing stub, never changes one's role).
    Before, the late delivery made the stub a moderator again behind router.stubs, which still said viewer."""
    admin = created_admin(sharded, shard=0)
    user = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, user.id, 500)
    shards.wait_for_relay(sharded.shards)  # nothing of earlier tests in the claim below
    _set_role(sharded, admin, user.id, "moderator")
    token = token_for(sharded, user)
    with sharded.client() as client:
        with client.session(token) as tx:
            assert tx.get_user(performer.id).id == performer.id  # a moderator's stub on shard 1
            tip = tx.tip(performer.id, 40, idempotency_key="late-claim")
        with psycopg.connect(sharded.shards[0]) as source:  # the relay's claim, in its open transaction
            claimed = source.execute(
                "SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') FROM shard.claim_transfers(0, 1, 1000) AS c"
            ).fetchone()[0]
            assert [(c["id"], c["sender_role"]) for c in claimed] == [(str(tip.id), "moderator")]
            _set_role(sharded, admin, user.id, "viewer")
            with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
                tx.get_user(performer.id)
            assert caught.value.sqlstate == "LP003"
            with psycopg.connect(sharded.shards[1]) as target:  # the claimed tip arrives now
                applied = target.execute(
                    "SELECT id, applied FROM shard.transfer_in_many(1, 0, %s)", [Jsonb(claimed)]
                ).fetchall()
            assert applied == [(tip.id, True)]
            source.execute("SELECT shard.mark_delivered(0, %s)", [[tip.id]])
        assert total(sharded, performer.id) == 40 - fee(40)
        assert _stub_role(sharded, 1, user.id) == "viewer"
        with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
            tx.get_user(performer.id)
        assert caught.value.sqlstate == "LP003"


def test_acting_for_a_demoted_admin_gives_no_admin_power_on_another_shard(sharded: Sharded) -> None:
    """The back office acts for an admin of shard 0 (api.act_as through the router) on a user of shard 1; the
    admin is demoted on their shard; acting for them again, the router takes the role their shard reports, as
    api.authenticate does, and their stub on shard 1 is a viewer before the call: refused as on one node.
    Before, api.act_as left the directory's role as it was, and the stub on shard 1 stayed an admin."""
    admin = created_admin(sharded, shard=0)
    other = register(sharded, shard=1)
    fund(sharded, other.id, 5)
    with Client(sharded.router, role="livepanty_service") as service:
        with service.acting_as(admin.id, reason="support ticket 1") as tx:
            assert tx.get_wallet(other.id).balance == 5  # an admin's stub on shard 1
            assert tx.get_user(other.id).email == other.email
        assert _stub_role(sharded, 1, admin.id) == "admin"
        with psycopg.connect(sharded.shards[0]) as conn:  # on their shard, not through the router
            conn.execute("UPDATE lp.users SET role = 'viewer' WHERE id = %s", [admin.id])
        for read in (lambda tx: tx.get_user(other.id), lambda tx: tx.get_wallet(other.id)):
            with (
                pytest.raises(LivepantyError) as caught,
                service.acting_as(admin.id, reason="ticket 2") as tx,
            ):
                read(tx)
            assert caught.value.sqlstate in ("LP002", "LP003")
        with service.acting_as(admin.id, reason="ticket 3") as tx:  # a transaction that commits
            assert tx.get_user().role == "viewer"
    assert _stub_role(sharded, 1, admin.id) == "viewer"
    with psycopg.connect(sharded.router) as conn:
        assert conn.execute("SELECT role FROM router.users WHERE user_id = %s", [admin.id]).fetchone() == (
            "viewer",
        )


def test_a_user_has_one_pseudonym_and_a_staff_member_one_label_on_every_shard(sharded: Sharded) -> None:
    """Every shard has the same pseudonym key (shards.install gives them shard 0's): the reporting views of
    two shards join (a cross-shard tip on the performer's shard names its sender as the sender's own shard's
    reporting.users does), and a staff member's label is the same on every shard."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    admin = register(sharded, shard=0, prefix="a")
    fund(sharded, viewer.id, 100)
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute("UPDATE lp.users SET role = 'admin' WHERE id = %s", [admin.id])
    with sharded.client() as client:
        with client.session(token_for(sharded, viewer)) as tx:
            tip = tx.tip(performer.id, 10, idempotency_key="pseudo-1")
        with client.session(token_for(sharded, admin)) as tx:
            tx.get_wallet(performer.id)  # the admin's stub on shard 1
    shards.wait_for_relay(sharded.shards)
    key = "(SELECT value FROM lp.secrets WHERE name = 'pseudonym')"
    with psycopg.connect(sharded.shards[0]) as home, psycopg.connect(sharded.shards[1]) as away:
        keys = {c.execute(f"SELECT encode(sha256({key}), 'hex')").fetchone()[0] for c in (home, away)}
        sender = home.execute(
            f"SELECT id FROM reporting.users WHERE id = lp.pseudonym(%s::text, {key})", [viewer.id]
        ).fetchone()
        tipped = away.execute(
            f"SELECT sender_id FROM reporting.tips WHERE id = lp.pseudonym(%s::text, {key})", [tip.id]
        ).fetchone()
        labels = [c.execute("SELECT lp.staff_label(%s)", [admin.id]).fetchone()[0] for c in (home, away)]
    assert len(keys) == 1
    assert sender is not None
    assert tipped == sender
    assert labels[0] == labels[1]
    assert labels[0].startswith("admin #")


def test_an_admin_reads_and_ends_sessions_and_payments_of_a_user_of_another_shard(sharded: Sharded) -> None:
    """The calls that name a user (or their session, payment or stream) reach that user's shard, not the
    admin's: routed by the actor, an admin on shard 0 saw no sessions and no payments of a user on shard 1,
    revoked nothing and could not end their stream. A user's own calls (no user named) stay on their shard."""
    admin = created_admin(sharded, shard=0)
    other = register(sharded, shard=1)
    host = verified_performer(sharded, 1)
    first, second, third = (token_for(sharded, other) for _ in range(3))
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "ended by an admin")
        with client.session(token_for(sharded, admin)) as tx:
            ended_stream = tx.end_stream(stream.id, reason="terms of service")
        with client.session(first) as tx:
            payment = tx.create_payment("small", "test", idempotency_key="sessions-1")
            own = tx.list_sessions()
        with client.session(token_for(sharded, admin)) as tx:
            theirs = tx.list_sessions(other.id)
            payments = tx.list_payments(user_id=other.id)
            looked_up = tx.get_payment(payment.id)
            revoked = tx.revoke_session(own[0].id)
        with client.session(second) as tx:
            assert tx.revoke_session().revoke_reason == "logout"  # their own current one, on their shard
        with client.session(token_for(sharded, admin)) as tx:
            ended = tx.revoke_all_sessions(other.id)
        for token in (first, second, third):
            with pytest.raises(InvalidSession):
                client.authenticate(token)
    assert {s.id for s in theirs} == {s.id for s in own}
    assert len(own) == 3
    assert [p.id for p in payments] == [payment.id]
    assert looked_up.id == payment.id
    assert (ended_stream.id, ended_stream.status) == (stream.id, "ended")
    assert revoked.user_id == other.id
    assert revoked.revoked_at is not None
    assert ended == 1  # the third: the first was revoked by id, the second by its owner


def _setting(s: Sharded, key: str, value: str | None = None) -> str:
    """A setting's JSON text on shard 0; with ``value``, set on every shard first."""
    for url in s.shards if value is not None else []:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE lp.settings SET value = %s::jsonb WHERE key = %s", [value, key])
    with psycopg.connect(s.shards[0]) as conn:
        return conn.execute("SELECT value::text FROM lp.settings WHERE key = %s", [key]).fetchone()[0]


def test_an_admins_list_of_everyones_payments_and_payouts_merges_every_shard(sharded: Sharded) -> None:
    """api.list_payments / api.list_payouts of everyone's (an admin naming no user; the payout review queue)
    merge every shard's page after the cursor's key, newest first, with keyset pages as on one node; naming a
    user reads that user's shard; a user's own list stays on their shard. Routed by the actor, an admin saw
    only their own shard's."""
    saved = {key: _setting(sharded, key) for key in ("payouts.hold_days", "payouts.min_tokens")}
    try:
        _setting(sharded, "payouts.hold_days", "0")
        _setting(sharded, "payouts.min_tokens", "1")
        admin = created_admin(sharded, shard=0)
        buyers = [register(sharded, shard=k) for k in (0, 1, 1)]
        performers = [verified_performer(sharded, k) for k in (0, 1)]
        fans = [register(sharded, shard=k) for k in (0, 1)]
        payments, payouts = [], []
        with sharded.client() as client:
            for buyer in buyers:
                with client.session(token_for(sharded, buyer)) as tx:
                    payments.append(tx.create_payment("small", "test", idempotency_key="merge-pay").id)
            for fan, performer in zip(fans, performers, strict=True):
                fund(sharded, fan.id, 500)
                with client.session(token_for(sharded, fan)) as tx:
                    tx.tip(performer.id, 400, idempotency_key="merge-tip")  # same shard: earnings at once
                with client.session(token_for(sharded, performer)) as tx:
                    payouts.append(tx.request_payout(100, "paypal", idempotency_key="merge-out").id)
            with client.session(token_for(sharded, admin)) as tx:
                all_payments = tx.list_payments(limit=1000)
                all_payouts = tx.list_payouts(limit=1000)
                requested = tx.list_payouts(status="requested", limit=1000)
                paged_payments = _pages(lambda after: tx.list_payments(after=after, limit=1))
                paged_payouts = _pages(lambda after: tx.list_payouts(after=after, limit=2))
                one_users = tx.list_payments(user_id=buyers[2].id)
            with pytest.raises(LivepantyError) as unknown, client.session(token_for(sharded, admin)) as tx:
                tx.list_payouts(after=uuid.uuid4())
            with client.session(token_for(sharded, buyers[1])) as tx:
                own = tx.list_payments()
    finally:
        for key, value in saved.items():
            _setting(sharded, key, value)
    assert set(payments) <= {p.id for p in all_payments}
    assert {shard_of(sharded, p.user_id) for p in all_payments if p.id in payments} == {0, 1}
    assert [(p.created_at, p.id) for p in all_payments] == sorted(
        ((p.created_at, p.id) for p in all_payments), reverse=True
    )
    assert [p.id for p in paged_payments] == [p.id for p in all_payments]
    assert set(payouts) <= {p.id for p in all_payouts}
    assert set(payouts) <= {p.id for p in requested}
    assert {p.status for p in requested} == {"requested"}
    assert [p.id for p in paged_payouts] == [p.id for p in all_payouts]
    assert [p.id for p in one_users] == [payments[2]]
    assert [p.id for p in own] == [payments[1]]
    assert unknown.value.sqlstate == "LP018"


def _pages(page: Any) -> list[Any]:
    """Every row of a keyset listing, page by page (``page(after)``, the last id of the previous page)."""
    rows: list[Any] = []
    after = None
    while True:
        got = page(after)
        if not got:
            return rows
        rows += got
        after = got[-1].id


def test_a_cross_shard_tip_in_a_stream_lands_there_with_its_goal_and_event(sharded: Sharded) -> None:
    host = verified_performer(sharded, 1)
    viewer = register(sharded, shard=0)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "goal night")
            goal = tx.add_tip_goal(stream.id, 150, "to the moon")
        with client.session(token_for(sharded, viewer)) as tx:
            tip = tx.tip(host.id, 100, idempotency_key="stream-1", stream_id=stream.id, message="go go")
            assert tip.stream_id == stream.id
        shards.wait_for_relay(sharded.shards)
        with client.session(token_for(sharded, host)) as tx:
            stats = tx.stream_stats(stream.id)
            goals = tx.stream_goals(stream.id)
            events = tx.stream_events(stream.id)
            received = tx.list_tips(as_="recipient")
            board = tx.stream_top_tippers(stream.id)
            week = tx.performer_top_tippers(host.id)
    assert (stats.tip_count, stats.tokens_tipped) == (1, 100)
    assert [(g.id, g.progress_tokens) for g in goals] == [(goal.id, 100)]
    tip_events = [e for e in events if e.kind == "tip"]
    assert [e.payload["tip_id"] for e in tip_events] == [str(tip.id)]
    assert tip_events[0].payload["message"] == "go go"
    assert tip.id in {t.id for t in received}
    # The leaderboards (the stream's, the performer's) live on their shard, with the other shard's tipper.
    assert [(t.tipper_id, t.tipper_name, t.tokens) for t in board] == [(viewer.id, viewer.username, 100)]
    assert [(t.tipper_id, t.tokens) for t in week] == [(viewer.id, 100)]
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_the_settle_job_through_the_router_counts_every_shards_work(sharded: Sharded) -> None:
    """api.settle_tip_goals through the router runs on every shard and answers one row of counts, each the sum
    over the shards: it answered the union of the shards' rows, of which the client kept one shard's (two tips
    refunded, one on each shard, read as one)."""
    hosts = [verified_performer(sharded, 0), verified_performer(sharded, 1)]
    viewers = [register(sharded, shard=0), register(sharded, shard=1)]
    with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
        service.settle_tip_goals()  # whatever earlier tests left to settle
        goals = []
        for i, (host, viewer) in enumerate(zip(hosts, viewers, strict=True)):
            fund(sharded, viewer.id, 100)
            with client.session(token_for(sharded, host)) as tx:
                stream = go_live(tx, f"settle counts {i}")
                goal = tx.add_tip_goal(
                    stream.id, 1000, "far off", deadline=datetime.now(UTC) + timedelta(hours=1),
                    refund_if_missed=True,
                )  # fmt: skip
            with client.session(token_for(sharded, viewer)) as tx:  # the viewer of the host's own shard
                tx.tip(host.id, 30, idempotency_key=f"settle-counts-{i}", stream_id=stream.id)
            goals.append((host, goal))
        for host, goal in goals:
            with client.session(token_for(sharded, host)) as tx:
                tx.cancel_tip_goal(goal.id)
        settled = service.settle_tip_goals()
        assert (settled.tips_paid, settled.tips_refunded) == (0, 2)
        assert service.settle_tip_goals().tips_refunded == 0
    assert [total(sharded, v.id) for v in viewers] == [100, 100]  # each tip came back whole
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_a_cross_shard_tip_counts_toward_the_goal_active_when_it_was_sent(sharded: Sharded) -> None:
    """As on one node, a tip counts toward the goal that was active when it was made, not toward one activated
    while it was in transit: its shard's time of sending picks the goal on arrival. A tip sent before any goal
    counts toward none; one sent toward a goal cancelled before the relay ran still counts toward it, waits in
    its escrow and goes back whole."""
    host = verified_performer(sharded, 0)
    viewer = register(sharded, shard=1)
    fund(sharded, viewer.id, 1000)
    with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "goal timing")
        with client.session(token_for(sharded, viewer)) as tx:
            before = tx.tip(host.id, 40, idempotency_key="timing-1", stream_id=stream.id)
        with client.session(token_for(sharded, host)) as tx:
            first = tx.add_tip_goal(
                stream.id,
                1000,
                "first",
                deadline=datetime.now(UTC) + timedelta(hours=1),
                refund_if_missed=True,
            )
            second = tx.add_tip_goal(stream.id, 1000, "second")  # queued behind the first
        with client.session(token_for(sharded, viewer)) as tx:
            during = tx.tip(host.id, 60, idempotency_key="timing-2", stream_id=stream.id)
        with client.session(token_for(sharded, host)) as tx:
            tx.cancel_tip_goal(first.id)  # the second becomes active while both tips are in transit
        shards.wait_for_relay(sharded.shards)
        with client.session(token_for(sharded, host)) as tx:
            progress = {g.id: (g.status, g.progress_tokens) for g in tx.stream_goals(stream.id)}
            received = {t.id: t.status for t in tx.list_tips("recipient")}
        assert progress == {first.id: ("cancelled", 60), second.id: ("active", 0)}
        assert received == {before.id: "completed", during.id: "escrowed"}
        assert service.settle_tip_goals().tips_refunded == 1
        shards.wait_for_relay(sharded.shards)
    assert total(sharded, viewer.id) == 1000 - 40  # the tip toward the cancelled goal came back whole
    assert total(sharded, host.id) == 40 - fee(40)
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_a_cross_shard_tip_toward_a_goal_that_refunds_waits_in_escrow_and_goes_back_once(
    sharded: Sharded,
) -> None:
    """A tip from a viewer of another shard toward a goal that refunds when missed waits in the goal escrow of
    the performer's shard (less the fee the viewer's shard kept). Missed: the settle job sends it back through
    the outbox and the relay gives the viewer the whole tip once (the fee too); reached: the performer is paid
    what the escrow held. Every shard's ledger and the reconciliation stay clean throughout."""
    host = verified_performer(sharded, 0)
    viewer, neighbour = register(sharded, shard=1), register(sharded, shard=0)
    fund(sharded, viewer.id, 1000)
    fund(sharded, neighbour.id, 1000)

    def clean() -> None:
        report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
        assert report.clean, report.problems

    with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "escrow night")
            missed = tx.add_tip_goal(
                stream.id, 500, "all or nothing", deadline=datetime.now(UTC) + timedelta(hours=1),
                refund_if_missed=True,
            )  # fmt: skip
        with client.session(token_for(sharded, viewer)) as tx:
            far = tx.tip(host.id, 100, idempotency_key="escrow-1", stream_id=stream.id)
        with client.session(token_for(sharded, neighbour)) as tx:
            near = tx.tip(host.id, 50, idempotency_key="escrow-2", stream_id=stream.id)
        assert near.status == "escrowed"
        clean()  # in transit
        shards.wait_for_relay(sharded.shards)
        clean()  # in escrow on the performer's shard
        with client.session(token_for(sharded, host)) as tx:
            received = {t.id: t.status for t in tx.list_tips("recipient")}
            goal = next(g for g in tx.stream_goals(stream.id) if g.id == missed.id)
            tx.cancel_tip_goal(missed.id)
        assert received == {far.id: "escrowed", near.id: "escrowed"}
        assert goal.progress_tokens == 150
        settled = service.settle_tip_goals()
        assert (settled.tips_paid, settled.tips_refunded) == (0, 2)
        assert total(sharded, neighbour.id) == 1000  # same shard: back at once
        assert total(sharded, viewer.id) == 900  # across shards: in transit back
        clean()
        shards.wait_for_relay(sharded.shards)
        assert shards.relay_once(sharded.shards).delivered == 0  # nothing twice
        assert total(sharded, viewer.id) == 1000  # the whole tip, the fee included
        assert total(sharded, host.id) == 0
        with client.session(token_for(sharded, viewer)) as tx:
            assert [(t.id, t.status) for t in tx.list_tips()] == [(far.id, "refunded")]
        assert service.settle_tip_goals().tips_refunded == 0
        clean()

        with client.session(token_for(sharded, host)) as tx:
            reached = tx.add_tip_goal(
                stream.id,
                100,
                "one more",
                deadline=datetime.now(UTC) + timedelta(hours=1),
                refund_if_missed=True,
            )
        with client.session(token_for(sharded, viewer)) as tx:
            paid = tx.tip(host.id, 100, idempotency_key="escrow-3", stream_id=stream.id)
        shards.wait_for_relay(sharded.shards)
        with client.session(token_for(sharded, host)) as tx:
            goal = next(g for g in tx.stream_goals(stream.id) if g.id == reached.id)
        assert goal.status == "reached"
        assert service.settle_tip_goals().tips_paid == 1
        shards.wait_for_relay(sharded.shards)
        assert total(sharded, host.id) == 100 - fee(100)
        assert total(sharded, viewer.id) == 900
        with client.session(token_for(sharded, viewer)) as tx:
            assert [(t.id, t.status) for t in tx.list_tips()] == [
                (paid.id, "completed"),
                (far.id, "refunded"),
            ]
        clean()
    with psycopg.connect(sharded.shards[0]) as conn:
        refunds = conn.execute(
            "SELECT refund_of, to_shard, amount, fee_amount, status FROM lp.transfers_out"
            " WHERE refund_of IN (%s, %s, %s)",
            [far.id, near.id, paid.id],
        ).fetchall()
    assert refunds == [(far.id, 1, 100 - fee(100), 0, "delivered")]
    with psycopg.connect(sharded.shards[1]) as conn:
        credited = conn.execute(
            "SELECT l.wallet_id = w.id, l.entry_kind, l.amount FROM lp.transfers_in AS i"
            " JOIN lp.ledger AS l ON l.transaction_id = i.transaction_id"
            " LEFT JOIN lp.wallets AS w ON w.user_id = i.recipient_id"
            " WHERE i.refund_of = %s ORDER BY l.amount",
            [far.id],
        ).fetchall()
    assert credited == [
        (False, "transfer", -(100 - fee(100))),
        (False, "refund", -fee(100)),
        (True, "refund", 100),
    ]
    # The viewer's shard applies a refund once, and only of a tip it sent with that amount in transit.
    with psycopg.connect(sharded.shards[1]) as conn:
        refund_id = conn.execute("SELECT id FROM lp.transfers_in WHERE refund_of = %s", [far.id]).fetchone()[
            0
        ]
        apply = (
            "SELECT shard.transfer_in(1, 0, %s, %s, NULL, NULL, %s, %s, 0, NULL, false, NULL, NULL,"
            " 'escrow-1', now(), NULL, %s)"
        )
        again = conn.execute(apply, [refund_id, viewer.id, viewer.id, 100 - fee(100), far.id]).fetchone()[0]
        assert again is False
        for transfer_id, refund_of, amount in (
            (uuid.uuid4(), far.id, 100 - fee(100)),  # the same tip again, under another transfer id
            (uuid.uuid4(), paid.id, 100),  # a tip it sent, but not the amount it sent in transit
            (uuid.uuid4(), uuid.uuid4(), 100 - fee(100)),  # no tip of this shard
        ):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(apply, [transfer_id, viewer.id, viewer.id, amount, refund_of])
            conn.rollback()
            assert refused.value.sqlstate == "LP199"
    assert total(sharded, viewer.id) == 900
    # verify_ledger checks both sides of these tips: each record changed (in a transaction rolled back) no
    # longer matches its ledger entries and is reported.
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        plain = tx.tip(host.id, 40, idempotency_key="escrow-4")  # no stream: straight to the performer
    shards.wait_for_relay(sharded.shards)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean
    out, into = "UPDATE lp.transfers_out SET", "UPDATE lp.transfers_in SET"
    tampering = [
        (1, f"{out} fee_amount = fee_amount + 1 WHERE id = %s", plain.id, "tip_transaction"),
        (0, f"{into} amount = amount - 1 WHERE id = %s", plain.id, "tip_transaction"),
        # lp.tips has no foreign key onto lp.users (0048): the received tip's users are checked instead
        (0, "UPDATE lp.tips SET sender_id = gen_random_uuid() WHERE id = %s", plain.id, "tip_transaction"),
        (0, "UPDATE lp.tips SET recipient_id = gen_random_uuid() WHERE id = %s", plain.id, "tip_transaction"),
        (0, f"{into} sender_id = gen_random_uuid() WHERE id = %s", plain.id, "tip_transaction"),
        (0, "UPDATE lp.tips SET status = 'refunded' WHERE id = %s", paid.id, "tip_settlement"),
        (0, f"{out} amount = amount + 1 WHERE refund_of = %s", far.id, "tip_settlement"),
        (1, f"{into} tip_amount = tip_amount + 1 WHERE refund_of = %s", far.id, "tip_settlement"),
    ]
    for shard, change, tip_id, check in tampering:
        with psycopg.connect(sharded.shards[shard]) as conn:
            assert conn.execute(change, [tip_id]).rowcount == 1
            conn.execute("SET LOCAL ROLE livepanty_service")
            found = [r[0] for r in conn.execute("SELECT check_name FROM api.verify_ledger()").fetchall()]
            conn.rollback()
        assert check in found, (change, found)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_cross_shard_tip_refund_makes_good_what_a_chargeback_under_write_off_wrote_off(
    sharded: Sharded,
) -> None:
    """Under refunds.shortfall_policy write_off, lp.claw_back counts the buyer's tips waiting in goal escrow
    as recovered, but only those of its own shard: a cross-shard tip's escrow is on the performer's shard, and
    the buyer's shard sees an lp.transfers_out row, so it counts the tip as spent and writes the purchase off.
    When the goal is then missed, the refund that arrives through the outbox (shard.transfer_in) first makes
    good that write-off (chargeback_losses credited, the payment's written-off tokens become recovered) and
    only the rest reaches the buyer (docs/scale-out.md, "Goals that refund, across shards"): the buyer keeps
    none of the purchase's tokens, nothing is lost, as on one node (tests/py/test_lock_protocol.py). The relay
    delivering the refund again changes nothing; every ledger and the reconciliation stay clean."""
    buyer = register(sharded, shard=0)
    host = verified_performer(sharded, 1)
    token = token_for(sharded, buyer)

    def losses() -> int:
        with psycopg.connect(sharded.shards[0]) as conn:
            return conn.execute(
                "SELECT w.balance"
                " + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)"
                " FROM lp.wallets AS w WHERE w.system_code = 'chargeback_losses'"
            ).fetchone()[0]

    def clean() -> None:
        report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
        assert report.clean, report.problems

    with (
        shortfall_policy(sharded, 0, "write_off"),
        sharded.client() as client,
        Client(sharded.router, role="livepanty_service") as service,
    ):
        with client.session(token) as tx:
            bundle = tx.list_bundles()[0]
            payment = tx.create_payment(bundle.code, "stripe", idempotency_key="limit-buy")
        service.complete_payment(payment.id, "pi_limit", idempotency_key="limit-complete")
        tokens = bundle.tokens
        assert total(sharded, buyer.id) == tokens
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "escrow limit")
            goal = tx.add_tip_goal(
                stream.id, tokens * 10, "out of reach", deadline=datetime.now(UTC) + timedelta(hours=1),
                refund_if_missed=True,
            )  # fmt: skip
        with client.session(token) as tx:
            tip = tx.tip(host.id, tokens, idempotency_key="limit-tip", stream_id=stream.id)
        shards.wait_for_relay(sharded.shards)
        with client.session(token_for(sharded, host)) as tx:
            assert {t.id: t.status for t in tx.list_tips("recipient")} == {tip.id: "escrowed"}
        losses_before = losses()
        charged = service.chargeback_payment(payment.id, "card stolen", idempotency_key="limit-cb")
        assert charged.status == "chargeback"
        with psycopg.connect(sharded.shards[0]) as conn:
            row = conn.execute(
                "SELECT recovered_tokens, written_off_tokens FROM lp.payments WHERE id = %s", [payment.id]
            ).fetchone()
        # The buyer's shard cannot see the escrow: the tip counts as spent, the whole purchase written off
        # (one node: recovered_tokens = tokens, written_off_tokens = 0), until the refund comes back.
        assert tuple(row) == (0, tokens)
        assert losses() == losses_before - tokens
        with client.session(token_for(sharded, host)) as tx:
            tx.cancel_tip_goal(goal.id)  # missed or cancelled: the same refund path
        assert service.settle_tip_goals().tips_refunded == 1  # on the performer's shard
        with client.session(token_for(sharded, host)) as tx:
            assert {t.id: t.status for t in tx.list_tips("recipient")} == {tip.id: "refunded"}
        shards.wait_for_relay(sharded.shards)
        clean()
        with psycopg.connect(sharded.shards[0]) as conn:
            row = conn.execute(
                "SELECT recovered_tokens, written_off_tokens FROM lp.payments WHERE id = %s", [payment.id]
            ).fetchone()
            assert tuple(row) == (tokens, 0)  # as one node books it
            # The relay delivering the refund again (a retry after a lost commit) repays nothing twice.
            refund = conn.execute(
                "SELECT i.from_shard, i.id, i.sender_id, i.recipient_id, o.amount - o.fee_amount,"
                " i.sent_at, i.refund_of"
                " FROM lp.transfers_in AS i JOIN lp.transfers_out AS o ON o.id = i.refund_of"
                " WHERE i.refund_of = %s",
                [tip.id],
            ).fetchone()
            assert refund is not None
            again = conn.execute(
                "SELECT shard.transfer_in(0, %s, %s, %s, NULL, 'viewer', %s, %s, 0, NULL, false, NULL,"
                " NULL, NULL, %s, NULL, %s)",
                list(refund),
            ).fetchone()[0]
            assert again is False
        # verify_ledger checks the refund's split against its entries: the write-off's credit booked as
        # another kind (in a transaction rolled back) is reported.
        with psycopg.connect(sharded.shards[0]) as conn:
            conn.execute("ALTER TABLE lp.ledger DISABLE TRIGGER ledger_append_only")
            changed = conn.execute(
                "UPDATE lp.ledger SET entry_kind = 'refund' WHERE entry_kind = 'write_off'"
                " AND transaction_id = (SELECT transaction_id FROM lp.transfers_in WHERE refund_of = %s)",
                [tip.id],
            ).rowcount
            assert changed == 1
            conn.execute("SET LOCAL ROLE livepanty_service")
            found = [r[0] for r in conn.execute("SELECT check_name FROM api.verify_ledger()").fetchall()]
            conn.rollback()
        assert "tip_settlement" in found, found
        clean()
    # As on one node: the purchase charged back, the buyer keeps none of its tokens once the refund is in, and
    # nothing is lost (the refund settled the write-off).
    assert total(sharded, buyer.id) == 0
    assert losses() == losses_before
    clean()


def test_a_cross_shard_tip_refund_leaves_a_write_off_older_than_the_tip_alone(sharded: Sharded) -> None:
    """The refund of a cross-shard tip makes good only what a reversal made while the tip was out wrote off
    (that reversal counted the tip as spent; on one node it would have counted it as recovered). A purchase
    refunded and written off before the tip was sent did not count it: its refund reaches the buyer whole,
    as on one node, and chargeback_losses keeps that older loss."""
    buyer = register(sharded, shard=0)
    host = verified_performer(sharded, 1)
    token = token_for(sharded, buyer)

    def payment_row(payment_id: Any) -> tuple[int, int]:
        with psycopg.connect(sharded.shards[0]) as conn:
            return tuple(
                conn.execute(
                    "SELECT recovered_tokens, written_off_tokens FROM lp.payments WHERE id = %s", [payment_id]
                ).fetchone()
            )

    with (
        shortfall_policy(sharded, 0, "write_off"),
        sharded.client() as client,
        Client(sharded.router, role="livepanty_service") as service,
    ):
        with client.session(token) as tx:
            bundle = tx.list_bundles()[0]
            payment = tx.create_payment(bundle.code, "stripe", idempotency_key="old-buy")
        service.complete_payment(payment.id, "pi_old", idempotency_key="old-complete")
        tokens = bundle.tokens
        with client.session(token) as tx:
            tx.tip(host.id, tokens, idempotency_key="old-spent")  # no goal: spent
        shards.wait_for_relay(sharded.shards)
        service.refund_payment(payment.id, "goodwill", idempotency_key="old-refund")  # no sanction
        assert payment_row(payment.id) == (0, tokens)
        fund(sharded, buyer.id, 100)
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "older write-off")
            goal = tx.add_tip_goal(
                stream.id, 10_000, "out of reach", deadline=datetime.now(UTC) + timedelta(hours=1),
                refund_if_missed=True,
            )  # fmt: skip
        with client.session(token) as tx:
            tip = tx.tip(host.id, 100, idempotency_key="old-escrow", stream_id=stream.id)
        shards.wait_for_relay(sharded.shards)
        with client.session(token_for(sharded, host)) as tx:
            tx.cancel_tip_goal(goal.id)
        assert service.settle_tip_goals().tips_refunded == 1
        shards.wait_for_relay(sharded.shards)
        with client.session(token) as tx:
            assert {t.id: t.status for t in tx.list_tips()}[tip.id] == "refunded"
    assert total(sharded, buyer.id) == 100  # the whole tip back, the fee included
    assert payment_row(payment.id) == (0, tokens)  # the older write-off stands
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_jobs_and_settings_run_on_every_shard(sharded: Sharded) -> None:
    admin = register(sharded, shard=1, prefix="a")
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute("UPDATE lp.users SET role = 'admin' WHERE id = %s", [admin.id])
    with sharded.client() as client, client.session(token_for(sharded, admin)) as tx:
        tx.set_setting("tips.min_tokens", 2)
    for url in sharded.shards:  # the same reference data everywhere
        with psycopg.connect(url) as conn:
            assert (
                conn.execute("SELECT value::text FROM lp.settings WHERE key = 'tips.min_tokens'").fetchone()[
                    0
                ]
                == "2"
            )
    with Client(sharded.router, role="livepanty_service") as service:
        assert service.expire_holds(limit=100) >= 0  # counts of every shard, summed
        partitions = service.maintain_partitions(months_ahead=1)
    assert partitions == [] or all(p.table_name for p in partitions)
    with sharded.client() as client, client.session(token_for(sharded, admin)) as tx:
        tx.set_setting("tips.min_tokens", 1)


def test_a_performer_blocks_a_viewer_of_another_shard_and_their_tips_stop(sharded: Sharded) -> None:
    performer = verified_performer(sharded, 1)
    viewer = register(sharded, shard=0)
    fund(sharded, viewer.id, 500)
    with sharded.client() as client:
        with client.session(token_for(sharded, performer)) as tx:
            tx.block_viewer(viewer.id, reason="spam")
        with pytest.raises(LivepantyError) as caught, client.session(token_for(sharded, viewer)) as tx:
            tx.tip(performer.id, 10, idempotency_key="blocked-1")
        assert caught.value.sqlstate == "LP124"
        with client.session(token_for(sharded, performer)) as tx:
            tx.unblock_viewer(viewer.id)
        with client.session(token_for(sharded, viewer)) as tx:
            tx.tip(performer.id, 10, idempotency_key="blocked-2")
    assert total(sharded, viewer.id) == 490


def test_a_transfer_the_target_refuses_does_not_block_the_others(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 500)
    bad = uuid.uuid4()
    with psycopg.connect(sharded.shards[0]) as conn:  # an outbox row for nobody on shard 1 (a bug, by hand)
        conn.execute(
            "INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount,"
            " idempotency_key, transaction_id, created_at) VALUES (%s, %s, %s, 1, 10, 2, 'poison', %s,"
            " now() - interval '1 minute')",
            [bad, viewer.id, uuid.uuid4(), uuid.uuid4()],
        )
    try:
        with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
            tx.tip(performer.id, 100, idempotency_key="after-poison")
        stats = shards.relay_once(sharded.shards)
        assert stats.delivered >= 1
        assert stats.failed == 1
        assert total(sharded, performer.id) == 80
        with psycopg.connect(sharded.shards[0]) as conn:
            status, error = conn.execute(
                "SELECT status, last_error FROM lp.transfers_out WHERE id = %s", [bad]
            ).fetchone()
        assert status == "pending"
        assert "no wallet" in error
    finally:
        with psycopg.connect(sharded.shards[0]) as conn:
            conn.execute("DELETE FROM lp.transfers_out WHERE id = %s", [bad])
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


# -- erasure across shards -----------------------------------------------------------------------------------


def holders_of(dsn: str, needles: list[str]) -> list[str]:
    """The tables of schemas lp and router in which any row's text holds any of ``needles``."""
    patterns = [f"%{n}%" for n in needles]
    with psycopg.connect(dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class AS c"
                " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN ('lp', 'router')"
            ).fetchall()
        ]
        return [
            t
            for t in tables
            if conn.execute(
                f"SELECT count(*) FROM {t} AS x WHERE x::text ILIKE ANY (%s)", [patterns]
            ).fetchone()[0]
        ]


def test_an_erasure_reaches_the_directory_and_the_stubs_on_other_shards(sharded: Sharded) -> None:
    """An erasure through the router (the user's own, or an admin's) reaches the directory and the user's
    stubs on the other shards before it returns (router.erase_now). With a shard out of reach (fenced), the
    stubs there wait: replaying the exported erasure through the router carries it at once, and `shards
    sync-erasures` carries whatever is left once it reaches every shard, changing nothing when run again."""
    host = verified_performer(sharded, 1)
    admin = created_admin(sharded, shard=1)
    users = {name: register(sharded, shard=0) for name in ("first", "by_admin", "synced", "replayed")}
    needles: dict[str, list[str]] = {}
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "erasure night")
        for name, viewer in users.items():
            fund(sharded, viewer.id, 1000)
            message = "needle " + uuid.uuid4().hex
            with client.session(token_for(sharded, viewer)) as tx:
                tx.join_stream(stream.id)  # the viewer's stub on shard 1
                tx.tip(host.id, 100, idempotency_key="erase-me", stream_id=stream.id, message=message)
            needles[name] = [viewer.username, viewer.email, message]
        shards.wait_for_relay(sharded.shards)
        for name in users:
            assert holders_of(sharded.router, needles[name]) == ["router.users"]
            assert set(holders_of(sharded.shards[1], needles[name])) >= {
                "lp.users",
                "lp.tips",
                "lp.stream_events",
            }

        with client.session(token_for(sharded, users["first"])) as tx:
            tx.request_erasure(reason="forget me")
        with client.session(token_for(sharded, admin)) as tx:  # an admin of shard 1, a user of shard 0
            tx.erase_user(users["by_admin"].id, "a request by post")
        for name in ("first", "by_admin"):
            for dsn in (sharded.router, *sharded.shards):  # everywhere at once
                assert holders_of(dsn, needles[name]) == [], (name, dsn)

        tokens = {name: token_for(sharded, users[name]) for name in ("synced", "replayed")}
        assert shards.fence(sharded.router, 1, reason="erasure test") is True
        try:
            for token in tokens.values():
                with client.session(token) as tx:
                    tx.request_erasure(reason="forget me too")  # shard 1 out of reach: the stub waits
        finally:
            assert shards.unfence(sharded.router, 1) is True
    for name in ("synced", "replayed"):
        assert holders_of(sharded.shards[0], needles[name]) == []  # the home shard erased at once
        assert holders_of(sharded.router, needles[name]) == []  # and the directory
        assert holders_of(sharded.shards[1], needles[name]) != []  # not yet carried
        with psycopg.connect(sharded.router) as conn:
            sessions = conn.execute(
                "SELECT count(*) FROM router.sessions WHERE user_id = %s", [users[name].id]
            ).fetchone()
        assert sessions == (0,)

    # A shard that cannot be reached: nothing is marked done.
    unreachable = shards.sync_erasures(
        sharded.router, [sharded.shards[0], "postgresql://postgres@127.0.0.1:1/x"]
    )
    assert unreachable.errors
    assert unreachable.directory == 0  # (done at once)
    with psycopg.connect(sharded.router) as conn:
        assert conn.execute("SELECT count(*) FROM router.erasure_sync").fetchone()[0] == 0

    # The exported erasure replayed through the router (after a restore, say) carries it at once as well.
    with psycopg.connect(sharded.shards[0]) as conn:
        entry = conn.execute(
            "SELECT to_jsonb(e) FROM lp.erasures AS e WHERE e.user_id = %s", [users["replayed"].id]
        ).fetchone()
    with psycopg.connect(sharded.router, autocommit=True) as conn:
        conn.execute("SET ROLE livepanty_service")
        outcome = conn.execute(
            "SELECT outcome FROM api.replay_erasure(%s)", [psycopg.types.json.Jsonb(entry[0])]
        ).fetchone()
    assert outcome == ("already_applied",)  # on the home shard
    assert holders_of(sharded.shards[1], needles["replayed"]) == []  # the stub, at once
    assert holders_of(sharded.shards[1], needles["synced"]) != []  # (nobody else's)

    result = shards.sync_erasures(sharded.router, sharded.shards)
    assert not result.errors
    assert (result.directory, result.stubs) == (0, 1)  # the stub left on shard 1
    for name in users:
        for dsn in (sharded.router, *sharded.shards):
            assert holders_of(dsn, needles[name]) == [], (name, dsn)
    for viewer in users.values():
        with psycopg.connect(sharded.router) as conn:
            username = conn.execute(
                "SELECT username FROM router.users WHERE user_id = %s", [viewer.id]
            ).fetchone()[0]
        with psycopg.connect(sharded.shards[1]) as conn:
            stub = conn.execute("SELECT username::text FROM lp.users WHERE id = %s", [viewer.id]).fetchone()[
                0
            ]
        assert username == stub == "erased_" + viewer.id.hex[:16]  # one pseudonym everywhere
    again = shards.sync_erasures(sharded.router, sharded.shards)
    assert (again.erased, again.directory, again.stubs, again.errors) == (4, 0, 0, [])  # idempotent
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


# -- orphan registrations ------------------------------------------------------------------------------------


def orphan(s: Sharded, shard: int, username: str, email: str, *, age: str = "1 hour") -> uuid.UUID:
    """A registration the directory missed: made on the shard itself (as a router transaction that rolled back
    after the shard's commit leaves it), dated ``age`` ago."""
    with psycopg.connect(s.shards[shard]) as conn:
        user_id = conn.execute(
            "SELECT id FROM api.register_user(%s, %s, %s, '1990-01-01')", [email, username, PASSWORD]
        ).fetchone()[0]
        conn.execute("UPDATE lp.users SET created_at = now() - %s::interval WHERE id = %s", [age, user_id])
    return user_id


def test_orphan_registrations_are_adopted_or_discarded(sharded: Sharded) -> None:
    taken = register(sharded, shard=1)
    free = orphan(sharded, 0, "o" + uuid.uuid4().hex[:10], f"o{uuid.uuid4().hex[:8]}@Example.com")
    clash = orphan(sharded, 0, taken.username.upper(), f"c{uuid.uuid4().hex[:8]}@example.com")
    rich = orphan(sharded, 0, "r" + uuid.uuid4().hex[:10], taken.email)
    young = orphan(
        sharded, 0, "y" + uuid.uuid4().hex[:10], f"y{uuid.uuid4().hex[:8]}@example.com", age="1 second"
    )
    fund(sharded, taken.id, 1)  # (on shard 1: the directory knows taken)
    with psycopg.connect(sharded.shards[0]) as conn:  # the rich orphan's wallet moved tokens
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(), ARRAY["
            " ROW((SELECT id FROM lp.wallets WHERE user_id = %(u)s), 5::bigint, 'purchase', 0, false)"
            "::lp.posting,"
            " ROW(lp.system_wallet('issuance'), -5::bigint, 'purchase', 0, false)::lp.posting])",
            {"u": rich},
        )
    before = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert sum("orphan registration" in p for p in before.problems) >= 4

    report = shards.adopt_orphans(sharded.router, sharded.shards)
    assert (report.adopted, report.discarded, len(report.left), report.errors) == (1, 1, 1, [])
    assert str(rich) in report.left[0]
    with sharded.client() as client:  # the adopted orphan logs in through the router, by name or address
        with psycopg.connect(sharded.shards[0]) as conn:
            name, email = conn.execute(
                "SELECT username, email FROM lp.users WHERE id = %s", [free]
            ).fetchone()
        assert client.login(name, PASSWORD).user_id == free
        assert client.login(email.upper(), PASSWORD).user_id == free
        assert client.login(taken.username, PASSWORD).user_id == taken.id  # not the clashing orphan
    with psycopg.connect(sharded.shards[0]) as conn:
        erased = conn.execute("SELECT username::text FROM lp.users WHERE id = %s", [clash]).fetchone()[0]
    assert erased == "erased_" + clash.hex[:16]
    with psycopg.connect(sharded.router) as conn:
        directory = dict(conn.execute("SELECT user_id, username FROM router.users").fetchall())
    assert directory[clash] == erased
    assert young not in directory  # too young: its router transaction may still be running
    assert rich not in directory

    again = shards.adopt_orphans(sharded.router, sharded.shards)
    assert (again.adopted, again.discarded, len(again.left)) == (0, 0, 1)  # idempotent; the rich one waits
    after = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert [p for p in after.problems if "orphan" in p] == [
        p for p in after.problems if str(rich) in p or str(young) in p
    ]
    # Leave the module's installation clean for the tests after this one: the remaining two, adopted by hand.
    shards.adopt_orphans(sharded.router, sharded.shards, grace=timedelta(0))
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute(
            "UPDATE lp.users SET email = %s WHERE id = %s", [f"r{uuid.uuid4().hex[:8]}@example.com", rich]
        )
    assert shards.adopt_orphans(sharded.router, sharded.shards).adopted == 1
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


# -- global reads: the admin queues --------------------------------------------------------------------------


def file_report(s: Sharded, reporter, target, reason: str) -> uuid.UUID:
    """A report through the router: it is filed on the target's shard."""
    with s.client() as client, client.session(token_for(s, reporter)) as tx:
        return tx.report("user", target.id, reason).case_id


def queue_order(s: Sharded) -> list[uuid.UUID]:
    """Every open case of every shard in queue order, from the shards' own tables."""
    rows = []
    for dsn in s.shards:
        with psycopg.connect(dsn) as conn:
            rows += conn.execute(
                "SELECT priority_rank, -priority_score, coalesce(due_at, 'infinity'), created_at, id"
                " FROM lp.reports WHERE status IN ('open', 'in_review', 'escalated')"
            ).fetchall()
    return [r[-1] for r in sorted(rows)]


def test_the_review_queue_merges_every_shard_and_claims_in_its_order(sharded: Sharded) -> None:
    moderator = moderator_on(sharded, 0)
    for shard in (0, 1):  # reporters of the other shard: each case lives with its target
        reporter, target = register(sharded, shard=1 - shard), register(sharded, shard=shard)
        for reason in ("spam", "underage", "harassment"):
            file_report(sharded, reporter, target, reason)
        with psycopg.connect(sharded.shards[shard]) as conn:
            assert (
                conn.execute(
                    "SELECT count(*) FROM lp.reports WHERE reported_user_id = %s", [target.id]
                ).fetchone()[0]
                == 3
            )
    with Client(sharded.router, role="livepanty_service") as detector:  # a flag goes to its user's shard
        flag = detector.raise_flag("nsfw-1", "spam", 0.99, "profile", user_id=target.id)
    with psycopg.connect(sharded.shards[1]) as conn:
        assert (
            conn.execute("SELECT count(*) FROM lp.moderation_flags WHERE id = %s", [flag.id]).fetchone()[0]
            == 1
        )
    expected = queue_order(sharded)
    assert len(expected) >= 6
    with sharded.client() as client, client.session(token_for(sharded, moderator)) as tx:
        whole = [c.case_id for c in tx.review_queue(limit=500)]
        pages, after = [], None
        while True:
            page = tx.review_queue(after=after, limit=2)
            if not page:
                break
            pages += [c.case_id for c in page]
            after = page[-1].case_id
        first = tx.claim_case()
        second = tx.claim_case()
        released = tx.release_case(first.id)  # routed to the case's shard
    assert whole == expected
    assert pages == expected
    with (
        pytest.raises(LivepantyError) as unknown,
        sharded.client() as client,
        client.session(token_for(sharded, moderator)) as tx,
    ):
        tx.review_queue(after=uuid.uuid4())
    assert unknown.value.sqlstate == "LP003"
    assert (first.id, second.id) == (expected[0], expected[1])
    assert released.status == "open"
    viewer = register(sharded, shard=1)
    with (
        pytest.raises(LivepantyError) as refused,
        sharded.client() as client,
        client.session(token_for(sharded, viewer)) as tx,
    ):
        tx.review_queue()
    assert refused.value.sqlstate == "LP002"


def test_detector_precision_sums_every_shards_decided_flags(sharded: Sharded) -> None:
    """api.detector_precision through the router: per detector, every shard's decided flags summed and the
    precision computed over the sum (not an average of the shards' precisions)."""
    admin = register(sharded, shard=0, prefix="a")
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute("UPDATE lp.users SET role = 'admin' WHERE id = %s", [admin.id])
    detector = "det-" + uuid.uuid4().hex[:8]
    decided = {0: ["confirmed"], 1: ["dismissed", "confirmed", "confirmed"]}
    with Client(sharded.router, role="livepanty_service") as service:
        for shard, statuses in decided.items():
            for status in statuses:
                user = register(sharded, shard=shard)
                flag = service.raise_flag(detector, "spam", 0.2, "profile", user_id=user.id)
                with psycopg.connect(sharded.shards[shard]) as conn:  # as a moderator's decision leaves it
                    conn.execute(
                        "UPDATE lp.moderation_flags SET status = %s, reviewed_by = %s, reviewed_at = now()"
                        " WHERE id = %s",
                        [status, user.id, flag.id],
                    )
    with sharded.client() as client, client.session(token_for(sharded, admin)) as tx:
        rows = {r.detector: r for r in tx.detector_precision()}
    row = rows[detector]
    assert (row.confirmed, row.dismissed) == (3, 1)
    assert row.precision_ratio == Decimal("0.7500")  # 3 of 4; the shards' own: 1.0 and 0.6667


def test_a_kyc_webhook_reaches_the_shard_holding_its_verification(sharded: Sharded) -> None:
    """api.apply_kyc_webhook through the router: the shard holding the provider's reference applies the event
    (once: a repeat is answered from its event log, also once the reference is gone); an unknown reference is
    LP003, as on one node."""
    performer = register(sharded, "performer", shard=1, prefix="p")
    reference = "vf-" + uuid.uuid4().hex[:10]
    with sharded.client() as client, client.session(token_for(sharded, performer)) as tx:
        tx.submit_kyc(
            document_type="passport",
            document_country="DE",
            document_front_url="s3://kyc-docs/front.jpg",
            provider="veriff",
            provider_reference=reference,
        )
    with Client(sharded.router, role="livepanty_service") as service:
        event = service.apply_kyc_webhook("veriff", "evt-1", reference, "declined", reasons=["blurry"])
        assert (event.outcome, event.status_after) == ("applied", "declined")
        again = service.apply_kyc_webhook("veriff", "evt-1", reference, "declined", reasons=["blurry"])
        assert again == event
        with pytest.raises(LivepantyError) as caught:
            service.apply_kyc_webhook("veriff", "evt-2", "vf-nobody", "approved")
        assert caught.value.sqlstate == "LP003"
    with psycopg.connect(sharded.shards[1]) as conn:
        status = conn.execute(
            "SELECT status::text FROM lp.kyc_verifications WHERE provider_reference = %s", [reference]
        ).fetchone()[0]
        # As the destruction of an erased user's records at the end of their retention leaves it: the
        # reference is gone, the event log stays.
        conn.execute(
            "UPDATE lp.kyc_verifications SET provider_reference = NULL WHERE provider_reference = %s",
            [reference],
        )
    assert status == "declined"
    with Client(sharded.router, role="livepanty_service") as service:
        # The provider's retry after that reaches the shard whose log holds the event (no shard holds the
        # reference any more: the router used to send it to shard 0, which answered LP003).
        retry = service.apply_kyc_webhook("veriff", "evt-1", reference, "declined", reasons=["blurry"])
        assert retry == event


def test_a_kyc_reference_held_on_another_shard_is_refused_and_one_held_on_two_applies_nowhere(
    sharded: Sharded,
) -> None:
    """A provider reference names one person. Through the router, api.submit_kyc refuses a reference a
    verification of another shard holds (LP132, as one node refuses another user's), and
    api.apply_kyc_webhook refuses an event whose reference verifications on two shards hold (LP132: nothing
    applied on either, as one node refuses it for two users). Before, the submission was taken and the event
    applied to the lower shard's verification."""
    first = register(sharded, "performer", shard=0, prefix="p")
    second = register(sharded, "performer", shard=1, prefix="p")
    reference = "vf-" + uuid.uuid4().hex[:10]

    def submit(user, ref: str):
        with sharded.client() as client, client.session(token_for(sharded, user)) as tx:
            return tx.submit_kyc(
                document_type="passport",
                document_country="DE",
                document_front_url="s3://kyc-docs/front.jpg",
                provider="veriff",
                provider_reference=ref,
            )

    def held() -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for i, dsn in enumerate(sharded.shards):
            with psycopg.connect(dsn) as conn:
                rows += [
                    (i, *r)
                    for r in conn.execute(
                        "SELECT k.user_id, k.status::text,"
                        " (SELECT count(*) FROM lp.kyc_webhook_events AS e WHERE e.verification_id = k.id)"
                        " FROM lp.kyc_verifications AS k WHERE k.provider_reference = %s ORDER BY k.id",
                        [reference],
                    ).fetchall()
                ]
        return rows

    submit(first, reference)
    with pytest.raises(KycReferenceTaken):
        submit(second, f" {reference} ")
    assert held() == [(0, first.id, "submitted", 0)]
    # A verification of shard 1 with the same reference, as one written before the rule, or by hand.
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " document_front_url, provider, provider_reference)"
            " VALUES (%s, 'identity', 'submitted', 'passport', 'DE', 's3://kyc-docs/front.jpg', 'veriff',"
            " %s)",
            [second.id, reference],
        )
    with Client(sharded.router, role="livepanty_service") as service:
        for ref in (reference, f" {reference}"):
            with pytest.raises(KycReferenceTaken):
                service.apply_kyc_webhook("veriff", "evt-" + uuid.uuid4().hex[:8], ref, "approved")
    assert held() == [(0, first.id, "submitted", 0), (1, second.id, "submitted", 0)]


def _adjustments(s: Sharded, key: str) -> list[tuple[Any, ...]]:
    """Per shard, the adjustments keyed ``key`` there: (shard, user, amount)."""
    rows: list[tuple[Any, ...]] = []
    for i, dsn in enumerate(s.shards):
        with psycopg.connect(dsn) as conn:
            rows += [
                (i, *r)
                for r in conn.execute(
                    "SELECT user_id, amount FROM lp.adjustments WHERE idempotency_key = %s", [key]
                ).fetchall()
            ]
    return rows


@pytest.mark.parametrize("first_shard", [0, 1])
def test_an_adjustment_key_is_one_key_space_across_shards(sharded: Sharded, first_shard: int) -> None:
    """api.adjust_balance's key is one key space shared by all admins, through the router as on one node: the
    key used for a user of one shard is refused for a user of the other (LP106, the single node's message and
    detail; nothing changed there), even by another admin; the exact repeat is replayed (the same adjustment,
    the balance moved once). Before, each call went to its user's shard and the second was applied too."""
    admin, other_admin = created_admin(sharded, shard=0), created_admin(sharded, shard=1)
    first = register(sharded, shard=first_shard)
    second = register(sharded, shard=1 - first_shard)
    key = "adj-" + uuid.uuid4().hex[:10]
    with sharded.client() as client:
        with client.session(token_for(sharded, admin)) as tx:
            made = tx.adjust_balance(first.id, 50, "goodwill", idempotency_key=key)
        for who in (admin, other_admin):
            with pytest.raises(IdempotencyConflict) as caught, client.session(token_for(sharded, who)) as tx:
                tx.adjust_balance(second.id, 50, "goodwill", idempotency_key=f" {key} ")
            assert caught.value.sqlstate == "LP106"
            assert caught.value.message == "idempotency key already used for a different adjustment"
            assert caught.value.detail == f"adjustment {made.id}"
        with client.session(token_for(sharded, other_admin)) as tx:
            again = tx.adjust_balance(first.id, 50, " goodwill ", idempotency_key=key)
    assert again == made
    assert (made.replayed, again.replayed) == (False, True)
    assert _adjustments(sharded, key) == [(first_shard, first.id, 50)]
    assert (total(sharded, first.id), total(sharded, second.id)) == (50, 0)
    with psycopg.connect(sharded.router) as conn:
        claim = conn.execute(
            "SELECT shard, user_id, amount FROM router.adjustment_keys WHERE idempotency_key = %s", [key]
        ).fetchone()
    assert claim == (first_shard, first.id, 50)


def test_an_adjustment_refused_on_its_shard_leaves_its_key_free(sharded: Sharded) -> None:
    """The router's claim of a key is written in its transaction before the routed call: a call the shard
    refuses (LP100: a debit larger than the balance) takes the claim back with the error, so the key can then
    be used for a user of another shard, as on one node, where the refused call left nothing either."""
    admin = created_admin(sharded, shard=0)
    poor, other = register(sharded, shard=0), register(sharded, shard=1)
    key = "adj-" + uuid.uuid4().hex[:10]
    with sharded.client() as client:
        with pytest.raises(InsufficientFunds), client.session(token_for(sharded, admin)) as tx:
            tx.adjust_balance(poor.id, -500, "correction", idempotency_key=key)
        with client.session(token_for(sharded, admin)) as tx:
            made = tx.adjust_balance(other.id, 30, "correction", idempotency_key=key)
    assert made.user_id == other.id
    assert _adjustments(sharded, key) == [(1, other.id, 30)]


def test_one_kyc_event_delivered_at_once_for_references_on_two_shards_is_applied_once(
    sharded: Sharded,
) -> None:
    """One provider event id delivered twice at the same moment, naming references verifications on two shards
    hold: one node applies the first and answers the second with the first's stored event, nothing applied to
    the second's verification. Through the router the second delivery waits for the first's claim of the event
    id (router.kyc_events) and then goes to the first's shard, which answers it from its log. Before, both
    deliveries found no shard logging the event, each went to its reference's shard, and both were applied."""
    near = register(sharded, "performer", shard=0, prefix="p")
    far = register(sharded, "performer", shard=1, prefix="p")
    refs = {0: "vf-" + uuid.uuid4().hex[:10], 1: "vf-" + uuid.uuid4().hex[:10]}
    for user, shard in ((near, 0), (far, 1)):
        with sharded.client() as client, client.session(token_for(sharded, user)) as tx:
            tx.submit_kyc(
                document_type="passport",
                document_country="DE",
                document_front_url="s3://kyc-docs/front.jpg",
                provider="veriff",
                provider_reference=refs[shard],
            )
    event_id = "evt-" + uuid.uuid4().hex[:10]
    outcomes: dict[int, Any] = {}

    def deliver(shard: int, status: str) -> None:
        try:
            with Client(sharded.router, role="livepanty_service") as service:
                outcomes[shard] = service.apply_kyc_webhook("veriff", event_id, refs[shard], status)
        except Exception as exc:  # the outcome is asserted below
            outcomes[shard] = exc

    def waiting(dsn: str) -> int:
        with psycopg.connect(dsn, autocommit=True) as watch:
            return watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%%apply_kyc_webhook%%'"
            ).fetchone()[0]

    with psycopg.connect(sharded.shards[0]) as blocker:
        # The first delivery waits on shard 0 for its verification's row, its event not logged yet.
        blocker.execute(
            "SELECT 1 FROM lp.kyc_verifications WHERE provider_reference = %s FOR UPDATE", [refs[0]]
        )
        first = threading.Thread(target=deliver, args=(0, "declined"))
        first.start()
        deadline = time.monotonic() + 30
        while waiting(sharded.shards[0]) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting(sharded.shards[0]) == 1
        second = threading.Thread(target=deliver, args=(1, "approved"))
        second.start()
        # The second waits on the router for the first's claim (before, it was applied on shard 1 at once).
        deadline = time.monotonic() + 5
        while second.is_alive() and waiting(sharded.router) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        blocker.rollback()
        first.join(60)
        second.join(60)
    assert not isinstance(outcomes[0], Exception), outcomes
    assert not isinstance(outcomes[1], Exception), outcomes
    assert (outcomes[0].outcome, outcomes[0].status_after) == ("applied", "declined")
    assert outcomes[1] == outcomes[0]  # the first's stored event, as one node answers the second delivery
    with psycopg.connect(sharded.shards[1]) as conn:
        far_state = conn.execute(
            "SELECT k.status::text,"
            " (SELECT count(*) FROM lp.kyc_webhook_events AS e WHERE e.verification_id = k.id)"
            " FROM lp.kyc_verifications AS k WHERE k.provider_reference = %s",
            [refs[1]],
        ).fetchone()
    assert far_state == ("submitted", 0)
    with Client(sharded.router, role="livepanty_service") as service:  # a later repeat: the same answer
        assert service.apply_kyc_webhook("veriff", event_id, refs[1], "approved") == outcomes[0]


def test_a_refused_call_naming_a_user_of_another_shard_leaves_no_stub_there(sharded: Sharded) -> None:
    """api.add_stream_performer through the router goes to the stream's shard first: a caller who is not the
    host (LP002) leaves no stub of the named performer of another shard there (it did before: the stub was
    made before the call); the host's call makes it once the shard has answered that it holds no such
    performer; a stub made earlier is brought up to date with its user's role before the call."""
    host, intruder = verified_performer(sharded, 1), verified_performer(sharded, 1)
    far = register(sharded, "performer", shard=0, prefix="p")

    def stub_on_stream_shard() -> bool:
        with psycopg.connect(sharded.shards[1]) as conn:
            return conn.execute("SELECT count(*) FROM lp.users WHERE id = %s", [far.id]).fetchone() == (1,)

    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = tx.schedule_stream("no stray stubs", category="general")
        with pytest.raises(LivepantyError) as caught, client.session(token_for(sharded, intruder)) as tx:
            tx.add_stream_performer(stream.id, far.id)
        assert caught.value.sqlstate == "LP002"
        assert not stub_on_stream_shard()
        with client.session(token_for(sharded, host)) as tx:
            assert tx.add_stream_performer(stream.id, far.id).performers == [far.id]
        assert stub_on_stream_shard()

        # A stub already there keeps up with its user's role: a viewer of shard 0 refused as no performer
        # (LP102, their viewer stub made on the stream's shard), made a performer at home, is then accepted.
        fan = register(sharded, shard=0)
        with pytest.raises(LivepantyError) as caught, client.session(token_for(sharded, host)) as tx:
            tx.add_stream_performer(stream.id, fan.id)
        assert caught.value.sqlstate == "LP102"
        with client.session(token_for(sharded, created_admin(sharded, shard=0))) as tx:
            tx.set_user_role(fan.id, "performer")
        with client.session(token_for(sharded, fan)) as tx:  # the directory follows the home shard's role
            tx.get_wallet()
        with client.session(token_for(sharded, host)) as tx:
            assert fan.id in tx.add_stream_performer(stream.id, fan.id).performers


def test_a_co_performer_of_another_shard_goes_live_through_the_gate_of_their_own_shard(
    sharded: Sharded,
) -> None:
    """A host puts a performer of another shard on camera: the co-performer gets a stub on the stream's shard,
    consents there through the router, and the go-live gate judges them by what their own shard says of their
    account, verification and sanctions (asked by the router right before the gate: api.start_stream,
    api.check_stream_key, api.sweep_viewers). A verification approved there opens the gate; a suspension
    issued there closes it and the sweep ends the stream; with their shard down the gate is never applied on
    a guess (LP200). A user of that shard who is no performer is refused as on one node."""
    host = verified_performer(sharded, 1)
    near = verified_performer(sharded, 1)
    far = register(sharded, "performer", shard=0, prefix="p")  # not verified yet
    fan = register(sharded, shard=0)
    admin = created_admin(sharded, shard=0)
    host_token, far_token = token_for(sharded, host), token_for(sharded, far)

    with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:

        def refusal(token: str, call: Any) -> LivepantyError:
            with pytest.raises(LivepantyError) as caught, client.session(token) as tx:
                call(tx)
            return caught.value

        with client.session(host_token) as tx:
            stream = tx.schedule_stream("duo across", category="general")
            assert tx.add_stream_performer(stream.id, near.id).performers == [near.id]
            assert tx.remove_stream_performer(stream.id, near.id).performers == []
            assert tx.add_stream_performer(stream.id, far.id).performers == [far.id]
            tx.consent_to_stream(stream.id, ip_address="203.0.113.20")
        refused = refusal(host_token, lambda tx: tx.add_stream_performer(stream.id, fan.id))
        assert refused.sqlstate == "LP102"  # a viewer of the other shard: no performer, as on one node
        closed = refusal(host_token, lambda tx: tx.start_stream(stream.id))
        assert closed.sqlstate == "LP120"
        assert (
            f"{far.username}: no approved identity verification, no consent for this stream" in closed.detail
        )
        with client.session(far_token) as tx:  # routed to the stream's shard, as the co-performer's stub
            consent = tx.consent_to_stream(stream.id, ip_address="198.51.100.7")
        assert (consent.stream_id, consent.performer_id) == (stream.id, far.id)
        with psycopg.connect(sharded.shards[0]) as conn:  # verified on their own shard
            conn.execute(
                "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
                " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
                " now() + interval '1 year')",
                [far.id],
            )
        sharded.topology.shard(0).stop()
        try:
            down = refusal(host_token, lambda tx: tx.start_stream(stream.id))
        finally:
            sharded.topology.shard(0).start()
        assert (down.sqlstate, down.detail) == ("LP200", "shard 0")
        with client.session(host_token) as tx:
            started = tx.start_stream(stream.id)
        assert service.check_stream_key(started.stream_key).performers == [far.id]
        with psycopg.connect(sharded.shards[1]) as conn:
            gates = conn.execute(
                "SELECT user_id, gaps FROM lp.remote_gates WHERE user_id = %s", [far.id]
            ).fetchall()
        assert gates == [(far.id, [])]

        with client.session(token_for(sharded, admin)) as tx:  # routed to the co-performer's shard
            tx.sanction_user(far.id, "suspension", "rule 7", ends_at=datetime.now(UTC) + timedelta(days=1))
        with client.session(host_token) as tx:
            assert tx.get_stream(stream.id).status == "live"  # the stream's shard learns at the next check
        with pytest.raises(LivepantyError) as caught:
            service.check_stream_key(started.stream_key)
        suspended = caught.value
        assert suspended.sqlstate == "LP120"
        assert f"{far.username}: suspended, banned or blocked from streaming" in suspended.detail
        assert service.sweep_viewers() >= 0
        with client.session(host_token) as tx:
            ended = tx.get_stream(stream.id)
    assert ended.status == "ended"
    # The public reason names nobody; who lacks what is in the audit row of the stream's shard, by user id.
    assert ended.end_reason == "go-live gate"
    with psycopg.connect(sharded.shards[1]) as conn:
        gaps = conn.execute(
            "SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = %s",
            [str(stream.id)],
        ).fetchone()
    assert gaps == ([{"user_id": str(far.id), "lacks": "suspended, banned or blocked from streaming"}],)
    # Only the router writes what other shards say: the application's roles cannot, on the stream's shard.
    with psycopg.connect(sharded.shards[1]) as conn:
        for role in ("livepanty_app", "livepanty_service"):
            for statement in (
                "SELECT shard.note_gates(1, '[]'::jsonb)",
                "SELECT count(*) FROM lp.remote_gates",
                f"INSERT INTO lp.remote_gates (user_id, gaps) VALUES ('{far.id}', '{{}}')",
                "UPDATE lp.remote_gates SET gaps = '{}'",
            ):
                conn.execute(f"SET ROLE {role}")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
                conn.rollback()
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_the_pending_verifications_merge_every_shard(sharded: Sharded) -> None:
    admin = register(sharded, shard=1, prefix="a")
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute("UPDATE lp.users SET role = 'admin' WHERE id = %s", [admin.id])
    for n in range(4):
        user = register(sharded, "performer", shard=n % 2, prefix="k")
        with psycopg.connect(sharded.shards[n % 2]) as conn:
            conn.execute(
                "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
                " submitted_at)"
                " VALUES (%s, 'identity', 'submitted', 'passport', 'DE', now() - %s * interval '1 s')",
                [user.id, 10 - n],
            )
    rows = []
    for dsn in sharded.shards:
        with psycopg.connect(dsn) as conn:
            rows += conn.execute(
                "SELECT submitted_at, id FROM lp.kyc_verifications WHERE status IN ('submitted', 'in_review')"
            ).fetchall()
    expected = [r[1] for r in sorted(rows)]
    with sharded.client() as client, client.session(token_for(sharded, admin)) as tx:
        pages, after = [], None
        while page := tx.list_pending_kyc(after=after, limit=1):
            pages += [k.id for k in page]
            after = page[-1].id
    assert pages == expected
    assert len(expected) >= 4
    for shard in (
        0,
        1,
    ):  # an erasure on each shard: the erasure log merges too (sorted by id, up to the limit)
        gone = register(sharded, shard=shard)
        with sharded.client() as client, client.session(token_for(sharded, gone)) as tx:
            tx.request_erasure(reason="leaving")
    logged = []
    for dsn in sharded.shards:
        with psycopg.connect(dsn) as conn:
            logged += [r[0] for r in conn.execute("SELECT id FROM lp.erasures").fetchall()]
    with Client(sharded.router, role="livepanty_service") as service:  # the back office's call
        entries = service.list_erasures()
        first_two = [e.id for e in service.list_erasures(limit=2)]
        # a replay goes to the erased user's shard, which holds the erasure (elsewhere: user_absent)
        outcomes = {service.replay_erasure(e).outcome for e in entries}
    assert [e.id for e in entries] == sorted(logged)
    assert first_two == sorted(logged)[:2]
    assert outcomes == {"already_applied"}


def reset_state(dsn: str) -> tuple:
    """What a password reset may change on a shard: its tokens, passwords, sessions and audit trail."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) || '/' || count(used_at) || '/' || count(revoked_at)"
            "          FROM lp.password_reset_tokens),"
            "       (SELECT md5(string_agg(password_hash, ',' ORDER BY id)) FROM lp.users),"
            "       (SELECT count(*) || '/' || count(revoked_at) FROM lp.auth_sessions),"
            "       (SELECT count(*) FROM lp.audit_logs)"
        ).fetchone()


def test_a_password_reset_through_the_router(sharded: Sharded) -> None:
    user = register(sharded, shard=1)
    new_password = "a brand new passphrase 7"
    with sharded.client() as client:
        client.request_password_reset(user.email.upper(), ip_address="203.0.113.21")
        client.request_password_reset(f"nobody{uuid.uuid4().hex[:6]}@example.com")  # the same void, no hint
        with Client(sharded.router, role="livepanty_mailer") as mailer:  # the mailer, through the router too
            messages = [m for m in mailer.claim_messages(100) if m.email.lower() == user.email.lower()]
            for message in messages:
                mailer.mark_message_sent(message.id, message.attempt)
        assert [m.kind for m in messages] == ["password_reset"]
        token = messages[0].payload["token"]
        before = [reset_state(dsn) for dsn in sharded.shards]
        for bad in ("x" * 43, token[:-1], token + "x", ""):  # no shard holds them: refused as on one node
            with pytest.raises(LivepantyError) as unknown:
                client.reset_password(bad, new_password)
            assert unknown.value.sqlstate == "LP024"
        assert [reset_state(dsn) for dsn in sharded.shards] == before  # and nothing changed anywhere
        assert client.reset_password(token, new_password) == user.id
        with pytest.raises(LivepantyError) as used:
            client.reset_password(token, new_password + "!")
        assert used.value.sqlstate == "LP026"
        assert client.login(user.username, new_password).user_id == user.id
        with pytest.raises(InvalidCredentials):
            client.login(user.username, PASSWORD)
    for dsn in sharded.shards:  # the unknown address queued nothing anywhere
        with psycopg.connect(dsn) as conn:
            assert (
                conn.execute("SELECT count(*) FROM lp.outbox WHERE email ILIKE 'nobody%'").fetchone()[0] == 0
            )


def test_user_search_and_the_user_list_span_every_shard(sharded: Sharded) -> None:
    moderator = moderator_on(sharded, 0)
    far = register(sharded, shard=1)
    residents = []
    for dsn in sharded.shards:
        with psycopg.connect(dsn) as conn:
            residents += conn.execute(
                "SELECT u.created_at, u.id FROM lp.users AS u WHERE u.deleted_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id)"
            ).fetchall()
    expected = [r[1] for r in sorted(residents)]
    with sharded.client() as client, client.session(token_for(sharded, moderator)) as tx:
        assert tx.find_user(far.username.upper()).id == far.id
        assert tx.find_user(far.email).id == far.id
        pages, after = [], None
        while page := tx.list_users(after=after, limit=7):
            pages += [u.id for u in page]
            after = page[-1].id
    assert pages == expected  # every shard's users once, in registration order, no stub
    with (
        pytest.raises(LivepantyError) as missing,
        sharded.client() as client,
        client.session(token_for(sharded, moderator)) as tx,
    ):
        tx.find_user("nobody" + uuid.uuid4().hex[:8])
    assert missing.value.sqlstate == "LP003"


def test_tip_many_through_the_router_batches_per_shard_and_sends_tips_across(sharded: Sharded) -> None:
    alice, bob = register(sharded, shard=0), register(sharded, shard=1)
    near, far = verified_performer(sharded, 0), verified_performer(sharded, 1)
    unverified = register(sharded, "performer", shard=1, prefix="q")
    fund(sharded, alice.id, 1000)
    fund(sharded, bob.id, 1000)
    a, b = token_for(sharded, alice), token_for(sharded, bob)
    expired = token_for(sharded, bob)  # a session of shard 1, expired (on its shard and in the router)
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute(
            "UPDATE lp.auth_sessions SET created_at = now() - interval '2 hours',"
            " expires_at = now() - interval '1 second' WHERE token_hash = lp.hash_token(%s)",
            [expired],
        )
    with psycopg.connect(sharded.router) as conn:
        conn.execute(
            "UPDATE router.sessions SET expires_at = now() - interval '1 second'"
            " WHERE token_hash = lp.hash_token(%s)",
            [expired],
        )
    batch = [
        TipRequest(a, near.id, 100, "many-1"),
        TipRequest(a, far.id, 100, "many-2"),  # across shards: debited now, credited by the relay
        TipRequest(b, far.id, 50, "many-3"),
        TipRequest("x" * 43, near.id, 10, "many-4"),  # a session nobody has
        TipRequest(b, near.id, 10, "many-5"),  # across shards
        TipRequest(a, near.id, 20, "many-6"),
        TipRequest(expired, far.id, 10, "many-7"),  # refused as on one node
        TipRequest(a, unverified.id, 10, "many-8"),  # across, refused by the performer's shard (LP135)
        TipRequest(b, near.id, 5000, "many-9"),  # across, refused by the sender's shard (LP100)
        TipRequest(a, far.id, 0, "many-10"),  # across, out of range: refused as on one node (LP103)
    ]
    with sharded.client() as client:
        outcomes = client.tip_many(batch)
        again = client.tip_many(batch[:2])
        other = client.tip_many([TipRequest(a, far.id, 101, "many-2")])  # the key of another tip
    assert [o.ordinal for o in outcomes] == list(range(1, 11))
    assert [o.error_code for o in outcomes] == [
        *(None, None, None, "LP023", None, None, "LP023"),
        *("LP135", "LP100", "LP103"),
    ]
    senders = [o.sender_id for o in outcomes if o.error_code is None]
    assert senders == [alice.id, alice.id, bob.id, bob.id, alice.id]
    across = [(o.sender_id, o.recipient_id, o.amount, o.fee_amount) for o in (outcomes[1], outcomes[4])]
    assert across == [(alice.id, far.id, 100, fee(100)), (bob.id, near.id, 10, fee(10))]
    # a tip refused across shards is shaped as the shard's refused tips: its sender, recipient and amount
    refused = [(o.sender_id, o.recipient_id, o.amount, o.tip_id) for o in outcomes[7:]]
    assert refused == [
        (alice.id, unverified.id, 10, None),
        (bob.id, near.id, 5000, None),
        (alice.id, far.id, 0, None),
    ]
    assert outcomes[6].error_message == "invalid or expired session"
    assert "REMOTE" not in outcomes[8].error_message
    assert [(x.tip_id, x.replayed) for x in again] == [(o.tip_id, True) for o in outcomes[:2]]
    assert other[0].error_code == "LP106"
    assert (total(sharded, alice.id), total(sharded, bob.id)) == (780, 940)
    # the relay has not run yet
    assert (total(sharded, near.id), total(sharded, far.id)) == (80 + 16, 40)
    shards.relay_once(sharded.shards)
    assert (total(sharded, near.id), total(sharded, far.id)) == (80 + 16 + 8, 40 + 80)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_key_used_for_a_tip_across_shards_is_refused_for_a_tip_on_the_senders_shard(
    sharded: Sharded,
) -> None:
    """One node answers a key used before from the tip it made, and refuses it for another tip (LP106). A
    cross-shard tip is recorded on its sender's shard in lp.transfers_out, not lp.tips: api.tip and
    api.tip_many there must refuse its key for a tip to a performer of that shard too, as shard.tip_out
    refuses the key of a same-shard tip. Nothing is debited twice."""
    viewer = register(sharded, shard=0)
    near, far = verified_performer(sharded, 0), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 500)
    token = token_for(sharded, viewer)
    with sharded.client() as client:
        with client.session(token) as tx:
            tx.tip(far.id, 30, idempotency_key="key-across")
        with pytest.raises(IdempotencyConflict), client.session(token) as tx:
            tx.tip(near.id, 20, idempotency_key="key-across")
        outcome = client.tip_many([TipRequest(token, near.id, 20, "key-across")])
    assert [o.error_code for o in outcome] == ["LP106"]
    assert total(sharded, viewer.id) == 470
    assert total(sharded, near.id) == 0


def test_the_tip_batcher_sends_tips_across_shards_through_the_router(sharded: Sharded) -> None:
    viewer = register(sharded, shard=0)
    near, far = verified_performer(sharded, 0), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    with sharded.client() as client, TipBatcher(client, max_wait=0, flushers=1) as batcher:
        across = batcher.tip(token, far.id, 100, idempotency_key="batched-across")
        same = batcher.tip(token, near.id, 50, idempotency_key="batched-near")
        with pytest.raises(InsufficientFunds):  # sent alone, refused as api.tip refuses it
            batcher.tip(token, far.id, 5000, idempotency_key="batched-too-much")
    assert (across.sender_id, across.recipient_id, across.amount) == (viewer.id, far.id, 100)
    assert across.fee_amount == fee(100)
    assert (same.sender_id, same.recipient_id, same.amount) == (viewer.id, near.id, 50)
    assert total(sharded, viewer.id) == 850
    shards.relay_once(sharded.shards)
    assert (total(sharded, near.id), total(sharded, far.id)) == (40, 80)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_shows_run_for_viewers_of_their_shard_and_refuse_others(sharded: Sharded) -> None:
    host = verified_performer(sharded, 1)
    near, far = register(sharded, shard=1), register(sharded, shard=0)
    fund(sharded, near.id, 1000)
    fund(sharded, far.id, 1000)
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            tx.set_show_price("private", 10, 1)
            stream = go_live(tx, "show night")
        with client.session(token_for(sharded, near)) as tx:
            tx.join_stream(stream.id)
            show = tx.request_show(stream.id, idempotency_key="near-show")
        assert show.status == "requested"
        with client.session(token_for(sharded, far)) as tx:
            tx.join_stream(stream.id)  # watching across shards works
        with pytest.raises(CrossShardUnsupported), client.session(token_for(sharded, far)) as tx:
            tx.request_show(stream.id, idempotency_key="far-show")  # paying for a show there does not
        with client.session(token_for(sharded, near)) as tx:
            left = tx.leave_show(show.id)
    assert left.show_id == show.id
    assert total(sharded, far.id) == 1000
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_a_sanction_on_a_stub_is_refused_and_one_through_the_router_binds_the_home_account(
    sharded: Sharded,
) -> None:
    viewer = register(sharded, shard=0)
    host = verified_performer(sharded, 1)
    admin = register(sharded, shard=1, prefix="a")
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute("UPDATE lp.users SET role = 'admin' WHERE id = %s", [admin.id])
    with sharded.client() as client:
        with client.session(token_for(sharded, host)) as tx:
            stream = go_live(tx, "stub night")
        with client.session(token_for(sharded, viewer)) as tx:
            tx.join_stream(stream.id)  # the viewer's stub on shard 1
    with psycopg.connect(sharded.shards[1]) as conn, pytest.raises(psycopg.Error) as stub:
        conn.execute("SELECT lp.issue_sanction(%s, 'mute', 'chat abuse', NULL, NULL, NULL)", [viewer.id])
    assert stub.value.sqlstate == "LP203"
    with sharded.client() as client, client.session(token_for(sharded, admin)) as tx:
        sanction = tx.sanction_user(viewer.id, "mute", "chat abuse")
    with psycopg.connect(sharded.shards[0]) as conn:  # on the viewer's own shard
        assert (
            conn.execute("SELECT user_id FROM lp.user_sanctions WHERE id = %s", [sanction.id]).fetchone()[0]
            == viewer.id
        )


def test_a_case_on_the_performer_shard_sanctions_a_tipper_of_another_shard_on_their_own_once(
    sharded: Sharded,
) -> None:
    """A cross-shard tip's message is reported on the performer's shard, where the sender is a stub: resolving
    the case with a sanction asks the sender's shard (lp.sanction_requests), and the relay has it issued there
    once, naming the moderator (whose stub it makes there); one whose end passed on the way binds nothing."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    moderator = moderator_on(sharded, 1)
    fund(sharded, viewer.id, 500)

    def tip_and_report(key: str):
        with sharded.client() as client:
            with client.session(token_for(sharded, viewer)) as tx:
                tip = tx.tip(performer.id, 10, idempotency_key=key, message="you are awful")
            shards.wait_for_relay(sharded.shards)
            with client.session(token_for(sharded, performer)) as tx:
                case_id = tx.report("tip", tip.id, "harassment").case_id
            with client.session(token_for(sharded, moderator)) as tx:
                # The queue is every shard's (earlier tests of the module left cases open): claimed in its
                # order until this one, the others released.
                claimed = [tx.claim_case()]
                while claimed[-1] is not None and claimed[-1].id != case_id:
                    claimed.append(tx.claim_case())
                for other in claimed[:-1]:
                    tx.release_case(other.id)
        assert claimed[-1] is not None
        assert claimed[-1].id == case_id
        return case_id

    def sanctions_of_viewer() -> list[tuple[Any, ...]]:
        with psycopg.connect(sharded.shards[0]) as conn:
            return conn.execute(
                "SELECT s.sanction_type::text, s.issued_by, s.reason, s.ends_at, r.case_id, r.outcome"
                "  FROM lp.user_sanctions AS s JOIN lp.sanction_receipts AS r ON r.sanction_id = s.id"
                " WHERE s.user_id = %s ORDER BY s.created_at",
                [viewer.id],
            ).fetchall()

    case_id = tip_and_report("rude-1")
    until = datetime.now(UTC) + timedelta(days=2)
    with psycopg.connect(sharded.shards[1]) as conn:
        assert conn.execute("SELECT 1 FROM lp.remote_users WHERE user_id = %s", [viewer.id]).fetchone()
        with pytest.raises(psycopg.Error) as stub:  # issued on the stub it would bind nothing of theirs
            conn.execute("SELECT lp.issue_sanction(%s, 'mute', 'abuse', NULL, NULL, NULL)", [viewer.id])
        assert stub.value.sqlstate == "LP203"
    with sharded.client() as client, client.session(token_for(sharded, moderator)) as tx:
        resolved = tx.resolve_case(
            case_id, "sanction", "insulted the performer", "rule 4", "suspension", until
        )
    assert resolved.status == "resolved"
    with psycopg.connect(sharded.shards[1]) as conn:
        [(decision, request_id)] = conn.execute(
            "SELECT r.decision, q.id FROM lp.reports AS r JOIN lp.sanction_requests AS q ON q.case_id = r.id"
            " WHERE r.id = %s AND q.status = 'pending'",
            [case_id],
        ).fetchall()
        # Nothing of the viewer's is sanctioned on the performer's shard, not even their stub.
        stub_sanctions = conn.execute(
            "SELECT count(*) FROM lp.user_sanctions WHERE user_id = %s", [viewer.id]
        ).fetchone()[0]
    assert stub_sanctions == 0
    assert (decision["sanction_type"], decision["sanction_request_id"]) == ("suspension", str(request_id))
    assert sanctions_of_viewer() == []  # asked, not yet delivered
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tx.tip(performer.id, 10, idempotency_key="rude-2")  # the viewer still acts until it arrives
    [backlog] = [r for r in shards.transfer_status(sharded.shards) if (r["shard"], r["peer"]) == (1, 0)]
    assert backlog["requests_pending"] == 1  # the relay's backlog, in shards status

    # A request its target refuses (here: it names a user who does not live there) stays pending with the
    # error, shown by shards status, and binds nothing; put right, it is delivered.
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute("UPDATE lp.sanction_requests SET user_id = %s WHERE id = %s", [moderator.id, request_id])
    stats = shards.relay_once(sharded.shards)
    assert stats.sanctions == 0
    assert [e for e in stats.errors if str(request_id) in e], stats
    [backlog] = [r for r in shards.transfer_status(sharded.shards) if (r["shard"], r["peer"]) == (1, 0)]
    assert backlog["requests_pending"] == 1
    assert "LP199" in backlog["last_error"] or "does not live" in backlog["last_error"]
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute("UPDATE lp.sanction_requests SET user_id = %s WHERE id = %s", [viewer.id, request_id])

    stats = shards.relay_once(sharded.shards)
    assert (stats.sanctions, stats.errors) == (1, [])
    [(kind, issued_by, reason, ends_at, receipt_case, outcome)] = sanctions_of_viewer()
    assert (kind, issued_by, reason, receipt_case, outcome) == (
        "suspension", moderator.id, "rule 4", case_id, "issued",
    )  # fmt: skip
    assert abs((ends_at - until).total_seconds()) < 1
    with psycopg.connect(sharded.shards[0]) as conn:  # the moderator's stub there, named by the sanction
        assert conn.execute(
            "SELECT home_shard FROM lp.remote_users WHERE user_id = %s", [moderator.id]
        ).fetchone() == (1,)
        sessions = conn.execute(
            "SELECT count(*) FROM lp.auth_sessions WHERE user_id = %s AND revoked_at IS NULL", [viewer.id]
        ).fetchone()[0]
    assert sessions == 0  # the suspension revoked the viewer's sessions on their shard
    with sharded.client() as client, pytest.raises(LivepantyError) as refused:
        client.login(viewer.username, PASSWORD)
    assert refused.value.sqlstate == "LP022"

    # A relay that died after applying, before marking: applied again, it changes nothing.
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute(
            "UPDATE lp.sanction_requests SET status = 'pending', delivered_at = NULL WHERE id = %s",
            [request_id],
        )
    stats = shards.relay_once(sharded.shards)
    assert (stats.sanctions, stats.errors) == (0, [])
    assert len(sanctions_of_viewer()) == 1
    with psycopg.connect(sharded.shards[1]) as conn:
        assert conn.execute(
            "SELECT status FROM lp.sanction_requests WHERE id = %s", [request_id]
        ).fetchone() == ("delivered",)

    # A mute whose end passes before the relay delivers it: received, binds nothing.
    with psycopg.connect(sharded.shards[0]) as conn:
        [[suspension]] = conn.execute("SELECT id FROM lp.user_sanctions WHERE user_id = %s", [viewer.id])
    with sharded.client() as client, client.session(token_for(sharded, moderator)) as tx:
        tx.revoke_sanction(suspension, "served")  # routed to the sanction's shard, the viewer's
    # The viewer reads the decision about them (on the performer's shard), with the sanction issued at home.
    with sharded.client() as client:
        with client.session(token_for(sharded, viewer)) as tx:
            decisions = {d.case_id: d for d in tx.my_case_decisions()}
        with pytest.raises(LivepantyError) as bad, client.session(token_for(sharded, viewer)) as tx:
            tx.my_case_decisions(limit=0)  # refused by the viewer's shard before any other is asked
    with sharded.client() as client, client.session(token_for(sharded, performer)) as tx:
        assert [d.case_id for d in tx.my_case_decisions()] == []  # the performer's: none, never the viewer's
    assert bad.value.sqlstate == "LP018"
    assert (decisions[case_id].action, decisions[case_id].rule, decisions[case_id].sanction_id) == (
        "sanction", "rule 4", suspension,
    )  # fmt: skip
    second = tip_and_report("rude-3")
    with sharded.client() as client, client.session(token_for(sharded, moderator)) as tx:
        tx.resolve_case(second, "sanction", "again", "rule 4", "mute", datetime.now(UTC) + timedelta(hours=1))
    with psycopg.connect(sharded.shards[1]) as conn:
        conn.execute(
            "UPDATE lp.sanction_requests SET ends_at = now() - interval '1 second' WHERE case_id = %s",
            [second],
        )
    stats = shards.relay_once(sharded.shards)
    assert (stats.sanctions, stats.errors) == (1, [])
    with psycopg.connect(sharded.shards[0]) as conn:
        receipt = conn.execute(
            "SELECT outcome, sanction_id FROM lp.sanction_receipts WHERE case_id = %s", [second]
        ).fetchone()
        mutes = conn.execute(
            "SELECT count(*) FROM lp.user_sanctions WHERE user_id = %s AND sanction_type = 'mute'",
            [viewer.id],
        ).fetchone()[0]
    assert (receipt, mutes) == (("lapsed", None), 0)

    # Made a moderator at home, the viewer's stub on shard 1 still says viewer (refreshed only when they act
    # there): a moderator's case passes the staff rule there, their own shard refuses it (only admins).
    third = tip_and_report("rude-4")
    with psycopg.connect(sharded.shards[0]) as conn:
        conn.execute("UPDATE lp.users SET role = 'moderator' WHERE id = %s", [viewer.id])
    with sharded.client() as client, client.session(token_for(sharded, moderator)) as tx:
        tx.resolve_case(third, "warn", "again", "rule 4")
    stats = shards.relay_once(sharded.shards)
    assert (stats.sanctions, stats.errors) == (1, [])
    with psycopg.connect(sharded.shards[0]) as conn:
        receipt = conn.execute(
            "SELECT outcome, sanction_id FROM lp.sanction_receipts WHERE case_id = %s", [third]
        ).fetchone()
        warnings = conn.execute(
            "SELECT count(*) FROM lp.user_sanctions WHERE user_id = %s AND sanction_type = 'warning'",
            [viewer.id],
        ).fetchone()[0]
    assert (receipt, warnings) == (("refused_staff", None), 0)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def test_racing_relays_apply_a_sanction_request_once_and_a_deleted_user_gets_none(sharded: Sharded) -> None:
    """Two relays applying one sanction request at once (possible after a claim's session died): the second
    waits on the user's row (a row lock: no advisory lock, which any login could take), then finds the receipt
    and issues nothing. A request for a user who deleted their account meanwhile is received (outcome
    user_deleted) and binds nothing."""
    viewer = register(sharded, shard=0)
    gone = register(sharded, shard=0)
    moderator = register(sharded, shard=1, prefix="m")
    call = (
        "SELECT shard.apply_sanction_request(0, 1, %s, %s, %s, 'mute', 'rule 9', NULL, %s, %s,"
        " 'moderator', 1)"
    )
    request = uuid.uuid4()
    args = [request, viewer.id, uuid.uuid4(), moderator.id, moderator.username]
    second: dict[str, Any] = {}

    racer_pid: list[int] = []

    def apply_again() -> None:
        try:
            with psycopg.connect(sharded.shards[0]) as conn:
                racer_pid.append(conn.info.backend_pid)
                second["applied"] = conn.execute(call, args).fetchone()[0]
        except Exception as exc:  # reported by the assertion below
            second["error"] = exc

    first = psycopg.connect(sharded.shards[0])
    try:
        assert first.execute(call, args).fetchone() == (True,)  # applied, not yet committed
        racer = threading.Thread(target=apply_again)
        racer.start()
        with psycopg.connect(sharded.shards[0], autocommit=True) as watch:
            deadline = time.monotonic() + 10
            # The racer waits for a row lock (a tuple or the first transaction's id), never an advisory one.
            while (
                not racer_pid
                or not watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted"
                    " AND locktype IN ('tuple', 'transactionid')",
                    racer_pid,
                ).fetchone()[0]
            ):
                assert time.monotonic() < deadline, "the second relay never waited on the user's row"
                assert not second, second
                time.sleep(0.02)
            assert (
                watch.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] == 0
            )
        first.commit()
    finally:
        first.close()
    racer.join(30)
    assert second == {"applied": False}
    with psycopg.connect(sharded.shards[0]) as conn:
        mutes = conn.execute(
            "SELECT count(*) FROM lp.user_sanctions WHERE user_id = %s AND sanction_type = 'mute'",
            [viewer.id],
        ).fetchone()[0]
        receipts = conn.execute(
            "SELECT outcome, sanction_id IS NOT NULL FROM lp.sanction_receipts WHERE id = %s", [request]
        ).fetchall()
    assert (mutes, receipts) == (1, [("issued", True)])

    with sharded.client() as client, client.session(token_for(sharded, gone)) as tx:
        tx.delete_user()
    request = uuid.uuid4()
    with psycopg.connect(sharded.shards[0]) as conn:
        applied = conn.execute(call, [request, gone.id, uuid.uuid4(), moderator.id, moderator.username])
        assert applied.fetchone() == (True,)
        receipt = conn.execute(
            "SELECT outcome, sanction_id FROM lp.sanction_receipts WHERE id = %s", [request]
        ).fetchone()
        sanctions = conn.execute(
            "SELECT count(*) FROM lp.user_sanctions WHERE user_id = %s", [gone.id]
        ).fetchone()
    assert (receipt, sanctions) == (("user_deleted", None), (0,))


def test_the_decisions_about_a_user_fail_with_lp200_while_another_shard_is_down(sharded: Sharded) -> None:
    """api.my_case_decisions through the router asks every shard (a case about the user may be on any): with
    one down it fails with LP200 (transient), never answers with part of the decisions; their other calls go
    on."""
    viewer = register(sharded, shard=0)
    token = token_for(sharded, viewer)
    with sharded.client() as client:
        with client.session(token) as tx:
            # The router's connection to each shard is now open: stopping shard 1 drops it under PL/Proxy,
            # whose next call reads 57P01 (the shard shutting down), reported as LP200 all the same.
            assert tx.my_case_decisions() == []
        sharded.topology.shard(1).stop()
        try:
            with pytest.raises(ShardUnavailable) as caught, client.session(token) as tx:
                tx.my_case_decisions()
            with pytest.raises(ShardUnavailable) as again, client.session(token) as tx:
                tx.my_case_decisions()  # now the connection cannot be made
            with client.session(token) as tx:
                assert tx.get_wallet().balance == 0
        finally:
            sharded.topology.shard(1).start()
    assert again.value.detail == "shard 1"
    assert caught.value.transient
    assert caught.value.detail == "shard 1"
    with sharded.client() as client, client.session(token) as tx:
        assert tx.my_case_decisions() == []


def test_a_cross_shard_tip_whose_fee_is_the_whole_tip_still_reaches_the_performers_shard(
    sharded: Sharded,
) -> None:
    """With tips.fee_bps 10000 a tip carries no tokens to the performer, but on one node it is still their
    tip: in their tips, the goal's progress and the stream's events. Across shards it travels like any other,
    with 0 tokens in transit; toward a goal that refunds when missed, the settle job sends 0 tokens back and
    the viewer's shard gives back the whole tip (its fee). Before 0046 the viewer's shard marked it delivered
    at once and the performer's shard never heard of it."""
    host = verified_performer(sharded, 0)
    viewer = register(sharded, shard=1)
    fund(sharded, viewer.id, 300)
    old = _setting(sharded, "tips.fee_bps")
    _setting(sharded, "tips.fee_bps", "10000")
    try:
        with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
            with client.session(token_for(sharded, host)) as tx:
                stream = go_live(tx, "all fees")
                goal = tx.add_tip_goal(
                    stream.id, 1000, "far away", deadline=datetime.now(UTC) + timedelta(hours=1),
                    refund_if_missed=True,
                )  # fmt: skip
            with client.session(token_for(sharded, viewer)) as tx:
                tip = tx.tip(host.id, 100, idempotency_key="whole-fee-1", stream_id=stream.id)
            with psycopg.connect(sharded.shards[1]) as conn:
                sent = conn.execute(
                    "SELECT amount, fee_amount, status FROM lp.transfers_out WHERE id = %s", [tip.id]
                ).fetchone()
            assert sent == (100, 100, "pending")
            assert total(sharded, viewer.id) == 200
            shards.wait_for_relay(sharded.shards)
            with client.session(token_for(sharded, host)) as tx:
                received = {t.id: (t.amount, t.fee_amount, t.status) for t in tx.list_tips("recipient")}
                progress = next(g for g in tx.stream_goals(stream.id) if g.id == goal.id).progress_tokens
                tx.cancel_tip_goal(goal.id)
            assert received == {tip.id: (100, 100, "escrowed")}
            assert progress == 100
            with psycopg.connect(sharded.shards[0]) as conn:
                announced = conn.execute(
                    "SELECT payload->>'amount' FROM lp.stream_events"
                    " WHERE stream_id = %s AND kind = 'tip' AND payload->>'tip_id' = %s",
                    [stream.id, str(tip.id)],
                ).fetchall()
            assert announced == [("100",)]
            assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean
            service.settle_tip_goals()
            shards.wait_for_relay(sharded.shards)
            assert shards.relay_once(sharded.shards).delivered == 0  # nothing twice
    finally:
        _setting(sharded, "tips.fee_bps", old)
    with psycopg.connect(sharded.shards[0]) as conn:
        settled = conn.execute("SELECT status FROM lp.tips WHERE id = %s", [tip.id]).fetchone()
        refund = conn.execute(
            "SELECT amount, fee_amount, status FROM lp.transfers_out WHERE refund_of = %s", [tip.id]
        ).fetchone()
    assert (settled, refund) == (("refunded",), (0, 0, "delivered"))
    assert total(sharded, viewer.id) == 300  # the whole tip back: its fee from the viewer's shard's fees
    assert total(sharded, host.id) == 0
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


@contextlib.contextmanager
def refusing_credits(shard_dsn: str) -> Iterator[None]:
    """While the block runs, the shard refuses every cross-shard credit (a trigger on lp.transfers_in, which
    its session drops afterwards): what arrives then is left pending."""
    with psycopg.connect(shard_dsn) as conn:
        conn.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN RAISE EXCEPTION 'not now'; END$$;"
            "CREATE TRIGGER refuse_for_a_while BEFORE INSERT ON lp.transfers_in"
            " FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
        )
        conn.commit()
        try:
            yield
        finally:
            conn.execute("DROP TRIGGER refuse_for_a_while ON lp.transfers_in")
            conn.commit()


def test_delivery_at_once_credits_the_performer_before_the_tip_returns(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shards delivery --at-once`: the router applies a cross-shard tip's credit on the performer's shard and
    marks it delivered before api.tip (or api.tip_many) returns, as on one node: the performer's balance, tips
    and stream event are there at once, and the relay finds nothing to do. A credit the performer's shard
    refuses at that moment is left to the relay (the tip is returned all the same, debited once) and arrives
    when it runs. `--by-relay` (the default) leaves every credit to the relay again."""
    monkeypatch.setenv("LIVEPANTY_HOME", str(sharded.home))
    for name in ("LIVEPANTY_DSN", "DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    token = token_for(sharded, viewer)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit

    def outbox_status(tip_id: uuid.UUID) -> str:
        with psycopg.connect(sharded.shards[0]) as conn:
            return conn.execute("SELECT status FROM lp.transfers_out WHERE id = %s", [tip_id]).fetchone()[0]

    shown = runner.invoke(main, ["shards", "delivery"])
    assert (shown.exit_code, shown.output.split()[-1]) == (0, "by_relay"), shown.output
    turned = runner.invoke(main, ["shards", "delivery", "--at-once"])
    assert (turned.exit_code, turned.output.split()[-1]) == (0, "at_once"), turned.output
    try:
        with sharded.client() as client:
            with client.session(token_for(sharded, performer)) as tx:
                stream = go_live(tx, "at once")
            with client.session(token) as tx:
                tip = tx.tip(performer.id, 100, idempotency_key="at-once-1", stream_id=stream.id)
            assert total(sharded, performer.id) == 100 - fee(100)  # no relay has run
            assert outbox_status(tip.id) == "delivered"
            with client.session(token_for(sharded, performer)) as tx:
                assert [t.id for t in tx.list_tips("recipient")] == [tip.id]
            with psycopg.connect(sharded.shards[1]) as conn:
                announced = conn.execute(
                    "SELECT count(*) FROM lp.stream_events WHERE stream_id = %s AND payload->>'tip_id' = %s",
                    [stream.id, str(tip.id)],
                ).fetchone()
            assert announced == (1,)
            [batched] = client.tip_many([TipRequest(token, performer.id, 50, "at-once-2")])
            assert total(sharded, performer.id) == 150 - fee(100) - fee(50)
            assert outbox_status(batched.tip_id) == "delivered"
            assert shards.relay_once(sharded.shards).delivered == 0

            # The performer's shard refuses the credit right now: the tip stands, the relay delivers it later.
            with refusing_credits(sharded.shards[1]):
                with client.session(token) as tx:
                    late = tx.tip(performer.id, 40, idempotency_key="at-once-3")
                    retried = tx.tip(performer.id, 20, idempotency_key="at-once-3b")
                assert (outbox_status(late.id), outbox_status(retried.id)) == ("pending", "pending")
                assert total(sharded, performer.id) == 150 - fee(100) - fee(50)
            with client.session(token) as tx:  # a retry of the call delivers what is still pending
                assert tx.tip(performer.id, 20, idempotency_key="at-once-3b").id == retried.id
            assert outbox_status(retried.id) == "delivered"
            assert shards.relay_once(sharded.shards).delivered == 1  # the other one, left to the relay
            credited = 210 - fee(100) - fee(50) - fee(40) - fee(20)
            assert total(sharded, performer.id) == credited
            with client.session(token) as tx:  # retries return the same tips, debited and credited once
                assert tx.tip(performer.id, 40, idempotency_key="at-once-3").id == late.id
                assert tx.tip(performer.id, 20, idempotency_key="at-once-3b").id == retried.id
            assert total(sharded, performer.id) == credited
            assert total(sharded, viewer.id) == 1000 - 210
    finally:
        back = runner.invoke(main, ["shards", "delivery", "--by-relay"])
    assert (back.exit_code, back.output.split()[-1]) == (0, "by_relay"), back.output
    with sharded.client() as client, client.session(token) as tx:
        relayed = tx.tip(performer.id, 10, idempotency_key="at-once-4")
    assert outbox_status(relayed.id) == "pending"
    shards.wait_for_relay(sharded.shards)
    assert outbox_status(relayed.id) == "delivered"
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_delivery_at_once_credits_a_capture_for_a_payee_of_another_shard_before_it_returns(
    sharded: Sharded,
) -> None:
    """With delivery at once, api.capture_hold through the router applies the payee's part on their shard and
    marks the outbox row delivered before it returns (as a tip); a credit the payee's shard refuses right then
    is left to the relay, and a retry of the capture (same key) delivers it, once."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 1000)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit

    def outbox(hold_id: uuid.UUID) -> list[tuple[int, str]]:
        with psycopg.connect(sharded.shards[0]) as conn:
            return [
                (amount, status)
                for amount, status in conn.execute(
                    "SELECT amount, status FROM lp.transfers_out WHERE hold_id = %s ORDER BY created_at",
                    [hold_id],
                ).fetchall()
            ]

    shards.delivery_at_once(sharded.router, True)
    try:
        with sharded.client() as client:
            with client.session(token_for(sharded, viewer)) as tx:
                hold = tx.place_hold(performer.id, 600, idempotency_key="cap-at-once-h")
            with client.session(token_for(sharded, performer)) as tx:
                tx.capture_hold(hold.id, 200, idempotency_key="cap-at-once-1")
            assert total(sharded, performer.id) == 200 - fee(200)  # no relay has run
            assert outbox(hold.id) == [(200, "delivered")]

            with refusing_credits(sharded.shards[1]):  # the payee's shard refuses credits for a while
                with client.session(token_for(sharded, performer)) as tx:
                    late = tx.capture_hold(hold.id, 100, idempotency_key="cap-at-once-2")
                assert outbox(hold.id) == [(200, "delivered"), (100, "pending")]
                assert total(sharded, performer.id) == 200 - fee(200)
            with client.session(token_for(sharded, performer)) as tx:  # the retry delivers what is pending
                again = tx.capture_hold(hold.id, 100, idempotency_key="cap-at-once-2")
            assert (again.replayed, again.id) == (True, late.id)
            assert outbox(hold.id) == [(200, "delivered"), (100, "delivered")]
            assert shards.relay_once(sharded.shards).delivered == 0
            credited = 300 - fee(200) - fee(100)
            assert total(sharded, performer.id) == credited
            assert total(sharded, viewer.id) == 700
    finally:
        shards.delivery_at_once(sharded.router, False)
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_delivery_at_once_issues_a_sanction_decided_on_another_shard_before_the_resolution_returns(
    sharded: Sharded,
) -> None:
    """With delivery at once, a case resolved on the performer's shard with a sanction for a tipper of another
    shard binds the tipper on their own shard before api.resolve_case returns (router.deliver_sanction_now:
    the relay's step, keyed by the request's id); the relay then has nothing to deliver. With the tipper's
    shard unreachable (fenced) the resolution still succeeds, and the relay delivers the sanction later."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    moderator = moderator_on(sharded, 1)
    fund(sharded, viewer.id, 100)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit
    assert shards.delivery_at_once(sharded.router, True) is True
    try:
        with sharded.client() as client:
            with client.session(token_for(sharded, viewer)) as tx:
                tip = tx.tip(performer.id, 10, idempotency_key="rude-at-once", message="awful")
                later = tx.tip(performer.id, 10, idempotency_key="rude-at-once-b", message="worse")
            with client.session(token_for(sharded, performer)) as tx:  # credited at once: reportable there
                case_id = tx.report("tip", tip.id, "harassment").case_id
                later_case = tx.report("tip", later.id, "harassment").case_id

            def claim(case: uuid.UUID) -> None:  # the queue is every shard's: claimed in order up to it
                with client.session(token_for(sharded, moderator)) as tx:
                    claimed = [tx.claim_case()]
                    while claimed[-1] is not None and claimed[-1].id != case:
                        claimed.append(tx.claim_case())
                    for other in claimed[:-1]:
                        tx.release_case(other.id)

            def resolve(case: uuid.UUID, kind: str) -> None:
                with client.session(token_for(sharded, moderator)) as tx:
                    tx.resolve_case(
                        case, "sanction", "insults", "rule 4", kind, datetime.now(UTC) + timedelta(hours=1)
                    )

            claim(case_id)
            resolve(case_id, "mute")
            with psycopg.connect(sharded.shards[0]) as conn:
                issued = conn.execute(
                    "SELECT s.sanction_type::text, s.issued_by, r.outcome FROM lp.user_sanctions AS s"
                    " JOIN lp.sanction_receipts AS r ON r.sanction_id = s.id WHERE r.case_id = %s",
                    [case_id],
                ).fetchall()
            with psycopg.connect(sharded.shards[1]) as conn:
                request = conn.execute(
                    "SELECT status FROM lp.sanction_requests WHERE case_id = %s", [case_id]
                ).fetchone()
            assert issued == [("mute", moderator.id, "issued")]
            assert request == ("delivered",)
            assert shards.relay_once(sharded.shards).sanctions == 0
            with pytest.raises(LivepantyError) as muted, client.session(token_for(sharded, viewer)) as tx:
                tx.tip(performer.id, 10, idempotency_key="rude-at-once-2", message="again")
            assert muted.value.sqlstate == "LP150"

            claim(later_case)
            shards.fence(sharded.router, 0, reason="the tipper's shard unreachable")
            try:
                resolve(later_case, "tip_block")  # resolved; the delivery is left to the relay
            finally:
                shards.unfence(sharded.router, 0)
            with psycopg.connect(sharded.shards[1]) as conn:
                pending = conn.execute(
                    "SELECT status FROM lp.sanction_requests WHERE case_id = %s", [later_case]
                ).fetchone()
            assert pending == ("pending",)
            assert shards.relay_once(sharded.shards).sanctions == 1
            with pytest.raises(LivepantyError) as blocked, client.session(token_for(sharded, viewer)) as tx:
                tx.tip(performer.id, 10, idempotency_key="rude-at-once-3")
            assert blocked.value.sqlstate == "LP150"
    finally:
        shards.delivery_at_once(sharded.router, False)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


def _freeze(cluster: Any) -> list[int]:
    """SIGSTOP every process of a cluster (its postmaster and children): a shard that hangs while its kernel
    still accepts connections, which no PL/Proxy timeout ends (docs/scale-out.md, "Limits")."""
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGSTOP)  # first: a stopped postmaster starts no child the list below misses
    pids = [postmaster]
    try:
        listed = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True)
        for pid in map(int, listed.stdout.split()):
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # a child that exited since pgrep listed it (a backend, a worker)
                continue
            pids.append(pid)
    except BaseException:
        _thaw(pids)  # never leave a cluster half frozen for the tests after this one
        raise
    return pids


def _thaw(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def test_a_shard_that_hangs_is_fenced_by_the_watch_and_its_calls_fail_at_once(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shards watch` fences a shard whose processes hang (SIGSTOP): calls for its users then fail at once
    with LP200, also on a router backend whose PL/Proxy connection to it was open, while the other shard's
    users go on; when it answers again the watch lifts its fence. An operator's fence (`shards fence`) holds
    until `shards unfence`: the watch leaves it alone."""
    monkeypatch.setenv("LIVEPANTY_HOME", str(sharded.home))
    for name in ("LIVEPANTY_DSN", "DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    near, far = register(sharded, shard=0), register(sharded, shard=1)
    near_token, far_token = token_for(sharded, near), token_for(sharded, far)
    own = shards.partition_dsns(sharded.router)
    with sharded.client() as client:
        with client.session(far_token) as tx:
            assert tx.get_wallet().balance == 0  # this router backend now holds a connection to shard 1
        pids = _freeze(sharded.topology.shard(1))
        try:
            started = time.monotonic()
            outcome = shards.watch_once(sharded.router, timeout=2)
            assert (outcome.fenced, list(outcome.down)) == ([1], [1])
            assert time.monotonic() - started < 8
            started = time.monotonic()
            with pytest.raises(ShardUnavailable) as caught, client.session(far_token) as tx:
                tx.get_wallet()
            assert time.monotonic() - started < 3
            assert caught.value.detail == "shard 1"
            with client.session(near_token) as tx:
                assert tx.get_wallet().balance == 0  # shard 0 goes on
            [_, fenced] = shards.partitions(sharded.router)
            assert (fenced.fenced_by, fenced.conninfo) == ("watch", own[1])
            assert shards.partition_dsns(sharded.router) == own  # the relay still reaches the shards
            # An operator takes the watch's fence over (a restore, say): the watch no longer lifts it.
            assert shards.fence(sharded.router, 1, reason="restoring") is True
        finally:
            _thaw(pids)
    outcome = shards.watch_once(sharded.router, timeout=5)
    assert (outcome.down, outcome.unfenced, outcome.answered) == ({}, [], [0, 1])
    assert [(p.fenced_by, p.fence_reason) for p in shards.partitions(sharded.router)] == [
        (None, None), ("operator", "restoring"),
    ]  # fmt: skip
    assert shards.unfence(sharded.router, 1) is True
    with sharded.client() as client, client.session(far_token) as tx:
        assert tx.get_wallet().balance == 0
    # No shard answers at all: the watch is more likely cut off than every shard down; it fences none.
    frozen: list[int] = []
    try:
        frozen += _freeze(sharded.topology.shard(0))
        frozen += _freeze(sharded.topology.shard(1))
        outcome = shards.watch_once(sharded.router, timeout=2)
    finally:
        _thaw(frozen)
    assert (sorted(outcome.down), outcome.fenced, outcome.held_back) == ([0, 1], [], True)
    assert [p.fenced_at for p in shards.partitions(sharded.router)] == [None, None]

    fenced = runner.invoke(main, ["shards", "fence", "0", "--reason", "maintenance"])
    assert fenced.exit_code == 0, fenced.output
    try:
        with sharded.client() as client, pytest.raises(ShardUnavailable), client.session(near_token) as tx:
            tx.get_wallet()
        assert shards.watch_once(sharded.router, timeout=5).unfenced == []  # not the watch's fence
        listed = runner.invoke(main, ["shards", "partitions"])
        assert listed.exit_code == 0, listed.output
        assert "operator" in listed.output
        assert "maintenance" in listed.output
    finally:
        lifted = runner.invoke(main, ["shards", "unfence", "0"])
    assert lifted.exit_code == 0, lifted.output
    with sharded.client() as client, client.session(near_token) as tx:
        assert tx.get_wallet().balance == 0
    watched = runner.invoke(main, ["shards", "watch", "--once", "--timeout", "5"])
    assert watched.exit_code == 0, watched.output


def test_the_watch_ends_the_calls_stuck_on_a_shard_that_hung(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call that reached a shard before it hung (SIGSTOP) waits for ever: a fence only stops the calls made
    after it. With `shards watch --end-stuck-calls` (``end_stuck_after``), while a shard is fenced the watch
    ends the router's API calls running longer than that with no wait event: the stuck client gets a lost
    connection (a transient error) at once; a call sleeping on the router itself (a wait event), and a
    statement that is no SELECT, are left alone."""
    monkeypatch.setenv("LIVEPANTY_HOME", str(sharded.home))
    for name in ("LIVEPANTY_DSN", "DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    far = register(sharded, shard=1)
    token = token_for(sharded, far)

    def stuck_call(conn: psycopg.Connection, outcome: list[str]) -> None:
        try:
            conn.execute("SELECT api.authenticate(%s)", [token])
            conn.execute("SELECT * FROM api.get_wallet()")
            outcome.append("answered")
        except psycopg.Error as exc:
            outcome.append(type(exc).__name__)

    def nap(conn: psycopg.Connection, statement: str) -> threading.Thread:
        def run() -> None:
            with contextlib.suppress(psycopg.Error):  # (cancelled at the end)
                conn.execute(statement)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    busy = (
        "DO $$ BEGIN PERFORM count(*) FROM generate_series(1, 300000000) AS g WHERE g = -1; END $$ -- api.x"
    )
    caller = psycopg.connect(sharded.router)
    sleeper = psycopg.connect(sharded.router, autocommit=True)
    builder = psycopg.connect(sharded.router, autocommit=True)
    try:
        caller.execute("SET ROLE livepanty_app")
        caller.execute("SELECT api.authenticate(%s)", [token])
        caller.execute("SELECT * FROM api.get_wallet()")  # this backend's connection to shard 1 is open
        caller.commit()
        stuck_pid = caller.info.backend_pid
        outcome: list[str] = []
        pids = _freeze(sharded.topology.shard(1))
        try:
            worker = threading.Thread(target=stuck_call, args=(caller, outcome), daemon=True)
            worker.start()
            napping = [  # long, not stuck on a shard: one sleeping on the router, one computing (no SELECT)
                nap(sleeper, "SELECT pg_sleep(60), 'api.get_wallet' AS looks_like_a_call"),
                nap(builder, busy),
            ]
            first = shards.watch_once(sharded.router, timeout=2)  # fenced, but the call already went out
            assert (first.fenced, first.ended) == ([1], [])
            assert worker.is_alive()
            watched = CliRunner().invoke(
                main, ["shards", "watch", "--once", "--timeout", "2", "--end-stuck-calls", "1"]
            )
            assert watched.exit_code == 1, watched.output  # (shard 1 still does not answer)
            assert f"ended 1 router call(s) stuck on a fenced shard: [{stuck_pid}]" in watched.output
            worker.join(5)
            assert not worker.is_alive()
            assert outcome == ["AdminShutdown"]
            assert all(thread.is_alive() for thread in napping)  # left alone
        finally:
            _thaw(pids)
    finally:
        for conn in (sleeper, builder):
            conn.cancel()
        caller.close()
        sleeper.close()
        builder.close()
        assert _unfence_when_the_router_answers(sharded.router, 1) is True
    with sharded.client() as client, client.session(token) as tx:
        assert tx.get_wallet().balance == 0


def _unfence_when_the_router_answers(router: str, shard: int) -> bool:
    """shards.unfence, retried for up to 30 s while the router does not take connections. Seen once in a
    full run (2026-12-06), never in isolated runs: right after the watch ended a router backend stuck in a
    call to the frozen shard, a new connection to the router was closed at start-up (as when PostgreSQL resets
    its backends after one ended abnormally); the later tests of that run reached the router again."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return shards.unfence(router, shard)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_ending_stuck_calls_also_ends_a_call_waiting_on_a_lock_of_a_healthy_shard(sharded: Sharded) -> None:
    """The price of `--end-stuck-calls` that docs/scale-out.md states (why it is off by default): on the
    router every routed call shows no wait event, so while any shard is fenced a call that waits on a lock of
    a healthy shard for longer than the limit is ended too. Its client gets a lost connection; a retry with
    the same key applies the tip once."""
    viewer, performer = register(sharded, shard=0), verified_performer(sharded, 0)
    fund(sharded, viewer.id, 100)
    token = token_for(sharded, viewer)
    caller = psycopg.connect(sharded.router)
    holder = psycopg.connect(sharded.shards[0])
    outcome: list[str] = []

    def waiting_tip() -> None:
        try:
            caller.execute(
                "SELECT * FROM api.tip(p_recipient_id => %s, p_amount => 10, p_idempotency_key => 'slow-1')",
                [performer.id],
            )
            outcome.append("answered")
        except psycopg.Error as exc:
            outcome.append(type(exc).__name__)

    assert shards.fence(sharded.router, 1, reason="test: another shard fenced") is True
    try:
        caller.execute("SET ROLE livepanty_app")
        caller.execute("SELECT api.authenticate(%s)", [token])
        caller_pid = caller.info.backend_pid
        holder.execute("SELECT 1 FROM lp.wallets WHERE user_id = %s FOR UPDATE", [viewer.id])
        holder_pid = holder.info.backend_pid
        worker = threading.Thread(target=waiting_tip, daemon=True)
        worker.start()
        with psycopg.connect(sharded.shards[0], autocommit=True) as watch:
            deadline = time.monotonic() + 10
            while not watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY (pg_blocking_pids(pid))", [holder_pid]
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the tip never waited for the wallet on shard 0"
                time.sleep(0.05)
        time.sleep(1.2)
        assert shards.end_stuck_calls(sharded.router, 1) == [caller_pid]  # shard 0 is healthy
        worker.join(5)
        assert (worker.is_alive(), outcome) == (False, ["AdminShutdown"])
    finally:
        holder.rollback()
        holder.close()
        caller.close()
        assert shards.unfence(sharded.router, 1) is True
    with sharded.client() as client, client.session(token) as tx:
        tip = tx.tip(performer.id, 10, idempotency_key="slow-1")  # applied now, or answered from its key
    assert (tip.amount, total(sharded, viewer.id)) == (10, 90)


def test_a_watcher_without_superuser_ends_stuck_calls_only_with_both_predefined_roles(
    sharded: Sharded, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/scale-out.md: the login of `--end-stuck-calls` needs pg_read_all_stats and pg_signal_backend, or
    superuser. With the application on a login of its own (no superuser) and its call stuck on a shard that
    hung: a watcher login with neither role finds nothing (the call's state reads NULL to it); with
    pg_read_all_stats alone it finds the call, is refused the signal (logged) and ends nothing; with
    pg_signal_backend too it ends the call, whose client gets a lost connection."""
    far = register(sharded, shard=1)
    token = token_for(sharded, far)
    suffix = uuid.uuid4().hex[:8]
    app_login, watcher = f"app_{suffix}", f"watcher_{suffix}"
    with psycopg.connect(sharded.router, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {app_login} LOGIN IN ROLE livepanty_app")
        admin.execute(f"CREATE ROLE {watcher} LOGIN")
    watcher_dsn = psycopg.conninfo.make_conninfo(sharded.router, user=watcher)
    caller = psycopg.connect(psycopg.conninfo.make_conninfo(sharded.router, user=app_login))
    outcome: list[str] = []

    def stuck_call() -> None:
        try:
            caller.execute("SELECT * FROM api.get_wallet()")
            outcome.append("answered")
        except psycopg.Error as exc:
            outcome.append(type(exc).__name__)

    try:
        caller.execute("SET ROLE livepanty_app")
        caller.execute("SELECT api.authenticate(%s)", [token])
        caller.execute("SELECT * FROM api.get_wallet()")  # this backend's connection to shard 1 is open
        caller.commit()
        caller.execute("SELECT api.authenticate(%s)", [token])
        stuck_pid = caller.info.backend_pid
        pids = _freeze(sharded.topology.shard(1))
        try:
            worker = threading.Thread(target=stuck_call, daemon=True)
            worker.start()
            time.sleep(1.5)
            assert shards.end_stuck_calls(watcher_dsn, 1) == []  # sees no state of another login's backend
            with psycopg.connect(sharded.router, autocommit=True) as admin:
                admin.execute(f"GRANT pg_read_all_stats TO {watcher}")
            with caplog.at_level("ERROR", logger=shards.log.name):
                assert shards.end_stuck_calls(watcher_dsn, 1) == []  # found, but may not signal it
            assert f"could not end router backend {stuck_pid}" in caplog.text
            assert worker.is_alive()
            with psycopg.connect(sharded.router, autocommit=True) as admin:
                admin.execute(f"GRANT pg_signal_backend TO {watcher}")
            assert shards.end_stuck_calls(watcher_dsn, 1) == [stuck_pid]
            worker.join(5)
            assert (worker.is_alive(), outcome) == (False, ["AdminShutdown"])
        finally:
            _thaw(pids)
    finally:
        caller.close()
        with psycopg.connect(sharded.router, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {app_login}")
            admin.execute(f"DROP ROLE {watcher}")
    with sharded.client() as client, client.session(token) as tx:
        assert tx.get_wallet().balance == 0


def test_the_watch_loop_fences_a_stopped_shard_and_lifts_after_enough_good_passes(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shards watch` as a loop (:func:`shards.watch`, lift_after 3) over a shard that was stopped (its port
    refuses connections): fenced in the first pass; after the shard is started again, the fence stays for two
    good passes and is lifted in the third; a shard that fails again in between starts its count over; a pass
    that fails (the router unreachable for a moment) is logged and the loop goes on."""
    performer = register(sharded, shard=1)
    token = token_for(sharded, performer)
    passes: list[shards.WatchPass] = []
    stop = threading.Event()
    real_partitions = shards.partitions
    failures = {"left": 0}

    def partitions_or_fail(router_dsn: str) -> list[shards.Partition]:
        if failures["left"]:
            failures["left"] -= 1
            raise psycopg.OperationalError("connection to the router refused (injected)")
        return real_partitions(router_dsn)

    monkeypatch.setattr(shards, "partitions", partitions_or_fail)
    shard = sharded.topology.shard(1)

    def on_pass(outcome: shards.WatchPass) -> None:
        passes.append(outcome)
        n = len(passes)
        if n in (1, 3):  # down in the first pass, and again in the third: start it for the next
            shard.start()
        elif n == 2:  # one good pass, then down again: its count starts over
            shard.stop()
        elif n == 4:
            failures["left"] = 1  # the fifth pass fails as a whole and is not counted
        elif n == 6:
            stop.set()

    shard.stop()
    try:
        shards.watch(sharded.router, interval=0.05, timeout=3, lift_after=3, stop=stop, on_pass=on_pass)
    finally:
        shard.start()  # (a no-op when it runs)
    assert failures["left"] == 0  # the failing pass happened, and the loop went on
    assert [(sorted(p.down), p.fenced, p.unfenced) for p in passes] == [
        ([1], [1], []),  # stopped: refused, fenced
        ([], [], []),    # answers: one good pass
        ([1], [], []),   # down again (still fenced): the count starts over
        ([], [], []),    # one good pass
        ([], [], []),    # two (the failed pass in between was not counted)
        ([], [], [1]),   # the third good pass in a row: lifted
    ]  # fmt: skip
    assert all("refused" in p.down[1].lower() for p in (passes[0], passes[2])), passes
    with sharded.client() as client, client.session(token) as tx:
        assert tx.get_wallet().balance == 0


@pytest.mark.parametrize("frozen", [1, 0], ids=["target_hangs", "source_hangs"])
def test_the_relay_gives_up_on_a_shard_that_hangs_and_delivers_once_it_answers(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch, frozen: int
) -> None:
    """A shard whose processes hang (SIGSTOP) accepts connections and acknowledges every packet, so a relay
    call to it would wait for ever: the relay's watchdog gives the step with the pair (0 -> 1) up after
    ``call_timeout`` (its sockets shut down), whichever side hangs; the shard that was waiting for an answer
    is left alone for a while (doubling while its connection attempts time out), the other is reconnected at
    once and not blamed; when the shard answers again, what waited is delivered, once."""
    monkeypatch.setattr(shards, "RELAY_HUNG_BACKOFF", 4.0)
    healthy = 1 - frozen
    near_viewer, far_viewer = register(sharded, shard=0), register(sharded, shard=1)
    near_performer, far_performer = verified_performer(sharded, 0), verified_performer(sharded, 1)
    fund(sharded, near_viewer.id, 100)
    fund(sharded, far_viewer.id, 100)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit
    with sharded.client() as client:
        with client.session(token_for(sharded, near_viewer)) as tx:
            tx.tip(far_performer.id, 30, idempotency_key=f"hung-relay-{frozen}-1")  # pending: shard 0 -> 1
        with client.session(token_for(sharded, far_viewer)) as tx:
            tx.tip(near_performer.id, 20, idempotency_key=f"hung-relay-{frozen}-2")  # pending: shard 1 -> 0
    pool = shards.RelayConnections(sharded.shards)
    pool.open(shards.RelayStats())  # both connections open before the shard hangs

    def timed_pass() -> tuple[shards.RelayStats, float]:
        outcome: list[shards.RelayStats] = []

        def run() -> None:
            outcome.append(shards.relay_once(sharded.shards, connections=pool, call_timeout=2))

        started = time.monotonic()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(20)
        assert not worker.is_alive(), "the relay waits for the shard that hangs"
        return outcome[0], time.monotonic() - started

    try:
        pids = _freeze(sharded.topology.shard(frozen))
        try:
            stats, took = timed_pass()  # the first pair's step is given up after 2 s
            assert (stats.delivered, stats.failed, took < 10) == (0, 0, True), (stats, took)
            given_up = f"shards 0 -> 1: no answer within 2 s (given up; shard {frozen} left alone for now)"
            assert given_up in stats.errors, stats.errors
            assert (sorted(pool.conns), pool.hung_for) == ([healthy], {frozen: 4.0})
            assert pool.conns[healthy].execute("SELECT 1").fetchone() == (1,)  # reconnected, not poisoned
            stats, took = timed_pass()  # within the backoff the hung shard is not even asked
            assert took < 1.5, took
            assert f"shard {frozen}: left alone for now (it did not answer in time)" in stats.errors
            pool.hung_until.clear()  # the backoff over, still hanging: connecting times out, the wait doubles
            stats, took = timed_pass()
            timed_out = [e for e in stats.errors if e.startswith(f"shard {frozen}:") and "timeout" in e]
            assert timed_out, stats.errors
            assert (took < 10, pool.hung_for) == (True, {frozen: 8.0})
        finally:
            _thaw(pids)
        pool.hung_until.clear()  # (the backoff is not waited out here)
        delivered = 0
        for _ in range(5):
            delivered += shards.relay_once(sharded.shards, connections=pool, call_timeout=2).delivered
            if delivered == 2:
                break
        assert delivered == 2
        assert (shards.relay_once(sharded.shards, connections=pool).delivered, pool.hung_for) == (0, {})
    finally:
        pool.close()
    assert total(sharded, far_performer.id) == 30 - fee(30)
    assert total(sharded, near_performer.id) == 20 - fee(20)
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_the_relay_goes_on_with_the_other_pairs_while_another_shard_hangs() -> None:
    """Four shards (PL/Proxy wants a power of two), shard 2 frozen (SIGSTOP): in one pass the relay delivers
    0 -> 1, gives 0 -> 2 up after ``call_timeout``, reconnects shard 0 and delivers 1 -> 0 with it, and leaves
    shard 2 alone; the tip to shard 2 arrives, once, when it answers again."""
    with started_topology(4) as four:
        viewers = [register(four, shard=i) for i in range(3)]
        performers = [verified_performer(four, i) for i in range(3)]
        for viewer in viewers:
            fund(four, viewer.id, 100)
        with four.client() as client:
            for sender, recipient, amount in ((0, 1, 30), (1, 0, 20), (0, 2, 40)):
                with client.session(token_for(four, viewers[sender])) as tx:
                    tx.tip(performers[recipient].id, amount, idempotency_key=f"four-{sender}-{recipient}")
        pool = shards.RelayConnections(four.shards)
        pool.open(shards.RelayStats())
        try:
            pids = _freeze(four.topology.shard(2))
            try:
                stats = shards.relay_once(four.shards, connections=pool, call_timeout=2)
            finally:
                _thaw(pids)
            assert (stats.delivered, stats.failed) == (2, 0), stats
            given_up = "shards 0 -> 2: no answer within 2 s (given up; shard 2 left alone for now)"
            assert given_up in stats.errors, stats.errors
            assert (sorted(pool.conns), sorted(pool.hung_for)) == ([0, 1, 3], [2])
            credited = [total(four, performer.id) for performer in performers]
            assert credited == [20 - fee(20), 30 - fee(30), 0]
            pool.hung_until.clear()
            assert shards.relay_once(four.shards, connections=pool, call_timeout=2).delivered == 1
        finally:
            pool.close()
        assert total(four, performers[2].id) == 40 - fee(40)
        report = shards.verify_all(four.shards, router_dsn=four.router)
        assert report.clean, report.problems


@needs_packet_filter
def test_a_shard_cut_off_by_the_network_fails_its_calls_with_lp200_and_serves_again_once_joined(
    sharded: Sharded,
) -> None:
    """A cut in the network (every packet to and from shard 1 dropped: no refusal, no reset): a call on a
    router backend whose PL/Proxy connection to shard 1 was open fails with LP200 once the kernel gives the
    unacknowledged query up (``tcp_user_timeout`` 10 s), a call that must connect fails when the kernel gives
    its unanswered SYNs up (the same 10 s), the other shard's users go on, and `shards watch` fences the shard
    (its calls then fail at once) and lifts the fence once the network is back. The shard's backend that
    served the dead connection is reclaimed by the server's keepalives (docs/operations.md), not left for
    hours."""
    near, far = register(sharded, shard=0), register(sharded, shard=1)
    near_token, far_token = token_for(sharded, near), token_for(sharded, far)
    port = sharded.topology.shard(1).port
    assert port is not None
    with sharded.client() as client:
        with client.session(far_token) as tx:
            assert tx.get_wallet().balance == 0  # this router backend now holds a connection to shard 1
        cut_at = datetime.now(UTC)
        try:
            with network_cut(port) as join:
                started = time.monotonic()
                with pytest.raises(ShardUnavailable) as caught, client.session(far_token) as tx:
                    tx.get_wallet()
                took = time.monotonic() - started
                assert 5 < took < 25, took  # tcp_user_timeout, not a hang (and not a refusal)
                assert caught.value.detail == "shard 1"
                with client.session(near_token) as tx:
                    assert tx.get_wallet().balance == 0  # shard 0 goes on, on the same router backend
                started = time.monotonic()
                with pytest.raises(ShardUnavailable), client.session(far_token) as tx:
                    tx.get_wallet()  # PL/Proxy connects again: its SYNs go unanswered as long
                took = time.monotonic() - started
                assert 5 < took < 25, took  # (PL/Proxy connects without blocking: libpq's connect_timeout
                # does not apply, tcp_user_timeout does)
                outcome = shards.watch_once(sharded.router, timeout=2)
                assert (outcome.fenced, list(outcome.down)) == ([1], [1])
                started = time.monotonic()
                with pytest.raises(ShardUnavailable), client.session(far_token) as tx:
                    tx.get_wallet()
                assert time.monotonic() - started < 3  # fenced: at once
                join()
                outcome = shards.watch_once(sharded.router, timeout=5)
                assert (outcome.down, outcome.unfenced) == ({}, [1])
        finally:
            with contextlib.suppress(Exception):
                shards.unfence(sharded.router, 1)
        with client.session(far_token) as tx:
            assert tx.get_wallet().balance == 0  # served again
    # The shard's backend of the router's dead connection: found dead by a keepalive probe, not kept.
    stale = _backends_of(sharded.shards[1], cut_at, shards.ROUTER_ROLE)
    deadline = time.monotonic() + 45
    while stale and time.monotonic() < deadline:
        time.sleep(1)
        stale = _backends_of(sharded.shards[1], cut_at, shards.ROUTER_ROLE)
    assert stale == []


@needs_packet_filter
def test_a_relay_cut_off_mid_credit_does_not_leave_the_payees_wallet_locked(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The network to the performer's shard is cut after the relay's credit ran there and before its COMMIT
    arrived, and the relay's socket is then forgotten (the cut outlasts TCP's retries): that shard's backend
    is left in a transaction holding the performer's wallet. The relay gives the step up (``call_timeout``);
    once the network is back the server ends the orphaned transaction within the relay's
    ``idle_in_transaction_session_timeout`` (:func:`shards.relay_idle_timeout`), so the performer's other tips
    go through and the relay delivers the tip, once."""
    viewer, local_viewer = register(sharded, shard=0), register(sharded, shard=1)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 100)
    fund(sharded, local_viewer.id, 100)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tx.tip(performer.id, 30, idempotency_key="cut-relay-1")  # pending: shard 0 -> 1
    port = sharded.topology.shard(1).port
    assert port is not None
    real_relay_pair = shards.relay_pair
    orphan: dict[str, int] = {}

    class CutAfterCredit:
        """The target connection, whose network is cut as soon as the credit's statement has answered."""

        def __init__(self, conn: psycopg.Connection, cut: Any) -> None:
            self._conn, self._cut = conn, cut

        def __getattr__(self, name: str) -> Any:  # transaction(), idle_ms, ...: the connection's
            return getattr(self._conn, name)

        def execute(self, query: Any, params: Any = None) -> Any:
            if "transfer_in" in str(query) and not orphan:
                # The server's keepalives (10 s) put off for this session: only the relay's idle timeout may
                # end the orphan here, as on a server not set up with keepalives.
                self._conn.execute("SET tcp_keepalives_idle = 300")
                orphan["port"] = self._conn.execute("SELECT inet_client_port()").fetchone()[0]
                orphan["pid"] = self._conn.info.backend_pid
                cursor = self._conn.execute(query, params)
                self._cut()
                return cursor
            return self._conn.execute(query, params)

    pool = shards.RelayConnections(sharded.shards, idle_timeout=8)
    pool.open(shards.RelayStats())
    try:
        with contextlib.ExitStack() as stack:
            state: dict[str, Any] = {}

            def cut() -> None:
                state["join"] = stack.enter_context(network_cut(port))
                state["at"] = time.monotonic()

            def relay_pair_cut(source: Any, target: Any, src: int, dst: int, **kwargs: Any) -> Any:
                if dst == 1:
                    target = CutAfterCredit(target, cut)
                return real_relay_pair(source, target, src, dst, **kwargs)

            monkeypatch.setattr(shards, "relay_pair", relay_pair_cut)
            stats = shards.relay_once(sharded.shards, connections=pool, call_timeout=4)
            monkeypatch.setattr(shards, "relay_pair", real_relay_pair)
            assert "pid" in orphan, stats.errors
            assert "join" in state
            assert stats.delivered == 0
            assert any("no answer within 4 s" in e for e in stats.errors), stats.errors
            _forget_socket(
                orphan["port"], port
            )  # the relay's machine forgets its side; the shard still waits
            state["join"]()
        with psycopg.connect(sharded.shards[1], autocommit=True) as conn:
            waiting = conn.execute(
                "SELECT state FROM pg_stat_activity WHERE pid = %s", [orphan["pid"]]
            ).fetchone()
            assert waiting == ("idle in transaction",)  # the orphan, with the credit uncommitted
            deadline = state["at"] + 14  # ended by the relay's idle timeout: 8 s after the credit here
            while waiting is not None and time.monotonic() < deadline:
                time.sleep(0.5)
                waiting = conn.execute(
                    "SELECT state FROM pg_stat_activity WHERE pid = %s", [orphan["pid"]]
                ).fetchone()
            assert waiting is None
        with sharded.client() as client, client.session(token_for(sharded, local_viewer)) as tx:
            tx.tip(performer.id, 10, idempotency_key="cut-relay-local")  # the performer's wallet is free
        pool.hung_until.clear()  # (the backoff after the given-up step is not waited out here)
        delivered = 0
        for _ in range(5):
            delivered += shards.relay_once(sharded.shards, connections=pool, call_timeout=5).delivered
            if delivered:
                break
        assert delivered == 1
    finally:
        pool.close()
    assert total(sharded, performer.id) == 30 - fee(30) + 10 - fee(10)  # the cut tip once, the local one
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_the_relay_bounds_its_transactions_and_survives_a_session_its_shard_ended(
    sharded: Sharded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay's transactions run with its idle timeout (SET LOCAL: twice the call timeout, at least 60 s,
    whoever builds the connections), and a session that the shard ends (25P03 after that timeout, say) fails
    its step like a lost connection: the pass goes on, and the next one connects again."""
    assert shards.relay_idle_timeout(None) == shards.relay_idle_timeout(0) == 60
    assert (shards.relay_idle_timeout(10), shards.relay_idle_timeout(45)) == (60, 90)
    made: list[float] = []
    real_connections = shards.RelayConnections

    class Recording(real_connections):  # type: ignore[misc, valid-type]
        def __init__(self, dsns: Any, **kwargs: Any) -> None:
            made.append(kwargs.get("idle_timeout", shards.RELAY_IDLE_TIMEOUT))
            super().__init__(dsns, **kwargs)

    monkeypatch.setattr(shards, "RelayConnections", Recording)
    shards.relay_once(sharded.shards, call_timeout=45)
    stop = threading.Event()
    shards.relay(sharded.shards, call_timeout=50, stop=stop, on_pass=lambda _stats: stop.set())
    assert made == [90, 100]
    monkeypatch.setattr(shards, "RelayConnections", real_connections)

    pool = shards.RelayConnections(sharded.shards, idle_timeout=1)
    try:
        pool.open(shards.RelayStats())
        conn = pool.conns[0]
        with shards._bounded(conn):
            assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1s",)
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("0",)  # (local)

        def idles_too_long(source: Any, target: Any, src: int, dst: int, **_kwargs: Any) -> Any:
            with shards._bounded(source):
                source.execute("SELECT 1")
                time.sleep(2)  # the shard ends the session meanwhile
                source.execute("SELECT 1")

        monkeypatch.setattr(shards, "relay_pair", idles_too_long)
        stats = shards.relay_once(sharded.shards, connections=pool, call_timeout=10)
        assert any("idle" in e for e in stats.errors), stats.errors  # reported, not raised
        monkeypatch.undo()
        stats = shards.relay_once(sharded.shards, connections=pool, call_timeout=10)
        assert stats.errors == [], stats.errors  # connected again, and on
    finally:
        pool.close()


def test_the_watch_fences_only_a_shard_that_is_down_or_hangs() -> None:
    """The watch's own faults (a password, a missing .pgpass, too many connections, a name that does not
    resolve) are reported, not fenced: fencing on them would make a monitoring fault an outage."""
    for why in (
        "no answer within 3 s",
        'connection to server at "10.0.0.5", port 5432 failed: Connection refused',
        'connection to server at "10.0.0.5", port 5432 failed: timeout expired',
        "FATAL:  the database system is shutting down",
        "server closed the connection unexpectedly",
    ):
        assert shards.unreachable(why), why
    for why in (
        None,
        'FATAL:  password authentication failed for user "livepanty_router"',
        "fe_sendauth: no password supplied",
        "FATAL:  sorry, too many clients already",
        'could not translate host name "shard9" to address: Name or service not known',
    ):
        assert not shards.unreachable(why), why


def test_the_relay_takes_a_deadlock_or_a_lock_timeout_on_the_target_for_a_refusal_not_an_outage() -> None:
    """A delivery at once of the router can hold what a relay's batch needs: a deadlock (40P01), a
    serialization failure or a lock timeout (55P03) there fails this pass for those transfers only, and the
    pair goes on; a lost connection (57P01, class 08) means the target is down."""
    errors = psycopg.errors
    assert not shards._target_down(errors.DeadlockDetected("deadlock"))
    assert not shards._target_down(errors.SerializationFailure("serialization"))
    assert not shards._target_down(errors.LockNotAvailable("lock timeout"))
    assert not shards._target_down(errors.UniqueViolation("refused"))
    assert shards._target_down(errors.AdminShutdown("terminating connection"))
    assert shards._target_down(psycopg.OperationalError("connection refused"))


def test_a_lock_timeout_on_the_target_fails_one_transfer_and_the_pair_goes_on(sharded: Sharded) -> None:
    """A delivery the target cannot lock in time (55P03; a deadlock, 40P01, takes the same path) is a refusal
    of this pass, not an outage: the relay falls back to one transfer per transaction, delivers the others of
    the batch, keeps that one pending with its error, and delivers it, once, when the lock is free."""
    viewer = register(sharded, shard=0)
    busy, free = verified_performer(sharded, 1), verified_performer(sharded, 1)
    fund(sharded, viewer.id, 100)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        to_busy = tx.tip(busy.id, 30, idempotency_key="lock-timeout-1")
        to_free = tx.tip(free.id, 20, idempotency_key="lock-timeout-2")
    database = psycopg.sql.Identifier(psycopg.conninfo.conninfo_to_dict(sharded.shards[1])["dbname"])
    with psycopg.connect(sharded.shards[1], autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("ALTER DATABASE {} SET lock_timeout = '300ms'").format(database))
    try:
        with psycopg.connect(sharded.shards[1]) as holder:  # every credit shard of one performer held
            held = holder.execute(
                "SELECT s.shard FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id"
                " WHERE w.user_id = %s FOR NO KEY UPDATE",
                [busy.id],
            ).fetchall()
            assert held
            stats = shards.relay_once(sharded.shards)  # new connections: the database's lock_timeout
            holder.rollback()
    finally:
        with psycopg.connect(sharded.shards[1], autocommit=True) as admin:
            admin.execute(psycopg.sql.SQL("ALTER DATABASE {} RESET lock_timeout").format(database))
    assert (stats.delivered, stats.failed) == (1, 1), stats
    assert any("lock timeout" in e for e in stats.errors), stats.errors
    with psycopg.connect(sharded.shards[0]) as conn:
        rows = {
            tip_id: (status, error)
            for tip_id, status, error in conn.execute(
                "SELECT id, status, last_error FROM lp.transfers_out WHERE id = ANY (%s)",
                [[to_busy.id, to_free.id]],
            ).fetchall()
        }
    assert rows[to_free.id] == ("delivered", None)
    assert rows[to_busy.id][0] == "pending"
    assert "lock timeout" in rows[to_busy.id][1], rows
    assert (total(sharded, busy.id), total(sharded, free.id)) == (0, 20 - fee(20))
    assert shards.relay_once(sharded.shards).delivered == 1
    assert shards.relay_once(sharded.shards).delivered == 0
    assert (total(sharded, busy.id), total(sharded, free.id)) == (30 - fee(30), 20 - fee(20))
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_a_deadlock_on_the_target_fails_the_batch_and_the_relay_delivers_one_by_one(sharded: Sharded) -> None:
    """A real deadlock (40P01) on the target: a transaction there holds every credit shard of the second
    performer of a batch (in the batch's order) while the relay's batch holds the first one's and waits for
    the second's; it then asks for the first one's. PostgreSQL breaks the cycle by failing the relay's batch
    (it waited first), whose transaction rolls back whole; the relay delivers the batch one transfer per
    transaction, each waiting for its lock, and both tips arrive once when the other transaction ends."""
    viewer = register(sharded, shard=0)
    performers = sorted(
        (verified_performer(sharded, 1), verified_performer(sharded, 1)), key=lambda p: str(p.id)
    )
    first, second = performers  # the batch's order: by recipient
    fund(sharded, viewer.id, 100)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit
    with sharded.client() as client, client.session(token_for(sharded, viewer)) as tx:
        tx.tip(first.id, 30, idempotency_key="deadlock-1")
        tx.tip(second.id, 20, idempotency_key="deadlock-2")
    lock_all = (
        "SELECT 1 FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id"
        " WHERE w.user_id = %s ORDER BY s.shard FOR NO KEY UPDATE OF s"
    )

    def deadlocks() -> int:
        with psycopg.connect(sharded.shards[1], autocommit=True) as conn:
            return conn.execute(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()[0]

    before = deadlocks()
    pool = shards.RelayConnections(sharded.shards)
    pool.open(shards.RelayStats())
    relay_backend = pool.conns[1].info.backend_pid
    outcome: list[shards.RelayStats] = []
    try:
        with psycopg.connect(sharded.shards[1]) as holder:
            # The relay's batch must be the one PostgreSQL fails: it waits first, so its deadlock check runs
            # first, unless a busy machine delays it past this session's own; this session's check is put far
            # later so that it never finds the cycle first.
            holder.execute("SET deadlock_timeout = '60s'")
            assert holder.execute(lock_all, [second.id]).fetchall()  # every credit shard of the second
            worker = threading.Thread(
                target=lambda: outcome.append(shards.relay_once(sharded.shards, connections=pool)),
                daemon=True,
            )
            worker.start()
            with psycopg.connect(sharded.shards[1], autocommit=True) as watch:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:  # the batch holds the first and waits for the second
                    waiting = watch.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [relay_backend]
                    ).fetchone()
                    if waiting == ("Lock",):
                        break
                    time.sleep(0.02)
                assert waiting == ("Lock",)
            holder.execute(lock_all, [first.id])  # the cycle: PostgreSQL fails the relay's batch, not this
            time.sleep(0.5)
            holder.rollback()
            worker.join(30)
            assert not worker.is_alive()
    finally:
        pool.close()
    stats = outcome[0]
    counted = time.monotonic() + 10  # (statistics reach pg_stat_database within a second or so)
    while deadlocks() == before and time.monotonic() < counted:
        time.sleep(0.2)
    assert deadlocks() == before + 1
    assert (stats.delivered, stats.failed, stats.errors) == (2, 0, []), stats
    assert (total(sharded, first.id), total(sharded, second.id)) == (30 - fee(30), 20 - fee(20))
    assert shards.relay_once(sharded.shards).delivered == 0
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems


def test_delivery_at_once_gives_way_to_whoever_holds_the_performers_wallet(sharded: Sharded) -> None:
    """With delivery at once, the router waits at most 250 ms for a lock on the performer's shard
    (shard.transfer_in_at_once): a transaction holding every credit shard of the performer's wallet (as a
    relay's batch may) makes it give way. The tip returns at once, debited, its credit left to the relay,
    which applies it once when the wallet is free."""
    viewer = register(sharded, shard=0)
    performer = verified_performer(sharded, 1)
    fund(sharded, viewer.id, 200)
    shards.wait_for_relay(sharded.shards)  # what earlier tests left in transit
    shards.delivery_at_once(sharded.router, True)
    try:
        with psycopg.connect(sharded.shards[1]) as holder:
            held = holder.execute(
                "SELECT s.shard FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id"
                " WHERE w.user_id = %s FOR NO KEY UPDATE",
                [performer.id],
            ).fetchall()
            assert held
            token = token_for(sharded, viewer)
            result: dict[str, Any] = {}

            def send() -> None:
                with sharded.client() as client, client.session(token) as tx:
                    result["tip"] = tx.tip(performer.id, 100, idempotency_key="gives-way")

            sender = threading.Thread(target=send)
            started = time.monotonic()
            sender.start()
            sender.join(10)  # a router that waited for the wallet would still be waiting here
            waited = time.monotonic() - started
            holder.rollback()
            sender.join(30)
        assert waited < 5, "the delivery at once waited for the wallet instead of giving way"
        tip = result["tip"]
        with psycopg.connect(sharded.shards[0]) as conn:
            status = conn.execute("SELECT status FROM lp.transfers_out WHERE id = %s", [tip.id]).fetchone()
        assert status == ("pending",)  # left to the relay
        assert total(sharded, viewer.id) == 100
        assert total(sharded, performer.id) == 0
        assert shards.relay_once(sharded.shards).delivered == 1
        assert total(sharded, performer.id) == 100 - fee(100)
    finally:
        shards.delivery_at_once(sharded.router, False)
    assert shards.verify_all(sharded.shards, router_dsn=sharded.router).clean


RELAY_STRESS_SECONDS = float(os.environ.get("LIVEPANTY_RELAY_STRESS_SECONDS", "6"))


def _deadlock_count(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def test_relay_batches_of_tips_and_refunds_never_deadlock_with_local_money_on_their_wallets(
    sharded: Sharded,
) -> None:
    """docs/ledger.md ("Lock protocol") argues that a relay batch (``shard.transfer_in_many``), which takes
    the spend counters of all its refunds' senders (user id order) before its first transfer's wallets, closes
    no cycle with the money of the shard it applies on. This run looks for the opposite, on shard 0, for a few
    seconds, under ``refunds.shortfall_policy`` write_off (so a refund may settle what a refund or chargeback
    wrote off, updating the sender's payment rows):

    * two relay workers of the test's own (claim on the source, ``shard.transfer_in_many`` on the target,
      batches of four, every failure's SQLSTATE counted: the relay of livepanty_db.shards takes a deadlock of
      the batch for a refusal and goes on one by one, which would hide it) deliver, both ways, cross-shard
      tips from viewers of shard 1 to performers of shard 0, and the goal refunds of shard 0's buyers' tips
      toward goals of shard 1 that refund when missed (hosts there cancel a goal, run the settle job and add
      another, again and again);
    * at the same time on shard 0 the same buyers tip the same performers (counter, main balance, performer's
      shards), tip across toward those goals (more refunds coming back), and their purchases are refunded and
      (two buyers') charged back (counter, payment row, wallets; write-offs), through the router as the
      application does.

    Asserts that no call failed with 40P01 (nor moved either shard's own deadlock counter, which counts every
    backend's), that every other failure is a catalogued refusal (class LP: funds, a wallet in debt, a
    payment no longer completed, a chargeback's tip_block; counted), that refunds did come back in batches
    during the run, and that once the relay has drained, every shard's ledger and the reconciliation are
    clean.
    """
    assert not shards.delivery_at_once(sharded.router)  # the relay delivers (the router does not at once)
    rng = random.Random(20260)
    buyers = [register(sharded, shard=0, prefix="rb") for _ in range(8)]
    performers = [verified_performer(sharded, 0) for _ in range(2)]
    hosts = [verified_performer(sharded, 1) for _ in range(2)]
    viewers = [register(sharded, shard=1, prefix="rv") for _ in range(3)]
    tokens = {u.id: token_for(sharded, u) for u in [*buyers, *hosts, *viewers]}
    for viewer in viewers:
        fund(sharded, viewer.id, 1_000_000)
    payments: dict[Any, list[Any]] = {b.id: [] for b in buyers}  # completed purchases, per buyer
    goal_of: dict[Any, Any] = {}  # host -> (stream, active goal)
    with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
        with client.session(tokens[buyers[0].id]) as tx:
            bundle = tx.list_bundles()[0]
        for buyer in buyers:
            for n in range(4):
                with client.session(tokens[buyer.id]) as tx:
                    payment = tx.create_payment(bundle.code, "stripe", idempotency_key=f"rs-{buyer.id}-{n}")
                service.complete_payment(payment.id, f"pi-{payment.id}", idempotency_key=f"rsc-{payment.id}")
                payments[buyer.id].append(payment.id)
        for host in hosts:
            with client.session(tokens[host.id]) as tx:
                stream = go_live(tx, "relay stress")
                goal = tx.add_tip_goal(
                    stream.id, 10**9, "never", deadline=datetime.now(UTC) + timedelta(hours=1),
                    refund_if_missed=True,
                )  # fmt: skip
            goal_of[host.id] = (stream.id, goal.id)
        for buyer in buyers:  # tips in escrow on shard 1 before the run: refunds to come back in the run
            for host in hosts:
                with client.session(tokens[buyer.id]) as tx:
                    tx.tip(host.id, 3, idempotency_key=uuid.uuid4().hex, stream_id=goal_of[host.id][0])
    shards.wait_for_relay(sharded.shards)

    outcomes: Counter = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    stop = threading.Event()
    refunds_in_batches = [0]

    def count(op: str, outcome: str) -> None:
        with lock:
            outcomes[(op, outcome)] += 1

    def loop(step: Any) -> Any:
        def run() -> None:
            try:
                while not stop.is_set():
                    step()
            except BaseException as exc:  # reported to the test thread
                with lock:
                    errors.append(exc)

        return run

    def relay_worker() -> Any:
        conns = [psycopg.connect(dsn, prepare_threshold=None) for dsn in sharded.shards]

        def step() -> None:
            moved = 0
            for src, dst in ((1, 0), (0, 1)):
                source, target = conns[src], conns[dst]
                try:
                    rows = source.execute(shards._CLAIM, [src, dst, 4]).fetchall()
                    if not rows:
                        source.rollback()
                        continue
                    target.execute(
                        "SELECT id, applied FROM shard.transfer_in_many(%s, %s, %s::jsonb)",
                        [dst, src, shards._batch_json(rows)],
                    ).fetchall()
                    target.commit()
                    source.execute("SELECT shard.mark_delivered(%s, %s)", [src, [r[0] for r in rows]])
                    source.commit()
                except psycopg.Error as exc:
                    target.rollback()
                    source.rollback()
                    count(f"relay {src}->{dst}", exc.sqlstate or type(exc).__name__)
                    continue
                count(f"relay {src}->{dst}", "ok")
                moved += len(rows)
                if dst == 0:
                    with lock:
                        refunds_in_batches[0] += sum(1 for r in rows if r[-1] is not None)
            if not moved:
                time.sleep(0.01)

        def run() -> None:
            try:
                loop(step)()
            finally:
                for conn in conns:
                    conn.close()

        return run

    def call(op: str, fn: Any) -> None:
        try:
            fn()
        except LivepantyError as exc:
            count(op, exc.sqlstate or type(exc).__name__)
        except psycopg.Error as exc:
            count(op, exc.sqlstate or type(exc).__name__)
        else:
            count(op, "ok")

    def buyer_worker(seed: int) -> Any:
        local = random.Random(seed)
        client = sharded.client()
        service = Client(sharded.router, role="livepanty_service")

        def tip(sender: Any, recipient: Any, amount: int, stream: Any = None) -> None:
            with client.session(tokens[sender.id]) as tx:
                tx.tip(recipient.id, amount, idempotency_key=uuid.uuid4().hex, stream_id=stream)

        def step() -> None:
            buyer = local.choice(buyers)
            op = local.choices(["tip", "across", "refund", "chargeback"], weights=[10, 6, 1, 1])[0]
            if op == "tip":
                call(op, lambda: tip(buyer, local.choice(performers), local.randint(1, 20)))
            elif op == "across":
                host = local.choice(hosts)
                call(op, lambda: tip(buyer, host, local.randint(1, 10), goal_of[host.id][0]))
            else:
                if op == "chargeback":  # a chargeback's tip_block stops a buyer's tips: two buyers only
                    buyer = local.choice(buyers[:2])
                payment = local.choice(payments[buyer.id])
                reverse = service.refund_payment if op == "refund" else service.chargeback_payment
                call(op, lambda: reverse(payment, "relay stress", idempotency_key=uuid.uuid4().hex))

        def run() -> None:
            with client, service:
                loop(step)()

        return run

    def viewer_worker() -> None:
        with sharded.client() as client:

            def step() -> None:
                viewer, performer = rng.choice(viewers), rng.choice(performers)
                with client.session(tokens[viewer.id]) as tx:
                    call("incoming", lambda: tx.tip(performer.id, 7, idempotency_key=uuid.uuid4().hex))

            loop(step)()

    def settler() -> None:
        """Shard 1: a host's goal cancelled and settled (its tips refunded across), another added, in turn."""
        with sharded.client() as client, Client(sharded.router, role="livepanty_service") as service:
            turn = 0

            def step() -> None:
                nonlocal turn
                time.sleep(0.7)
                host = hosts[turn % len(hosts)]
                turn += 1
                stream, goal = goal_of[host.id]
                with client.session(tokens[host.id]) as tx:
                    tx.cancel_tip_goal(goal)
                    goal_of[host.id] = (
                        stream,
                        tx.add_tip_goal(
                            stream, 10**9, "never again", deadline=datetime.now(UTC) + timedelta(hours=1),
                            refund_if_missed=True,
                        ).id,
                    )  # fmt: skip
                count("settle", "ok" if service.settle_tip_goals().tips_refunded else "nothing")

            loop(step)()

    deadlocks_before = [_deadlock_count(dsn) for dsn in sharded.shards]
    with shortfall_policy(sharded, 0, "write_off"):
        workers = [relay_worker(), relay_worker(), buyer_worker(1), buyer_worker(2), viewer_worker, settler]
        threads = [threading.Thread(target=w) for w in workers]
        for thread in threads:
            thread.start()
        time.sleep(RELAY_STRESS_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a worker hangs"
        assert not errors, errors
        print(sorted(outcomes.items()), "refunds delivered in batches:", refunds_in_batches[0])
        deadlocked = {key: n for key, n in outcomes.items() if key[1] == "40P01"}
        assert not deadlocked, f"deadlocks: {deadlocked}"
        unexpected = {key: n for key, n in outcomes.items() if key[1] not in ("ok", "nothing")}
        unexpected = {key: n for key, n in unexpected.items() if not key[1].startswith("LP")}
        assert not unexpected, f"failures that are no catalogued refusal: {unexpected}"
        for op in ("tip", "across", "incoming", "refund", "chargeback", "relay 1->0", "relay 0->1"):
            assert outcomes[(op, "ok")] > 0, (op, outcomes)
        assert outcomes[("settle", "ok")] > 0
        assert refunds_in_batches[0] > 0  # refunds did arrive through transfer_in_many during the run
        shards.wait_for_relay(sharded.shards)
    time.sleep(1.0)  # the backends' statistics are flushed at most once a second
    assert [_deadlock_count(dsn) for dsn in sharded.shards] == deadlocks_before
    report = shards.verify_all(sharded.shards, router_dsn=sharded.router)
    assert report.clean, report.problems
