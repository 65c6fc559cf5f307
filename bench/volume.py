"""Scale (issue 11, section 1): the reads of a platform with ten million ledger entries.

Seeds a fresh embedded cluster (fsync on, production-like settings: SERVER_SETTINGS) with
``livepanty-db seed`` (timed: the issue's target is 10 M entries in under 10 minutes), or reads an
already seeded database (``--dsn``, seeded by the caller). Then, interleaved over ``--rounds`` rounds
(each round runs every case ``--calls`` times, one after the other), each call in its own transaction as
the application (``livepanty_app``: ``api.authenticate`` of a real session first, not timed; then the
read, timed from the client, its rows fetched):

* ``history first``: ``api.wallet_history()`` of the busiest performer (main and 8 shards), 50 rows;
* ``history deep``: the page of 50 before the middle of that performer's history (keyset, p_before_id);
* ``history viewer``: the first page of the heaviest spender;
* ``balance_at``: the busiest performer's balance at the middle of its history;
* ``list_tips recv``: the busiest performer's received tips, first page (50);
* ``list_tips sent``: the heaviest spender's sent tips, first page;
* ``stream_summary``: the busiest stream (most tips), read by its host (tokens visible);
* ``user_summary``: the busiest performer's own row of the view.

Then ``livepanty-db verify`` (its two passes, progress bar and snapshot, as a DBA runs it) ``--verify-runs``
rounds, each running every ``--verify-jobs`` case (connections on one snapshot), the order rotating: entries
per second. Printed: p50/p95/p99 over every call, the spread of the rounds' medians
(min..max), the load average before and after, and, with ``--explain``, EXPLAIN (ANALYZE, BUFFERS) of
each read's main statement as the function runs it.

    .venv/bin/python bench/volume.py                                   # seed 10 M entries, then measure
    .venv/bin/python bench/volume.py --dsn postgresql://.../db         # measure a database seeded before
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from livepanty_db import migrate
from livepanty_db.local import Cluster
from livepanty_db.seed import DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parent.parent

#: Production-like for this 2-core, 24 GB machine: fsync and synchronous commit on, a quarter of the memory
#: one would give a dedicated server scaled to what the shared machine can spare.
SERVER_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "2GB",
    "effective_cache_size": "8GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "random_page_cost": "1.1",
    "shared_preload_libraries": "pg_stat_statements",
}

#: The default seed: 100,000 viewers, 1,000 performers, 30 days, 3.25 M tips (about 10 M ledger entries).
DEFAULT_SIZES = {"users": 100_000, "performers": 1_000, "days": 30, "tips": 3_250_000}

CASES: dict[str, tuple[str, str]] = {
    # name: (who is acting, query)
    "history first": ("performer", "SELECT count(*) FROM api.wallet_history(NULL, NULL, 50)"),
    "history deep": ("performer", "SELECT count(*) FROM api.wallet_history(NULL, %(middle_id)s, 50)"),
    "history viewer": ("viewer", "SELECT count(*) FROM api.wallet_history(NULL, NULL, 50)"),
    "balance_at": ("performer", "SELECT api.balance_at(NULL, %(middle_at)s)"),
    "list_tips recv": ("performer", "SELECT count(*) FROM api.list_tips('recipient', NULL, NULL, 50)"),
    "list_tips sent": ("viewer", "SELECT count(*) FROM api.list_tips('sender', NULL, NULL, 50)"),
    "stream_summary": ("performer", "SELECT * FROM api.stream_summary WHERE id = %(stream)s"),
    "user_summary": ("performer", "SELECT * FROM api.user_summary WHERE id = %(performer)s"),
}

#: The main statement of each read, as the function runs it (owner, past RLS), for --explain.
EXPLAINED = {
    "history first": "SELECT e.id FROM generate_series(0, 8) AS acct (shard) CROSS JOIN LATERAL"
    " (SELECT l.* FROM lp.ledger AS l WHERE l.wallet_id = %(wallet)s AND l.shard = acct.shard"
    " AND l.id < 9223372036854775807 ORDER BY l.id DESC LIMIT 50) AS e ORDER BY e.id DESC LIMIT 50",
    "history deep": "SELECT e.id FROM generate_series(0, 8) AS acct (shard) CROSS JOIN LATERAL"
    " (SELECT l.* FROM lp.ledger AS l WHERE l.wallet_id = %(wallet)s AND l.shard = acct.shard"
    " AND l.id < %(middle_id)s ORDER BY l.id DESC LIMIT 50) AS e ORDER BY e.id DESC LIMIT 50",
    "balance_at": "SELECT coalesce(sum(a.balance_after), 0) FROM generate_series(0, 8) AS acct (shard)"
    " CROSS JOIN LATERAL (SELECT l.balance_after FROM lp.ledger AS l WHERE l.wallet_id = %(wallet)s"
    " AND l.shard = acct.shard AND l.created_at <= %(middle_at)s ORDER BY l.id DESC LIMIT 1) AS a",
    "list_tips recv": "SELECT t.id FROM lp.tips AS t WHERE t.recipient_id = %(performer)s"
    " ORDER BY t.created_at DESC, t.id DESC LIMIT 50",
    "stream_summary": "SELECT count(*), sum(t.amount) FROM lp.tips AS t WHERE t.stream_id = %(stream)s"
    " AND t.status = 'completed'",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cli(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "livepanty_db", "--dsn", dsn, *args],
        capture_output=True, text=True, env=env, check=False,
    )


def seed(dsn: str, sizes: dict[str, int], seed_value: int) -> float:
    args = ["seed", "--seed", str(seed_value)]
    for key, value in sizes.items():
        args += [f"--{key}", str(value)]
    log(f"seeding {sizes} (load {loadavg()})")
    started = time.perf_counter()
    done = cli(dsn, *args)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"seed failed: {done.stderr[-2000:]}")
    print(done.stdout)
    return elapsed


def targets(conn: psycopg.Connection) -> dict[str, Any]:
    """The busiest performer and stream, the heaviest spender, the middle of the performer's history."""
    performer, wallet = conn.execute(
        "SELECT t.recipient_id, w.id FROM (SELECT recipient_id, count(*) AS n FROM lp.tips GROUP BY 1"
        " ORDER BY 2 DESC LIMIT 1) AS t JOIN lp.wallets AS w ON w.user_id = t.recipient_id"
    ).fetchone()
    viewer = conn.execute(
        "SELECT sender_id FROM lp.tips GROUP BY 1 ORDER BY sum(amount) DESC LIMIT 1"
    ).fetchone()[0]
    stream = conn.execute(
        "SELECT stream_id FROM lp.tips GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    entries, middle_id = conn.execute(
        "SELECT count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM lp.ledger"
        " WHERE wallet_id = %s",
        [wallet],
    ).fetchone()
    middle_at = conn.execute("SELECT created_at FROM lp.ledger WHERE id = %s", [middle_id]).fetchone()[0]
    return {"performer": performer, "wallet": wallet, "viewer": viewer, "stream": stream,
            "middle_id": middle_id, "middle_at": middle_at, "performer_entries": entries}


def tokens(conn: psycopg.Connection, users: dict[str, Any]) -> dict[str, str]:
    out = {}
    for who in ("performer", "viewer"):
        name = conn.execute("SELECT username::text FROM lp.users WHERE id = %s", [users[who]]).fetchone()[0]
        out[who] = conn.execute("SELECT token FROM api.login(%s, %s)", [name, DEFAULT_PASSWORD]).fetchone()[0]
    return out


def measure(dsn: str, params: dict[str, Any], sessions: dict[str, str], rounds: int, calls: int) -> None:
    times: dict[str, list[list[float]]] = {name: [] for name in CASES}
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE livepanty_app")
        conn.commit()
        for number in range(rounds):
            for name, (who, query) in CASES.items():
                this_round: list[float] = []
                for _ in range(calls):
                    with conn.transaction():
                        conn.execute("SELECT api.authenticate(%s)", [sessions[who]])
                        started = time.perf_counter()
                        conn.execute(query, params).fetchall()
                        this_round.append((time.perf_counter() - started) * 1000)
                times[name].append(this_round)
            log(f"round {number + 1}/{rounds} done (load {loadavg()})")
    print(f"\n{rounds} rounds x {calls} calls per case, interleaved; times in ms, from the client")
    print("| case | calls | p50 | p95 | p99 | round medians (min..max) |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, per_round in times.items():
        ordered = sorted(x for r in per_round for x in r)
        medians = [statistics.median(r) for r in per_round]
        p95 = ordered[int(len(ordered) * 0.95)]
        p99 = ordered[int(len(ordered) * 0.99)]
        print(f"| {name} | {len(ordered)} | {statistics.median(ordered):.2f} | {p95:.2f} | {p99:.2f} |"
              f" {min(medians):.2f}..{max(medians):.2f} |")


def verify_runs(dsn: str, runs: int, jobs: list[int]) -> None:
    """``livepanty-db verify`` through the CLI, the --jobs cases interleaved over ``runs`` rounds (the order
    rotates each round)."""
    rates: dict[int, list[float]] = {n: [] for n in jobs}
    for number in range(runs):
        order = jobs[number % len(jobs):] + jobs[:number % len(jobs)]
        for n in order:
            started = time.perf_counter()
            done = cli(dsn, "verify", "--no-record", "--jobs", str(n))
            elapsed = time.perf_counter() - started
            found = re.search(r"no violations \((\d+) entries\)", done.stderr)
            if done.returncode != 0 or not found:
                raise SystemExit(f"verify failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
            entries = int(found.group(1))
            rates[n].append(entries / elapsed)
            log(f"verify round {number + 1}/{runs}, --jobs {n}: {entries} entries in {elapsed:.1f} s"
                f" (load {loadavg()})")
    print(f"\nlivepanty-db verify (the CLI: account chunks of 1000 wallets, periods of 500000 entries, one"
          f" snapshot), {runs} rounds:")
    print("| --jobs | median entries/s | min | max |")
    print("| ---: | ---: | ---: | ---: |")
    for n in jobs:
        print(f"| {n} | {statistics.median(rates[n]):,.0f} | {min(rates[n]):,.0f} | {max(rates[n]):,.0f} |")


def explain(dsn: str, params: dict[str, Any]) -> None:
    with psycopg.connect(dsn) as conn:
        for name, query in EXPLAINED.items():
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) {name}:")
            for (line,) in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params).fetchall():
                print("    " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="an already seeded database (superuser); default: a fresh cluster")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200, help="calls per case per round")
    parser.add_argument("--verify-runs", type=int, default=3)
    parser.add_argument("--verify-jobs", default="1,2", help="the --jobs cases of verify, comma-separated")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true")
    for key, value in DEFAULT_SIZES.items():
        parser.add_argument(f"--{key}", type=int, default=value)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(SystemExit(128 + signum)))
    cluster = None
    home = None
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load average at start {loadavg()}")
    try:
        if args.dsn:
            dsn = args.dsn
        else:
            home = Path(tempfile.mkdtemp(prefix="livepanty-volume-"))
            home.chmod(0o755)
            cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in SERVER_SETTINGS.items()])
            cluster.start()
            dsn = cluster.url()
            migrate.apply(dsn)
            sizes = {key: getattr(args, key) for key in DEFAULT_SIZES}
            elapsed = seed(dsn, sizes, args.seed)
            print(f"seed: {elapsed:.1f} s (load average after {loadavg()})")
        with psycopg.connect(dsn, autocommit=True) as conn:
            settings = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in SERVER_SETTINGS}
            version = conn.execute("SHOW server_version").fetchone()[0]
            log("VACUUM ANALYZE")
            conn.execute("VACUUM ANALYZE")
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM lp.ledger), (SELECT count(*) FROM lp.tips),"
                " (SELECT count(*) FROM lp.users), pg_size_pretty(pg_database_size(current_database()))"
            ).fetchone()
            params = targets(conn)
            sessions = tokens(conn, params)
        print(f"PostgreSQL {version}; {settings}")
        print(f"{counts[0]:,} ledger entries, {counts[1]:,} tips, {counts[2]:,} users; database {counts[3]}")
        print(f"busiest performer: {params['performer_entries']:,} ledger entries; deep page before entry"
              f" {params['middle_id']}, balance_at {params['middle_at']:%Y-%m-%d %H:%M}")
        measure(dsn, params, sessions, args.rounds, args.calls)
        verify_runs(dsn, args.verify_runs, [int(n) for n in args.verify_jobs.split(",")])
        if args.explain:
            explain(dsn, params)
        print(f"\nload average at the end {loadavg()}")
        return 0
    finally:
        if cluster is not None:
            cluster.destroy()
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
