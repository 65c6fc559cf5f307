"""Deadlock regression tests for the stream, show and goal rows of the lock protocol (docs/ledger.md, "Lock
protocol", step 1), each found by ``test_stream_chaos.py`` in CI and then forced here:

1. A show starting (``api.answer_show`` accepting a private request, ``api.start_show``) while its stream
   ends. The ending (``lp.close_stream``, under ``api.end_stream`` or a sanction) holds the stream and ends
   its shows in id order: it ends the running one, then waits for the requested one. The start held the
   requested show's row and waited for the ending, on the unique index of the one running show per stream
   (the old row of the running show is still in it until the ending commits). Now ``lp.lock_show`` takes
   the stream ``FOR SHARE`` before the show row, so the start queues on the stream before it holds
   anything. Forced: the test keeps the ending inside its first show (the participants table is held in
   SHARE mode, so the ending's write of that show's viewers waits; a held viewer's row no longer stops it:
   the ending takes them SKIP LOCKED) until the start waits too. Failed on the old code in every run.
2. Two workers of ``api.settle_tip_goals`` while a stream ends. A worker locked the ended streams of its tips,
   then the others, in two statements: a stream ending between them was locked by neither and updated later
   in the payout statement (its final statistics), after streams locked out of id order, against another
   worker holding it and waiting for one the first held. Then each stream was locked in turn in id order, in
   the mode its status needs at that moment, waiting for a held one; that still deadlocked once in the chaos
   test (with a party the log did not name). Now the job waits for no stream or goal: a held one is skipped
   (SKIP LOCKED) with its tips, which a later run settles. Forced: a third stream, first in id order, is held
   while the first worker runs (it must not wait); the stream ends; the second worker comes (it must not
   wait); the holder lets go and a third run settles the rest. Failed on the first code every run (the
   settle-specific test in test_goals_concurrency.py fails on the second).

Every operation is a real api call with the application's role and acting user; ``deadlock_timeout`` is 50 ms
so a cycle is reported at once. Each test asserts no 40P01 (or other unexpected error) and a clean
``api.verify_ledger`` afterwards.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from livepanty_db import Client

pytestmark = pytest.mark.not_through_pgbouncer(
    "each stage is recognised by a backend's pid in pg_blocking_pids, deadlock_timeout is set per session"
)

PASSWORD = "stream lock order 1"
GOAL = "SELECT api.add_tip_goal(%s, %s, 'goal', now() + interval '1 hour', true)"


def connect(dsn: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SET deadlock_timeout = '50ms'")
    return conn


def act(
    conn: psycopg.Connection[Any], token: str, statement: str, params: list[Any] | None = None
) -> list[Any]:
    """One transaction as the session's user, through the application role."""
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute("SELECT api.authenticate(%s)", [token])
        return conn.execute(statement, params or []).fetchall()


def register(client: Client, name: str, role: str = "viewer") -> None:
    client.register_user(
        email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01", role=role
    )


def user_ids(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        return dict(conn.execute("SELECT username::text, id FROM lp.users").fetchall())


def go_live(conn: psycopg.Connection[Any], token: str, title: str) -> Any:
    [[stream]] = act(conn, token, "SELECT id FROM api.schedule_stream(%s)", [title])
    act(conn, token, "SELECT api.consent_to_stream(%s, '203.0.113.1')", [stream])
    act(conn, token, "SELECT api.start_stream(%s)", [stream])
    return stream


def blocked_by(conn: psycopg.Connection[Any], pid: int, blocker: int, seconds: float = 10.0) -> bool:
    """Wait until backend ``pid`` waits for ``blocker``; False when it never does within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if blocker in conn.execute("SELECT pg_blocking_pids(%s)", [pid]).fetchone()[0]:
            return True
        time.sleep(0.01)
    return False


def verify_clean(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("SET ROLE livepanty_service")
        problems = conn.execute("SELECT * FROM api.verify_ledger()").fetchall()
    assert problems == []


def test_a_show_starting_while_its_stream_ends_does_not_deadlock(db_url: str, seed: Any) -> None:
    client = Client(db_url)
    for name in ("host", "ann", "bob", "cat"):
        register(client, name, "performer" if name == "host" else "viewer")
    ids = user_ids(db_url)
    seed.approve_kyc(ids["host"])
    seed.fund(10000, ids["ann"], ids["bob"], ids["cat"])
    tokens = {name: client.login(name, PASSWORD).token for name in ("host", "ann", "bob", "cat")}
    with connect(db_url) as conn:
        act(conn, tokens["host"], "SELECT api.set_show_price('private', 10, 1)")
        act(conn, tokens["host"], "SELECT api.set_show_price('group', 5, 1, NULL, 2)")
        stream = go_live(conn, tokens["host"], "two shows")
        for name in ("ann", "bob", "cat"):
            act(conn, tokens[name], "SELECT api.join_stream(%s)", [stream])
        # A group show running (two viewers in it), then a private request after it (a later id).
        [[running]] = act(conn, tokens["host"], "SELECT id FROM api.offer_show(%s, 'group')", [stream])
        for name in ("ann", "bob"):
            act(conn, tokens[name], "SELECT api.join_show(%s, %s)", [running, f"join-{name}"])
        act(conn, tokens["host"], "SELECT api.start_show(%s)", [running])
        [[requested]] = act(conn, tokens["cat"], "SELECT id FROM api.request_show(%s, 'ask')", [stream])
        assert str(running) < str(requested)

    errors: dict[str, BaseException] = {}
    results: dict[str, Any] = {}

    def run(label: str, conn: psycopg.Connection[Any], token: str, statement: str, params: list[Any]) -> None:
        try:
            results[label] = act(conn, token, statement, params)
        except BaseException as error:
            errors[label] = error

    with connect(db_url) as holder, connect(db_url) as ending, connect(db_url) as starting:
        ending_pid = ending.execute("SELECT pg_backend_pid()").fetchone()[0]
        starting_pid = starting.execute("SELECT pg_backend_pid()").fetchone()[0]
        holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
        # The participants table is held in SHARE mode: the ending stops inside the running show, after its
        # row, when it takes that show's viewers out (their rows are taken SKIP LOCKED, so holding one would
        # not stop it).
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE lp.show_participants IN SHARE MODE")
        end = threading.Thread(
            target=run, args=("end", ending, tokens["host"], "SELECT api.end_stream(%s)", [stream])
        )
        end.start()
        assert blocked_by(holder, ending_pid, holder_pid), "the ending never reached the running show"
        start = threading.Thread(
            target=run,
            args=("answer", starting, tokens["host"], "SELECT api.answer_show(%s, true)", [requested]),
        )
        start.start()
        assert blocked_by(holder, starting_pid, ending_pid), "the start did not wait for the ending"
        holder.execute("COMMIT")
        end.join(30)
        start.join(30)

    assert "end" not in errors, errors
    answer_error = errors.get("answer")
    # The start waited for the ending and then found its request cancelled with the stream: a refusal.
    assert isinstance(answer_error, psycopg.Error), errors
    assert answer_error.sqlstate == "LP004", answer_error
    with psycopg.connect(db_url) as conn:
        statuses = dict(
            conn.execute("SELECT id, status::text FROM lp.shows WHERE stream_id = %s", [stream]).fetchall()
        )
    assert statuses == {running: "ended", requested: "cancelled"}
    verify_clean(db_url)


def test_settle_workers_and_a_stream_ending_between_their_locks_do_not_deadlock(
    db_url: str, seed: Any
) -> None:
    client = Client(db_url)
    for name in ("carla", "anna", "bea", "fan"):
        register(client, name, "viewer" if name == "fan" else "performer")
    ids = user_ids(db_url)
    seed.approve_kyc(ids["carla"], ids["anna"], ids["bea"])
    seed.fund(10000, ids["fan"])
    tokens = {name: client.login(name, PASSWORD).token for name in ("carla", "anna", "bea", "fan")}
    streams: dict[str, Any] = {}
    with connect(db_url) as conn:
        # Three streams, named by their id order: s3 < s1 < s2; each with a goal that the tips below reach.
        live = sorted((go_live(conn, tokens[host], host), host) for host in ("carla", "anna", "bea"))
        host_of = {}
        for (stream, host), key, target in zip(live, ("s3", "s1", "s2"), (10, 20, 20), strict=True):
            streams[key], host_of[key] = stream, host
            act(conn, tokens[host], GOAL, [stream, target])
            act(conn, tokens["fan"], "SELECT api.join_stream(%s)", [stream])
        # Tips in id order: the first worker (limit 3) gets s1, s2, s3's; the second (limit 2) s1 and s2's.
        for n, key in enumerate(("s1", "s2", "s3", "s1", "s2")):
            act(
                conn, tokens["fan"], "SELECT api.tip(%s, 10, %s, %s)",
                [ids[host_of[key]], f"tip-{n}", streams[key]],
            )  # fmt: skip
        due = conn.execute(
            "SELECT count(*) FROM lp.tips AS t JOIN lp.tip_goals AS g ON g.id = t.goal_id"
            " WHERE t.status = 'escrowed' AND g.status = 'reached'"
        ).fetchone()[0]
        assert due == 5
        act(conn, tokens[host_of["s2"]], "SELECT api.end_stream(%s)", [streams["s2"]])

    errors: dict[str, BaseException] = {}
    threads: dict[str, threading.Thread] = {}

    def settle(label: str, conn: psycopg.Connection[Any], limit: int) -> None:
        try:
            conn.execute("SELECT * FROM api.settle_tip_goals(%s)", [limit]).fetchall()
        except BaseException as error:
            errors[label] = error

    with connect(db_url) as holder, connect(db_url) as first, connect(db_url) as second:
        pids = {}
        for label, conn in (("holder", holder), ("first", first), ("second", second)):
            pids[label] = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        first.execute("SET ROLE livepanty_service")
        second.execute("SET ROLE livepanty_service")
        # s3 is held: the first worker used to stop at it (the oldest code: after it locked the ended s2;
        # then: first, waiting); now it passes it by (SKIP LOCKED) and leaves its tip for a later run.
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM lp.streams WHERE id = %s FOR NO KEY UPDATE", [streams["s3"]])
        threads["first"] = threading.Thread(target=settle, args=("first", first, 3))
        threads["first"].start()
        threads["first"].join(10)
        assert not threads["first"].is_alive(), "the first worker waited for the held stream"
        # s1 ends meanwhile; the second worker comes (the old code: it locks the ended s1 and waits for s2).
        with connect(db_url) as conn:
            act(conn, tokens[host_of["s1"]], "SELECT api.end_stream(%s)", [streams["s1"]])
        threads["second"] = threading.Thread(target=settle, args=("second", second, 2))
        threads["second"].start()
        threads["second"].join(10)
        assert not threads["second"].is_alive(), "the second worker waited"
        escrowed = holder.execute("SELECT count(*) FROM lp.tips WHERE status = 'escrowed'").fetchone()[0]
        assert escrowed >= 1  # s3's tip at least: its stream is held
        holder.execute("COMMIT")
        settle("third", first, 10)  # a later run takes what was skipped
    assert errors == {}
    with psycopg.connect(db_url) as conn:
        left = conn.execute("SELECT count(*) FROM lp.tips WHERE status = 'escrowed'").fetchone()[0]
        stats = dict(
            conn.execute(
                "SELECT id, ARRAY[tips_count, tips_tokens] FROM lp.streams WHERE id = ANY (%s)",
                [[streams["s1"], streams["s2"]]],
            ).fetchall()
        )
    assert left == 0
    # The ended streams' final statistics count the tips paid out after they ended, each once.
    assert stats == {streams["s1"]: [2, 20], streams["s2"]: [2, 20]}
    verify_clean(db_url)
