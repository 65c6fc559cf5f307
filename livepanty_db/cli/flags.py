"""``livepanty-db flags``: automated detections (docs/trust-and-safety.md, "Reports, automated flags and the
review queue").

``raise`` records a detection as the detectors do (livepanty_service): by the category's thresholds
(``flags.thresholds``) it is ignored, queued in the review queue, or acted upon at once. ``precision`` shows
moderators how often each detector was confirmed (``--as``).
"""

from __future__ import annotations

import json
from decimal import Decimal

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
from livepanty_db.models import DetectorPrecision, ModerationFlag

FLAG_TABLE = [
    "id", "detector", "category", "confidence", "disposition", "status", "case_id", "stream_id", "user_id",
]  # fmt: skip
PRECISION_TABLE = ["detector", "confirmed", "dismissed", "precision_ratio"]


@click.group("flags")
def command() -> None:
    """Automated flags: raise (detectors, livepanty_service) and detector precision (moderators, admins)."""


@command.command("raise")
@click.argument("detector")
@click.argument("category", type=Vocabulary("flag_category"))
@click.argument("confidence", type=Decimal)
@click.option("--content-type", type=Vocabulary("flag_content_type"), required=True, help="What was flagged.")
@click.option("--content-ref", help="Pointer to the content (segment URL, message id).")
@click.option(
    "--stream",
    "stream_id",
    metavar="STREAM_ID",
    type=UUID_TYPE,
    help="The stream (its host is the user when --user is not given).",
)
@click.option("--user", "user_id", metavar="USER_ID", type=UUID_TYPE, help="The user's id.")
@click.option("--details", default="{}", show_default=True, help="A JSON object kept with the flag.")
@click.pass_context
@catalogued_errors
def raise_(
    ctx: click.Context,
    detector: str,
    category: str,
    confidence: Decimal,
    content_type: str,
    content_ref: str | None,
    stream_id: str | None,
    user_id: str | None,
    details: str,
) -> None:
    """Record a detection of CATEGORY with CONFIDENCE (0..1) by DETECTOR (livepanty_service;
    api.raise_flag)."""
    try:
        parsed = json.loads(details)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--details") from exc
    flag = service_client(ctx).raise_flag(
        detector, category, confidence, content_type, content_ref, stream_id, user_id, parsed
    )
    emit_models([flag], ModerationFlag, FLAG_TABLE)
    note(f"flag {flag.id}: {flag.disposition}")


@command.command("precision")
@as_option
@click.pass_context
@catalogued_errors
def precision(ctx: click.Context, as_login: str) -> None:
    """Each detector's confirmed and dismissed flags and precision, as the --as moderator or admin
    (api.detector_precision)."""
    with acting(ctx, as_login) as tx:
        rows = tx.detector_precision()
    emit_models(rows, DetectorPrecision, PRECISION_TABLE)
