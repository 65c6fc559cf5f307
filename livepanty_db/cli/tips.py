"""``livepanty-db tips``: send a tip as a user, list the tips a user sent or received (operator tool)."""

from __future__ import annotations

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    catalogued_errors,
    emit_models,
    idempotency_key,
    key_option,
    operator_client,
    resolve_login,
)
from livepanty_db.cli.output import note
from livepanty_db.models import Tip, TipListing

TIP_TABLE = [
    "id",
    "sender_id",
    "recipient_id",
    "amount",
    "fee_amount",
    "is_anonymous",
    "stream_id",
    "message",
    "status",
    "created_at",
]
LISTING_TABLE = [
    "id",
    "sender_id",
    "recipient_id",
    "amount",
    "fee_amount",
    "net_amount",
    "is_anonymous",
    "status",
    "created_at",
]


@click.group("tips")
def command() -> None:
    """Tips from viewers to performers."""


@command.command("send")
@click.option("--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The sender.")
@click.option("--to", "to", metavar="LOGIN_OR_ID", required=True, help="The performer tipped.")
@click.option("--amount", type=int, required=True, help="Tokens (tips.min_tokens..tips.max_tokens).")
@click.option(
    "--stream",
    "stream_id",
    metavar="STREAM_ID",
    type=UUID_TYPE,
    default=None,
    help="The performer's live stream.",
)
@click.option("--message", default=None, help="Shown with the tip (500 characters).")
@click.option("--anonymous", is_flag=True, help="Hide the sender from the performer and the public.")
@click.option(
    "--item",
    "menu_item_id",
    metavar="ITEM_ID",
    type=UUID_TYPE,
    default=None,
    help="Buy this item of the performer's menu.",
)
@key_option
@click.pass_context
@catalogued_errors
def send(
    ctx: click.Context,
    as_login: str,
    to: str,
    amount: int,
    stream_id: str | None,
    message: str | None,
    anonymous: bool,
    menu_item_id: str | None,
    key: str | None,
) -> None:
    """Tip a performer as the --as user (api.tip): the fee goes to the platform in the same transaction."""
    recipient_id = resolve_login(operator_client(ctx), to, "--to")
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        tip = tx.tip(
            recipient_id=recipient_id,
            amount=amount,
            idempotency_key=key,
            stream_id=stream_id,
            message=message,
            is_anonymous=anonymous,
            menu_item_id=menu_item_id,
        )
    emit_models([tip], Tip, TIP_TABLE)
    note(f"tipped {tip.amount} tokens (fee {tip.fee_amount}): tip {tip.id}")


@command.command("list")
@click.option("--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="Whose tips.")
@click.option("--received", is_flag=True, help="Tips received (default: tips sent).")
@click.option("--user", "user", metavar="LOGIN_OR_ID", default=None, help="Admins: another user's tips.")
@click.option("--after", metavar="TIP_ID", type=UUID_TYPE, default=None, help="Last id of the previous page.")
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@click.pass_context
@catalogued_errors
def list_(
    ctx: click.Context, as_login: str, received: bool, user: str | None, after: str | None, limit: int
) -> None:
    """Tips the --as user sent (or, with --received, received), newest first (api.list_tips)."""
    user_id = resolve_login(operator_client(ctx), user, "--user") if user is not None else None
    with acting(ctx, as_login) as tx:
        tips = tx.list_tips(
            as_="recipient" if received else "sender", user_id=user_id, after=after, limit=limit
        )
    emit_models(tips, TipListing, LISTING_TABLE)
