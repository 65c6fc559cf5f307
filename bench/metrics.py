"""What a reading of ``livepanty-db metrics`` costs on a big tips table (issue 11, section 4).

One fresh embedded cluster (pg_stat_statements preloaded, as every embedded cluster, and installed by the
migrations, so the slow-statement view works too), database ``bench`` set up as bench/tips.py does
(``--viewers`` viewers funded through the API, 100 performers), then ``--tips`` tips inserted as the superuser
straight into ``lp.tips`` (no ledger postings: no monitoring view reads the ledger), spread evenly over
``--days`` days, each with a time-ordered id (``lp.uuid_v7``'s layout) of its own ``created_at``, as a seeder
that keeps ids in time order would write them; the last 5 minutes hold ``--recent`` of them. Then ``VACUUM
ANALYZE`` and a metrics sample.

Measured, in ``--rounds`` interleaved rounds (each round reads every view once, in a shuffled order, then one
whole ``metrics.collect``), as a ``livepanty_readonly`` login: the time of ``SELECT * FROM monitoring.<view>``
per view and of the whole reading. Printed: median, p10-p90 and max in milliseconds; and the check that
``monitoring.activity`` counted exactly the recent tips (so the figures are of a correct answer).

    .venv/bin/python bench/metrics.py [--tips 1000000] [--days 30] [--recent 3000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import tips
from psycopg import sql
from psycopg.conninfo import make_conninfo

from livepanty_db import Client, metrics
from livepanty_db.local import Cluster

READER = "bench_metrics_reader"

#: n tips, sender and recipient picked from the bench users, created_at evenly spread between p_from and
#: p_to, ids of lp.uuid_v7's layout (48 bits of milliseconds, then random bits) for their created_at.
INSERT_TIPS = """
INSERT INTO lp.tips (id, sender_id, recipient_id, amount, fee_amount, transaction_id, idempotency_key,
                     created_at)
SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                      PLACING substring(int8send((extract(epoch FROM t.at) * 1000)::bigint)
                                                        FROM 3)
                                      FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
       (%(viewer_prefix)s || lpad((1 + g %% %(viewers)s)::text, 12, '0'))::uuid,
       (%(performer_prefix)s || lpad((1 + g %% 100)::text, 12, '0'))::uuid,
       50, 10, gen_random_uuid(), %(tag)s || g, t.at
  FROM generate_series(1, %(n)s) AS g
 CROSS JOIN LATERAL (SELECT %(from)s::timestamptz
                            + (%(to)s::timestamptz - %(from)s::timestamptz) * (g::float8 / %(n)s)) AS t (at)
"""


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    if len(ordered) > 1:
        deciles = statistics.quantiles(ordered, n=10, method="inclusive")
    else:
        deciles = [ordered[0]] * 9
    return (
        f"median {statistics.median(ordered):8.2f}   p10-p90 {deciles[0]:7.2f} - {deciles[-1]:7.2f}"
        f"   max {ordered[-1]:8.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--recent", type=int, default=3000, help="tips in the last 5 minutes")
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="livepanty-bench-metrics-"))
    base.chmod(0o755)
    cluster = Cluster(base)  # preloads pg_stat_statements (livepanty_db.local.SERVER_SETTINGS)
    try:
        cluster.start()
        tips.setup_bench_database(cluster, viewers=args.viewers, performers=100)
        dsn = cluster.url(tips.BENCH_DB)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE livepanty_readonly").format(sql.Identifier(READER))
            )
            started = time.monotonic()
            now = conn.execute("SELECT now()").fetchone()[0]
            params = {
                "viewer_prefix": tips.VIEWER_PREFIX,
                "performer_prefix": tips.PERFORMER_PREFIX,
                "viewers": args.viewers,
            }
            old = {"n": args.tips - args.recent, "from": now - timedelta(days=args.days)}
            conn.execute(INSERT_TIPS, {**params, **old, "to": now - timedelta(minutes=6), "tag": "bench-"})
            recent = {"n": args.recent, "from": now - timedelta(minutes=4), "to": now}
            conn.execute(INSERT_TIPS, {**params, **recent, "tag": "bench-recent-"})
            tips.log(f"inserted {args.tips} tips in {time.monotonic() - started:.1f} s")
            conn.execute("VACUUM ANALYZE lp.tips")
            conn.execute("SET ROLE livepanty_service")
            conn.execute("SELECT api.record_metrics_sample()")
            conn.execute("RESET ROLE")
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('lp.tips'))").fetchone()[0]
        tips.log(f"lp.tips: {args.tips} rows, {size}")

        reader_dsn = make_conninfo(dsn, user=READER)
        timings: dict[str, list[float]] = {view: [] for view in (*metrics.VIEWS, "(whole reading)")}
        counted: set[int] = set()
        with psycopg.connect(reader_dsn, autocommit=True) as conn, Client(reader_dsn) as client:
            for _ in range(args.rounds):
                for view in random.sample(metrics.VIEWS, len(metrics.VIEWS)):
                    started = time.perf_counter()
                    rows = conn.execute(f"SELECT * FROM monitoring.{view}").fetchall()
                    timings[view].append((time.perf_counter() - started) * 1000)
                    if view == "activity":
                        counted.add(next(int(r[2]) for r in rows if r[0] == "tip"))
                started = time.perf_counter()
                metrics.collect(client)
                timings["(whole reading)"].append((time.perf_counter() - started) * 1000)
        print(f"\nmonitoring views over {args.tips:,} tips ({args.days} days), {args.rounds} rounds, ms:")
        for view, values in timings.items():
            print(f"  {view:<22} {summary(values)}")
        ok = counted == {args.recent}
        verdict = "ok" if ok else "WRONG"
        expected = f"(expected {args.recent})"
        print(f"\nmonitoring.activity counted {sorted(counted)} recent tips {expected}: {verdict}")
        return 0 if ok else 1
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
