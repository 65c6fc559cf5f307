"""Everything of a live stream at once, hunting deadlocks and lost money: the lock protocol of
docs/ledger.md claims that tips, batches, goals, menus, shows, viewers, the jobs, a performer ending and
restarting streams and moderators sanctioning performers never wait for one another in a cycle. This runs
them all together on two performers' streams for a while, every call a real api call in its own transaction,
and then checks:

* no call failed but with a catalogued business refusal (LPxxx other than LP199): no deadlock (40P01), no
  serialization failure, no constraint violation, no internal error (it found one: a sanction ending a stream
  whose start committed while the sanction waited wrote an end before the start, fixed in lp.close_stream);
* once every stream ended and the jobs ran out of work: no tip left in escrow and the escrow wallet empty, no
  show reservation left open, every show viewer settled, no goal open but on a stream still scheduled (one
  that a suspension kept from going live), api.verify_ledger clean.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from livepanty_db import Client

VIEWERS = 16
SECONDS = 8.0
PASSWORD = "chaos on stream 5"
ANY_SHOW = "SELECT id, status FROM api.stream_shows(%s) ORDER BY random() LIMIT 1"
ACTIVE_GOAL = "SELECT id FROM api.stream_goals(%s) WHERE status = 'active'"
MORE_GOAL = "SELECT api.add_tip_goal(%s, %s, 'more', now() + interval '1 second', true)"
SUSPEND = "SELECT id FROM api.sanction_user(%s, 'suspension', 'chaos', now() + interval '1 hour')"
LIVE_STREAMS = "SELECT id FROM api.list_performer_streams(%s, p_limit => 200) WHERE status = 'live'"
#: The shows' clock: running shows started 30 s earlier, their viewers' billing too.
CLOCK_SHOWS = "UPDATE lp.shows SET started_at = started_at - interval '30 seconds' WHERE status = 'running'"
CLOCK_VIEWERS = (
    "UPDATE lp.show_participants AS p SET billed_from = billed_from - interval '30 seconds'"
    "  FROM lp.shows AS s WHERE s.id = p.show_id AND s.status = 'running' AND p.left_at IS NULL"
    "   AND p.billed_from IS NOT NULL"
)
SERVICE_JOBS = (
    "SELECT * FROM api.settle_tip_goals(50)",
    "SELECT * FROM api.bill_shows()",
    "SELECT api.sweep_viewers(50)",
    "SELECT api.expire_holds(50)",
)


class Chaos:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.failures: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        #: The whole text (detail, context) of the first unexpected failures, for the assertion's message.
        self.details: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def record(self, error: psycopg.Error) -> None:
        code = error.sqlstate or type(error).__name__
        with self.lock:
            if code.startswith("LP") and code != "LP199":
                self.refusals[code] += 1
            else:
                self.failures[f"{code}: {str(error).splitlines()[0]}"] += 1
                if len(self.details) < 3:
                    self.details.append(f"{error} CONTEXT: {error.diag.context}")

    def act(self, conn: psycopg.Connection[Any], token: str, statement: str, params: list[Any]) -> list[Any]:
        """One transaction as a session's user through the application role; a refusal is recorded."""
        try:
            with conn.transaction():
                conn.execute("SET LOCAL ROLE livepanty_app")
                conn.execute("SELECT api.authenticate(%s)", [token])
                return conn.execute(statement, params).fetchall()
        except psycopg.Error as error:
            self.record(error)
            return []


def test_streams_goals_shows_and_jobs_together(db_url: str, seed: Any) -> None:
    client = Client(db_url)
    chaos = Chaos(db_url)
    try:
        names = [f"viewer_{n}" for n in range(VIEWERS)]
        for name in ("pia", "paula", *names):
            client.register_user(
                email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
                role="performer" if name in ("pia", "paula") else "viewer",
            )  # fmt: skip
        client.register_user(
            email="mod@example.com", username="mod", password=PASSWORD, date_of_birth="1990-01-01",
        )  # fmt: skip
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE lp.users SET role = 'moderator' WHERE username = 'mod'")
            ids = dict(conn.execute("SELECT username::text, id FROM lp.users").fetchall())
        seed.approve_kyc(ids["pia"], ids["paula"])
        seed.fund(100000, *(ids[name] for name in names))
        tokens = {name: client.login(name, PASSWORD).token for name in (*names, "mod")}
        hosts = {"pia": client.login("pia", PASSWORD).token, "paula": client.login("paula", PASSWORD).token}
        streams: dict[str, Any] = {}
        items: dict[str, Any] = {}

        def go_live(conn: psycopg.Connection[Any], host: str) -> None:
            token = hosts[host]
            rows = chaos.act(conn, token, "SELECT id FROM api.schedule_stream(%s)", [f"{host} live"])
            if not rows:
                return
            stream = rows[0][0]
            chaos.act(conn, token, "SELECT api.consent_to_stream(%s, '203.0.113.1')", [stream])
            for n in range(3):
                chaos.act(
                    conn, token, "SELECT api.add_tip_goal(%s, %s, 'goal', now() + interval '2 seconds', %s)",
                    [stream, 200 + 100 * n, n % 2 == 0],
                )  # fmt: skip
            if chaos.act(conn, token, "SELECT api.start_stream(%s)", [stream]):
                streams[host] = stream

        with psycopg.connect(db_url) as conn:
            for host in hosts:
                chaos.act(conn, hosts[host], "SELECT api.set_show_price('private', 10, 1, 5)", [])
                chaos.act(conn, hosts[host], "SELECT api.set_show_price('group', 5, 1, NULL, 2)", [])
                [[items[host]]] = chaos.act(
                    conn, hosts[host], "SELECT id FROM api.set_menu_item('Wave', 25)", []
                )
                go_live(conn, host)
            for name in names:
                for host in hosts:
                    chaos.act(conn, tokens[name], "SELECT api.join_stream(%s)", [streams[host]])
        chaos.refusals.clear()
        assert chaos.failures == Counter()

        def viewer(seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url) as conn:
                n = 0
                while not chaos.done.is_set():
                    n += 1
                    name, host = rng.choice(names), rng.choice(list(hosts))
                    token, stream = tokens[name], streams.get(host)
                    roll = rng.random()
                    if roll < 0.35:
                        menu = rng.random() < 0.3
                        chaos.act(
                            conn, token, "SELECT api.tip(%s, %s, %s, %s, NULL, false, %s)",
                            [ids[host], 25 if menu else rng.randint(1, 40), f"t{seed}-{n}", stream,
                             items[host] if menu else None],
                        )  # fmt: skip
                    elif roll < 0.45:
                        batch = [
                            {"session_token": tokens[rng.choice(names)], "recipient_id": str(ids[host]),
                             "amount": rng.randint(1, 30), "idempotency_key": f"b{seed}-{n}-{k}",
                             "stream_id": str(stream) if stream else None}
                            for k in range(4)
                        ]  # fmt: skip
                        try:
                            with conn.transaction():
                                conn.execute("SET LOCAL ROLE livepanty_app")
                                for row in conn.execute(
                                    "SELECT error_code FROM api.tip_many(%s)", [Jsonb(batch)]
                                ):
                                    if row[0] is not None and not (
                                        row[0].startswith("LP") and row[0] != "LP199"
                                    ):
                                        chaos.failures[f"tip_many {row[0]}"] += 1
                        except psycopg.Error as error:
                            chaos.record(error)
                    elif roll < 0.65:
                        action = rng.choice(("join", "heartbeat", "heartbeat", "leave"))
                        chaos.act(conn, token, f"SELECT api.{action}_stream(%s)", [stream])
                    elif roll < 0.8:
                        chaos.act(conn, token, "SELECT api.request_show(%s, %s)", [stream, f"r{seed}-{n}"])
                    else:
                        shows = chaos.act(
                            conn, token, ANY_SHOW,
                            [stream],
                        )  # fmt: skip
                        for show_id, status in shows:
                            if rng.random() < 0.5:
                                chaos.act(conn, token, "SELECT api.leave_show(%s)", [show_id])
                            elif status in ("open", "running"):
                                chaos.act(
                                    conn, token, "SELECT api.join_show(%s, %s)", [show_id, f"j{seed}-{n}"]
                                )

        def host_worker(host: str, seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url) as conn:
                while not chaos.done.is_set():
                    time.sleep(0.02)
                    token, stream = hosts[host], streams.get(host)
                    roll = rng.random()
                    if roll < 0.35:
                        for show_id, status in chaos.act(
                            conn, token, "SELECT id, status FROM api.stream_shows(%s)", [stream]
                        ):
                            if status == "requested":
                                chaos.act(
                                    conn,
                                    token,
                                    "SELECT api.answer_show(%s, %s)",
                                    [show_id, rng.random() < 0.7],
                                )
                            elif status in ("running", "open") and rng.random() < 0.3:
                                chaos.act(conn, token, "SELECT api.end_show(%s)", [show_id])
                            elif status == "open":
                                chaos.act(conn, token, "SELECT api.start_show(%s)", [show_id])
                    elif roll < 0.45:
                        chaos.act(conn, token, "SELECT api.offer_show(%s, 'group')", [stream])
                    elif roll < 0.6:
                        goals = chaos.act(conn, token, ACTIVE_GOAL,
                                          [stream])  # fmt: skip
                        if goals and rng.random() < 0.5:
                            chaos.act(conn, token, "SELECT api.cancel_tip_goal(%s)", [goals[0][0]])
                        else:
                            chaos.act(conn, token, MORE_GOAL,
                                      [stream, rng.randint(50, 300)])  # fmt: skip
                    elif roll < 0.7:
                        victim = ids[rng.choice(names)]
                        verb = "block_viewer" if rng.random() < 0.5 else "unblock_viewer"
                        chaos.act(conn, token, f"SELECT api.{verb}(%s)", [victim])
                    elif roll < 0.75:
                        chaos.act(conn, token, "SELECT api.end_stream(%s)", [stream])
                        go_live(conn, host)

        def moderator(seed: int) -> None:
            rng = random.Random(seed)
            with psycopg.connect(db_url) as conn:
                while not chaos.done.is_set():
                    time.sleep(0.3)
                    host = rng.choice(list(hosts))
                    rows = chaos.act(
                        conn, tokens["mod"],
                        SUSPEND,
                        [ids[host]],
                    )  # fmt: skip
                    time.sleep(0.05)
                    for [sanction] in rows:
                        chaos.act(
                            conn, tokens["mod"], "SELECT api.revoke_sanction(%s, 'chaos over')", [sanction]
                        )
                    # The suspension revoked the host's sessions: they log in again and go live again.
                    hosts[host] = client.login(host, PASSWORD).token
                    go_live(conn, host)

        def jobs() -> None:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("SET ROLE livepanty_service")
                while not chaos.done.is_set():
                    for statement in SERVICE_JOBS:
                        try:
                            conn.execute(statement).fetchall()
                        except psycopg.Error as error:
                            chaos.record(error)

        def clock() -> None:
            # The test's own device (not under test): its bulk UPDATEs take participant rows in no set order
            # and may deadlock with the billing job (seen in CI under load); a lost tick only means time did
            # not advance then, so it is skipped. Errors of the API calls are still all recorded.
            with psycopg.connect(db_url, autocommit=True) as conn:
                while not chaos.done.is_set():
                    time.sleep(0.25)
                    for statement in (CLOCK_SHOWS, CLOCK_VIEWERS):
                        with contextlib.suppress(psycopg.errors.DeadlockDetected):
                            conn.execute(statement)

        threads = [threading.Thread(target=viewer, args=(n,)) for n in range(4)]
        threads += [threading.Thread(target=host_worker, args=(host, 50 + n)) for n, host in enumerate(hosts)]
        threads += [threading.Thread(target=moderator, args=(90,)), threading.Thread(target=clock)]
        threads += [threading.Thread(target=jobs) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        chaos.done.set()
        for thread in threads:
            thread.join()

        # Wind down: every stream ends, the jobs run until they have nothing left.
        with psycopg.connect(db_url) as conn:
            for host in hosts:
                hosts[host] = client.login(host, PASSWORD).token
                for [stream] in chaos.act(
                    conn, hosts[host], LIVE_STREAMS,
                    [ids[host]],
                ):  # fmt: skip
                    chaos.act(conn, hosts[host], "SELECT api.end_stream(%s)", [stream])
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("SET ROLE livepanty_service")
            for _ in range(1000):
                settled = conn.execute("SELECT * FROM api.settle_tip_goals(1000)").fetchone()
                billed = conn.execute("SELECT * FROM api.bill_shows()").fetchone()
                if billed is None and settled is not None and sum(settled) == 0:
                    break

        assert chaos.failures == Counter(), f"unexpected failures: {dict(chaos.failures)}: {chaos.details}"
        assert sum(chaos.refusals.values()) > 0, "the workload met no refusal at all"
        print(f"refusals: {dict(chaos.refusals)}")
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                """
                SELECT (SELECT count(*) FROM lp.tips WHERE status = 'escrowed'),
                       (SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s
                                                      WHERE s.wallet_id = w.id), 0)
                          FROM lp.wallets AS w WHERE w.system_code = 'goal_escrow'),
                       (SELECT count(*) FROM lp.show_participants WHERE settled_at IS NULL),
                       (SELECT count(*) FROM lp.holds AS h JOIN lp.show_participants AS p ON p.hold_id = h.id
                         WHERE h.status = 'open'),
                       (SELECT count(*) FROM lp.shows WHERE status IN ('requested', 'open', 'running')),
                       (SELECT count(*) FROM lp.tip_goals AS g JOIN lp.streams AS st ON st.id = g.stream_id
                         WHERE g.status IN ('queued', 'active') AND st.status <> 'scheduled'),
                       (SELECT count(*) FROM lp.tips), (SELECT count(*) FROM lp.show_participants)
                """
            ).fetchone()
            assert row is not None
            escrowed, escrow, unsettled, open_holds, open_shows, open_goals, tips, participants = row
            assert (escrowed, escrow, unsettled, open_holds, open_shows, open_goals) == (0, 0, 0, 0, 0, 0)
            assert tips > 50, "the workload did tip"
            assert participants > 0, "the workload did have shows"
            assert conn.execute("SELECT * FROM api.verify_ledger()").fetchall() == []
    finally:
        client.close()
