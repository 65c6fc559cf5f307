"""Shared CLI helpers: rendering rows (table, json, csv) and turning our errors into readable messages."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click
import psycopg
from tabulate import tabulate

from livepanty_db.errors import LivepantyError, redact_secrets
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


#: ``api.name`` or ``api.name(...)`` in a text: an SQL API function, as the server's hints name them.
_API_MENTION = re.compile(r"\bapi\.([a-z_][a-z0-9_]*)(?:\([^()]*\))?")
_PARENTHESES = re.compile(r"\(([^()]*)\)")


def api_commands(root: click.Command) -> dict[str, str]:
    """The CLI command that does each SQL API function's job (``create_payment`` -> ``livepanty-db payments
    create``), read from the commands' help, which names the function called in parentheses. A function named
    by several commands goes to the one naming the fewest functions, then the shortest."""
    candidates: dict[str, list[tuple[int, int, str]]] = {}

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        named = {
            match.group(1)
            for group in _PARENTHESES.findall(command.help or "")
            for match in _API_MENTION.finditer(group)
        }
        for function in named:
            candidates.setdefault(function, []).append((len(named), len(path), " ".join(path)))

    walk(root, ["livepanty-db"])
    return {function: min(found)[2] for function, found in candidates.items()}


def cli_hints(text: str | None, root: click.Command | None = None) -> str | None:
    """``text`` with each ``api.name`` / ``api.name(...)`` that a CLI command wraps replaced by that command
    (in backquotes); functions no command wraps are left as they are."""
    if not text or "api." not in text:
        return text
    if root is None:
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            root = ctx.find_root().command
        else:
            from livepanty_db.cli import main as root
    commands = api_commands(root)

    def replace(match: re.Match[str]) -> str:
        command = commands.get(match.group(1))
        return f"`{command}`" if command is not None else match.group(0)

    return _API_MENTION.sub(replace, text)


def cli_error(exc: BaseException) -> CliError:
    """``exc`` (one of HANDLED_ERRORS, a LivepantyError or a plain click.ClickException) as a CliError, the
    SQL functions its detail and hint name replaced by the CLI commands that wrap them (:func:`cli_hints`)."""
    if isinstance(exc, CliError):
        error = exc
    elif isinstance(exc, LivepantyError):
        error = CliError(exc.message, code=exc.sqlstate, detail=exc.detail, hint=exc.hint)
    elif isinstance(exc, psycopg.Error):
        error = CliError(describe_error(exc), code=exc.sqlstate)
    elif isinstance(exc, click.ClickException):
        error = CliError(exc.message)
    else:
        error = CliError(str(exc))
    error.detail = cli_hints(error.detail)
    error.hint = cli_hints(error.hint)
    # libpq quotes a DSN it cannot parse back, password and all: never printed
    dsn = _root_dsn()
    error.message = redact_secrets(error.message, dsn)
    error.detail = redact_secrets(error.detail, dsn) if error.detail else error.detail
    error.hint = redact_secrets(error.hint, dsn) if error.hint else error.hint
    return error


def _root_dsn() -> str | None:
    """The DSN the running command was given (``--dsn``, else the one resolved from the environment)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    resolved = getattr(obj, "_resolved", None)
    return resolved.dsn if resolved is not None else getattr(obj, "dsn_option", None)


@contextlib.contextmanager
def converted_errors() -> Iterator[None]:
    """Re-raise our errors as :class:`CliError` (exit code 1; usage errors stay click's, exit code 2)."""
    try:
        yield
    except (click.UsageError, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except click.ClickException as exc:
        error = cli_error(exc)
        if error is exc:  # a CliError already (a refusal): its hint rewritten, raised as it is
            raise
        raise error from exc
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


def confirm(question: str) -> None:
    """Ask ``question`` (stderr) before a destructive step; anything but yes (also no terminal: end of input)
    stops the command with an error (exit status 1; one JSON object with ``--format json``), nothing done."""
    try:
        agreed = click.confirm(question, default=False, err=True)
    except click.exceptions.Abort:
        agreed = False
    if not agreed:
        raise CliError("not confirmed: nothing was done", hint="Answer y, or pass --yes not to be asked.")


def note(message: str) -> None:
    """A human-oriented message: stderr, so stdout stays parseable in json/csv mode."""
    click.echo(message, err=True)
