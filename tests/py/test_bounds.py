"""Every api function, from the catalog (so functions added later are covered too), called with extreme
arguments by a caller who may call it: the answer is success or a catalogued refusal, never an uncatalogued
error such as 22003 (bigint out of range) from arithmetic deep inside.

* every ``bigint`` / ``integer`` / ``smallint`` argument gets 2^63-1, -2^63, 2^62 and 2^31-1 (those its
  type can hold; a value the type cannot hold is refused by PostgreSQL before the function runs); an
  argument that is an amount of tokens or a price (its name says ``amount``, ``tokens`` or ``price``) must
  refuse every value beyond money.max_tokens (prices: money.max_price_minor) with LP103 exactly;
* every ``text`` / ``jsonb`` argument gets 1 MiB (a JSON object holding 1 MiB for jsonb): it must be refused
  (stored free-form input is bounded: lp.check_text, api.login's device_info, ...).

The other arguments get plausible values (a real open hold, a performer, a viewer, a fresh idempotency key,
...) so the calls reach the checks; tests/sql/test_bounds.sql shows the reported paths one by one.
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
from psycopg.types.json import Jsonb

from livepanty_db import Client, errors

PASSWORD = "Correct-Horse-42"
ADULT = date(1990, 5, 17)

#: What may come back besides success: the catalogue (LP199 is "a bug, never an input problem", so not that),
#: a role without EXECUTE (42501) and PostgreSQL's own refusal of malformed input (22P02).
ACCEPTED = ({code for code in errors.ERRORS_BY_CODE if code.startswith("LP")} - {"LP199"}) | {
    "42501",
    "22P02",
}

EXTREMES = {
    "bigint": [2**63 - 1, -(2**63), 2**62, 2**31 - 1],
    "integer": [2**31 - 1, -(2**31)],
    "smallint": [2**15 - 1, -(2**15)],
}
#: Database roles in the order a caller is chosen: the first one granted EXECUTE on the function.
DB_ROLES = ("livepanty_app", "livepanty_service", "livepanty_mailer")
#: Who acts for a function (default: the admin ada): the user whom its arguments below suit.
ACTOR = {
    "tip": "vic",
    "place_hold": "vic",
    "set_spending_limit": "vic",
    "list_holds": "vic",
    "list_tips": "vic",
    "list_payments": "vic",
    "wallet_history": "vic",
    "create_payment": "vic",
    "update_preferences": "vic",
    "change_password": "vic",
    "submit_kyc": "pam",
    "capture_hold": "pam",
    "request_payout": "pam",
    "list_payouts": "pam",
    "set_menu_item": "pam",
    "add_tip_goal": "pam",
    "set_show_price": "pam",
    "offer_show": "pam",
    "answer_show": "pam",
    "start_show": "pam",
    "request_show": "vic",
    "join_show": "vic",
    "leave_show": "vic",
}
MIB = 1024 * 1024


@dataclass
class World:
    dsn: str
    ids: dict[str, uuid.UUID]
    hold_id: uuid.UUID
    max_tokens: int  #: money.max_tokens
    max_price: int  #: money.max_price_minor


@pytest.fixture(scope="module")
def world(pg_server: Any, template_db: str) -> Iterator[World]:
    """ada and abe (admins), vic (viewer with 100000 tokens, a daily limit and an open hold of 500 for pam),
    pam (performer). Module-scoped: every call below is rolled back."""
    with pg_server.database(template=template_db) as dsn:
        ids: dict[str, uuid.UUID] = {}
        with Client(dsn) as dba:
            for name in ("ada", "abe"):
                ids[name] = dba.create_admin(
                    email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth=ADULT
                ).id
            for name, role in (("vic", "viewer"), ("pam", "performer")):
                ids[name] = dba.register_user(
                    email=f"{name}@example.com",
                    username=name,
                    password=PASSWORD,
                    date_of_birth=ADULT,
                    role=role,
                ).id
            with dba.acting_as(ids["abe"], reason="test setup") as tx:
                tx.adjust_balance(ids["vic"], 100_000, "test setup", idempotency_key="setup-vic")
        with psycopg.connect(dsn) as conn:  # pam's identity verification: the KYC gate of being paid
            conn.execute(
                "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
                " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
                " now() + interval '1 year')",
                [ids["pam"]],
            )
        with Client(dsn) as dba, dba.acting_as(ids["vic"], reason="test setup") as tx:
            tx.set_spending_limit("daily", 50_000)
            hold = tx.place_hold(ids["pam"], 500, idempotency_key="setup-hold")
        with psycopg.connect(dsn) as conn:
            bounds = dict(
                conn.execute(
                    "SELECT key, value::text::bigint FROM lp.settings WHERE key LIKE 'money.max\\_%'"
                )
            )
        yield World(dsn, ids, hold.id, bounds["money.max_tokens"], bounds["money.max_price_minor"])


def api_functions(dsn: str) -> list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
    """(name, required arguments, all arguments) of every api function; an argument is (name, type)."""
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
        arguments = list(zip(names[: len(types)], types, strict=True))
        functions.append((name, arguments[: len(types) - n_defaults], arguments))
    return functions


def plausible(name: str, type_: str, world: World) -> Any:
    """A value for an argument that lets the call reach its checks."""
    if type_ == "uuid":
        return {
            "p_hold_id": world.hold_id,
            "p_payee_id": world.ids["pam"],
            "p_recipient_id": world.ids["pam"],
            "p_user_id": world.ids["vic"],
        }.get(name, uuid.uuid4())
    if type_ in EXTREMES:
        return {"p_limit": 10, "p_attempt": 1, "p_chunk_wallets": 10}.get(name, 100)
    if type_ == "boolean":
        return False
    if type_ == "jsonb":
        return Jsonb({})
    if type_ == "date":
        return ADULT
    if type_ == "inet":
        return "203.0.113.9"
    if type_ == "interval":
        return "1 hour"
    if type_.startswith("timestamp"):
        return "2999-01-01T00:00:00Z"
    return {
        "p_email": "bounds@example.com",
        "p_username": "bounds_user",
        "p_login": "vic",
        "p_password": PASSWORD,
        "p_current_password": PASSWORD,
        "p_new_password": "Battery-Staple-77",
        "p_role": "viewer",
        "p_type": "warning",
        "p_token": "x" * 43,
        "p_idempotency_key": f"bounds-{uuid.uuid4()}",
        "p_method": "paypal",
        "p_period": "daily",
        "p_code": "bounds_bundle",
        "p_bundle_code": "small",
        "p_provider": "stripe",
        "p_key": "auth.lockout_minutes",
        "p_as": "holder",
        "p_purpose": "tip",
        "p_level": "identity",
        "p_document_type": "passport",
        "p_document_country": "DE",
        "p_document_front_url": "s3://kyc-docs/front.jpg",
    }.get(name, "bounds")


def call(world: World, function: str, arguments: dict[str, tuple[str, Any]]) -> str:
    """Call ``api.<function>`` with named arguments as its caller (see ACTOR, DB_ROLES), in a transaction that
    is rolled back; 'ok' or the SQLSTATE."""
    statement = pgsql.SQL("SELECT * FROM api.{}({})").format(
        pgsql.Identifier(function),
        pgsql.SQL(", ").join(
            pgsql.SQL("{} => ({})::{}").format(pgsql.Identifier(name), pgsql.Literal(value), pgsql.SQL(type_))
            for name, (type_, value) in arguments.items()
        ),
    )
    with psycopg.connect(world.dsn, prepare_threshold=None) as conn:
        signature = conn.execute(
            "SELECT p.oid FROM pg_proc AS p WHERE p.pronamespace = 'api'::regnamespace AND p.proname = %s",
            (function,),
        ).fetchone()[0]
        role = next(
            r
            for r in DB_ROLES
            if conn.execute(
                "SELECT to_regrole(%s) IS NOT NULL AND has_function_privilege(%s, %s, 'EXECUTE')",
                (r, r, signature),
            ).fetchone()[0]
        )
        if role != "livepanty_mailer":
            via = "session" if role == "livepanty_app" else "service"
            conn.execute("SELECT lp.set_identity(%s, NULL, %s)", (world.ids[ACTOR.get(function, "ada")], via))
        conn.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(role)))
        try:
            conn.execute(statement)
            return "ok"
        except psycopg.Error as exc:
            return exc.sqlstate or "?"
        finally:
            conn.rollback()


def test_extreme_integers_are_refused_with_catalogued_codes(world: World) -> None:
    failures: list[str] = []
    tried = 0
    for function, required, every in api_functions(world.dsn):
        for name, type_ in every:
            if type_ not in EXTREMES:
                continue
            for value in EXTREMES[type_]:
                arguments = {n: (t, plausible(n, t, world)) for n, t in required}
                arguments[name] = (type_, value)
                got = call(world, function, arguments)
                tried += 1
                label = f"api.{function}({name} => {value})"
                if got != "ok" and got not in ACCEPTED:
                    failures.append(f"{label}: uncatalogued {got}")
                bound = world.max_price if "price" in name else world.max_tokens
                amount = any(word in name for word in ("amount", "tokens", "price"))
                if amount and abs(value) > bound and got != "LP103":
                    failures.append(
                        f"{label}: {got}, expected LP103 (beyond money.max_tokens / max_price_minor)"
                    )
    assert tried > 50, "the catalog query found almost no integer arguments"
    assert failures == [], "\n".join(failures)


def test_the_amount_functions_are_all_covered(world: World) -> None:
    """The amount rule above is not vacuous: these functions take amounts and were reached."""
    names = {
        function
        for function, _, every in api_functions(world.dsn)
        for name, type_ in every
        if type_ in EXTREMES and any(word in name for word in ("amount", "tokens", "price"))
    }
    assert {
        "adjust_balance",
        "capture_hold",
        "place_hold",
        "request_payout",
        "set_bundle",
        "set_spending_limit",
        "tip",
    } <= names


def test_a_mebibyte_of_text_or_json_is_refused(world: World) -> None:
    """No text or jsonb argument takes 1 MiB: checked with a caller who may call the function."""
    failures: list[str] = []
    for function, required, every in api_functions(world.dsn):
        for name, type_ in every:
            if type_ not in ("text", "jsonb"):
                continue
            huge: Any = "x" * MIB if type_ == "text" else Jsonb({"blob": "x" * MIB})
            arguments = {n: (t, plausible(n, t, world)) for n, t in required}
            arguments[name] = (type_, huge)
            got = call(world, function, arguments)
            if got == "ok":
                failures.append(f"api.{function}({name} => 1 MiB {type_}): accepted")
            elif got not in ACCEPTED:
                failures.append(f"api.{function}({name} => 1 MiB {type_}): uncatalogued {got}")
    assert failures == [], "\n".join(failures)


def test_the_plausible_arguments_reach_the_functions(world: World) -> None:
    """Guards the two tests above: with ordinary values the money calls succeed (so the extremes were refused
    by the bounds, not by a wrong hold id or caller)."""
    for function, amount in (
        ("tip", "p_amount"),
        ("place_hold", "p_amount"),
        ("capture_hold", "p_amount"),
        ("adjust_balance", "p_amount"),
        ("set_bundle", "p_tokens"),
        ("set_spending_limit", "p_limit_tokens"),
    ):
        required = next(r for f, r, _ in api_functions(world.dsn) if f == function)
        arguments = {n: (t, plausible(n, t, world)) for n, t in required}
        arguments[amount] = ("bigint", 100)
        assert call(world, function, arguments) == "ok", function
    login = {
        "p_login": ("text", "vic"),
        "p_password": ("text", PASSWORD),
        "p_device_info": ("jsonb", Jsonb({})),
    }
    assert call(world, "login", login) == "ok"
