"""A/B of the tip path's server CPU (issue 7): two versions of the repeatable code (db/functions, views,
policies) on one cluster and one database, interleaved.

    .venv/bin/python bench/tip_ab.py --old /path/to/old/db --new db --rounds 3 --duration 8

Both trees must share the migrations (the schema); each run re-applies one tree's repeatable definitions
(``migrate.apply(root=...)``), vacuums, checkpoints, waits for an idle machine and runs pgbench with the
cases of bench/money.py: ``tip`` (api.authenticate + api.tip per transaction), ``tip_hot`` (the same, every
tip to one performer) and ``tip_many_N`` (one api.tip_many of N tips). Prints server CPU ms per tip (the
cluster's processes, /proc) per run and the medians.

A schema difference is measured with one tree and ``--old-setup`` / ``--new-setup``: SQL run as the
superuser in the bench database before each run of that side (e.g. adding and dropping a constraint):

    .venv/bin/python bench/tip_ab.py --old db --new db --cases tip:16,tip_hot:16 \
        --old-setup "ALTER TABLE lp.tips ADD FOREIGN KEY (sender_id) REFERENCES lp.users" \
        --new-setup "ALTER TABLE lp.tips DROP CONSTRAINT IF EXISTS tips_sender_id_fkey"
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import money
import tips

from livepanty_db import migrate
from livepanty_db.local import Cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="the old db/ tree")
    parser.add_argument("--new", type=Path, required=True, help="the new db/ tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--cases", default="tip:4,tip:16,tip_many_100:4,tip_many_10:16")
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--performers", type=int, default=100)
    parser.add_argument("--quiet-wait", type=int, default=20)
    parser.add_argument("--home", type=Path, help="reuse this cluster home (made and kept if missing)")
    parser.add_argument("--old-setup", default="", help="SQL run as the superuser before each old run")
    parser.add_argument("--new-setup", default="", help="SQL run as the superuser before each new run")
    args = parser.parse_args(argv)
    keep = args.home is not None
    home = args.home or Path(tempfile.mkdtemp(prefix="livepanty-tip-ab-"))
    fresh = not (home / "pgbench").exists()
    workdir = home / "pgbench"
    workdir.mkdir(parents=True, exist_ok=True)
    options = {**tips.SERVER_SETTINGS, **money.LOG_SETTINGS}
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in options.items()])
    cluster.start()
    try:
        if fresh:
            tips.setup_bench_database(cluster, args.viewers, args.performers)
            money.load_tips(cluster, money.WARM_UP, args.viewers, args.performers)
        scripts = {
            "tip": tips.tip_script(args.viewers, f"random(1, {args.performers})"),
            "tip_hot": tips.tip_script(args.viewers, str(tips.HOT_PERFORMER)),
            "tip_many_10": money.tip_many_script(10, args.viewers, args.performers),
            "tip_many_100": money.tip_many_script(100, args.viewers, args.performers),
        }
        cases = {}
        for name, text in scripts.items():
            path = workdir / f"{name}.sql"
            path.write_text(text)
            batch = int(name.rsplit("_", 1)[1]) if name.startswith("tip_many") else 1
            cases[name] = money.Case(name, tips.BENCH_DB, tips.APP_LOGIN, path, batch=batch)
        plan = [(c.split(":")[0], int(c.split(":")[1])) for c in args.cases.split(",")]
        results: dict[tuple[str, int, str], list[float]] = defaultdict(list)
        wal: dict[tuple[str, int, str], list[float]] = defaultdict(list)
        for round_ in range(args.rounds):
            order = ["old", "new"] if round_ % 2 == 0 else ["new", "old"]
            for version in order:
                migrate.apply(
                    cluster.url(tips.BENCH_DB), root=(args.old if version == "old" else args.new).resolve()
                )
                setup = args.old_setup if version == "old" else args.new_setup
                if setup:
                    with tips.connect(cluster, tips.BENCH_DB) as conn:
                        conn.execute(setup)
                for name, clients in plan:
                    money.prepare_run(cluster, tips.BENCH_DB)
                    tips.wait_until_quiet(args.quiet_wait)
                    before = money.count_tips(cluster)
                    outcome, meter = money.run_pgbench(cluster, workdir, cases[name], clients, args.duration)
                    accepted = money.count_tips(cluster) - before
                    sent = outcome.transactions * cases[name].batch
                    per_tip = meter.server_cpu_ms / max(accepted, 1)
                    results[(name, clients, version)].append(per_tip)
                    wal[(name, clients, version)].append(meter.wal_bytes / max(accepted, 1))
                    tips.log(
                        f"round {round_ + 1} {version:3} {name:12} c={clients:2}: "
                        f"{accepted / args.duration:7.0f} tips/s, server CPU {per_tip:.3f} ms/tip, "
                        f"WAL {meter.wal_bytes / max(accepted, 1):.0f} B/tip, "
                        f"errors {sum(meter.errors.values())}"
                        + ("" if accepted == sent else f", {sent - accepted} tips missing")
                        + (f" {dict(outcome.failures)}" if outcome.failures else "")
                    )
        print("\n| case | clients | old ms/tip (median) | new ms/tip (median) | new/old | runs |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for name, clients in plan:
            old = results[(name, clients, "old")]
            new = results[(name, clients, "new")]
            if not old or not new:
                continue
            mo, mn = statistics.median(old), statistics.median(new)
            runs = " / ".join(f"{o:.3f}->{n:.3f}" for o, n in zip(old, new, strict=False))
            print(f"| {name} | {clients} | {mo:.3f} | {mn:.3f} | {mn / mo:.2f} | {runs} |")
        print("\n| case | clients | old WAL B/tip (median) | new WAL B/tip (median) | new/old |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, clients in plan:
            old, new = wal[(name, clients, "old")], wal[(name, clients, "new")]
            if old and new:
                mo, mn = statistics.median(old), statistics.median(new)
                print(f"| {name} | {clients} | {mo:.0f} | {mn:.0f} | {mn / mo:.2f} |")
        with tips.connect(cluster, tips.BENCH_DB) as conn:
            bad = conn.execute("SELECT count(*) FROM api.verify_ledger()").fetchone()[0]
        print(f"\napi.verify_ledger(): {bad} violations")
        return 1 if bad else 0
    finally:
        if keep:
            print(f"kept: {cluster.url(tips.BENCH_DB)} (home {home})")
        else:
            cluster.destroy()


if __name__ == "__main__":
    sys.exit(main())
