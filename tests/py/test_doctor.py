"""``livepanty-db doctor`` finds what is wrong (exit 1) and reports the monitoring brief."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from livepanty_db import doctor
from livepanty_db.cli import main


def run(dsn: str, *args: str, home: Path) -> Result:
    return CliRunner().invoke(
        main,
        ["--format", "json", "doctor", "--dsn", dsn, "--sample", "0.1", *args],
        env={"LIVEPANTY_HOME": str(home)},
    )


def findings(result: Result) -> list[dict[str, str]]:
    return json.loads(result.stdout)["findings"]


def test_a_migrated_database_is_healthy(db_url: str, tmp_path: Path) -> None:
    result = run(db_url, home=tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] != "problem"
    checks = {f["check"] for f in report["findings"]}
    assert {
        "server",
        "login",
        "migrations",
        "drift",
        "extensions",
        "pooler",
        "connections",
        "indexes",
    } <= checks
    assert {"transactions", "size"} <= checks
    (drift,) = [f for f in report["findings"] if f["check"] == "drift"]
    assert drift["status"] == "ok"
    assert "match the files" in drift["detail"]
    # The test cluster preloads pg_stat_statements (as every embedded cluster) and migrate installs it.
    extensions = {f["detail"] for f in report["findings"] if f["check"] == "extensions"}
    with psycopg.connect(db_url) as conn:
        preloaded = "pg_stat_statements" in conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    # (not preloaded: only on a server of LIVEPANTY_TEST_DSN)
    suffix = ", preloaded" if preloaded else "(add it, restart): no slow-statement report"
    assert any(d.startswith("pg_stat_statements ") and d.endswith(suffix) for d in extensions)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
    extensions = {f["detail"] for f in findings(run(db_url, "--no-drift", home=tmp_path))}
    assert "pg_stat_statements not installed (migrate installs it): no slow-statement report" in extensions


def test_drift_from_the_files_is_a_problem(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION lp.normalize_email(p_email text) RETURNS ext.citext"
            " LANGUAGE sql IMMUTABLE AS $$ SELECT lower(p_email)::ext.citext $$"
        )
        conn.execute("CREATE FUNCTION api.backdoor() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")
    result = run(db_url, home=tmp_path)
    assert result.exit_code == 1
    drift = {(f["status"], f["detail"]) for f in findings(result) if f["check"] == "drift"}
    assert ("problem", "differs from the files: function lp.normalize_email(text)") in drift
    assert ("warn", "not in the files: function api.backdoor()") in drift


def test_pending_migrations_and_missing_extensions_are_problems(empty_db: str, tmp_path: Path) -> None:
    result = run(empty_db, "--no-drift", home=tmp_path)
    assert result.exit_code == 1
    problems = [f["detail"] for f in findings(result) if f["status"] == "problem"]
    assert any(p.endswith("pending: " + p.split("pending: ")[-1]) and "0001_" in p for p in problems)
    assert "citext is not installed (migrate installs it)" in problems
    assert ("drift", "info", "not checked (--no-drift)") in {tuple(f.values()) for f in findings(result)}


def test_an_identity_pinned_to_the_database_is_a_problem(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f"ALTER DATABASE \"{name}\" SET lp.user_id = '00000000-0000-0000-0000-000000000001'")
        conn.execute(f'ALTER DATABASE "{name}" SET search_path = lp, public')
    try:
        result = run(db_url, "--no-drift", home=tmp_path)
        assert result.exit_code == 1
        pooler = {
            (f["status"], f["detail"].split(" pinned")[0]) for f in findings(result) if f["check"] == "pooler"
        }
        assert ("problem", "lp.user_id=00000000-0000-0000-0000-000000000001") in pooler
        assert ("warn", "search_path=lp, public") in pooler
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" RESET ALL')


def test_sizes_report_growth_since_the_last_run(db_url: str, tmp_path: Path) -> None:
    first = [f.detail for f in doctor.examine(db_url, drift=False, sample_seconds=0, state_dir=tmp_path)]
    assert not any("since" in d for d in first if d.startswith("database "))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE lp.ballast AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 5000) g"
        )
    second = doctor.examine(db_url, drift=False, sample_seconds=0, state_dir=tmp_path)
    (database,) = [f.detail for f in second if f.check == "size" and f.detail.startswith("database ")]
    assert " since " in database
    assert any(f.detail.startswith("lp.ballast ") for f in second if f.check == "size")


def test_an_unreachable_database_exits_1_without_a_traceback(tmp_path: Path) -> None:
    result = run("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", home=tmp_path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert json.loads(result.stderr)["error"]["message"].startswith("cannot connect to the database")


@pytest.mark.parametrize("status", doctor.STATUSES)
def test_worst_orders_statuses(status: str) -> None:
    assert doctor.worst([doctor.Finding("a", "ok", ""), doctor.Finding("b", status, "")]) == status
