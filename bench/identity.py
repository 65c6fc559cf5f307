"""What the verified identity (issue 6) costs a tip; docs/benchmarks.md has the figures.

Run it from the repository root::

    .venv/bin/python bench/identity.py [--duration 10] [--rounds 3] [--clients 4,16] [--quiet-wait 60]

One fresh embedded cluster, the durable settings of bench/tips.py, the same 10,000 funded viewers and 100
performers (``tips.setup_bench_database``), and two copies of that database made before any tip:

* ``bench``: the code as it is. A tip is one transaction of the application's login (a member of
  ``livepanty_app``): ``api.authenticate(token)`` then ``api.tip``; ``api.current_user_id()`` checks the
  HMAC proof on every call.
* ``bench_unverified``: the same, except that ``api.current_user_id()`` is the definition before issue 6 (it
  returned ``lp.user_id`` as set, proof or not). Two cases run on it: "before" is the tip as the application
  ran it before issue 6 (``set_config('lp.user_id', ...)`` then ``api.tip``, no token); "token, unverified
  checks" authenticates the token first, as today, but nothing checks the proof afterwards.

So "before" -> "token, unverified checks" is what looking up the session token costs, and "token, unverified
checks" -> "verified" is what checking the proof costs. pgbench TPC-B-like (scale 10) runs in the same rounds
as the yardstick. The cases are interleaved: every round runs every case at every client count, each run from
a vacuumed database after a checkpoint; the table shows the median over the rounds and the spread (min..max),
CPU milliseconds per transaction (the cluster's processes and pgbench, over all cores) and WAL bytes per
transaction.

Then two direct measurements that do not depend on throughput noise:

* a profile run with ``track_functions = all`` at one client (the backend has a core to itself) on each
  database: time per tip inside ``api.current_user_id`` (verified minus unverified: checking the proof) and
  ``lp.set_identity`` (making it) against the tip's server time (``api.authenticate`` + ``api.tip``); the
  tracking adds a little to every call, so this share is an upper bound;
* a tight loop of 200,000 ``api.current_user_id()`` calls in one backend, verified and unverified: the cost of
  one proof check in microseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from psycopg import sql
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tips

from livepanty_db.local import Cluster

UNVERIFIED_DB = "bench_unverified"

#: api.current_user_id() as it was before issue 6: whatever lp.user_id says.
UNVERIFIED_FUNCTION = """
CREATE OR REPLACE FUNCTION api.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT nullif(pg_catalog.current_setting('lp.user_id', true), '')::uuid
$$
"""

_BEFORE_SCRIPT = """\
\\set v random(1, {viewers})
\\set p random(1, {performers})
\\set amount random({tip_min}, {tip_max})
BEGIN;
SELECT pg_catalog.set_config('lp.user_id', '{viewer_prefix}' || lpad(:v::text, 12, '0'), true);
SELECT * FROM api.tip(p_recipient_id => ('{performer_prefix}' || lpad(:p::text, 12, '0'))::uuid, \
p_amount => :amount, p_idempotency_key => pg_catalog.gen_random_uuid()::text);
COMMIT;
"""

LOOP_SQL = """
DO $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_user    uuid;
BEGIN
    FOR i IN 1..{calls} LOOP
        v_user := api.current_user_id();
    END LOOP;
    IF v_user IS DISTINCT FROM '{user}'::uuid THEN
        RAISE EXCEPTION 'acting user %', v_user;
    END IF;
    RAISE NOTICE '%', extract(epoch FROM clock_timestamp() - v_started);
END
$$
"""

PROFILED = ("api.tip", "api.authenticate", "api.current_user_id", "lp.set_identity", "lp.identity_proof")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every case (default 3)")
    parser.add_argument("--clients", default="4,16", help="client counts, comma-separated (default 4,16)")
    parser.add_argument("--viewers", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument("--performers", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=60,
        help="before each run, wait up to this many seconds for the machine to be idle (default 60)",
    )
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in args.clients.split(",")})
    return args


def cpu_ms_per_tx(result: tips.Result, duration: int) -> float:
    cores = os.cpu_count() or 1
    return result.cpu_ours / 100 * cores * duration * 1000 / max(result.transactions, 1)


def loop_seconds(cluster: Cluster, database: str, verified: bool, calls: int) -> float:
    """Seconds for ``calls`` calls of api.current_user_id() in one backend, a viewer acting."""
    user = f"{tips.VIEWER_PREFIX}{1:012d}"
    notices: list[str] = []
    with tips.connect(cluster, database) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.autocommit = False
        if verified:
            conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (user,))
        else:
            conn.execute("SELECT set_config('lp.user_id', %s, true)", (user,))
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute(LOOP_SQL.format(calls=calls, user=user))
        conn.rollback()
    return float(notices[-1])


def profile(cluster: Cluster, workdir: Path, database: str, script: Path, duration: int) -> dict[str, float]:
    """Microseconds per tip inside each of PROFILED (total time, nested calls included), one client so the
    backend has a core to itself; track_functions = all for this run only."""
    with tips.connect(cluster, database) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET track_functions = 'all'").format(sql.Identifier(database))
        )
        conn.execute("SELECT pg_stat_reset()")
    tips.prepare_run(cluster, database)
    tips.run_pgbench(
        cluster,
        workdir,
        case=f"profile {database}",
        clients=1,
        duration=duration,
        database=database,
        user=tips.APP_LOGIN,
        script=script,
    )
    with tips.connect(cluster, database) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} RESET track_functions").format(sql.Identifier(database)))
        rows = conn.execute(
            "SELECT schemaname || '.' || funcname, calls, total_time FROM pg_stat_user_functions"
            " WHERE schemaname || '.' || funcname = ANY(%s)",
            (list(PROFILED),),
        ).fetchall()
    stats = {name: (calls, total) for name, calls, total in rows}
    tips_done = stats["api.tip"][0]
    per_tip = {name: stats.get(name, (0, 0.0))[1] / tips_done * 1000 for name in PROFILED}
    per_tip["calls of api.current_user_id"] = stats["api.current_user_id"][0] / tips_done
    return per_tip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="livepanty-bench-identity-"))
    workdir = home / "pgbench"
    workdir.mkdir()
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in tips.SERVER_SETTINGS.items()])
    try:
        tips.log("starting the embedded cluster")
        cluster.start()
        with tips.connect(cluster, "postgres") as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        print(
            f"PostgreSQL {version} on {platform.node()} ({os.cpu_count()} CPUs), "
            f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; code measured: {tips.code_revision()}"
        )
        print(
            f"runs: {args.duration} s, clients {','.join(map(str, args.clients))}, {args.rounds} rounds,"
            f" -M extended, tips of {tips.TIP_MIN}..{tips.TIP_MAX} tokens by {args.viewers} viewers"
            f" to {args.performers} performers"
        )
        tips.setup_bench_database(cluster, args.viewers, args.performers)
        with tips.connect(cluster, "postgres") as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(UNVERIFIED_DB), sql.Identifier(tips.BENCH_DB)
                )
            )
        with tips.connect(cluster, UNVERIFIED_DB) as conn:
            conn.execute("SET ROLE livepanty_owner")
            conn.execute(UNVERIFIED_FUNCTION)
        tips.setup_pgbench_database(cluster)
        tips.log("databases ready")

        verified = workdir / "verified.sql"
        verified.write_text(tips.tip_script(args.viewers, f"random(1, {args.performers})"))
        before = workdir / "before.sql"
        before.write_text(
            _BEFORE_SCRIPT.format(
                viewers=args.viewers,
                performers=args.performers,
                tip_min=tips.TIP_MIN,
                tip_max=tips.TIP_MAX,
                viewer_prefix=tips.VIEWER_PREFIX,
                performer_prefix=tips.PERFORMER_PREFIX,
            )
        )
        cases = [
            ("TPC-B-like (scale 10)", tips.PGBENCH_DB, "postgres", None),
            ("before: set_config + api.tip (no token, no proof)", UNVERIFIED_DB, tips.APP_LOGIN, before),
            ("token, unverified checks: authenticate + api.tip", UNVERIFIED_DB, tips.APP_LOGIN, verified),
            ("verified: authenticate + api.tip (proof checked)", tips.BENCH_DB, tips.APP_LOGIN, verified),
        ]
        results: dict[tuple[str, int], list[tips.Result]] = {}
        for round_ in range(args.rounds):
            order = (
                cases[round_ % len(cases) :] + cases[: round_ % len(cases)]
            )  # rotate: no case always first
            for clients in args.clients:
                for case, database, user, script in order:
                    tips.prepare_run(cluster, database)
                    tips.wait_until_quiet(args.quiet_wait)
                    result = tips.run_pgbench(
                        cluster,
                        workdir,
                        case=case,
                        clients=clients,
                        duration=args.duration,
                        database=database,
                        user=user,
                        script=script,
                    )
                    results.setdefault((case, clients), []).append(result)
                    tips.log(
                        f"round {round_ + 1}, {clients} clients, {case}: {result.tps:.0f} tps, "
                        f"{cpu_ms_per_tx(result, args.duration):.3f} CPU ms/tx"
                    )

        rows = []
        for clients in args.clients:
            tpcb = statistics.median(r.tps for r in results[(cases[0][0], clients)])
            for case, *_ in cases:
                runs = results[(case, clients)]
                tps = [r.tps for r in runs]
                rows.append(
                    [
                        case,
                        clients,
                        f"{statistics.median(tps):.0f}",
                        f"{min(tps):.0f}..{max(tps):.0f}",
                        f"{statistics.median(tps) / tpcb:.2f}",
                        f"{statistics.median(r.p99_ms for r in runs):.1f}",
                        f"{statistics.median(cpu_ms_per_tx(r, args.duration) for r in runs):.3f}",
                        f"{statistics.median(r.wal_bytes_per_tx for r in runs):.0f}",
                    ]
                )
        print()
        print(
            tabulate(
                rows,
                headers=[
                    "case",
                    "clients",
                    "tps (median)",
                    "tps min..max",
                    "x TPC-B",
                    "p99 ms",
                    "CPU ms/tx",
                    "WAL B/tx",
                ],
                tablefmt="github",
                disable_numparse=True,
            )
        )
        for clients in args.clients:
            cpu = {
                case: statistics.median(cpu_ms_per_tx(r, args.duration) for r in results[(case, clients)])
                for case, *_ in cases[1:]
            }
            b, t, v = (cpu[c[0]] for c in cases[1:])
            print(
                f"{clients} clients, CPU per tip: token lookup {100 * (t - b) / b:+.1f} %, proof checks "
                f"{100 * (v - t) / t:+.1f} % (median of {args.rounds} rounds; the spread above is the noise)"
            )

        calls = 200_000
        loop = {
            flag: statistics.median(
                loop_seconds(cluster, tips.BENCH_DB if flag else UNVERIFIED_DB, flag, calls) for _ in range(3)
            )
            for flag in (False, True)
        }
        print(
            f"\napi.current_user_id(), {calls} calls in one backend (median of 3): unverified "
            f"{loop[False] / calls * 1e6:.2f} us/call, verified {loop[True] / calls * 1e6:.2f} us/call"
        )
        profiles = {
            label: profile(cluster, workdir, database, verified, args.duration)
            for label, database in (("unverified", UNVERIFIED_DB), ("verified", tips.BENCH_DB))
        }
        print(
            tabulate(
                [
                    [name] + [f"{profiles[label][name]:.1f}" for label in profiles]
                    for name in (*PROFILED, "calls of api.current_user_id")
                ],
                headers=["us per tip (1 client, track_functions = all)", *profiles],
                tablefmt="github",
                disable_numparse=True,
            )
        )
        v, u = profiles["verified"], profiles["unverified"]
        server = v["api.tip"] + v["api.authenticate"]
        extra = (v["api.current_user_id"] - u["api.current_user_id"]) + v["lp.set_identity"]
        print(
            f"the proof costs a tip {extra:.1f} us of {server:.0f} us server time (authenticate + tip):"
            f" {100 * extra / server:.1f} % (checking: the verified minus the unverified api.current_user_id;"
            " making: all of lp.set_identity, the two set_config calls authenticate made before included)"
        )
        checks = tips.check_database(cluster, tips.BENCH_DB) + tips.check_database(cluster, UNVERIFIED_DB)
        print("\nconsistency after the runs:")
        print(tabulate(checks, headers=["database", "check", "result"], tablefmt="github"))
        bad = [
            row
            for row in checks
            if row[1] not in ("tips", "ledger entries", "api.verify_ledger()", "  violated checks")
            and row[2] != 0
        ]
        return 1 if bad else 0
    finally:
        with contextlib.suppress(Exception):
            cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
