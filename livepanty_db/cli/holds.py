"""``livepanty-db holds``: reservations of a viewer's balance for a performer (operator tool).

``place`` and ``list`` act as a platform user; ``capture``, ``release`` and ``expire`` (the same as
``jobs expire-holds``) are the back office's (livepanty_service, nobody acting), as per-minute billing will
do. Money operations are idempotent per ``--key`` (a new key is printed on stderr when none is given).
"""

from __future__ import annotations

from datetime import timedelta

import click

from livepanty_db.cli import jobs
from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    catalogued_errors,
    emit_models,
    idempotency_key,
    key_option,
    operator_client,
    resolve_login,
    service_client,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import Hold, HoldCapture

HOLD_TABLE = [
    "id",
    "user_id",
    "payee_id",
    "purpose",
    "amount",
    "captured",
    "status",
    "expires_at",
    "closed_at",
]
CAPTURE_TABLE = ["id", "hold_id", "amount", "fee_amount", "transaction_id", "created_at"]


@click.group("holds")
def command() -> None:
    """Holds: reserve, capture, release, expire."""


@command.command("place")
@click.option("--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The holder.")
@click.option("--payee", metavar="LOGIN_OR_ID", required=True, help="The performer the tokens are held for.")
@click.option("--amount", type=int, required=True, help="Tokens to reserve.")
@click.option(
    "--minutes", type=int, default=None, help="Lifetime in minutes (default and maximum: holds.max_minutes)."
)
@click.option("--purpose", type=Vocabulary("hold_purpose"), default="private_show", show_default=True)
@click.option(
    "--stream", "stream_id", metavar="STREAM_ID", type=UUID_TYPE, default=None, help="The stream it is for."
)
@key_option
@click.pass_context
@catalogued_errors
def place(
    ctx: click.Context,
    as_login: str,
    payee: str,
    amount: int,
    minutes: int | None,
    purpose: str,
    stream_id: str | None,
    key: str | None,
) -> None:
    """Reserve --amount of the --as user's available balance for --payee (api.place_hold)."""
    payee_id = resolve_login(operator_client(ctx), payee, "--payee")
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        hold = tx.place_hold(
            payee_id=payee_id,
            amount=amount,
            idempotency_key=key,
            purpose=purpose,
            expires_in=timedelta(minutes=minutes) if minutes is not None else None,
            stream_id=stream_id,
        )
    emit_models([hold], Hold, HOLD_TABLE)
    note(f"hold {hold.id}: {hold.amount} tokens reserved until {hold.expires_at:%Y-%m-%d %H:%M:%S %Z}")


@command.command("capture")
@click.argument("hold_id", type=UUID_TYPE)
@click.option(
    "--amount", type=int, required=True, help="Tokens to take (at most what the hold still reserves)."
)
@key_option
@click.pass_context
@catalogued_errors
def capture(ctx: click.Context, hold_id: str, amount: int, key: str | None) -> None:
    """Pay --amount of HOLD_ID to its payee, fee to the platform (livepanty_service; api.capture_hold)."""
    key = idempotency_key(key)
    captured = service_client(ctx).capture_hold(hold_id=hold_id, amount=amount, idempotency_key=key)
    emit_models([captured], HoldCapture, CAPTURE_TABLE)
    note(f"captured {captured.amount} tokens of hold {captured.hold_id} (fee {captured.fee_amount})")


@command.command("release")
@click.argument("hold_id", type=UUID_TYPE)
@key_option
@click.pass_context
@catalogued_errors
def release(ctx: click.Context, hold_id: str, key: str | None) -> None:
    """End HOLD_ID: what it still reserves becomes available again (livepanty_service; api.release_hold)."""
    key = idempotency_key(key)
    hold = service_client(ctx).release_hold(hold_id=hold_id, idempotency_key=key)
    emit_models([hold], Hold, HOLD_TABLE)
    note(f"hold {hold.id} {hold.status}: {hold.amount - hold.captured} tokens available again")


@command.command("list")
@click.option("--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="Whose holds.")
@click.option(
    "--payee", "as_payee", is_flag=True, help="Holds for the --as user (default: holds they placed)."
)
@click.option("--status", type=Vocabulary("hold_status"), default=None, help="Only holds in this state.")
@click.option(
    "--after", metavar="HOLD_ID", type=UUID_TYPE, default=None, help="Last id of the previous page."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@click.pass_context
@catalogued_errors
def list_(
    ctx: click.Context, as_login: str, as_payee: bool, status: str | None, after: str | None, limit: int
) -> None:
    """The --as user's holds, newest first (past-due ones are expired on the way; api.list_holds)."""
    with acting(ctx, as_login) as tx:
        holds = tx.list_holds(as_="payee" if as_payee else "holder", status=status, after=after, limit=limit)
    emit_models(holds, Hold, HOLD_TABLE)


#: ``holds expire`` is ``jobs expire-holds`` (api.expire_holds as livepanty_service), under the holds too.
command.add_command(jobs.expire_holds, "expire")
