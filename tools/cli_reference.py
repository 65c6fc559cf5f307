"""Generate docs/cli.md, the reference of every ``livepanty-db`` command, from the click definitions.

.venv/bin/python tools/cli_reference.py          # rewrite docs/cli.md
.venv/bin/python tools/cli_reference.py --check  # exit 1 when docs/cli.md is stale (tests/py run this)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's package, not whichever one is installed

import click  # noqa: E402

from livepanty_db.cli import main  # noqa: E402

TARGET = REPO / "docs" / "cli.md"

HEADER = """# livepanty-db command reference

Generated from the command definitions by `tools/cli_reference.py` (a test fails when this page is stale): run
`.venv/bin/python tools/cli_reference.py` after changing a command.

Global options (`--dsn`, `--format`, `-v`) may be written before or after the sub-command. Refusals print
`error [CODE]: message` (docs/errors.md) on stderr and exit with 1, or one JSON object with `--format json`;
usage errors exit with 2 (click's usage text, or the same one JSON object with `--format json`).

## Shell completion

click generates completion scripts; add one line to your shell's start-up file:

```sh
eval "$(_LIVEPANTY_DB_COMPLETE=bash_source livepanty-db)"   # ~/.bashrc
eval "$(_LIVEPANTY_DB_COMPLETE=zsh_source livepanty-db)"    # ~/.zshrc
_LIVEPANTY_DB_COMPLETE=fish_source livepanty-db | source    # ~/.config/fish/completions/livepanty-db.fish
```
"""


def _walk(command: click.Command, path: list[str]):
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], [*path, name])


def render() -> str:
    parts = [HEADER]
    for path, command in _walk(main, ["livepanty-db"]):
        ctx = click.Context(command, info_name=" ".join(path), terminal_width=110, max_content_width=110)
        level = "#" * min(len(path) + 1, 4)
        parts.append(f"\n{level} {' '.join(path)}\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n")
    return "".join(parts)


def main_(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(REPO)} is stale: run .venv/bin/python tools/cli_reference.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
