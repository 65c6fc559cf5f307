"""The pgTAP harness fails the run on a failing assertion, a plan mismatch, a missing plan or an SQL error.

Each case runs pytest in a subprocess on SQL files in a temporary directory, with a copy of tests/conftest.py
and the project's pytest configuration, against the server of this session (LIVEPANTY_TEST_DSN).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PASSING = """\
BEGIN;
SELECT plan(3);
SELECT has_schema('lp', 'schema lp exists');
SELECT ok(true, 'truth holds');
SELECT is(1 + 1, 2, 'arithmetic works');
SELECT * FROM finish();
ROLLBACK;
"""

FAILING = {
    "test_failing_assertion.sql": """\
BEGIN;
SELECT plan(2);
SELECT ok(false, 'deliberately false');
SELECT is(1, 1, 'one is one');
SELECT * FROM finish();
ROLLBACK;
""",
    "test_plan_mismatch.sql": """\
BEGIN;
SELECT plan(3);
SELECT ok(true, 'the only assertion');
SELECT * FROM finish();
ROLLBACK;
""",
    "test_no_plan.sql": """\
BEGIN;
SELECT 1;
ROLLBACK;
""",
    "test_sql_error.sql": """\
BEGIN;
SELECT plan(1);
SELECT ok(true, 'fine so far');
SELECT * FROM lp.no_such_table;
SELECT * FROM finish();
ROLLBACK;
""",
}


def run_pytest(tmp_path: Path, files: dict[str, str], server_dsn: str) -> tuple[int, str, dict[str, str]]:
    """Run pytest on ``files``; returns (exit code, output, {test file: passed|failed|error|skipped})."""
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    report = tmp_path / "report.xml"
    env = {**os.environ, "LIVEPANTY_TEST_DSN": server_dsn}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(tmp_path),
            "-p", "no:cacheprovider", f"--junitxml={report}", "-v", *sorted(files),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcome = (
            "failed"
            if "failure" in kinds
            else "error"
            if "error" in kinds
            else kinds.pop()
            if kinds
            else "passed"
        )
        # A file whose assertions failed is reported once per failing subtest and once for the file.
        if outcomes.get(name) in (None, "passed"):
            outcomes[name] = outcome
    return result.returncode, result.stdout + result.stderr, outcomes


@pytest.fixture
def server_dsn(pg_server) -> str:
    return pg_server.admin_dsn


def test_passing_file_passes_and_reports_each_assertion(tmp_path, server_dsn):
    code, output, outcomes = run_pytest(tmp_path, {"test_passing.sql": PASSING}, server_dsn)
    assert code == 0, output
    assert outcomes == {"test_passing.sql": "passed"}, output
    for description in ("schema lp exists", "truth holds", "arithmetic works"):
        assert f"SUBPASSED[- {description}]" in output, output


def test_failing_files_fail_the_run(tmp_path, server_dsn):
    code, output, outcomes = run_pytest(tmp_path, {"test_passing.sql": PASSING, **FAILING}, server_dsn)
    assert code == 1, output
    assert outcomes == {
        "test_passing.sql": "passed",
        "test_failing_assertion.sql": "failed",
        "test_plan_mismatch.sql": "failed",
        "test_no_plan.sql": "failed",
        "test_sql_error.sql": "failed",
    }, output
    assert "SUBFAILED[- deliberately false]" in output
    assert "planned 3 tests but actually ran 1" in output
    assert "no TAP plan found" in output
    assert 'relation "lp.no_such_table" does not exist' in output
