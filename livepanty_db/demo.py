"""The demo run by ``make demo``: ``python -m livepanty_db.demo [DSN]``.

For now it shows the migration status of the database; the walkthrough of the API is added here later.
"""

from __future__ import annotations

import sys

from tabulate import tabulate

from livepanty_db import config, migrate


def run(dsn: str) -> None:
    print("Migration status:")
    rows = [[s.id, s.state, s.applied_at] for s in migrate.status(dsn)]
    print(tabulate(rows, headers=["migration", "state", "applied_at (UTC)"]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        dsn = config.resolve_dsn(argv[0] if argv else None)
        run(dsn)
    except (migrate.MigrationError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
