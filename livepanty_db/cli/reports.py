"""``livepanty-db reports``: user reports and the moderators' review queue (docs/trust-and-safety.md,
"Reports, automated flags and the review queue").

``file`` reports a user, stream, tip or profile as the ``--as`` user (support filing a report for them);
``queue``, ``claim``, ``extend``, ``release`` and ``resolve`` act as a moderator or admin (``--as``): only the
holder of a running claim extends, releases or resolves a case. ``decisions`` shows a user the decisions about
them with their statements of reasons (never who reported). ``escalate`` is the SLA job (livepanty_service).
"""

from __future__ import annotations

from datetime import datetime

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    as_option,
    catalogued_errors,
    emit_models,
    service_client,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import CaseDecision, ReportFiling, ReviewCase, ReviewQueueEntry

CASE_TABLE = [
    "id", "status", "reason", "target_type", "reported_user_id", "priority", "priority_score",
    "reporter_count", "flag_count", "due_at", "claim_expires_at", "action",
]  # fmt: skip
QUEUE_TABLE = [
    "case_id", "priority", "priority_score", "reason", "target_type", "reported_user_id", "status",
    "reporter_count", "flag_count", "due_at", "overdue", "claim_expires_at", "detector_precision",
]  # fmt: skip
FILING_TABLE = ["id", "case_id", "trusted", "created_at"]
DECISION_TABLE = [
    "case_id", "reason", "status", "action", "automated", "facts", "rule", "appeal", "decided_at",
]  # fmt: skip


@click.group("reports")
def command() -> None:
    """Reports and the review queue: file (any user), queue, claim, resolve (moderators, admins)."""


def _case(case: ReviewCase) -> None:
    emit_models([case], ReviewCase, CASE_TABLE)


@command.command("file")
@click.argument("target_type", type=Vocabulary("report_target"))
@click.argument("target_id", type=UUID_TYPE)
@click.option("--reason", type=Vocabulary("case_reason"), required=True, help="Why (not sanction_review).")
@click.option("--description", help="The reporter's words (at most 2000 characters).")
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The reporting user."
)
@click.pass_context
@catalogued_errors
def file_(
    ctx: click.Context, target_type: str, target_id: str, reason: str, description: str | None, as_login: str
) -> None:
    """Report TARGET_TYPE (user, stream, tip, profile) TARGET_ID as the --as user (api.report)."""
    with acting(ctx, as_login) as tx:
        filing = tx.report(target_type, target_id, reason, description)
    emit_models([filing], ReportFiling, FILING_TABLE)
    note(f"filed in case {filing.case_id}")


@command.command("queue")
@click.option("--status", type=Vocabulary("case_status"), help="Only this status (default: every open case).")
@click.option("--overdue", is_flag=True, help="Only cases past their due time.")
@click.option("--reason", type=Vocabulary("case_reason"), help="Only this reason.")
@click.option("--source", type=Vocabulary("case_source"), help="Only this source.")
@click.option(
    "--after", metavar="CASE_ID", type=UUID_TYPE, help="Keyset: the last case id of the previous page."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Most rows (1..500).")
@as_option
@click.pass_context
@catalogued_errors
def queue(
    ctx: click.Context,
    status: str | None,
    overdue: bool,
    reason: str | None,
    source: str | None,
    after: str | None,
    limit: int,
    as_login: str,
) -> None:
    """The review queue in claim order (critical first), as the --as moderator or admin (api.review_queue)."""
    with acting(ctx, as_login) as tx:
        rows = tx.review_queue(status, overdue, reason, source, after, limit=limit)
    emit_models(rows, ReviewQueueEntry, QUEUE_TABLE)


@command.command("claim")
@as_option
@click.pass_context
@catalogued_errors
def claim(ctx: click.Context, as_login: str) -> None:
    """Claim the next case (with a lease of review.claim_minutes) as the --as moderator or admin
    (api.claim_case)."""
    with acting(ctx, as_login) as tx:
        case = tx.claim_case()
    if case is None:
        emit_models([], ReviewCase, CASE_TABLE)
        note("the queue is empty")
        return
    _case(case)
    note(f"case {case.id} claimed until {case.claim_expires_at}")


@command.command("extend")
@click.argument("case_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def extend(ctx: click.Context, case_id: str, as_login: str) -> None:
    """Renew the --as moderator's running claim on CASE_ID (api.extend_case_claim)."""
    with acting(ctx, as_login) as tx:
        case = tx.extend_case_claim(case_id)
    _case(case)


@command.command("release")
@click.argument("case_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def release(ctx: click.Context, case_id: str, as_login: str) -> None:
    """Give CASE_ID back to the queue (the --as moderator's claim ends; api.release_case)."""
    with acting(ctx, as_login) as tx:
        case = tx.release_case(case_id)
    _case(case)


@command.command("resolve")
@click.argument("case_id", type=UUID_TYPE)
@click.option("--action", type=Vocabulary("case_action"), required=True, help="dismiss, or how to act.")
@click.option("--facts", required=True, help="Statement of reasons: the facts found.")
@click.option("--rule", required=True, help="Statement of reasons: the rule broken (or 'no rule broken').")
@click.option("--sanction", "sanction_type", type=Vocabulary("sanction_type"), help="With --action sanction.")
@click.option("--until", "ends_at", type=click.DateTime(), help="End of the sanction (suspensions).")
@as_option
@click.pass_context
@catalogued_errors
def resolve(
    ctx: click.Context,
    case_id: str,
    action: str,
    facts: str,
    rule: str,
    sanction_type: str | None,
    ends_at: datetime | None,
    as_login: str,
) -> None:
    """Resolve CASE_ID, claimed by the --as moderator, with a statement of reasons (api.resolve_case)."""
    with acting(ctx, as_login) as tx:
        case = tx.resolve_case(case_id, action, facts, rule, sanction_type, ends_at)
    _case(case)
    note(f"case {case.id}: {case.status}")


@command.command("decisions")
@click.option("--limit", type=int, default=50, show_default=True, help="Most rows (1..500).")
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="The affected user."
)
@click.pass_context
@catalogued_errors
def decisions(ctx: click.Context, limit: int, as_login: str) -> None:
    """The decisions about the --as user, with their statements of reasons (api.my_case_decisions)."""
    with acting(ctx, as_login) as tx:
        rows = tx.my_case_decisions(limit)
    emit_models(rows, CaseDecision, DECISION_TABLE)


@command.command("escalate")
@click.option("--limit", type=int, default=100, show_default=True, help="Most cases per run (1..10000).")
@click.pass_context
@catalogued_errors
def escalate(ctx: click.Context, limit: int) -> None:
    """Job: escalate cases close to or past their due time, each once (livepanty_service;
    api.escalate_cases)."""
    escalated = service_client(ctx).escalate_cases(limit=limit)
    note(f"{escalated} case(s) escalated")
    click.echo(str(escalated))
