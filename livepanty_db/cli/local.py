"""``livepanty-db local``: the embedded development cluster (see livepanty_db.local)."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from livepanty_db import local as cluster
from livepanty_db import replica as replicas
from livepanty_db import shards as sharding
from livepanty_db.cli.output import emit, handle_errors, note


@click.group("local")
def command() -> None:
    """The embedded PostgreSQL cluster in $LIVEPANTY_HOME (default ./.livepanty)."""


def _emit_status(status: cluster.ClusterStatus | replicas.ReplicaStatus, extra: dict | None = None) -> None:
    """Key/value rows as a table or csv; one JSON object with --format json."""
    values = {**status.as_dict(), **(extra or {})}
    if click.get_current_context().find_root().obj.format == "json":
        click.echo(json.dumps(values))
    else:
        emit([{"key": key, "value": value} for key, value in values.items()], ["key", "value"])


def _database_option(func):
    return click.option(
        "-d",
        "--dbname",
        "database",
        metavar="NAME",
        default=cluster.DATABASE,
        show_default=True,
        help="A database of the local cluster.",
    )(func)


def _emit_topology(status: sharding.TopologyStatus) -> None:
    if click.get_current_context().find_root().obj.format == "json":
        click.echo(json.dumps(status.as_dict()))
    else:
        emit(status.rows(), ["node", "running", "port", "url"])


@command.command("start")
@click.option(
    "--shards",
    type=click.Choice([str(n) for n in sharding.SHARD_COUNTS]),
    default=None,
    help="Start a sharded installation: this cluster as the router and N shard clusters on loopback, all "
    "migrated, routing installed (docs/scale-out.md). A home keeps the number it was started with.",
)
@handle_errors
def start(shards: str | None) -> None:
    """Initialise (first time), start, and create the livepanty database (with --shards N: the router and N
    shards, migrated; later starts of a sharded home start them all)."""
    topology = sharding.LocalTopology()
    known = topology.shard_count()
    if shards is None and not known:
        _emit_status(cluster.start())
        return
    if shards is None:
        status = topology.start_clusters()
    else:
        with contextlib.redirect_stdout(sys.stderr):  # yoyo prints the rows of some migration statements
            status = topology.start(int(shards))
    _emit_topology(status)


@command.command("stop")
@handle_errors
def stop() -> None:
    """Stop the server (fast shutdown); in a sharded home, every shard too."""
    topology = sharding.LocalTopology()
    if topology.shard_count():
        _emit_topology(topology.stop())
        return
    _emit_status(cluster.stop())


@command.command("status")
@handle_errors
def status() -> None:
    """Show where the cluster is and whether it runs (and its local replica: running, URL)."""
    topology = sharding.LocalTopology()
    if topology.shard_count():
        _emit_topology(topology.status())
        return
    replica = replicas.LocalReplica().status()
    _emit_status(cluster.status(), {"replica_running": replica.running, "replica_url": replica.url})


@command.command("url")
@_database_option
@handle_errors
def url(database: str) -> None:
    """Print the libpq URI of the livepanty database, or of -d NAME (for psql, DATABASE_URL, ...)."""
    click.echo(cluster.url(database))


@command.command("psql", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@_database_option
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def psql(database: str, psql_args: tuple[str, ...]) -> None:
    """Run psql on the livepanty database, or on -d NAME (starting the cluster if needed); further arguments
    go to psql."""
    sys.exit(cluster.psql(psql_args, database))


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


@command.group("replica")
def replica() -> None:
    """A streaming replica of the local cluster on loopback (read-only; for client read routing)."""


@replica.command("start")
@handle_errors
def replica_start() -> None:
    """Start the local cluster if needed, make the replica (pg_basebackup -R) the first time, start it."""
    _emit_status(replicas.LocalReplica().start())


@replica.command("stop")
@handle_errors
def replica_stop() -> None:
    """Stop the replica (fast shutdown); its files are kept for the next start."""
    _emit_status(replicas.LocalReplica().stop())


@replica.command("status")
@handle_errors
def replica_status() -> None:
    """Show whether the replica runs, its URL, and its replay lag behind the primary (bytes, seconds)."""
    _emit_status(replicas.LocalReplica().status())
