"""Which database to talk to.

Resolution order (first match wins):

1. an explicit DSN (the CLI's ``--dsn``),
2. the ``LIVEPANTY_DSN`` environment variable,
3. the ``DATABASE_URL`` environment variable,
4. the embedded local cluster (``livepanty_db.local``), started on demand.

A DSN is anything libpq accepts: a URI (``postgresql://user@host:5432/db``, ``postgresql:///db?host=/run/pg``)
or a key/value string (``host=/run/pg dbname=db``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from livepanty_db import local

ENV_VARS = ("LIVEPANTY_DSN", "DATABASE_URL")


@dataclass(frozen=True)
class ResolvedDsn:
    dsn: str
    #: Where it came from: "--dsn", "LIVEPANTY_DSN", "DATABASE_URL" or "local cluster".
    source: str


def resolve(explicit: str | None = None) -> ResolvedDsn:
    """Resolve the DSN to use (see the module docstring); empty values count as unset."""
    if explicit:
        return ResolvedDsn(explicit, "--dsn")
    for name in ENV_VARS:
        value = os.environ.get(name)
        if value:
            return ResolvedDsn(value, name)
    cluster = local.Cluster()
    cluster.start()
    return ResolvedDsn(cluster.url(), "local cluster")


def resolve_dsn(explicit: str | None = None) -> str:
    """Just the DSN of :func:`resolve`."""
    return resolve(explicit).dsn
