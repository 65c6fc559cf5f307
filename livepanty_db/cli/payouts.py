"""``livepanty-db payouts``: performers' cash-outs (operator tool).

``request`` and ``cancel`` act as the performer, ``approve`` / ``reject`` / ``list`` as an admin (``--as``);
``send``, ``mark-paid`` and ``mark-failed`` are the payout processor's (livepanty_service, nobody acting):
``send`` claims an approved payout right before its transfer is released (the gates of that moment), then
``mark-paid`` or ``mark-failed`` records what became of the transfer. Every transition is idempotent per
``--key`` (a new key is printed on stderr when none is given).
"""

from __future__ import annotations

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    as_option,
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
from livepanty_db.models import Payout

PAYOUT_TABLE = [
    "id",
    "user_id",
    "tokens",
    "amount_minor",
    "currency",
    "method",
    "status",
    "reviewed_by_label",
    "provider_reference",
    "created_at",
]


@click.group("payouts")
def command() -> None:
    """Payouts: request, review (admins), send, mark paid or failed (livepanty_service)."""


def _done(payout: Payout) -> None:
    emit_models([payout], Payout, PAYOUT_TABLE)
    note(f"payout {payout.id}: {payout.tokens} tokens, {payout.status}")


@command.command("request")
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The performer."
)
@click.option("--tokens", type=int, required=True, help="Tokens to cash out (payable earnings only).")
@click.option("--method", type=Vocabulary("payout_method"), required=True, help="How to pay.")
@key_option
@click.pass_context
@catalogued_errors
def request(ctx: click.Context, as_login: str, tokens: int, method: str, key: str | None) -> None:
    """Request a payout as the --as performer (approved KYC needed; tokens go to payout clearing;
    api.request_payout)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        payout = tx.request_payout(tokens=tokens, method=method, idempotency_key=key)
    _done(payout)


@command.command("cancel")
@click.argument("payout_id", type=UUID_TYPE)
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The performer."
)
@key_option
@click.pass_context
@catalogued_errors
def cancel(ctx: click.Context, payout_id: str, as_login: str, key: str | None) -> None:
    """Withdraw the --as performer's own payout while it is still requested (api.cancel_payout)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        payout = tx.cancel_payout(payout_id=payout_id, idempotency_key=key)
    _done(payout)


@command.command("approve")
@click.argument("payout_id", type=UUID_TYPE)
@key_option
@as_option
@click.pass_context
@catalogued_errors
def approve(ctx: click.Context, payout_id: str, key: str | None, as_login: str) -> None:
    """Approve PAYOUT_ID for payment (admins; api.approve_payout)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        payout = tx.approve_payout(payout_id=payout_id, idempotency_key=key)
    _done(payout)


@command.command("reject")
@click.argument("payout_id", type=UUID_TYPE)
@click.option("--reason", required=True, help="Why (shown to the performer).")
@key_option
@as_option
@click.pass_context
@catalogued_errors
def reject(ctx: click.Context, payout_id: str, reason: str, key: str | None, as_login: str) -> None:
    """Reject PAYOUT_ID (admins): its tokens return to the performer (api.reject_payout)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        payout = tx.reject_payout(payout_id=payout_id, reason=reason, idempotency_key=key)
    _done(payout)


@command.command("send")
@click.argument("payout_id", type=UUID_TYPE)
@key_option
@click.pass_context
@catalogued_errors
def send(ctx: click.Context, payout_id: str, key: str | None) -> None:
    """Claim approved PAYOUT_ID right before releasing its transfer: the gates of the moment, then status
    sending until mark-paid or mark-failed (livepanty_service; api.send_payout)."""
    key = idempotency_key(key)
    payout = service_client(ctx).send_payout(payout_id=payout_id, idempotency_key=key)
    _done(payout)


@command.command("mark-paid")
@click.argument("payout_id", type=UUID_TYPE)
@click.option("--reference", required=True, help="The payment provider's reference.")
@key_option
@click.pass_context
@catalogued_errors
def mark_paid(ctx: click.Context, payout_id: str, reference: str, key: str | None) -> None:
    """Record that sending (or approved) PAYOUT_ID was paid: its tokens leave circulation (livepanty_service;
    api.mark_payout_paid)."""
    key = idempotency_key(key)
    payout = service_client(ctx).mark_payout_paid(
        payout_id=payout_id, provider_reference=reference, idempotency_key=key
    )
    _done(payout)


@command.command("mark-failed")
@click.argument("payout_id", type=UUID_TYPE)
@click.option("--reason", required=True, help="Why paying failed.")
@key_option
@click.pass_context
@catalogued_errors
def mark_failed(ctx: click.Context, payout_id: str, reason: str, key: str | None) -> None:
    """Paying sending or approved PAYOUT_ID failed: its tokens return to the performer (livepanty_service;
    api.mark_payout_failed)."""
    key = idempotency_key(key)
    payout = service_client(ctx).mark_payout_failed(payout_id=payout_id, reason=reason, idempotency_key=key)
    _done(payout)


@command.command("list")
@click.option(
    "--user", "user", metavar="LOGIN_OR_ID", default=None, help="Whose payouts (default: everyone's)."
)
@click.option("--status", type=Vocabulary("payout_status"), default=None, help="Only payouts in this state.")
@click.option(
    "--after", metavar="PAYOUT_ID", type=UUID_TYPE, default=None, help="Last id of the previous page."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@as_option
@click.pass_context
@catalogued_errors
def list_(
    ctx: click.Context, user: str | None, status: str | None, after: str | None, limit: int, as_login: str
) -> None:
    """Payouts, newest first: everyone's or --user's (admins; others see only their own; api.list_payouts)."""
    user_id = resolve_login(operator_client(ctx), user, "--user") if user is not None else None
    with acting(ctx, as_login) as tx:
        payouts = tx.list_payouts(user_id=user_id, status=status, after=after, limit=limit)
    emit_models(payouts, Payout, PAYOUT_TABLE)
