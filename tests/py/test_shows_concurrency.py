"""A group show under load: two billing workers, 200 viewers heartbeating on the stream and tippers tipping,
all at once, while the show's clock advances a minute at a time (its start moved into the past, as the
billing job would see real minutes pass).

At the end (the host ends the show, the billing job runs until it has nothing left), checked against a model:

* no call failed (no deadlock, no serialization failure, no constraint violation, no uncatalogued error);
* every viewer in the show paid exactly the completed minutes times the rate (the host ended it: completed
  minutes only), each minute captured once: the captures of each hold add up to what the viewer was billed,
  with one capture key per billed total (two workers never billed the same minute);
* every reservation is closed and every wallet is what the model says: what was bought, less tips and the
  show for viewers; tips and the show less fees for the performer; verify_ledger is clean;
* the viewer counters equal the open viewing sessions (the presence bookkeeping survived the load).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import psycopg

from livepanty_db import Client

VIEWERS = 200
IN_SHOW = 20
RATE = 10
MINUTES = 6
FUNDS = 10_000
PASSWORD = "shows under load 9"


def call(conn: psycopg.Connection[Any], token: str, sql: str, params: list[Any]) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute("SELECT api.authenticate(%s)", [token])
        conn.execute(sql, params)


def test_a_group_show_under_load(db_url: str, seed: Any) -> None:
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
        with client.session(host_token) as tx:
            stream = tx.schedule_stream("Group night")
            tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
            tx.start_stream(stream.id)
        with psycopg.connect(db_url) as conn:
            call(conn, host_token, "SELECT api.set_show_price('group', %s, 3, NULL, 2)", [RATE])
            with conn.transaction():
                conn.execute("SET LOCAL ROLE livepanty_app")
                conn.execute("SELECT api.authenticate(%s)", [host_token])
                offered = conn.execute("SELECT id FROM api.offer_show(%s, 'group')", [stream.id]).fetchall()
            [[show_id]] = offered
            for n, token in enumerate(tokens):
                call(conn, token, "SELECT api.join_stream(%s)", [stream.id])
                if n < IN_SHOW:
                    call(conn, token, "SELECT api.join_show(%s, %s)", [show_id, f"commit-{n}"])
            call(conn, host_token, "SELECT api.start_show(%s)", [show_id])

        failures: Counter[str] = Counter()
        lock = threading.Lock()
        done = threading.Event()

        def record(error: Exception) -> None:
            with lock:
                failures[f"{getattr(error, 'sqlstate', None)}: {error}"] += 1

        def heartbeats(seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url) as conn:
                while not done.is_set():
                    try:
                        call(conn, rng.choice(tokens), "SELECT api.heartbeat_stream(%s)", [stream.id])
                    except psycopg.Error as error:
                        record(error)

        def tipper(seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url) as conn:
                n = 0
                while not done.is_set():
                    n += 1
                    try:
                        call(conn, rng.choice(tokens), "SELECT api.tip(%s, %s, %s, %s)",
                             [host.id, rng.randint(1, 20), f"tip-{seed}-{n}", stream.id])  # fmt: skip
                    except psycopg.Error as error:
                        record(error)

        def biller() -> None:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("SET ROLE livepanty_service")
                while not done.is_set():
                    try:
                        if conn.execute("SELECT * FROM api.bill_shows()").fetchone() is None:
                            time.sleep(0.005)
                    except psycopg.Error as error:
                        record(error)

        workers = [threading.Thread(target=heartbeats, args=(n,)) for n in range(4)]
        workers += [threading.Thread(target=tipper, args=(100 + n,)) for n in range(2)]
        workers += [threading.Thread(target=biller) for _ in range(2)]
        for thread in workers:
            thread.start()
        # The show's clock: a minute passes every 0.4 s (its start and its viewers' billing start move back).
        with psycopg.connect(db_url, autocommit=True) as clock:
            for _ in range(MINUTES):
                time.sleep(0.4)
                with clock.transaction():
                    clock.execute(
                        "UPDATE lp.shows SET started_at = started_at - interval '60 seconds' WHERE id = %s",
                        [show_id],
                    )
                    clock.execute(
                        "UPDATE lp.show_participants SET billed_from = billed_from - interval '60 seconds'"
                        " WHERE show_id = %s AND left_at IS NULL",
                        [show_id],
                    )
            time.sleep(0.4)
            with psycopg.connect(db_url) as conn:
                call(conn, host_token, "SELECT api.end_show(%s)", [show_id])
        time.sleep(0.3)
        done.set()
        for thread in workers:
            thread.join()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("SET ROLE livepanty_service")
            while conn.execute("SELECT * FROM api.bill_shows()").fetchone() is not None:
                pass

        assert failures == Counter(), f"unexpected failures: {dict(failures)}"

        with psycopg.connect(db_url) as conn:
            parts = conn.execute(
                """
                SELECT p.user_id, p.billed_tokens, p.due_tokens, p.settled_at IS NOT NULL, h.status::text,
                       (SELECT coalesce(sum(c.amount), 0) FROM lp.hold_captures AS c WHERE c.hold_id = h.id),
                       (SELECT count(*) FROM lp.hold_captures AS c WHERE c.hold_id = h.id),
                       (SELECT count(DISTINCT c.idempotency_key) FROM lp.hold_captures AS c
                         WHERE c.hold_id = h.id)
                  FROM lp.show_participants AS p JOIN lp.holds AS h ON h.id = p.hold_id
                 WHERE p.show_id = %s
                """,
                [show_id],
            ).fetchall()
            assert len(parts) == IN_SHOW
            for user_id, billed, due, settled, hold_status, captured, captures, keys in parts:
                # the host ended it: completed minutes only (the clock moved MINUTES minutes, real time < 1)
                assert (billed, due, settled) == (RATE * MINUTES, RATE * MINUTES, True), user_id
                assert hold_status in ("released", "captured")
                assert captured == billed, (user_id, captured, billed)
                assert captures == keys, (user_id, captures, keys)
            assert conn.execute("SELECT count(*) FROM lp.holds WHERE status = 'open'").fetchone() == (0,)

            viewers = conn.execute(
                """
                SELECT u.username, w.balance, w.reserved,
                       (SELECT coalesce(sum(t.amount), 0) FROM lp.tips AS t WHERE t.sender_id = u.id),
                       coalesce((SELECT p.billed_tokens FROM lp.show_participants AS p
                                  WHERE p.user_id = u.id AND p.show_id = %s), 0)
                  FROM lp.users AS u JOIN lp.wallets AS w ON w.user_id = u.id
                 WHERE u.username LIKE 'viewer%%'
                """,
                [show_id],
            ).fetchall()
            for username, balance, reserved, tipped, billed in viewers:
                assert (balance, reserved) == (FUNDS - tipped - billed, 0), username
            [earned, expected] = conn.execute(
                """
                SELECT (SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s
                                                      WHERE s.wallet_id = w.id), 0)
                          FROM lp.wallets AS w WHERE w.user_id = %(host)s),
                       (SELECT coalesce(sum(t.amount - t.fee_amount), 0) FROM lp.tips AS t
                         WHERE t.recipient_id = %(host)s)
                       + (SELECT coalesce(sum(c.amount - c.fee_amount), 0) FROM lp.hold_captures AS c
                           JOIN lp.holds AS h ON h.id = c.hold_id WHERE h.payee_id = %(host)s)
                """,
                {"host": host.id},
            ).fetchone()
            assert earned == expected
            assert conn.execute("SELECT count(*) FROM lp.tips").fetchone()[0] > 0  # the tippers did tip
            [current, open_sessions] = conn.execute(
                "SELECT (SELECT sum(current_viewers) FROM lp.stream_counters WHERE stream_id = %(s)s),"
                "       (SELECT count(*) FROM lp.stream_viewers WHERE stream_id = %(s)s AND left_at IS NULL)",
                {"s": stream.id},
            ).fetchone()
            assert current == open_sessions == VIEWERS
            assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
    finally:
        client.close()
