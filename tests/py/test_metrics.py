"""``livepanty-db metrics`` and the views of schema ``monitoring`` (issue 11, section 4).

The Prometheus output is read back with prometheus_client's own parser (a library, not our code), and its
values must follow real activity: tips and purchases made through the API, a transaction held open in another
connection, a ledger verification recorded by ``livepanty-db verify``, a sample taken between two readings.
The test cluster preloads pg_stat_statements, as every embedded cluster does (livepanty_db.local), and
migration 0037 installs it: slow statements are listed there; the views also work with the extension dropped,
and on a replica that does not preload it. Privileges: the reporting role reads the views; the application
role is refused.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from click.testing import CliRunner, Result
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

from livepanty_db import Client, metrics, migrate, new_idempotency_key
from livepanty_db.cli import main
from livepanty_db.cli import metrics as metrics_cli
from livepanty_db.errors import InvalidArgument
from livepanty_db.local import Cluster, free_port, pg_bin

PASSWORD = "Correct-Horse-42"
ADULT = date(1990, 5, 17)


def cli(dsn: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--dsn", dsn, *args])


def scrape(dsn: str, *args: str) -> dict[str, list[Any]]:
    """``livepanty-db metrics`` parsed by prometheus_client: sample name -> samples."""
    result = cli(dsn, "metrics", *args)
    assert result.exit_code == 0, result.output
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(result.stdout):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    """The value of the one sample of ``name`` with these labels (among others)."""
    found = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {found} in {sorted(samples)}"
    return found[0]


@pytest.fixture
def login(db_url: str) -> Iterator[Any]:
    """Makes LOGIN roles in given database roles; dropped afterwards. Returns their DSNs."""
    made: list[str] = []

    def make(role: str) -> str:
        name = f"lp_metrics_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(db_url, autocommit=True) as conn:
            statement = pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}")
            conn.execute(statement.format(pgsql.Identifier(name), pgsql.Identifier(role)))
        made.append(name)
        return make_conninfo(db_url, user=name)

    yield make
    with psycopg.connect(db_url, autocommit=True) as conn:
        for name in made:
            conn.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(name)))
            conn.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(name)))


def make_business(db_url: str, seed: Any, tips: int) -> None:
    """A viewer buys a bundle (a payment created, then completed by the provider's callback), then tips."""
    with Client(db_url, role="livepanty_app") as app, Client(db_url, role="livepanty_service") as service:
        viewer = app.register_user(
            email="fan@example.com", username="fan", password=PASSWORD, date_of_birth=ADULT
        )
        star = app.register_user(
            email="star@example.com",
            username="star",
            password=PASSWORD,
            date_of_birth=ADULT,
            role="performer",
        )
        seed.approve_kyc(star.id)
        with app.acting_as(viewer.id, reason="test") as tx:
            payment = tx.create_payment("large", "stripe", idempotency_key=new_idempotency_key())
        time.sleep(0.2)  # a latency the purchase metrics can see
        service.complete_payment(payment.id, f"ch_{uuid.uuid4().hex}", idempotency_key=new_idempotency_key())
        for _ in range(tips):
            with app.acting_as(viewer.id, reason="test") as tx:
                tx.tip(star.id, 10, idempotency_key=new_idempotency_key())


# --- the output format -----------------------------------------------------------------------------------


def test_every_metric_is_prefixed_with_help_and_type(db_url: str) -> None:
    result = cli(db_url, "metrics")
    assert result.exit_code == 0, result.output
    families = list(text_string_to_metric_families(result.stdout))
    assert len(families) >= 30
    for family in families:
        assert family.name.startswith("livepanty_"), family.name
        assert family.documentation, family.name
        assert family.type in ("gauge", "counter"), (family.name, family.type)
        assert family.samples, family.name
    lines = result.stdout.splitlines()
    helps = {line.split()[2] for line in lines if line.startswith("# HELP ")}
    types = {line.split()[2] for line in lines if line.startswith("# TYPE ")}
    samples = {line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")}
    assert samples <= helps == types


def test_label_values_and_help_are_escaped_so_a_parser_gets_them_back() -> None:
    nasty = 'a "quoted" back\\slash\nand a new line'
    family = metrics.Family("livepanty_test", "gauge", "help with \\ and\nnew line")
    family.add(1.5, query=nasty, state="idle")
    family.add(None, query="absent")  # NULL: no sample
    family.add(True, query="flag")
    text = metrics.prometheus_text([family, metrics.Family("livepanty_empty", "gauge", "no samples")])
    parsed = list(text_string_to_metric_families(text))
    assert [f.name for f in parsed] == ["livepanty_test"]
    assert parsed[0].documentation == "help with \\ and\nnew line"
    assert [(s.labels, s.value) for s in parsed[0].samples] == [
        ({"query": nasty, "state": "idle"}, 1.5),
        ({"query": "flag"}, 1.0),
    ]
    assert metrics.format_value(float("nan")) == "NaN"
    assert metrics.format_value(float("-inf")) == "-Inf"
    assert metrics.format_value(3.0) == "3"


def test_table_json_and_csv_formats(db_url: str) -> None:
    table = cli(db_url, "metrics", "--format", "table")
    assert table.exit_code == 0, table.output
    header = table.stdout.splitlines()[0].split()
    assert header == ["metric", "labels", "value"]
    assert any(
        line.split()[:2] == ["livepanty_connections", "state=active"] for line in table.stdout.splitlines()
    )
    as_json = cli(db_url, "--format", "json", "metrics", "--no-record")
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert {"metric": "livepanty_server_in_recovery", "labels": "", "value": 0} in rows
    as_csv = cli(db_url, "metrics", "--format", "csv", "--no-record")
    assert as_csv.stdout.splitlines()[0] == "metric,labels,value"


def test_an_unmigrated_database_is_a_clear_error(template_db: str, empty_db: str) -> None:
    result = cli(empty_db, "metrics")  # (template_db: the roles exist on the server)
    assert result.exit_code == 1
    assert 'error [42P01]: relation "monitoring.server" does not exist' in result.output
    assert "livepanty-db migrate creates schema monitoring" in result.output
    assert "Traceback" not in result.output


def test_prometheus_is_a_format_of_metrics_only(db_url: str) -> None:
    result = cli(db_url, "--format", "prometheus", "which")
    assert result.exit_code == 2
    assert "--format prometheus is for `livepanty-db metrics` only" in result.output


def test_watch_repaints_until_interrupted(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    paints: list[float] = []

    def sleep(seconds: float) -> None:
        paints.append(seconds)
        if len(paints) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(metrics_cli.time, "sleep", sleep)
    result = cli(db_url, "metrics", "--watch", "2")
    assert result.exit_code == 0, result.output
    assert paints == [2, 2]
    assert result.stdout.count("# livepanty-db metrics at ") == 2
    assert list(text_string_to_metric_families(result.stdout))  # the header is a comment: still parseable
    assert cli(db_url, "metrics", "--watch", "0.5").exit_code == 2


# --- values that follow real activity ------------------------------------------------------------------


def test_tips_and_purchases_per_minute_and_purchase_latency(db_url: str, seed: Any) -> None:
    before = scrape(db_url)
    assert value(before, "livepanty_activity_per_minute", kind="tip") == 0
    assert "livepanty_activity_latency_seconds" not in before
    make_business(db_url, seed, tips=7)
    after = scrape(db_url)
    assert value(after, "livepanty_activity_per_minute", kind="tip") == pytest.approx(7 / 5)
    assert value(after, "livepanty_activity_tokens_per_minute", kind="tip") == pytest.approx(70 / 5)
    assert value(after, "livepanty_activity_per_minute", kind="purchase") == pytest.approx(1 / 5)
    assert value(after, "livepanty_activity_per_minute", kind="payout") == 0
    latency = value(after, "livepanty_activity_latency_seconds", kind="purchase", quantile="1")
    assert 0.2 <= latency < 60
    assert not [s for s in after["livepanty_activity_latency_seconds"] if s.labels["kind"] == "tip"]


def test_tips_older_than_the_window_are_not_counted(db_url: str, seed: Any) -> None:
    make_business(db_url, seed, tips=3)
    with psycopg.connect(db_url) as conn:  # as if made 6 minutes ago (the superuser bypasses nothing else)
        conn.execute("ALTER TABLE lp.tips DISABLE TRIGGER USER")
        conn.execute("UPDATE lp.tips SET created_at = created_at - interval '6 minutes'")
        conn.execute("ALTER TABLE lp.tips ENABLE TRIGGER USER")
    assert value(scrape(db_url), "livepanty_activity_per_minute", kind="tip") == 0


def test_an_open_transaction_elsewhere_is_the_oldest(db_url: str) -> None:
    idle = scrape(db_url)
    assert value(idle, "livepanty_oldest_transaction_seconds") == 0
    assert value(idle, "livepanty_connections", state="idle in transaction") == 0
    with psycopg.connect(db_url) as other:
        other.execute("SELECT txid_current()")  # a transaction with an id and a snapshot, left open
        time.sleep(1.2)
        busy = scrape(db_url)
        other.rollback()
    assert value(busy, "livepanty_oldest_transaction_seconds") >= 1.2
    assert value(busy, "livepanty_connections", state="idle in transaction") == 1
    assert value(busy, "livepanty_connection_oldest_transaction_seconds", state="idle in transaction") >= 1.2
    assert value(busy, "livepanty_oldest_snapshot_xmin_age") >= 0


def test_wal_rate_and_growth_come_from_the_previous_sample(db_url: str, seed: Any) -> None:
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM lp.metric_samples").fetchone()[0] == 0
    first = scrape(db_url)  # no sample yet: no rate, no growth; then it takes one
    assert "livepanty_wal_bytes_per_second" not in first
    assert "livepanty_database_growth_bytes" not in first
    make_business(db_url, seed, tips=50)
    second = scrape(db_url, "--no-record")
    assert value(second, "livepanty_wal_bytes_total") > value(first, "livepanty_wal_bytes_total")
    assert value(second, "livepanty_wal_bytes_per_second") > 0
    assert value(second, "livepanty_metrics_sample_age_seconds") > 0
    growth = value(second, "livepanty_table_growth_bytes", table="tips")
    assert growth == value(second, "livepanty_table_size_bytes", table="tips") - value(
        first, "livepanty_table_size_bytes", table="tips"
    )
    assert growth > 0
    with psycopg.connect(db_url) as conn:  # --no-record took none
        assert conn.execute("SELECT count(*) FROM lp.metric_samples").fetchone()[0] == 1


def test_index_and_table_usage(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SELECT count(*) FROM lp.tips WHERE id = gen_random_uuid()")  # an index scan
        conn.execute("RESET enable_seqscan")
        conn.execute("SELECT count(*) FROM lp.settings")  # a sequential scan
        conn.execute("SELECT pg_stat_force_next_flush()")
    samples = scrape(db_url)
    indexes = {(s.labels["table"], s.labels["index"]) for s in samples["livepanty_index_size_bytes"]}
    assert ("tips", "tips_pkey") in indexes
    assert ("payments", "payments_completed_at_idx") in indexes
    # unique: never "unused"; a plain index never scanned in this new database: unused
    assert value(samples, "livepanty_index_unused", table="tips", index="tips_pkey") == 0
    assert value(samples, "livepanty_index_unused", table="tips", index="tips_stream_idx") == 1
    assert value(samples, "livepanty_index_scans_total", table="tips", index="tips_stream_idx") == 0
    assert value(samples, "livepanty_index_scans_total", table="tips", index="tips_pkey") >= 1
    assert value(samples, "livepanty_table_index_scans_total", table="tips") >= 1
    assert value(samples, "livepanty_table_seq_scans_total", table="settings") >= 1
    assert value(samples, "livepanty_table_seq_rows_read_total", table="settings") >= 1
    # a partitioned table: its partitions (schema lp_partitions) are listed, and its size sums theirs
    partitions = {s.labels["table"] for s in samples["livepanty_table_live_rows"]} - tables_in_lp(db_url)
    assert partitions
    assert all(p.startswith(("ledger_", "audit_logs_")) for p in partitions)
    with psycopg.connect(db_url) as conn:
        ledger = conn.execute(
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('lp.ledger') WHERE isleaf"
        ).fetchone()[0]
    assert value(samples, "livepanty_table_size_bytes", table="ledger") == ledger > 0


def test_partitions_made_ahead_and_the_default_partition(db_url: str) -> None:
    samples = scrape(db_url)
    with psycopg.connect(db_url) as conn:  # lp_partitions.ledger_YYYY_MM covers that month
        names = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'lp.ledger'::regclass AND c.relname ~ '^ledger_[0-9]{4}_[0-9]{2}$'"
            )
        ]
        now = conn.execute("SELECT now()").fetchone()[0]
    year, month = (int(part) for part in max(names).split("_")[1:])
    until = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    assert value(samples, "livepanty_partitions", table="ledger") == len(names) > 0
    ahead = value(samples, "livepanty_partitions_ahead_seconds", table="ledger")
    assert ahead == pytest.approx((until - now).total_seconds(), abs=60)
    assert ahead > 0
    assert value(samples, "livepanty_partition_default_rows", table="audit_logs") == 0
    with psycopg.connect(db_url) as conn:  # an audit row of a month without its partition
        conn.execute(
            "INSERT INTO lp.audit_logs (occurred_at, action) VALUES (now() + interval '5 years', 'test.row')"
        )
        conn.execute("SELECT pg_stat_force_next_flush()")
    assert value(scrape(db_url), "livepanty_partition_default_rows", table="audit_logs") == 1


def tables_in_lp(db_url: str) -> set[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT relname FROM pg_class WHERE relnamespace = 'lp'::regnamespace")
        return {r[0] for r in rows}


def test_the_ledger_verification_status_is_the_last_recorded_run(db_url: str, seed: Any) -> None:
    assert "livepanty_ledger_verify_last_ok" not in scrape(db_url)
    assert value(scrape(db_url), "livepanty_ledger_verify_runs_total") == 0
    make_business(db_url, seed, tips=2)
    assert cli(db_url, "verify").exit_code == 0
    good = scrape(db_url)
    assert value(good, "livepanty_ledger_verify_last_ok") == 1
    assert value(good, "livepanty_ledger_verify_last_violations") == 0
    assert value(good, "livepanty_ledger_verify_last_entries") > 0
    assert value(good, "livepanty_ledger_verify_runs_total") == 1
    with psycopg.connect(db_url) as conn:  # break a balance behind the ledger's back
        conn.execute("UPDATE lp.wallets SET balance = balance + 1 WHERE user_id IS NOT NULL")
    assert cli(db_url, "verify").exit_code == 1
    bad = scrape(db_url)
    assert value(bad, "livepanty_ledger_verify_last_ok") == 0
    assert value(bad, "livepanty_ledger_verify_last_violations") > 0
    assert value(bad, "livepanty_ledger_verify_runs_total") == 2
    assert cli(db_url, "verify", "--no-record").exit_code == 1
    assert value(scrape(db_url), "livepanty_ledger_verify_runs_total") == 2
    with psycopg.connect(db_url) as conn:
        checks = conn.execute("SELECT failed_checks FROM monitoring.ledger_verification").fetchone()[0]
    assert "balance_mismatch" in checks.split(",")


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"entries": -1, "violations": 0}, "negative entries"),
        ({"entries": 1, "violations": 1}, "violations without a failed check"),
        ({"entries": 1, "violations": 0, "checks": ["chain_broken"]}, "a failed check without violations"),
        ({"entries": 1, "violations": 1, "checks": ["Robert'); DROP"]}, "a malformed check name"),
    ],
)
def test_a_malformed_verification_outcome_is_refused_and_not_recorded(
    db_url: str, kwargs: dict[str, Any], why: str
) -> None:
    with psycopg.connect(db_url) as conn:
        started = conn.execute("SELECT now() - interval '1 second'").fetchone()[0]
    with Client(db_url, role="livepanty_service") as service, pytest.raises(InvalidArgument):
        service.record_verify_run(started_at=started, **kwargs)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM lp.verify_runs").fetchone()[0] == 0, why


# --- privileges ------------------------------------------------------------------------------------------


VIEWS = [f"monitoring.{view}" for view in metrics.VIEWS] + ["monitoring.relation_sizes"]


def test_the_reporting_role_reads_every_view_and_nothing_of_a_session(db_url: str, login: Any) -> None:
    reporter = login("livepanty_readonly")
    with psycopg.connect(reporter) as conn:
        for view in VIEWS:
            conn.execute(f"SELECT * FROM {view}").fetchall()
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = ANY (%s::regclass[]) AND attnum > 0",
                [VIEWS],
            )
        }
    assert not columns & {"pid", "usename", "client_addr", "application_name"}
    # `livepanty-db metrics` as that login: reads, and warns that it may not record a sample
    result = CliRunner().invoke(main, ["--dsn", reporter, "metrics"])
    assert result.exit_code == 0, result.output
    assert "warning: no metrics sample recorded" in result.stderr


def test_no_view_shows_another_sessions_query_or_who_runs_it(db_url: str, login: Any) -> None:
    """README: monitoring shows aggregates and normalised statements, "never a person or another session's
    query". While an application session runs a statement with a planted literal (and is idle in a
    transaction after it), no value of any monitoring view read by the reporting role, nor the CLI's output,
    holds the literal, the application login's name or its client address."""
    app = login("livepanty_app")
    reporter = login("livepanty_readonly")
    planted = f"planted-{uuid.uuid4().hex[:12]}"
    app_name = psycopg.conninfo.conninfo_to_dict(app)["user"]
    with psycopg.connect(app) as busy, psycopg.connect(db_url, autocommit=True) as running:
        busy.execute("SELECT %s::text", [planted])  # left idle in its transaction, the statement last seen
        worker = threading.Thread(
            target=lambda: running.execute(f"SELECT pg_sleep(2), '{planted}-running'"), daemon=True
        )
        worker.start()
        time.sleep(0.5)
        seen: list[str] = []
        with psycopg.connect(reporter) as conn:
            for view in VIEWS:
                for row in conn.execute(f"SELECT * FROM {view}").fetchall():
                    seen.extend(f"{view}: {value}" for value in row if value is not None)
        cli_output = CliRunner().invoke(main, ["--dsn", reporter, "--format", "json", "metrics"]).output
        worker.join()
    assert len(seen) > 20  # the views answered
    leaks = [v for v in seen if planted in v or app_name in v or "127.0.0.1" in v]
    assert leaks == []
    assert planted not in cli_output
    assert app_name not in cli_output


def test_the_application_role_is_refused(db_url: str, login: Any) -> None:
    app = login("livepanty_app")
    for statement in [
        *(f"SELECT * FROM {view}" for view in VIEWS),
        "SELECT * FROM monitoring.list_backends()",
        "SELECT * FROM monitoring.list_statements(5)",
        "SELECT * FROM monitoring.list_replicas()",
        "SELECT * FROM monitoring.server_status()",
        "SELECT monitoring.statements_schema()",
        "SELECT * FROM lp.verify_runs",
        "SELECT * FROM lp.metric_samples",
        "SELECT api.record_metrics_sample()",
    ]:
        with psycopg.connect(app) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    result = CliRunner().invoke(main, ["--dsn", app, "metrics"])
    assert result.exit_code == 1
    assert "livepanty_readonly" in result.output
    # What an application login may see by itself: other sessions' texts stay hidden by the server.
    with psycopg.connect(db_url) as dba:
        dba.execute("SELECT 'the dba''s secret statement'")
        with psycopg.connect(app) as conn:
            query = "SELECT query FROM pg_stat_activity WHERE usename = 'postgres'"
            texts = [r[0] for r in conn.execute(query)]
    assert texts
    assert all("secret" not in (t or "") for t in texts)


def test_slow_statements_on_the_test_cluster_and_without_the_extension(db_url: str) -> None:
    """The embedded (test) cluster preloads pg_stat_statements: statements of this database are listed. With
    the extension dropped, the views still answer: unavailable, no statement metric."""
    with psycopg.connect(db_url) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    if "pg_stat_statements" not in preload and os.environ.get("LIVEPANTY_TEST_DSN"):
        pytest.skip("the server of LIVEPANTY_TEST_DSN does not preload pg_stat_statements")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.25), count(*) FROM lp.settings WHERE key <> 'a literal'")
    samples = scrape(db_url, "--no-record")
    assert value(samples, "livepanty_pg_stat_statements_available") == 1
    assert samples["livepanty_statement_calls_total"]
    sleeps = [s for s in samples["livepanty_statement_mean_seconds"] if "pg_sleep" in s.labels["query"]]
    assert len(sleeps) == 1
    assert sleeps[0].value >= 0.25
    assert "a literal" not in sleeps[0].labels["query"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
        assert conn.execute("SELECT count(*) FROM monitoring.slow_statements").fetchone()[0] == 0
    samples = scrape(db_url, "--no-record")
    assert value(samples, "livepanty_pg_stat_statements_available") == 0
    assert "livepanty_statement_calls_total" not in samples


def test_statement_texts_keep_no_comment_and_no_literal(db_url: str, login: Any) -> None:
    """monitoring.list_statements (under monitoring.slow_statements, and executable by the reporting role
    itself) shows normalised texts only. pg_stat_statements keeps a statement's comments as written (an ORM's
    trailing tag may name a user or a route), and a SELECT ... INTO (a utility statement, CREATE TABLE AS)
    keeps its literals: neither may reach the reporting role. The statements stay listed, comments cut."""
    with psycopg.connect(db_url) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    if "pg_stat_statements" not in preload and os.environ.get("LIVEPANTY_TEST_DSN"):
        pytest.skip("the server of LIVEPANTY_TEST_DSN does not preload pg_stat_statements")
    planted = f"planted-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        # three statements (pg_stat_statements keeps the first text of a statement, whatever its aliases)
        conn.execute(f"SELECT pg_sleep(0.2), now() /* route='/users/{planted}' */")
        conn.execute(f"SELECT pg_sleep(0.2), clock_timestamp() -- {planted}\n")
        conn.execute(f"SELECT pg_sleep(0.2), statement_timestamp() /* a /* {planted}-nested */ b */")
        conn.execute(f"SELECT pg_sleep(0.2)::text AS slept, '{planted}-into' INTO TEMPORARY TABLE copied")
    reporter = login("livepanty_readonly")
    with psycopg.connect(reporter) as conn:
        texts = [r[0] for r in conn.execute("SELECT query FROM monitoring.list_statements(1000)")]
        shown = [r[0] for r in conn.execute("SELECT query FROM monitoring.slow_statements")]
    assert [t for t in texts + shown if planted in t] == []
    assert any("pg_sleep" in t and "now()" in t for t in texts)
    assert any("pg_sleep" in t and "clock_timestamp()" in t for t in texts)


def test_statement_texts_mask_quoted_identifiers(db_url: str, login: Any) -> None:
    """A double-quoted identifier is kept as written in a normalised text (an alias or a relation an
    application names after a user, a route, a customer), so monitoring.list_statements shows each one as
    ``"?"``; a text whose quotes no longer pair once the comments are cut (a ``--`` or ``/*`` inside a quoted
    identifier) is withheld. The rest of the statement stays readable."""
    with psycopg.connect(db_url) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    if "pg_stat_statements" not in preload and os.environ.get("LIVEPANTY_TEST_DSN"):
        pytest.skip("the server of LIVEPANTY_TEST_DSN does not preload pg_stat_statements")
    planted = f"planted-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'SELECT pg_sleep(0.2) AS "{planted} slept", now() AS "quoted ""{planted}"" again"')
        conn.execute(f'SELECT pg_sleep(0.2), clock_timestamp() AS "{planted}--cut", 1 AS "tail"')
        conn.execute(f'SELECT pg_sleep(0.2), statement_timestamp() AS "a/*", 2 AS "*/{planted}"')
        conn.execute(f'SELECT pg_sleep(0.2), timeofday() AS U&"{planted}-unicode"')
    reporter = login("livepanty_readonly")
    with psycopg.connect(reporter) as conn:
        texts = [r[0] for r in conn.execute("SELECT query FROM monitoring.list_statements(1000)")]
        shown = [r[0] for r in conn.execute("SELECT query FROM monitoring.slow_statements")]
    assert [t for t in texts + shown if planted in t] == []
    assert any("pg_sleep" in t and 'now() AS "?"' in t for t in texts)
    assert any("pg_sleep" in t and 'timeofday() AS U&"?"' in t for t in texts)


# --- with pg_stat_statements preloaded -------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    """A cluster of its own (pg_stat_statements preloaded, as on every embedded cluster), migrated (which
    installs the extension); and WAL archiving on, with an archive command that always fails."""
    base = Path(tempfile.mkdtemp(prefix="livepanty-metrics-"))
    base.chmod(0o755)
    cluster = Cluster(
        base,
        server_options=(
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            # WAL archiving that always fails: what the archiver metrics must show
            "archive_mode=on",
            "archive_command=/bin/false",
        ),
    )
    try:
        cluster.start()
        dsn = cluster.url()
        migrate.apply(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT ext.pg_stat_statements_reset()")  # the migrations' statements out of the way
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def statements_dsn(own_cluster: Cluster) -> str:
    return own_cluster.url()


def test_slow_statements_with_pg_stat_statements(statements_dsn: str) -> None:
    with psycopg.connect(statements_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.3), 'a literal the text must not keep'")
        conn.execute("ALTER ROLE livepanty_mailer PASSWORD 'sekrit-password'")
        conn.execute("ALTER ROLE livepanty_mailer PASSWORD NULL")
    samples = scrape(statements_dsn, "--no-record")
    assert value(samples, "livepanty_pg_stat_statements_available") == 1
    sleeps = [s for s in samples["livepanty_statement_mean_seconds"] if "pg_sleep" in s.labels["query"]]
    assert len(sleeps) == 1
    assert sleeps[0].value >= 0.3
    assert "$1" in sleeps[0].labels["query"]
    queryid = sleeps[0].labels["queryid"]
    assert value(samples, "livepanty_statement_calls_total", queryid=queryid) == 1
    output = cli(statements_dsn, "metrics", "--no-record").stdout
    assert "a literal the text must not keep" not in output
    assert "sekrit" not in output
    assert 'query="ALTER (utility statement: text withheld)"' in output


# --- the postgres_exporter queries file ------------------------------------------------------------------

EXPORTER_FILE = Path(__file__).resolve().parents[2] / "monitoring" / "postgres_exporter.yml"


def test_the_postgres_exporter_queries_run_as_the_reporting_role(db_url: str, login: Any) -> None:
    """Each query of monitoring/postgres_exporter.yml runs as a livepanty_readonly login and returns exactly
    the columns its metrics name, in order: labels as text, values as numbers or times (what the exporter
    reads)."""
    sections = yaml.safe_load(EXPORTER_FILE.read_text())
    assert set(sections) == {f"livepanty_{view}" for view in metrics.VIEWS}
    reporter = login("livepanty_readonly")
    with psycopg.connect(reporter) as conn:
        for name, section in sections.items():
            cursor = conn.execute(section["query"])
            cursor.fetchall()
            columns = [(c.name, conn.adapters.types.get(c.type_code).name) for c in cursor.description]
            declared = [next(iter(m.items())) for m in section["metrics"]]
            assert [c for c, _ in columns] == [c for c, _ in declared], name
            for (column, type_name), (_, spec) in zip(columns, declared, strict=True):
                assert spec["usage"] in ("LABEL", "GAUGE", "COUNTER"), (name, column)
                assert spec["description"], (name, column)
                numeric = {"int4", "int8", "float8", "numeric", "timestamptz"}
                expected = {"text"} if spec["usage"] == "LABEL" else numeric
                assert type_name in expected, (name, column, type_name)


def test_wal_archiving_off_and_failing(db_url: str, statements_dsn: str) -> None:
    off = scrape(db_url)  # the test cluster does not archive
    assert value(off, "livepanty_wal_archiving") == 0
    assert value(off, "livepanty_wal_archived_total") == 0
    assert value(off, "livepanty_wal_archive_failing") == 0
    assert "livepanty_wal_last_archived_age_seconds" not in off
    with psycopg.connect(statements_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.filler AS SELECT generate_series(1, 1000) AS n")
        conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        while conn.execute("SELECT failed_count FROM pg_stat_archiver").fetchone()[0] == 0:
            assert time.monotonic() < deadline, "the archiver never tried"
            time.sleep(0.2)
        conn.execute("DROP TABLE public.filler")
    failing = scrape(statements_dsn, "--no-record")
    assert value(failing, "livepanty_wal_archiving") == 1
    assert value(failing, "livepanty_wal_archive_failed_total") >= 1
    assert value(failing, "livepanty_wal_archive_failing") == 1


def _as_postgres(*argv: str) -> None:
    """Run a server binary as the postgres OS user (the servers refuse root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_replication_lag_with_a_streaming_replica(own_cluster: Cluster, statements_dsn: str) -> None:
    """A real streaming replica of the cluster (pg_basebackup, the server's own binaries, loopback): the
    primary lists it with its lag, the replica says it is one and how far behind its replay is."""
    assert own_cluster.data_dir is not None
    assert own_cluster.cluster_dir is not None
    hba = own_cluster.data_dir / "pg_hba.conf"
    hba.write_text(hba.read_text() + "host    replication all 127.0.0.1/32  trust\n")
    with psycopg.connect(statements_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    bindir = pg_bin()
    replica = own_cluster.cluster_dir / "replica"
    port = free_port()
    _as_postgres(
        str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(own_cluster.port), "-U", "postgres",
        "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast",
    )  # fmt: skip
    options = ["-p", str(port), "-k", "", "-c", "listen_addresses=127.0.0.1", "-c", "archive_mode=off"]
    options += ["-c", "cluster_name=replica1"]  # the walreceiver's application_name
    options += ["-c", "shared_preload_libraries="]  # pg_stat_statements installed (copied), not loaded
    _as_postgres(
        str(bindir / "pg_ctl"), "start", "-D", str(replica), "-l", str(replica / "server.log"), "-w",
        "-o", shlex.join(options),
    )  # fmt: skip
    try:
        with psycopg.connect(statements_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.replicated AS SELECT generate_series(1, 1000) AS n")
            deadline = time.monotonic() + 30
            query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            while conn.execute(query).fetchone()[0] == 0:
                assert time.monotonic() < deadline, "the replica never streamed"
                time.sleep(0.2)
        primary = scrape(statements_dsn, "--no-record")
        assert value(primary, "livepanty_replicas") == 1
        for stage in ("write", "flush", "replay"):
            assert value(primary, "livepanty_replica_lag_seconds", replica="replica1", stage=stage) >= 0
        assert value(primary, "livepanty_replica_lag_bytes", replica="replica1") >= 0
        assert value(primary, "livepanty_server_in_recovery") == 0
        assert "livepanty_replica_replay_delay_seconds" not in primary

        replica_dsn = make_conninfo(statements_dsn, port=str(port))
        standby = scrape(replica_dsn, "--no-record")
        assert value(standby, "livepanty_server_in_recovery") == 1
        assert value(standby, "livepanty_replica_replay_delay_seconds") >= 0
        assert value(standby, "livepanty_replicas") == 0
        assert value(standby, "livepanty_wal_bytes_total") > 0  # the replayed position
        assert value(standby, "livepanty_pg_stat_statements_available") == 0  # installed, not preloaded there
        # A replica cannot take a sample: a warning, and the metrics all the same.
        result = cli(replica_dsn, "metrics")
        assert result.exit_code == 0, result.output
        assert "warning: no metrics sample recorded" in result.stderr
        assert "livepanty_server_in_recovery 1" in result.stdout
    finally:
        _as_postgres(str(bindir / "pg_ctl"), "stop", "-D", str(replica), "-m", "fast", "-w")
        with psycopg.connect(statements_dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS public.replicated")
