"""Stream events (issue 8, section 5): the latency from a tip's commit to its event in a listener, and what
appending events costs the tip.

One fresh embedded cluster with bench/tips.py's set-up (10,000 viewers with a session token each, 100
performers); performer 1 is live with one public stream.

1. Latency: a tipper sends a tip into the stream every 20 ms for ``--seconds``, noting when each commit
   returned; 100 LISTEN connections note when each wake-up arrives (the event id is its payload), and
   ``--followers`` clients of ``Client.events`` (LISTEN, then ``api.stream_events`` as a viewer) note when
   each event is yielded. Printed: p50/p99/max of commit -> wake-up and commit -> event, and whether every
   follower got every event once.
2. Cost: ``pgbench -M extended`` at 16 clients, rounds interleaved: ``api.authenticate`` + ``api.tip`` to
   performer 1 naming the live stream (an event and a wake-up per tip, and the stream's checks) against the
   same tip naming no stream.

    .venv/bin/python bench/events.py        # about 3 minutes
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import tips

from livepanty_db import Client
from livepanty_db.local import Cluster

STREAM_ID = "00000000-0000-4000-a000-000000000001"
_SETUP = [
    "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
    " reviewed_at, expires_at)"
    " VALUES (%(host)s, 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year')",
    "INSERT INTO lp.streams (id, host_id, title, status, started_at)"
    " VALUES (%(stream)s, %(host)s, 'bench', 'live', now())",
    "INSERT INTO lp.stream_counters (stream_id, shard) SELECT %(stream)s, n FROM generate_series(1, 8) AS n",
]
_AUTH = "SELECT api.authenticate('bench-token-' || lpad(:v::text, 31, '0'));\n"
_TIP = (
    "\\set v random(1, {viewers})\n\\set amount random(10, 100)\nBEGIN;\n" + _AUTH + "SELECT id FROM api.tip("
    "p_recipient_id => '{host}', p_amount => :amount,"
    " p_idempotency_key => gen_random_uuid()::text{stream});\n"
    "COMMIT;\n"
)


def token(n: int) -> str:
    return "bench-token-" + str(n).zfill(31)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "none"
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    median = statistics.median(ordered)
    return f"p50 {median:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms ({len(ordered)})"


def set_wake_up(cluster: Cluster, mode: str) -> None:
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        conn.execute("UPDATE lp.settings SET value = to_jsonb(%s::text) WHERE key = 'events.wake_up'", [mode])


@contextlib.contextmanager
def notifier(cluster: Cluster) -> Iterator[None]:
    """livepanty-db jobs wake-listeners, in a thread: api.wake_stream_listeners every 20 ms."""
    stop = threading.Event()

    def run() -> None:
        client = Client(cluster.url(tips.BENCH_DB), role="livepanty_service")
        try:
            at = client.wake_stream_listeners(None)
            while not stop.is_set():
                at = client.wake_stream_listeners(at)
                time.sleep(0.02)
        finally:
            client.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def latency(cluster: Cluster, seconds: float, listeners: int, followers: int, mode: str) -> None:
    url = cluster.url(tips.BENCH_DB)
    commits: dict[int, float] = {}
    woken: list[tuple[int, float]] = []
    delivered: list[tuple[int, float]] = []
    followed: dict[int, list[int]] = {}
    lock = threading.Lock()
    stop = threading.Event()
    ready = threading.Barrier(listeners + followers + 1)

    def listener() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            name = conn.execute("SELECT lp.event_channel(%s)", [STREAM_ID]).fetchone()[0]
            conn.execute(f'LISTEN "{name}"')
            ready.wait()
            while not stop.is_set():
                for notify in conn.notifies(timeout=0.2):
                    at = time.monotonic()
                    with lock:
                        woken.append((int(notify.payload), at))

    def follower(n: int) -> None:
        client = Client(url)
        mine: list[int] = []
        followed[n] = mine
        ready.wait()
        try:
            for event in client.events(STREAM_ID, token=token(n + 1), wait=1.0):
                at = time.monotonic()
                if event.kind != "tip":
                    continue
                mine.append(event.id)
                with lock:
                    delivered.append((event.id, at))
                if stop.is_set() and len([i for i in mine if i in commits]) >= len(commits):
                    return
        finally:
            client.close()

    threads = [threading.Thread(target=listener) for _ in range(listeners)]
    following = [threading.Thread(target=follower, args=(n,), daemon=True) for n in range(followers)]
    for thread in threads + following:
        thread.start()
    ready.wait()
    tipper = Client(url)
    host = tips.performer_id(1)
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        with tipper.session(token(1000 + n % 5000)) as tx:
            tipped = tx.tip(host, 10, idempotency_key=f"lat-{mode}-{n}", stream_id=STREAM_ID)
        committed = time.monotonic()  # the commit returned
        with psycopg.connect(url) as conn:  # the event id of this tip (after the clock was read)
            [event_id] = conn.execute(
                "SELECT id FROM lp.stream_events WHERE payload ->> 'tip_id' = %s", [str(tipped.id)]
            ).fetchone()
        with lock:
            commits[event_id] = committed
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    # Followers run until they have every event (daemon threads: one that never does is reported).
    settle = time.monotonic() + 10
    while time.monotonic() < settle and any(
        len([i for i in ids if i in commits]) < len(commits) for ids in followed.values()
    ):
        time.sleep(0.1)
    tipper.close()
    print(f"\nlatency ({mode}): {n} tips, one every 20 ms; {listeners} listeners, {followers} followers")
    to_wakeup = [(at - commits[i]) * 1000 for i, at in woken if i in commits]
    to_event = [(at - commits[i]) * 1000 for i, at in delivered if i in commits]
    print(f"  commit -> wake-up (NOTIFY at a listener): {percentiles(to_wakeup)}")
    print(f"  commit -> event (Client.events yielded it): {percentiles(to_event)}")
    # Each follower starts from the oldest event kept (the earlier run's too): of this run's tips, it must
    # have yielded each exactly once.
    complete = all(sorted(i for i in ids if i in commits) == sorted(commits) for ids in followed.values())
    print(f"  every follower got every tip event once: {'yes' if complete else 'NO'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="latency run (default 20)")
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--followers", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10, help="pgbench run (default 10)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, tips._terminate)
    home = Path(tempfile.mkdtemp(prefix="livepanty-events-"))
    workdir = home / "pgbench"
    workdir.mkdir()
    options = [f"{k}={v}" for k, v in tips.SERVER_SETTINGS.items()] + ["max_connections=200"]
    cluster = Cluster(home, server_options=options)
    try:
        tips.log("starting the embedded cluster")
        cluster.start()
        print(f"code measured: {tips.code_revision()}")
        tips.setup_bench_database(cluster, 10_000, 100)
        with tips.connect(cluster, tips.BENCH_DB) as conn:
            for statement in _SETUP:
                conn.execute(statement, {"host": tips.performer_id(1), "stream": STREAM_ID})
        set_wake_up(cluster, "commit")
        latency(cluster, args.seconds, args.listeners, args.followers, "wake-up at commit")
        set_wake_up(cluster, "notifier")
        with notifier(cluster):
            latency(cluster, args.seconds, args.listeners, args.followers, "notifier every 20 ms")

        scripts = {}
        modes = {
            "events on, wake-up at commit": "commit",
            "events on, notifier": "notifier",
            "events off": "commit",
        }
        for name in modes:
            stream = "" if name == "events off" else f", p_stream_id => '{STREAM_ID}'"
            scripts[name] = workdir / f"{name.replace(' ', '_').replace(',', '')}.sql"
            scripts[name].write_text(_TIP.format(viewers=10_000, host=tips.performer_id(1), stream=stream))
        results: dict[str, list[tips.Result]] = {}
        for round_no in range(args.rounds):
            order = list(scripts) if round_no % 2 == 0 else list(reversed(scripts))
            for name in order:
                set_wake_up(cluster, modes[name])
                tips.prepare_run(cluster, tips.BENCH_DB)
                tips.wait_until_quiet(60)
                with notifier(cluster) if modes[name] == "notifier" else contextlib.nullcontext():
                    result = tips.run_pgbench(
                        cluster, workdir, case=name, clients=16, duration=args.duration,
                        database=tips.BENCH_DB, user=tips.APP_LOGIN, script=scripts[name],
                    )  # fmt: skip
                results.setdefault(name, []).append(result)
                tips.log(f"round {round_no + 1}, {name}: {result.tps:.0f} tips/s")
        print(
            "\n| case (16 clients, tips to one performer) | tips/s | min..max | p50 ms | p99 ms | WAL B/tx |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, runs in results.items():
            tps = [r.tps for r in runs]
            print(
                f"| {name} | {statistics.median(tps):.0f} | {min(tps):.0f}..{max(tps):.0f} "
                f"| {statistics.median(r.p50_ms for r in runs):.2f} "
                f"| {statistics.median(r.p99_ms for r in runs):.2f} "
                f"| {statistics.median(r.wal_bytes_per_tx for r in runs):.0f} |"
            )
        return 0
    finally:
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main())
