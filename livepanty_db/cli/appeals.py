"""``livepanty-db appeals``: appeals against sanctions (docs/trust-and-safety.md).

``file`` appeals as the sanctioned user (support filing it for them: the back office acts in their name, which
is how a suspended or banned user, who cannot log in, appeals); ``list`` and ``decide`` act as a moderator or
admin (``--as``), who may not decide an appeal of a sanction they issued.
"""

from __future__ import annotations

import click

from livepanty_db.cli.common import UUID_TYPE, acting, as_option, catalogued_errors, emit_models
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import AppealQueueEntry, SanctionAppeal

APPEAL_TABLE = ["id", "sanction_id", "user_id", "status", "created_at", "decided_at", "decided_by_label"]
QUEUE_TABLE = [
    "appeal_id", "username", "sanction_type", "sanction_reason", "in_force", "statement", "status",
    "created_at", "may_decide",
]  # fmt: skip


@click.group("appeals")
def command() -> None:
    """Appeals: file (the sanctioned user), the queue and decisions (moderators, admins)."""


def _done(appeal: SanctionAppeal) -> None:
    emit_models([appeal], SanctionAppeal, APPEAL_TABLE)
    note(f"appeal {appeal.id}: {appeal.status}")


@command.command("file")
@click.argument("sanction_id", type=UUID_TYPE)
@click.option("--statement", required=True, help="The appellant's text (1..4000 characters).")
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The sanctioned user."
)
@click.pass_context
@catalogued_errors
def file_(ctx: click.Context, sanction_id: str, statement: str, as_login: str) -> None:
    """Appeal SANCTION_ID as the --as sanctioned user (once, within appeals.window_days;
    api.appeal_sanction)."""
    with acting(ctx, as_login) as tx:
        appeal = tx.appeal_sanction(sanction_id, statement)
    _done(appeal)


@command.command("list")
@click.option(
    "--status", type=Vocabulary("appeal_status"), default="pending", show_default=True, help="Which appeals."
)
@click.option("--all", "all_", is_flag=True, help="Every appeal, whatever its status.")
@click.option("--limit", type=int, default=50, show_default=True, help="Most rows (1..500).")
@as_option
@click.pass_context
@catalogued_errors
def list_(ctx: click.Context, status: str, all_: bool, limit: int, as_login: str) -> None:
    """The appeals queue, oldest first, as the --as moderator or admin (may_decide: not their sanction;
    api.list_appeals)."""
    with acting(ctx, as_login) as tx:
        rows = tx.list_appeals(None if all_ else status, limit=limit)
    emit_models(rows, AppealQueueEntry, QUEUE_TABLE)


@command.command("decide")
@click.argument("appeal_id", type=UUID_TYPE)
@click.option("--grant/--deny", "granted", required=True, help="Grant (lifts the sanction) or deny.")
@click.option("--reasons", required=True, help="The statement of reasons the appellant reads.")
@as_option
@click.pass_context
@catalogued_errors
def decide(ctx: click.Context, appeal_id: str, granted: bool, reasons: str, as_login: str) -> None:
    """Decide APPEAL_ID as the --as moderator or admin (not the sanction's issuer; api.decide_appeal)."""
    with acting(ctx, as_login) as tx:
        appeal = tx.decide_appeal(appeal_id, granted, reasons)
    _done(appeal)
