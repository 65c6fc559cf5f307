"""``livepanty-db metrics``: the monitoring views as Prometheus metrics or a table (livepanty_db.metrics).

Reads as ``livepanty_readonly`` (``SET LOCAL ROLE``: the connecting login must be a member, or a superuser),
in one
read-only transaction; then, unless ``--no-record``, takes a sample as ``livepanty_service``
(``api.record_metrics_sample``) so that the next reading's WAL rate and growth cover the time in between. A
login that may not record (not a member of livepanty_service, or a replica) gets a warning on stderr once and
the metrics all the same.

Output: ``--format prometheus`` (the default for this command), or the CLI's ``table``, ``json``, ``csv`` (one
row per sample: metric, labels, value). ``--watch SECONDS`` repaints every SECONDS until Ctrl-C.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from click.core import ParameterSource

from livepanty_db import metrics
from livepanty_db.cli.common import SERVICE_ROLE
from livepanty_db.cli.output import CliError, note, render
from livepanty_db.client import Client
from livepanty_db.errors import LivepantyError


def _format(ctx: click.Context) -> str:
    """``--format`` as given; by default prometheus (the global default, table, is for the other commands)."""
    root = ctx.find_root()
    if root.get_parameter_source("fmt") in (ParameterSource.DEFAULT, None):
        return "prometheus"
    return root.obj.format


def _reading(families: list[metrics.Family], fmt: str, comment: str | None) -> str:
    if fmt == "prometheus":
        return metrics.prometheus_text(families, comment=comment).rstrip("\n")
    rows = metrics.table_rows(families)
    if fmt == "table":  # the exact value, not tabulate's 6 significant digits
        rows = [{**row, "value": metrics.format_value(float(row["value"]))} for row in rows]
    text = render(rows, fmt, metrics.TABLE_COLUMNS)
    return f"{comment}\n{text}" if comment and fmt == "table" else text


class _Recorder:
    """Takes the samples; warns once and stops trying when this login may not."""

    def __init__(self, dsn: str, enabled: bool) -> None:
        self.client = Client(dsn, role=SERVICE_ROLE) if enabled else None

    def __call__(self) -> None:
        if self.client is None:
            return
        try:
            metrics.record_sample(self.client)
        except LivepantyError as exc:
            note(
                f"warning: no metrics sample recorded ({exc.sqlstate}: {exc.message}); the WAL rate and the"
                " growth need one (a login in livepanty_service on the primary), --no-record silences this"
            )
            self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


@click.command("metrics")
@click.option(
    "--watch",
    type=click.FloatRange(min=1, max=86400),
    metavar="SECONDS",
    default=None,
    help="Repaint every SECONDS (1..86400) for a terminal, until Ctrl-C.",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="After each reading, take a sample (api.record_metrics_sample, as livepanty_service) for the next "
    "reading's WAL rate and growth.",
)
@click.pass_context
def command(ctx: click.Context, watch: float | None, record: bool) -> None:
    """Print the database's metrics (schema monitoring) in Prometheus text format, or as a table.

    Connections by state and age, the oldest transaction, slow statements (pg_stat_statements), index and
    table usage, tips, purchases and payouts per minute and their latency, WAL rate and archiving, database
    and table sizes with growth since the last sample, partitions made ahead, replication lag, and the latest
    ledger verification. Every name starts with livepanty_. The format is prometheus unless --format table,
    json or csv is given. The reading login must be a member of livepanty_readonly.
    """
    fmt = _format(ctx)
    dsn = ctx.find_root().obj.dsn()
    reader = ctx.with_resource(Client(dsn, role=metrics.READER_ROLE))
    recorder = _Recorder(dsn, record)
    ctx.call_on_close(recorder.close)
    try:
        while True:
            try:
                families = metrics.collect(reader)
            except LivepantyError as exc:
                raise CliError(
                    exc.message,
                    code=exc.sqlstate,
                    detail=exc.detail,
                    hint=exc.hint
                    or "The login must be a member of livepanty_readonly, and the database migrated"
                    " (livepanty-db migrate creates schema monitoring).",
                ) from exc
            recorder()
            if watch is None:
                click.echo(_reading(families, fmt, None))
                return
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            click.clear()
            header = f"livepanty-db metrics at {now}, every {watch:g} s (Ctrl-C stops)"
            click.echo(_reading(families, fmt, header))
            time.sleep(watch)
    except KeyboardInterrupt:
        ctx.exit(0)
