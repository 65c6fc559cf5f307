"""The wheel ships the SQL (db/ as livepanty_db/db) and works outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("livepanty_db-*.whl")
    return built


def test_wheel_contains_the_sql_tree(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("livepanty_db/") for n in names if n.startswith("livepanty_db/db/")}
    expected = {str(p.relative_to(REPO)) for p in (REPO / "db").rglob("*") if p.is_file()}
    assert shipped == expected
    assert any(n.startswith("livepanty_db/db/migrations/0001_") for n in names)
    assert any(n.startswith("livepanty_db/db/functions/") for n in names)


def test_wheel_declares_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as zf:
        (entry_points,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        assert "livepanty-db = livepanty_db.cli:main" in zf.read(entry_points).decode()


def test_installed_wheel_migrates_outside_the_repository(wheel, tmp_path, pg_server):
    # Install only the package (its dependencies are those of this interpreter) into a directory that goes
    # first on PYTHONPATH, so it shadows the checkout; then run the console script from elsewhere.
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root = subprocess.run(
        [sys.executable, "-c", "from livepanty_db import paths; print(paths.db_root())"],
        cwd=outside, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    assert Path(root) == target / "livepanty_db" / "db"
    with pg_server.database() as dsn:
        result = subprocess.run(
            [target / "bin" / "livepanty-db", "--dsn", dsn, "--format", "json", "migrate"],
            cwd=outside, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regnamespace('lp') IS NOT NULL").fetchone()[0]


def test_wheel_is_typed_and_licensed(wheel):
    """PEP 561 marker, the licence file and metadata, one version (the package's __version__)."""
    from livepanty_db import __version__

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "livepanty_db/py.typed" in names
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = zf.read(metadata).decode()
    assert f"\nVersion: {__version__}\n" in text
    assert "\nLicense-Expression: MIT\n" in text
    assert "Classifier: Typing :: Typed" in text
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist: psycopg")]
    assert "Requires-Dist: psycopg>=3.2" in requires
    assert any("extra == 'binary'" in line and "psycopg[binary]" in line for line in requires)
