"""``livepanty-db users``: create, show, list, re-role and delete platform users (operator tool).

The operator commands (``users``, ``admin``, ``sessions``) need a DBA connection (``--dsn``; the embedded
cluster's superuser by default): they call the SQL API as the connection's role. Functions that need an
acting platform user (listing users, changing roles, revoking sessions, ...) run in one transaction acting
as the admin or moderator named by ``--as LOGIN`` (a username, e-mail address or user id; ``$LIVEPANTY_AS``),
and the API decides what that user may do. Refused calls print ``error [CODE]: message`` (docs/errors.md) on
stderr and exit with status 1; usage errors exit with status 2.

The helpers the operator modules share live in :mod:`livepanty_db.cli.common`; the password and date of birth
options, used by ``admin create`` too, stay here.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    as_option,
    catalogued_errors,
    emit_models,
    emit_plain,
    emit_records,
    lookup_user,
    operator_client,
    password_stdin_option,
    read_password,
    service_client,
)
from livepanty_db.cli.output import confirm, note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import UserAccount

USER_COLUMNS = [f.name for f in dataclasses.fields(UserAccount)]
#: ``users list`` in a table: the columns that matter (--wide, json, csv: every field).
USER_TABLE = ["id", "username", "display_name", "role", "email", "created_at", "last_login_at", "deleted_at"]

# --- shared by the users and admin commands -----------------------------------------------------------------


dob_option = click.option(
    "--dob",
    "date_of_birth",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Date of birth.",
)


def as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


# --- users --------------------------------------------------------------------------------------------------


@click.group("users")
def command() -> None:
    """Platform users (needs a DBA connection; see `--as` on the commands)."""


@command.command("create")
@click.option("--email", required=True, help="E-mail address (login).")
@click.option("--username", required=True, help="Public handle (login).")
@dob_option
@click.option("--role", type=Vocabulary("user_role"), default="viewer", show_default=True)
@click.option("--display-name", default=None, help="Shown name (optional).")
@click.option("--country", "country_code", default=None, metavar="CC", help="ISO 3166-1 alpha-2 country.")
@password_stdin_option
@click.pass_context
@catalogued_errors
def create(
    ctx: click.Context,
    email: str,
    username: str,
    date_of_birth: datetime,
    role: str,
    display_name: str | None,
    country_code: str | None,
    password_stdin: bool,
) -> None:
    """Register a viewer or performer (api.register_user). The password is prompted for (twice)."""
    password = read_password(password_stdin)
    user = operator_client(ctx).register_user(
        email=email,
        username=username,
        password=password,
        date_of_birth=as_date(date_of_birth),
        role=role,
        display_name=display_name,
        country_code=country_code,
    )
    emit_records([user], USER_COLUMNS)
    note(f"created {user.role} {user.username} ({user.id})")


@command.command("show")
@click.argument("user")
@as_option
@click.pass_context
@catalogued_errors
def show(ctx: click.Context, user: str, as_login: str) -> None:
    """Show USER (username, e-mail or id), with the login lockout (locked_until, failed_login_count) when the
    --as user is staff."""
    with acting(ctx, as_login) as tx:
        account = lookup_user(tx, user)
        # Through row level security as the acting user: staff see any lockout, a user their own.
        lockout = tx.fetch(
            "SELECT locked_until, failed_login_count FROM lp.users WHERE id = %(id)s", {"id": account.id}
        )
    row = {col: getattr(account, col) for col in USER_COLUMNS}
    if lockout:
        row["locked_until"], row["failed_login_count"] = lockout[0]
    emit_plain([row], [*USER_COLUMNS, *(["locked_until", "failed_login_count"] if lockout else [])])


@command.command("unlock")
@click.argument("user")
@click.option("--reason", required=True, help="Why (e.g. the support ticket); audited.")
@as_option
@click.pass_context
@catalogued_errors
def unlock(ctx: click.Context, user: str, reason: str, as_login: str) -> None:
    """Lift the lockout of USER (username, e-mail or id) that too many failed logins caused (admins;
    api.unlock_user)."""
    with acting(ctx, as_login) as tx:
        account = tx.unlock_user(lookup_user(tx, user).id, reason)
    emit_records([account], USER_COLUMNS)
    note(f"unlocked {account.username}")


@command.command("send-reset")
@click.argument("user")
@as_option
@click.pass_context
@catalogued_errors
def send_reset(ctx: click.Context, user: str, as_login: str) -> None:
    """Send USER (username, e-mail or id) a password reset e-mail (api.request_password_reset: the token goes
    to the mailer only, never to the operator)."""
    with acting(ctx, as_login) as tx:
        account = lookup_user(tx, user)
    service_client(ctx).request_password_reset(account.email)
    note(f"a password reset e-mail for {account.username} is queued for the mailer")


@command.command("list")
@click.option("--role", type=Vocabulary("user_role"), default=None, help="Only users with this role.")
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@click.option(
    "--after", metavar="USER_ID", type=UUID_TYPE, default=None, help="Last id of the previous page."
)
@click.option("--include-deleted", is_flag=True, help="Also list deleted users.")
@as_option
@click.pass_context
@catalogued_errors
def list_(
    ctx: click.Context, role: str | None, limit: int, after: str | None, include_deleted: bool, as_login: str
) -> None:
    """List users in registration order (keyset pagination with --after; api.list_users)."""
    with acting(ctx, as_login) as tx:
        users = tx.list_users(role=role, after=after, limit=limit, include_deleted=include_deleted)
    emit_models(users, UserAccount, USER_TABLE)


@command.command("set-role")
@click.argument("user")
@click.argument("role", type=Vocabulary("user_role"))
@as_option
@click.pass_context
@catalogued_errors
def set_role(ctx: click.Context, user: str, role: str, as_login: str) -> None:
    """Give USER (username, e-mail or id) the platform ROLE (admins only; api.set_user_role)."""
    with acting(ctx, as_login) as tx:
        account = tx.set_user_role(lookup_user(tx, user).id, role)
    emit_records([account], USER_COLUMNS)
    note(f"{account.username} is now {account.role}")


@command.command("delete")
@click.argument("user")
@click.option("--reason", default=None, help="Why (kept in the audit log).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@as_option
@click.pass_context
@catalogued_errors
def delete(ctx: click.Context, user: str, reason: str | None, yes: bool, as_login: str) -> None:
    """Soft-delete USER (username, e-mail or id); sessions and reset tokens are revoked, history stays
    (api.delete_user)."""
    with acting(ctx, as_login) as tx:
        target = lookup_user(tx, user)
    if not yes:  # asked outside any transaction
        confirm(f"Delete user {target.username} ({target.id})?")
    with acting(ctx, as_login) as tx:
        account = tx.delete_user(target.id, reason=reason)
    emit_records([account], USER_COLUMNS)
    note(f"deleted {account.username}")
