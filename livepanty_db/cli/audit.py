"""``livepanty-db audit``: read the audit trail (admins; through row level security, as the --as user)."""

from __future__ import annotations

from datetime import datetime

import click

from livepanty_db.cli.common import (
    acting,
    as_option,
    catalogued_errors,
    emit_plain,
    operator_client,
    resolve_login,
    uuid_or_none,
)

COLUMNS = [
    "id",
    "occurred_at",
    "actor",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "ip_address",
    "details",
]

QUERY = """
SELECT a.id, a.occurred_at, coalesce(u.username::text, a.actor_id::text) AS actor, a.actor_role, a.action,
       a.target_type, a.target_id, a.ip_address, a.details
  FROM lp.audit_logs AS a
  LEFT JOIN lp.users AS u ON u.id = a.actor_id
 WHERE (%(actor)s::uuid IS NULL OR a.actor_id = %(actor)s::uuid)
   AND (%(action)s::text IS NULL OR a.action LIKE %(action)s::text)
   AND (%(target_type)s::text IS NULL OR a.target_type = %(target_type)s::text)
   AND (%(target_id)s::text IS NULL OR a.target_id = %(target_id)s::text)
   AND (%(since)s::timestamptz IS NULL OR a.occurred_at >= %(since)s::timestamptz)
   AND (%(until)s::timestamptz IS NULL OR a.occurred_at < %(until)s::timestamptz)
   AND (%(before)s::bigint IS NULL OR a.id < %(before)s::bigint)
 ORDER BY a.id DESC
 LIMIT %(limit)s
"""


@click.command("audit")
@click.option("--actor", metavar="LOGIN", default=None, help="Only what this user (name, e-mail, id) did.")
@click.option("--action", default=None, help="Action, or a LIKE pattern (e.g. 'sanction.%', 'auth.login%').")
@click.option("--target-type", default=None, help="Kind of object acted on (user, session, payment, ...).")
@click.option("--target", "target_id", metavar="ID", default=None, help="Id of the object acted on.")
@click.option("--since", type=click.DateTime(), default=None, help="From this time (inclusive, UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Up to this time (exclusive, UTC).")
@click.option("--before", type=click.IntRange(min=1), default=None, help="Only entries older than this id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Page size.")
@as_option
@click.pass_context
@catalogued_errors
def command(
    ctx: click.Context,
    actor: str | None,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
    as_login: str,
) -> None:
    """The audit trail, newest first, filtered; page on with --before <last id>. Only admins read it (others
    get no rows: row level security). The actor is shown by username where the account still has one."""
    # A deleted or erased actor has no login any more: its id still selects its entries.
    actor_id = None
    if actor is not None:
        actor_id = uuid_or_none(actor) or resolve_login(operator_client(ctx), actor, "--actor")
    with acting(ctx, as_login) as tx:
        rows = tx.fetch(
            QUERY,
            {
                "actor": actor_id,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "since": since,
                "until": until,
                "before": before,
                "limit": limit,
            },
        )
    emit_plain([dict(zip(COLUMNS, row, strict=True)) for row in rows], COLUMNS)

