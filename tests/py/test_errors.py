"""The error catalogue (docs/errors.md), the SQL under db/ and livepanty_db.errors agree.

No database needed: the catalogue and the SQL files are parsed, and psycopg errors are built locally.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import psycopg
import psycopg.errors
import pytest

from livepanty_db import errors

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "errors.md"
DB = ROOT / "db"

#: "| LP001 | not_authenticated | `NotAuthenticated` | ... |"
CATALOGUE_ROW = re.compile(r"^\|\s*(LP\d{3})\s*\|\s*([a-z_]+)\s*\|\s*`(\w+)`\s*\|", re.MULTILINE)
#: "| `22xxx` (data exception, ...) | ... | `InvalidArgument` |"
POSTGRES_ROW = re.compile(r"^\|\s*`(\d\d[0-9A-Zx]{3})`[^|]*\|[^|]*\|\s*`(\w+)`\s*\|", re.MULTILINE)
#: The same rows, their whole first cell: "`57P01`, `57P02`, `57P03`" names three codes.
POSTGRES_ROW_CELL = re.compile(r"^\|\s*(`\d\d[0-9A-Zx]{3}`[^|]*)\|[^|]*\|\s*`(\w+)`\s*\|", re.MULTILINE)
SQLSTATE_IN_CELL = re.compile(r"`(\d\d[0-9A-Zx]{3})`")


def postgres_codes() -> list[tuple[str, str]]:
    """Every SQLSTATE (or class, ``22xxx``) the PostgreSQL table names, also the second and later codes of a
    row and the examples in its text (``40xxx (... `40001` ..., `40P01` ...)``), with the row's class."""
    rows = POSTGRES_ROW_CELL.findall(CATALOGUE.read_text(encoding="utf-8"))
    return [(code, class_name) for cell, class_name in rows for code in SQLSTATE_IN_CELL.findall(cell)]


ERRCODE = re.compile(r"ERRCODE\s*=\s*'([0-9A-Z]{5})'", re.IGNORECASE)
#: Any LP code literal in SQL, e.g. the in-band error_code of api.login.
LP_LITERAL = re.compile(r"'(LP\d{3})'")


def catalogue() -> list[tuple[str, str, str]]:
    rows = CATALOGUE_ROW.findall(CATALOGUE.read_text(encoding="utf-8"))
    assert rows, f"no catalogue rows parsed from {CATALOGUE}"
    return rows


def sql_files() -> list[Path]:
    files = sorted(DB.rglob("*.sql"))
    assert files, f"no SQL files under {DB}"
    return files


def codes_in_sql(pattern: re.Pattern[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sql_files():
        for code in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code.upper(), []).append(str(path.relative_to(ROOT)))
    return found


def test_catalogue_codes_are_unique() -> None:
    codes = [code for code, _, _ in catalogue()]
    names = [name for _, name, _ in catalogue()]
    classes = [cls for _, _, cls in catalogue()]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    assert len(classes) == len(set(classes))


@pytest.mark.parametrize(("code", "name", "class_name"), catalogue())
def test_every_catalogued_code_has_its_class(code: str, name: str, class_name: str) -> None:
    cls = getattr(errors, class_name, None)
    assert cls is not None, f"livepanty_db.errors has no class {class_name} for {code} ({name})"
    assert issubclass(cls, errors.LivepantyError)
    assert cls.code == code
    assert errors.ERRORS_BY_CODE[code] is cls
    assert errors.class_for_sqlstate(code) is cls


def test_mapping_has_nothing_beyond_the_catalogue() -> None:
    assert set(errors.ERRORS_BY_CODE) == {code for code, _, _ in catalogue()}


def test_every_exception_class_is_mapped_or_generic() -> None:
    classes = {
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.LivepantyError) and obj is not errors.LivepantyError
    }
    generic = {
        errors.ConstraintViolation,
        errors.DatabaseError,
        errors.TransientError,
        errors.ConnectionFailed,
        errors.OutcomeUnknown,  # raised by call_with_retry, never mapped from a SQLSTATE
    }
    assert classes - generic == set(errors.ERRORS_BY_CODE.values())


def test_every_errcode_raised_under_db_is_catalogued_and_mapped() -> None:
    raised = codes_in_sql(ERRCODE)
    assert raised, "no ERRCODE found under db/: is the pattern wrong?"
    catalogued = {code for code, _, _ in catalogue()}
    unknown = {code: where for code, where in raised.items() if code not in catalogued}
    assert not unknown, f"ERRCODEs used under db/ but missing from docs/errors.md: {unknown}"
    unmapped = {code for code in raised if code not in errors.ERRORS_BY_CODE}
    assert not unmapped


def test_every_lp_literal_under_db_is_catalogued() -> None:
    """Also the codes reported in-band (api.login's error_code), which never appear after ERRCODE."""
    used = codes_in_sql(LP_LITERAL)
    assert {"LP020", "LP022"} <= used.keys()
    unknown = {code: where for code, where in used.items() if code not in errors.ERRORS_BY_CODE}
    assert not unknown


@pytest.mark.parametrize(("pattern", "class_name"), postgres_codes())
def test_postgres_sqlstates_map_as_catalogued(pattern: str, class_name: str) -> None:
    expected = getattr(errors, class_name)
    examples = {
        "22xxx": ["22007", "22008", "22P02", "22001", "22023"],
        "23xxx": ["23505", "23503", "23514"],
        "40xxx": ["40001", "40P01"],
        "08xxx": ["08006", "08003"],
    }
    for sqlstate in examples.get(pattern, [pattern]):
        assert errors.class_for_sqlstate(sqlstate) is expected, sqlstate
        exc = psycopg.errors.lookup(sqlstate)("boom")
        translated = errors.translate(exc)
        assert type(translated) is expected
        assert translated.sqlstate == sqlstate


def test_postgres_table_was_parsed() -> None:
    parsed = dict(POSTGRES_ROW.findall(CATALOGUE.read_text(encoding="utf-8")))
    assert parsed == {
        "22xxx": "InvalidArgument",
        "42501": "PermissionDenied",
        "23xxx": "ConstraintViolation",
        "40xxx": "TransientError",
        "55P03": "TransientError",
        "57014": "TransientError",
        "57P01": "TransientError",
        "08xxx": "ConnectionFailed",
    }
    every = {code for code, _ in postgres_codes()}
    assert {"57P02", "57P03", "40001", "40P01", "22P02"} <= every  # the later codes of a row count too


@pytest.mark.parametrize("sqlstate", ["42883", "XX000", "53100", None])
def test_anything_else_is_a_database_error(sqlstate: str | None) -> None:
    exc = psycopg.errors.lookup(sqlstate)("boom") if sqlstate else psycopg.InterfaceError("boom")
    translated = errors.translate(exc)
    assert type(translated) is errors.DatabaseError
    assert not translated.transient
    assert translated.__cause__ is exc
    assert translated.message == "boom"


def test_a_connection_failure_without_sqlstate_is_transient_with_a_sqlstate() -> None:
    exc = psycopg.OperationalError("connection refused")
    opening = errors.translate(exc, connecting=True)
    assert type(opening) is errors.ConnectionFailed
    assert (opening.sqlstate, opening.transient, opening.message) == ("08001", True, "connection refused")
    assert opening.__cause__ is exc
    lost = errors.translate(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert (type(lost), lost.sqlstate) == (errors.ConnectionFailed, "08006")
    assert isinstance(lost, errors.TransientError)
    assert not errors.InsufficientFunds("no").transient


def test_a_connection_failure_is_reported_on_one_line() -> None:
    """libpq's report spans lines (a tab-indented "Is the server running ...?", a block per attempt): the
    ConnectionFailed message is one line that keeps every part; the psycopg error keeps libpq's text."""
    text = (
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
        "Multiple connection attempts failed. All failures were:\n"
        "- host: 'a', port: '1', hostaddr: '127.0.0.1': connection failed: refused\n"
    )
    exc = psycopg.OperationalError(text)
    for translated in (errors.translate(exc, connecting=True), errors.translate(exc)):
        assert type(translated) is errors.ConnectionFailed
        assert translated.message == (
            'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
            " (Is the server running on that host and accepting TCP/IP connections?);"
            " Multiple connection attempts failed. All failures were:"
            " - host: 'a', port: '1', hostaddr: '127.0.0.1': connection failed: refused"
        )
    assert str(exc) == text
    assert errors.one_line("  one\n\n two \n") == "one; two"


def test_a_dsn_password_is_masked_but_not_the_host_quoted_after_it() -> None:
    """A parseable DSN's password is known exactly: only it is masked, not the host libpq quotes (which comes
    after the password in a URI); a DSN libpq cannot parse still has everything quoted from its password on
    masked."""
    message = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    uri = "postgresql://app:s3cret@127.0.0.1:1/db"
    assert errors.redact_secrets(message, uri) == message
    assert errors.redact_secrets('password "s3cret" refused', uri) == 'password "***" refused'
    keywords = "host=db.example password=s3cret port=1"
    assert errors.redact_secrets('server at "db.example"', keywords) == 'server at "db.example"'
    broken = "host=db.example user=app password=s3cret -pw"
    assert errors.redact_secrets('missing "=" after "-pw" in connection info string', broken) == (
        'missing "=" after "***" in connection info string'
    )


def test_error_attributes_and_in_band_codes() -> None:
    err = errors.error_for_code("LP020", "invalid credentials", hint="try again")
    assert type(err) is errors.InvalidCredentials
    assert (err.sqlstate, err.message, err.detail, err.hint) == (
        "LP020",
        "invalid credentials",
        None,
        "try again",
    )
    assert str(err) == "[LP020] invalid credentials"
    assert err.in_band
    assert not errors.InvalidCredentials("raised").in_band  # what translate() builds for a raised LP020
    assert type(errors.error_for_code("LP022", "sanctioned")) is errors.AccountSanctioned
    assert type(errors.error_for_code("LP999", "new code")) is errors.DatabaseError
    assert errors.NotFound("gone").sqlstate == "LP003"  # a class knows its own code


def test_a_value_the_driver_cannot_send_is_an_invalid_argument() -> None:
    """psycopg refuses a NUL character in a text argument itself (a DataError without a SQLSTATE), before
    PostgreSQL sees it: the caller's bad input, as PostgreSQL's own 22021 would be, not a DatabaseError."""
    exc = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    translated = errors.translate(exc)
    assert type(translated) is errors.InvalidArgument
    assert translated.sqlstate == "22021"
    assert not translated.transient
    assert translated.__cause__ is exc


@pytest.mark.parametrize(("code", "name", "class_name"), catalogue())
def test_exactly_the_catalogued_transient_codes_are_transient(code: str, name: str, class_name: str) -> None:
    """A catalogue row that says "transient" is a TransientError (retry helpers retry it); no other LP code is
    (a refusal retried would only be refused again)."""
    row = next(
        line for line in CATALOGUE.read_text(encoding="utf-8").splitlines() if line.startswith(f"| {code} ")
    )
    transient = "transient" in row.split("|")[4].lower()
    assert issubclass(errors.ERRORS_BY_CODE[code], errors.TransientError) is transient, row
    assert errors.ERRORS_BY_CODE[code]("x").transient is transient
