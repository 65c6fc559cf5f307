"""``livepanty-db privacy``: the right to erasure and the retention purges (docs/compliance.md).

``erase`` acts as an admin or compliance officer (``--as``); ``request-erasure`` logs the user in (their
password, prompted) and asks through that fresh session, as the application would. ``log``,
``export-erasures``, ``replay-erasures`` and ``purge`` are back-office jobs (livepanty_service).

After restoring a backup, the erasures done since it was taken are missing from the restored database, and the
personal data they removed is back. Keep the log outside the database's backups (``export-erasures`` after
each erasure, or on a schedule, to a file that the backups do not overwrite), and after any restore run
``replay-erasures FILE``: every exported erasure the restored database lacks is applied again.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TextIO

import click

from livepanty_db.cli.common import (
    acting,
    as_option,
    catalogued_errors,
    emit_models,
    operator_client,
    output_format,
    password_stdin_option,
    read_password,
    resolve_login,
    service_client,
    uuid_or_none,
    wide_tables,
)
from livepanty_db.cli.output import confirm, emit, note
from livepanty_db.cli.values import Vocabulary, load_vocabularies
from livepanty_db.client import Client
from livepanty_db.models import Erasure, ErasureReplay

ERASURE_TABLE = [
    "id", "user_id", "via", "erased_at", "retained_categories", "kyc_retained_until", "replayed_at",
]  # fmt: skip
#: Rows per api.list_erasures call of ``log`` and ``export-erasures``.
EXPORT_PAGE = 1000


@click.group("privacy")
def command() -> None:
    """Right to erasure, the erasure log and its replay, retention purges."""


def _emit_erasures(rows: list[Erasure]) -> None:
    if output_format() == "table" and not wide_tables():
        emit(
            [
                {
                    "id": str(r.id),
                    "user_id": str(r.user_id),
                    "via": r.via,
                    "erased_at": r.erased_at,
                    "retained_categories": ", ".join(
                        f"{k['category']} until {str(k['until'])[:10]}" for k in r.retained
                    ),
                    "kyc_retained_until": r.kyc_retained_until,
                    "replayed_at": r.replayed_at,
                }
                for r in rows
            ],
            ERASURE_TABLE,
        )
    else:
        emit_models(rows, Erasure)


def _user_id(client: Client, user: str) -> Any:
    """A user id as given, or the id of the active user with that login (an erased or deleted account is
    named by its id)."""
    return uuid_or_none(user) or resolve_login(client, user, "USER")


@command.command("erase")
@click.argument("user")
@click.option("--reason", required=True, help="Why (a request by mail, a legal order, ...); audited.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (an erasure cannot be undone).")
@as_option
@click.pass_context
@catalogued_errors
def erase(ctx: click.Context, user: str, reason: str, yes: bool, as_login: str) -> None:
    """An admin or compliance officer (--as) erases USER's personal data (api.erase_user): username,
    e-mail or user id. It cannot be undone: asks first (--yes: without)."""
    user_id = _user_id(operator_client(ctx), user)
    if not yes:  # asked outside any transaction
        confirm(f"Erase the personal data of user {user} ({user_id})? This cannot be undone.")
    with acting(ctx, as_login) as tx:
        row = tx.erase_user(user_id, reason)
    _emit_erasures([row])
    note(f"user {row.user_id} erased (erasure {row.id})")


@command.command("request-erasure")
@click.option("--login", "login", required=True, help="The user's username or e-mail.")
@password_stdin_option
@click.option("--reason", default=None, help="An optional reason, kept in the log.")
@click.pass_context
@catalogued_errors
def request_erasure(ctx: click.Context, login: str, password_stdin: bool, reason: str | None) -> None:
    """A user asks for their own erasure: a fresh login (the password prompted without echo, or the first
    line of stdin with --password-stdin), then api.request_erasure through its session."""
    password = read_password(password_stdin, prompt="Password", confirm=False)
    client = operator_client(ctx)
    session = client.login(login, password, user_agent="livepanty-db privacy request-erasure")
    with client.session(session.token) as tx:
        row = tx.request_erasure(reason=reason)
    _emit_erasures([row])
    for kept in row.retained:
        note(f"kept until {kept['until']}: {kept['category']} ({kept['why']})")


def _all_erasures(client: Client) -> list[Erasure]:
    rows: list[Erasure] = []
    after = None
    while True:
        page = client.list_erasures(after=after, limit=EXPORT_PAGE)
        rows.extend(page)
        if len(page) < EXPORT_PAGE:
            return rows
        after = page[-1].id


@command.command("log")
@click.pass_context
@catalogued_errors
def log(ctx: click.Context) -> None:
    """The erasure log (api.list_erasures): who was erased, when, how, what is kept until when."""
    _emit_erasures(_all_erasures(service_client(ctx)))


@command.command("export-erasures")
@click.option(
    "--output", "-o", type=click.File("w"), default="-", show_default=True, help="File to write (JSON lines)."
)
@click.pass_context
@catalogued_errors
def export_erasures(ctx: click.Context, output: TextIO) -> None:
    """Write the whole erasure log as JSON lines (ids, dates, counts, reasons; never an erased value), to keep
    where backups do not overwrite it."""
    rows = _all_erasures(service_client(ctx))
    for row in rows:
        output.write(json.dumps(dataclasses.asdict(row), default=str, sort_keys=True) + "\n")
    note(f"{len(rows)} erasure(s) exported")


@command.command("replay-erasures")
@click.argument("log_file", type=click.File("r"))
@click.pass_context
@catalogued_errors
def replay_erasures(ctx: click.Context, log_file: TextIO) -> None:
    """After restoring a backup: re-apply every erasure of LOG_FILE (written by export-erasures) that the
    restored database lacks (api.replay_erasure, one transaction each; already applied ones are skipped)."""
    client = service_client(ctx)
    results: list[ErasureReplay] = []
    for number, line in enumerate(log_file, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"line {number} is not JSON: {exc}", param_hint="LOG_FILE") from exc
        results.append(client.replay_erasure(entry))
    emit_models(results, ErasureReplay)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    note(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing to replay")


@command.command("purge")
@click.option(
    "--category",
    "categories",
    type=Vocabulary("retention_category"),
    multiple=True,
    help="A retention category (livepanty-db values retention_category); repeatable. Default: all of them.",
)
@click.option("--limit", type=int, default=1000, show_default=True, help="Batch size (1..100000).")
@click.pass_context
@catalogued_errors
def purge(ctx: click.Context, categories: tuple[str, ...], limit: int) -> None:
    """Retention purges (api.purge_personal_data): for each category, batches of --limit, one transaction
    each, until a batch comes back short. Resumable: stopping in between loses nothing."""
    client = service_client(ctx)
    if not categories:
        categories = tuple(load_vocabularies(ctx.find_root().obj.dsn())["retention_category"])
    rows = []
    for category in categories:
        total = batches = 0
        while True:
            count = client.purge_personal_data(category, limit=limit)
            total += count
            batches += 1
            if count < limit:
                break
        rows.append({"category": category, "purged": total, "batches": batches})
    emit(rows, ["category", "purged", "batches"])
    note(f"purged {sum(r['purged'] for r in rows)} row(s) in {len(rows)} categor(ies)")
