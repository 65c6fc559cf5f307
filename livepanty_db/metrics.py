"""``livepanty-db metrics``: the monitoring views of schema ``monitoring`` as Prometheus metrics.

:func:`collect` reads every view (``monitoring.server``, ``connections``, ``oldest_transaction``,
``slow_statements``, ``index_usage``, ``table_usage``, ``activity``, ``wal``, ``archiver``, ``sizes``,
``partitions``, ``replication``, ``ledger_verification``) in one read-only transaction and turns their rows
into :class:`Family` objects, named with the ``livepanty_`` prefix (the list, with what each means:
:data:`FAMILIES`). :func:`prometheus_text` renders them in the Prometheus text exposition format (version
0.0.4: ``# HELP`` and ``# TYPE`` lines, label values escaped), :func:`table_rows` as rows for the CLI's table,
json and csv formats.

The views are readable by ``livepanty_readonly`` (the reading transaction runs ``SET LOCAL ROLE`` to it, so
its grants are what is exercised); rates and growth are computed against the latest sample of
``api.record_metrics_sample`` (``livepanty_service``), which :func:`record_sample` takes after a reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row

#: The role that reads the monitoring views (docs: README "Security model").
READER_ROLE = "livepanty_readonly"
PREFIX = "livepanty_"
#: Metric types used (Prometheus text format).
TYPES = ("gauge", "counter")


@dataclass(frozen=True)
class Sample:
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass
class Family:
    """One metric: its name (with the prefix), type, help text and samples."""

    name: str
    type: str
    help: str
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: Any, **labels: Any) -> None:
        """Add a sample; a NULL value (``None``) adds nothing (the metric is absent, not 0)."""
        number = _number(value)
        if number is not None:
            self.samples.append(Sample(tuple((k, str(v)) for k, v in labels.items()), number))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError(f"not a metric value: {value!r}")


# --- what is exported -------------------------------------------------------------------------------------

#: (name without the prefix, type, help) of every metric, in output order.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("server_start_time_seconds", "gauge", "When the server started (Unix time)."),
    ("server_in_recovery", "gauge", "1 on a replica (in recovery), 0 on a primary."),
    (
        "replica_replay_delay_seconds",
        "gauge",
        "On a replica: seconds since the last replayed transaction committed on the primary.",
    ),
    ("connections_max", "gauge", "The server's max_connections."),
    ("connections_used", "gauge", "Client connections open on the server, every database."),
    ("connections", "gauge", "Client connections to this database by state (the reader's own left out)."),
    (
        "connections_waiting_on_lock",
        "gauge",
        "Client connections of this database waiting on a lock, by state.",
    ),
    (
        "connection_oldest_state_seconds",
        "gauge",
        "Seconds the oldest connection in the state has been in it, by state (0 when none).",
    ),
    (
        "connection_oldest_transaction_seconds",
        "gauge",
        "Age in seconds of the oldest open transaction among the connections in the state, by state.",
    ),
    (
        "oldest_transaction_seconds",
        "gauge",
        "Age in seconds of the oldest open transaction in this database.",
    ),
    (
        "oldest_snapshot_xmin_age",
        "gauge",
        "Age in transactions of the oldest snapshot held in this database (what holds vacuum back).",
    ),
    ("prepared_transactions", "gauge", "Prepared (two-phase) transactions waiting in this database."),
    (
        "oldest_prepared_transaction_seconds",
        "gauge",
        "Age in seconds of the oldest prepared transaction of this database (0 when none).",
    ),
    (
        "pg_stat_statements_available",
        "gauge",
        "1 when pg_stat_statements is installed in this database and preloaded (statement metrics need it).",
    ),
    (
        "statement_calls_total",
        "counter",
        "Calls of the slowest statements by mean time (pg_stat_statements; normalised text).",
    ),
    ("statement_seconds_total", "counter", "Total execution time of the slowest statements, in seconds."),
    ("statement_mean_seconds", "gauge", "Mean execution time of the slowest statements, in seconds."),
    ("statement_max_seconds", "gauge", "Longest execution of the slowest statements, in seconds."),
    ("index_scans_total", "counter", "Scans of each index of an lp table since the statistics were reset."),
    ("index_size_bytes", "gauge", "Size of each index of an lp table, in bytes."),
    (
        "index_unused",
        "gauge",
        "1 for an index of an lp table never scanned since the statistics were reset and not enforcing "
        "uniqueness.",
    ),
    ("table_seq_scans_total", "counter", "Sequential scans of each lp table."),
    ("table_seq_rows_read_total", "counter", "Rows read by sequential scans of each lp table."),
    ("table_index_scans_total", "counter", "Index scans of each lp table."),
    ("table_live_rows", "gauge", "Live rows of each lp table (estimate)."),
    ("table_dead_rows", "gauge", "Dead rows of each lp table (estimate; vacuum removes them)."),
    (
        "activity_per_minute",
        "gauge",
        "Tips made, purchases completed and payouts paid per minute, over the last 5 minutes, by kind.",
    ),
    ("activity_tokens_per_minute", "gauge", "Tokens moved per minute by kind, over the last 5 minutes."),
    (
        "activity_latency_seconds",
        "gauge",
        "Seconds from creation to completion of the purchases completed and payouts paid in the last 5 "
        "minutes, by kind and quantile (0.5, 0.95, 1 = max).",
    ),
    (
        "wal_bytes_total",
        "counter",
        "The write-ahead log position in bytes (its rate is the WAL rate; on a replica, the replayed one).",
    ),
    ("wal_bytes_per_second", "gauge", "WAL written per second since the latest sample."),
    ("wal_records_total", "counter", "WAL records written since pg_stat_wal was reset."),
    ("wal_full_page_images_total", "counter", "WAL full-page images written since pg_stat_wal was reset."),
    ("wal_archiving", "gauge", "1 when archive_mode is on (WAL archiving for backups), else 0."),
    ("wal_archived_total", "counter", "WAL files archived since the statistics were reset."),
    ("wal_archive_failed_total", "counter", "Failed attempts to archive a WAL file (statistics reset: 0)."),
    ("wal_last_archived_age_seconds", "gauge", "Seconds since the last WAL file was archived."),
    ("wal_archive_failing", "gauge", "1 when the latest attempt to archive a WAL file failed, else 0."),
    ("database_size_bytes", "gauge", "Size of this database, in bytes."),
    ("database_growth_bytes", "gauge", "Growth of this database since the latest sample, in bytes."),
    ("table_size_bytes", "gauge", "Size of each lp table (indexes and TOAST included), in bytes."),
    ("table_growth_bytes", "gauge", "Growth of each lp table since the latest sample, in bytes."),
    (
        "metrics_sample_age_seconds",
        "gauge",
        "Seconds since the latest sample (api.record_metrics_sample) the rates and growth are computed from.",
    ),
    ("partitions", "gauge", "Range partitions of each partitioned lp table (lp.ledger, lp.audit_logs)."),
    (
        "partitions_ahead_seconds",
        "gauge",
        "Seconds from now until the latest partition's upper bound, by table (negative: rows go to the "
        "default partition; api.maintain_partitions creates them ahead).",
    ),
    (
        "partition_default_rows",
        "gauge",
        "Rows in each partitioned lp table's default partition (estimate; should be 0).",
    ),
    ("replicas", "gauge", "Standbys streaming from this server."),
    ("replica_lag_seconds", "gauge", "Lag of each standby in seconds, by stage (write, flush, replay)."),
    ("replica_lag_bytes", "gauge", "Bytes of WAL each standby's replay is behind."),
    ("ledger_verify_runs_total", "counter", "Ledger verifications recorded (livepanty-db verify)."),
    (
        "ledger_verify_last_timestamp_seconds",
        "gauge",
        "When the latest ledger verification finished (Unix time).",
    ),
    ("ledger_verify_last_age_seconds", "gauge", "Seconds since the latest ledger verification finished."),
    ("ledger_verify_last_ok", "gauge", "1 when the latest ledger verification found no violation, else 0."),
    ("ledger_verify_last_violations", "gauge", "Violations found by the latest ledger verification."),
    ("ledger_verify_last_entries", "gauge", "Ledger entries checked by the latest ledger verification."),
    (
        "ledger_verify_last_duration_seconds",
        "gauge",
        "Duration of the latest ledger verification, in seconds.",
    ),
)

#: The views read, in order, and the statement reading each.
VIEWS: tuple[str, ...] = (
    "server",
    "connections",
    "oldest_transaction",
    "slow_statements",
    "index_usage",
    "table_usage",
    "activity",
    "wal",
    "archiver",
    "sizes",
    "partitions",
    "replication",
    "ledger_verification",
)


def _query(view: str) -> str:
    # The names are constants of this module (VIEWS), never input.
    return f"SELECT * FROM monitoring.{view}"


#: The quantile label of each latency column of monitoring.activity (1: the maximum).
LATENCY_COLUMNS = (
    ("0.5", "latency_p50_seconds"),
    ("0.95", "latency_p95_seconds"),
    ("1", "latency_max_seconds"),
)

Rows = Mapping[str, Sequence[Mapping[str, Any]]]


def families_from_rows(rows: Rows) -> list[Family]:
    """The metrics (in :data:`FAMILIES` order) from each view's rows (a mapping view name -> rows)."""
    fam = {name: Family(PREFIX + name, kind, text) for name, kind, text in FAMILIES}

    for s in rows.get("server", ()):
        fam["server_start_time_seconds"].add(s["started_at"])
        fam["server_in_recovery"].add(s["in_recovery"])
        fam["replica_replay_delay_seconds"].add(s["replay_delay_seconds"])
        fam["connections_max"].add(s["max_connections"])
        fam["connections_used"].add(s["connections_used"])
        fam["pg_stat_statements_available"].add(s["statements_available"])
    for c in rows.get("connections", ()):
        fam["connections"].add(c["connections"], state=c["state"])
        fam["connections_waiting_on_lock"].add(c["waiting_on_lock"], state=c["state"])
        fam["connection_oldest_state_seconds"].add(c["oldest_state_seconds"], state=c["state"])
        fam["connection_oldest_transaction_seconds"].add(c["oldest_transaction_seconds"], state=c["state"])
    for o in rows.get("oldest_transaction", ()):
        fam["oldest_transaction_seconds"].add(o["seconds"])
        fam["oldest_snapshot_xmin_age"].add(o["xmin_age"])
        fam["prepared_transactions"].add(o["prepared_transactions"])
        fam["oldest_prepared_transaction_seconds"].add(o["oldest_prepared_seconds"])
    for q in rows.get("slow_statements", ()):
        labels = {"queryid": q["queryid"], "query": q["query"]}
        fam["statement_calls_total"].add(q["calls"], **labels)
        fam["statement_seconds_total"].add(q["total_seconds"], **labels)
        fam["statement_mean_seconds"].add(q["mean_seconds"], **labels)
        fam["statement_max_seconds"].add(q["max_seconds"], **labels)
    for i in rows.get("index_usage", ()):
        labels = {"table": i["table_name"], "index": i["index_name"]}
        fam["index_scans_total"].add(i["scans"], **labels)
        fam["index_size_bytes"].add(i["size_bytes"], **labels)
        fam["index_unused"].add(i["unused"], **labels)
    for t in rows.get("table_usage", ()):
        fam["table_seq_scans_total"].add(t["seq_scans"], table=t["table_name"])
        fam["table_seq_rows_read_total"].add(t["seq_rows_read"], table=t["table_name"])
        fam["table_index_scans_total"].add(t["index_scans"], table=t["table_name"])
        fam["table_live_rows"].add(t["live_rows"], table=t["table_name"])
        fam["table_dead_rows"].add(t["dead_rows"], table=t["table_name"])
    for a in rows.get("activity", ()):
        fam["activity_per_minute"].add(a["per_minute"], kind=a["kind"])
        fam["activity_tokens_per_minute"].add(a["tokens"] / (a["window_seconds"] / 60), kind=a["kind"])
        for quantile, column in LATENCY_COLUMNS:
            fam["activity_latency_seconds"].add(a[column], kind=a["kind"], quantile=quantile)
    for w in rows.get("wal", ()):
        fam["wal_bytes_total"].add(w["position_bytes"])
        fam["wal_bytes_per_second"].add(w["bytes_per_second"])
        fam["wal_records_total"].add(w["wal_records"])
        fam["wal_full_page_images_total"].add(w["wal_fpi"])
        fam["metrics_sample_age_seconds"].add(w["seconds_since_sample"])
    for r in rows.get("archiver", ()):
        fam["wal_archiving"].add(r["archiving"])
        fam["wal_archived_total"].add(r["archived_count"])
        fam["wal_archive_failed_total"].add(r["failed_count"])
        fam["wal_last_archived_age_seconds"].add(r["last_archived_seconds"])
        fam["wal_archive_failing"].add(r["failing"])
    for z in rows.get("sizes", ()):
        if z["kind"] == "database":
            fam["database_size_bytes"].add(z["bytes"])
            fam["database_growth_bytes"].add(z["growth_bytes"])
        else:
            fam["table_size_bytes"].add(z["bytes"], table=z["name"])
            fam["table_growth_bytes"].add(z["growth_bytes"], table=z["name"])
    for t in rows.get("partitions", ()):
        fam["partitions"].add(t["partitions"], table=t["table_name"])
        fam["partitions_ahead_seconds"].add(t["seconds_ahead"], table=t["table_name"])
        fam["partition_default_rows"].add(t["default_rows"], table=t["table_name"])
    replicas = rows.get("replication", ())
    if "replication" in rows:
        fam["replicas"].add(len(replicas))
    for r in replicas:
        for stage in ("write", "flush", "replay"):
            fam["replica_lag_seconds"].add(r[f"{stage}_lag_seconds"], replica=r["replica"], stage=stage)
        fam["replica_lag_bytes"].add(r["replay_lag_bytes"], replica=r["replica"])
    for v in rows.get("ledger_verification", ()):
        fam["ledger_verify_runs_total"].add(v["runs"])
        fam["ledger_verify_last_timestamp_seconds"].add(v["finished_at"])
        fam["ledger_verify_last_age_seconds"].add(v["seconds_since"])
        fam["ledger_verify_last_ok"].add(v["ok"])
        fam["ledger_verify_last_violations"].add(v["violations"])
        fam["ledger_verify_last_entries"].add(v["entries"])
        fam["ledger_verify_last_duration_seconds"].add(v["duration_seconds"])
    return list(fam.values())


def read_views(fetch: Callable[[str], Sequence[Mapping[str, Any]]]) -> dict[str, list[Mapping[str, Any]]]:
    """Every view's rows, read with ``fetch(statement)`` (one transaction: see :func:`collect`)."""
    return {view: list(fetch(_query(view))) for view in VIEWS}


def collect(client: Any) -> list[Family]:
    """Read the views through ``client`` (a :class:`livepanty_db.Client` whose role is :data:`READER_ROLE`)
    in one read-only transaction, and return the metrics."""
    with client.transaction(read_only=True) as tx:
        rows = read_views(lambda statement: tx.fetch(statement, row_factory=dict_row))
    return families_from_rows(rows)


def record_sample(client: Any) -> datetime:
    """Take a sample for the next reading's rates and growth (``api.record_metrics_sample``; ``client``'s
    role must be livepanty_service)."""
    return client.record_metrics_sample()


# --- rendering --------------------------------------------------------------------------------------------


def escape_label_value(value: str) -> str:
    """A label value in the text format: backslash, double quote and line feed escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """A HELP text in the text format: backslash and line feed escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value: integers without a fraction, NaN and the infinities as the format spells them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _labels(labels: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{escape_label_value(value)}"' for key, value in labels)
    return f"{{{inner}}}" if inner else ""


def prometheus_text(families: Sequence[Family], *, comment: str | None = None) -> str:
    """The metrics in the Prometheus text exposition format (0.0.4), ending with a line feed. A family
    without samples is left out; ``comment`` becomes a leading ``#`` line."""
    lines = [f"# {comment}"] if comment else []
    for family in families:
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        lines += [f"{family.name}{_labels(s.labels)} {format_value(s.value)}" for s in family.samples]
    return "\n".join(lines) + "\n"


#: Columns of :func:`table_rows`.
TABLE_COLUMNS = ("metric", "labels", "value")


def table_rows(families: Sequence[Family]) -> list[dict[str, Any]]:
    """One row per sample: the metric's name, its labels as ``key=value`` pairs, the value."""
    return [
        {
            "metric": family.name,
            "labels": ", ".join(f"{key}={value}" for key, value in s.labels),
            "value": int(s.value) if s.value.is_integer() and abs(s.value) < 2**53 else s.value,
        }
        for family in families
        for s in family.samples
    ]
