"""Helpers shared by the operator commands (users, admin, sessions and the token economy groups).

The operator commands need a DBA connection (``--dsn``; the embedded cluster's superuser by default). They
call the SQL API either acting as the platform user named by ``--as LOGIN`` (a username, e-mail address or
user id; ``$LIVEPANTY_AS``), in one transaction in which the API decides what that user may do, or as the back
office: ``livepanty_service`` with nobody acting (:func:`service_client`: every transaction starts with
``SET LOCAL ROLE livepanty_service``, so the role's grants are what is exercised). Refused calls print
``error [CODE]: message`` (docs/errors.md) on stderr and exit with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import getpass
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Any, TypeVar
from uuid import UUID

import click
import psycopg
from psycopg.rows import scalar_row

from livepanty_db import new_idempotency_key, sql
from livepanty_db.cli.output import CliError, emit, note, render
from livepanty_db.client import Client, Transaction
from livepanty_db.errors import LivepantyError, NotFound, class_for_sqlstate
from livepanty_db.models import UserAccount

F = TypeVar("F", bound=Callable[..., Any])

_CLIENT_KEY = "livepanty_db.client"
_SERVICE_CLIENT_KEY = "livepanty_db.service_client"
#: The back-office database role: money transitions (complete a payment, mark a payout paid, ...) and jobs.
SERVICE_ROLE = "livepanty_service"


class CatalogueError(CliError):
    """A refused call: ``error [CODE]: message`` plus detail and hint (exit status 1); see CliError."""

    def __init__(self, error: LivepantyError) -> None:
        super().__init__(error.message, code=error.sqlstate, detail=error.detail, hint=error.hint)
        self.error = error


def catalogued_errors(func: F) -> F:
    """Decorator for command callbacks: LivepantyError -> :class:`CatalogueError`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LivepantyError as exc:
            raise CatalogueError(exc) from exc

    return wrapper  # type: ignore[return-value]


def operator_client(ctx: click.Context) -> Client:
    """The command's client on the CLI's DSN (``--dsn`` etc.), closed when the command ends."""
    root = ctx.find_root()
    client = root.meta.get(_CLIENT_KEY)
    if client is None:
        client = root.meta[_CLIENT_KEY] = root.with_resource(Client(root.obj.dsn()))
    return client


def service_client(ctx: click.Context) -> Client:
    """A client whose every transaction starts with ``SET LOCAL ROLE livepanty_service``, nobody acting.

    The back-office commands run through it, so the service role's grants are what is exercised (the DBA
    connection must be a member of livepanty_service, or a superuser).
    """
    root = ctx.find_root()
    client = root.meta.get(_SERVICE_CLIENT_KEY)
    if client is None:
        client = root.with_resource(Client(root.obj.dsn(), role=SERVICE_ROLE))
        root.meta[_SERVICE_CLIENT_KEY] = client
    return client


def operator_reason(ctx: click.Context) -> str:
    """The reason ``api.act_as`` audits for a CLI command: the command and the operating system user."""
    return f"{ctx.command_path} (operator {getpass.getuser()})"


def as_option(func: F) -> F:
    """``--as LOGIN``: the admin or moderator the command acts as."""
    return click.option(
        "--as",
        "as_login",
        metavar="LOGIN",
        envvar="LIVEPANTY_AS",
        required=True,
        help="Act as this admin or moderator: username, e-mail or user id (default: $LIVEPANTY_AS).",
    )(func)


class UuidParam(click.ParamType):
    """An id (a UUID), checked before anything is called: a malformed one is a usage error (exit status 2),
    e.g. ``Invalid value for 'PAYMENT_ID': 'abc' is not a UUID``. Arguments that take a username or an id
    (a user) stay plain strings."""

    name = "uuid"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> UUID:
        if isinstance(value, UUID):
            return value
        try:
            return UUID(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a UUID", param, ctx)


#: The type of every argument and option that takes an id.
UUID_TYPE = UuidParam()


def uuid_or_none(value: str) -> UUID | None:
    """``value`` as a UUID, or None when it is not one."""
    try:
        return UUID(value)
    except ValueError:
        return None


def resolve_login(client: Client, login: str, what: str, hint: str | None = None) -> UUID:
    """The id of the active user with this username, e-mail or id (read-only; see sql.RESOLVE_LOGIN; on the
    router of a sharded installation, the directory: sql.RESOLVE_LOGIN_ROUTER).

    ``what`` names the option or argument in the error (LP003) when nobody has the login.
    """
    with client.transaction() as tx:
        params = {"login": login, "user_id": uuid_or_none(login)}
        on_router = tx.fetch(sql.IS_ROUTER, row_factory=scalar_row)[0]
        ids = tx.fetch(
            sql.RESOLVE_LOGIN_ROUTER if on_router else sql.RESOLVE_LOGIN, params, row_factory=scalar_row
        )
    if not ids:
        raise NotFound(
            f"{what}: no active user has the login {login!r}",
            hint=hint or "Give a username, e-mail address or user id.",
        )
    return ids[0]


def resolve_actor(client: Client, login: str) -> UUID:
    """The id of the user named by ``--as`` (see :func:`resolve_login`)."""
    return resolve_login(
        client, login, "--as", hint="Give the username, e-mail address or id of an admin or moderator."
    )


@contextlib.contextmanager
def acting(ctx: click.Context, login: str) -> Iterator[Transaction]:
    """One transaction in which the user named by ``--as`` acts: the back office's ``api.act_as`` under
    livepanty_service, audited with the command as the reason."""
    actor = resolve_actor(operator_client(ctx), login)
    with service_client(ctx).acting_as(actor, reason=operator_reason(ctx)) as tx:
        yield tx


def user_as_option(func: F) -> F:
    """An optional ``--as LOGIN`` for reads of one user's data: default, that user reads their own."""
    return click.option(
        "--as",
        "as_login",
        metavar="LOGIN",
        envvar="LIVEPANTY_AS",
        default=None,
        help="Act as this user, e.g. an admin (default: $LIVEPANTY_AS, else the user whose data is read).",
    )(func)


@contextlib.contextmanager
def acting_for(
    ctx: click.Context, as_login: str | None, user: str | None, what: str = "USER"
) -> Iterator[tuple[Transaction, UUID | None]]:
    """One transaction acting as ``--as``, else as ``user`` itself; yields it and ``user``'s id (or None).

    ``what`` names ``user``'s option or argument in errors. Neither given: a usage error.
    """
    if as_login is None and user is None:
        raise click.UsageError(f"give {what}, --as, or both")
    client = operator_client(ctx)
    user_id = resolve_login(client, user, what) if user is not None else None
    actor = resolve_actor(client, as_login) if as_login is not None else user_id
    with service_client(ctx).acting_as(actor, reason=operator_reason(ctx)) as tx:  # type: ignore[arg-type]  # one of the two is set
        yield tx, user_id


password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)


def read_password(
    from_stdin: bool, prompt: str = "Password", *, confirm: bool = True, flag: str = "--password-stdin"
) -> str:
    """A secret (a password, an ingest key): the first line of stdin (``flag``), or asked without echo (twice
    when ``confirm``: a new password). Never a default, never a command-line value: argv is visible to every
    local user in ``ps`` and lands in shell history."""
    if from_stdin:
        line = click.get_text_stream("stdin").readline().rstrip("\r\n")
        if not line:
            raise click.UsageError(f"{flag}: nothing on standard input")
        return line
    return click.prompt(
        prompt, hide_input=True, confirmation_prompt=confirm, err=True
    )  # stdout: results only


def key_option(func: F) -> F:
    """``--key KEY``: the idempotency key of a money operation (see :func:`idempotency_key`)."""
    return click.option(
        "--key",
        "key",
        metavar="KEY",
        default=None,
        help="Idempotency key (1..128 characters). Default: a new one, printed on stderr; repeat the "
        "command with --key KEY to retry it without doing it twice.",
    )(func)


#: ctx.meta key of an idempotency key the CLI made up for the running command (see announce_generated_key).
GENERATED_KEY = "livepanty_db.generated_key"


def idempotency_key(key: str | None) -> str:
    """``key``, or a new key, announced (stderr) when the command ends unless the call was refused: see
    :func:`announce_generated_key`."""
    if key is None:
        key = new_idempotency_key()
        click.get_current_context().meta[GENERATED_KEY] = key
    return key


def announce_generated_key(ctx: click.Context, error: BaseException | None) -> None:
    """Print the made-up idempotency key of the command, if any, after it ran: on success (a repeat with it is
    answered as a replay), after a failure that may pass (a transient SQLSTATE of docs/errors.md: 40001,
    40P01, 55P03, 57014, 57P0x, a lost connection 08xxx, LP200: repeat with --key to finish it without doing
    it twice) and after an interruption (Ctrl-C: the call's outcome is unknown). Never after anything else: a
    refusal (an LP code, a bad argument, an integrity violation, class 23, insufficient privilege, 42501), a
    usage error or a failure without a SQLSTATE, which a repeat with that key cannot help."""
    key = ctx.meta.get(GENERATED_KEY)
    if key is None:
        return
    if error is not None and not isinstance(error, KeyboardInterrupt) and not _transient(error):
        return
    note(f"idempotency key: {key} (to retry this call safely, repeat it with --key {key})")


def _transient(error: BaseException) -> bool:
    """True for a failure that may pass: a TransientError, or a CliError with a transient SQLSTATE."""
    if isinstance(error, LivepantyError):
        return error.transient
    code = error.code if isinstance(error, CliError) else None
    return bool(code) and class_for_sqlstate(code).transient


def lookup_user(tx: Transaction, login_or_id: str) -> UserAccount:
    """A user by id (``api.get_user``) or by username / e-mail (``api.find_user``), as the acting user."""
    user_id = uuid_or_none(login_or_id)
    return tx.get_user(user_id) if user_id is not None else tx.find_user(login_or_id)


def _plain(value: Any, fmt: str) -> Any:
    if isinstance(value, UUID | IPv4Address | IPv6Address | timedelta):
        return str(value)
    if isinstance(value, dict | list) and fmt != "json":
        return json.dumps(value, sort_keys=True)
    return value


def output_format() -> str:
    """The ``--format`` of the running command."""
    return click.get_current_context().find_root().obj.format


def wide_tables() -> bool:
    """``--wide``: tables show every column, ids as they are."""
    return bool(getattr(click.get_current_context().find_root().obj, "wide", False))


#: Columns that hold a user id (or a list of them). A table (``--format table`` without ``--wide``) shows the
#: usernames in their place, under the column's name without ``_id`` (``sender_id`` -> ``sender``); json, csv
#: and ``--wide`` keep the ids.
USER_ID_COLUMNS = frozenset(
    {
        "user_id",
        "sender_id",
        "recipient_id",
        "payee_id",
        "host_id",
        "performer_id",
        "blocked_id",
        "requested_by",
        "reporter_id",
        "reported_user_id",
        "performers",
    }
)
#: The usernames of a batch of user ids, in one query on the operator's DBA connection (the connection that
#: resolves ``--as`` logins reads lp.users too; see sql.RESOLVE_LOGIN).
USERNAMES_SQL = "SELECT u.id, u.username::text FROM lp.users AS u WHERE u.id = ANY(%(ids)s::uuid[])"
#: The same on the router of a sharded installation (its lp.users is empty): the directory keeps each user's
#: username as registered.
USERNAMES_ROUTER_SQL = (
    "SELECT u.user_id, u.username FROM router.users AS u WHERE u.user_id = ANY(%(ids)s::uuid[])"
)


def usernames(ids: Sequence[Any]) -> dict[UUID, str]:
    """The username of each of ``ids`` that names a user, in one query; empty when they cannot be read (a
    login without access to lp.users): the table then shows the ids."""
    wanted = sorted({u for u in (uuid_or_none(str(i)) for i in ids if i is not None) if u is not None})
    if not wanted:
        return {}
    try:
        with operator_client(click.get_current_context()).transaction() as tx:
            on_router = tx.fetch(sql.IS_ROUTER, row_factory=scalar_row)[0]
            return dict(tx.fetch(USERNAMES_ROUTER_SQL if on_router else USERNAMES_SQL, {"ids": wanted}))
    except (LivepantyError, psycopg.Error) as exc:
        logging.getLogger("livepanty_db").info("usernames not shown: %s", exc)
        return {}


def _table_header(column: str) -> str:
    return column.removesuffix("_id") if column in USER_ID_COLUMNS else column


def _ids(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


#: Printed (stderr) with a money result answered from its idempotency key (the model's ``replayed`` flag).
REPLAYED_NOTE = "replayed: the answer of an earlier call with this idempotency key; nothing was done again"


def emit_records(records: Sequence[Any], columns: Sequence[str]) -> None:
    """Print dataclass records in the chosen ``--format``. A table without ``--wide`` shows usernames in the
    columns of :data:`USER_ID_COLUMNS` (a list of ids: the names, comma-separated), one query for all rows."""
    if any(getattr(record, "replayed", False) for record in records):
        note(REPLAYED_NOTE)
    fmt = output_format()
    user_columns = [col for col in columns if col in USER_ID_COLUMNS]
    if fmt != "table" or wide_tables() or not user_columns or not records:
        emit([{col: _plain(getattr(record, col), fmt) for col in columns} for record in records], columns)
        return
    raw = [{col: getattr(record, col) for col in columns} for record in records]
    names = usernames([i for row in raw for col in user_columns for i in _ids(row[col])])

    def name(value: Any) -> Any:
        user_id = uuid_or_none(str(value)) if value is not None else None
        return names.get(user_id, value) if user_id is not None else value

    for row in raw:
        for col in user_columns:
            value = row[col]
            row[col] = ", ".join(str(name(i)) for i in value) if isinstance(value, list) else name(value)
    headers = [_table_header(col) for col in columns]
    emit([{_table_header(col): _plain(row[col], fmt) for col in columns} for row in raw], headers)


def emit_plain(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print dict rows in the chosen ``--format``, values made printable as :func:`emit_records` does."""
    fmt = output_format()
    emit([{col: _plain(row.get(col), fmt) for col in columns} for row in rows], columns)


def field_names(model: type) -> list[str]:
    """The field names of a dataclass model, in order (the columns of its SQL row type)."""
    return [f.name for f in dataclasses.fields(model)]


def emit_models(records: Sequence[Any], model: type, table_columns: Sequence[str] | None = None) -> None:
    """Print ``model`` records: in table format only ``table_columns`` (when given; usernames in place of user
    ids, see :func:`emit_records`), unless ``--wide``; json, csv and ``--wide`` tables: every field."""
    if table_columns is not None and output_format() == "table" and not wide_tables():
        emit_records(records, table_columns)
    else:
        emit_records(records, field_names(model))


def emit_sections(sections: Sequence[tuple[str, Sequence[Any], Sequence[str]]]) -> None:
    """Print several named result sets (name, dataclass records, columns) as one document.

    table: each set under a ``== name`` heading; json: one object with a key per set; csv: the sets one after
    the other, each with its header line, separated by an empty line.
    """
    fmt = output_format()
    rendered = []
    for name, records, columns in sections:
        rows = [{col: _plain(getattr(record, col), fmt) for col in columns} for record in records]
        rendered.append((name, rows, columns))
    if fmt == "json":
        document = {name: json.loads(render(rows, fmt, columns)) for name, rows, columns in rendered}
        click.echo(json.dumps(document, indent=2))
    elif fmt == "csv":
        click.echo("\n\n".join(render(rows, fmt, columns) for _, rows, columns in rendered))
    else:
        click.echo(
            "\n\n".join(f"== {name}\n{render(rows, fmt, columns)}" for name, rows, columns in rendered)
        )
