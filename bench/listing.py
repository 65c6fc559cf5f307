"""Discovery listings (issue 8, section 2): how fast api.list_live_streams and api.list_performer_streams
answer with 10,000 streams of which 1,000 are live.

One fresh embedded cluster; set-up through the same rows the API writes: 1,000 performers, each with one
live public stream (listed viewers spread 0..999, two categories, a tag on every third) and 9 ended ones, and
one viewer with a session. Each case runs ``--calls`` times in its own transaction (``api.authenticate``
first, not timed; then the listing, timed from the client: the query's round trip), cases interleaved:

* ``first page``: ``api.list_live_streams()`` (50 rows);
* ``deep page``: the page after the 500th row (keyset);
* ``category``: one category's first page;
* ``tag``: the streams with a tag (a third of them);
* ``performer``: one performer's streams, newest first (10 rows).

Printed: p50/p95/p99 per case (the issue's goal: under 5 ms), and the plan of the first page (EXPLAIN of the
listing's query as the function runs it).

    .venv/bin/python bench/listing.py       # about 1 minute
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import tips

from livepanty_db import migrate
from livepanty_db.local import Cluster

SETUP = [
    "UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'",
    "INSERT INTO lp.users (id, email, username, password_hash, role, date_of_birth)"
    " SELECT ('00000000-0000-4000-b000-' || lpad(n::text, 12, '0'))::uuid, 'p' || n || '@example.com',"
    " 'perf_' || n, '$2a$04$' || repeat('a', 53), 'performer', DATE '1990-01-01'"
    " FROM generate_series(1, 1000) AS n",
    "INSERT INTO lp.streams (host_id, title, category, tags, status, visibility, started_at, listed_viewers)"
    " SELECT ('00000000-0000-4000-b000-' || lpad(n::text, 12, '0'))::uuid, 'live ' || n,"
    " CASE WHEN n % 2 = 0 THEN 'music' ELSE 'chat' END,"
    " CASE WHEN n % 3 = 0 THEN ARRAY['duo'] ELSE ARRAY[]::text[] END, 'live', 'public', now(),"
    " (n * 7919) % 1000"
    " FROM generate_series(1, 1000) AS n",
    "INSERT INTO lp.streams (host_id, title, status, visibility, started_at, ended_at, created_at)"
    " SELECT ('00000000-0000-4000-b000-' || lpad((n % 1000 + 1)::text, 12, '0'))::uuid, 'ended ' || n,"
    " 'ended', 'public', now() - interval '2 hours', now() - interval '1 hour',"
    " now() - make_interval(mins => n)"
    " FROM generate_series(1, 9000) AS n",
    "VACUUM ANALYZE lp.streams",
]
CASES = {
    "first page": ("SELECT count(*) FROM api.list_live_streams()", {}),
    "deep page": (
        "SELECT count(*) FROM api.list_live_streams(p_after_viewers => 500, p_after_id => %(zero)s)",
        {},
    ),
    "category": ("SELECT count(*) FROM api.list_live_streams('music')", {}),
    "tag": ("SELECT count(*) FROM api.list_live_streams(p_tag => 'duo')", {}),
    "performer": ("SELECT count(*) FROM api.list_performer_streams(%(performer)s)", {}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per case (default 500)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, tips._terminate)
    home = Path(tempfile.mkdtemp(prefix="livepanty-listing-"))
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in tips.SERVER_SETTINGS.items()])
    try:
        tips.log("starting the embedded cluster")
        cluster.start()
        print(f"code measured: {tips.code_revision()}")
        with tips.connect(cluster, "postgres") as conn:
            conn.execute(f"CREATE DATABASE {tips.BENCH_DB}")
        migrate.apply(cluster.url(tips.BENCH_DB))
        with tips.connect(cluster, tips.BENCH_DB) as conn:
            for statement in SETUP:
                conn.execute(statement)
            conn.execute(
                "SELECT api.register_user('vic@example.com', 'vic', 'listing bench 1', DATE '1990-01-01',"
                " 'viewer')"
            )
            token = conn.execute("SELECT token FROM api.login('vic', 'listing bench 1')").fetchone()[0]
            counts = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'live') FROM lp.streams"
            ).fetchone()
        tips.log(f"{counts[0]} streams, {counts[1]} live")
        params = {
            "zero": "00000000-0000-0000-0000-000000000000",
            "performer": "00000000-0000-4000-b000-000000000007",
        }
        times: dict[str, list[float]] = {name: [] for name in CASES}
        with psycopg.connect(cluster.url(tips.BENCH_DB)) as conn:
            conn.execute("SET ROLE livepanty_app")
            conn.commit()
            for _ in range(args.calls):
                for name, (query, _extra) in CASES.items():
                    with conn.transaction():
                        conn.execute("SELECT api.authenticate(%s)", [token])
                        started = time.perf_counter()
                        conn.execute(query, params).fetchone()
                        times[name].append((time.perf_counter() - started) * 1000)
            conn.execute("RESET ROLE")  # the plan as the function (its owner, past RLS) runs the query
            plan = conn.execute(
                "EXPLAIN (COSTS OFF) SELECT s.id FROM lp.streams AS s WHERE s.status = 'live'"
                " AND s.visibility = 'public' AND s.deleted_at IS NULL"
                " ORDER BY s.listed_viewers DESC, s.id DESC LIMIT 50"
            ).fetchall()
        print("\n| case | calls | p50 ms | p95 ms | p99 ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, values in times.items():
            ordered = sorted(values)
            p95 = ordered[int(len(ordered) * 0.95)]
            p99 = ordered[int(len(ordered) * 0.99)]
            print(f"| {name} | {len(ordered)} | {statistics.median(ordered):.2f} | {p95:.2f} | {p99:.2f} |")
        print("\nplan of the first page's query:")
        for (line,) in plan:
            print("    " + line)
        return 0
    finally:
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main())
