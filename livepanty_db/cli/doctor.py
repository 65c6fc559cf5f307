"""``livepanty-db doctor``: checks and a monitoring brief of one database (see livepanty_db.doctor)."""

from __future__ import annotations

import json

import click

from livepanty_db import doctor as checks
from livepanty_db.cli.output import emit, handle_errors, note


@click.command("doctor")
@click.option("--no-drift", is_flag=True, help="Skip the drift check (it migrates a scratch database).")
@click.option(
    "--sample",
    type=click.FloatRange(0, 60),
    default=1.0,
    show_default=True,
    help="Seconds to sample the rate.",
)
@click.pass_context
@handle_errors
def command(ctx: click.Context, no_drift: bool, sample: float) -> None:
    """Check the database: connection and login, pending migrations, drift of functions, views and policies
    from the files, extensions, settings a pooler would lose; then connections, slow statements, indexes,
    transaction rate and sizes (growth since the last run). Exit status 1 when a problem is found."""
    root = ctx.find_root()
    findings = checks.examine(root.obj.dsn(), drift=not no_drift, sample_seconds=sample)
    worst = checks.worst(findings)
    if root.obj.format == "json":
        click.echo(json.dumps({"status": worst, "findings": [f.as_dict() for f in findings]}))
    else:
        emit([f.as_dict() for f in findings], ["check", "status", "detail"])
        problems = sum(f.status == "problem" for f in findings)
        note(f"{problems} problem(s)" if problems else f"no problem found (worst: {worst})")
    if worst == "problem":
        ctx.exit(1)
