"""``livepanty-db seed``: fill a database with a realistic platform at volume (livepanty_db/seed.py).

Needs a superuser connection (the embedded cluster's by default): the rows are written set-based, straight
into the tables, in one transaction (nothing is left behind when it fails or is interrupted). Refuses a
database that already has users unless ``--force``. Progress (one step per batch) on stderr; the figures of
what was written on stdout.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from livepanty_db import seed as seeding
from livepanty_db.cli.output import CliError, emit, note


@click.command("seed")
@click.option("--users", type=click.IntRange(1, seeding.MAX_USERS), required=True, help="Viewers to create.")
@click.option(
    "--performers", type=click.IntRange(1, seeding.MAX_PERFORMERS), required=True,
    help="Performers to create (approved identity verification, one stream a day each).",
)
@click.option("--days", type=click.IntRange(1, seeding.MAX_DAYS), required=True, help="Days the tips span.")
@click.option("--tips", type=click.IntRange(0, seeding.MAX_TIPS), required=True, help="Tips to create.")
@click.option(
    "--seed", "seed_value", type=click.IntRange(0, 2**31 - 1), default=None,
    help="Random seed: same seed and --until, same rows, ids included (default: random, printed).",
)
@click.option(
    "--until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]), default=None,
    help="End of the seeded period, UTC (default: now); the tips span the --days before it.",
)
@click.option("--force", is_flag=True, help="Seed even though the database already has users (adds to them).")
@click.option(
    "--password-stdin", is_flag=True,
    help="Read the password of every seeded user from stdin (default: livepanty_db.seed.DEFAULT_PASSWORD).",
)
@click.pass_context
def command(
    ctx: click.Context, users: int, performers: int, days: int, tips: int, seed_value: int | None,
    until: datetime | None, force: bool, password_stdin: bool,
) -> None:
    """Generate USERS viewers, PERFORMERS performers and TIPS tips over DAYS days, with purchases and ledger.

    Tips follow Zipf laws (a few performers get most of them, a few viewers spend most tokens); every tip and
    purchase has the ledger transaction api.tip / api.complete_payment would have written, so `livepanty-db
    verify` finds no violation. For development and benchmarks, never on a production database: it holds
    lp.users (no registration), lp.tips and lp.ledger (whose secondary indexes it rebuilds) locked until it
    commits, minutes at millions of tips.
    """
    password = seeding.DEFAULT_PASSWORD
    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\n")
        if not password:
            raise click.UsageError("--password-stdin: no password on stdin")
    steps = seeding.planned_steps(tips)
    with click.progressbar(
        length=steps, label="seeding", file=click.get_text_stream("stderr"),
        item_show_func=lambda name: name,
    ) as bar:
        def progress(name: str, _rows: int) -> None:
            bar.update(1, name)

        try:
            result = seeding.seed(
                ctx.find_root().obj.dsn(), users=users, performers=performers, days=days, tips=tips,
                seed_value=seed_value, until=until.replace(tzinfo=UTC) if until else None,
                force=force, password=password, progress=progress,
            )
        except seeding.SeedError as exc:
            raise CliError(str(exc)) from exc
    emit(result.rows(), ["key", "value"])
    note(f"seeded {result.ledger_entries} ledger entries in {result.seconds} s (seed {result.seed});"
         " check them with `livepanty-db verify`")
