"""The Python client: every API method (sync and async), typed errors, acting contexts, roles and pools.

Each test gets its own database cloned from the migrated template (``db_url``; bcrypt cost 4). The test
connection is a superuser: ``Client(db_url)`` acts as one, ``Client(db_url, role="livepanty_app")`` as the
application role with row level security in force.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import scalar_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import livepanty_db._client_common
from livepanty_db import AsyncClient, Client, Session, Transaction, errors, models, new_idempotency_key, sql

DB_FUNCTIONS = Path(__file__).resolve().parents[2] / "db" / "functions"
PASSWORD = "Correct-Horse-42"
NEW_PASSWORD = "Battery-Staple-77"
ADULT = date(1990, 5, 17)


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with Client(db_url) as c:
        yield c


@pytest.fixture
def app_client(db_url: str) -> Iterator[Client]:
    with Client(db_url, role="livepanty_app") as c:
        yield c


def register(client: Client, name: str, *, role: str = "viewer") -> models.UserAccount:
    return client.register_user(
        email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=ADULT, role=role
    )


def make_admin(client: Client, name: str = "boss") -> models.UserAccount:
    return client.create_admin(
        email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=ADULT
    )


def make_moderator(client: Client, admin: models.UserAccount, name: str = "mod") -> models.UserAccount:
    user = register(client, name)
    with client.acting_as(admin.id, reason="test") as tx:
        return tx.set_user_role(user.id, "moderator")


def insert_stream(seed: Any, host_id: uuid.UUID) -> uuid.UUID:
    """A live stream of ``host_id``, inserted directly as the superuser (on the host's shard behind a router):
    the API's way (a verified performer, consent, schedule, start) is tested in test_streams."""
    stream_id = uuid.uuid4()
    seed.execute(
        "INSERT INTO lp.streams (id, host_id, title, status, started_at)"
        " VALUES (%s, %s, 'hello', 'live', now())",
        (stream_id, host_id),
        user=host_id,
    )
    return stream_id


def mailed_reset_token(db_url: str, email: str) -> str:
    """The token of the reset e-mail queued for ``email``, as the mailer gets it (claimed, marked sent)."""
    with Client(db_url, role="livepanty_mailer") as mailer:
        messages = [m for m in mailer.claim_messages(100) if m.email.lower() == email.lower()]
        for message in messages:
            mailer.mark_message_sent(message.id, message.attempt)
    assert [m.kind for m in messages] == ["password_reset"]
    return messages[0].payload["token"]


#: A user's failed logins since the last good one (read on the user's shard behind a router).
FAILED_LOGINS = "SELECT failed_login_count FROM lp.users WHERE id = %s"


def scalar(db_url: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


# --- models mirror the SQL types ----------------------------------------------------------------------------


def test_models_mirror_sql_row_types(conn: psycopg.Connection) -> None:
    for model, relation in models.SQL_TYPES.items():
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND NOT attisdropped ORDER BY attnum",
                (relation,),
            )
        ]
        fields = [f.name for f in dataclasses.fields(model)]
        if model in models.REPLAYABLE:  # the client's own flag, last
            assert fields.pop() == "replayed", relation
        assert fields == columns, relation


@pytest.mark.parametrize(
    ("model", "function"),
    list(models.SQL_FUNCTIONS.items()) + [(model, function) for function, model in models.SAME_ROWS.items()],
)
def test_models_mirror_table_functions(conn: psycopg.Connection, model: type, function: str) -> None:
    row = conn.execute(
        "SELECT array_agg(n ORDER BY i) FROM pg_proc AS p,"
        " unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(n, m, i)"
        " WHERE p.oid = %s::regproc AND a.m = 't'",
        (function,),
    ).fetchone()
    assert row is not None
    assert [f.name for f in dataclasses.fields(model)] == row[0]


def test_every_table_function_has_a_model(conn: psycopg.Connection) -> None:
    """A new ``RETURNS TABLE (...)`` function in ``api`` needs its model in ``models.SQL_FUNCTIONS``."""
    functions = {
        r[0]
        for r in conn.execute(
            "SELECT p.oid::regproc::text FROM pg_proc AS p"
            " WHERE p.pronamespace = 'api'::regnamespace AND 't' = ANY (p.proargmodes)"
        )
    }
    assert functions == set(models.SQL_FUNCTIONS.values()) | set(models.SAME_ROWS)


def test_every_api_function_has_a_method_and_a_statement() -> None:
    functions = sorted(p.name.split(".")[1] for p in DB_FUNCTIONS.glob("api.*.sql"))
    assert functions
    for name in functions:
        assert callable(getattr(Client, name, None)), name
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name, None)), name
        assert callable(getattr(Transaction, name, None)), name
        assert hasattr(sql, name.upper()), name
        assert f"api.{name}(" in getattr(sql, name.upper())


#: Method arguments named differently from the SQL argument (``p_`` dropped), per method.
RENAMED_ARGUMENTS = {"sanction_user": {"type": "sanction_type"}}


def _api_arguments(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every api function's input arguments, ``p_`` dropped: {function name: [argument, ...]}."""
    arguments = {}
    for name, names, modes in conn.execute(
        "SELECT p.proname, p.proargnames, p.proargmodes::text[] FROM pg_proc AS p"
        " WHERE p.pronamespace = 'api'::regnamespace"
    ):
        names = names or []
        modes = modes or ["i"] * len(names)  # NULL: every argument is an input
        arguments[name] = [n.removeprefix("p_") for n, m in zip(names, modes, strict=True) if m in ("i", "b")]
    return arguments


def test_method_arguments_mirror_sql_arguments(conn: psycopg.Connection) -> None:
    """Same names as the SQL arguments (a keyword gets a trailing underscore); sync and async alike."""
    arguments = _api_arguments(conn)
    assert arguments
    for function, sql_args in arguments.items():
        method = getattr(Client, function)
        params = list(inspect.signature(method).parameters)[1:]
        renamed = RENAMED_ARGUMENTS.get(function, {})
        expected = {renamed.get(a, a) for a in sql_args}
        assert {p.rstrip("_") for p in params} == {e.rstrip("_") for e in expected}, function
        assert inspect.signature(getattr(AsyncClient, function)) == inspect.signature(method), function


def test_idempotency_key_is_a_required_keyword(conn: psycopg.Connection) -> None:
    """The caller owns retries: every money operation takes idempotency_key, keyword-only, with no default."""
    idempotent = sorted(f for f, args in _api_arguments(conn).items() if "idempotency_key" in args)
    assert len(idempotent) >= 15
    for function in idempotent:
        for cls in (Client, AsyncClient):
            param = inspect.signature(getattr(cls, function)).parameters["idempotency_key"]
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, function
            assert param.default is inspect.Parameter.empty, function


def test_new_idempotency_keys_are_time_ordered_uuids_and_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    """new_idempotency_key() makes RFC 9562 version 7 uuids: the millisecond time first, so keys made later
    sort later as text (lp.tips claims them at the right edge of (idempotency_key, sender_id)), and 74 random
    bits, so keys of one millisecond differ."""
    clock = [1_790_000_000_000_000_000]
    monkeypatch.setattr(livepanty_db._client_common.time, "time_ns", lambda: clock[0])
    same_ms = [new_idempotency_key() for _ in range(2000)]
    assert len(set(same_ms)) == 2000
    clock[0] += 1_000_000  # one millisecond later
    later = new_idempotency_key()
    assert all(key < later for key in same_ms)
    for key in [*same_ms[:50], later]:
        parsed = uuid.UUID(key)
        assert str(parsed) == key
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert uuid.UUID(same_ms[0]).int >> 80 == 1_790_000_000_000
    assert uuid.UUID(later).int >> 80 == 1_790_000_000_001


# --- every method, synchronously ----------------------------------------------------------------------------


def test_every_method_sync(client: Client, db_url: str, seed: Any) -> None:
    admin = make_admin(client)
    assert admin.role == "admin"
    alice = client.register_user(
        email="Alice@Example.com",
        username="alice",
        password=PASSWORD,
        date_of_birth="1991-02-03",
        role="performer",
        display_name="Alice",
        country_code="de",
        ip_address="192.0.2.1",
    )
    assert (alice.username, alice.role, alice.country_code) == ("alice", "performer", "DE")
    assert alice.date_of_birth == date(1991, 2, 3)

    session = client.login(
        "alice", PASSWORD, user_agent="pytest", device_info={"os": "linux"}, ttl=timedelta(hours=1)
    )
    assert isinstance(session, Session)
    assert session.user_id == alice.id
    assert "token='***'" in repr(session)
    auth = client.authenticate(session.token)
    assert (auth.user_id, auth.session_id, auth.role) == (alice.id, session.session_id, "performer")
    assert client.current_user_id() is None

    with client.session(session.token) as tx:
        assert tx.current_user_id() == alice.id
        assert tx.get_user().id == alice.id
        sessions = tx.list_sessions()
        assert [s.id for s in sessions] == [session.session_id]
        assert sessions[0].is_current
        assert sessions[0].device_info == {"os": "linux"}
        prefs = tx.get_preferences()
        assert prefs.theme == "system"
        prefs = tx.update_preferences(theme="dark", timezone="Europe/Berlin", marketing_emails=True)
        assert (prefs.theme, prefs.timezone, prefs.marketing_emails) == ("dark", "Europe/Berlin", True)
        assert tx.public_profile(admin.id) == models.PublicProfile(
            admin.id, "boss", None, "admin", None, None
        )
        other = client.login("alice@example.com", PASSWORD)  # a second session, own transaction
        assert tx.revoke_all_sessions(keep_current=True) == 1
        assert tx.change_password(PASSWORD, NEW_PASSWORD) == 0
    with pytest.raises(errors.InvalidSession):
        client.authenticate(other.token)

    assert client.request_password_reset("alice@example.com") is None
    assert client.request_password_reset("nobody@example.com") is None  # the same answer
    assert client.reset_password(mailed_reset_token(db_url, "alice@example.com"), PASSWORD) == alice.id
    with pytest.raises(errors.InvalidSession):  # a reset revokes every session
        client.authenticate(session.token)
    session = client.login("alice", PASSWORD)
    with client.session(session.token) as tx:
        revoked = tx.revoke_session()  # log out of the current session
        assert (revoked.id, revoked.revoke_reason) == (session.session_id, "logout")

    bob = register(client, "bob")
    stream_id = insert_stream(seed, alice.id)
    with client.acting_as(admin.id, reason="test") as tx:
        assert tx.find_user("ALICE@example.com").id == alice.id
        assert tx.get_user(bob.id).username == "bob"
        assert [u.username for u in tx.list_users()] == ["boss", "alice", "bob"]
        page = tx.list_users(limit=2)
        assert [u.username for u in tx.list_users(after=page[-1].id)] == ["bob"]
        assert [u.username for u in tx.list_users(role="performer")] == ["alice"]
        assert tx.set_user_role(bob.id, "moderator").role == "moderator"
        sanction = tx.sanction_user(alice.id, "ban", "spam", ends_at=datetime.now(UTC) + timedelta(days=1))
        assert (sanction.user_id, sanction.sanction_type, sanction.issued_by) == (alice.id, "ban", admin.id)
        lifted = tx.revoke_sanction(sanction.id, "appeal granted")
        assert lifted.revoke_reason == "appeal granted"
        settings = {s.key: s.value for s in tx.list_settings()}
        assert settings["auth.max_failed_logins"] == 5
        changed = tx.set_setting("auth.max_failed_logins", 7)
        assert (changed.value, changed.updated_by) == (7, admin.id)
        summary = {row.username: row for row in tx.user_summary()}
        assert summary.keys() == {"boss", "alice", "bob"}
        assert summary["alice"].balance == 0
        streams = tx.stream_summary()
        assert [(s.id, s.host_username) for s in streams] == [(stream_id, "alice")]
        assert tx.stream_stats(stream_id) == models.StreamStats(0, 0, 0, 0, 0, 0)
        assert tx.stream_stats(uuid.uuid4()) is None
        assert tx.public_profile(uuid.uuid4()) is None
        sessions = tx.list_sessions(alice.id, include_ended=True)
        assert len(sessions) == 3
        assert tx.revoke_all_sessions(bob.id) == 0
        deleted = tx.delete_user(bob.id, reason="test")
        assert deleted.deleted_at is not None
        assert tx.public_profile(bob.id) is None
    assert client.public_profile(alice.id) is None  # nobody acting: no profile, no stats
    assert client.stream_stats(stream_id) is None


# --- every method, asynchronously ---------------------------------------------------------------------------


def test_every_method_async(db_url: str, seed: Any) -> None:
    async def scenario() -> None:
        async with AsyncClient(db_url) as client:
            admin = await client.create_admin(
                email="boss@example.com", username="boss", password=PASSWORD, date_of_birth=ADULT
            )
            alice = await client.register_user(
                email="alice@example.com", username="alice", password=PASSWORD, date_of_birth=ADULT
            )
            session = await client.login("alice", PASSWORD)
            assert (await client.authenticate(session.token)).user_id == alice.id
            assert await client.current_user_id() is None
            async with client.session(session.token) as tx:
                assert tx.authenticated is not None
                assert await tx.current_user_id() == alice.id
                assert (await tx.get_user()).id == alice.id
                assert len(await tx.list_sessions()) == 1
                assert (await tx.get_preferences()).language == "en"
                assert (await tx.update_preferences(language="de")).language == "de"
                assert (await tx.public_profile(admin.id)) is not None
                assert await tx.revoke_all_sessions(keep_current=True) == 0
                assert await tx.change_password(PASSWORD, NEW_PASSWORD) == 0
            assert await client.request_password_reset("alice@example.com") is None
            async with AsyncClient(db_url, role="livepanty_mailer") as mailer:
                (message,) = await mailer.claim_messages(10, lease=timedelta(minutes=1))
                assert (message.email, message.attempt) == ("alice@example.com", 1)
                retry_at = await mailer.mark_message_failed(message.id, 1, "421 try later")
                assert retry_at is not None
                assert retry_at > datetime.now(UTC)
                assert await mailer.claim_messages() == []  # not due before retry_at
            seed.execute("UPDATE lp.outbox SET next_attempt_at = now()")  # due again
            async with AsyncClient(db_url, role="livepanty_mailer") as mailer:
                (message,) = await mailer.claim_messages()
                assert message.attempt == 2
                await mailer.mark_message_sent(message.id, 2, provider_reference="msg-1")
            assert await client.reset_password(message.payload["token"], PASSWORD) == alice.id
            session = await client.login("alice@example.com", PASSWORD)
            async with client.session(session.token) as tx:
                assert (await tx.revoke_session()).revoke_reason == "logout"
            with pytest.raises(errors.InvalidCredentials):
                await client.login("alice", "Wrong-password-1")
            session = await client.login("alice", PASSWORD)

            bob = await client.register_user(
                email="bob@example.com", username="bob", password=PASSWORD, date_of_birth=ADULT
            )
            async with client.acting_as(admin.id, reason="test") as tx:
                assert await tx.fetch("SELECT api.current_user_id()") == [(admin.id,)]
                assert (await tx.find_user("bob")).id == bob.id
                assert (await tx.get_user(bob.id)).id == bob.id
                assert len(await tx.list_users(limit=10)) == 3
                assert (await tx.set_user_role(bob.id, "performer")).role == "performer"
                sanction = await tx.sanction_user(bob.id, "warning", "be nice")
                assert (await tx.revoke_sanction(sanction.id, "sorry")).revoked_at is not None
                assert len(await tx.list_settings()) >= 7
                assert (await tx.set_setting("auth.lockout_minutes", 30)).value == 30
                assert len(await tx.user_summary()) == 3
                assert await tx.stream_summary() == []
                assert await tx.stream_stats(uuid.uuid4()) is None
                assert len(await tx.list_sessions(alice.id, include_ended=True)) == 3
                assert (await tx.revoke_session(session.session_id)).revoked_at is not None
                assert await tx.revoke_all_sessions(alice.id) == 0
                assert (await tx.delete_user(bob.id)).deleted_at is not None
            with pytest.raises(errors.NotAuthenticated):
                await client.list_users()

    asyncio.run(scenario())


# --- typed exceptions ---------------------------------------------------------------------------------------


@pytest.fixture
def world(client: Client, db_url: str, seed: Any) -> dict[str, Any]:
    """An admin, a moderator, a viewer (with a live session) and a performer; ``dsn`` is the database's (the
    router's behind one), ``seed`` its databases' (conftest.Seed)."""
    admin = make_admin(client)
    moderator = make_moderator(client, admin)
    viewer = register(client, "viewer1")
    performer = register(client, "performer1", role="performer")
    return {
        "admin": admin,
        "moderator": moderator,
        "viewer": viewer,
        "performer": performer,
        "session": client.login("viewer1", PASSWORD),
        "dsn": db_url,
        "seed": seed,
    }


def _register_kwargs(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "new@example.com",
        "username": "newbie",
        "password": PASSWORD,
        "date_of_birth": ADULT,
    } | overrides


def _revoked_twice(client: Client, w: dict[str, Any]) -> None:
    with client.acting_as(w["viewer"].id, reason="test") as tx:
        tx.revoke_session(w["session"].session_id)
    with client.acting_as(w["viewer"].id, reason="test") as tx:
        tx.revoke_session(w["session"].session_id)


def _used_reset_token(client: Client, w: dict[str, Any]) -> None:
    client.request_password_reset("viewer1@example.com")
    token = mailed_reset_token(w["dsn"], "viewer1@example.com")
    client.reset_password(token, NEW_PASSWORD)
    client.reset_password(token, NEW_PASSWORD)


def _superseded_reset_token(client: Client, w: dict[str, Any]) -> None:
    client.request_password_reset("viewer1@example.com")
    token = mailed_reset_token(w["dsn"], "viewer1@example.com")
    # an hour later (past the throttle), the user asks again
    w["seed"].execute("UPDATE lp.outbox SET created_at = now() - interval '1 hour'")
    client.request_password_reset("viewer1@example.com")
    client.reset_password(token, NEW_PASSWORD)


def _banned_login(client: Client, w: dict[str, Any]) -> None:
    with client.acting_as(w["moderator"].id, reason="test") as tx:
        tx.sanction_user(w["viewer"].id, "ban", "spam")
    client.login("viewer1", PASSWORD)


def _as_unknown_user(client: Client) -> None:
    with client.acting_as(uuid.uuid4(), reason="test") as tx:
        tx.get_preferences()


def _forged(client: Client, user_id: uuid.UUID) -> None:
    with client.transaction() as tx:
        tx.fetch("SELECT set_config('lp.user_id', %(id)s, true)", {"id": str(user_id)})
        tx.get_preferences()


def _as(who: str, call: Any) -> Any:
    def run(client: Client, w: dict[str, Any]) -> None:
        with client.acting_as(w[who].id, reason="test") as tx:
            call(tx, w)

    return run


CASES: list[tuple[type[errors.LivepantyError], str, Any]] = [
    (errors.NotAuthenticated, "LP001", lambda c, w: c.get_user()),
    (errors.NotFound, "LP003", lambda c, w: _as_unknown_user(c)),
    (errors.IdentityNotProven, "LP005", lambda c, w: _forged(c, w["admin"].id)),
    (errors.PermissionDenied, "LP002", _as("viewer", lambda tx, w: tx.list_users())),
    (
        errors.PermissionDenied,
        "LP002",
        _as("moderator", lambda tx, w: tx.sanction_user(w["admin"].id, "ban", "x")),
    ),
    (errors.NotFound, "LP003", _as("admin", lambda tx, w: tx.get_user(uuid.uuid4()))),
    (errors.NotFound, "LP003", _as("viewer", lambda tx, w: tx.get_user(w["performer"].id))),
    (errors.InvalidState, "LP004", _revoked_twice),
    (errors.InvalidEmail, "LP010", lambda c, w: c.register_user(**_register_kwargs(email="not-an-email"))),
    (errors.InvalidUsername, "LP011", lambda c, w: c.register_user(**_register_kwargs(username="root"))),
    (errors.WeakPassword, "LP012", lambda c, w: c.register_user(**_register_kwargs(password="short1"))),
    (errors.Underage, "LP013", lambda c, w: c.register_user(**_register_kwargs(date_of_birth=date.today()))),
    (
        errors.InvalidDateOfBirth,
        "LP014",
        lambda c, w: c.register_user(**_register_kwargs(date_of_birth="1850-01-01")),
    ),
    (
        errors.EmailTaken,
        "LP015",
        lambda c, w: c.register_user(**_register_kwargs(email="VIEWER1@example.com")),
    ),
    (errors.UsernameTaken, "LP016", lambda c, w: c.register_user(**_register_kwargs(username="Viewer1"))),
    (errors.InvalidRole, "LP017", lambda c, w: c.register_user(**_register_kwargs(role="admin"))),
    (errors.InvalidArgument, "LP018", _as("admin", lambda tx, w: tx.list_users(limit=0))),
    (errors.InvalidArgument, "LP018", lambda c, w: c.login("", PASSWORD)),
    (errors.InvalidCredentials, "LP020", lambda c, w: c.login("viewer1", "Wrong-password-1")),
    (errors.InvalidCredentials, "LP020", lambda c, w: c.login("nobody", PASSWORD)),
    (
        errors.InvalidCredentials,
        "LP020",
        _as("viewer", lambda tx, w: tx.change_password("Wrong-1234", NEW_PASSWORD)),
    ),
    (errors.AccountSanctioned, "LP022", _banned_login),
    (errors.InvalidSession, "LP023", lambda c, w: c.authenticate("x" * 43)),
    (errors.ResetTokenInvalid, "LP024", lambda c, w: c.reset_password("y" * 43, NEW_PASSWORD)),
    (errors.ResetTokenExpired, "LP025", _superseded_reset_token),
    (errors.ResetTokenUsed, "LP026", _used_reset_token),
    (errors.PasswordUnchanged, "LP027", _as("viewer", lambda tx, w: tx.change_password(PASSWORD, PASSWORD))),
    (errors.LastAdmin, "LP030", _as("admin", lambda tx, w: tx.set_user_role(w["admin"].id, "viewer"))),
    (errors.UnknownSetting, "LP091", _as("admin", lambda tx, w: tx.set_setting("no.such_key", 1))),
    (
        errors.InvalidSettingValue,
        "LP092",
        _as("admin", lambda tx, w: tx.set_setting("auth.bcrypt_cost", "12")),
    ),
    (errors.InvalidArgument, "22P02", lambda c, w: c.public_profile("not-a-uuid")),
    (
        errors.InvalidArgument,
        "22007",
        lambda c, w: c.register_user(**_register_kwargs(date_of_birth="not a date")),
    ),
    # a NUL character the driver refuses to send (as PostgreSQL refuses it: 22021)
    (errors.InvalidArgument, "22021", lambda c, w: c.register_user(**_register_kwargs(username="nul\x00"))),
    (errors.InvalidArgument, "22021", _as("viewer", lambda tx, w: tx.find_user("viewer1\x00"))),
]


@pytest.mark.parametrize(
    ("exc_type", "sqlstate", "call"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)]
)
def test_typed_exceptions(
    client: Client, world: dict[str, Any], exc_type: type[errors.LivepantyError], sqlstate: str, call: Any
) -> None:
    with pytest.raises(exc_type) as caught:
        call(client, world)
    assert caught.value.sqlstate == sqlstate
    assert caught.value.message
    if sqlstate not in ("LP020", "LP022"):  # raised errors keep the psycopg error; in-band ones have none
        assert isinstance(caught.value.__cause__, psycopg.Error)


def test_rejected_call_changes_nothing(client: Client, seed: Any, world: dict[str, Any]) -> None:
    def users() -> int:  # every shard's, behind a router
        return sum(n for (n,) in seed.rows("SELECT count(*) FROM lp.users"))

    before = users()
    with pytest.raises(errors.EmailTaken):
        client.register_user(**_register_kwargs(email="viewer1@example.com"))
    assert users() == before


def test_permission_denied_for_the_application_role(app_client: Client) -> None:
    """42501 from PostgreSQL: livepanty_app may not run the service-only api.create_admin."""
    with pytest.raises(errors.PermissionDenied) as caught:
        make_admin(app_client)
    assert caught.value.sqlstate == "42501"


def test_errors_from_postgres_itself(seed: Any, client: Client, world: dict[str, Any]) -> None:
    """translate() maps what no API call should produce: LP090, class 23 and anything else (provoked in the
    database that holds the viewer's rows: behind a router, their shard)."""
    with psycopg.connect(seed.database_of(world["viewer"].id)) as conn:
        with pytest.raises(psycopg.Error) as raw:
            conn.execute("DELETE FROM lp.audit_logs")
        assert isinstance(errors.translate(raw.value), errors.AppendOnly)
        conn.rollback()
        with pytest.raises(psycopg.Error) as raw:
            conn.execute("INSERT INTO lp.user_preferences (user_id) VALUES (%s)", (world["viewer"].id,))
        translated = errors.translate(raw.value)
        assert type(translated) is errors.ConstraintViolation
        assert (translated.sqlstate, translated.__cause__) == ("23505", raw.value)
        conn.rollback()
        with pytest.raises(psycopg.Error) as raw:
            conn.execute("SELEC 1")
        assert type(errors.translate(raw.value)) is errors.DatabaseError
    with pytest.raises(errors.DatabaseError):
        Client("postgresql://127.0.0.1:1/nothing?connect_timeout=2").current_user_id()


# --- login failures are recorded ----------------------------------------------------------------------------


def test_failed_login_counts_and_is_audited(client: Client, seed: Any, world: dict[str, Any]) -> None:
    viewer = world["viewer"]
    for expected in (1, 2):
        with pytest.raises(errors.InvalidCredentials):
            client.login("viewer1", "Wrong-password-1", ip_address="198.51.100.7")
        assert seed.one(FAILED_LOGINS, (viewer.id,), user=viewer.id) == expected
    reasons = seed.one(
        "SELECT array_agg(details->>'reason') FROM lp.audit_logs"
        " WHERE action = 'auth.login_failed' AND actor_id = %s AND ip_address = '198.51.100.7'",
        (viewer.id,),
        user=viewer.id,
    )
    assert reasons == ["bad_password", "bad_password"]
    client.login("viewer1", PASSWORD)
    assert seed.one(FAILED_LOGINS, (viewer.id,), user=viewer.id) == 0


def test_lockout_answers_like_a_wrong_password(client: Client, world: dict[str, Any]) -> None:
    with client.acting_as(world["admin"].id, reason="test") as tx:
        tx.set_setting("auth.max_failed_logins", 2)
    for _ in range(2):
        with pytest.raises(errors.InvalidCredentials):
            client.login("viewer1", "Wrong-password-1")
    with pytest.raises(errors.InvalidCredentials):
        client.login("viewer1", PASSWORD)


# --- acting contexts ----------------------------------------------------------------------------------------


def test_acting_as_is_one_transaction(client: Client, db_url: str, world: dict[str, Any]) -> None:
    admin, viewer = world["admin"], world["viewer"]
    with client.acting_as(str(admin.id), reason="test") as tx:
        assert isinstance(tx, Transaction)
        assert tx.acting_user_id == admin.id
        assert tx.current_user_id() == admin.id
        tx.set_user_role(viewer.id, "performer")
        assert tx.get_user(viewer.id).role == "performer"  # sees its own uncommitted change
        backend = scalar_in(tx, "SELECT pg_backend_pid()")
        assert scalar_in(tx, "SELECT pg_backend_pid()") == backend
    assert client.current_user_id() is None  # outside a context nobody acts
    with pytest.raises(errors.NotAuthenticated):
        client.list_users()
    with pytest.raises(RuntimeError):
        tx.get_user()  # the transaction has ended

    # An exception inside the block rolls the whole transaction back.
    def demote_both() -> None:
        with client.acting_as(admin.id, reason="test") as tx:
            tx.set_user_role(viewer.id, "viewer")
            tx.set_user_role(admin.id, "viewer")

    with pytest.raises(errors.LastAdmin):
        demote_both()
    assert scalar(db_url, "SELECT role FROM lp.users WHERE id = %s", (viewer.id,)) == "performer"


def test_a_refusal_caught_inside_a_block_is_not_committed(
    client: Client, db_url: str, world: dict[str, Any]
) -> None:
    """The transaction is aborted: ending the block normally raises instead of silently rolling back."""
    admin, viewer = world["admin"], world["viewer"]
    with pytest.raises(errors.DatabaseError) as caught, client.acting_as(admin.id, reason="test") as tx:
        tx.set_user_role(viewer.id, "performer")
        with pytest.raises(errors.LastAdmin):
            tx.set_user_role(admin.id, "viewer")
    assert caught.value.sqlstate == "25P02"
    assert scalar(db_url, "SELECT role FROM lp.users WHERE id = %s", (viewer.id,)) == "viewer"

    async def scenario() -> None:
        async with AsyncClient(db_url) as aclient:
            with pytest.raises(errors.DatabaseError):
                async with aclient.acting_as(admin.id, reason="test") as atx:
                    await atx.set_user_role(viewer.id, "performer")
                    with pytest.raises(errors.LastAdmin):
                        await atx.set_user_role(admin.id, "viewer")

    asyncio.run(scenario())
    assert scalar(db_url, "SELECT role FROM lp.users WHERE id = %s", (viewer.id,)) == "viewer"
    with client.acting_as(admin.id, reason="test") as tx:  # the connection is fine afterwards
        assert tx.current_user_id() == admin.id


def scalar_in(tx: Transaction, query: str) -> Any:
    """Run a raw query in the transaction (inspects the connection behind the API)."""
    return tx.fetch(query, row_factory=scalar_row)[0]


def test_session_context(client: Client, world: dict[str, Any]) -> None:
    viewer, session = world["viewer"], world["session"]
    with client.session(session.token) as tx:
        assert tx.authenticated is not None
        assert (tx.authenticated.user_id, tx.authenticated.session_id) == (viewer.id, session.session_id)
        assert tx.current_user_id() == viewer.id
        assert [s.is_current for s in tx.list_sessions()] == [True]
    with pytest.raises(errors.InvalidSession), client.session("not-a-token"):
        pass
    with client.acting_as(world["moderator"].id, reason="test") as tx:
        tx.sanction_user(viewer.id, "suspension", "cool down", ends_at=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(errors.InvalidSession), client.session(session.token):  # a suspension revokes sessions
        pass


def test_in_band_refusal_in_a_block_is_committed(client: Client, seed: Any, world: dict[str, Any]) -> None:
    """A wrong current password leaves the session block as InvalidCredentials, but its count persists."""
    viewer, session = world["viewer"], world["session"]
    with pytest.raises(errors.InvalidCredentials) as caught, client.session(session.token) as tx:
        tx.update_preferences(theme="dark")
        tx.change_password("Not-my-password-1", NEW_PASSWORD)
    assert caught.value.in_band
    assert seed.one(FAILED_LOGINS, (viewer.id,), user=viewer.id) == 1
    audited = (
        "SELECT count(*) FROM lp.audit_logs WHERE action = 'auth.password_change_failed' AND target_id = %s"
    )
    assert seed.one(audited, (str(viewer.id),), user=viewer.id) == 1
    theme = "SELECT theme FROM lp.user_preferences WHERE user_id = %s"
    assert seed.one(theme, (viewer.id,), user=viewer.id) == "dark"

    with client.acting_as(world["admin"].id, reason="test") as tx:
        tx.set_setting("auth.max_failed_logins", 2)
    with pytest.raises(errors.InvalidCredentials), client.session(session.token) as tx:
        tx.change_password("Not-my-password-2", NEW_PASSWORD)
    with pytest.raises(errors.InvalidSession):  # the limit locked the account and ended its sessions
        client.authenticate(session.token)
    with pytest.raises(errors.InvalidCredentials):  # locked: even the right password is refused
        client.login("viewer1", PASSWORD)


def test_in_band_refusal_in_an_async_block_is_committed(
    db_url: str, seed: Any, world: dict[str, Any]
) -> None:
    async def scenario() -> None:
        async with AsyncClient(db_url) as client:
            with pytest.raises(errors.InvalidCredentials):
                async with client.session(world["session"].token) as tx:
                    await tx.change_password("Not-my-password-1", NEW_PASSWORD)

    asyncio.run(scenario())
    viewer = world["viewer"].id
    assert seed.one(FAILED_LOGINS, (viewer,), user=viewer) == 1


def test_failed_login_inside_a_block_can_be_caught(client: Client, seed: Any, world: dict[str, Any]) -> None:
    with client.transaction() as tx:
        with pytest.raises(errors.InvalidCredentials):
            tx.login("viewer1", "Wrong-password-1")
        assert tx.login("viewer1", PASSWORD).user_id == world["viewer"].id
    failed = seed.rows("SELECT count(*) FROM lp.audit_logs WHERE action = 'auth.login_failed'")
    assert sum(n for (n,) in failed) == 1  # every shard's, behind a router


# --- database role and row level security -------------------------------------------------------------------


def test_application_role_sees_rows_through_rls(
    client: Client, app_client: Client, world: dict[str, Any]
) -> None:
    viewer, performer, admin = world["viewer"], world["performer"], world["admin"]
    with app_client.acting_as(viewer.id, reason="test") as tx:
        assert scalar_in(tx, "SELECT current_user") == "livepanty_app"
        assert [row.id for row in tx.user_summary()] == [viewer.id]
        assert performer.id not in {row.id for row in tx.user_summary()}
    with pytest.raises(errors.NotFound), app_client.acting_as(viewer.id, reason="test") as tx:
        tx.get_user(performer.id)
    with app_client.acting_as(admin.id, reason="test") as tx:
        assert {row.id for row in tx.user_summary()} >= {viewer.id, performer.id, admin.id}
    with app_client.transaction() as tx:  # nobody acting: no rows at all
        assert tx.user_summary() == []
    with client.acting_as(viewer.id, reason="test") as tx:  # the superuser connection bypasses RLS
        assert scalar_in(tx, "SELECT current_user") != "livepanty_app"
        assert len(tx.user_summary()) == 4
    # the whole API works as the application role
    session = app_client.login("performer1", PASSWORD)
    with app_client.session(session.token) as tx:
        assert tx.get_preferences().user_id == performer.id


def test_role_is_local_to_the_transaction(db_url: str) -> None:
    with Client(db_url, role="livepanty_app") as app:
        with app.transaction() as tx:
            conn = tx._connection()
            assert scalar_in(tx, "SELECT current_user") == "livepanty_app"
        # the connection went back idle with its own role
        assert conn.execute("SELECT current_user").fetchone()[0] != "livepanty_app"


def test_client_refuses_other_sources() -> None:
    with pytest.raises(TypeError):
        Client(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AsyncClient(object())  # type: ignore[arg-type]


# --- pools --------------------------------------------------------------------------------------------------


def test_sync_pool(db_url: str) -> None:
    with ConnectionPool(db_url, min_size=1, max_size=2, open=True) as pool:
        client = Client(pool, role="livepanty_app")
        user = register(client, "pooled")
        session = client.login("pooled", PASSWORD)
        with client.session(session.token) as tx:
            assert tx.get_user().id == user.id
            assert client.current_user_id() is None  # a one-shot call meanwhile uses another connection
        assert not pool.closed
    with Client(db_url) as direct, direct.acting_as(user.id, reason="test") as tx:
        assert tx.get_user().username == "pooled"


def test_async_pool(db_url: str) -> None:
    async def scenario() -> None:
        async with AsyncConnectionPool(db_url, min_size=1, max_size=2, open=False) as pool:
            client = AsyncClient(pool, role="livepanty_app")
            user = await client.register_user(
                email="apool@example.com", username="apool", password=PASSWORD, date_of_birth=ADULT
            )
            session = await client.login("apool", PASSWORD)
            async with client.session(session.token) as tx:
                assert (await tx.get_user()).id == user.id
                # one-shot calls meanwhile take the other pooled connection, one after another
                results = await asyncio.gather(*(client.authenticate(session.token) for _ in range(4)))
                assert {a.user_id for a in results} == {user.id}
            with pytest.raises(errors.WeakPassword):
                await client.register_user(
                    email="weak@example.com",
                    username="weakling",
                    password="abc",
                    date_of_birth=ADULT,
                )

    asyncio.run(scenario())
