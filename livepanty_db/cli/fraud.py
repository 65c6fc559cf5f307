"""``livepanty-db fraud``: the fraud controls on money (docs/trust-and-safety.md, "Fraud controls on money").

``limits`` shows where a user stands: new account or not, the new-account caps in force and what is used of
them today, the velocity thresholds and this hour's count (``api.get_fraud_limits``). The settings themselves
(``fraud.*``) are changed with ``livepanty-db config set``.
"""

from __future__ import annotations

import click

from livepanty_db.cli.common import acting_for, catalogued_errors, emit_models, user_as_option
from livepanty_db.models import FraudLimit

LIMIT_TABLE = [
    "kind", "new_account", "verified_payment", "new_account_until", "max_tokens", "daily_tokens",
    "tokens_today", "per_hour", "this_hour",
]  # fmt: skip


@click.group("fraud")
def command() -> None:
    """Fraud controls on money: new-account caps, velocity rules (moderators, admins, the user)."""


@command.command("limits")
@click.argument("user")
@user_as_option
@click.pass_context
@catalogued_errors
def limits(ctx: click.Context, user: str, as_login: str | None) -> None:
    """The fraud controls on USER's tips and purchases now, as --as (a moderator or admin), else as USER
    (api.get_fraud_limits)."""
    with acting_for(ctx, as_login, user) as (tx, user_id):
        rows = tx.get_fraud_limits(user_id)
    emit_models(rows, FraudLimit, LIMIT_TABLE)
