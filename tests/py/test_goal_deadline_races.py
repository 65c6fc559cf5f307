"""A goal's deadline passing while a tip toward it is in flight (api.settle_tip_goals closing it as missed).

A tip holds its stream's active goal FOR KEY SHARE from its read (api.tip), and the job misses a goal past its
deadline only under FOR UPDATE SKIP LOCKED: it skips a goal with a tip in flight. The tip's tokens then either
reach the target (the tip closes the goal reached) or not (a later run misses it, and pays every escrowed tip
back, once). The races are forced with open transactions, no timing (docs/streams.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

PASSWORD = "Goal-deadline-42"
SETTLE = "SELECT tips_paid, tips_refunded, goals_reached, goals_missed FROM api.settle_tip_goals()"
TIP = "SELECT id, goal_id, status FROM api.tip(%s, 25, %s, %s)"
WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


@pytest.fixture
def live(db_url: str, seed: Any) -> Iterator[dict[str, Any]]:
    """pia (performer, verified) live; her stream's active goal G1 (refund_if_missed, target 50, deadline in
    an hour); vic (viewer, 1000 tokens) has tipped 25 toward it (committed, escrowed)."""
    client = Client(db_url)
    ids: dict[str, Any] = {}
    for name, role in (("pia", "performer"), ("vic", "viewer")):
        account = client.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
            role=role,
        )  # fmt: skip
        ids[name] = account.id
        ids[f"{name}_token"] = client.login(name, PASSWORD).token
    seed.approve_kyc(ids["pia"])
    seed.fund(1000, ids["vic"])
    with client.session(ids["pia_token"]) as tx:
        stream = tx.schedule_stream("Goal deadline races")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        tx.start_stream(stream.id)
    ids["stream"] = stream.id
    with acting(db_url, ids["pia_token"]) as conn:
        [g1, status] = conn.execute(
            "SELECT id, status::text FROM api.add_tip_goal(%s, 50, 'G1', now() + interval '1 hour', true)",
            [stream.id],
        ).fetchone()  # fmt: skip
        conn.commit()
    assert status == "active"
    ids["g1"] = g1
    with acting(db_url, ids["vic_token"]) as conn:
        [_, goal, status] = conn.execute(TIP, [ids["pia"], "first", stream.id]).fetchone()
        conn.commit()
    assert (goal, status) == (g1, "escrowed")
    ids["before"] = {"vic": balance(db_url, ids["vic"]), "pia": balance(db_url, ids["pia"])}
    yield ids
    client.close()


def acting(db_url: str, token: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(db_url)
    conn.execute("SET statement_timeout = '20s'")
    conn.execute("SELECT api.authenticate(%s)", [token])
    return conn


def settle(db_url: str) -> tuple[int, int, int, int]:
    """One run of the job, committed. A lock wait fails it after 5 s: it must wait for no tip."""
    with psycopg.connect(db_url) as conn:
        conn.execute("SET statement_timeout = '5s'")
        conn.execute("SET ROLE livepanty_service")
        row = conn.execute(SETTLE).fetchone()
        conn.commit()
        assert row is not None
        return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def pass_deadline(db_url: str, goal: Any) -> None:
    """The deadline passes now (after every transaction begun so far started: they read it ahead)."""
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.tip_goals SET deadline = clock_timestamp() WHERE id = %s", [goal])
    time.sleep(0.01)


def balance(db_url: str, user: Any) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s"
            " WHERE s.wallet_id = w.id), 0) FROM lp.wallets AS w WHERE w.user_id = %s",
            [user],
        ).fetchone()  # fmt: skip
        assert row is not None
        return int(row[0])


def outcome(db_url: str, live: dict[str, Any]) -> dict[str, Any]:
    """The goal's status, its tips' statuses, how often each was settled, the escrow and the ledger check."""
    with psycopg.connect(db_url) as conn:
        [status, closed_by_deadline] = conn.execute(
            "SELECT status::text, close_reason = 'deadline passed' FROM lp.tip_goals WHERE id = %s",
            [live["g1"]],
        ).fetchone()  # fmt: skip
        tips = sorted(
            (str(s), int(n))
            for s, n in conn.execute(
                "SELECT t.status::text, (SELECT count(DISTINCT l.transaction_id) FROM lp.ledger AS l"
                "  WHERE l.reference_id = t.id AND l.transaction_id <> t.transaction_id)"
                " FROM lp.tips AS t WHERE t.goal_id = %s",
                [live["g1"]],
            )
        )
        [escrow] = conn.execute(
            "SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s"
            " WHERE s.wallet_id = w.id), 0) FROM lp.wallets AS w WHERE w.system_code = 'goal_escrow'"
        ).fetchone()  # fmt: skip
        conn.execute("SET ROLE livepanty_service")
        problems = conn.execute("SELECT count(*) FROM api.verify_ledger()").fetchone()
    return {
        "goal": status,
        "by_deadline": closed_by_deadline,
        "tips": tips,
        "escrow": int(escrow),
        "problems": problems[0] if problems else None,
        "vic": balance(db_url, live["vic"]) - live["before"]["vic"],
        "pia": balance(db_url, live["pia"]) - live["before"]["pia"],
    }


def settle_all(db_url: str) -> list[tuple[int, int, int, int]]:
    """Runs the job until a run does nothing."""
    runs = []
    for _ in range(5):
        runs.append(settle(db_url))
        if runs[-1] == (0, 0, 0, 0):
            return runs
    raise AssertionError(f"the job never settled: {runs}")


def test_a_tip_in_flight_at_the_deadline_holds_the_goal_open_then_both_tips_are_refunded_once(
    db_url: str, live: dict[str, Any]
) -> None:
    """The job skips the goal while a tip toward it is in flight (its first run misses nothing); once the tip
    commits, escrowed toward the still active goal, a later run misses the goal and pays both tips back, once
    each: the escrow ends at 0 and verify_ledger is clean."""
    # Target 1000: the tip in flight does not reach it.
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.tip_goals SET target_tokens = 1000 WHERE id = %s", [live["g1"]])
    tipper = acting(db_url, live["vic_token"])
    try:
        [_, goal, status] = tipper.execute(TIP, [live["pia"], "in-flight", live["stream"]]).fetchone()
        assert (goal, status) == (live["g1"], "escrowed")
        pass_deadline(db_url, live["g1"])
        first = settle(db_url)
        with psycopg.connect(db_url) as conn:
            [still] = conn.execute(
                "SELECT status::text FROM lp.tip_goals WHERE id = %s", [live["g1"]]
            ).fetchone()
        tipper.commit()
    finally:
        tipper.close()
    runs = [first, *settle_all(db_url)]
    assert (first, still) == ((0, 0, 0, 0), "active"), runs  # skipped while the tip was in flight
    assert sum(r[3] for r in runs) == 1, runs  # missed once, by a later run
    # Both tips paid back once each (vic: -25 in flight, +50 back), nothing to pia, the escrow empty.
    assert outcome(db_url, live) == {
        "goal": "missed", "by_deadline": True, "tips": [("refunded", 1), ("refunded", 1)], "escrow": 0,
        "problems": 0, "vic": 25, "pia": 0,
    }, runs  # fmt: skip


def test_a_batch_in_flight_at_the_deadline_holds_the_goal_open(db_url: str, live: dict[str, Any]) -> None:
    """api.tip_many takes the goals of the streams it names FOR KEY SHARE too: the job skips the goal while
    the batch is in flight, and misses it once the batch committed (both tips paid back once)."""
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.tip_goals SET target_tokens = 1000 WHERE id = %s", [live["g1"]])
    tipper = psycopg.connect(db_url)
    tipper.execute("SET statement_timeout = '20s'")
    tipper.execute("SET ROLE livepanty_service")
    try:
        rows = tipper.execute(
            "SELECT error_code, tip_id FROM api.tip_many(jsonb_build_array(jsonb_build_object("
            "'session_token', %s::text, 'recipient_id', %s::text, 'amount', 25, 'idempotency_key', 'batch',"
            " 'stream_id', %s::text)))",
            [live["vic_token"], str(live["pia"]), str(live["stream"])],
        ).fetchall()  # fmt: skip
        assert [r[0] for r in rows] == [None], rows
        pass_deadline(db_url, live["g1"])
        first = settle(db_url)
        tipper.commit()
    finally:
        tipper.close()
    runs = [first, *settle_all(db_url)]
    assert first == (0, 0, 0, 0), runs  # skipped while the batch was in flight
    assert outcome(db_url, live) == {
        "goal": "missed", "by_deadline": True, "tips": [("refunded", 1), ("refunded", 1)], "escrow": 0,
        "problems": 0, "vic": 25, "pia": 0,
    }, runs  # fmt: skip


def test_a_tip_in_flight_that_would_reach_the_target_at_the_deadline_reaches_the_goal(
    db_url: str, live: dict[str, Any]
) -> None:
    """25 committed, 25 in flight (target 50): the tip is held inside api.tip after its read of the goal
    (another transaction holds vic's fraud-control counter row, which lp.count_spend takes after the read).
    The job skips the goal meanwhile; the tip, released, reaches the target and closes the goal reached, and
    the job pays both tips out."""
    blocker = psycopg.connect(db_url)
    blocker.execute("SELECT 1 FROM lp.spend_counters WHERE user_id = %s FOR UPDATE", [live["vic"]])
    box: dict[str, Any] = {}

    def run() -> None:
        with acting(db_url, live["vic_token"]) as conn:
            try:
                box["result"] = conn.execute(TIP, [live["pia"], "crossing", live["stream"]]).fetchone()
                conn.commit()
            except psycopg.Error as error:
                box["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    try:
        end = time.monotonic() + 10
        with psycopg.connect(db_url, autocommit=True) as watcher:
            while time.monotonic() < end:
                row = watcher.execute(WAITING).fetchone()
                if row and row[0] > 0:
                    break
                time.sleep(0.02)
        pass_deadline(db_url, live["g1"])
        first = settle(db_url)
    finally:
        blocker.rollback()
        blocker.close()
        thread.join(20)
    assert "error" not in box, box.get("error")
    runs = [first, *settle_all(db_url)]
    result = outcome(db_url, live)
    assert (result["goal"], result["tips"], result["escrow"], result["problems"]) == (
        "reached", [("completed", 1), ("completed", 1)], 0, 0,
    ), runs  # fmt: skip
