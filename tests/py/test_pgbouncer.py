"""The client behind pgbouncer in transaction pooling mode: the acting user never leaks between transactions.

pgbouncer hands each transaction whatever server connection is free, so anything set at session level would
follow the connection to the next client. The toolkit only ever sets the acting user and the database role
per transaction (set_config(..., true) / SET LOCAL); this test runs many clients over fewer server
connections and checks every transaction sees exactly its own user, and a transaction with nobody acting sees
nobody.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from livepanty_db import errors
from livepanty_db.client import Client

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 2
THREADS = 8
ROUNDS = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture
def pgbouncer_dsn(db_url: str) -> Iterator[str]:
    if not Path(PGBOUNCER).exists():
        pytest.fail("pgbouncer is not installed (apt-get install pgbouncer; `make test` installs it)")
    target = conninfo_to_dict(db_url)
    workdir = Path(tempfile.mkdtemp(prefix="livepanty-pgbouncer-"))
    workdir.chmod(0o777)
    port = _free_port()
    (workdir / "userlist.txt").write_text(f'"{target.get("user", "postgres")}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{target['dbname']} = host={target.get('host', '127.0.0.1')} port={target.get('port', 5432)}"
        f" dbname={target['dbname']}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir}/userlist.txt\n"
        f"pool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 100\n"
        f"logfile = {workdir}/pgbouncer.log\npidfile = {workdir}/pgbouncer.pid\n"
    )
    for path in workdir.iterdir():
        shutil.chown(path, "postgres") if os.geteuid() == 0 else None
    subprocess.run(_as_postgres([PGBOUNCER, "-d", str(workdir / "pgbouncer.ini")]), check=True)
    dsn = make_conninfo(db_url, host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(dsn, prepare_threshold=None, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield dsn
    finally:
        pid_file = workdir / "pgbouncer.pid"
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def test_acting_user_is_per_transaction_behind_pgbouncer(db_url: str, pgbouncer_dsn: str) -> None:
    with Client(db_url) as direct:
        users = [
            direct.register_user(
                email=f"pooled{i}@example.com",
                username=f"pooled_{i}",
                password="pooled password 1",
                date_of_birth=date(1990, 1, 1),
            ).id
            for i in range(THREADS)
        ]

    failures: list[str] = []
    seen_backends: set[int] = set()
    lock = threading.Lock()

    def worker(user_id: UUID) -> None:
        with Client(pgbouncer_dsn, role="livepanty_app") as client:
            for _ in range(ROUNDS):
                with client.acting_as(user_id, reason="test") as tx:
                    acting = tx.current_user_id()
                    visible = [row.id for row in tx.user_summary()]
                    backend = tx.fetch("SELECT pg_backend_pid()")[0][0]
                nobody = client.current_user_id()
                with lock:
                    seen_backends.add(backend)
                    if acting != user_id or visible != [user_id]:
                        failures.append(f"{user_id}: acting {acting}, sees {visible}")
                    if nobody is not None:
                        failures.append(f"a transaction with nobody acting saw {nobody}")

    threads = [threading.Thread(target=worker, args=(user_id,)) for user_id in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    # More clients than server connections: the transactions really did share server connections.
    assert len(seen_backends) <= SERVER_CONNECTIONS < THREADS


#: The four settings of an acting identity (docs/CONVENTIONS.md, "Who is acting").
IDENTITY_SETTINGS = ("lp.user_id", "lp.session_id", "lp.acting_via", "lp.identity_proof")


def test_an_identity_left_at_session_level_never_reaches_the_next_client(
    db_url: str, pgbouncer_dsn: str
) -> None:
    """A misbehaving client copies its proven identity to session level on every server connection it gets.

    The next clients of those server connections never act as it: with their own session they are themselves,
    and with nobody acting they get LP005 (refused, not ignored), never the leaker's id."""
    with Client(db_url) as direct:
        names = ["leaker", *(f"pooled_{i}" for i in range(THREADS))]
        ids = {
            name: direct.register_user(
                email=f"{name}@example.com",
                username=name,
                password="pooled password 1",
                date_of_birth=date(1990, 1, 1),
            ).id
            for name in names
        }
        tokens = {name: direct.login(name, "pooled password 1").token for name in names}

    # As many leaking clients as server connections, their transactions open at once: each gets its own.
    poisoned: set[int] = set()
    leakers = [psycopg.connect(pgbouncer_dsn, prepare_threshold=None) for _ in range(SERVER_CONNECTIONS)]
    try:
        for conn in leakers:
            conn.execute("SET LOCAL ROLE livepanty_app")
            conn.execute("SELECT api.authenticate(%s)", (tokens["leaker"],))
            for setting in IDENTITY_SETTINGS:
                conn.execute("SELECT set_config(%s, current_setting(%s), false)", (setting, setting))
            poisoned.add(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        for conn in leakers:
            conn.commit()
    finally:
        for conn in leakers:
            conn.close()
    assert len(poisoned) == SERVER_CONNECTIONS  # every server connection now carries the leaker's settings

    failures: list[str] = []
    refused = 0
    lock = threading.Lock()

    def worker(name: str) -> None:
        nonlocal refused
        with Client(pgbouncer_dsn, role="livepanty_app") as client:
            for _ in range(ROUNDS):
                with client.session(tokens[name]) as tx:
                    acting = tx.current_user_id()
                try:
                    nobody = client.current_user_id()
                except errors.IdentityNotProven:
                    nobody = "LP005"
                with lock:
                    if acting != ids[name]:
                        failures.append(f"{name} acted as {acting}")
                    if nobody == "LP005":
                        refused += 1
                    elif nobody is not None:
                        failures.append(f"a transaction with nobody acting saw {nobody}")

    threads = [threading.Thread(target=worker, args=(name,)) for name in names[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert refused == THREADS * ROUNDS  # the leftover reached them every time, and was refused every time
