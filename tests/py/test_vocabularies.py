"""Allowed values live in one place: the enum types of schema lp (db/schema/08_vocabularies.sql).

The claim is checked from both sides: no function body, CHECK constraint or Python module writes a copy of
an enum's list of values, and a value added to the type in the database is accepted at once by the API
function that validates it and by the CLI option that takes it (neither has a list of its own).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from livepanty_db.cli import main
from livepanty_db.cli import values as cli_values

PACKAGE = Path(__file__).resolve().parents[2] / "livepanty_db"
#: A literal list in SQL: ('a', 'b') or ARRAY['a'::text, 'b'::text] (as pg_get_constraintdef prints it).
LITERAL_LIST = re.compile(r"[(\[]\s*'[^']*'(?:::\w+)?(?:\s*,\s*'[^']*'(?:::\w+)?)+\s*[)\]]")


def vocabularies(db_url: str) -> dict[str, list[str]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """
            SELECT t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
              FROM pg_type AS t
              JOIN pg_namespace AS n ON n.oid = t.typnamespace AND n.nspname = 'lp'
              JOIN pg_enum AS e ON e.enumtypid = t.oid
             GROUP BY t.typname
            """
        ).fetchall()
    return {name: list(labels) for name, labels in rows}


def cli(db_url: str, *args: str) -> object:
    return CliRunner().invoke(main, ["--dsn", db_url, *args])


def test_the_vocabularies_exist(db_url: str) -> None:
    found = vocabularies(db_url)
    assert found["payout_method"] == ["bank_transfer", "paypal", "paxum", "wire", "check"]
    assert found["hold_purpose"] == ["private_show", "group_show", "tip", "other", "ticket_show"]
    assert set(found) >= {
        "user_role", "hold_purpose", "hold_status", "payment_status", "payout_method", "payout_status",
        "sanction_type", "kyc_level", "document_type", "limit_period", "ui_theme", "content_filter",
    }  # fmt: skip


def test_no_function_or_check_constraint_copies_a_list(db_url: str) -> None:
    """A literal list in a body or constraint that holds every value of an enum is a second copy of it."""
    found = vocabularies(db_url)
    with psycopg.connect(db_url) as conn:
        bodies = conn.execute(
            """
            SELECT p.oid::regprocedure::text, p.prosrc
              FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('lp', 'api', 'reporting')
            """
        ).fetchall()
        checks = conn.execute(
            """
            SELECT c.conrelid::regclass::text || '.' || c.conname, pg_get_constraintdef(c.oid)
              FROM pg_constraint AS c JOIN pg_namespace AS n ON n.oid = c.connamespace
             WHERE n.nspname = 'lp' AND c.contype = 'c'
            """
        ).fetchall()
    copies = [
        (where, name)
        for where, text in [*bodies, *checks]
        for group in LITERAL_LIST.findall(text)
        for name, labels in found.items()
        if len(labels) > 2 and set(labels) <= set(re.findall(r"'([^']*)'", group))
    ]
    assert copies == []


def test_no_python_module_copies_a_list(db_url: str) -> None:
    """No tuple, list or set literal in the package holds every value of an enum."""
    found = {name: set(labels) for name, labels in vocabularies(db_url).items() if len(labels) > 2}
    copies = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                strings = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                literal = {value for value in strings if isinstance(value, str)}
                copies += [(path.name, node.lineno, n) for n, labels in found.items() if labels <= literal]
    assert copies == []


def test_values_lists_what_the_database_defines(db_url: str) -> None:
    result = cli(db_url, "--format", "json", "values")
    assert result.exit_code == 0, result.output
    listed = {row["name"]: row["values"].split(", ") for row in json.loads(result.output)}
    assert listed == vocabularies(db_url)
    one = cli(db_url, "--format", "json", "values", "payout_method")
    assert [row["name"] for row in json.loads(one.output)] == ["payout_method"]
    unknown = cli(db_url, "values", "colours")
    assert unknown.exit_code == 2
    assert "no list named 'colours'" in unknown.output


def test_a_value_added_to_the_type_is_accepted_by_the_api_and_the_cli(db_url: str) -> None:
    """The one place: ALTER TYPE ... ADD VALUE, and nothing else, makes 'crypto' a payout method."""
    bad = cli(db_url, "payouts", "request", "--as", "nobody", "--tokens", "1000", "--method", "crypto")
    assert bad.exit_code == 2
    assert "'crypto' is not a payout_method" in bad.output
    assert "bank_transfer, paypal, paxum, wire, check" in bad.output
    with psycopg.connect(db_url, autocommit=True) as conn:
        refused = conn.execute(
            "SELECT count(*) FROM pg_enum"
            " WHERE enumtypid = 'lp.payout_method'::regtype AND enumlabel = 'crypto'"
        ).fetchone()
        assert refused == (0,)
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("SELECT lp.check_choice('crypto', 'lp.payout_method', 'payout method')")
        assert raised.value.sqlstate == "LP018"
        assert "bank_transfer, paypal, paxum, wire, check" in (raised.value.diag.message_hint or "")
        conn.execute("ALTER TYPE lp.payout_method ADD VALUE 'crypto'")
        check = "SELECT lp.check_choice('crypto', 'lp.payout_method', 'payout method')"
        accepted = conn.execute(check).fetchone()
        assert accepted == ("crypto",)
    cli_values._CACHE.clear()  # a new CLI process would read the catalog afresh
    good = cli(db_url, "payouts", "request", "--as", "nobody", "--tokens", "1000", "--method", "crypto")
    assert "is not a payout_method" not in good.output
    assert good.exit_code == 1  # past the option check: the API refuses the unknown login, not the method
