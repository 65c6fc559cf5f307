"""``livepanty-db payments``: token purchases (operator tool).

``list`` and ``create`` act as a platform user. The provider's answers (``complete``, ``fail``) and the
reversals (``refund``, ``chargeback``) are the back office's: they run as ``livepanty_service`` with nobody
acting, idempotent per ``--key`` (a new key is printed on stderr when none is given).
"""

from __future__ import annotations

from collections.abc import Callable

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    F,
    acting,
    acting_for,
    catalogued_errors,
    emit_models,
    idempotency_key,
    key_option,
    service_client,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import Bundle, Payment

PAYMENT_TABLE = [
    "id",
    "user_id",
    "bundle_code",
    "tokens",
    "amount_minor",
    "currency",
    "status",
    "provider",
    "provider_reference",
    "created_at",
]


@click.group("payments")
def command() -> None:
    """Token purchases: bundles on sale, list, create, the provider's outcomes (as livepanty_service)."""


@command.command("list")
@click.option("--user", "user", metavar="LOGIN_OR_ID", default=None, help="Whose payments.")
@click.option(
    "--status", type=Vocabulary("payment_status"), default=None, help="Only payments in this state."
)
@click.option(
    "--after", metavar="PAYMENT_ID", type=UUID_TYPE, default=None, help="Last id of the previous page."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@click.option(
    "--as",
    "as_login",
    metavar="LOGIN",
    envvar="LIVEPANTY_AS",
    default=None,
    help="Act as this user; an admin sees everyone's payments (default: $LIVEPANTY_AS, else --user).",
)
@click.pass_context
@catalogued_errors
def list_(
    ctx: click.Context,
    user: str | None,
    status: str | None,
    after: str | None,
    limit: int,
    as_login: str | None,
) -> None:
    """Payments, newest first: --user's (acting as them, or as --as), or everyone's for an admin --as
    (api.list_payments)."""
    with acting_for(ctx, as_login, user, "--user") as (tx, user_id):
        payments = tx.list_payments(user_id=user_id, status=status, after=after, limit=limit)
    emit_models(payments, Payment, PAYMENT_TABLE)


@command.command("create")
@click.option("--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The buyer.")
@click.option("--bundle", "bundle_code", required=True, metavar="CODE", help="Token bundle on sale.")
@click.option("--provider", default="manual", show_default=True, help="Payment provider (lower-case name).")
@key_option
@click.pass_context
@catalogued_errors
def create(ctx: click.Context, as_login: str, bundle_code: str, provider: str, key: str | None) -> None:
    """Start a purchase of a bundle for the --as user: a pending payment (api.create_payment)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        payment = tx.create_payment(bundle_code=bundle_code, provider=provider, idempotency_key=key)
    emit_models([payment], Payment, PAYMENT_TABLE)
    note(f"payment {payment.id}: {payment.tokens} tokens, {payment.status}")


@command.command("bundles")
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The buyer (or an admin)."
)
@click.pass_context
@catalogued_errors
def bundles(ctx: click.Context, as_login: str) -> None:
    """The token bundles on sale to the --as user, smallest first; an admin sees every bundle, inactive ones
    too (api.list_bundles)."""
    with acting(ctx, as_login) as tx:
        rows = tx.list_bundles()
    emit_models(rows, Bundle, ["code", "tokens", "price_minor", "currency", "active"])


def _reason_option(required: bool) -> Callable[[F], F]:
    return click.option("--reason", required=required, default=None, help="Why (kept with the payment).")


@command.command("complete")
@click.argument("payment_id", type=UUID_TYPE)
@click.option("--reference", required=True, help="The provider's reference of the payment.")
@key_option
@click.pass_context
@catalogued_errors
def complete(ctx: click.Context, payment_id: str, reference: str, key: str | None) -> None:
    """The provider confirmed PAYMENT_ID: credit its tokens (livepanty_service; api.complete_payment)."""
    key = idempotency_key(key)
    payment = service_client(ctx).complete_payment(
        payment_id=payment_id, provider_reference=reference, idempotency_key=key
    )
    emit_models([payment], Payment, PAYMENT_TABLE)
    note(f"payment {payment.id} {payment.status}: {payment.tokens} tokens credited")


@command.command("fail")
@click.argument("payment_id", type=UUID_TYPE)
@_reason_option(required=False)
@key_option
@click.pass_context
@catalogued_errors
def fail(ctx: click.Context, payment_id: str, reason: str | None, key: str | None) -> None:
    """The provider declined PAYMENT_ID (no token moves; livepanty_service; api.fail_payment)."""
    key = idempotency_key(key)
    payment = service_client(ctx).fail_payment(payment_id=payment_id, reason=reason, idempotency_key=key)
    emit_models([payment], Payment, PAYMENT_TABLE)
    note(f"payment {payment.id} {payment.status}")


@command.command("refund")
@click.argument("payment_id", type=UUID_TYPE)
@_reason_option(required=True)
@key_option
@click.pass_context
@catalogued_errors
def refund(ctx: click.Context, payment_id: str, reason: str, key: str | None) -> None:
    """Refund completed PAYMENT_ID: tokens clawed back per refunds.shortfall_policy (livepanty_service;
    api.refund_payment)."""
    key = idempotency_key(key)
    payment = service_client(ctx).refund_payment(payment_id=payment_id, reason=reason, idempotency_key=key)
    emit_models([payment], Payment, [*PAYMENT_TABLE, "recovered_tokens", "written_off_tokens", "debt_tokens"])
    note(f"payment {payment.id} {payment.status}")


@command.command("chargeback")
@click.argument("payment_id", type=UUID_TYPE)
@_reason_option(required=True)
@key_option
@click.pass_context
@catalogued_errors
def chargeback(ctx: click.Context, payment_id: str, reason: str, key: str | None) -> None:
    """Record a chargeback of completed PAYMENT_ID: clawback, buyer flagged for review (livepanty_service;
    api.chargeback_payment)."""
    key = idempotency_key(key)
    payment = service_client(ctx).chargeback_payment(
        payment_id=payment_id, reason=reason, idempotency_key=key
    )
    emit_models([payment], Payment, [*PAYMENT_TABLE, "recovered_tokens", "written_off_tokens", "debt_tokens"])
    note(f"payment {payment.id} {payment.status}")
