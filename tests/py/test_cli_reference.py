"""docs/cli.md is generated from the click definitions and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current():
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_reference_documents_completion_and_every_command():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import cli_reference
    finally:
        sys.path.pop(0)
    text = cli_reference.render()
    assert "_LIVEPANTY_DB_COMPLETE=bash_source livepanty-db" in text
    from livepanty_db.cli import main

    for name in main.commands:
        assert f"\n### livepanty-db {name}\n" in text
