"""An attacker who holds only the application's database login (a LOGIN role that is a member of
``livepanty_app`` and nothing else) tries every way to act as another user, and finds none.

The attacker may do what a logged-out visitor can: register, log in with a correct password, ask for a
reset e-mail. Everything else needs a valid session token of the user (``api.authenticate``) or the
back-office login (``livepanty_service``, ``api.act_as``). Covered here:

* claims of an identity: ``set_config('lp.user_id', ...)`` local and session level, ``SET``, a connection
  option, a proof copied to session level, a proof stolen from another backend's transaction, authenticate as
  oneself then switch user or session, the internal helpers called directly, the back office's role and
  ``api.act_as``;
* stolen tokens: expired, revoked, of a deleted user;
* the access matrix: every ``api`` function in the catalog (so every function added later too) is called as
  the attacker with no identity, with each forged identity, and with a real session of each platform role,
  and its gate must answer as :data:`GATES` says. A function missing from :data:`GATES` fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

from livepanty_db import Client

PASSWORD = "Correct-Horse-42"
ADULT = date(1990, 5, 17)

#: SQLSTATEs that mean "the gate refused": nobody acting, wrong platform role, unproven identity, no grant.
DENIED = {"LP001", "LP002", "LP005", "42501"}

#: Who gets through each api function's gate when called by the application role:
#: ``anyone`` (no identity needed), ``user`` (any platform user acting), ``staff`` (moderators and admins),
#: ``admin``, ``service`` (granted to livepanty_service only: the application role never gets in), ``mailer``
#: (granted to livepanty_mailer only: the application role never gets in), ``compliance`` (platform role
#: compliance_officer only: every account of the matrix is refused).
#: Every function in schema api must be listed (test_every_function_has_a_gate).
GATES: dict[str, str] = {
    # identity: what a logged-out visitor can do
    "register_user": "anyone",
    "login": "anyone",
    "authenticate": "anyone",
    "request_password_reset": "anyone",
    "reset_password": "anyone",
    "current_user_id": "anyone",
    # reads that answer nothing (an empty result, not an error) when nobody acts
    "public_profile": "anyone",
    "stream_stats": "anyone",
    "count_guest": "anyone",  # guest mode: counts a visitor, records nothing
    # any acting user
    "change_password": "user",
    "get_preferences": "user",
    "update_preferences": "user",
    "get_user": "user",
    "delete_user": "user",
    "list_sessions": "user",
    "revoke_session": "user",
    "revoke_all_sessions": "user",
    "get_wallet": "user",
    "wallet_history": "user",
    "balance_at": "user",
    "earnings_summary": "user",
    "list_tips": "user",
    "tip": "user",
    "tip_many": "anyone",  # each tip carries its own session token (LP023 per tip without one)
    "place_hold": "user",
    "get_hold": "user",
    "capture_hold": "user",
    "release_hold": "user",
    "list_holds": "user",
    "get_spending_limits": "user",
    "get_fraud_limits": "user",
    "set_spending_limit": "user",
    "list_bundles": "user",
    "create_payment": "user",
    "get_payment": "user",
    "list_payments": "user",
    "submit_kyc": "user",
    "get_kyc_status": "user",
    "request_payout": "user",
    "cancel_payout": "user",
    "list_payouts": "user",
    "end_stream": "user",  # the host, or an admin
    "get_stream": "user",
    "join_stream": "user",
    "list_live_streams": "user",
    "list_performer_streams": "user",
    "stream_top_tippers": "user",
    "list_menu": "user",
    "stream_goals": "user",
    "cancel_tip_goal": "user",  # the host, or an admin
    "request_show": "user",
    "join_show": "user",
    "leave_show": "user",
    "end_show": "user",  # the host, or an admin
    "stream_shows": "user",
    "performer_top_tippers": "user",
    "stream_events": "user",
    "stream_channel": "user",
    "heartbeat_stream": "user",
    "leave_stream": "user",
    "list_stream_viewers": "user",  # the host or staff (LP002 otherwise, after the stream is found)
    # performers
    "schedule_stream": "performer",
    "update_stream": "performer",
    "add_stream_performer": "performer",
    "remove_stream_performer": "performer",
    "consent_to_stream": "performer",
    "start_stream": "performer",
    "rotate_stream_key": "performer",
    "block_viewer": "performer",
    "set_menu_item": "performer",
    "set_show_price": "performer",
    "offer_show": "performer",  # the host of the stream
    "answer_show": "performer",  # the host of the show
    "start_show": "performer",  # the host of the show
    "add_tip_goal": "performer",  # the host of the stream
    "unblock_viewer": "performer",
    # staff
    "find_user": "staff",
    "list_users": "staff",
    "sanction_user": "staff",
    "revoke_sanction": "staff",
    # sanctions and appeals (issue 9, section 3): the sanctioned user appeals and reads their own; another
    # moderator decides; the back office runs the expiry job
    "appeal_sanction": "user",
    "my_sanctions": "user",
    "list_appeals": "staff",
    "decide_appeal": "staff",
    "expire_sanctions": "service",
    # reports and the review queue (issue 9, section 2): any user reports and reads the decisions about them;
    # staff work the queue; the back office runs the SLA job and the detectors raise flags
    "report": "user",
    "my_case_decisions": "user",
    "claim_case": "staff",
    "extend_case_claim": "staff",
    "release_case": "staff",
    "resolve_case": "staff",
    "review_queue": "staff",
    "detector_precision": "staff",
    "escalate_cases": "service",
    "raise_flag": "service",
    # admins
    "set_user_role": "admin",
    "unlock_user": "admin",
    "refund_show": "admin",
    "adjust_balance": "admin",
    "approve_kyc": "admin",
    "override_kyc_decision": "admin",
    "allow_kyc_retry": "admin",
    "kyc_record": "compliance",
    "reject_kyc": "admin",
    "list_pending_kyc": "admin",
    "approve_payout": "admin",
    "reject_payout": "admin",
    "list_settings": "admin",
    "set_setting": "admin",
    "set_bundle": "admin",
    "verify_ledger": "admin",
    "ledger_totals": "admin",
    "ledger_stats": "admin",
    "ledger_periods": "admin",
    "verify_ledger_period": "admin",
    # the back office only
    "act_as": "service",
    "create_admin": "service",
    "complete_payment": "service",
    "fail_payment": "service",
    "refund_payment": "service",
    "chargeback_payment": "service",
    "send_payout": "service",
    "mark_payout_paid": "service",
    "mark_payout_failed": "service",
    "expire_holds": "service",
    "record_verify_run": "service",
    "record_metrics_sample": "service",
    "expire_kyc_approvals": "service",
    # KYC lifecycle (issue 9, section 1): provider webhooks from the back office, admins' overrides and
    # retries, the decrypted record for compliance officers only (no matrix account has that role)
    "apply_kyc_webhook": "service",
    "check_stream_key": "service",
    "sweep_viewers": "service",
    "settle_tip_goals": "service",
    "bill_shows": "service",
    "purge_stream_events": "service",
    "wake_stream_listeners": "service",
    "sweep_wallets": "service",
    "maintain_partitions": "service",
    "archive_prepare": "service",
    "partition_rows": "service",
    "archive_detach": "service",
    "restore_partition": "service",
    "list_archives": "service",
    # privacy (issue 9, section 5): the user's own erasure, an admin's, the back office's log, replay, purges
    "request_erasure": "user",
    "erase_user": "admin",
    "list_erasures": "service",
    "replay_erasure": "service",
    "purge_personal_data": "service",
    # the e-mail delivery service only (the outbox holds reset tokens)
    "claim_messages": "mailer",
    "mark_message_sent": "mailer",
    "mark_message_failed": "mailer",
}

ROLES = ("viewer", "performer", "moderator", "admin")
PASSES = {
    "anyone": set(ROLES),
    "user": set(ROLES),
    "performer": {"performer"},
    "staff": {"moderator", "admin"},
    "admin": {"admin"},
    "service": set(),
    "mailer": set(),
    "compliance": set(),
}


# --- the world ----------------------------------------------------------------------------------------------


@dataclass
class World:
    dsn: str  #: the superuser's DSN of the test database
    attacker_dsn: str  #: the attacker's login: a member of livepanty_app only
    ids: dict[str, uuid.UUID]  #: platform role (and "mallory", the attacker's own account) -> user id
    tokens: dict[str, str]  #: the same -> a live session token


@pytest.fixture
def world(db_url: str, seed: Any) -> Iterator[World]:
    login = f"lp_attacker_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE livepanty_app").format(pgsql.Identifier(login)))
    ids: dict[str, uuid.UUID] = {}
    with Client(db_url) as dba:
        for name in ("viewer", "performer", "moderator", "mallory"):
            ids[name] = dba.register_user(
                email=f"{name}@example.com",
                username=f"{name}_u",
                password=PASSWORD,
                date_of_birth=ADULT,
                role="performer" if name == "performer" else "viewer",
            ).id
        ids["admin"] = dba.create_admin(
            email="admin@example.com", username="admin_u", password=PASSWORD, date_of_birth=ADULT
        ).id
        with dba.acting_as(ids["admin"], reason="test setup") as tx:
            tx.set_user_role(ids["moderator"], "moderator")
        seed.approve_kyc(ids["performer"])  # the KYC gate of being paid
        tokens = {name: dba.login(f"{name}_u", PASSWORD).token for name in ids}
    try:
        yield World(db_url, make_conninfo(db_url, user=login), ids, tokens)
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(login)))
            conn.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(login)))


def attacker(world: World, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection of the attacker's login (autocommit off: every block below is one transaction)."""
    return psycopg.connect(world.attacker_dsn, prepare_threshold=None, **kwargs)


def sqlstate(conn: psycopg.Connection[Any], query: str, params: Any = None) -> str:
    """Run ``query`` in a savepoint; 'ok' or the SQLSTATE it raised."""
    try:
        with conn.transaction():
            conn.execute(query, params)
        return "ok"
    except psycopg.Error as exc:
        return exc.sqlstate or "?"


def money(world: World) -> tuple[Any, ...]:
    """What an attack must not change: balances, ledger size, roles, KYC, payouts, audit of money actions."""
    with psycopg.connect(world.dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT string_agg(w.user_id || ':' || w.balance || '/' || w.reserved, ','"
            "                          ORDER BY w.user_id)"
            "          FROM lp.wallets AS w WHERE w.user_id IS NOT NULL),"
            "       (SELECT count(*) FROM lp.ledger),"
            "       (SELECT string_agg(u.id || ':' || u.role || ':' || (u.deleted_at IS NULL), ','"
            "                          ORDER BY u.id)"
            "          FROM lp.users AS u),"
            "       (SELECT count(*) FROM lp.kyc_verifications), (SELECT count(*) FROM lp.payouts),"
            "       (SELECT count(*) FROM lp.user_sanctions),"
            "       (SELECT string_agg(s.key || '=' || s.value, ',' ORDER BY s.key) FROM lp.settings AS s)"
        ).fetchone()
    assert row is not None
    return tuple(row)


# --- claims of an identity ----------------------------------------------------------------------------------

#: A call an admin could make that would move tokens and leave a trace: +1,000,000 tokens to mallory.
ADJUST = (
    "SELECT api.adjust_balance(p_user_id => %s, p_amount => 1000000, p_reason => 'x',"
    " p_idempotency_key => %s)"
)


def test_the_attacker_login_is_only_an_application_login(world: World) -> None:
    with attacker(world) as conn:
        assert conn.execute("SELECT pg_has_role('livepanty_app', 'MEMBER')").fetchone() == (True,)
        for role in ("livepanty_service", "livepanty_owner", "livepanty_readonly"):
            assert conn.execute("SELECT pg_has_role(%s, 'MEMBER')", (role,)).fetchone() == (False,), role
        for role in ("livepanty_service", "livepanty_owner", "postgres"):
            assert (
                sqlstate(conn, pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(role)).as_string(conn))
                == "42501"
            )


def test_claimed_identity_is_refused_in_every_form(world: World) -> None:
    admin = str(world.ids["admin"])
    before = money(world)
    with attacker(world) as conn:
        conn.autocommit = True
        # local claim
        assert (
            sqlstate(conn, f"SELECT set_config('lp.user_id', '{admin}', true), api.current_user_id()")
            == "LP005"
        )
        # session-level claim, by set_config and by SET: every later transaction is refused, not ignored
        conn.execute("SELECT set_config('lp.user_id', %s, false)", (admin,))
        assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"
        assert sqlstate(conn, ADJUST, (world.ids["mallory"], str(uuid.uuid4()))) == "LP005"
        conn.execute(f"SET lp.user_id = '{admin}'")
        assert sqlstate(conn, "SELECT * FROM api.list_users()") == "LP005"
        # a proof guessed along with the claim
        conn.execute("SET lp.identity_proof = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='")
        conn.execute("SET lp.acting_via = 'service'")
        assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"
        # the table and the view read through RLS refuse as well (the policies call api.current_user_id)
        assert sqlstate(conn, "SELECT * FROM lp.wallets") == "LP005"
        assert sqlstate(conn, "SELECT * FROM api.user_summary") == "LP005"
    # a connection option
    with attacker(world, options=f"-c lp.user_id={admin}", autocommit=True) as conn:
        assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"
        assert sqlstate(conn, ADJUST, (world.ids["mallory"], str(uuid.uuid4()))) == "LP005"
    assert money(world) == before


def test_authenticating_as_oneself_then_switching_is_refused(world: World) -> None:
    before = money(world)
    with attacker(world) as conn:
        conn.autocommit = True
        steps = {
            "switch user": [f"SELECT set_config('lp.user_id', '{world.ids['admin']}', true)"],
            "switch session": ["SELECT set_config('lp.session_id', gen_random_uuid()::text, true)"],
            "claim the back office": ["SELECT set_config('lp.acting_via', 'service', true)"],
            "move the proof to session level, then next transaction": [
                "SELECT set_config(k, current_setting(k), false)"
                "  FROM unnest(ARRAY['lp.user_id', 'lp.session_id',"
                " 'lp.acting_via', 'lp.identity_proof']) AS k",
                "COMMIT",
                "BEGIN",
            ],
        }
        for label, statements in steps.items():
            conn.execute("BEGIN")
            conn.execute("SELECT api.authenticate(%s)", (world.tokens["mallory"],))
            assert conn.execute("SELECT api.current_user_id()").fetchone() == (world.ids["mallory"],)
            for statement in statements:
                conn.execute(statement)
            try:
                conn.execute("SELECT api.current_user_id()")
                outcome = "ok"
            except psycopg.Error as exc:
                outcome = exc.sqlstate or "?"
            conn.execute("ROLLBACK")
            assert outcome == "LP005", label
            conn.execute("RESET ALL")
    assert money(world) == before


@pytest.mark.parametrize(
    "setting",
    [
        "extra_float_digits = -15",
        "extra_float_digits = 3",
        "DateStyle = 'SQL, DMY'",
        "TimeZone = 'Pacific/Chatham'",
    ],
)
def test_a_proof_kept_at_session_level_dies_with_its_transaction_whatever_the_settings(
    world: World, setting: str
) -> None:
    """The proof binds the transaction's start to the microsecond, printed the same under any session setting.

    With the start as a float printed per extra_float_digits, -15 printed every transaction of a backend as
    '2e+09', so a proof copied to session level stayed valid in every later transaction of that backend.
    """
    with attacker(world, autocommit=True) as conn:
        conn.execute(f"SET {setting}")
        conn.execute("BEGIN")
        conn.execute("SELECT api.authenticate(%s)", (world.tokens["mallory"],))
        conn.execute(
            "SELECT set_config(k, current_setting(k), false)"
            "  FROM unnest(ARRAY['lp.user_id', 'lp.session_id', 'lp.acting_via', 'lp.identity_proof']) AS k"
        )
        conn.execute("COMMIT")
        for _ in range(3):
            assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"
            assert sqlstate(conn, "SELECT * FROM api.get_wallet()") == "LP005"


def test_a_proof_copied_to_session_level_lives_no_longer_than_its_query_message(world: World) -> None:
    """The known limit of the proof (docs/api.md, "How the proof works"): it binds the backend and the
    transaction's start time, and PostgreSQL gives every transaction of one multi-statement query message the
    start time of the message. A proof copied to session level therefore still proves the identity in a later
    transaction of the same message (as if the message were one transaction: an identity outlives a
    revocation of its session until its transaction ends), and in no transaction of a later message."""
    token = world.tokens["mallory"]
    copy = (
        "SELECT set_config(k, current_setting(k), false)"
        " FROM unnest(ARRAY['lp.user_id', 'lp.session_id', 'lp.acting_via', 'lp.identity_proof']) AS k"
    )
    with attacker(world, autocommit=True) as conn:
        # One message (the simple query protocol: no parameters), three transactions.
        cur = conn.execute(
            f"BEGIN; SELECT api.authenticate('{token}'); {copy}; COMMIT;"
            " BEGIN; SELECT 1; COMMIT; SELECT api.current_user_id()"
        )
        while cur.nextset():  # to the last statement's result
            pass
        assert cur.fetchone() == (world.ids["mallory"],)
        # The next message: a new start time, the copied proof proves nothing.
        assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"
        assert sqlstate(conn, "SELECT * FROM api.get_wallet()") == "LP005"


def test_a_proof_stolen_from_another_transaction_is_worthless(world: World) -> None:
    """Even the exact values an admin's transaction holds (user, session, proof) prove nothing elsewhere."""
    with psycopg.connect(world.dsn) as admin_conn:
        admin_conn.execute("SET LOCAL ROLE livepanty_app")
        admin_conn.execute("SELECT api.authenticate(%s)", (world.tokens["admin"],))
        stolen = admin_conn.execute(
            "SELECT k, current_setting(k) FROM unnest(ARRAY['lp.user_id', 'lp.session_id', 'lp.acting_via',"
            " 'lp.identity_proof']) AS k"
        ).fetchall()
        assert admin_conn.execute("SELECT api.current_user_id()").fetchone() == (world.ids["admin"],)
        # while the admin's transaction is still open, on another backend:
        with attacker(world) as conn:
            for key, value in stolen:
                conn.execute("SELECT set_config(%s, %s, true)", (key, value))
            assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"
            assert sqlstate(conn, ADJUST, (world.ids["mallory"], str(uuid.uuid4()))) == "LP005"
        admin_conn.rollback()
    # and on the same backend, in the next transaction (what a pooler would do)
    with psycopg.connect(world.dsn) as conn:
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute("SELECT api.authenticate(%s)", (world.tokens["admin"],))
        stolen = conn.execute(
            "SELECT k, current_setting(k) FROM unnest(ARRAY['lp.user_id', 'lp.session_id', 'lp.acting_via',"
            " 'lp.identity_proof']) AS k"
        ).fetchall()
        conn.commit()
        conn.execute("SET LOCAL ROLE livepanty_app")
        for key, value in stolen:
            conn.execute("SELECT set_config(%s, %s, true)", (key, value))
        assert sqlstate(conn, "SELECT api.current_user_id()") == "LP005"


def test_the_owner_helpers_and_keys_are_out_of_reach(world: World) -> None:
    with attacker(world) as conn:
        conn.autocommit = True
        for query in (
            "SELECT * FROM lp.secrets",
            f"SELECT lp.set_identity('{world.ids['admin']}', NULL, 'service')",
            f"SELECT lp.identity_proof('{world.ids['admin']}', '', 'service', 'k'::bytea)",
            f"SELECT api.act_as('{world.ids['admin']}', 'I say so')",
            "SELECT api.create_admin('evil@example.com', 'evil', 'Correct-Horse-42', DATE '1990-01-01')",
        ):
            assert sqlstate(conn, query) == "42501", query


@pytest.mark.parametrize("how", ["expired", "revoked", "user deleted", "password reset", "malformed"])
def test_stolen_dead_tokens_do_not_authenticate(world: World, how: str) -> None:
    victim = world.ids["viewer"]
    token = world.tokens["viewer"]
    with psycopg.connect(world.dsn, autocommit=True) as dba:
        if how == "expired":
            dba.execute(
                "UPDATE lp.auth_sessions SET created_at = now() - interval '2 hours',"
                " last_seen_at = now() - interval '2 hours',"
                " expires_at = now() - interval '1 second' WHERE user_id = %s",
                (victim,),
            )
        elif how == "revoked":
            with Client(world.dsn, role="livepanty_app") as app, app.session(token) as tx:
                tx.revoke_session()
        elif how == "user deleted":
            with Client(world.dsn, role="livepanty_app") as app, app.session(token) as tx:
                tx.delete_user()
        elif how == "password reset":
            dba.execute(
                "UPDATE lp.auth_sessions SET revoked_at = now(), revoke_reason = 'password_reset'"
                " WHERE user_id = %s",
                (victim,),
            )
        else:
            token = token[:-1] + ("A" if token[-1] != "A" else "B")
    before = money(world)
    with attacker(world) as conn:
        assert sqlstate(conn, "SELECT api.authenticate(%s)", (token,)) == "LP023"
        assert sqlstate(conn, "SELECT api.current_user_id()") == "ok"
        assert conn.execute("SELECT api.current_user_id()").fetchone() == (None,)
    assert money(world) == before


def test_a_real_session_acts_as_its_own_user_only(world: World) -> None:
    """The positive control: the attacker's own session works, for the attacker only."""
    with attacker(world) as conn:
        conn.execute("SELECT api.authenticate(%s)", (world.tokens["mallory"],))
        assert conn.execute("SELECT api.current_user_id()").fetchone() == (world.ids["mallory"],)
        assert conn.execute("SELECT count(*) FROM api.user_summary").fetchone() == (1,)
        assert sqlstate(conn, ADJUST, (world.ids["mallory"], str(uuid.uuid4()))) == "LP002"
        assert sqlstate(conn, "SELECT api.set_user_role(%s, 'admin')", (world.ids["mallory"],)) == "LP002"


@pytest.mark.parametrize(
    "held",
    [
        "SELECT api.login('performer_u', 'wrong password')",
        "SELECT api.request_password_reset('performer@example.com')",
    ],
)
def test_a_login_attempt_held_open_does_not_block_money_to_its_user(world: World, held: str) -> None:
    """Anyone may try a login or ask for a reset; holding that transaction open must not stop the user's tips.

    Those calls lock the user's row to count the attempt. FOR UPDATE there conflicted with the key-share lock
    that every tip's foreign key takes on its recipient, so one open attempt froze all tips to a performer.
    """
    with Client(world.dsn) as dba, dba.acting_as(world.ids["admin"], reason="test funds") as tx:
        tx.adjust_balance(world.ids["viewer"], 1_000, reason="test funds", idempotency_key=str(uuid.uuid4()))
    with attacker(world) as conn:
        conn.execute(held)  # and the transaction stays open
        with psycopg.connect(world.dsn) as viewer:
            viewer.execute("SET LOCAL ROLE livepanty_app")
            viewer.execute("SET LOCAL lock_timeout = '2s'")
            viewer.execute("SELECT api.authenticate(%s)", (world.tokens["viewer"],))
            row = viewer.execute(
                "SELECT amount FROM api.tip(p_recipient_id => %s, p_amount => 100, p_idempotency_key => %s)",
                (world.ids["performer"], str(uuid.uuid4())),
            ).fetchone()
        assert row == (100,)
        conn.rollback()


def test_a_claimed_back_office_marker_does_not_reach_the_audit_log(world: World) -> None:
    """'acting_via: service' in an audit row means api.act_as acted; the setting alone does not write it."""
    with attacker(world) as conn:
        conn.execute("SET LOCAL lp.acting_via = 'service'")
        conn.execute("SELECT api.login('viewer_u', %s)", (PASSWORD,))
        conn.commit()
    with psycopg.connect(world.dsn) as dba:
        details = dba.execute(
            "SELECT details FROM lp.audit_logs WHERE actor_id = %s AND action LIKE '%%login%%'"
            " ORDER BY id DESC LIMIT 1",
            (world.ids["viewer"],),
        ).fetchone()
    assert details is not None
    assert "acting_via" not in details[0]
    # the positive control: the world's set-up made the moderator through api.act_as as the admin: marked
    with psycopg.connect(world.dsn) as dba:
        marked = dba.execute(
            "SELECT details ->> 'acting_via' FROM lp.audit_logs WHERE actor_id = %s AND target_id = %s",
            (world.ids["admin"], str(world.ids["moderator"])),
        ).fetchall()
    assert marked == [("service",)]


# --- the access matrix ------------------------------------------------------------------------------------


def _api_functions(dsn: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every function in schema api with its required input arguments (name, type)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT p.proname, coalesce(p.proargnames, '{}'), p.pronargdefaults,
                   ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) AS t)
              FROM pg_proc AS p
             WHERE p.pronamespace = 'api'::regnamespace AND p.prokind = 'f'
             ORDER BY p.proname
            """
        ).fetchall()
    functions = []
    for name, names, n_defaults, types in rows:
        required = len(types) - n_defaults
        functions.append((name, list(zip(names[:required], types[:required], strict=True))))
    return functions


def _argument(name: str, type_: str, world: World) -> str:
    """A plausible value for a required argument, so that a call reaches the function's gate."""
    if type_ == "uuid":
        return (
            f"'{world.ids['performer']}'::uuid"
            if name in ("p_recipient_id", "p_payee_id", "p_user_id")
            else "gen_random_uuid()"
        )
    if type_ in ("bigint", "integer", "smallint", "numeric"):
        return f"100::{type_}"
    if type_ == "boolean":
        return "false"
    if type_ == "jsonb":
        return "'{}'::jsonb"
    if type_ == "date":
        return "DATE '1990-01-01'"
    if type_ == "inet":
        return "'203.0.113.9'::inet"
    if type_ == "interval":
        return "interval '1 hour'"
    if type_.startswith("timestamp"):
        return "now()"
    if type_ == "text[]":
        return "'{}'::text[]"
    text = {
        "p_email": "matrix@example.com",
        "p_username": "matrix_user",
        "p_login": "matrix_user",
        "p_password": "Correct-Horse-42",
        "p_new_password": "Battery-Staple-77",
        "p_current_password": "Correct-Horse-42",
        "p_role": "viewer",
        "p_type": "warning",
        "p_token": "x" * 43,
    }.get(name, "matrix")
    return f"'{text}'::{type_}"


def _call(function: str, arguments: list[tuple[str, str]], world: World) -> str:
    args = ", ".join(f"{name} => {_argument(name, type_, world)}" for name, type_ in arguments)
    return f"SELECT * FROM api.{function}({args})"


def _outcome(conn: psycopg.Connection[Any], setup: list[str], query: str) -> str:
    conn.execute("BEGIN")
    try:
        for statement in setup:
            conn.execute(statement)
        conn.execute(query)
        return "ok"
    except psycopg.Error as exc:
        return exc.sqlstate or "?"
    finally:
        conn.execute("ROLLBACK")


def test_every_function_has_a_gate(world: World) -> None:
    names = {name for name, _ in _api_functions(world.dsn)}
    assert names - GATES.keys() == set(), "api functions with no entry in GATES"
    assert GATES.keys() - names == set(), "GATES names functions that do not exist"


def test_access_matrix(world: World) -> None:
    """Every api function, as the attacker's login: no identity, forged identities, and a real session of
    each platform role. Forging never gets further than no identity; each role passes exactly its gates."""
    admin = world.ids["admin"]
    forged = {
        "claimed (local)": [f"SELECT set_config('lp.user_id', '{admin}', true)"],
        "claimed with a made-up proof": [
            f"SELECT set_config('lp.user_id', '{admin}', true)",
            "SELECT set_config('lp.acting_via', 'service', true)",
            "SELECT set_config('lp.identity_proof', encode(sha256(random()::text::bytea), 'base64'), true)",
        ],
        "own session, then switched": [
            f"SELECT api.authenticate('{world.tokens['mallory']}')",
            f"SELECT set_config('lp.user_id', '{admin}', true)",
        ],
    }
    before = money(world)
    failures: list[str] = []
    with (
        attacker(world, autocommit=True) as conn,
        attacker(world, autocommit=True, options=f"-c lp.user_id={admin}") as session_level,
    ):
        for function, arguments in _api_functions(world.dsn):
            gate = GATES[function]
            query = _call(function, arguments, world)
            nobody = _outcome(conn, [], query)
            if gate == "anyone":
                if nobody in DENIED:
                    failures.append(f"{function}: nobody acting got {nobody}, expected to pass")
            elif nobody not in DENIED:
                failures.append(f"{function}: nobody acting got {nobody}, expected a refusal")
            claims = {label: _outcome(conn, setup, query) for label, setup in forged.items()}
            claims["session-level (connection option)"] = _outcome(session_level, [], query)
            for label, outcome in claims.items():
                if outcome not in ("LP005", nobody):
                    failures.append(f"{function}: {label} got {outcome}; nobody acting got {nobody}")
            for role in ROLES:
                outcome = _outcome(conn, [f"SELECT api.authenticate('{world.tokens[role]}')"], query)
                expected_pass = role in PASSES[gate]
                if expected_pass and outcome in DENIED:
                    failures.append(f"{function}: {role} got {outcome}, expected to pass")
                if not expected_pass and outcome not in DENIED:
                    failures.append(f"{function}: {role} got {outcome}, expected a refusal")
    assert failures == [], "\n".join(failures)
    assert money(world) == before
