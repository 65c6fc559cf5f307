"""Races between closing a stream's active goal and queueing the next one, each made on purpose with two
connections and an open transaction (no timing: one transaction is held open at the point that matters).

The bug: a goal closing (api.cancel_tip_goal, or api.settle_tip_goals past the deadline) activated the next
queued goal from its own snapshot, holding only the goal row, while api.add_tip_goal queues under the stream
row (FOR NO KEY UPDATE). The host adding G2 while G1 was being closed left the stream live with no active goal
and G2 queued forever (tips counted toward no goal): the add still saw G1 active (G2 queued), the close could
not see the uncommitted G2 (nothing activated). Now every closer takes the goal's stream row first (FOR
SHARE, which conflicts with the add's FOR NO KEY UPDATE): the two run one after the other, in either order,
and G2 ends up active. The settle job also activates the next goal of a live stream left with queued goals
and no active one (a safety net, for a queue stuck before the fix). Each race test below fails on the code
before the fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

PASSWORD = "Goal-races-42"
WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)
ADD_GOAL = "SELECT status::text FROM api.add_tip_goal(%s, %s, %s)"
CANCEL_GOAL = "SELECT status::text FROM api.cancel_tip_goal(%s, 'changed my mind')"
SETTLE = "SELECT tips_paid, tips_refunded, goals_reached, goals_missed FROM api.settle_tip_goals()"
TIP = "SELECT goal_id FROM api.tip(%s, 25, %s, %s)"

Call = Callable[[psycopg.Connection[Any]], Any]


@pytest.fixture
def live(db_url: str, seed: Any) -> Iterator[dict[str, Any]]:
    """pia (performer, verified) live with a stream whose active goal is G1; vic (viewer, 1000 tokens)."""
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
        stream = tx.schedule_stream("Goal races")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        tx.start_stream(stream.id)
    ids["stream"] = stream.id
    with acting(db_url, ids["pia_token"]) as conn:
        [g1, status] = conn.execute(
            "SELECT id, status::text FROM api.add_tip_goal(%s, 1000, 'G1', now() + interval '1 hour')",
            [stream.id],
        ).fetchone()  # fmt: skip
        conn.commit()
    assert status == "active"
    ids["g1"] = g1
    yield ids
    client.close()


def acting(db_url: str, token: str) -> psycopg.Connection[Any]:
    """A connection in an open transaction, acting as the session's user."""
    conn = psycopg.connect(db_url)
    conn.execute("SET statement_timeout = '20s'")
    conn.execute("SELECT api.authenticate(%s)", [token])
    return conn


def service(db_url: str) -> psycopg.Connection[Any]:
    """A connection in an open transaction as the back office (nobody acts). A lock wait fails it after 5 s:
    the job must never wait for the rows these tests hold."""
    conn = psycopg.connect(db_url)
    conn.execute("SET statement_timeout = '5s'")
    conn.execute("SET ROLE livepanty_service")
    return conn


def waits(db_url: str, call: Call, token: str) -> tuple[threading.Thread, dict[str, Any]]:
    """Runs call on its own connection in a thread (and commits); returns once it waits for a lock or ends."""
    box: dict[str, Any] = {}

    def run() -> None:
        with acting(db_url, token) as conn:
            try:
                box["result"] = call(conn)
                conn.commit()
            except psycopg.Error as error:
                box["error"] = error
                conn.rollback()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    with psycopg.connect(db_url, autocommit=True) as watcher:
        while time.monotonic() < deadline and thread.is_alive():
            row = watcher.execute(WAITING).fetchone()
            if row and row[0] > 0:
                box["waited"] = True
                break
            time.sleep(0.02)
    return thread, box


def goals(db_url: str, stream: Any) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        return [
            (d, s)
            for d, s in conn.execute(
                "SELECT description, status::text FROM lp.tip_goals WHERE stream_id = %s ORDER BY position",
                [stream],
            )
        ]


def started(db_url: str, stream: Any, goal: str) -> int:
    """How many goal_started events the stream has for the goal described so."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM lp.stream_events AS e"
            " JOIN lp.tip_goals AS g ON g.id = (e.payload ->> 'goal_id')::uuid"
            " WHERE e.stream_id = %s AND e.kind = 'goal_started' AND g.description = %s",
            [stream, goal],
        ).fetchone()  # fmt: skip
        return int(row[0]) if row else 0


def settle(db_url: str) -> tuple[int, int, int, int]:
    with service(db_url) as conn:
        row = conn.execute(SETTLE).fetchone()
        conn.commit()
        assert row is not None
        return row


def tip_goes_to(db_url: str, live: dict[str, Any], key: str) -> str | None:
    """A tip to the stream now: the description of the goal it counts toward (None: no goal)."""
    with acting(db_url, live["vic_token"]) as conn:
        [goal_id] = conn.execute(TIP, [live["pia"], key, live["stream"]]).fetchone()
        conn.commit()
    if goal_id is None:
        return None
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT description FROM lp.tip_goals WHERE id = %s", [goal_id]).fetchone()
        return str(row[0]) if row else None


def test_a_goal_added_while_the_active_one_is_cancelled_becomes_active(
    db_url: str, live: dict[str, Any]
) -> None:
    canceller = acting(db_url, live["pia_token"])
    assert canceller.execute(CANCEL_GOAL, [live["g1"]]).fetchone() == ("cancelled",)
    # The cancel has not committed: the add waits for it (it holds the stream FOR SHARE), and then finds no
    # active goal. Before the fix it did not wait, saw G1 still active and queued G2 for good.
    add, box = waits(
        db_url, lambda c: c.execute(ADD_GOAL, [live["stream"], 200, "G2"]).fetchone(), live["pia_token"]
    )
    canceller.commit()
    canceller.close()
    add.join(20)
    assert "error" not in box, box.get("error")
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "active")]
    assert box.get("waited"), "add_tip_goal did not wait for the cancel in flight"
    assert box["result"] == ("active",)
    assert started(db_url, live["stream"], "G2") == 1
    assert tip_goes_to(db_url, live, "after-cancel") == "G2"


def test_the_active_goal_cancelled_while_a_goal_is_added_makes_way_for_it(
    db_url: str, live: dict[str, Any]
) -> None:
    adder = acting(db_url, live["pia_token"])
    assert adder.execute(ADD_GOAL, [live["stream"], 200, "G2"]).fetchone() == ("queued",)
    # The add has not committed: the cancel waits for the stream row, then sees G2 and activates it. Before
    # the fix it did not wait and activated nothing (G2 was not in its snapshot).
    cancel, box = waits(db_url, lambda c: c.execute(CANCEL_GOAL, [live["g1"]]).fetchone(), live["pia_token"])
    adder.commit()
    adder.close()
    cancel.join(20)
    assert "error" not in box, box.get("error")
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "active")]
    assert box.get("waited"), "cancel_tip_goal did not wait for the add in flight"
    assert started(db_url, live["stream"], "G2") == 1
    assert tip_goes_to(db_url, live, "after-add") == "G2"


def past_deadline(db_url: str, goal: Any) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.tip_goals SET deadline = now() - interval '1 second' WHERE id = %s", [goal])


def test_a_goal_added_while_the_settle_job_misses_the_active_one_becomes_active(
    db_url: str, live: dict[str, Any]
) -> None:
    past_deadline(db_url, live["g1"])
    job = service(db_url)
    assert job.execute(SETTLE).fetchone() == (0, 0, 0, 1)
    # The job has not committed: the add waits for it (the job holds the stream FOR SHARE while it closes G1).
    add, box = waits(
        db_url, lambda c: c.execute(ADD_GOAL, [live["stream"], 200, "G2"]).fetchone(), live["pia_token"]
    )
    job.commit()
    job.close()
    add.join(20)
    assert "error" not in box, box.get("error")
    assert goals(db_url, live["stream"]) == [("G1", "missed"), ("G2", "active")]
    assert box.get("waited"), "add_tip_goal did not wait for the settle job in flight"
    assert box["result"] == ("active",)
    assert tip_goes_to(db_url, live, "after-settle") == "G2"


def test_the_settle_job_skips_a_goal_whose_stream_an_add_holds_and_closes_it_next_run(
    db_url: str, live: dict[str, Any]
) -> None:
    past_deadline(db_url, live["g1"])
    adder = acting(db_url, live["pia_token"])
    assert adder.execute(ADD_GOAL, [live["stream"], 200, "G2"]).fetchone() == ("queued",)
    # The add holds the stream row: the job skips G1 (SKIP LOCKED, no wait; its statement_timeout would fail
    # it otherwise). Before the fix it closed G1 without seeing G2, and nothing activated G2 ever after.
    assert settle(db_url) == (0, 0, 0, 0)
    adder.commit()
    adder.close()
    assert goals(db_url, live["stream"]) == [("G1", "active"), ("G2", "queued")]
    assert settle(db_url) == (0, 0, 0, 1)
    assert goals(db_url, live["stream"]) == [("G1", "missed"), ("G2", "active")]
    assert started(db_url, live["stream"], "G2") == 1
    assert tip_goes_to(db_url, live, "next-run") == "G2"


def stick(db_url: str, live: dict[str, Any]) -> None:
    """What the race left before the fix: G1 closed, G2 queued behind no active goal on the live stream."""
    with acting(db_url, live["pia_token"]) as conn:
        assert conn.execute(ADD_GOAL, [live["stream"], 200, "G2"]).fetchone() == ("queued",)
        conn.commit()
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE lp.tip_goals SET status = 'cancelled', closed_at = now(), close_reason = 'lost race'"
            " WHERE id = %s",
            [live["g1"]],
        )  # fmt: skip
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "queued")]


def test_the_settle_job_activates_a_queued_goal_left_behind_no_active_one(
    db_url: str, live: dict[str, Any]
) -> None:
    stick(db_url, live)
    assert settle(db_url) == (0, 0, 0, 0)
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "active")]
    assert started(db_url, live["stream"], "G2") == 1
    assert tip_goes_to(db_url, live, "safety-net") == "G2"
    assert settle(db_url) == (0, 0, 0, 0)
    assert started(db_url, live["stream"], "G2") == 1


def test_the_safety_net_skips_a_stream_a_tip_holds(db_url: str, live: dict[str, Any]) -> None:
    stick(db_url, live)
    tipper = acting(db_url, live["vic_token"])
    assert tipper.execute(TIP, [live["pia"], "in-flight", live["stream"]]).fetchone() == (None,)
    # The tip holds the stream FOR SHARE: the job does not wait for it (statement_timeout), it leaves the
    # stream to its next run.
    assert settle(db_url) == (0, 0, 0, 0)
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "queued")]
    tipper.commit()
    tipper.close()
    assert settle(db_url) == (0, 0, 0, 0)
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "active")]


def test_a_cancel_does_not_wait_for_a_tip_in_flight(db_url: str, live: dict[str, Any]) -> None:
    """Tips and cancels both hold the stream FOR SHARE: neither waits for the other."""
    with acting(db_url, live["pia_token"]) as conn:
        assert conn.execute(ADD_GOAL, [live["stream"], 200, "G2"]).fetchone() == ("queued",)
        conn.commit()
    tipper = acting(db_url, live["vic_token"])
    tipper.execute(TIP, [live["pia"], "in-flight", live["stream"]])
    canceller = acting(db_url, live["pia_token"])
    canceller.execute("SET lock_timeout = '2s'")
    assert canceller.execute(CANCEL_GOAL, [live["g1"]]).fetchone() == ("cancelled",)
    canceller.commit()
    canceller.close()
    tipper.commit()
    tipper.close()
    assert goals(db_url, live["stream"]) == [("G1", "cancelled"), ("G2", "active")]


ERASE = "SELECT (erased ->> 'streams_ended')::integer FROM api.erase_user(%s, 'asked by mail')"


def lock_waiters(db_url: str, count: int) -> bool:
    """Whether ``count`` transactions wait for a lock within 10 s."""
    deadline = time.monotonic() + 10
    with psycopg.connect(db_url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(WAITING).fetchone()
            if row and row[0] >= count:
                return True
            time.sleep(0.02)
    return False


def test_an_erasure_and_a_cancel_of_a_goal_of_the_hosts_ended_stream_do_not_deadlock(
    db_url: str, live: dict[str, Any]
) -> None:
    """The host's erasure (lp.erase_personal_data) changed her goal rows (their descriptions) before her
    stream rows, while api.cancel_tip_goal takes the stream row (FOR SHARE) before the goal row: an admin
    cancelling a goal of her ended stream (which lp.erase's lp.end_streams_of does not lock) during her
    erasure, each waited for the other (40P01). The erasure now locks her stream rows before it touches a
    goal: the cancel waits for it, then finds the goal closed (LP004, as it would after the erasure)."""
    client = Client(db_url)
    client.create_admin(
        email="ada@example.org", username="ada", password=PASSWORD, date_of_birth="1980-01-01"
    )
    ada = client.login("ada", PASSWORD).token
    with acting(db_url, live["pia_token"]) as conn:
        [item] = conn.execute("SELECT id FROM api.set_menu_item('Wave', 25)").fetchone()
        conn.execute("SELECT api.end_stream(%s)", [live["stream"]])  # G1 missed: 'stream ended'
        conn.commit()
    # A third transaction holds her menu item, which the erasure changes after her goals: the erasure stops
    # there, holding her goal row (and, now, her stream row first).
    blocker = psycopg.connect(db_url)
    blocker.execute("SELECT 1 FROM lp.tip_menu_items WHERE id = %s FOR SHARE", [item])
    erase, erased = waits(db_url, lambda c: c.execute(ERASE, [live["pia"]]).fetchone(), ada)
    assert erased.get("waited"), "the erasure did not wait for the menu item"
    cancel, cancelled = waits(
        db_url,
        lambda c: c.execute(
            "SELECT status::text FROM api.cancel_tip_goal(%s, 'off-topic')", [live["g1"]]
        ).fetchone(),
        ada,
    )
    assert lock_waiters(db_url, 2), "the cancel did not wait for the erasure"
    blocker.commit()
    blocker.close()
    erase.join(30)
    cancel.join(30)
    errors = [box["error"] for box in (erased, cancelled) if "error" in box]
    assert not [e for e in errors if e.sqlstate == "40P01"], f"deadlock: {errors}"
    assert "error" not in erased, erased.get("error")
    assert erased["result"] == (0,)
    assert cancelled["error"].sqlstate == "LP004", cancelled
    assert goals(db_url, live["stream"]) == [("erased", "missed")]
