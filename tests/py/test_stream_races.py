"""Races around a live stream, each made on purpose with two connections and an open transaction.

* A tip in flight when the host ends the stream: api.end_stream waits for it, and the final statistics count
  it (the tip holds the stream row FOR SHARE until it commits); a tip that starts while the ending is in
  flight waits for it and is refused (LP104), as is the same tip through api.tip_many.
* A join in flight when the performer blocks the viewer: api.block_viewer waits for it and then closes the
  session it opened; a join that starts while the block is in flight waits and is refused (LP124).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

PASSWORD = "Stream-races-42"


@pytest.fixture
def live(db_url: str, seed: Any) -> Iterator[dict[str, Any]]:
    """pia (performer, verified) live with a public stream; vic and val (viewers, 1000 tokens each)."""
    client = Client(db_url)
    ids: dict[str, Any] = {}
    for name, role in (("pia", "performer"), ("vic", "viewer"), ("val", "viewer")):
        account = client.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
            role=role,
        )  # fmt: skip
        ids[name] = account.id
        ids[f"{name}_token"] = client.login(name, PASSWORD).token
    seed.approve_kyc(ids["pia"])
    seed.fund(1000, ids["vic"], ids["val"])
    with client.session(ids["pia_token"]) as tx:
        stream = tx.schedule_stream("Racing")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        tx.start_stream(stream.id)
    ids["stream"] = stream.id
    ids["client"] = client
    yield ids
    client.close()


def acting(db_url: str, token: str) -> psycopg.Connection[Any]:
    """A connection in an open transaction, acting as the session's user."""
    conn = psycopg.connect(db_url)
    conn.execute("SELECT api.authenticate(%s)", [token])
    return conn


Call = Callable[[psycopg.Connection[Any]], Any]
WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)
END_STREAM = "SELECT tips_count, tips_tokens FROM api.end_stream(%s)"
TIP_MANY = (
    "SELECT error_code FROM api.tip_many(jsonb_build_array(jsonb_build_object('session_token', %s::text,"
    " 'recipient_id', %s::text, 'amount', %s::bigint, 'idempotency_key', %s::text, 'stream_id', %s::text)))"
)


def waits(db_url: str, call: Call, token: str) -> tuple[threading.Thread, dict]:
    """Runs call on its own connection in a thread; returns once the call waits for a lock (or finished)."""
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


def test_a_tip_in_flight_is_counted_in_the_final_statistics(db_url: str, live: dict[str, Any]) -> None:
    tipper = acting(db_url, live["vic_token"])
    tipper.execute("SELECT api.tip(%s, 25, 'in-flight', %s)", [live["pia"], live["stream"]])
    # The tip has not committed: the host's end_stream waits for it.
    thread, box = waits(
        db_url,
        lambda c: c.execute(END_STREAM, [live["stream"]]).fetchone(),
        live["pia_token"],
    )
    assert box.get("waited"), "end_stream did not wait for the tip in flight"
    tipper.commit()
    tipper.close()
    thread.join(10)
    assert "error" not in box, box.get("error")
    assert box["result"] == (1, 25)


def test_a_tip_after_the_ending_began_is_refused(db_url: str, live: dict[str, Any]) -> None:
    ender = acting(db_url, live["pia_token"])
    ender.execute("SELECT api.end_stream(%s)", [live["stream"]])
    tip, tip_box = waits(
        db_url, lambda c: c.execute("SELECT api.tip(%s, 25, 'late', %s)", [live["pia"], live["stream"]]),
        live["vic_token"],
    )  # fmt: skip
    assert tip_box.get("waited"), "the tip did not wait for the ending in flight"
    ender.commit()
    ender.close()
    tip.join(10)
    assert getattr(tip_box.get("error"), "sqlstate", None) == "LP104"
    # The same through api.tip_many: one row, refused with LP104.
    with psycopg.connect(db_url) as conn:
        late = [live["val_token"], live["pia"], 25, "late-many", live["stream"]]
        row = conn.execute(TIP_MANY, late).fetchone()
        assert row == ("LP104",)
        tips = conn.execute("SELECT count(*) FROM lp.tips").fetchone()
        assert tips == (0,)


def test_a_tip_many_in_flight_is_counted_too(db_url: str, live: dict[str, Any]) -> None:
    batch = psycopg.connect(db_url)
    row = batch.execute(TIP_MANY, [live["val_token"], live["pia"], 40, "many", live["stream"]]).fetchone()
    assert row == (None,)
    thread, box = waits(
        db_url,
        lambda c: c.execute(END_STREAM, [live["stream"]]).fetchone(),
        live["pia_token"],
    )
    assert box.get("waited"), "end_stream did not wait for the batch in flight"
    batch.commit()
    batch.close()
    thread.join(10)
    assert box["result"] == (1, 40)


def test_a_join_in_flight_is_closed_by_the_block(db_url: str, live: dict[str, Any]) -> None:
    viewer = acting(db_url, live["vic_token"])
    viewer.execute("SELECT api.join_stream(%s)", [live["stream"]])
    block: Call = lambda c: c.execute("SELECT api.block_viewer(%s)", [live["vic"]])  # noqa: E731
    thread, box = waits(db_url, block, live["pia_token"])
    assert box.get("waited"), "block_viewer did not wait for the join in flight"
    viewer.commit()
    viewer.close()
    thread.join(10)
    assert "error" not in box, box.get("error")
    with psycopg.connect(db_url) as conn:
        open_sessions = conn.execute(
            "SELECT count(*) FROM lp.stream_viewers WHERE user_id = %s AND left_at IS NULL", [live["vic"]]
        ).fetchone()
        current = conn.execute(
            "SELECT sum(current_viewers) FROM lp.stream_counters WHERE stream_id = %s", [live["stream"]]
        ).fetchone()
    assert open_sessions == (0,)
    assert current == (0,)


def test_a_join_after_the_block_began_is_refused(db_url: str, live: dict[str, Any]) -> None:
    blocker = acting(db_url, live["pia_token"])
    blocker.execute("SELECT api.block_viewer(%s)", [live["vic"]])
    join: Call = lambda c: c.execute("SELECT api.join_stream(%s)", [live["stream"]])  # noqa: E731
    thread, box = waits(db_url, join, live["vic_token"])
    assert box.get("waited"), "the join did not wait for the block in flight"
    blocker.commit()
    blocker.close()
    thread.join(10)
    assert getattr(box.get("error"), "sqlstate", None) == "LP124"


def test_a_sanction_that_began_before_a_start_ends_the_stream_after_it(
    db_url: str, live: dict[str, Any]
) -> None:
    # The moderator's transaction begins (now() is fixed from here), then pia starts another stream and
    # commits, then the moderator suspends her: the stream ends at its start, never before (streams_check2).
    client: Client = live["client"]
    with client.session(live["pia_token"]) as tx:
        tx.end_stream(live["stream"])
        second = tx.schedule_stream("Second")
        tx.consent_to_stream(second.id, ip_address="203.0.113.1")
    with psycopg.connect(db_url) as conn:
        admin = conn.execute(
            "SELECT (api.create_admin('ada@example.com', 'ada', %s, '1980-01-01')).id", [PASSWORD]
        ).fetchone()
        assert admin is not None
    moderator = psycopg.connect(db_url)
    moderator.execute("SELECT api.authenticate(%s)", [client.login("ada", PASSWORD).token])
    time.sleep(0.05)
    with client.session(live["pia_token"]) as tx:
        tx.start_stream(second.id)
    moderator.execute(
        "SELECT api.sanction_user(%s, 'suspension', 'late', now() + interval '1 day')", [live["pia"]]
    )
    moderator.commit()
    moderator.close()
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT status::text, ended_at >= started_at FROM lp.streams WHERE id = %s", [second.id]
        ).fetchone()
    assert row == ("ended", True)
