"""``livepanty-db shards``: a sharded installation (docs/scale-out.md): install the routing, run the relay of
cross-shard tips, show the outboxes. ``--dsn`` (or the local cluster of a home started with
``livepanty-db local start --shards N``) is the router."""

from __future__ import annotations

import contextlib
import datetime
import sys
import threading

import click

from livepanty_db import migrate as migrations
from livepanty_db import shards as sharding
from livepanty_db.cli.output import emit, handle_errors, note, register_error

register_error(sharding.ShardError)


def _router(ctx: click.Context) -> str:
    return ctx.find_root().obj.dsn()


@click.group("shards")
def command() -> None:
    """A sharded installation: routing, the relay of cross-shard tips, the outboxes."""


@command.command("install")
@click.option(
    "--shard",
    "shard_dsns",
    metavar="DSN",
    multiple=True,
    required=True,
    help="A shard database (superuser DSN), in shard order: --shard DSN0 --shard DSN1 ... (1, 2, 4, ...).",
)
@click.pass_context
@handle_errors
def install(ctx: click.Context, shard_dsns: tuple[str, ...]) -> None:
    """Migrate every shard and the router (--dsn), then install the routing (repeatable: run it after every
    upgrade). The local equivalent is `livepanty-db local start --shards N`, and `migrate` on it."""
    router = _router(ctx)
    with contextlib.redirect_stdout(sys.stderr):
        for dsn in shard_dsns:
            migrations.apply(dsn)
        migrations.apply(router)
    sharding.install(router, list(shard_dsns))
    note(f"routing installed: the router and {len(shard_dsns)} shard(s)")


@command.command("relay")
@click.option("--once", is_flag=True, help="One pass over every pair of shards, then exit.")
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Transfers claimed per pair and transaction.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.01, 60),
    default=0.2,
    show_default=True,
    help="Seconds to wait after a pass that moved nothing.",
)
@click.option(
    "--call-timeout",
    type=click.FloatRange(1, 3600),
    default=sharding.RELAY_CALL_TIMEOUT,
    show_default=True,
    help="Give up a step with a pair of shards (a batch) after this many seconds: a shard that hangs.",
)
@click.pass_context
@handle_errors
def relay(ctx: click.Context, once: bool, batch: int, interval: float, call_timeout: float) -> None:
    """Deliver cross-shard tips from every shard's outbox to the performer's shard, exactly once (any number
    of relays may run; each claims other rows). Runs until interrupted, or one pass with --once. A shard that
    hangs holds the relay for at most --call-timeout, then is left alone for a few seconds at a time. The
    relay's sessions end themselves when idle in a transaction for twice --call-timeout (at least 60 s): a
    relay cut off mid-step leaves no locks behind on a shard for longer."""
    dsns = sharding.partition_dsns(_router(ctx))
    if once:
        stats = sharding.relay_once(dsns, limit=batch, call_timeout=call_timeout)
        emit(
            [
                {
                    "delivered": stats.delivered,
                    "already_applied": stats.duplicates,
                    "failed": stats.failed,
                    "payout_holds": stats.holds,
                    "sanctions": stats.sanctions,
                    "payout_hold_lifts": stats.lifts,
                }
            ],
            ["delivered", "already_applied", "failed", "payout_holds", "sanctions", "payout_hold_lifts"],
        )
        for error in stats.errors:
            note(f"warning: {error}")
        if stats.failed or stats.errors:
            sys.exit(1)
        return
    stop = threading.Event()

    def report(stats: sharding.RelayStats) -> None:
        if stats.delivered or stats.duplicates or stats.holds or stats.sanctions or stats.lifts:
            note(
                f"delivered {stats.delivered}, already applied {stats.duplicates},"
                f" payout holds {stats.holds}, sanctions {stats.sanctions}, payout hold lifts {stats.lifts}"
            )
        for error in stats.errors:
            note(f"warning: {error}")

    note(f"relaying between {len(dsns)} shards (Ctrl-C stops)")
    try:
        sharding.relay(
            dsns, limit=batch, interval=interval, stop=stop, on_pass=report, call_timeout=call_timeout
        )
    except KeyboardInterrupt:
        stop.set()


@command.command("status")
@click.pass_context
@handle_errors
def status(ctx: click.Context) -> None:
    """Per shard and peer: tokens sent and received, transfers pending delivery, the in-transit wallet, the
    payout hold and sanction requests pending delivery, and the last delivery error."""
    rows = sharding.transfer_status(sharding.partition_dsns(_router(ctx)))
    emit(
        rows,
        [
            "shard",
            "peer",
            "sent_tokens",
            "pending",
            "pending_tokens",
            "received_tokens",
            "transit_balance",
            "requests_pending",
            "last_error",
        ],
    )


@command.command("delivery")
@click.option(
    "--at-once/--by-relay",
    "at_once",
    default=None,
    help="Set it: the router credits a cross-shard tip before api.tip returns, or the relay alone does.",
)
@click.pass_context
@handle_errors
def delivery(ctx: click.Context, at_once: bool | None) -> None:
    """Show (or set) how cross-shard tips and captures (and sanctions decided on another shard) reach their
    shard: by the relay alone (the default), or at once by the router before api.tip (api.capture_hold,
    api.resolve_case) returns, the relay delivering whatever the router could not. Run the relay in both
    cases."""
    mode = sharding.delivery_at_once(_router(ctx), at_once)
    emit([{"delivery": "at_once" if mode else "by_relay"}], ["delivery"])


@command.command("partitions")
@click.pass_context
@handle_errors
def partitions(ctx: click.Context) -> None:
    """Every shard's conninfo as the router reaches it, and whether it is fenced (since when, by whom,
    why)."""
    emit(
        [
            {
                "shard": p.shard,
                "conninfo": sharding.masked(p.conninfo),
                "fenced_at": p.fenced_at,
                "fenced_by": p.fenced_by,
                "fence_reason": p.fence_reason,
            }
            for p in sharding.partitions(_router(ctx))
        ],
        ["shard", "conninfo", "fenced_at", "fenced_by", "fence_reason"],
    )


@command.command("fence")
@click.argument("shard", type=click.IntRange(0, 63))
@click.option("--reason", required=True, help="Why (kept with the fence; shown by `shards partitions`).")
@click.pass_context
@handle_errors
def fence(ctx: click.Context, shard: int, reason: str) -> None:
    """Fence a shard at the router: every call for it fails at once with LP200 (ShardUnavailable, transient)
    instead of waiting for a shard that hangs; the other shards and the relay go on. Until `shards unfence`
    (`shards watch` never lifts an operator's fence)."""
    changed = sharding.fence(_router(ctx), shard, reason=reason)
    note(f"shard {shard} fenced" if changed else f"shard {shard} was fenced already")


@command.command("unfence")
@click.argument("shard", type=click.IntRange(0, 63))
@click.pass_context
@handle_errors
def unfence(ctx: click.Context, shard: int) -> None:
    """Route calls to a fenced shard again."""
    changed = sharding.unfence(_router(ctx), shard)
    note(f"shard {shard} unfenced" if changed else f"shard {shard} was not fenced")


@command.command("watch")
@click.option("--once", is_flag=True, help="One pass, then exit (status 1 when a shard did not answer).")
@click.option(
    "--interval",
    type=click.FloatRange(0.5, 600),
    default=5.0,
    show_default=True,
    help="Seconds between passes.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 60),
    default=3.0,
    show_default=True,
    help="Seconds a shard has to answer SELECT 1 before it is fenced.",
)
@click.option(
    "--lift-after",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Passes in a row a fenced shard must answer before the watch lifts its fence.",
)
@click.option(
    "--end-stuck-calls",
    "end_stuck_after",
    type=click.FloatRange(1, 3600),
    default=None,
    metavar="SECONDS",
    help="While a shard is fenced, end the router's API calls running longer than this with no wait event "
    "(calls that went to a shard before it hung; their clients get a lost connection). Off by default.",
)
@click.pass_context
@handle_errors
def watch(
    ctx: click.Context,
    once: bool,
    interval: float,
    timeout: float,
    lift_after: int,
    end_stuck_after: float | None,
) -> None:
    """Probe every shard; fence each that does not answer within --timeout (a shard down, or one whose
    processes hang: calls for it then fail at once with LP200 instead of waiting), and lift its own fence of
    each that answers again (--lift-after passes in a row; with --once, at once). A probe that fails for
    another reason (a password, too many connections) is reported, not fenced, and a pass in which no shard
    answers fences none. Runs until interrupted, or one pass with --once."""
    router = _router(ctx)

    def report(outcome: sharding.WatchPass) -> None:
        if outcome.held_back:
            note("warning: no shard answered: fencing none (is the watch cut off from the shards?)")
        for shard, why in sorted(outcome.down.items()):
            if shard not in outcome.fenced and not sharding.unreachable(why):
                note(f"warning: shard {shard}: the probe failed (not fenced): {why}")
        for shard in outcome.fenced:
            note(f"shard {shard} fenced: {outcome.down[shard]}")
        for shard in outcome.unfenced:
            note(f"shard {shard} answers again: unfenced")
        if outcome.ended:
            note(f"ended {len(outcome.ended)} router call(s) stuck on a fenced shard: {outcome.ended}")

    if once:
        outcome = sharding.watch_once(router, timeout=timeout, end_stuck_after=end_stuck_after)
        report(outcome)
        emit(
            [{"shard": shard, "down": reason} for shard, reason in sorted(outcome.down.items())],
            ["shard", "down"],
        )
        if outcome.down:
            sys.exit(1)
        return
    stop = threading.Event()
    note(f"watching the shards every {interval:g} s (Ctrl-C stops)")
    try:
        sharding.watch(
            router,
            interval=interval,
            timeout=timeout,
            lift_after=lift_after,
            stop=stop,
            on_pass=report,
            end_stuck_after=end_stuck_after,
        )
    except KeyboardInterrupt:
        stop.set()


@command.command("sync-erasures")
@click.pass_context
@handle_errors
def sync_erasures(ctx: click.Context) -> None:
    """Carry every shard's erasures to the directory (the username and address hash become the pseudonym the
    erasure gave) and to the users' stubs on the other shards (erased there too). Idempotent; schedule it with
    the other jobs. Exit status 1 when a shard could not be reached (run it again when it is back)."""
    router = _router(ctx)
    result = sharding.sync_erasures(router, sharding.partition_dsns(router))
    emit(
        [
            {
                "erased_users": result.erased,
                "directory_entries": result.directory,
                "stubs_erased": result.stubs,
            }
        ],
        ["erased_users", "directory_entries", "stubs_erased"],
    )
    for error in result.errors:
        note(f"warning: {error}")
    if result.errors:
        sys.exit(1)


@command.command("adopt-orphans")
@click.option(
    "--grace-minutes",
    type=click.IntRange(0, 10_080),
    default=10,
    show_default=True,
    help="Registrations younger than this are left alone (their router transaction may still be running).",
)
@click.pass_context
@handle_errors
def adopt_orphans(ctx: click.Context, grace_minutes: int) -> None:
    """Registrations on a shard that the directory does not know (`verify --all-shards` names them): written
    into the directory when their username and address are free there; otherwise erased on their shard if
    their wallet never moved a token. Exit status 1 when one is left for a person or a shard was
    unreachable."""
    router = _router(ctx)
    report = sharding.adopt_orphans(
        router, sharding.partition_dsns(router), grace=datetime.timedelta(minutes=grace_minutes)
    )
    emit(
        [{"adopted": report.adopted, "discarded": report.discarded, "left": len(report.left)}],
        ["adopted", "discarded", "left"],
    )
    for problem in (*report.left, *report.errors):
        note(f"warning: {problem}")
    if report.left or report.errors:
        sys.exit(1)
