"""`livepanty-db migrate` and the shared CLI plumbing (output formats, error handling, exit codes)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from livepanty_db import paths
from livepanty_db.cli import SUBCOMMAND_MODULES, main
from livepanty_db.cli.output import render


def migration_ids() -> list[str]:
    return [p.stem for p in paths.migration_files() if not p.name.endswith(".rollback.sql")]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_migrate_status_rollback_cycle(runner, empty_db):
    result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate"])
    assert result.exit_code == 0, result.output
    assert [row["migration"] for row in json.loads(result.stdout)] == migration_ids()

    result = runner.invoke(main, ["--dsn", empty_db, "--format", "csv", "migrate", "status"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["migration"] for r in rows] == migration_ids()
    assert {r["state"] for r in rows} == {"applied"}

    result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate", "rollback"])
    assert result.exit_code == 0, result.output
    assert [row["migration"] for row in json.loads(result.stdout)] == migration_ids()[-1:]

    result = runner.invoke(main, ["--dsn", empty_db, "migrate", "rollback", "--all"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate", "status"])
    assert {row["state"] for row in json.loads(result.stdout)} == {"pending"}


def test_dsn_from_the_environment(runner, empty_db):
    result = runner.invoke(main, ["migrate"], env={"LIVEPANTY_DSN": empty_db, "DATABASE_URL": "dbname=nope"})
    assert result.exit_code == 0, result.output


def test_errors_are_one_line_messages_with_exit_code_1(runner):
    result = runner.invoke(main, ["--dsn", "postgresql://nobody@127.0.0.1:1/none", "migrate", "status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output


def test_usage_errors_exit_with_2(runner):
    assert runner.invoke(main, ["--format", "xml", "migrate"]).exit_code == 2
    result = runner.invoke(main, ["--dsn", "dbname=x", "migrate", "rollback", "--all", "--count", "2"])
    assert result.exit_code == 2
    assert "either --all or --count" in result.stderr


def test_every_listed_subcommand_is_registered():
    assert set(SUBCOMMAND_MODULES) <= set(main.commands)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_render_formats(fmt):
    rows = [{"a": 1, "b": "x,y"}, {"a": 2, "b": None}]
    text = render(rows, fmt)
    if fmt == "json":
        assert json.loads(text) == rows
    elif fmt == "csv":
        assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["1", "x,y"], ["2", ""]]
    else:
        assert text.splitlines()[0].split() == ["a", "b"]
        assert render([], fmt) == "(no rows)"
