"""Generate the synchronous client (livepanty_db/client_sync.py) from the asynchronous one (client_async.py).

The async client is the only hand-written copy of the API methods; the sync one is derived from it by a
fixed, textual mapping, so the two cannot drift apart::

    async def / async with / async for   ->  def / with / for
    await x                               ->  x
    AsyncClient, AsyncTransaction, _AsyncApi, AsyncConnectionPool, psycopg.AsyncConnection, AsyncIterator,
    _EventLoopBound (its event loop claimed before each connection; _EveryThread: nothing to claim),
    asynccontextmanager, __aenter__/__aexit__, asyncio.Lock, events.follow_async, AsyncTipBatcher,
    "Asynchronous"                        ->  their synchronous names

Usage: ``python tools/async_to_sync.py`` writes the file (``make generate``); ``--check`` exits 1 when the
committed file differs from what would be generated (tests/py/test_generated_client.py runs the same check).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "livepanty_db" / "client_async.py"
TARGET = ROOT / "livepanty_db" / "client_sync.py"

#: Whole-word renames, applied in this order (longer names first where one contains another).
NAMES = (
    ("AsyncConnectionPool", "ConnectionPool"),
    ("AsyncConnection", "Connection"),
    ("AsyncTransaction", "Transaction"),
    ("AsyncClient", "Client"),
    ("_AsyncApi", "_Api"),
    ("_EventLoopBound", "_EveryThread"),
    ("AsyncIterator", "Iterator"),
    ("AsyncTipBatcher", "TipBatcher"),
    ("asynccontextmanager", "contextmanager"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("follow_async", "follow"),
    ("asyncio", "threading"),
    ("Asynchronous", "Synchronous"),
    ("asynchronous", "synchronous"),
)

#: Keywords that disappear or lose their ``async``.
KEYWORDS = (
    (re.compile(r"\basync (def|with|for)\b"), r"\1"),
    (re.compile(r"\bawait "), ""),
)

HEADER = '''"""The synchronous client: GENERATED from client_async.py by tools/async_to_sync.py; do not edit.

Edit livepanty_db/client_async.py and run ``make generate`` (tests/py/test_generated_client.py fails
while this file is stale). The design is described in :mod:`livepanty_db.client`.
"""
'''


def _sorted_imports(lines: list[str]) -> list[str]:
    """Re-sort each run of plain ``import x`` lines (a rename may move one, e.g. asyncio -> threading)."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("import "):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    return out[:-1]


def generate(source: str) -> str:
    """The synchronous module for the asynchronous module text ``source``."""
    docstring_end = source.index('"""', source.index('"""') + 3) + 3
    body = source[docstring_end:].lstrip("\n")
    for pattern, replacement in KEYWORDS:
        body = pattern.sub(replacement, body)
    for old, new in NAMES:
        body = re.sub(rf"\b{re.escape(old)}\b", new, body)
    return HEADER + "\n" + "\n".join(_sorted_imports(body.split("\n")))


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the generated file is stale")
    args = parser.parse_args(argv)
    wanted = generate(SOURCE.read_text())
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != wanted:
            print(f"{_shown(TARGET)} is stale: run `make generate`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(wanted)
    print(f"wrote {_shown(TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
