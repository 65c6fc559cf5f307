"""Which database to talk to.

Resolution order (first match wins):

1. an explicit DSN (the CLI's ``--dsn``),
2. the ``LIVEPANTY_DSN`` environment variable,
3. the ``DATABASE_URL`` environment variable,
4. libpq's own environment: any of ``PGHOST``, ``PGHOSTADDR``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``,
   ``PGSERVICE``, ``PGPASSFILE`` set (and not empty) means a database was given; the DSN is made of those
   variables, and libpq still reads the rest of its environment (``PGPASSWORD``, ``PGSSLMODE``, ...) when it
   connects,
5. the embedded local cluster (``livepanty_db.local``), started on demand.

A DSN is anything libpq accepts: a URI (``postgresql://user@host:5432/db``, ``postgresql:///db?host=/run/pg``)
or a key/value string (``host=/run/pg dbname=db``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from livepanty_db import local

ENV_VARS = ("LIVEPANTY_DSN", "DATABASE_URL")
#: libpq environment variables that name a database (variable -> connection parameter), in libpq's order.
LIBPQ_ENV_VARS = {
    "PGHOST": "host",
    "PGHOSTADDR": "hostaddr",
    "PGPORT": "port",
    "PGDATABASE": "dbname",
    "PGUSER": "user",
    "PGSERVICE": "service",
    "PGPASSFILE": "passfile",
}


@dataclass(frozen=True)
class ResolvedDsn:
    dsn: str
    #: Where it came from: "--dsn", "LIVEPANTY_DSN", "DATABASE_URL", "libpq environment (PGHOST, ...)" or
    #: "local cluster".
    source: str

    def display(self) -> str:
        """The DSN with any password replaced by ``***`` (for logs and ``livepanty-db which``)."""
        return redact(self.dsn)


def resolve(explicit: str | None = None) -> ResolvedDsn:
    """Resolve the DSN to use (see the module docstring); empty values count as unset."""
    if explicit:
        return ResolvedDsn(explicit, "--dsn")
    for name in ENV_VARS:
        value = os.environ.get(name)
        if value:
            return ResolvedDsn(value, name)
    given = {name: os.environ[name] for name in LIBPQ_ENV_VARS if os.environ.get(name)}
    if given:
        dsn = make_conninfo(**{LIBPQ_ENV_VARS[name]: value for name, value in given.items()})
        return ResolvedDsn(dsn, f"libpq environment ({', '.join(given)})")
    cluster = local.Cluster()
    cluster.start()
    return ResolvedDsn(cluster.url(), "local cluster")


def resolve_dsn(explicit: str | None = None) -> str:
    """Just the DSN of :func:`resolve`."""
    return resolve(explicit).dsn


def redact(dsn: str) -> str:
    """``dsn`` as key=value conninfo with the password hidden (unparsable input becomes a placeholder)."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # a DSN libpq cannot parse is shown as such, never echoed
        return "<unparsable DSN>"
    if "password" in params:
        params["password"] = "***"  # noqa: S105 - the mask, not a password
    return make_conninfo(**{key: str(value) for key, value in params.items()})
