"""``livepanty-db wallets``: a user's wallet, its ledger entries, and admin adjustments (operator tool).

``show`` and ``history`` act as the user whose wallet is read (they read their own), or as the admin given
with ``--as``. ``adjust`` is an admin's correcting transfer (``api.adjust_balance``): acting as the admin
named by ``--as``, idempotent per ``--key`` (a new key is printed on stderr when none is given).
"""

from __future__ import annotations

import click

from livepanty_db.cli.common import (
    acting,
    acting_for,
    as_option,
    catalogued_errors,
    emit_models,
    idempotency_key,
    key_option,
    operator_client,
    resolve_login,
    user_as_option,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import Adjustment, LedgerEntry, SpendingLimit, SpendingLimitStatus, Wallet

WALLET_TABLE = [
    "user_id",
    "balance",
    "pending_credits",
    "total",
    "reserved",
    "available",
    "in_debt",
    "currency",
]
ENTRY_TABLE = [
    "id",
    "created_at",
    "shard",
    "amount",
    "balance_before",
    "balance_after",
    "entry_kind",
    "reference_type",
    "reference_id",
]
ADJUSTMENT_TABLE = ["id", "user_id", "amount", "reason", "created_by_label", "created_at"]


@click.group("wallets")
def command() -> None:
    """Wallets: balances, ledger entries, admin adjustments."""


@command.command("show")
@click.argument("user")
@user_as_option
@click.pass_context
@catalogued_errors
def show(ctx: click.Context, user: str, as_login: str | None) -> None:
    """Show USER's wallet (username, e-mail or id): balance, credits in shards, reserved, available
    (api.get_wallet)."""
    with acting_for(ctx, as_login, user) as (tx, user_id):
        wallet = tx.get_wallet(user_id=user_id)
    emit_models([wallet], Wallet, WALLET_TABLE)


@command.command("history")
@click.argument("user")
@click.option(
    "--before", "before_id", type=int, default=None, metavar="ID", help="Entries older than this id."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..500).")
@user_as_option
@click.pass_context
@catalogued_errors
def history(ctx: click.Context, user: str, before_id: int | None, limit: int, as_login: str | None) -> None:
    """USER's ledger entries, newest first (keyset pagination: --before the smallest id shown;
    api.wallet_history)."""
    with acting_for(ctx, as_login, user) as (tx, user_id):
        entries = tx.wallet_history(user_id=user_id, before_id=before_id, limit=limit)
    emit_models(entries, LedgerEntry, ENTRY_TABLE)
    if len(entries) == limit:
        note(f"more: --before {entries[-1].id}")


@command.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("user")
@click.argument("amount", type=int)
@click.option(
    "--reason", required=True, help="Why (mandatory; kept with the adjustment and in the audit log)."
)
@key_option
@as_option
@click.pass_context
@catalogued_errors
def adjust(ctx: click.Context, user: str, amount: int, reason: str, key: str | None, as_login: str) -> None:
    """Credit (AMOUNT > 0) or debit (AMOUNT < 0) USER's wallet against the adjustments wallet (admins;
    api.adjust_balance).

    A negative AMOUNT may be written as is: `wallets adjust vera -50 --reason ...`.
    """
    user_id = resolve_login(operator_client(ctx), user, "USER")
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        adjustment = tx.adjust_balance(user_id=user_id, amount=amount, reason=reason, idempotency_key=key)
    emit_models([adjustment], Adjustment, ADJUSTMENT_TABLE)
    note(f"adjusted {user} by {adjustment.amount:+d} tokens (adjustment {adjustment.id})")


@command.command("limits")
@click.argument("user")
@click.pass_context
@catalogued_errors
def limits(ctx: click.Context, user: str) -> None:
    """USER's own spending limits as they stand now (username, e-mail or id): each period's cap, a pending
    raise and what remains in the window (api.get_spending_limits, acting as USER, audited as support)."""
    with acting(ctx, user) as tx:
        rows = tx.get_spending_limits()
    emit_models(rows, SpendingLimitStatus)


@command.command("set-limit")
@click.argument("user")
@click.argument("period", type=Vocabulary("limit_period"))
@click.argument("tokens", metavar="TOKENS|none")
@click.pass_context
@catalogued_errors
def set_limit(ctx: click.Context, user: str, period: str, tokens: str) -> None:
    """Set USER's cap for PERIOD to TOKENS, or remove it with `none`, on the user's request (the limit is the
    user's own: api.set_spending_limit acting as USER, audited as support). Lowering applies at once; a raise
    or removal waits limits.raise_cooldown_hours."""
    if tokens.lower() == "none":
        limit = None
    else:
        try:
            limit = int(tokens)
        except ValueError:
            raise click.BadParameter(f"{tokens!r} is neither a number of tokens nor 'none'") from None
    with acting(ctx, user) as tx:
        row = tx.set_spending_limit(period, limit)
    emit_models([row], SpendingLimit)
    if row.pending_effective_at is not None:
        when = f"{row.pending_effective_at:%Y-%m-%d %H:%M} UTC"
        note(f"the change waits for the cooling-off period: in force from {when}")
