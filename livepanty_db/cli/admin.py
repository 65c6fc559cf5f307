"""``livepanty-db admin``: bootstrap admin accounts (operator tool, DBA connection).

``admin create`` calls ``api.create_admin`` as the connection's role, which must be ``livepanty_service`` (or
a member of it) or a superuser. The password is asked for twice without echo, or read from the first line of
standard input with ``--password-stdin``; there is no default password anywhere.
"""

from __future__ import annotations

from datetime import datetime

import click

from livepanty_db.cli.output import note
from livepanty_db.cli.users import (
    USER_COLUMNS,
    as_date,
    catalogued_errors,
    dob_option,
    emit_records,
    operator_client,
    password_stdin_option,
    read_password,
)


@click.group("admin")
def command() -> None:
    """Admin accounts (needs a DBA connection with the livepanty_service role, or a superuser)."""


@command.command("create")
@click.option("--email", required=True, help="E-mail address (login).")
@click.option("--username", required=True, help="Public handle (login).")
@dob_option
@click.option("--display-name", default=None, help="Shown name (optional).")
@password_stdin_option
@click.pass_context
@catalogued_errors
def create(
    ctx: click.Context,
    email: str,
    username: str,
    date_of_birth: datetime,
    display_name: str | None,
    password_stdin: bool,
) -> None:
    """Create an admin account (api.create_admin). The password is prompted for (twice)."""
    password = read_password(password_stdin, prompt="Admin password")
    user = operator_client(ctx).create_admin(
        email=email,
        username=username,
        password=password,
        date_of_birth=as_date(date_of_birth),
        display_name=display_name,
    )
    emit_records([user], USER_COLUMNS)
    note(f"created admin {user.username} ({user.id})")
