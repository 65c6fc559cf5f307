"""Tip goals under concurrency: tippers (single tips, menu items, batches), two settle workers and the host
cancelling and adding goals, all at once on one live stream whose goal queue mixes refund_if_missed goals
(tips in escrow) and plain ones, some with deadlines that pass during the run.

At the end (the stream ended, the settle job run until it has nothing left), checked against a model built
from the tips themselves:

* no call failed for any reason but the expected refusals (no deadlock, no serialization failure, no
  constraint violation);
* every goal is closed; each goal's progress equals the tips attributed to it; a reached goal's progress is at
  least its target; each goal closed with exactly one event (reached exactly once);
* nothing is left in escrow: tips toward reached refund_if_missed goals were paid out, those toward missed or
  cancelled ones paid back, each once (one settlement transaction per tip);
* every viewer's balance is what they bought less the tips that stayed spent; the performer's is the sum of
  those tips less fees; verify_ledger is clean.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from livepanty_db import Client
from livepanty_db.errors import LivepantyError

VIEWERS = 10
TIPPERS = 6
OPS = 60
FUNDS = 100_000
PASSWORD = "goals under load 7"
EXPECTED = {"LP004"}  # cancelling a goal that closed meanwhile
ADD_GOAL = "SELECT api.add_tip_goal(%s, %s, %s, {deadline}, %s)"


def acting(conn: psycopg.Connection[Any], token: str, sql: str, params: list[Any]) -> list[Any]:
    """One transaction as the session's user, through the application role (as the client makes calls)."""
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute("SELECT api.authenticate(%s)", [token])
        return conn.execute(sql, params).fetchall()


def service(db_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(db_url, autocommit=True)
    conn.execute("SET ROLE livepanty_service")
    return conn


def test_goals_under_concurrency(db_url: str, seed: Any) -> None:
    client = Client(db_url)
    try:
        host = client.register_user(
            email="host@example.com", username="host", password=PASSWORD, date_of_birth="1990-01-01",
            role="performer",
        )  # fmt: skip
        host_token = client.login("host", PASSWORD).token
        tokens = []
        viewer_ids = []
        for n in range(VIEWERS):
            viewer_ids.append(client.register_user(
                email=f"v{n}@example.com", username=f"viewer_{n}", password=PASSWORD,
                date_of_birth="1990-01-01",
            ).id)  # fmt: skip
            tokens.append(client.login(f"viewer_{n}", PASSWORD).token)
        seed.approve_kyc(host.id)
        seed.fund(FUNDS, *viewer_ids)
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE lp.settings SET value = '50' WHERE key = 'goals.max_per_stream'")
        with client.session(host_token) as tx:
            stream = tx.schedule_stream("Goal rush")
            tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        with psycopg.connect(db_url) as conn:
            [[item]] = acting(conn, host_token, "SELECT id FROM api.set_menu_item('Wave', 25)", [])
            # First in the queue: a refund_if_missed goal nobody can reach, missed after 1.5 s (its tips go
            # back), then goals of both kinds with deadlines spread over the run.
            acting(
                conn, host_token, ADD_GOAL.format(deadline="now() + interval '1.5 seconds'"),
                [stream.id, 1_000_000, "unreachable", True],
            )  # fmt: skip
            for n in range(8):
                acting(
                    conn, host_token, ADD_GOAL.format(deadline="now() + make_interval(secs => %s)"),
                    [stream.id, 300 + 50 * n, f"goal {n}", 2 + n, n % 2 == 0],
                )  # fmt: skip
        with client.session(host_token) as tx:
            tx.start_stream(stream.id)

        failures: Counter[str] = Counter()
        refusals: Counter[str] = Counter()
        lock = threading.Lock()
        done = threading.Event()

        def record(error: Exception) -> None:
            code = getattr(error, "sqlstate", None) or type(error).__name__
            with lock:
                if code in EXPECTED:
                    refusals[code] += 1
                else:
                    failures[f"{code}: {error}"] += 1

        def tipper(seed: int) -> None:
            rng = random.Random(seed)
            for op in range(OPS):
                token = rng.choice(tokens)
                try:
                    if rng.random() < 0.2:
                        batch = [
                            {"session_token": rng.choice(tokens), "recipient_id": str(host.id), "amount": 25,
                             "idempotency_key": f"b{seed}-{op}-{k}", "stream_id": str(stream.id),
                             "menu_item_id": str(item)} if k % 2 else
                            {"session_token": rng.choice(tokens), "recipient_id": str(host.id),
                             "amount": rng.randint(5, 60), "idempotency_key": f"b{seed}-{op}-{k}",
                             "stream_id": str(stream.id)}
                            for k in range(5)
                        ]  # fmt: skip
                        with psycopg.connect(db_url, autocommit=True) as conn:
                            for row in conn.execute(
                                "SELECT error_code, error_message FROM api.tip_many(%s::jsonb)",
                                [psycopg.types.json.Jsonb(batch)],
                            ):
                                if row[0] is not None:
                                    record(LivepantyError(f"{row[0]}: {row[1]}"))
                    else:
                        menu = rng.random() < 0.3
                        with client.session(token) as tx:
                            tx.tip(
                                host.id, 25 if menu else rng.randint(5, 60), idempotency_key=f"t{seed}-{op}",
                                stream_id=stream.id,
                                is_anonymous=rng.random() < 0.2, menu_item_id=item if menu else None,
                            )  # fmt: skip
                except LivepantyError as error:
                    record(error)
                except psycopg.Error as error:
                    record(error)

        def settler() -> None:
            with service(db_url) as conn:
                while not done.is_set():
                    try:
                        conn.execute("SELECT * FROM api.settle_tip_goals(20)")
                    except psycopg.Error as error:
                        record(error)
                    time.sleep(0.01)

        def host_worker(seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url) as conn:
                for n in range(12):
                    time.sleep(0.15)
                    try:
                        if rng.random() < 0.5:
                            rows = acting(
                                conn, host_token,
                                "SELECT id FROM api.stream_goals(%s) WHERE status IN ('queued', 'active')"
                                " ORDER BY random() LIMIT 1",
                                [stream.id],
                            )  # fmt: skip
                            if rows:
                                cancel = "SELECT api.cancel_tip_goal(%s, 'plans changed')"
                                acting(conn, host_token, cancel, [rows[0][0]])
                        else:
                            acting(
                                conn, host_token, ADD_GOAL.format(deadline="now() + interval '2 seconds'"),
                                [stream.id, rng.randint(100, 400), f"extra {n}", rng.random() < 0.5],
                            )  # fmt: skip
                    except psycopg.Error as error:
                        record(error)

        workers = [threading.Thread(target=tipper, args=(n,)) for n in range(TIPPERS)]
        workers += [threading.Thread(target=host_worker, args=(99,))]
        settlers = [threading.Thread(target=settler) for _ in range(2)]
        for thread in workers + settlers:
            thread.start()
        for thread in workers:
            thread.join()
        done.set()
        for thread in settlers:
            thread.join()

        with client.session(host_token) as tx:
            tx.end_stream(stream.id)
        with service(db_url) as conn:
            while True:
                row = conn.execute("SELECT * FROM api.settle_tip_goals(1000)").fetchone()
                assert row is not None
                paid, back, reached, missed, activated = row
                if paid + back + reached + missed + activated == 0:
                    break

        assert failures == Counter(), f"unexpected failures: {dict(failures)}"

        with psycopg.connect(db_url) as conn:
            goals = conn.execute(
                """
                SELECT g.id, g.status::text, g.target_tokens, g.refund_if_missed,
                       (SELECT coalesce(sum(p.tokens), 0) FROM lp.tip_goal_progress AS p
                         WHERE p.goal_id = g.id),
                       (SELECT coalesce(sum(t.amount), 0) FROM lp.tips AS t WHERE t.goal_id = g.id),
                       (SELECT count(*) FROM lp.stream_events AS e
                         WHERE e.kind IN ('goal_reached', 'goal_missed', 'goal_cancelled')
                           AND e.payload ->> 'goal_id' = g.id::text),
                       g.activated_at IS NOT NULL
                  FROM lp.tip_goals AS g WHERE g.stream_id = %s
                """,
                [stream.id],
            ).fetchall()
            assert len(goals) >= 8
            reached = 0
            for goal_id, status, target, _refund, progress, attributed, closings, activated in goals:
                assert status in ("reached", "missed", "cancelled"), (goal_id, status)
                assert progress == attributed, (goal_id, progress, attributed)
                if status == "reached":
                    reached += 1
                    assert progress >= target, (goal_id, progress, target)
                # exactly one closing event for every goal that was ever active, none for one that never was
                assert closings == (1 if activated else 0), (goal_id, status, closings)
            assert reached > 0  # the workload did reach goals

            row: Any = conn.execute(
                """
                SELECT (SELECT count(*) FROM lp.tips WHERE status = 'escrowed'),
                       (SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s
                                                      WHERE s.wallet_id = w.id), 0)
                          FROM lp.wallets AS w WHERE w.system_code = 'goal_escrow'),
                       (SELECT count(*) FROM lp.tips AS t JOIN lp.tip_goals AS g ON g.id = t.goal_id
                         WHERE g.refund_if_missed
                           AND t.status <> CASE WHEN g.status = 'reached' THEN 'completed'
                                                ELSE 'refunded' END),
                       (SELECT count(*) FROM lp.tips AS t JOIN lp.tip_goals AS g ON g.id = t.goal_id
                         WHERE g.refund_if_missed AND t.settlement_id IS NULL),
                       (SELECT count(*) FROM lp.tips WHERE status = 'refunded')
                """
            ).fetchone()
            escrowed, escrow_balance, wrong_outcome, unsettled, refunded = row
            assert (escrowed, escrow_balance, wrong_outcome, unsettled) == (0, 0, 0, 0)
            assert refunded > 0  # missed and cancelled goals did pay tips back

            balances = conn.execute(
                """
                SELECT u.username, w.balance,
                       (SELECT coalesce(sum(t.amount), 0) FROM lp.tips AS t
                         WHERE t.sender_id = u.id AND t.status = 'completed')
                  FROM lp.users AS u JOIN lp.wallets AS w ON w.user_id = u.id
                 WHERE u.username LIKE 'viewer%%'
                """
            ).fetchall()
            for username, balance, spent in balances:
                assert balance == FUNDS - spent, (username, balance, spent)
            [earned, expected] = conn.execute(
                """
                SELECT (SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s
                                                      WHERE s.wallet_id = w.id), 0)
                          FROM lp.wallets AS w WHERE w.user_id = %(host)s),
                       (SELECT coalesce(sum(t.amount - t.fee_amount), 0) FROM lp.tips AS t
                         WHERE t.recipient_id = %(host)s AND t.status = 'completed')
                """,
                {"host": host.id},
            ).fetchone()
            assert earned == expected
            assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
    finally:
        client.close()


def test_settle_workers_paying_out_one_ended_stream_do_not_deadlock(db_url: str, seed: Any) -> None:
    """Four settle workers, one tip each per call, all paying out the escrow of a goal whose stream ended:
    each takes the ended stream's row for the update of its final statistics at once (never shared first,
    then upgraded: two workers doing that wait for each other, 40P01)."""
    client = Client(db_url)
    try:
        dee = client.register_user(
            email="dee@example.com", username="dee", password=PASSWORD, date_of_birth="1990-01-01",
            role="performer",
        ).id  # fmt: skip
        vin = client.register_user(
            email="vi@example.com", username="vin", password=PASSWORD, date_of_birth="1990-01-01",
        ).id  # fmt: skip
        host = client.login("dee", PASSWORD).token
        viewer = client.login("vin", PASSWORD).token
        seed.approve_kyc(dee)
        seed.fund(10000, vin)
        with client.session(host) as tx:
            stream = tx.schedule_stream("Settle race")
            tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        with psycopg.connect(db_url) as conn:
            goal = ADD_GOAL.format(deadline="now() + interval '1 hour'")
            acting(conn, host, goal, [stream.id, 100, "g", True])
        with client.session(host) as tx:
            tx.start_stream(stream.id)
        with client.session(viewer) as tx:
            for n in range(40):
                tx.tip(dee, 5, idempotency_key=f"race-{n}", stream_id=stream.id)
        with client.session(host) as tx:
            tx.end_stream(stream.id)
        deadlocks: list[str] = []

        def worker() -> None:
            with service(db_url) as conn:
                for _ in range(40):
                    try:
                        row = conn.execute("SELECT * FROM api.settle_tip_goals(1)").fetchone()
                    except psycopg.Error as error:
                        deadlocks.append(f"{error.sqlstate}: {error}")
                        continue
                    if row is not None and row[0] == 0 and row[1] == 0:
                        break

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert deadlocks == []
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT tips_count, tips_tokens FROM lp.streams WHERE id = %s", [stream.id]
            ).fetchone()
            assert row == (40, 200)
            assert conn.execute("SELECT count(*) FROM lp.tips WHERE status = 'escrowed'").fetchone() == (0,)
    finally:
        client.close()


def test_the_settle_job_skips_what_another_transaction_holds_and_settles_it_later(
    db_url: str, seed: Any
) -> None:
    """The settle job waits for no business row (docs/ledger.md): a stream or goal of due tips that another
    transaction holds leaves those tips for a later run. Before, it waited for the stream while holding other
    streams and goals, and could close a cycle (a deadlock seen once in tests/py/test_stream_chaos.py). Each
    hold below would make a waiting job fail on its lock_timeout."""
    client = Client(db_url)
    try:
        ids, tokens = {}, {}
        for name, role in (("pia", "performer"), ("paula", "performer"), ("vera", "viewer")):
            ids[name] = client.register_user(
                email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
                role=role,
            ).id  # fmt: skip
            tokens[name] = client.login(name, PASSWORD).token
        seed.approve_kyc(ids["pia"], ids["paula"])
        seed.fund(1000, ids["vera"])
        streams, goals = {}, {}
        for host in ("pia", "paula"):
            with client.session(tokens[host]) as tx:
                stream = tx.schedule_stream(f"{host} live")
                tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
                goals[host] = tx.add_tip_goal(
                    stream.id,
                    1000,
                    "far",
                    deadline=datetime.now(UTC) + timedelta(hours=1),
                    refund_if_missed=True,
                ).id
                tx.start_stream(stream.id)
            streams[host] = stream.id
            with client.session(tokens["vera"]) as tx:
                tx.tip(ids[host], 30, idempotency_key=f"to-{host}", stream_id=stream.id)
            with client.session(tokens[host]) as tx:
                tx.end_stream(stream.id)  # the goal is missed: the tip is due back
        with psycopg.connect(db_url) as conn:
            escrowed = conn.execute("SELECT count(*) FROM lp.tips WHERE status = 'escrowed'").fetchone()[0]
        assert escrowed == 2

        def settle() -> tuple[int, int, int, int]:
            with service(db_url) as job:
                job.execute("SET lock_timeout = '2s'")
                row = job.execute("SELECT * FROM api.settle_tip_goals()").fetchone()
            assert row is not None
            return tuple(row)

        def balance() -> int:
            with psycopg.connect(db_url) as conn:
                return conn.execute(
                    "SELECT balance FROM lp.wallets WHERE user_id = %s", [ids["vera"]]
                ).fetchone()[0]

        # pia's ended stream in another transaction's hands (a late join or tip that has yet to refuse it),
        # then paula's goal (another worker settling it): each time only the other tip goes back.
        with psycopg.connect(db_url) as holder:
            holder.execute("SELECT 1 FROM lp.streams WHERE id = %s FOR SHARE", [streams["pia"]])
            assert settle()[:2] == (0, 1)
            assert balance() == 1000 - 30
        with psycopg.connect(db_url) as holder:
            holder.execute("SELECT 1 FROM lp.tip_goals WHERE id = %s FOR NO KEY UPDATE", [goals["pia"]])
            assert settle()[:2] == (0, 0)
        assert settle()[:2] == (0, 1)  # released: the next run takes it
        assert settle() == (0, 0, 0, 0, 0)
        assert balance() == 1000
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
    finally:
        client.close()
