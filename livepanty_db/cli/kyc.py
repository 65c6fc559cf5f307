"""``livepanty-db kyc``: the minimal identity verification that payouts need (operator tool).

``submit`` acts as the user verified; ``approve``, ``reject``, ``pending`` and ``status`` as an admin
(``--as``). Only document locations (s3://bucket/key) are stored, never the images.
"""

from __future__ import annotations

from datetime import datetime

import click

from livepanty_db.cli.common import (
    acting,
    as_option,
    catalogued_errors,
    emit_models,
    operator_client,
    resolve_login,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import KycVerification

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
        )
    _done(row)


@command.command("approve")
@click.argument("verification_id")
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
    """Approve the pending verification VERIFICATION_ID (admins)."""
    with acting(ctx, as_login) as tx:
        row = tx.approve_kyc(
            verification_id=verification_id,
            expires_at=expires_at.astimezone() if expires_at is not None else None,
            verified_date_of_birth=verified_date_of_birth.date() if verified_date_of_birth else None,
        )
    _done(row)


@command.command("reject")
@click.argument("verification_id")
@click.option("--reason", required=True, help="Why (shown to the user).")
@as_option
@click.pass_context
@catalogued_errors
def reject(ctx: click.Context, verification_id: str, reason: str, as_login: str) -> None:
    """Reject the pending verification VERIFICATION_ID (admins); the user may submit again."""
    with acting(ctx, as_login) as tx:
        row = tx.reject_kyc(verification_id=verification_id, reason=reason)
    _done(row)


@command.command("pending")
@click.option("--after", metavar="VERIFICATION_ID", default=None, help="Last id of the previous page.")
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..1000).")
@as_option
@click.pass_context
@catalogued_errors
def pending(ctx: click.Context, after: str | None, limit: int, as_login: str) -> None:
    """The verifications awaiting review, oldest first (admins)."""
    with acting(ctx, as_login) as tx:
        rows = tx.list_pending_kyc(after=after, limit=limit)
    emit_models(rows, KycVerification, KYC_TABLE)


@command.command("status")
@click.argument("user")
@as_option
@click.pass_context
@catalogued_errors
def status(ctx: click.Context, user: str, as_login: str) -> None:
    """USER's latest verification (admins; anyone for themselves)."""
    user_id = resolve_login(operator_client(ctx), user, "USER")
    with acting(ctx, as_login) as tx:
        row = tx.get_kyc_status(user_id=user_id)
    emit_models([row] if row is not None else [], KycVerification, KYC_TABLE)
    if row is None:
        note(f"{user} has never submitted a verification")
