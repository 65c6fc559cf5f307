"""``livepanty-db verify``: check every ledger invariant (docs/ledger.md) on one consistent snapshot.

Runs as ``livepanty_service`` (nobody acting) in ONE ``REPEATABLE READ READ ONLY`` transaction:
``api.ledger_stats(--chunk-wallets)`` splits the wallets into chunks, ``api.verify_ledger(from, to,
p_global)`` checks them one after the other (the global check with the last chunk) under a progress bar on
stderr, then the violations found are printed with ``api.ledger_totals()``. Exit status 1 when any violation
is found, else 0.
"""

from __future__ import annotations

from datetime import datetime

import click
from psycopg.conninfo import conninfo_to_dict

from livepanty_db.cli.common import SERVICE_ROLE, catalogued_errors, emit_sections, field_names
from livepanty_db.cli.output import note
from livepanty_db.client import Client
from livepanty_db.errors import LivepantyError
from livepanty_db.models import LedgerTotals, LedgerViolation

#: Server options of the verifying connection: every transaction REPEATABLE READ (one snapshot for all the
#: chunks, so concurrent postings cannot make a consistent ledger look broken) and READ ONLY.
SNAPSHOT_OPTIONS = "-c default_transaction_isolation=repeatable\\ read -c default_transaction_read_only=on"
CHECK_SNAPSHOT = (
    "SELECT pg_catalog.current_setting('transaction_isolation'),"
    " pg_catalog.current_setting('transaction_read_only')"
)


def _record(
    ctx: click.Context, started_at: datetime, entries: int, violations: list[LedgerViolation]
) -> None:
    """Record the outcome in its own transaction (the verification's is READ ONLY); a failure (a replica, a
    login that may not) is a warning: the verification's result stands."""
    checks = sorted({v.check_name for v in violations})
    try:
        with Client(ctx.find_root().obj.dsn(), role=SERVICE_ROLE) as client:
            client.record_verify_run(
                started_at=started_at, entries=entries, violations=len(violations), checks=checks
            )
    except LivepantyError as exc:
        note(f"warning: the outcome was not recorded for monitoring ({exc.sqlstate}: {exc.message})")


def snapshot_client(dsn: str) -> Client:
    """A client whose transactions are REPEATABLE READ, READ ONLY and run as livepanty_service.

    The isolation level comes from the connection's startup options (the DSN's own options are kept), because
    ``SET TRANSACTION`` cannot be sent through the client's API calls; :data:`CHECK_SNAPSHOT` makes sure it
    took effect (a pooler that drops startup options would otherwise go unnoticed).
    """
    options = f"{conninfo_to_dict(dsn).get('options') or ''} {SNAPSHOT_OPTIONS}".strip()
    return Client(dsn, role=SERVICE_ROLE, connect_kwargs={"options": options})


@click.command("verify")
@click.option(
    "--chunk-wallets",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="Wallets verified per query (smaller chunks: finer progress, less memory per query).",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="Record the outcome (api.record_verify_run) for monitoring: monitoring.ledger_verification, the "
    "livepanty_ledger_verify_* metrics.",
)
@click.pass_context
@catalogued_errors
def command(ctx: click.Context, chunk_wallets: int, record: bool) -> None:
    """Verify the ledger: balanced transactions, unbroken balance chains, balances, reserves, conservation.

    Prints the violations found (none on a sound ledger) and the token totals; exits with status 1 when any
    violation is found. The outcome is recorded for monitoring (--no-record: not).
    """
    with snapshot_client(ctx.find_root().obj.dsn()) as client, client.transaction() as tx:
        isolation, read_only = tx.fetch(CHECK_SNAPSHOT)[0]
        if (isolation, read_only) != ("repeatable read", "on"):
            raise click.ClickException(
                "could not open a REPEATABLE READ READ ONLY transaction"
                f" (got {isolation}, read_only={read_only});"
                " connect to PostgreSQL directly, not through a pooler that drops startup options"
            )
        started_at = tx.fetch("SELECT pg_catalog.now()")[0][0]  # the snapshot's time, on the server's clock
        chunks = tx.ledger_stats(chunk_wallets=chunk_wallets)
        entries = sum(chunk.entries for chunk in chunks)
        violations: list[LedgerViolation] = []
        with click.progressbar(
            length=entries,
            label=f"verifying {entries} ledger entries in {len(chunks)} chunk(s)",
            file=click.get_text_stream("stderr"),
        ) as bar:
            for number, chunk in enumerate(chunks, start=1):
                violations += tx.verify_ledger(
                    wallet_from=chunk.wallet_from, wallet_to=chunk.wallet_to, global_=number == len(chunks)
                )
                bar.update(chunk.entries)
        totals = tx.ledger_totals()
    if record:
        _record(ctx, started_at, entries, violations)
    emit_sections(
        [
            ("violations", violations, field_names(LedgerViolation)),
            ("totals", [totals], field_names(LedgerTotals)),
        ]
    )
    if violations:
        note(f"ledger verification: {len(violations)} violation(s) found")
        ctx.exit(1)
    note(f"ledger verification: no violations ({entries} entries)")
