"""The demo run by ``make demo``: ``python -m livepanty_db.demo [DSN]``.

A short walk through the identity and access layer on a migrated database (the embedded cluster by
default): bootstrap an admin, register a viewer and a performer through the application role, log in,
act through a session, show a few refusals with their error codes, and print ``api.user_summary`` as the
viewer sees it (their own row) and as the admin sees it (everyone). Safe to run again: existing demo
accounts are reused.
"""

from __future__ import annotations

import secrets
import sys
from datetime import date
from typing import Any
from uuid import UUID

from tabulate import tabulate

from livepanty_db import config, migrate
from livepanty_db.client import Client
from livepanty_db.errors import EmailTaken, LivepantyError

APP_ROLE = "livepanty_app"
# Sample accounts on a local demo database only; the admin always gets a random password.
DEMO_PASSWORD = "demo-only pass 1"  # noqa: S105
ADMIN = {"email": "demo-admin@example.com", "username": "demo_admin", "date_of_birth": date(1985, 3, 14)}
SAMPLE_USERS = [
    {
        "email": "vera@example.com",
        "username": "vera_viewer",
        "role": "viewer",
        "date_of_birth": date(1994, 7, 2),
    },
    {
        "email": "paula@example.com",
        "username": "paula_performs",
        "role": "performer",
        "date_of_birth": date(1997, 11, 23),
        "display_name": "Paula",
    },
]


def _heading(text: str) -> None:
    print(f"\n== {text}")


def _table(rows: list[Any], columns: list[str]) -> None:
    print(tabulate([[getattr(row, c) for c in columns] for row in rows], headers=columns))


def _user_id(dba: Client, username: str) -> UUID:
    with dba.transaction() as tx:
        rows = tx.fetch(
            "SELECT id FROM lp.users WHERE username = %(u)s::ext.citext AND deleted_at IS NULL",
            {"u": username},
        )
    return rows[0][0]


def _admin_id(dba: Client) -> UUID:
    """The demo admin, created with a random password the first time (no default password anywhere)."""
    try:
        admin = dba.create_admin(password=secrets.token_urlsafe(18) + "!1", **ADMIN)
        print(f"created admin {admin.username} (random password; reset it with `livepanty-db` if needed)")
        return admin.id
    except EmailTaken:
        print(f"admin {ADMIN['username']} exists already")
        return _user_id(dba, ADMIN["username"])


def _register_samples(app: Client) -> None:
    for user in SAMPLE_USERS:
        try:
            account = app.register_user(password=DEMO_PASSWORD, **user)
            print(f"registered {account.role} {account.username}")
        except EmailTaken:
            print(f"{user['role']} {user['username']} exists already")


def _show_refusals(app: Client) -> None:
    _heading("refusals: each is a catalogued SQLSTATE and changes nothing")
    attempts = [
        (
            "register a 16-year-old",
            lambda: app.register_user(
                email="kid@example.com",
                username="kiddo",
                password=DEMO_PASSWORD,
                date_of_birth=date(date.today().year - 16, 1, 1),
            ),
        ),
        (
            "register with a weak password",
            lambda: app.register_user(
                email="weak@example.com",
                username="weakling",
                password="password",  # noqa: S106 (the point: a weak password is refused)
                date_of_birth=date(1990, 1, 1),
            ),
        ),
        ("log in with a wrong password", lambda: app.login("vera_viewer", "not the password 9")),
        ("log in as nobody", lambda: app.login("nobody@example.com", "whatever it is 1")),
    ]
    rows = []
    for label, attempt in attempts:
        try:
            attempt()
            rows.append([label, "accepted?!", ""])
        except LivepantyError as exc:
            rows.append([label, exc.sqlstate, type(exc).__name__])
    print(tabulate(rows, headers=["attempt", "sqlstate", "exception"]))


def run(dsn: str) -> None:
    _heading("migrations")
    print(tabulate([[s.id, s.state] for s in migrate.status(dsn)], headers=["migration", "state"]))

    with Client(dsn) as dba, Client(dsn, role=APP_ROLE) as app:
        _heading("accounts")
        admin_id = _admin_id(dba)
        _register_samples(app)

        _heading("vera logs in and acts through her session")
        session = app.login(
            "vera@example.com",
            DEMO_PASSWORD,
            ip_address="203.0.113.7",
            user_agent="demo/1.0",
            device_info={"device": "laptop"},
        )
        print(f"session {session.session_id} until {session.expires_at:%Y-%m-%d %H:%M} UTC")
        with app.session(session.token) as tx:
            prefs = tx.update_preferences(theme="dark", timezone="Europe/Berlin")
            print(f"preferences: theme={prefs.theme} timezone={prefs.timezone}")
            print("api.user_summary as vera sees it (row level security: only her own row):")
            _table(tx.user_summary(), ["username", "role", "balance", "available", "kyc_status"])
            tx.revoke_session()
        print("vera logged out (session revoked)")

        _show_refusals(app)

        with app.acting_as(admin_id) as tx:
            _heading("api.user_summary as the admin sees it")
            _table(
                tx.user_summary(), ["username", "role", "email", "balance", "available", "active_sanction"]
            )
            _heading("latest audit log entries (admins only)")
            rows = tx.fetch(
                "SELECT occurred_at, action, actor_role, target_type, details"
                "  FROM lp.audit_logs ORDER BY id DESC LIMIT 8"
            )
            print(
                tabulate(
                    [[f"{r[0]:%H:%M:%S}", *r[1:]] for r in rows],
                    headers=["time", "action", "actor role", "target", "details"],
                )
            )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        dsn = config.resolve_dsn(argv[0] if argv else None)
        run(dsn)
    except (migrate.MigrationError, LivepantyError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
