"""plpgsql_check over every PL/pgSQL function of schemas lp and api, in a database built by the migrations.

Every function is found through pg_proc (nothing is listed by hand, so functions added later are checked too)
and checked with ``plpgsql_check_function_tb(..., fatal_errors => false, extra_warnings => true)``, plus the
performance and security warnings. A trigger function is checked once for every table whose triggers call it
(``relid``), so NEW/OLD fields are resolved against each real table; a trigger function no trigger uses cannot
be checked and is reported as such. Any problem not in :data:`ALLOWED` fails the test, all of them listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

#: Options passed to plpgsql_check_function_tb (fatal_errors => false: report every problem, not the first).
CHECK_OPTIONS = (
    "fatal_errors => false, other_warnings => true, extra_warnings => true, "
    "performance_warnings => true, security_warnings => true"
)

#: Problems accepted on purpose, as (function signature, message). Each needs its reason; an entry that no
#: longer matches any problem fails test_allow_list_has_no_stale_entries, so the list cannot only grow.
ALLOWED: dict[tuple[str, str], str] = {
    # EXECUTE format('GRANT SELECT (%s) ON %s TO %I', v_columns, p_table, v_role): v_columns is a list built
    # with quote_ident() from pg_attribute names and p_table is a regclass (printed quoted by its output
    # function), so nothing unquoted reaches the statement. plpgsql_check cannot follow that through the
    # string_agg. The function is SECURITY INVOKER and executable only by the owner (deploy time).
    (
        "lp.grant_select(regclass,text[],text[])",
        "text type variable is not sanitized",
    ): "v_columns is assembled from quote_ident() values; only the deploy runs it",
}

#: Every PL/pgSQL function of lp and api, once per table that has a trigger calling it (relid 0 otherwise).
TARGETS = """
SELECT p.oid::regprocedure::text AS function,
       coalesce(t.tgrelid, 0)::oid AS relid,
       coalesce(t.tgrelid::regclass::text, '') AS relation,
       p.prorettype = 'trigger'::regtype AS is_trigger
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
  LEFT JOIN LATERAL (SELECT DISTINCT tg.tgrelid FROM pg_catalog.pg_trigger AS tg
                      WHERE tg.tgfoid = p.oid AND NOT tg.tgisinternal) AS t
         ON p.prorettype = 'trigger'::regtype
 WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace)
   AND l.lanname = 'plpgsql'
 ORDER BY 1, 4
"""


@dataclass(frozen=True)
class Target:
    function: str
    relid: int
    relation: str
    is_trigger: bool


@dataclass(frozen=True)
class Problem:
    function: str
    relation: str
    lineno: int | None
    statement: str | None
    sqlstate: str | None
    level: str
    message: str
    detail: str | None = None
    hint: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.function, self.message)

    def __str__(self) -> str:
        where = f" (for table {self.relation})" if self.relation else ""
        line = f" line {self.lineno}" if self.lineno is not None else ""
        text = f"{self.function}{where}{line}: {self.level} [{self.sqlstate}] {self.message}"
        if self.statement:
            text += f" (statement {self.statement})"
        for label, value in (("detail", self.detail), ("hint", self.hint)):
            if value:
                text += f"\n    {label}: {value}"
        return text


def targets(conn: psycopg.Connection) -> list[Target]:
    return [
        Target(function, relid, relation, is_trigger)
        for function, relid, relation, is_trigger in conn.execute(TARGETS).fetchall()
    ]


def check(conn: psycopg.Connection, target: Target) -> list[Problem]:
    """plpgsql_check's findings for one function (for one trigger table); an error of the checker itself
    (a function it cannot analyse) is a problem too."""
    if target.is_trigger and not target.relid:
        return [
            Problem(
                function=target.function,
                relation="",
                lineno=None,
                statement=None,
                sqlstate=None,
                level="error",
                message="trigger function no trigger uses: plpgsql_check needs its table (attach or drop it)",
            )
        ]
    try:
        with conn.transaction():
            rows = conn.execute(
                "SELECT lineno, statement, sqlstate, level, message, detail, hint"
                f" FROM plpgsql_check_function_tb(%s::regprocedure, %s::oid::regclass, {CHECK_OPTIONS})",
                [target.function, target.relid],
            ).fetchall()
    except psycopg.Error as exc:
        return [
            Problem(
                function=target.function,
                relation=target.relation,
                lineno=None,
                statement=None,
                sqlstate=exc.diag.sqlstate,
                level="checker error",
                message=exc.diag.message_primary or str(exc),
            )
        ]
    return [
        Problem(target.function, target.relation, lineno, statement, sqlstate, level, message, detail, hint)
        for lineno, statement, sqlstate, level, message, detail, hint in rows
    ]


def all_problems(conn: psycopg.Connection) -> list[Problem]:
    return [problem for target in targets(conn) for problem in check(conn, target)]


def test_plpgsql_check_extension_is_installed(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'plpgsql_check'").fetchone(), (
        "the template database must have the plpgsql_check extension"
    )


def test_every_plpgsql_function_is_checked(conn: psycopg.Connection) -> None:
    found = targets(conn)
    functions = {target.function for target in found}
    # Not vacuous: the API and the trigger functions are there, and each trigger function is checked
    # against every table that uses it.
    assert "api.login(text,text,inet,text,jsonb,interval)" in functions
    assert "lp.require_user(text[])" in functions
    touch = {target.relation for target in found if target.function == "lp.touch_updated_at()"}
    assert {"lp.users", "lp.wallets", "lp.settings"} <= touch
    reject = {target.relation for target in found if target.function == "lp.reject_mutation()"}
    # The partitions of lp.ledger and lp.audit_logs carry their own no-truncate trigger (lp.secure_partition).
    assert {r for r in reject if not r.startswith("lp_partitions.")} == {
        "lp.audit_logs",
        "lp.earnings_checkpoints",
        "lp.ledger",
        "lp.ledger_checkpoints",
        "lp.stream_consents",
        "lp.tip_menu_items",
    }
    assert {"lp_partitions.ledger_default", "lp_partitions.audit_logs_default"} <= reject


def test_plpgsql_check_finds_no_problem(conn: psycopg.Connection) -> None:
    problems = [problem for problem in all_problems(conn) if problem.key not in ALLOWED]
    if problems:
        pytest.fail(
            f"plpgsql_check reports {len(problems)} problem(s) not in the allow-list "
            "(tests/py/test_plpgsql_check.py ALLOWED):\n" + "\n".join(str(problem) for problem in problems),
            pytrace=False,
        )


def test_allow_list_has_no_stale_entries(conn: psycopg.Connection) -> None:
    reported = {problem.key for problem in all_problems(conn)}
    stale = [key for key in ALLOWED if key not in reported]
    assert not stale, f"allow-list entries that match no problem any more (remove them): {stale}"


def test_the_check_detects_problems(conn: psycopg.Connection) -> None:
    """The same code path reports a broken function and a trigger function on a wrong table (rolled back)."""
    with conn.transaction(force_rollback=True):
        conn.execute(
            """
            CREATE FUNCTION lp.zz_plpgsql_check_probe() RETURNS integer LANGUAGE plpgsql
                SET search_path = pg_catalog AS $$
            DECLARE
                v_unused integer;
            BEGIN
                RETURN (SELECT u.no_such_column FROM lp.users AS u LIMIT 1);
            END
            $$;
            CREATE TRIGGER zz_probe BEFORE UPDATE ON lp.stream_viewers
                FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();
            """
        )
        messages = {(problem.function, problem.relation, problem.message) for problem in all_problems(conn)}
    probe = "lp.zz_plpgsql_check_probe()"
    assert (probe, "", "column u.no_such_column does not exist") in messages
    assert (probe, "", 'unused variable "v_unused"') in messages
    assert (
        "lp.touch_updated_at()",
        "lp.stream_viewers",
        'record "new" has no field "updated_at"',
    ) in messages
