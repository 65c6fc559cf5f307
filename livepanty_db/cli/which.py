"""``livepanty-db which``: the database every other command would use, and why."""

from __future__ import annotations

import click

from livepanty_db.cli.output import emit, handle_errors


@click.command("which")
@click.pass_context
@handle_errors
def command(ctx: click.Context) -> None:
    """Print the database the commands use (password hidden) and where that choice came from.

    The order: --dsn, $LIVEPANTY_DSN, $DATABASE_URL, libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER,
    PGSERVICE, PGPASSFILE), else the embedded local cluster (started if it is not running).
    """
    resolved = ctx.find_root().obj.resolved()
    emit([{"dsn": resolved.display(), "source": resolved.source}], ["dsn", "source"])
