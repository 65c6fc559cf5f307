"""Viewers under concurrency: joins, heartbeats, leaves, blocks and two sweepers on one live stream at once.

Viewers run random join / heartbeat / leave calls from many threads (each call its own transaction, as an
application makes them), the performer blocks and unblocks some of them, a helper makes random sessions
stale (their heartbeat minutes old) and two sweepers close stale sessions at the same time. Each call either
succeeds or meets an expected refusal (LP123 not watching, after a sweep, leave or block; LP124 blocked).
At the end:

* no call failed for any other reason: no deadlock (40P01), no serialization failure, no constraint violation
  (what the docs' lock order claims: session row, then one counter row; sweeps take counter rows stream by
  stream);
* the viewer count (the sum of the counter rows) equals the open sessions, the unique viewers the distinct
  users who ever joined, the joins the sessions ever opened, and the watch time the closed sessions' total;
* no user has two open sessions, and every session ends after it began.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import psycopg

from livepanty_db import Client
from livepanty_db.errors import LivepantyError

VIEWERS = 24
THREADS = 8
OPS_PER_THREAD = 150
PASSWORD = "presence test 12"
EXPECTED = {"LP123", "LP124"}


def test_presence_under_concurrency(db_url: str) -> None:
    client = Client(db_url)
    try:
        host = client.register_user(
            email="host@example.com", username="host", password=PASSWORD, date_of_birth="1990-01-01",
            role="performer",
        )  # fmt: skip
        host_token = client.login("host", PASSWORD).token
        tokens = []
        for n in range(VIEWERS):
            client.register_user(
                email=f"v{n}@example.com", username=f"viewer_{n}", password=PASSWORD,
                date_of_birth="1990-01-01",
            )  # fmt: skip
            tokens.append(client.login(f"viewer_{n}", PASSWORD).token)
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
                " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
                " now() + interval '1 year')",
                [host.id],
            )
        with client.session(host_token) as tx:
            stream = tx.schedule_stream("Busy")
            tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
            tx.start_stream(stream.id)

        failures: Counter[str] = Counter()
        refusals: Counter[str] = Counter()
        lock = threading.Lock()

        def record(error: Exception) -> None:
            code = getattr(error, "sqlstate", None) or type(error).__name__
            with lock:
                if code in EXPECTED:
                    refusals[code] += 1
                else:
                    failures[f"{code}: {error}"] += 1

        def viewer_worker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(OPS_PER_THREAD):
                token = rng.choice(tokens)
                action = rng.choice(("join", "join", "heartbeat", "heartbeat", "heartbeat", "leave"))
                try:
                    with client.session(token) as tx:
                        getattr(tx, f"{action}_stream")(stream.id)
                except LivepantyError as error:
                    record(error)

        def host_worker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(OPS_PER_THREAD // 5):
                victim = rng.randrange(VIEWERS)
                try:
                    with psycopg.connect(db_url) as conn:
                        [victim_id] = conn.execute(
                            "SELECT id FROM lp.users WHERE username = %s", [f"viewer_{victim}"]
                        ).fetchone()
                    with client.session(host_token) as tx:
                        if rng.random() < 0.5:
                            tx.block_viewer(victim_id)
                        else:
                            tx.unblock_viewer(victim_id)
                except LivepantyError as error:
                    if error.sqlstate != "LP003":  # unblocking someone not blocked
                        record(error)

        def staler(seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url, autocommit=True) as conn:
                for _ in range(OPS_PER_THREAD // 3):
                    conn.execute(
                        "UPDATE lp.stream_viewers SET joined_at = joined_at - interval '10 minutes',"
                        " last_heartbeat_at = last_heartbeat_at - interval '10 minutes'"
                        " WHERE id = (SELECT id FROM lp.stream_viewers WHERE left_at IS NULL"
                        " ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)"
                    )
                    threading.Event().wait(rng.random() / 100)

        def sweeper(seed: int) -> None:
            service = Client(db_url, role="livepanty_service")
            try:
                for _ in range(OPS_PER_THREAD // 3):
                    try:
                        service.sweep_viewers(limit=5)
                    except LivepantyError as error:
                        record(error)
            finally:
                service.close()

        threads = [threading.Thread(target=viewer_worker, args=(n,)) for n in range(THREADS)]
        threads += [threading.Thread(target=host_worker, args=(100,))]
        threads += [threading.Thread(target=staler, args=(200,))]
        threads += [threading.Thread(target=sweeper, args=(300 + n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert failures == Counter(), f"unexpected failures: {dict(failures)}"
        assert refusals["LP123"] > 0  # the workload did meet closed sessions

        with psycopg.connect(db_url) as conn:
            row: Any = conn.execute(
                """
                SELECT (SELECT sum(current_viewers) FROM lp.stream_counters WHERE stream_id = %(s)s),
                       (SELECT count(*) FROM lp.stream_viewers WHERE stream_id = %(s)s AND left_at IS NULL),
                       (SELECT sum(unique_viewers) FROM lp.stream_counters WHERE stream_id = %(s)s),
                       (SELECT count(DISTINCT user_id) FROM lp.stream_viewers WHERE stream_id = %(s)s),
                       (SELECT sum(joins) FROM lp.stream_counters WHERE stream_id = %(s)s),
                       (SELECT count(*) FROM lp.stream_viewers WHERE stream_id = %(s)s),
                       (SELECT sum(watch_seconds) FROM lp.stream_counters WHERE stream_id = %(s)s),
                       (SELECT coalesce(sum(floor(extract(epoch FROM left_at - joined_at))), 0)
                          FROM lp.stream_viewers WHERE stream_id = %(s)s AND left_at IS NOT NULL),
                       (SELECT count(*) FROM (SELECT user_id FROM lp.stream_viewers
                                               WHERE stream_id = %(s)s AND left_at IS NULL
                                               GROUP BY user_id HAVING count(*) > 1) AS twice),
                       (SELECT count(*) FROM lp.stream_viewers
                         WHERE left_at < joined_at OR last_heartbeat_at < joined_at)
                """,
                {"s": stream.id},
            ).fetchone()
        current, open_sessions, unique, distinct, joins, sessions, seconds, closed_seconds, doubles, bad = row
        assert current == open_sessions
        assert unique == distinct
        assert joins == sessions
        assert seconds == closed_seconds
        assert (doubles, bad) == (0, 0)
        assert sessions > VIEWERS  # sessions were closed and reopened
    finally:
        client.close()
