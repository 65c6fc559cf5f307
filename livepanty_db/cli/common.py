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
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import IO, Any, TypeVar
from uuid import UUID

import click
from psycopg.rows import scalar_row

from livepanty_db import sql
from livepanty_db.cli.output import emit
from livepanty_db.client import Client, Transaction
from livepanty_db.errors import LivepantyError, NotFound
from livepanty_db.models import UserAccount

F = TypeVar("F", bound=Callable[..., Any])

_CLIENT_KEY = "livepanty_db.client"


class CatalogueError(click.ClickException):
    """A refused call, shown as ``error [CODE]: message`` plus detail and hint (exit status 1)."""

    exit_code = 1

    def __init__(self, error: LivepantyError) -> None:
        super().__init__(error.message)
        self.error = error

    def format_message(self) -> str:
        code = f" [{self.error.sqlstate}]" if self.error.sqlstate else ""
        lines = [f"error{code}: {self.error.message}"]
        if self.error.detail:
            lines.append(f"  detail: {self.error.detail}")
        if self.error.hint:
            lines.append(f"  hint: {self.error.hint}")
        return "\n".join(lines)

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=file is None, file=file)


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


def uuid_or_none(value: str) -> UUID | None:
    """``value`` as a UUID, or None when it is not one."""
    try:
        return UUID(value)
    except ValueError:
        return None


def resolve_actor(client: Client, login: str) -> UUID:
    """The id of the active user with this username, e-mail or id (read-only; see sql.RESOLVE_LOGIN)."""
    with client.transaction() as tx:
        params = {"login": login, "user_id": uuid_or_none(login)}
        ids = tx.fetch(sql.RESOLVE_LOGIN, params, row_factory=scalar_row)
    if not ids:
        raise NotFound(
            f"--as: no active user has the login {login!r}",
            hint="Give the username, e-mail address or id of an admin or moderator.",
        )
    return ids[0]


@contextlib.contextmanager
def acting(ctx: click.Context, login: str) -> Iterator[Transaction]:
    """One transaction in which the user named by ``--as`` acts."""
    client = operator_client(ctx)
    with client.acting_as(resolve_actor(client, login)) as tx:
        yield tx


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


def emit_records(records: Sequence[Any], columns: Sequence[str]) -> None:
    """Print dataclass records in the chosen ``--format``."""
    fmt = click.get_current_context().find_root().obj.format
    rows = [{col: _plain(getattr(record, col), fmt) for col in columns} for record in records]
    emit(rows, columns)
