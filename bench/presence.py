"""Heartbeats of one popular stream (issue 8, section 2): how many per second the database sustains.

The target: 10,000 viewers of one stream heartbeating every 30 s, i.e. 333 heartbeats/s on one stream.
In one fresh embedded cluster (bench/tips.py's set-up: 10,000 viewers with a session token each, 100
performers), performer 1 goes live with one public stream and every viewer joins it (set-up through the same
rows the API writes: one open viewing session per viewer, the stream's counter rows). Then, each case beside
the others, interleaved over the rounds, ``pgbench -M extended -c N -j min(N, 2) -T duration`` as the
application's login (a member of livepanty_app):

1. ``heartbeat``: ``api.authenticate(token)`` of a random viewer, then ``api.heartbeat_stream(stream)``;
2. ``ceiling``: the same transaction with a trivial ``SELECT`` instead of the heartbeat (no write, no commit
   flush: what the protocol and the identity proof alone cost);
3. ``churn``: a random viewer joins (the same session), leaves and joins again (``api.join_stream``,
   ``api.leave_stream``, ``api.join_stream``: the counter rows at work), for comparison.

Printed: heartbeats/s (median and min..max over the rounds), p50/p99 latency, CPU per heartbeat (the
cluster and pgbench), WAL per heartbeat, and the share of heartbeat updates PostgreSQL made HOT (no index
touched), then a consistency check: the stream's viewer count equals its open sessions.

    .venv/bin/python bench/presence.py     # 10 s runs, 3 rounds, 4 and 16 clients: about 5 minutes
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tips

from livepanty_db.local import Cluster

STREAM_ID = "00000000-0000-4000-a000-000000000001"

_SETUP_SQL = """
INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at,
                                  expires_at)
VALUES (%(host)s, 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year');
INSERT INTO lp.streams (id, host_id, title, status, started_at, stream_key_hash, stream_key_issued_at)
VALUES (%(stream)s, %(host)s, 'bench stream', 'live', now(), sha256('bench-key'), now());
INSERT INTO lp.stream_consents (stream_id, performer_id, ip_address)
VALUES (%(stream)s, %(host)s, '203.0.113.1');
INSERT INTO lp.stream_counters (stream_id, shard)
SELECT %(stream)s, n FROM generate_series(1, (lp.setting('streams.counter_shards'))::integer) AS n;
INSERT INTO lp.stream_viewers (stream_id, user_id)
SELECT %(stream)s, (%(prefix)s || lpad(n::text, 12, '0'))::uuid
  FROM generate_series(1, %(viewers)s::integer) AS n;
UPDATE lp.stream_counters
   SET current_viewers = %(viewers)s, unique_viewers = %(viewers)s, joins = %(viewers)s,
       peak_seen = %(viewers)s
 WHERE stream_id = %(stream)s AND shard = 1;
"""

_AUTH = "SELECT api.authenticate('bench-token-' || lpad(:v::text, 31, '0'));\n"
SCRIPTS = {
    "heartbeat": f"\\set v random(1, {{viewers}})\nBEGIN;\n{_AUTH}"
    f"SELECT viewers FROM api.heartbeat_stream('{STREAM_ID}');\nCOMMIT;\n",
    "ceiling": f"\\set v random(1, {{viewers}})\nBEGIN;\n{_AUTH}SELECT 1;\nCOMMIT;\n",
    # join (the same session when watching), leave, join: a new session and two counter updates, and the
    # viewer is watching again at the end whatever another client did with the same viewer meanwhile.
    "churn": f"\\set v random(1, {{viewers}})\nBEGIN;\n{_AUTH}"
    f"SELECT viewers FROM api.join_stream('{STREAM_ID}');\n"
    f"SELECT viewers FROM api.leave_stream('{STREAM_ID}');\n"
    f"SELECT viewers FROM api.join_stream('{STREAM_ID}');\nCOMMIT;\n",
}


def cpu_ms(result: tips.Result, duration: int) -> float:
    """CPU milliseconds per transaction of the cluster and pgbench (cpu_ours: % of all cores)."""
    return result.cpu_ours / 100 * (os.cpu_count() or 1) * duration * 1000 / max(result.transactions, 1)


def hot_share(cluster: Cluster) -> tuple[int, int]:
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        row = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relid = 'lp.stream_viewers'::regclass"
        ).fetchone()
    return int(row[0]), int(row[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, cases interleaved (default 3)")
    parser.add_argument("--clients", default="4,16", help="client counts (default 4,16)")
    parser.add_argument("--viewers", type=int, default=10_000, help="viewers of the stream (default 10,000)")
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    signal.signal(signal.SIGTERM, tips._terminate)  # the cluster is destroyed on SIGTERM too
    home = Path(tempfile.mkdtemp(prefix="livepanty-presence-"))
    workdir = home / "pgbench"
    workdir.mkdir()
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in tips.SERVER_SETTINGS.items()])
    try:
        tips.log("starting the embedded cluster")
        cluster.start()
        print(f"code measured: {tips.code_revision()}")
        tips.setup_bench_database(cluster, args.viewers, 100)
        with tips.connect(cluster, tips.BENCH_DB) as conn:
            values = {"host": tips.performer_id(1), "stream": STREAM_ID, "prefix": tips.VIEWER_PREFIX,
                      "viewers": args.viewers}  # fmt: skip
            for statement in _SETUP_SQL.split(";\n"):
                if statement.strip():
                    conn.execute(statement, values)
            conn.execute("VACUUM ANALYZE lp.stream_viewers, lp.stream_counters, lp.streams")
        tips.log(f"{args.viewers} viewers watch one live stream")
        paths = {}
        for name, text in SCRIPTS.items():
            paths[name] = workdir / f"{name}.sql"
            paths[name].write_text(text.format(viewers=args.viewers))
        results: dict[tuple[str, int], list[tips.Result]] = {}
        hot_before = hot_share(cluster)
        names = list(SCRIPTS)
        for round_no in range(args.rounds):
            order = names[round_no % len(names):] + names[: round_no % len(names)]
            for n in clients:
                for name in order:
                    tips.prepare_run(cluster, tips.BENCH_DB)
                    tips.wait_until_quiet(60)
                    result = tips.run_pgbench(
                        cluster, workdir, case=name, clients=n, duration=args.duration,
                        database=tips.BENCH_DB, user=tips.APP_LOGIN, script=paths[name],
                    )  # fmt: skip
                    results.setdefault((name, n), []).append(result)
                    tips.log(f"round {round_no + 1}, {name}, {n} clients: {result.tps:.0f} tps")
        hot_after = hot_share(cluster)
        print()
        print("| case | clients | tps | min..max | p50 ms | p99 ms | CPU ms/tx | WAL B/tx |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in clients:
            for name in names:
                runs = results[(name, n)]
                tps = [r.tps for r in runs]
                print(
                    f"| {name} | {n} | {statistics.median(tps):.0f} | {min(tps):.0f}..{max(tps):.0f} "
                    f"| {statistics.median(r.p50_ms for r in runs):.2f} "
                    f"| {statistics.median(r.p99_ms for r in runs):.2f} "
                    f"| {statistics.median(cpu_ms(r, args.duration) for r in runs):.3f} "
                    f"| {statistics.median(r.wal_bytes_per_tx for r in runs):.0f} |"
                )
        updates = hot_after[0] - hot_before[0]
        hot = hot_after[1] - hot_before[1]
        share = 100 * hot / max(updates, 1)
        print(f"\nlp.stream_viewers updates during the runs: {updates}, HOT: {hot} ({share:.1f} %)")
        with tips.connect(cluster, tips.BENCH_DB) as conn:
            counted, open_sessions = conn.execute(
                "SELECT (SELECT sum(current_viewers) FROM lp.stream_counters WHERE stream_id = %(s)s),"
                " (SELECT count(*) FROM lp.stream_viewers WHERE stream_id = %(s)s AND left_at IS NULL)",
                {"s": STREAM_ID},
            ).fetchone()
        verdict = "equal" if counted == open_sessions else "DIFFERENT"
        print(f"viewer count {counted}, open sessions {open_sessions}: {verdict}")
        return 0 if counted == open_sessions else 1
    finally:
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main())
