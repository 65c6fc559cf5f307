"""Where the SQL sources are: the `db/` tree shipped in the wheel, or the repository's own `db/`.

Layout (docs/CONVENTIONS.md):

    db/schema/NN_name.sql             canonical definitions, loaded in file-name order
    db/migrations/NNNN_name.sql       yoyo migrations (+ NNNN_name.rollback.sql)
    db/functions/<schema>.<name>.sql  repeatable: one function per file
    db/views/<schema>.<name>.sql      repeatable: one view per file
    db/policies/<table>.sql           repeatable: one table's policies and grants
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

#: Installed wheels carry the SQL inside the package (pyproject.toml: hatch force-include).
INSTALLED_DB = _PACKAGE_DIR / "db"
#: A source checkout (or an editable install) has it at the repository root.
REPOSITORY_DB = _PACKAGE_DIR.parent / "db"


class SqlSourcesNotFoundError(RuntimeError):
    """Neither the installed nor the repository db/ directory exists."""


def db_root() -> Path:
    """The `db/` directory: the installed `livepanty_db/db` if present, else the repository's `db/`."""
    for candidate in (INSTALLED_DB, REPOSITORY_DB):
        if (candidate / "migrations").is_dir():
            return candidate
    raise SqlSourcesNotFoundError(
        f"SQL sources not found: neither {INSTALLED_DB} nor {REPOSITORY_DB} has a migrations/ directory"
    )


def _resolve(root: Path | None) -> Path:
    return db_root() if root is None else Path(root)


def _sql_files(directory: Path) -> list[Path]:
    """The `*.sql` files of a directory sorted by name (an absent directory has none)."""
    if not directory.is_dir():
        return []
    return sorted(
        (p for p in directory.iterdir() if p.is_file() and p.suffix == ".sql"), key=lambda p: p.name
    )


def schema_files(root: Path | None = None) -> list[Path]:
    """Canonical definition files, in load order (file-name order)."""
    return _sql_files(_resolve(root) / "schema")


def migrations_dir(root: Path | None = None) -> Path:
    """The yoyo migrations directory."""
    return _resolve(root) / "migrations"


def migration_files(root: Path | None = None) -> list[Path]:
    """Every file in the migrations directory (forward and `.rollback.sql`), sorted by name."""
    return _sql_files(migrations_dir(root))


def function_files(root: Path | None = None) -> list[Path]:
    """Repeatable function definitions, `<schema>.<name>.sql`, sorted by name."""
    return _sql_files(_resolve(root) / "functions")


def view_files(root: Path | None = None) -> list[Path]:
    """Repeatable view definitions, `<schema>.<name>.sql`, sorted by name."""
    return _sql_files(_resolve(root) / "views")


def policy_files(root: Path | None = None) -> list[Path]:
    """Repeatable policy (and grant) definitions, `<table>.sql`, sorted by name."""
    return _sql_files(_resolve(root) / "policies")
