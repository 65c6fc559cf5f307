"""``livepanty-db sanctions``: issue, lift and read sanctions, run the expiry job (docs/trust-and-safety.md).

``issue`` and ``revoke`` act as a moderator or admin (``--as``); ``list`` reads a user's own sanctions as that
user (or ``--as`` someone else acting for them); ``expire`` is the back-office job (livepanty_service) that
sends ended review-on-expiry suspensions back to the review queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    acting_for,
    as_option,
    catalogued_errors,
    emit_models,
    operator_client,
    resolve_login,
    service_client,
    user_as_option,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import MySanction, Sanction

SANCTION_TABLE = [
    "id", "user_id", "sanction_type", "reason", "starts_at", "ends_at", "review_on_expiry", "revoked_at",
    "issued_by_label",
]  # fmt: skip
MY_SANCTION_TABLE = [
    "sanction_id", "sanction_type", "reason", "in_force", "forbids", "ends_at", "appealable_until",
    "appeal_status", "decision_reasons",
]  # fmt: skip


@click.group("sanctions")
def command() -> None:
    """Sanctions: issue, revoke, a user's list, the expiry job."""


def _done(sanction: Sanction, verb: str) -> None:
    emit_models([sanction], Sanction, SANCTION_TABLE)
    until = f" until {sanction.ends_at:%Y-%m-%d %H:%M:%S %Z}" if sanction.ends_at else ""
    note(f"sanction {sanction.id}: {sanction.sanction_type}{until} {verb}")


@command.command("issue")
@click.argument("user")
@click.option("--type", "sanction_type", type=Vocabulary("sanction_type"), required=True, help="Its type.")
@click.option("--reason", required=True, help="Why (the user reads it).")
@click.option("--hours", type=float, default=None, help="How long it lasts (required for a suspension).")
@click.option(
    "--report", "report_id", metavar="REPORT_ID", type=UUID_TYPE, default=None, help="The report it answers."
)
@click.option(
    "--review-on-expiry", is_flag=True, help="A suspension: send the account back to review when it ends."
)
@as_option
@click.pass_context
@catalogued_errors
def issue(
    ctx: click.Context,
    user: str,
    sanction_type: str,
    reason: str,
    hours: float | None,
    report_id: str | None,
    review_on_expiry: bool,
    as_login: str,
) -> None:
    """Sanction USER (login or id) as the --as moderator or admin (api.sanction_user)."""
    user_id = resolve_login(operator_client(ctx), user, "USER")
    ends_at = datetime.now(UTC) + timedelta(hours=hours) if hours is not None else None
    with acting(ctx, as_login) as tx:
        sanction = tx.sanction_user(
            user_id,
            sanction_type,
            reason,
            ends_at=ends_at,
            report_id=report_id,
            review_on_expiry=review_on_expiry,
        )
    _done(sanction, "issued")


@command.command("revoke")
@click.argument("sanction_id", type=UUID_TYPE)
@click.option("--reason", required=True, help="Why it is lifted.")
@as_option
@click.pass_context
@catalogued_errors
def revoke(ctx: click.Context, sanction_id: str, reason: str, as_login: str) -> None:
    """Lift SANCTION_ID early as the --as moderator or admin (api.revoke_sanction)."""
    with acting(ctx, as_login) as tx:
        sanction = tx.revoke_sanction(sanction_id, reason)
    _done(sanction, "revoked")


@command.command("list")
@click.argument("user", required=False)
@click.option("--all", "include_past", is_flag=True, help="Also the ended, lifted and decided ones.")
@user_as_option
@click.pass_context
@catalogued_errors
def list_(ctx: click.Context, user: str | None, include_past: bool, as_login: str | None) -> None:
    """USER's sanctions as USER reads them: what each forbids, until when it may be appealed, its appeal
    (api.my_sanctions)."""
    with acting_for(ctx, as_login, user) as (tx, _user_id):
        rows = tx.my_sanctions(include_past=include_past)
    emit_models(rows, MySanction, MY_SANCTION_TABLE)


@command.command("expire")
@click.option("--limit", type=int, default=100, show_default=True, help="Most sanctions per run (1..10000).")
@click.pass_context
@catalogued_errors
def expire(ctx: click.Context, limit: int) -> None:
    """Job: ended review-on-expiry suspensions go back to the review queue, each once (livepanty_service;
    api.expire_sanctions)."""
    handled = service_client(ctx).expire_sanctions(limit=limit)
    note(f"{handled} suspension(s) sent back to review")
    click.echo(str(handled))
