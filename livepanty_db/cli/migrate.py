"""``livepanty-db migrate``: apply migrations and repeatables, status, rollback (see livepanty_db.migrate)."""

from __future__ import annotations

import contextlib
import sys

import click

from livepanty_db import migrate as migrations
from livepanty_db import shards as sharding
from livepanty_db.cli.output import confirm, emit, handle_errors, note


def _dsn(ctx: click.Context) -> str:
    return ctx.find_root().obj.dsn()


_LOCK_WAIT = click.option(
    "--lock-wait",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Give up (exit 1, naming the sessions that hold the migration lock) after waiting this long for "
    "another run's lock or for a lock a statement needs. Default: wait as long as it takes, saying every "
    "10 s who holds the migration lock.",
)


@click.group("migrate", invoke_without_command=True)
@_LOCK_WAIT
@click.pass_context
@handle_errors
def command(ctx: click.Context, lock_wait: float | None) -> None:
    """Apply pending migrations, then re-apply functions, views and policies (`migrate` alone)."""
    if ctx.invoked_subcommand is not None:
        return
    topology = sharding.LocalTopology()
    sharded = ctx.find_root().obj.resolved().source == "local cluster" and topology.shard_count()
    # yoyo prints the rows of any statement that returns some: keep stdout for our own output.
    with contextlib.redirect_stdout(sys.stderr):
        applied = (
            topology.migrate(lock_wait=lock_wait)
            if sharded
            else migrations.apply(_dsn(ctx), lock_wait=lock_wait)
        )
    emit([{"migration": m, "action": "applied"} for m in applied], ["migration", "action"])
    where = f" on the router and {topology.shard_count()} shards, routing re-installed" if sharded else ""
    note(f"{len(applied)} migration(s) applied; functions, views and policies re-applied{where}")


@command.command("status")
@click.pass_context
@handle_errors
def status(ctx: click.Context) -> None:
    """List every migration: applied (with time, UTC) or pending."""
    rows = [
        {"migration": s.id, "state": s.state, "applied_at": s.applied_at}
        for s in migrations.status(_dsn(ctx))
    ]
    emit(rows, ["migration", "state", "applied_at"])


@command.command("rollback")
@click.option("--all", "all_", is_flag=True, help="Roll back every applied migration.")
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many of the latest migrations to roll back.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_LOCK_WAIT
@click.pass_context
@handle_errors
def rollback(ctx: click.Context, all_: bool, count: int, yes: bool, lock_wait: float | None) -> None:
    """Roll back the latest migration (or --count N, or --all), after asking (--yes: without).

    The tables a migration made are dropped with their data. The repeatable functions, views and policies
    are dropped first and stay dropped: run `livepanty-db migrate` to bring the database forward again.
    """
    if all_ and ctx.get_parameter_source("count") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("use either --all or --count, not both")
    if not yes:
        what = "EVERY migration" if all_ else f"the latest {count} migration(s)"
        where = ctx.find_root().obj.resolved().display()
        confirm(f"Roll back {what} of {where}? The tables they made are dropped with their data")
    with contextlib.redirect_stdout(sys.stderr):
        rolled_back = migrations.rollback(_dsn(ctx), "all" if all_ else count, lock_wait=lock_wait)
    emit([{"migration": m, "action": "rolled back"} for m in rolled_back], ["migration", "action"])
    if rolled_back:
        note("functions, views and policies were dropped; `livepanty-db migrate` re-applies everything")
    else:
        note("nothing to roll back")
