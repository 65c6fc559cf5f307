"""Password reset e-mails through the outbox, with real logins: one that is only a member of ``livepanty_app``
(the application) and one that is only a member of ``livepanty_mailer`` (the delivery service).

* The whole reset: the application asks (and learns nothing: the same ``None`` for an unknown address, no way
  to the token), the mailer claims the e-mail with the token and reports it sent (the outbox forgets the
  token), the user resets with it, logs in with the new password, and every older session is revoked.
* Two mailers claiming at the same time from their own connections deliver every queued e-mail exactly once
  (row locks while a claim is in flight, the lease after it commits).
* A claim in flight blocks no other mailer (``SKIP LOCKED``: the other takes the other messages at once), and
  a claim rolled back leaves its message claimable as if nothing happened.

The rest of the outbox (leases running out, retries, giving up, supersede, throttle, audit) is in
tests/sql/test_outbox.sql.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

from livepanty_db import Client, errors

PASSWORD = "Correct-Horse-42"
NEW_PASSWORD = "Battery-Staple-77"
ADULT = date(1990, 5, 17)
MAILERS = 2
USERS = 30


@dataclass(frozen=True)
class Logins:
    dsn: str  #: the superuser's
    app: str  #: a login that is a member of livepanty_app only
    mailer: str  #: a login that is a member of livepanty_mailer only


@pytest.fixture
def logins(db_url: str) -> Iterator[Logins]:
    suffix = uuid.uuid4().hex[:8]
    names = {"livepanty_app": f"lp_app_{suffix}", "livepanty_mailer": f"lp_mailer_{suffix}"}
    with psycopg.connect(db_url, autocommit=True) as conn:
        for group, login in names.items():
            conn.execute(
                pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                    pgsql.Identifier(login), pgsql.Identifier(group)
                )
            )
    try:
        yield Logins(
            db_url,
            make_conninfo(db_url, user=names["livepanty_app"]),
            make_conninfo(db_url, user=names["livepanty_mailer"]),
        )
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for login in names.values():
                conn.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(login)))
                conn.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(login)))


def scalar(dsn: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def register(app: Client, name: str) -> uuid.UUID:
    user = app.register_user(
        email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=ADULT
    )
    return user.id


def test_password_reset_end_to_end(logins: Logins) -> None:
    with (
        Client(logins.app, role="livepanty_app") as app,
        Client(logins.mailer, role="livepanty_mailer") as mailer,
    ):
        vera = register(app, "vera")
        old_sessions = [app.login("vera", PASSWORD), app.login("vera@example.com", PASSWORD)]

        # The application asks; the answer says nothing, whether or not the address has an account.
        assert app.request_password_reset("Vera@Example.com", ip_address="203.0.113.7") is None
        assert app.request_password_reset("nobody@example.com", ip_address="203.0.113.7") is None
        # ... and it has no way to the token: no claim, no read of the outbox.
        with pytest.raises(errors.PermissionDenied):
            app.claim_messages()
        with pytest.raises(errors.PermissionDenied), app.transaction() as tx:
            tx.fetch("SELECT payload FROM lp.outbox")
        # The mailer gets it, and nothing but its own functions.
        with pytest.raises(errors.PermissionDenied):
            mailer.request_password_reset("vera@example.com")
        with pytest.raises(errors.PermissionDenied), mailer.transaction() as tx:
            tx.fetch("SELECT token_hash FROM lp.password_reset_tokens")

        (message,) = mailer.claim_messages()  # to the account's address, not to what was typed
        assert (message.kind, message.email, message.attempt) == ("password_reset", "vera@example.com", 1)
        token = message.payload["token"]
        assert len(token) == 43
        assert token not in repr(message)
        assert message.payload["username"] == "vera"
        assert mailer.claim_messages() == []  # leased: no second mailer gets it
        mailer.mark_message_sent(message.id, message.attempt, provider_reference="smtp-250-1")
        with pytest.raises(errors.InvalidState):
            mailer.mark_message_sent(message.id, message.attempt)
        # Once sent, the outbox keeps no token.
        assert scalar(logins.dsn, "SELECT payload FROM lp.outbox WHERE id = %s", (message.id,)) is None
        assert scalar(logins.dsn, "SELECT status FROM lp.outbox WHERE id = %s", (message.id,)) == "sent"

        # The user follows the link.
        assert app.reset_password(token, NEW_PASSWORD, ip_address="203.0.113.8") == vera
        session = app.login("vera", NEW_PASSWORD)
        with app.session(session.token) as tx:
            assert tx.get_user().id == vera
        with pytest.raises(errors.InvalidCredentials):
            app.login("vera", PASSWORD)
        for old in old_sessions:
            with pytest.raises(errors.InvalidSession):
                app.authenticate(old.token)
        with pytest.raises(errors.ResetTokenUsed):
            app.reset_password(token, "Another-Staple-88")


def test_two_mailers_deliver_every_message_exactly_once(logins: Logins) -> None:
    with Client(logins.app, role="livepanty_app") as app:
        users = {register(app, f"user{i}") for i in range(USERS)}
        for i in range(USERS):
            app.request_password_reset(f"user{i}@example.com")
    queued = scalar(logins.dsn, "SELECT count(*) FROM lp.outbox WHERE status = 'queued'")
    assert queued == USERS

    start = threading.Barrier(MAILERS)
    delivered: list[list[tuple[uuid.UUID, str]]] = [[] for _ in range(MAILERS)]
    failures: list[BaseException] = []

    def mailer(index: int) -> None:
        try:
            with Client(logins.mailer, role="livepanty_mailer") as client:
                with client.transaction() as tx:  # connect before the race
                    tx.fetch("SELECT 1")
                start.wait()
                while batch := client.claim_messages(2):
                    for message in batch:
                        time.sleep(0.005)  # "sending"
                        delivered[index].append((message.id, message.payload["token"]))
                        client.mark_message_sent(message.id, message.attempt)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=mailer, args=(i,)) for i in range(MAILERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)

    ids = [message_id for per_mailer in delivered for message_id, _ in per_mailer]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert all(delivered), f"a mailer delivered nothing: {[len(d) for d in delivered]}"
    with psycopg.connect(logins.dsn) as conn:
        rows = conn.execute("SELECT id, user_id, status, attempts, payload FROM lp.outbox").fetchall()
        claims = conn.execute("SELECT count(*) FROM lp.audit_logs WHERE action = 'outbox.claim'").fetchone()
    assert len(ids) == USERS, "a message was never delivered"
    assert {user_id for _, user_id, *_ in rows} == users
    assert {(status, attempts, payload) for _, _, status, attempts, payload in rows} == {("sent", 1, None)}
    assert claims is not None
    assert claims[0] == USERS, "a message was claimed more than once"
    tokens = [token for per_mailer in delivered for _, token in per_mailer]
    assert len(set(tokens)) == USERS


def test_a_claim_in_flight_blocks_no_other_mailer(logins: Logins) -> None:
    with Client(logins.app, role="livepanty_app") as app:
        for name in ("ann", "ben", "cat"):
            register(app, name)
            app.request_password_reset(f"{name}@example.com")
    with psycopg.connect(logins.mailer) as first:  # its claim stays uncommitted: rows locked, no lease yet
        held = {row[0] for row in first.execute("SELECT id FROM api.claim_messages(p_limit => 1)")}
        assert len(held) == 1
        options = {"options": "-c lock_timeout=2s"}  # a claim that waited for the row lock would fail
        with Client(logins.mailer, role="livepanty_mailer", connect_kwargs=options) as second:
            others = {message.id for message in second.claim_messages(10)}
        assert len(others) == 2
        assert not held & others
        first.rollback()  # the first mailer dies before committing: its message was never claimed
    with Client(logins.mailer, role="livepanty_mailer") as mailer:
        (message,) = mailer.claim_messages(10)
    assert message.id in held
    assert message.attempt == 1
