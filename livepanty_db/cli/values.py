"""``livepanty-db values``: the closed lists of values the API accepts, as the database defines them.

Each list (a platform role, a hold purpose, a payout method, a status to filter by, ...) is written once: an
enum type in schema ``lp`` (db/schema/08_vocabularies.sql). The database validates arguments against it
(``lp.check_choice``), and the CLI reads it from the catalog of the database it talks to: :class:`Vocabulary`
checks an option's value before anything is called (a usage error, exit status 2, naming the allowed
values), and this command lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
import psycopg

__all__ = ["Vocabulary", "command", "load_vocabularies"]

# Read by any login: pg_enum and pg_type are catalogs, not application tables.
_VOCABULARIES_SQL = """
SELECT t.typname::text AS name,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS allowed,
       coalesce(pg_catalog.obj_description(t.oid, 'pg_type'), '') AS description
  FROM pg_catalog.pg_type AS t
  JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
  JOIN pg_catalog.pg_enum AS e ON e.enumtypid = t.oid
 WHERE n.nspname = 'lp'
 GROUP BY t.oid, t.typname
 ORDER BY t.typname
"""

_CACHE: dict[str, dict[str, list[str]]] = {}


def load_vocabularies(dsn: str) -> dict[str, list[str]]:
    """Every enum type of schema lp with its values in order, read once per DSN and process."""
    if dsn not in _CACHE:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(_VOCABULARIES_SQL).fetchall()
        _CACHE[dsn] = {name: list(allowed) for name, allowed, _ in rows}
    return _CACHE[dsn]


class Vocabulary(click.ParamType):
    """A value of the enum type ``lp.<type_name>``, checked against the database the command will use.

    When the database cannot be read here (it is down, or older than the type), the value goes through
    unchecked: the API function checks it again and refuses it with LP018 (LP017 for roles).
    """

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.name = type_name

    def get_metavar(self, param: click.Parameter, *args: Any, **kwargs: Any) -> str:
        return self.type_name.upper()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        allowed = self._allowed(ctx)
        if allowed is not None and value not in allowed:
            self.fail(
                f"{value!r} is not a {self.type_name} (one of {', '.join(allowed)}; "
                f"`livepanty-db values {self.type_name}` lists them)",
                param,
                ctx,
            )
        return value

    def _allowed(self, ctx: click.Context | None) -> Sequence[str] | None:
        state = ctx.find_root().obj if ctx is not None else None
        if state is None:
            return None
        try:
            return load_vocabularies(state.dsn()).get(self.type_name)
        except (psycopg.Error, OSError, click.ClickException):
            return None


@click.command("values")
@click.argument("name", required=False)
@click.pass_context
def command(ctx: click.Context, name: str | None) -> None:
    """The allowed values of every list the API accepts (or of NAME only, e.g. hold_purpose)."""
    from livepanty_db.cli.output import emit

    with psycopg.connect(ctx.obj.dsn(), autocommit=True) as conn:
        rows = conn.execute(_VOCABULARIES_SQL).fetchall()
    found = [
        {"name": row_name, "values": ", ".join(allowed), "description": description}
        for row_name, allowed, description in rows
        if name is None or row_name == name
    ]
    if name is not None and not found:
        known = ", ".join(row_name for row_name, _, _ in rows)
        raise click.BadParameter(f"no list named {name!r} (known: {known})", ctx, ctx.command.params[0])
    emit(found, ["name", "values", "description"])
