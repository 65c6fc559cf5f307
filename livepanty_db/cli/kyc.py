"""``livepanty-db kyc``: identity verification (operator tool).

``submit`` acts as the user verified; ``approve``, ``reject``, ``pending``, ``status``, ``override`` and
``allow-retry`` as an admin, ``record`` as a compliance officer (``--as``); ``webhook`` applies a provider
event as the back office (livepanty_service, nobody acting). Only document locations (s3://bucket/key) are
stored, never the images; the legal name is encrypted in the database and only ``record`` shows it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import click

from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    as_option,
    catalogued_errors,
    emit_models,
    operator_client,
    resolve_login,
    service_client,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import KycRecord, KycVerification, KycWebhookEvent

KYC_TABLE = [
    "id",
    "user_id",
    "level",
    "status",
    "document_type",
    "document_country",
    "submitted_at",
    "reviewed_by_label",
    "reviewed_at",
    "expires_at",
    "rejection_reason",
]


@click.group("kyc")
def command() -> None:
    """Identity verification: submit, review (admins)."""


def _done(row: KycVerification) -> None:
    emit_models([row], KycVerification, KYC_TABLE)
    note(f"verification {row.id}: {row.status}")


@command.command("submit")
@click.option(
    "--as", "as_login", metavar="LOGIN", envvar="LIVEPANTY_AS", required=True, help="Who is verified."
)
@click.option("--level", type=Vocabulary("kyc_level"), default="identity", show_default=True)
@click.option("--document-type", type=Vocabulary("document_type"), required=True)
@click.option(
    "--country", "document_country", metavar="CC", required=True, help="Issuing country (ISO alpha-2)."
)
@click.option(
    "--front", "front_url", metavar="S3_URL", required=True, help="s3://bucket/key of the front side."
)
@click.option("--back", "back_url", metavar="S3_URL", default=None, help="s3://bucket/key of the back side.")
@click.option("--selfie", "selfie_url", metavar="S3_URL", default=None, help="s3://bucket/key of a selfie.")
@click.option("--provider", default="manual", show_default=True, help="Verification provider.")
@click.option("--provider-reference", default=None, help="The provider's reference.")
@click.option("--legal-name", default=None, help="Legal name (stored encrypted, never shown again).")
@click.option("--alias", "aliases", multiple=True, metavar="STAGE_NAME", help="A stage name (repeatable).")
@click.pass_context
@catalogued_errors
def submit(
    ctx: click.Context,
    as_login: str,
    level: str,
    document_type: str,
    document_country: str,
    front_url: str,
    back_url: str | None,
    selfie_url: str | None,
    provider: str,
    provider_reference: str | None,
    legal_name: str | None,
    aliases: tuple[str, ...],
) -> None:
    """Submit a verification for review as the --as user (api.submit_kyc)."""
    with acting(ctx, as_login) as tx:
        row = tx.submit_kyc(
            level=level,
            document_type=document_type,
            document_country=document_country,
            document_front_url=front_url,
            document_back_url=back_url,
            selfie_url=selfie_url,
            provider=provider,
            provider_reference=provider_reference,
            legal_name=legal_name,
            aliases=list(aliases) or None,
        )
    _done(row)


@command.command("approve")
@click.argument("verification_id", type=UUID_TYPE)
@click.option(
    "--expires",
    "expires_at",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Valid until (default: no end).",
)
@click.option(
    "--dob",
    "verified_date_of_birth",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="Date of birth read from the document.",
)
@as_option
@click.pass_context
@catalogued_errors
def approve(
    ctx: click.Context,
    verification_id: str,
    expires_at: datetime | None,
    verified_date_of_birth: datetime | None,
    as_login: str,
) -> None:
    """Approve the submitted or in_review verification VERIFICATION_ID (admins; api.approve_kyc)."""
    with acting(ctx, as_login) as tx:
        row = tx.approve_kyc(
            verification_id=verification_id,
            expires_at=expires_at.astimezone() if expires_at is not None else None,
            verified_date_of_birth=verified_date_of_birth.date() if verified_date_of_birth else None,
        )
    _done(row)


@command.command("reject")
@click.argument("verification_id", type=UUID_TYPE)
@click.option("--reason", required=True, help="Why (shown to the user).")
@click.option(
    "--dob",
    "verified_date_of_birth",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="Date of birth read from the document: a minor's makes the decline an underage finding.",
)
@as_option
@click.pass_context
@catalogued_errors
def reject(
    ctx: click.Context,
    verification_id: str,
    reason: str,
    verified_date_of_birth: datetime | None,
    as_login: str,
) -> None:
    """Decline the submitted or in_review verification VERIFICATION_ID (admins); the user may submit again
    (api.reject_kyc). With --dob under the minimum age it is an underage finding: the user's earlier approvals
    end, their live streams end and a critical underage case is filed."""
    with acting(ctx, as_login) as tx:
        row = tx.reject_kyc(
            verification_id=verification_id,
            reason=reason,
            verified_date_of_birth=verified_date_of_birth.date() if verified_date_of_birth else None,
        )
    _done(row)


@command.command("pending")
@click.option(
    "--after", metavar="VERIFICATION_ID", type=UUID_TYPE, default=None, help="Last id of the previous page."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@as_option
@click.pass_context
@catalogued_errors
def pending(ctx: click.Context, after: str | None, limit: int, as_login: str) -> None:
    """The verifications awaiting a human review (submitted, in_review), oldest first (admins;
    api.list_pending_kyc)."""
    with acting(ctx, as_login) as tx:
        rows = tx.list_pending_kyc(after=after, limit=limit)
    emit_models(rows, KycVerification, KYC_TABLE)


@command.command("status")
@click.argument("user")
@as_option
@click.pass_context
@catalogued_errors
def status(ctx: click.Context, user: str, as_login: str) -> None:
    """USER's latest verification (admins; anyone for themselves; api.get_kyc_status)."""
    user_id = resolve_login(operator_client(ctx), user, "USER")
    with acting(ctx, as_login) as tx:
        row = tx.get_kyc_status(user_id=user_id)
    emit_models([row] if row is not None else [], KycVerification, KYC_TABLE)
    if row is None:
        note(f"{user} has never submitted a verification")


WEBHOOK_TABLE = [
    "provider",
    "event_id",
    "verification_id",
    "requested_status",
    "score",
    "status_before",
    "status_after",
    "outcome",
    "note",
]


@command.command("webhook")
@click.argument("provider")
@click.argument("event_id")
@click.argument("provider_reference")
@click.argument("status", type=Vocabulary("kyc_status"))
@click.option("--score", type=Decimal, default=None, help="Provider score 0..1 (kyc.* thresholds decide).")
@click.option("--reason", "reasons", multiple=True, help="A provider reason code (repeatable).")
@click.option(
    "--document-expires",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="Expiry date of the document.",
)
@click.option(
    "--dob",
    "verified_date_of_birth",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="Date of birth the provider verified.",
)
@click.option(
    "--occurred-at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="When the provider says the event happened (orders out-of-order deliveries).",
)
@click.pass_context
@catalogued_errors
def webhook(
    ctx: click.Context,
    provider: str,
    event_id: str,
    provider_reference: str,
    status: str,
    score: Decimal | None,
    reasons: tuple[str, ...],
    document_expires: datetime | None,
    verified_date_of_birth: datetime | None,
    occurred_at: datetime | None,
) -> None:
    """Apply the provider event EVENT_ID (new STATUS) to the verification PROVIDER_REFERENCE of PROVIDER,
    as the back office; a repeat changes nothing (api.apply_kyc_webhook)."""
    event = service_client(ctx).apply_kyc_webhook(
        provider,
        event_id,
        provider_reference,
        status,
        score=score,
        reasons=list(reasons) or None,
        document_expires_on=document_expires.date() if document_expires else None,
        verified_date_of_birth=verified_date_of_birth.date() if verified_date_of_birth else None,
        occurred_at=occurred_at.astimezone() if occurred_at else None,
    )
    emit_models([event], KycWebhookEvent, WEBHOOK_TABLE)
    note(f"event {event.event_id}: {event.outcome} ({event.status_before} -> {event.status_after})")


@command.command("override")
@click.argument("verification_id", type=UUID_TYPE)
@click.argument("decision", type=click.Choice(["approved", "declined"]))
@click.option("--reason", required=True, help="Why the decision is overridden (audited).")
@as_option
@click.pass_context
@catalogued_errors
def override(ctx: click.Context, verification_id: str, decision: str, reason: str, as_login: str) -> None:
    """Override the decision on VERIFICATION_ID with DECISION (admins; api.override_kyc_decision)."""
    with acting(ctx, as_login) as tx:
        row = tx.override_kyc_decision(verification_id, decision, reason)
    _done(row)


@command.command("allow-retry")
@click.argument("user")
@click.option("--reason", required=True, help="Why one more attempt is allowed (audited).")
@as_option
@click.pass_context
@catalogued_errors
def allow_retry(ctx: click.Context, user: str, reason: str, as_login: str) -> None:
    """Let USER, at kyc.max_declines declines, submit one more verification (admins; api.allow_kyc_retry)."""
    user_id = resolve_login(operator_client(ctx), user, "USER")
    with acting(ctx, as_login) as tx:
        left = tx.allow_kyc_retry(user_id, reason)
    note(f"{user} may be declined {left} more time(s) before needing an admin again")


@command.command("record")
@click.argument("verification_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def record(ctx: click.Context, verification_id: str, as_login: str) -> None:
    """The decrypted record of VERIFICATION_ID: legal name, date of birth, documents, stage names (compliance
    officers; every read is audited; api.kyc_record)."""
    with acting(ctx, as_login) as tx:
        row = tx.kyc_record(verification_id)
    emit_models([row], KycRecord)
