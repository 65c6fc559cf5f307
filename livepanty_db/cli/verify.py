"""``livepanty-db verify``: check every ledger invariant (docs/ledger.md) on one consistent snapshot.

Runs as ``livepanty_service`` (nobody acting) on ONE snapshot: a ``REPEATABLE READ READ ONLY`` transaction
exports it (``pg_export_snapshot()``) and ``--jobs`` connections import it (``SET TRANSACTION SNAPSHOT``), so
every worker sees exactly the same ledger. The work is the verification's two passes (docs/ledger.md,
"Verification"): the account pass in the wallet chunks of ``api.ledger_stats(--chunk-wallets)``
(``api.verify_ledger(from, to, p_global, p_transactions => false)``, the global check with the first chunk)
and the transaction pass in the periods of ``api.ledger_periods(--period-entries)``
(``api.verify_ledger_period(from, to)``), largest first, under a progress bar on stderr; then the violations
found are printed with ``api.ledger_totals()``. Exit status 1 when any violation is found, else 0.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from queue import Empty, Queue

import click
import psycopg
from psycopg.conninfo import conninfo_to_dict

from livepanty_db import shards as sharding
from livepanty_db.cli.common import SERVICE_ROLE, catalogued_errors, emit_sections, field_names
from livepanty_db.cli.output import emit, note
from livepanty_db.client import Client, Transaction
from livepanty_db.errors import LivepantyError
from livepanty_db.models import LedgerChunk, LedgerPeriod, LedgerTotals, LedgerViolation

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


@dataclass(frozen=True)
class Work:
    """One query of the verification: an account chunk or a period; ``size`` (its entries) orders it."""

    size: int
    run: Callable[[Transaction], list[LedgerViolation]]


def plan(chunks: list[LedgerChunk], periods: list[LedgerPeriod]) -> list[Work]:
    """Every account chunk (the global check with the first) and every period, largest first (so the last
    queries to finish are small ones and the workers end together)."""
    work = [
        Work(
            chunk.entries,
            lambda tx, c=chunk: tx.verify_ledger(
                wallet_from=c.wallet_from, wallet_to=c.wallet_to, global_=c.chunk == 1, transactions=False
            ),
        )
        for chunk in chunks
    ]
    work += [
        Work(
            period.approx_entries,
            lambda tx, p=period: tx.verify_ledger_period(period_from=p.period_from, period_to=p.period_to),
        )
        for period in periods
    ]
    return sorted(work, key=lambda w: -w.size)


def run_parallel(
    leader: Transaction, dsn: str, snapshot: str, jobs: int, work: list[Work], done: Callable[[Work], None]
) -> list[LedgerViolation]:
    """Runs ``work`` on the leader's transaction and ``jobs - 1`` more connections that import its snapshot;
    ``done`` is called in this thread after each item. The first error stops the run and is raised."""
    todo: Queue[Work] = Queue()
    for item in work:
        todo.put(item)
    results: Queue[tuple[Work | None, list[LedgerViolation] | BaseException]] = Queue()
    stop = threading.Event()

    def drain(tx: Transaction) -> None:
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except Empty:
                return
            results.put((item, item.run(tx)))

    def worker(first: bool) -> None:
        try:
            if first:
                drain(leader)
            else:
                with (
                    snapshot_client(dsn) as client,
                    client.transaction(isolation="repeatable read", read_only=True, snapshot=snapshot) as tx,
                ):
                    drain(tx)
        except BaseException as exc:  # handed to the main thread, which raises it
            stop.set()
            results.put((None, exc))
        finally:
            results.put((None, []))

    threads = [threading.Thread(target=worker, args=(n == 0,), daemon=True) for n in range(jobs)]
    for thread in threads:
        thread.start()
    violations: list[LedgerViolation] = []
    finished = 0
    error: BaseException | None = None
    while finished < jobs:
        item, outcome = results.get()
        if isinstance(outcome, BaseException):
            error = error or outcome
        elif item is None:
            finished += 1
        else:
            violations += outcome
            done(item)
    for thread in threads:
        thread.join()
    if error is not None:
        raise error
    return sorted(violations, key=_order)


def _order(v: LedgerViolation) -> tuple[str, str, int, str]:
    """A fixed order of the violations whatever worker found them: by check, wallet, shard, transaction."""
    shard = -1 if v.shard is None else v.shard
    return (v.check_name, str(v.wallet_id or ""), shard, str(v.transaction_id or ""))


@click.command("verify")
@click.option(
    "--chunk-wallets",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="Wallets per query of the account pass (smaller chunks: finer progress, less memory per query).",
)
@click.option(
    "--period-entries",
    type=click.IntRange(1, 100_000_000),
    default=500_000,
    show_default=True,
    help="About how many entries per query of the transaction pass.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 32),
    default=2,
    show_default=True,
    help="Connections verifying in parallel, all on one snapshot (about one per core the server can spare).",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="Record the outcome (api.record_verify_run) for monitoring: monitoring.ledger_verification, the "
    "livepanty_ledger_verify_* metrics.",
)
@click.option(
    "--all-shards",
    is_flag=True,
    help="The DSN is the router of a sharded installation: verify every shard's ledger, then reconcile the "
    "cross-shard transfers, the tokens in transit and the directory (docs/scale-out.md).",
)
@click.pass_context
@catalogued_errors
def command(
    ctx: click.Context, chunk_wallets: int, period_entries: int, jobs: int, record: bool, all_shards: bool
) -> None:
    """Verify the ledger: balanced transactions, unbroken balance chains, balances, reserves, conservation.

    Prints the violations found (none on a sound ledger) and the token totals; exits with status 1 when any
    violation is found. The outcome is recorded for monitoring (--no-record: not). With --all-shards, one
    row per check of every shard and of the global reconciliation; exit status 1 when any fails. Each shard
    records its own run (its ledger's violations, plus the reconciliation's findings under the check
    cross_shard_reconciliation).
    """
    dsn = ctx.find_root().obj.dsn()
    if all_shards:
        shard_dsns = sharding.partition_dsns(dsn)
        report = sharding.verify_all(shard_dsns, router_dsn=dsn)
        if record:
            try:
                sharding.record_runs(shard_dsns, report)
            except psycopg.Error as exc:
                note(f"warning: the outcome was not recorded on every shard for monitoring ({exc})")
        emit(report.rows(), ["check", "result"])
        if not report.clean:
            sys.exit(1)
        return
    with snapshot_client(dsn) as client, client.transaction() as tx:
        isolation, read_only = tx.fetch(CHECK_SNAPSHOT)[0]
        if (isolation, read_only) != ("repeatable read", "on"):
            raise click.ClickException(
                "could not open a REPEATABLE READ READ ONLY transaction"
                f" (got {isolation}, read_only={read_only});"
                " connect to PostgreSQL directly, not through a pooler that drops startup options"
            )
        started_at, snapshot = tx.fetch("SELECT pg_catalog.now(), pg_catalog.pg_export_snapshot()")[0]
        chunks = tx.ledger_stats(chunk_wallets=chunk_wallets)
        periods = tx.ledger_periods(chunk_entries=period_entries)
        entries = sum(chunk.entries for chunk in chunks)
        work = plan(chunks, periods)
        with click.progressbar(
            length=sum(item.size for item in work),
            label=f"verifying {entries} ledger entries: {len(chunks)} account chunk(s), {len(periods)}"
            f" period(s), {jobs} connection(s)",
            file=click.get_text_stream("stderr"),
        ) as bar:
            violations = run_parallel(tx, dsn, snapshot, jobs, work, lambda item: bar.update(item.size))
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
