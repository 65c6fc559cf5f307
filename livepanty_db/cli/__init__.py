"""The ``livepanty-db`` command line.

Sub-commands live in modules of this package; each module defines a click command or group named ``command``
and is listed in :data:`SUBCOMMAND_MODULES`. Adding one is one line in that list.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

import click

from livepanty_db import __version__
from livepanty_db.cli.output import FORMATS, CliError, converted_errors
from livepanty_db.config import ResolvedDsn, resolve

#: Modules of livepanty_db.cli that provide a ``command``. Extend this list to add a sub-command group
#: (planned: "users", "admin", "sessions").
SUBCOMMAND_MODULES: list[str] = [
    "local",
    "migrate",
    "users",
    "admin",
    "sessions",
    "wallets",
    "payments",
    "tips",
    "holds",
    "payouts",
    "kyc",
    "streams",
    "config",
    "verify",
    "seed",
    "jobs",
    "privacy",
    "sanctions",
    "appeals",
    "reports",
    "flags",
    "fraud",
    "values",
    "which",
    "doctor",
    "audit",
    "backup",
    "metrics",
    "archive",
    "shards",
]


@dataclass
class CliState:
    """Stored on ``ctx.obj`` by :func:`main`."""

    dsn_option: str | None
    format: str
    wide: bool = False
    _resolved: ResolvedDsn | None = field(default=None, repr=False)

    def resolved(self) -> ResolvedDsn:
        """The database to use and why (--dsn, LIVEPANTY_DSN, DATABASE_URL, libpq's PG* environment, else the
        local cluster, started on demand); logged once with -v."""
        if self._resolved is None:
            self._resolved = resolve(self.dsn_option)
            logging.getLogger("livepanty_db").info(
                "database: %s (from %s)", self._resolved.display(), self._resolved.source
            )
        return self._resolved

    def dsn(self) -> str:
        """The DSN of :meth:`resolved`."""
        return self.resolved().dsn


#: The global options (taking a value / flags) that may also be written after the sub-command.
_GLOBAL_VALUE_OPTIONS = ("--dsn", "--format")
#: The extra --format of `livepanty-db metrics` (Prometheus text exposition format).
PROMETHEUS = "prometheus"
_GLOBAL_FLAGS = ("-v", "--verbose", "--wide")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move the global options found after the sub-command to the front, so that
    ``livepanty-db wallets history vera --format json`` and ``livepanty-db migrate --dsn URL`` mean what a DBA
    typed. No sub-command defines an option of these names (a test checks); ``--`` ends the search."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _GLOBAL_FLAGS:
            front.append(arg)
        elif arg in _GLOBAL_VALUE_OPTIONS and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        elif arg.split("=", 1)[0] in _GLOBAL_VALUE_OPTIONS and "=" in arg:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


class UsageErrorJson(CliError):
    """A usage error under ``--format json``: the one JSON object of every error (see CliError), exit status 2
    as for any usage error."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        command = error.ctx.command_path if error.ctx is not None else None
        hint = f"`{command} --help` shows the usage" if command else None
        super().__init__(error.format_message(), code=None, hint=hint)
        self.json = True


class LivepantyGroup(click.Group):
    """A group whose sub-commands report our errors as one-line messages (exit code 1), never tracebacks."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_global_options(list(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        if ctx.parent is not None:
            with converted_errors():
                return super().invoke(ctx)
        from livepanty_db.cli.common import announce_generated_key  # common imports this package's siblings

        try:
            with converted_errors():
                result = super().invoke(ctx)
        except click.UsageError as exc:
            if getattr(ctx.obj, "format", None) == "json":  # one JSON object, as for every other error
                raise UsageErrorJson(exc) from exc
            raise
        except (Exception, KeyboardInterrupt) as exc:  # (Ctrl-C during a money call: its outcome is unknown)
            announce_generated_key(ctx, exc)
            raise
        announce_generated_key(ctx, None)
        return result


@click.group(cls=LivepantyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--dsn",
    metavar="DSN",
    default=None,
    help="libpq URI or key=value DSN. Default: $LIVEPANTY_DSN, $DATABASE_URL, libpq's PG* environment "
    "(PGHOST, PGPORT, ...), else the local cluster (`livepanty-db which` tells).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, PROMETHEUS)),
    default="table",
    show_default=True,
    help="Output format for results (prometheus: `livepanty-db metrics` only, and its default).",
)
@click.option(
    "--wide",
    is_flag=True,
    help="Tables show every column, with ids (default: the main columns, usernames in place of user ids). "
    "json and csv always carry every field.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what is being done (to stderr).")
@click.version_option(__version__, prog_name="livepanty-db")
@click.pass_context
def main(ctx: click.Context, dsn: str | None, fmt: str, wide: bool, verbose: bool) -> None:
    """livepanty-db: the livepanty database, its migrations and its API."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    # yoyo logs every statement of every migration at INFO (hundreds of lines); -v shows our one line per
    # migration instead, and yoyo's warnings still.
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    if fmt == PROMETHEUS and ctx.invoked_subcommand != "metrics":
        raise click.UsageError("--format prometheus is for `livepanty-db metrics` only", ctx)
    ctx.obj = CliState(dsn_option=dsn, format=fmt, wide=wide)


def _register() -> None:
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        main.add_command(module.command)


_register()
