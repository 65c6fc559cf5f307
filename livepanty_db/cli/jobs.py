"""``livepanty-db jobs``: the back-office jobs of the token economy, run once (livepanty_service).

A scheduler calls them repeatedly; each call works on one batch in one short transaction and prints how many
items it processed (``--until-done`` repeats it, one transaction per batch, until a batch comes back short;
``settle-goals`` prints its four figures and repeats while a run did any work; ``bill-shows`` repeats its
one-viewer step until there is nothing left to bill and prints the totals). While they repeat, one short
status line per batch (run, step) goes to stderr, e.g. ``sweep_wallets: batch 3, 3000 so far``; the totals go
to stdout as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click

from livepanty_db.cli.common import catalogued_errors, emit_records, field_names, service_client
from livepanty_db.cli.output import emit, note
from livepanty_db.client import Client
from livepanty_db.models import GoalSettlement, PartitionMade

limit_option = click.option(
    "--limit", type=int, default=1000, show_default=True, help="Batch size (1..100000)."
)
#: The figures of one api.settle_tip_goals run (its columns), totalled by ``jobs settle-goals``.
SETTLEMENT_FIGURES = field_names(GoalSettlement)
until_done_option = click.option(
    "--until-done", is_flag=True, help="Repeat, one transaction per batch, until a batch is not full."
)


def _run(
    ctx: click.Context, job: str, call: Callable[[Client, int], int], limit: int, until_done: bool
) -> None:
    client = service_client(ctx)
    total = batches = 0
    while True:
        count = call(client, limit)
        total += count
        batches += 1
        if until_done:
            note(f"{job}: batch {batches}, {total} so far")
        if not until_done or count < limit:
            break
    emit([{"job": job, "processed": total, "batches": batches}])
    note(f"{job}: {total} processed in {batches} batch(es)")


@click.group("jobs")
def command() -> None:
    """Back-office jobs (livepanty_service)."""


@command.command("sweep")
@limit_option
@until_done_option
@click.pass_context
@catalogued_errors
def sweep(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Sweep user wallets' credit shards into their main balances (api.sweep_wallets)."""
    _run(ctx, "sweep_wallets", lambda client, n: client.sweep_wallets(limit=n), limit, until_done)


@command.command("expire-holds")
@limit_option
@until_done_option
@click.pass_context
@catalogued_errors
def expire_holds(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Expire open holds past their time; their tokens return to the holders (api.expire_holds)."""
    _run(ctx, "expire_holds", lambda client, n: client.expire_holds(limit=n), limit, until_done)


@command.command("expire-kyc")
@limit_option
@until_done_option
@click.pass_context
@catalogued_errors
def expire_kyc(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Expire identity verifications past their document expiry or kyc.approval_valid_days: their performers
    need re-verification and their live streams end (api.expire_kyc_approvals)."""
    _run(
        ctx, "expire_kyc_approvals", lambda client, n: client.expire_kyc_approvals(limit=n), limit, until_done
    )


@command.command("expire-sanctions")
@click.option("--limit", type=int, default=100, show_default=True, help="Batch size (1..10000).")
@until_done_option
@click.pass_context
@catalogued_errors
def expire_sanctions(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Send ended review-on-expiry suspensions back to the review queue, each once (api.expire_sanctions;
    the same job as `sanctions expire`, here with the other scheduled jobs)."""
    _run(ctx, "expire_sanctions", lambda client, n: client.expire_sanctions(limit=n), limit, until_done)


@command.command("sweep-viewers")
@limit_option
@until_done_option
@click.pass_context
@catalogued_errors
def sweep_viewers(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Close viewing sessions past streams.viewer_timeout_seconds without a heartbeat (api.sweep_viewers)."""
    _run(ctx, "sweep_viewers", lambda client, n: client.sweep_viewers(limit=n), limit, until_done)


@command.command("purge-events")
@click.option("--limit", type=int, default=10000, show_default=True, help="Batch size (1..1000000).")
@until_done_option
@click.pass_context
@catalogued_errors
def purge_events(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Delete stream events older than events.retention_days (api.purge_stream_events)."""
    _run(ctx, "purge_stream_events", lambda client, n: client.purge_stream_events(limit=n), limit, until_done)


@command.command("partitions")
@click.option(
    "--months-ahead",
    type=int,
    default=3,
    show_default=True,
    help="Months after the current one (UTC) that must have their partition (0..24).",
)
@click.pass_context
@catalogued_errors
def partitions(ctx: click.Context, months_ahead: int) -> None:
    """Create the monthly partitions of lp.ledger and lp.audit_logs ahead, and move rows waiting in a default
    partition into their month's (api.maintain_partitions). Idempotent; run it daily. Prints the partitions
    made (none: all were there)."""
    made = service_client(ctx).maintain_partitions(months_ahead=months_ahead)
    emit_records(made, field_names(PartitionMade))
    note(f"maintain_partitions: {len(made)} partition(s) created")


@command.command("settle-goals")
@limit_option
@click.option("--until-done", is_flag=True, help="Repeat, one transaction per run, while a run did any work.")
@click.pass_context
@catalogued_errors
def settle_goals(ctx: click.Context, limit: int, until_done: bool) -> None:
    """Pay out (goal reached) or back (missed, cancelled) the escrowed tips of closed refund-if-missed goals,
    up to --limit per run, then close the active goals reached or past their deadline
    (api.settle_tip_goals). A goal closed in one run has its tips settled by the next."""
    client = service_client(ctx)
    totals = dict.fromkeys(SETTLEMENT_FIGURES, 0)
    runs = 0
    while True:
        settled = client.settle_tip_goals(limit=limit)
        runs += 1
        figures = {name: getattr(settled, name) for name in SETTLEMENT_FIGURES}
        for name, value in figures.items():
            totals[name] += value
        if until_done:
            note(f"settle_tip_goals: run {runs}, {sum(totals.values())} so far")
        if not until_done or not any(figures.values()):
            break
    emit([{"job": "settle_tip_goals", **totals, "processed": sum(totals.values()), "batches": runs}])
    note(
        f"settle_tip_goals: {totals['tips_paid']} tips paid out, {totals['tips_refunded']} refunded, "
        f"{totals['goals_reached']} goals reached, {totals['goals_missed']} missed, "
        f"{totals['goals_activated']} stuck queue(s) given their next goal in {runs} run(s)"
    )


@command.command("bill-shows")
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many viewers billed (default: until there is nobody left to bill).",
)
@click.pass_context
@catalogued_errors
def bill_shows(ctx: click.Context, max_steps: int | None) -> None:
    """Bill shows (api.bill_shows, one transaction per step): expire unanswered private show requests, take
    out viewers who stopped watching, then bill one viewer per step (completed minutes, tickets, what those
    who are out owe, their reservations released) until a step finds nobody (or --max-steps)."""
    client = service_client(ctx)
    steps = captured = released = settled = out_of_tokens = 0
    while max_steps is None or steps < max_steps:
        billed = client.bill_shows()
        if billed is None:
            break
        steps += 1
        captured += billed.captured
        released += billed.released
        settled += billed.outcome != "billed"
        out_of_tokens += billed.outcome == "out of tokens"
        note(f"bill_shows: step {steps}, {captured} tokens captured, {settled} viewer(s) settled so far")
    emit(
        [
            {
                "job": "bill_shows",
                "steps": steps,
                "captured": captured,
                "released": released,
                "settled": settled,
                "out_of_tokens": out_of_tokens,
            }
        ]
    )
    note(
        f"bill_shows: {steps} step(s), {captured} tokens captured, {released} released, {settled} viewer(s) "
        f"settled, {out_of_tokens} out of tokens"
    )


@command.command("wake-listeners")
@click.option("--interval", type=float, default=0.02, show_default=True, help="Seconds between two calls.")
@click.option("--once", is_flag=True, help="One call (from now: it only finds the position) and stop.")
@click.pass_context
@catalogued_errors
def wake_listeners(ctx: click.Context, interval: float, once: bool) -> None:
    """The notifier of events.wake_up "notifier": wake each stream's listeners once per interval at most
    (api.wake_stream_listeners), instead of every transaction NOTIFYing at its commit."""
    client = service_client(ctx)
    position = client.wake_stream_listeners(None)
    note(f"wake-listeners: from position {position}, every {interval} s")
    while not once:
        time.sleep(interval)
        position = client.wake_stream_listeners(position)
