"""The client survives what production does to connections, and tells failures that may pass (transient)
from refusals: a connection the server closed while idle, a server that cannot be reached, a backend killed
mid-transaction with an opt-in retry, transaction modes and savepoints."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from datetime import date

import psycopg
import pytest

from livepanty_db import AsyncClient, Client, EventLoopMismatch, errors, new_idempotency_key
from livepanty_db.retry import backoff_delays, call_with_retry, call_with_retry_async

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
PASSWORD = "tulip garden 9"


def backend_pid(client: Client) -> int:
    with client.transaction() as tx:
        return tx.fetch("SELECT pg_backend_pid()")[0][0]


def terminate(db_url: str, pid: int) -> None:
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


def register(client: Client, name: str) -> uuid.UUID:
    user = client.register_user(
        email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1)
    )
    return user.id


@pytest.mark.not_through_pgbouncer(
    "kills the client's server connection by its pid while idle: behind a pooler the client's connection "
    "is to pgbouncer, and the pid is the pooler's server connection of that transaction"
)
def test_a_connection_killed_while_idle_is_replaced(db_url: str) -> None:
    with Client(db_url, role="livepanty_app") as client:
        first = backend_pid(client)
        terminate(db_url, first)
        # No 57P01 on the next call: the pool's check replaced the dead connection.
        register(client, "after_kill")
        assert backend_pid(client) != first


@pytest.mark.not_through_pgbouncer(
    "kills the client's server connection by its pid while idle: behind a pooler the client's connection "
    "is to pgbouncer, and the pid is the pooler's server connection of that transaction"
)
def test_a_connection_killed_while_idle_is_replaced_async(db_url: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(db_url, role="livepanty_app") as client:
            async with client.transaction() as tx:
                first = (await tx.fetch("SELECT pg_backend_pid()"))[0][0]
            terminate(db_url, first)
            adult = date(1990, 1, 1)
            await client.register_user(
                email="a@example.com", username="async_after", password=PASSWORD, date_of_birth=adult
            )
            async with client.transaction() as tx:
                assert (await tx.fetch("SELECT pg_backend_pid()"))[0][0] != first

    asyncio.run(scenario())


def test_an_unreachable_server_is_a_connection_failure_not_a_refusal() -> None:
    client = Client(UNREACHABLE)
    with pytest.raises(errors.ConnectionFailed) as caught:
        client.list_live_streams()
    assert caught.value.sqlstate == "08001"
    assert caught.value.transient
    assert isinstance(caught.value, errors.TransientError)
    client.close()

    async def scenario() -> None:
        async with AsyncClient(UNREACHABLE) as aclient:
            with pytest.raises(errors.ConnectionFailed) as caught:
                await aclient.list_live_streams()
            assert caught.value.sqlstate == "08001"

    asyncio.run(scenario())


def test_a_killed_transaction_is_transient_and_the_retry_helper_finishes_it(db_url: str) -> None:
    """The first attempt's backend is killed mid-transaction (57P01, nothing committed). From outside, a
    lost connection cannot be told from one lost during COMMIT: without ``idempotent=True`` call_with_retry
    does not repeat the call and raises OutcomeUnknown; with it (the call is keyed), it runs the whole
    transaction again on a fresh connection, with the same idempotency key."""
    key = new_idempotency_key()
    attempts: list[int] = []
    with Client(db_url) as client:
        user_id = register(client, "vera")

        def attempt() -> int:
            with client.transaction() as tx:
                attempts.append(1)
                tx.fetch(
                    "INSERT INTO lp.audit_logs (action, target_type, target_id, details)"
                    " VALUES ('test.retry', 'user', %s, jsonb_build_object('key', %s::text)) RETURNING id",
                    [str(user_id), key],
                )
                if len(attempts) == 1:
                    tx.fetch("SELECT pg_terminate_backend(pg_backend_pid())")
                return len(attempts)

        with pytest.raises(errors.OutcomeUnknown) as unknown:
            call_with_retry(attempt, base_delay=0.001)
        assert attempts == [1]
        assert unknown.value.sqlstate == "57P01"
        assert isinstance(unknown.value.__cause__, errors.TransientError)
        attempts.clear()
        assert call_with_retry(attempt, base_delay=0.001, idempotent=True) == 2
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT count(*) FROM lp.audit_logs WHERE action = 'test.retry'").fetchone()
    assert rows == (1,)  # the killed attempt left nothing behind


def test_retry_helper_retries_only_transient_errors() -> None:
    calls: list[str] = []

    def flaky() -> str:
        calls.append("x")
        if len(calls) < 3:
            raise errors.TransientError("deadlock detected", sqlstate="40P01")
        return "done"

    slept: list[float] = []
    assert call_with_retry(flaky, sleep=slept.append) == "done"
    assert len(calls) == 3
    assert len(slept) == 2

    def refused() -> None:
        calls.append("r")
        raise errors.InsufficientFunds("not enough tokens")

    calls.clear()
    with pytest.raises(errors.InsufficientFunds):
        call_with_retry(refused, sleep=slept.append)
    assert calls == ["r"]

    def always() -> None:
        raise errors.ConnectionFailed("down", sqlstate="08001")

    with pytest.raises(errors.ConnectionFailed):
        call_with_retry(always, attempts=3, sleep=lambda _: None)
    assert all(0 <= d <= 0.4 for d in backoff_delays(6, 0.1, 0.4))
    with pytest.raises(ValueError, match="attempts"):
        backoff_delays(0, 0.1, 1)

    async def aflaky() -> str:
        calls.append("a")
        if calls.count("a") < 2:
            raise errors.TransientError("serialization failure", sqlstate="40001")
        return "ok"

    assert asyncio.run(call_with_retry_async(aflaky, base_delay=0.001)) == "ok"


LOST = [
    errors.ConnectionFailed("server closed the connection unexpectedly", sqlstate="08006"),
    errors.ConnectionFailed("connection failure", sqlstate="08003"),
    errors.TransientError("terminating connection due to administrator command", sqlstate="57P01"),
    errors.TransientError(
        "terminating connection because of crash of another server process", sqlstate="57P02"
    ),
    errors.ShardUnavailable("shard 1 did not answer"),
]


@pytest.mark.parametrize("lost", LOST, ids=[e.sqlstate for e in LOST])
def test_a_lost_connection_is_not_retried_unless_the_call_is_idempotent(lost: errors.TransientError) -> None:
    """A connection lost while the call was running (or a shard's answer lost) may have lost the answer of a
    COMMIT that happened: repeated, a call without an idempotency key would be done twice, or refused (LP004)
    for what succeeded. call_with_retry raises OutcomeUnknown after that one attempt (not transient, so no
    retry loop repeats it); with idempotent=True (keyed, or read-only) it retries."""
    done: list[str] = []

    def commits_then_loses_the_answer() -> str:
        done.append("x")
        if len(done) == 1:
            raise lost
        return "again"

    slept: list[float] = []
    with pytest.raises(errors.OutcomeUnknown) as caught:
        call_with_retry(commits_then_loses_the_answer, sleep=slept.append)
    assert (done, slept) == (["x"], [])
    assert caught.value.__cause__ is lost
    assert caught.value.sqlstate == lost.sqlstate
    assert not caught.value.transient
    assert not isinstance(caught.value, errors.TransientError)
    assert isinstance(caught.value, errors.DatabaseError)

    done.clear()
    assert call_with_retry(commits_then_loses_the_answer, sleep=slept.append, idempotent=True) == "again"
    assert done == ["x", "x"]

    async def acommits_then_loses_the_answer() -> str:
        return commits_then_loses_the_answer()

    done.clear()
    with pytest.raises(errors.OutcomeUnknown):
        asyncio.run(call_with_retry_async(acommits_then_loses_the_answer, base_delay=0.001))
    assert done == ["x"]
    done.clear()
    coroutine = call_with_retry_async(acommits_then_loses_the_answer, base_delay=0.001, idempotent=True)
    assert asyncio.run(coroutine) == "again"


@pytest.mark.parametrize(
    "failure",
    [
        errors.ConnectionFailed("connection refused", sqlstate="08001"),  # nothing was sent
        errors.TransientError("the database system is starting up", sqlstate="57P03"),  # refused at connect
        errors.TransientError("deadlock detected", sqlstate="40P01"),  # answered: rolled back
        errors.TransientError("could not serialize access", sqlstate="40001"),
        errors.TransientError("canceling statement due to lock timeout", sqlstate="55P03"),
        errors.TransientError("canceling statement due to statement timeout", sqlstate="57014"),
    ],
    ids=lambda e: e.sqlstate,
)
def test_a_failure_that_did_nothing_is_retried_without_a_key(failure: errors.TransientError) -> None:
    calls: list[str] = []

    def flaky() -> str:
        calls.append("x")
        if len(calls) == 1:
            raise failure
        return "done"

    assert call_with_retry(flaky, sleep=lambda _: None) == "done"
    assert len(calls) == 2


def test_transaction_modes(db_url: str) -> None:
    with Client(db_url, role="livepanty_app") as client:
        with client.transaction(isolation="repeatable read", read_only=True) as tx:
            mode = tx.fetch(
                "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
            )
            assert mode == [("repeatable read", "on")]
        with client.transaction(isolation="serializable") as tx:
            assert tx.fetch("SELECT current_setting('transaction_isolation')") == [("serializable",)]
        with client.transaction() as tx:
            assert tx.fetch("SELECT current_setting('transaction_read_only')") == [("off",)]
        # A write in a read-only transaction is refused by the server and changes nothing.
        with pytest.raises(errors.DatabaseError) as caught, client.transaction(read_only=True) as tx:
            tx.register_user(
                email="ro@example.com", username="readonly", password=PASSWORD, date_of_birth=date(1990, 1, 1)
            )
        assert caught.value.sqlstate == "25006"
        with pytest.raises(ValueError, match="isolation"), client.transaction(isolation="chaos"):
            pass
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM lp.users WHERE username = 'readonly'").fetchone() == (0,)


def test_a_savepoint_lets_a_block_catch_a_refusal_and_go_on(db_url: str) -> None:
    with Client(db_url, role="livepanty_app") as client, client.transaction() as tx:
        tx.register_user(
            email="keep@example.com", username="keeper", password=PASSWORD, date_of_birth=date(1990, 1, 1)
        )
        with pytest.raises(errors.InvalidSession), tx.savepoint():
            tx.register_user(
                email="gone@example.com",
                username="rolledback",
                password=PASSWORD,
                date_of_birth=date(1990, 1, 1),
            )
            tx.authenticate("not-a-token")
        tx.register_user(
            email="after@example.com", username="after", password=PASSWORD, date_of_birth=date(1990, 1, 1)
        )
    with psycopg.connect(db_url) as conn:
        names = {r[0] for r in conn.execute("SELECT username::text FROM lp.users").fetchall()}
    assert {"keeper", "after"} <= names
    assert "rolledback" not in names

    async def scenario() -> None:
        async with AsyncClient(db_url, role="livepanty_app") as aclient, aclient.transaction() as tx:
            with pytest.raises(errors.InvalidSession):
                async with tx.savepoint():
                    await tx.authenticate("not-a-token")
            await tx.register_user(
                email="async@example.com",
                username="asyncafter",
                password=PASSWORD,
                date_of_birth=date(1990, 1, 1),
            )

    asyncio.run(scenario())
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM lp.users WHERE username = 'asyncafter'").fetchone() == (1,)


def test_db_url_goes_through_pgbouncer_exactly_when_the_harness_is_asked_to(db_url: str) -> None:
    """The second pass of `make test` (LIVEPANTY_TEST_PGBOUNCER=1) really runs behind a pooler: the server's
    own port differs from the one the client connected to; without the option they are the same."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        server_port = conn.execute("SELECT inet_server_port()").fetchone()[0]
        client_port = int(conn.info.port)
    if os.environ.get("LIVEPANTY_TEST_PGBOUNCER") == "1":
        assert server_port != client_port
    else:
        assert server_port == client_port


#: DSNs libpq cannot parse, each holding the password "s3cret-pw": libpq's message quotes the DSN (or a piece
#: of it) back, and that message becomes the ConnectionFailed an application logs.
MALFORMED_DSNS_WITH_A_PASSWORD = [
    "postgresql://app:s3cret-pw@[db.example/livepanty",
    "postgresql://app:s3cret-pw@db.example:port/livepanty",
    "host=db.example user=app password=s3cret -pw dbname=livepanty",
    "host=db.example password=s3cret-pw dbname",
]


@pytest.mark.parametrize("dsn", MALFORMED_DSNS_WITH_A_PASSWORD)
def test_a_connection_failure_never_carries_the_password(dsn: str) -> None:
    """The error of a DSN libpq cannot use is ConnectionFailed without the DSN's password in any text of it
    (str, message, detail, hint, repr): applications log these."""

    def texts(error: errors.LivepantyError) -> str:
        parts = (error, repr(error), error.message, error.detail, error.hint, error.__cause__)
        return " ".join(str(t) for t in parts)  # (the psycopg error, the cause a logged traceback shows)

    with Client(dsn) as client, pytest.raises(errors.ConnectionFailed) as caught:
        client.list_live_streams()
    assert caught.value.sqlstate == "08001"
    assert not any(secret in texts(caught.value) for secret in ("s3cret", "-pw")), texts(caught.value)

    async def scenario() -> errors.LivepantyError:
        async with AsyncClient(dsn) as aclient:
            with pytest.raises(errors.ConnectionFailed) as caught:
                await aclient.list_live_streams()
            return caught.value

    error = asyncio.run(scenario())
    assert not any(secret in texts(error) for secret in ("s3cret", "-pw")), texts(error)


def test_an_async_client_serves_one_event_loop_at_a_time(db_url: str) -> None:
    """An AsyncClient's pool and locks belong to one event loop. Another loop that uses it while that one is
    open (a loop per thread) is refused at once with EventLoopMismatch, nothing sent; it used to sleep on the
    pool's waiters of the other loop for the pool timeout (30 s) and then read as ConnectionFailed, or to meet
    a RuntimeError from a lock. Once the first loop is closed, the next one takes the client over."""
    client = AsyncClient(db_url, role="livepanty_app", pool_size=2)
    adult = date(1990, 1, 1)

    async def register_async(name: str) -> None:
        await client.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=adult
        )

    bound = threading.Event()
    release = threading.Event()

    async def first_loop() -> None:
        await register_async("loop_one")
        bound.set()
        while not release.is_set():
            await asyncio.sleep(0.01)

    thread = threading.Thread(target=asyncio.run, args=(first_loop(),))
    thread.start()
    try:
        assert bound.wait(60)

        async def second_loop() -> None:
            await asyncio.gather(*(register_async(f"loop_two_{i}") for i in range(4)))

        started = time.monotonic()
        with pytest.raises(EventLoopMismatch, match="another event loop that is still open"):
            asyncio.run(second_loop())
        assert time.monotonic() - started < 5
    finally:
        release.set()
        thread.join(60)
    assert not thread.is_alive()
    assert issubclass(EventLoopMismatch, RuntimeError)

    async def third_loop() -> None:
        # Several calls at once (the pool grows, the client's locks are this loop's now); the names the
        # refused loop tried are free: it sent nothing.
        await asyncio.gather(*(register_async(f"loop_two_{i}") for i in range(4)))
        with pytest.raises(errors.LivepantyError):
            await register_async("loop_one")
        await client.close()

    asyncio.run(third_loop())
