"""Appeals under concurrency: one appeal per sanction and one decision per appeal, whatever the interleaving.

Two transactions appealing the same sanction: the second waits on the first's row of the unique key and, once
the first commits, is refused with LP152 (AlreadyAppealed); two moderators deciding the same appeal: the
second waits on the sanction's row lock (api.decide_appeal locks the sanction, then the appeal) and is then
refused with LP004 (the appeal was decided); a moderator deciding an appeal while another lifts its sanction:
the decision waits on the same lock and is refused with LP004 (the lift closed the appeal as moot). Each case
holds the first transaction open until the second is seen waiting on a lock (pg_stat_activity), so the race is
real.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any

import psycopg
import pytest

from livepanty_db import Client
from livepanty_db.errors import AlreadyAppealed, InvalidState

PASSWORD = "Race-conditions-42"


def _wait_until_blocked(db_url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited on a lock")


@pytest.fixture
def staged(db_url: str) -> dict[str, Any]:
    with Client(db_url) as client:
        admin = client.create_admin(
            email="chief@example.org", username="chief", password=PASSWORD, date_of_birth=date(1980, 1, 1)
        ).id
        ids = {"admin": admin}
        for name in ("vic", "mona", "max", "moe"):
            ids[name] = client.register_user(
                email=f"{name}@example.org", username=name, password=PASSWORD, date_of_birth=date(1990, 1, 1)
            ).id
        with client.acting_as(admin, reason="setup") as tx:
            for name in ("mona", "max", "moe"):
                tx.set_user_role(ids[name], "moderator")
        with client.acting_as(ids["mona"], reason="setup") as tx:
            ids["sanction"] = tx.sanction_user(ids["vic"], "mute", "slurs").id
    return ids


def _race(db_url: str, actor: uuid.UUID, call: Any, second: Any) -> tuple[Any, BaseException | None]:
    """``call(tx)`` as ``actor`` in an open transaction; then ``second()`` in a thread, and once it waits on a
    lock the first commits. Returns the first's result and what the second raised (None: it succeeded)."""
    outcome: dict[str, BaseException | None] = {"error": None}

    def run_second() -> None:
        try:
            second()
        except BaseException as exc:  # reported to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run_second)
    with Client(db_url) as client:
        with client.acting_as(actor, reason="race 1") as tx:
            result = call(tx)
            thread.start()
            _wait_until_blocked(db_url)
        thread.join(timeout=30)
    assert not thread.is_alive()
    return result, outcome["error"]


def test_two_concurrent_appeals_of_one_sanction_file_one(db_url: str, staged: dict[str, Any]) -> None:
    def second() -> None:
        with Client(db_url) as other, other.acting_as(staged["vic"], reason="race 2") as tx:
            tx.appeal_sanction(staged["sanction"], "second")

    appeal, error = _race(
        db_url, staged["vic"], lambda tx: tx.appeal_sanction(staged["sanction"], "first"), second
    )
    assert isinstance(error, AlreadyAppealed)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT id, statement FROM lp.sanction_appeals WHERE sanction_id = %s", (staged["sanction"],)
        ).fetchall()
    assert rows == [(appeal.id, "first")]


def test_two_moderators_deciding_one_appeal_decide_it_once(db_url: str, staged: dict[str, Any]) -> None:
    with Client(db_url) as client, client.acting_as(staged["vic"], reason="appeal") as tx:
        appeal_id: uuid.UUID = tx.appeal_sanction(staged["sanction"], "please").id

    def second() -> None:
        with Client(db_url) as other, other.acting_as(staged["moe"], reason="race 2") as tx:
            tx.decide_appeal(appeal_id, False, "denied by moe")

    decided, error = _race(
        db_url, staged["max"], lambda tx: tx.decide_appeal(appeal_id, True, "granted by max"), second
    )
    assert decided.status == "granted"
    assert isinstance(error, InvalidState)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT a.status::text, a.decision_reasons, s.revoked_at IS NOT NULL"
            " FROM lp.sanction_appeals AS a JOIN lp.user_sanctions AS s ON s.id = a.sanction_id"
            " WHERE a.id = %s",
            (appeal_id,),
        ).fetchone()
    assert row == ("granted", "granted by max", True)


def test_a_decision_racing_the_lift_of_its_sanction_finds_the_appeal_moot(
    db_url: str, staged: dict[str, Any]
) -> None:
    with Client(db_url) as client, client.acting_as(staged["vic"], reason="appeal") as tx:
        appeal_id: uuid.UUID = tx.appeal_sanction(staged["sanction"], "please").id

    def second() -> None:
        with Client(db_url) as other, other.acting_as(staged["moe"], reason="race 2") as tx:
            tx.decide_appeal(appeal_id, False, "denied by moe")

    lifted, error = _race(
        db_url, staged["max"], lambda tx: tx.revoke_sanction(staged["sanction"], "lifted by max"), second
    )
    assert lifted.revoked_at is not None
    assert isinstance(error, InvalidState)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT status::text, decision_reasons FROM lp.sanction_appeals WHERE id = %s", (appeal_id,)
        ).fetchone()
    assert row == ("moot", "The sanction was lifted: lifted by max")
