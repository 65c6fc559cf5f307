"""Shared CLI helpers: rendering rows (table, json, csv) and turning our errors into readable messages."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click
import psycopg
from tabulate import tabulate

from livepanty_db.errors import LivepantyError
from livepanty_db.local import LocalClusterError
from livepanty_db.migrate import MigrationError, describe_error
from livepanty_db.paths import SqlSourcesNotFoundError

FORMATS = ("table", "json", "csv")

#: Exceptions shown as "Error: <message>" (exit code 1) instead of a traceback; see register_error().
HANDLED_ERRORS: list[type[BaseException]] = [
    MigrationError,
    LocalClusterError,
    SqlSourcesNotFoundError,
    psycopg.Error,
]

F = TypeVar("F", bound=Callable[..., Any])


def register_error(exc_type: type[BaseException]) -> None:
    """Make the CLI report ``exc_type`` as a one-line error (exit code 1) instead of a traceback."""
    if exc_type not in HANDLED_ERRORS:
        HANDLED_ERRORS.append(exc_type)


def _root_format() -> str:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return getattr(obj, "format", "table")


class CliError(click.ClickException):
    """Every failure of a command other than a usage error, in one shape, exit status 1.

    Text: ``error [CODE]: message`` (the code when there is one: an LP code of docs/errors.md or a
    PostgreSQL SQLSTATE), then ``  detail: ...`` and ``  hint: ...`` lines. With ``--format json`` one JSON
    object instead: ``{"error": {"code": ..., "message": ..., "detail": ..., "hint": ...}}``. Both on stderr,
    so stdout only ever holds results.
    """

    exit_code = 1

    def __init__(
        self, message: str, *, code: str | None = None, detail: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail
        self.hint = hint
        self.json = _root_format() == "json"

    def format_message(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        lines = [f"error{code}: {self.message}"]
        if self.detail:
            lines.append(f"  detail: {self.detail}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def as_json(self) -> str:
        fields = {"code": self.code, "message": self.message, "detail": self.detail, "hint": self.hint}
        return json.dumps({"error": fields})

    def show(self, file: Any = None) -> None:
        click.echo(self.as_json() if self.json else self.format_message(), err=file is None, file=file)


def cli_error(exc: BaseException) -> CliError:
    """``exc`` (one of HANDLED_ERRORS, a LivepantyError or a plain click.ClickException) as a CliError."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, LivepantyError):
        return CliError(exc.message, code=exc.sqlstate, detail=exc.detail, hint=exc.hint)
    if isinstance(exc, psycopg.Error):
        return CliError(describe_error(exc), code=exc.sqlstate)
    if isinstance(exc, click.ClickException):
        return CliError(exc.message)
    return CliError(str(exc))


@contextlib.contextmanager
def converted_errors() -> Iterator[None]:
    """Re-raise our errors as :class:`CliError` (exit code 1; usage errors stay click's, exit code 2)."""
    try:
        yield
    except (click.UsageError, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except click.ClickException as exc:
        if isinstance(exc, CliError):
            raise
        raise cli_error(exc) from exc
    except (LivepantyError, *HANDLED_ERRORS) as exc:
        raise cli_error(exc) from exc


def handle_errors(func: F) -> F:
    """Decorator for command callbacks: see :func:`converted_errors`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with converted_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def render(rows: Sequence[Mapping[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> str:
    """Render rows (mappings) as a table (tabulate), a JSON array of objects, or CSV with a header line."""
    columns = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    data = [[_plain(row.get(col)) for col in columns] for row in rows]
    if fmt == "json":
        return json.dumps([dict(zip(columns, values, strict=True)) for values in data], indent=2, default=str)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(data)
        return buffer.getvalue().rstrip("\n")
    if fmt == "table":
        if not data:
            return "(no rows)"
        return tabulate(data, headers=columns)
    raise click.UsageError(f"unknown output format {fmt!r} (choose from {', '.join(FORMATS)})")


def emit(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Print rows in the format chosen with ``--format`` (read from the current click context)."""
    ctx = click.get_current_context()
    fmt = ctx.find_root().obj.format if ctx.find_root().obj is not None else "table"
    click.echo(render(rows, fmt, columns))


def note(message: str) -> None:
    """A human-oriented message: stderr, so stdout stays parseable in json/csv mode."""
    click.echo(message, err=True)
