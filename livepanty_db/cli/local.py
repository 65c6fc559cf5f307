"""``livepanty-db local``: the embedded development cluster (see livepanty_db.local)."""

from __future__ import annotations

import sys

import click

from livepanty_db import local as cluster
from livepanty_db.cli.output import emit, handle_errors, note


@click.group("local")
def command() -> None:
    """The embedded PostgreSQL cluster in $LIVEPANTY_HOME (default ./.livepanty)."""


@command.command("start")
@handle_errors
def start() -> None:
    """Initialise (first time), start, and create the livepanty database."""
    emit(cluster.start().rows(), ["key", "value"])


@command.command("stop")
@handle_errors
def stop() -> None:
    """Stop the server (fast shutdown)."""
    emit(cluster.stop().rows(), ["key", "value"])


@command.command("status")
@handle_errors
def status() -> None:
    """Show where the cluster is and whether it runs."""
    emit(cluster.status().rows(), ["key", "value"])


@command.command("url")
@handle_errors
def url() -> None:
    """Print the libpq URI of the livepanty database (for psql, DATABASE_URL, ...)."""
    click.echo(cluster.url())


@command.command("psql", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def psql(psql_args: tuple[str, ...]) -> None:
    """Run psql on the livepanty database (starting the cluster if needed); extra arguments go to psql."""
    sys.exit(cluster.psql(psql_args))


@command.command("destroy")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def destroy(yes: bool) -> None:
    """Stop the cluster and delete its data directory and state (all data is lost)."""
    target = cluster.Cluster()
    if not yes:
        click.confirm(f"Delete the local cluster of {target.home} and all its data?", abort=True)
    target.destroy()
    note(f"deleted the local cluster of {target.home}")
