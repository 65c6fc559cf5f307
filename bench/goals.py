"""Tip goals and tip menus (issue 8, section 4): what a stream's active goal and a menu item cost a tip, and
what a refund_if_missed goal's escrow costs.

One fresh embedded cluster with bench/tips.py's set-up (10,000 funded viewers with a session token each, 100
performers; durable server settings) and bench/events.py's stream: performer 1 is live with one public stream
(``events.STREAM_ID``; ``events.wake_up`` = ``"commit"``, the default). Performer 1 then logs in
(``api.login`` + ``api.authenticate`` in one transaction, as the application would act for them) and, through
the api, puts one item on their tip menu (``api.set_menu_item``, price 25) and two goals on the stream
(``api.add_tip_goal``): goal C, target 10^10 tokens (never reached in a run), no deadline, no refund; and goal
D, the same target, deadline 30 days ahead, ``refund_if_missed``. At most one goal of a stream is active;
before each run the benchmark makes the case's goal the active one as the superuser (the other goes back to
``queued``; the progress rows of a goal, ``streams.counter_shards`` of them, are made as
``lp.activate_next_goal`` makes them), or none.

Cases, every tip from a random viewer of the 10,000 to performer 1 (one hot performer, as a busy stream is),
25 tokens each, one transaction ``api.authenticate(token)`` + ``api.tip``:

(a) the tip names no stream;
(b) the tip names the live stream, no active goal (an event and a wake-up per tip, the stream's checks);
(c) the tip names the live stream, goal C active, and the menu item (``p_menu_item_id``; the event is a
    ``menu_item`` one): the goal's progress rows (one free row of 8, SKIP LOCKED) and the item's read;
(d) like (c) with goal D active: every tip goes whole into the ``goal_escrow`` system wallet (status
    ``escrowed``; the fee is taken at settlement, which is not measured here).

``pgbench -M extended -c 16 -j 2 -T duration`` as the application's login role (``bench_app``), rounds
interleaved (the order reverses every other round), each run from a vacuumed database after a checkpoint and
after waiting for the machine to be idle (it may be shared). Per case: median tips/s and its min..max, median
p50/p99 latency (pgbench's per-transaction logs), WAL bytes and full-page images per tip (``pg_stat_wal``,
bench/tips.py's meter; every run starts after a checkpoint, so its first write to each page logs the page),
server CPU ms per tip (every process of the cluster, from /proc, as bench/tips.py and bench/money.py measure
it), and tips/s as a multiple of (a) and (b); then the runs that had foreign load (the machine busy before
the run, or other processes using 10 % of it or more during the run: such a run is measured again, up to
``--retries`` times, and the report keeps the last attempt). After every run, discarded ones included:
``api.verify_ledger()`` returns no rows (as the superuser), every goal's progress (sum of
``lp.tip_goal_progress``) equals the tips recorded toward it (sum of ``lp.tips.amount`` and count with its
``goal_id``), every tip of the run counted toward the case's goal (and none toward a goal in (a) and (b)),
and no goal was closed. Exit status 1 when a check fails.

    .venv/bin/python bench/goals.py [--duration 15] [--rounds 3] [--quiet-wait 60] [--retries 2]
    # about 5 minutes on a quiet machine
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import events
import tips

from livepanty_db.local import Cluster

CLIENTS = 16
VIEWERS = 10_000
PERFORMERS = 100
PRICE = 25  # the menu item's price, and every tip's amount in every case
TARGET = 10_000_000_000  # money.max_tokens: never reached
#: A run with this much foreign load (% of the machine; foreign_load) is measured again (--retries).
FOREIGN_LIMIT = 10.0

_TIP = (
    "\\set v random(1, {viewers})\n"
    "BEGIN;\n"
    "SELECT api.authenticate('bench-token-' || lpad(:v::text, 31, '0'));\n"
    "SELECT id FROM api.tip(p_recipient_id => '{host}', p_amount => {amount},"
    " p_idempotency_key => gen_random_uuid()::text{extra});\n"
    "COMMIT;\n"
)


@dataclass
class Case:
    key: str
    name: str
    stream: bool
    menu: bool
    goal: str | None  # "C", "D" or None: the goal active during the run


CASES = [
    Case("a", "(a) no stream", stream=False, menu=False, goal=None),
    Case("b", "(b) live stream, events on", stream=True, menu=False, goal=None),
    Case("c", "(c) stream + goal + menu item", stream=True, menu=True, goal="C"),
    Case("d", "(d) stream + refund_if_missed goal (escrow) + menu item", stream=True, menu=True, goal="D"),
]


@dataclass
class Run:
    case: str
    result: tips.Result
    server_cpu_ms: float
    client_cpu_ms: float
    busy_before: float


def cluster_cpu_ms(postmaster: int, expected: set[int] | None = None) -> tuple[float, set[int]]:
    jiffies, processes = tips._stable_cluster_jiffies(postmaster, expected)
    return jiffies * 1000 / os.sysconf("SC_CLK_TCK"), processes


def client_cpu_ms() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pgbench, once reaped
    return (children.ru_utime + children.ru_stime) * 1000


def setup_goals(cluster: Cluster) -> tuple[dict[str, str], str]:
    """Performer 1 logs in and, through the api, adds the menu item and goals C and D. Returns their ids."""
    with tips.connect(cluster, tips.BENCH_DB) as conn, conn.transaction():
        login = conn.execute(
            "SELECT success, error_code, token FROM api.login(%s, %s)",
            [f"performer{tips.HOT_PERFORMER}", f"bench password {tips.HOT_PERFORMER}"],
        ).fetchone()
        if not login or not login[0]:
            raise RuntimeError(f"performer {tips.HOT_PERFORMER} could not log in: {login}")
        conn.execute("SELECT api.authenticate(%s)", [login[2]])
        item = conn.execute("SELECT id FROM api.set_menu_item(%s, %s)", ["bench item", PRICE]).fetchone()[0]
        goal_c = conn.execute(
            "SELECT id FROM api.add_tip_goal(%s, %s, %s)", [events.STREAM_ID, TARGET, "goal C: never reached"]
        ).fetchone()[0]
        goal_d = conn.execute(
            "SELECT id FROM api.add_tip_goal(%s, %s, %s, now() + interval '30 days', true)",
            [events.STREAM_ID, TARGET, "goal D: refunded if missed"],
        ).fetchone()[0]
    return {"C": str(goal_c), "D": str(goal_d)}, str(item)


def activate(cluster: Cluster, goal_id: str | None) -> None:
    """Make ``goal_id`` the stream's one active goal (None: no active goal), as the superuser. A goal set back
    to queued keeps its progress rows; a goal made active gets them as lp.activate_next_goal makes them."""
    with tips.connect(cluster, tips.BENCH_DB) as conn, conn.transaction():
        conn.execute(
            "UPDATE lp.tip_goals SET status = 'queued'"
            " WHERE stream_id = %s AND status = 'active' AND id IS DISTINCT FROM %s::uuid",
            [events.STREAM_ID, goal_id],
        )
        if goal_id is None:
            return
        updated = conn.execute(
            "UPDATE lp.tip_goals SET status = 'active', activated_at = coalesce(activated_at, now())"
            " WHERE id = %s AND status IN ('queued', 'active')",
            [goal_id],
        ).rowcount
        if updated != 1:
            raise RuntimeError(f"goal {goal_id} could not be made active")
        conn.execute(
            "INSERT INTO lp.tip_goal_progress (goal_id, shard)"
            " SELECT %s, n FROM generate_series(1, (lp.setting('streams.counter_shards'))::integer) AS n"
            " ON CONFLICT DO NOTHING",
            [goal_id],
        )


def prepare(cluster: Cluster) -> None:
    """tips.prepare_run (money tables vacuumed, then a checkpoint), the stream's and goals' tables first."""
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        conn.execute(
            "VACUUM ANALYZE lp.streams, lp.stream_counters, lp.stream_events, lp.tip_goals,"
            " lp.tip_goal_progress, lp.tip_menu_items, lp.auth_sessions"
        )
    tips.prepare_run(cluster, tips.BENCH_DB)


def goal_counts(cluster: Cluster, goals: dict[str, str]) -> dict[str | None, int]:
    """Tips recorded toward each goal (key None: toward none)."""
    names = {v: k for k, v in goals.items()}
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        rows = conn.execute("SELECT goal_id::text, count(*) FROM lp.tips GROUP BY 1").fetchall()
    return {names.get(g) if g else None: int(n) for g, n in rows}


def check(
    cluster: Cluster,
    goals: dict[str, str],
    case: Case,
    before: dict[str | None, int],
    transactions: int,
) -> list[str]:
    """The checks after a run; returns what failed."""
    failed = []
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        violations = conn.execute(
            "SELECT count(*), string_agg(DISTINCT check_name, ', ') FROM api.verify_ledger()"
        ).fetchone()
        if violations[0]:
            failed.append(f"api.verify_ledger(): {violations[0]} rows ({violations[1]})")
        for name, goal in goals.items():
            progress, counted, status = conn.execute(
                "SELECT (SELECT coalesce(sum(tokens), 0) FROM lp.tip_goal_progress WHERE goal_id = g.id),"
                " (SELECT coalesce(sum(tips), 0) FROM lp.tip_goal_progress WHERE goal_id = g.id),"
                " g.status::text FROM lp.tip_goals AS g WHERE g.id = %s",
                [goal],
            ).fetchone()
            amount, tipped = conn.execute(
                "SELECT coalesce(sum(amount), 0), count(*) FROM lp.tips WHERE goal_id = %s", [goal]
            ).fetchone()
            if (progress, counted) != (amount, tipped):
                failed.append(
                    f"goal {name}: progress {progress} tokens / {counted} tips, lp.tips {amount} / {tipped}"
                )
            if status not in ("queued", "active"):
                failed.append(f"goal {name} is {status}")
        if case.goal == "D":
            escrowed = conn.execute(
                "SELECT count(*) FILTER (WHERE status <> 'escrowed') FROM lp.tips WHERE goal_id = %s",
                [goals["D"]],
            ).fetchone()[0]
            if escrowed:
                failed.append(f"goal D: {escrowed} tips not escrowed")
    after = goal_counts(cluster, goals)
    gained = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    expected = dict.fromkeys(gained, 0)
    expected[case.goal] = transactions
    if {k: v for k, v in gained.items() if v} != {k: v for k, v in expected.items() if v}:
        failed.append(f"tips gained per goal {gained}, expected {transactions} toward {case.goal or 'none'}")
    return failed


def foreign_load(run: Run) -> float:
    """% of the machine busy before the run (the idle-wait's last second), or used during it by processes
    other than the cluster and pgbench (the kernel's own threads included: about 1-3 % in a quiet run)."""
    return max(run.busy_before, run.result.cpu_machine - run.result.cpu_ours)


def measure(
    cluster: Cluster,
    postmaster: int,
    goals: dict[str, str],
    case: Case,
    script: Path,
    args: argparse.Namespace,
) -> tuple[Run, list[str]]:
    """One run of a case from a vacuumed database after a checkpoint and an idle machine, then the checks."""
    activate(cluster, goals[case.goal] if case.goal else None)
    prepare(cluster)
    before = goal_counts(cluster, goals)
    busy = tips.wait_until_quiet(args.quiet_wait)
    if busy >= FOREIGN_LIMIT:
        tips.log(f"the machine is still {busy:.0f}% busy after {args.quiet_wait} s: running anyway")
    server0, processes = cluster_cpu_ms(postmaster)
    client0 = client_cpu_ms()
    result = tips.run_pgbench(
        cluster, script.parent, case=case.name, clients=CLIENTS, duration=args.duration,
        database=tips.BENCH_DB, user=tips.APP_LOGIN, script=script,
    )  # fmt: skip
    server1, _ = cluster_cpu_ms(postmaster, processes)
    client1 = client_cpu_ms()
    run = Run(case.key, result, server1 - server0, client1 - client0, busy)
    return run, check(cluster, goals, case, before, result.transactions)


def describe(run: Run) -> str:
    r = run.result
    per_tip = max(r.transactions, 1)
    return (
        f"{r.tps:.0f} tips/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, "
        f"WAL {r.wal_bytes_per_tx:.0f} B/tip ({r.wal_fpi_per_tx:.2f} FPI), "
        f"server CPU {run.server_cpu_ms / per_tip:.3f} ms/tip, CPU {r.cpu_ours:.0f}% ours / "
        f"{r.cpu_machine:.0f}% machine, idle-wait {run.busy_before:.0f}% busy"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per run (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the four cases (default 3)")
    parser.add_argument(
        "--quiet-wait", type=int, default=60, help="before each run, wait up to this long for an idle machine"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="measure a run again (up to this many times) when other processes used >= 10%% of the machine",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, tips._terminate)
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="livepanty-goals-"))
    workdir = home / "pgbench"
    workdir.mkdir()
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in tips.SERVER_SETTINGS.items()])
    failures: list[str] = []
    discarded = 0
    try:
        tips.log("starting the embedded cluster")
        cluster.start()
        print(f"code measured: {tips.code_revision()}")
        print(
            f"runs: {args.duration} s each, {args.rounds} rounds, {CLIENTS} clients, -M extended, -j 2; "
            f"tips of {PRICE} tokens by {VIEWERS} viewers to performer {tips.HOT_PERFORMER}"
        )
        tips.setup_bench_database(cluster, VIEWERS, PERFORMERS)
        with tips.connect(cluster, tips.BENCH_DB) as conn:
            for statement in events._SETUP:
                conn.execute(
                    statement, {"host": tips.performer_id(tips.HOT_PERFORMER), "stream": events.STREAM_ID}
                )
        events.set_wake_up(cluster, "commit")
        goals, item = setup_goals(cluster)
        tips.log(
            f"menu item {item} ({PRICE} tokens), goal C {goals['C']}, goal D {goals['D']} (refund_if_missed)"
        )

        scripts: dict[str, Path] = {}
        for case in CASES:
            extra = ""
            if case.stream:
                extra += f", p_stream_id => '{events.STREAM_ID}'"
            if case.menu:
                extra += f", p_menu_item_id => '{item}'"
            scripts[case.key] = workdir / f"goals_{case.key}.sql"
            scripts[case.key].write_text(
                _TIP.format(
                    viewers=VIEWERS, host=tips.performer_id(tips.HOT_PERFORMER), amount=PRICE, extra=extra
                )
            )
        postmaster = cluster.status().pid
        runs: dict[str, list[Run]] = {case.key: [] for case in CASES}
        for round_no in range(args.rounds):
            order = CASES if round_no % 2 == 0 else list(reversed(CASES))
            for case in order:
                for attempt in range(args.retries + 1):
                    run, failed = measure(cluster, postmaster, goals, case, scripts[case.key], args)
                    if failed:
                        tips.log("CHECK FAILED: " + "; ".join(failed))
                        failures += [f"round {round_no + 1} {case.key}: {f}" for f in failed]
                    foreign = foreign_load(run)
                    if foreign < FOREIGN_LIMIT or attempt == args.retries:
                        break
                    discarded += 1
                    tips.log(f"  discarded: {foreign:.0f}% of the machine was not ours; again")
                runs[case.key].append(run)
                tips.log(f"round {round_no + 1}, {case.name}: {describe(run)}")

        report(runs, args)
        print(f"runs discarded for foreign load and measured again: {discarded}")
        elapsed = time.monotonic() - started
        print(f"\nconsistency after every run: {'all checks passed' if not failures else 'FAILED'}")
        for failure in failures:
            print(f"  {failure}")
        print(f"total time: {elapsed / 60:.1f} min")
        return 1 if failures else 0
    finally:
        with contextlib.suppress(Exception):
            cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


def report(runs: dict[str, list[Run]], args: argparse.Namespace) -> None:
    medians = {key: statistics.median(r.result.tps for r in rs) for key, rs in runs.items()}
    print(
        f"\n{CLIENTS} clients, every tip ({PRICE} tokens) to performer {tips.HOT_PERFORMER}; medians of "
        f"{args.rounds} rounds of {args.duration} s"
    )
    print(
        "\n| case | tips/s | min..max | x (a) | x (b) | p50 ms | p99 ms | WAL B/tip | FPI/tip "
        "| server CPU ms/tip |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case in CASES:
        rs = runs[case.key]
        tps = [r.result.tps for r in rs]
        print(
            f"| {case.name} | {medians[case.key]:.0f} | {min(tps):.0f}..{max(tps):.0f} "
            f"| {medians[case.key] / medians['a']:.2f} | {medians[case.key] / medians['b']:.2f} "
            f"| {statistics.median(r.result.p50_ms for r in rs):.2f} "
            f"| {statistics.median(r.result.p99_ms for r in rs):.2f} "
            f"| {statistics.median(r.result.wal_bytes_per_tx for r in rs):.0f} "
            f"| {statistics.median(r.result.wal_fpi_per_tx for r in rs):.2f} "
            f"| {statistics.median(r.server_cpu_ms / max(r.result.transactions, 1) for r in rs):.3f} |"
        )
    loaded = [
        f"{r.case} round {n + 1} ({r.busy_before:.0f}% busy before, "
        f"{r.result.cpu_machine - r.result.cpu_ours:.0f}% not ours during; {r.result.tps:.0f} tips/s)"
        for rs in runs.values()
        for n, r in enumerate(rs)
        if foreign_load(r) >= FOREIGN_LIMIT
    ]
    print(
        "\nruns with foreign load (>= 10% of the machine busy over the last second of the idle-wait, or "
        ">= 10% used during the run by processes other than the cluster and pgbench): "
        + (", ".join(loaded) if loaded else "none")
    )


if __name__ == "__main__":
    sys.exit(main())
