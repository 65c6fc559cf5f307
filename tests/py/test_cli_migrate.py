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

    result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate", "rollback", "--yes"])
    assert result.exit_code == 0, result.output
    assert [row["migration"] for row in json.loads(result.stdout)] == migration_ids()[-1:]

    result = runner.invoke(main, ["--dsn", empty_db, "migrate", "rollback", "--all", "--yes"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate", "status"])
    assert {row["state"] for row in json.loads(result.stdout)} == {"pending"}


def test_dsn_from_the_environment(runner, empty_db):
    result = runner.invoke(main, ["migrate"], env={"LIVEPANTY_DSN": empty_db, "DATABASE_URL": "dbname=nope"})
    assert result.exit_code == 0, result.output


def test_errors_are_one_line_messages_with_exit_code_1(runner):
    result = runner.invoke(main, ["--dsn", "postgresql://nobody@127.0.0.1:1/none", "migrate", "status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot connect to the database")
    assert "Traceback" not in result.output


def test_errors_are_one_json_object_with_format_json(runner):
    result = runner.invoke(
        main, ["--format", "json", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "migrate", "status"]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert set(error) == {"code", "message", "detail", "hint"}
    assert error["message"].startswith("cannot connect to the database")


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


def _libpq_env(dsn: str) -> dict[str, str | None]:
    """The libpq environment naming ``dsn``'s database, with our own variables unset."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    names = {"host": "PGHOST", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER"}
    env: dict[str, str | None] = {var: str(params[key]) for key, var in names.items() if key in params}
    env.update({"LIVEPANTY_DSN": None, "DATABASE_URL": None})
    return env


def test_libpq_environment_names_the_database(runner, empty_db, caplog):
    env = _libpq_env(empty_db)
    result = runner.invoke(main, ["--format", "json", "which"], env=env)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["source"].startswith("libpq environment (PGHOST")
    assert f"dbname={env['PGDATABASE']}" in row["dsn"]

    with caplog.at_level("INFO", logger="livepanty_db"):
        result = runner.invoke(main, ["-v", "--format", "json", "migrate", "status"], env=env)
    assert result.exit_code == 0, result.output
    assert {r["state"] for r in json.loads(result.stdout)} == {"pending"}
    assert "from libpq environment (PGHOST" in caplog.text
    # The explicit choices still come first.
    env["DATABASE_URL"] = "dbname=elsewhere"
    result = runner.invoke(main, ["--format", "json", "which"], env=env)
    assert json.loads(result.stdout)[0]["source"] == "DATABASE_URL"


def test_which_hides_the_password(runner):
    result = runner.invoke(main, ["--dsn", "postgresql://vera:s3cret@db.example:6432/lp", "which"])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert "***" in result.stdout
    assert "--dsn" in result.stdout


def test_migrate_status_only_reads(runner, empty_db, pg_server):
    """As a login that may not create anything, on an unmigrated database: every migration pending, nothing
    written (no yoyo table appears); on a migrated one without SELECT on yoyo's log: exit 1, readable."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    role = "lp_status_reader"
    with pg_server.admin() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        reader = make_conninfo(empty_db, user=role)
        result = runner.invoke(main, ["--dsn", reader, "--format", "json", "migrate", "status"])
        assert result.exit_code == 0, result.output
        assert [r["migration"] for r in json.loads(result.stdout)] == migration_ids()
        with psycopg.connect(empty_db) as conn:
            count = conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '%yoyo%'").fetchone()[0]
        assert count == 0

        assert runner.invoke(main, ["--dsn", empty_db, "migrate"]).exit_code == 0
        result = runner.invoke(main, ["--dsn", reader, "migrate", "status"])
        assert result.exit_code == 1
        assert "cannot read the migration log" in result.stderr
        assert "Traceback" not in result.output
    finally:
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_global_options_after_the_subcommand(runner, empty_db):
    result = runner.invoke(main, ["migrate", "--dsn", empty_db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["migrate", "status", f"--dsn={empty_db}", "--format", "json", "-v"])
    assert result.exit_code == 0, result.output
    assert {r["state"] for r in json.loads(result.stdout)} == {"applied"}
    result = runner.invoke(main, ["which", "--format=csv", "--dsn", "dbname=x"])
    assert result.stdout.splitlines()[0] == "dsn,source"
    # Still a usage error when the value is missing or wrong, wherever the option is written.
    assert runner.invoke(main, ["migrate", "status", "--format", "xml"]).exit_code == 2


def test_no_subcommand_shadows_a_global_option():
    """hoist_global_options may move --dsn/--format/--wide/-v/--verbose to the front only because no command
    below the root defines an option of those names."""
    import click

    def walk(command: click.Command):
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)

    clashes = [
        (cmd.name, opt)
        for top in main.commands.values()
        for cmd in walk(top)
        for param in cmd.params
        for opt in [*param.opts, *param.secondary_opts]
        if opt in {"--dsn", "--format", "--wide", "-v", "--verbose"}
    ]
    assert clashes == []


def test_verbose_migrate_logs_one_line_per_migration(runner, empty_db, caplog):
    with caplog.at_level("INFO"):
        result = runner.invoke(main, ["-v", "migrate", "--dsn", empty_db])
    assert result.exit_code == 0, result.output
    infos = [r for r in caplog.records if r.levelname == "INFO"]
    assert [r.name for r in infos if r.name.startswith("yoyo")] == []
    applied = [r.getMessage() for r in infos if r.getMessage().startswith("applied migration ")]
    assert applied == [f"applied migration {m}" for m in migration_ids()]
    assert len(infos) <= len(migration_ids()) + 5


def test_rollback_asks_first(runner, empty_db):
    """`migrate rollback` drops tables with their data: it asks, and anything but yes (no answer at all, as
    in a script without a terminal) rolls nothing back, exit 1, one JSON object with --format json."""
    assert runner.invoke(main, ["--dsn", empty_db, "migrate"]).exit_code == 0
    applied = len(migration_ids())

    def applied_now() -> int:
        result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate", "status"])
        return sum(row["state"] == "applied" for row in json.loads(result.stdout))

    for args, answer in ((["--all"], "n\n"), (["--all"], None), ([], "\n")):
        result = runner.invoke(main, ["--dsn", empty_db, "migrate", "rollback", *args], input=answer)
        assert result.exit_code == 1, result.output
        assert "Roll back" in result.stderr
        assert "error: not confirmed: nothing was done" in result.stderr
        assert applied_now() == applied
    result = runner.invoke(main, ["--dsn", empty_db, "--format", "json", "migrate", "rollback"], input="n\n")
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert json.loads(last)["error"]["message"] == "not confirmed: nothing was done"
    assert applied_now() == applied
    result = runner.invoke(main, ["--dsn", empty_db, "migrate", "rollback"], input="y\n")
    assert result.exit_code == 0, result.output
    assert applied_now() == applied - 1


@pytest.mark.parametrize(
    "args",
    [
        ["migrate", "rollback", "--all", "--count", "2"],  # raised by the command
        ["users", "list"],  # a required option missing
        ["sessions", "revoke", "not-a-uuid", "--as", "boss"],  # a value of the wrong type
        ["migrate", "--format", "json", "--lock-wait", "0"],  # out of range; --format after the sub-command
    ],
)
def test_usage_errors_are_one_json_object_with_format_json(runner, args):
    """A usage error under --format json is the one JSON object every other error is (exit status 2 still);
    without --format json it stays click's usage text."""
    if "--format" not in args:
        args = ["--format", "json", *args]
    result = runner.invoke(main, ["--dsn", "dbname=x", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert set(error) == {"code", "message", "detail", "hint"}
    assert error["message"]
    assert error["hint"].endswith("--help` shows the usage")
    text = runner.invoke(main, ["--dsn", "dbname=x", *(a for a in args if a not in ("--format", "json"))])
    assert text.exit_code == 2
    assert text.stderr.startswith("Usage: ")
