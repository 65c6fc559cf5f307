"""``livepanty-db sessions``: list and revoke users' login sessions (operator tool, acting as an admin)."""

from __future__ import annotations

import click

from livepanty_db.cli.common import UUID_TYPE, emit_models
from livepanty_db.cli.output import emit, note
from livepanty_db.cli.users import acting, as_option, catalogued_errors, lookup_user
from livepanty_db.models import SessionInfo

SESSION_TABLE = [
    "id",
    "user_id",
    "ip_address",
    "user_agent",
    "created_at",
    "last_seen_at",
    "expires_at",
    "revoked_at",
    "is_current",
]


@click.group("sessions")
def command() -> None:
    """Login sessions (needs a DBA connection; acts as the admin given with --as)."""


@command.command("list")
@click.option("--user", "user", metavar="LOGIN_OR_ID", default=None, help="Whose sessions (default: --as).")
@click.option("--all", "include_ended", is_flag=True, help="Include revoked and expired sessions.")
@as_option
@click.pass_context
@catalogued_errors
def list_(ctx: click.Context, user: str | None, include_ended: bool, as_login: str) -> None:
    """List a user's sessions, newest first (live ones unless --all). Tokens are never shown
    (api.list_sessions)."""
    with acting(ctx, as_login) as tx:
        user_id = lookup_user(tx, user).id if user is not None else None
        sessions = tx.list_sessions(user_id, include_ended=include_ended)
    emit_models(sessions, SessionInfo, SESSION_TABLE)


@command.command("revoke")
@click.argument("session_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def revoke(ctx: click.Context, session_id: str, as_login: str) -> None:
    """Revoke the session SESSION_ID (api.revoke_session)."""
    with acting(ctx, as_login) as tx:
        session = tx.revoke_session(session_id)
    emit_models([session], SessionInfo, SESSION_TABLE)
    note(f"revoked session {session.id} of user {session.user_id}")


@command.command("revoke-all")
@click.option("--user", "user", metavar="LOGIN_OR_ID", required=True, help="Whose sessions.")
@as_option
@click.pass_context
@catalogued_errors
def revoke_all(ctx: click.Context, user: str, as_login: str) -> None:
    """Revoke every live session of a user (api.revoke_all_sessions)."""
    with acting(ctx, as_login) as tx:
        target = lookup_user(tx, user)
        count = tx.revoke_all_sessions(target.id)
    emit([{"user_id": str(target.id), "username": target.username, "revoked": count}])
    note(f"revoked {count} session(s) of {target.username}")
