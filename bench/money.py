"""Money core v2 benchmark (issue 7): single tips, tip batches and the batcher against TPC-B and pgledger.

Run it from the repository root::

    .venv/bin/python bench/money.py [--duration 15] [--rounds 3] [--clients 4,16] [--quiet-wait 60]
                                    [--flat] [--flat-tips 1000000] [--flat-steady SECONDS]
                                    [--wal-compression lz4] [--keep] [--pgledger-dir DIR]

One fresh embedded cluster (``livepanty_db.local.Cluster``) with the durable server settings of bench/tips.py
for every case (plus a ``log_line_prefix`` that puts the SQLSTATE into the server log, so that every error of
every run is counted, and ``wal_compression``, lz4 as the embedded cluster's own); three databases:

* ``bench``: bench/tips.py's set-up (``tips.setup_bench_database``): the migrations, 10,000 funded viewers and
  100 performers, one session per viewer with the computable token ``bench_token(n)``, the login role
  ``bench_app`` (a member of ``livepanty_app``, not a superuser) that every tip case runs as;
* ``pgbench``: ``pgbench -i -s 10``, the yardstick;
* ``pgledger``: the peer project's published SQL (``../shared/peers/pgledger``: uuid-to-ulid.sql,
  ulid-to-uuid.sql, pgledger.sql, loaded unmodified with psql as its justfile does) and 10,000 accounts of one
  currency made with ``pgledger_create_account``; the bench's own table ``bench_accounts (n, id)`` maps an
  account's number to its id, so that a script can pick two random accounts.

Before the first run ``bench`` gets 10,000 tips (``api.tip_many`` batches of 1000) and ``pgledger`` 10,000
transfers, then fresh statistics: no case runs on the planner statistics of an empty table.

Cases, each run at every client count of ``--clients`` in every round (``--rounds``; the order of the cases
rotates each round), each run from a vacuumed database after a checkpoint, after waiting for the machine to be
idle; ``pgbench -M extended -c N -j min(N, 2) -T duration``:

1. ``tpcb``: pgbench's built-in TPC-B-like script;
2. ``pgledger``: ``pgledger_create_transfer(from, to, amount)`` between two distinct random accounts;
3. ``tip`` (case a): bench/tips.py's transaction: ``api.authenticate(token)`` of a random viewer, then
   ``api.tip`` to a random performer;
4. ``tip_hot`` (case b): the same, every tip to performer 1;
5. ``tip_many_10``, ``tip_many_100``: one ``api.tip_many`` per transaction, 10 / 100 tips of distinct random
   viewers (a random start and stride over the viewers) to random performers, the JSON built by the script's
   own SQL from the computable tokens, keys as the client makes them (``--keys random``: uuid4);
6. ``batcher`` (case c): a Python driver: ``4 x N`` threads each calling ``TipBatcher.tip`` in a loop for a
   random viewer and performer (``TipBatcher``'s defaults: ``max_batch`` 100, ``max_wait`` 0, 2 flushers),
   through a ``livepanty_db.Client`` on a pool of ``bench_app`` connections; latency per tip in Python.

Per case and client count: median tps and tips/s over the rounds (a transaction of ``tpcb`` and
``pgledger`` counts as one "tip"; tips are the rows ``lp.tips`` gained, so a tip refused in-band is not
counted), the min..max spread of tips/s, the median p50/p99 latency (pgbench's per-transaction logs: per
transaction, i.e. per batch for ``tip_many_*``; per tip for ``batcher``), server CPU ms per transaction and
per tip (every process of the cluster, from /proc, as bench/tips.py measures it), WAL bytes per transaction
and per tip (``pg_current_wal_lsn()`` before and after; in the second table the full-page images per tip,
``pg_stat_wal``, and the WAL without them, ``pg_waldump --stats``), and tips/s as a multiple of TPC-B's and
pgledger's tps at the same client count. Errors are counted per case: SQLSTATEs from the server log
(deadlocks 40P01 included), tips refused in-band, client errors the server did not see; and, not counted
again, what the load generator saw of them: pgbench's failed transactions and aborted clients, the batcher's
callers whose tip failed.

``--flat`` (d, flat cost): before the main runs (after the 10,000 tips of the warm-up) run case ``tip`` at
16 clients ``--rounds`` times; after them, load tips with ``api.tip_many`` batches of 1000 until ``lp.tips``
holds ``--flat-tips`` (1,000,000; the main runs may have made more), run case ``tip`` at 16 clients again and
compare server CPU and WAL per tip (target: at most 1.2x). Each of those runs' WAL is read back with
``pg_waldump``, and its full-page images are counted by relation: the table says which relations make the WAL
per tip grow.

At the end: ``SELECT count(*) FROM api.verify_ledger()`` on ``bench`` (must be 0) and bench/tips.py's own
ledger checks, pgledger's balances summing to 0, then the tables in Markdown with the machine and the server
settings. Exit status: 0; 1 when a consistency check fails; 2 when the ledger is sound but a run saw errors.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Params
from psycopg_pool import ConnectionPool

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tips

from livepanty_db import Client, LivepantyError, new_idempotency_key
from livepanty_db.batcher import TipBatcher
from livepanty_db.local import Cluster, pg_bin
from livepanty_db.models import TipOutcome, TipRequest

ROOT = Path(__file__).resolve().parent.parent
PGLEDGER_DIR = ROOT.parent / "shared" / "peers" / "pgledger"
#: Loaded in this order (pgledger.sql's SQL functions call uuid_to_ulid).
PGLEDGER_FILES = ("uuid-to-ulid.sql", "ulid-to-uuid.sql", "pgledger.sql")
PGLEDGER_DB = "pgledger"
PGLEDGER_ACCOUNTS = 10_000
PGLEDGER_CURRENCY = "TOK"

#: Logging only (no effect on durability): the SQLSTATE first, so that the errors of a run can be counted.
LOG_SETTINGS = {"log_line_prefix": "%e %m [%p] %u@%d "}

#: The batcher case: caller threads per client of --clients, flushers, batch limits.
BATCHER_THREADS_PER_CLIENT = 4
BATCHER_MAX_BATCH = 100
BATCHER_MAX_WAIT = 0.0  # TipBatcher's default: a free flusher sends what is queued

FLAT_CLIENTS = 16
#: Tips (bench) and transfers (pgledger) made before the first run, so that no run starts with the planner
#: statistics of empty tables (a plan cached for an empty lp.tips or pgledger_transfers scans it whole).
WARM_UP = 10_000
FLAT_BATCH = 1000
FLAT_LOADERS = 2
FLAT_TARGET = 1.2

# --- pgbench scripts ----------------------------------------------------------------------------------------

_PGLEDGER_SCRIPT = """\
\\set a random(1, {accounts})
\\set d random(1, {accounts} - 1)
\\set b 1 + (:a + :d - 1) % {accounts}
\\set amount random(1, 100)
SELECT * FROM pgledger_create_transfer((SELECT id FROM bench_accounts WHERE n = :a), \
(SELECT id FROM bench_accounts WHERE n = :b), :amount);
"""

# The JSON array of api.tip_many, built by the server: viewers 1 + (v + i * step) mod viewers for i in
# 0..batch-1 (distinct while (batch - 1) * step < viewers), random performers and amounts, random keys.
_TIPS_JSON_SQL = (
    "(SELECT jsonb_agg(jsonb_build_object("
    "'session_token', 'bench-token-' || "
    "lpad((1 + mod({v}::integer + i * {step}::integer, {viewers}))::text, 31, '0'), "
    "'recipient_id', '{performer_prefix}' || "
    "lpad((1 + floor(random() * {performers}))::integer::text, 12, '0'), "
    "'amount', {tip_min} + floor(random() * {tip_span})::integer, "
    "'idempotency_key', {key_sql}) ORDER BY i) "
    "FROM generate_series(0, {batch} - 1) AS i)"
)

_TIP_MANY_SCRIPT = """\
\\set v random(0, {viewers} - 1)
\\set step random(1, {max_step})
SELECT * FROM api.tip_many(p_tips => {tips_json});
"""

# The flat-cost loader: the same array, one summary row back.
_LOAD_SQL = (
    "SELECT count(*) FILTER (WHERE error_code IS NULL), count(*) FILTER (WHERE error_code IS NOT NULL),"
    " string_agg(DISTINCT error_code, ',') FROM api.tip_many(p_tips => {tips_json})"
)


def max_step(batch: int, viewers: int) -> int:
    """The largest stride that keeps ``batch`` viewers of a tip_many array distinct."""
    return max(1, (viewers - 1) // max(batch - 1, 1))


#: How the load makes idempotency keys (--keys): as the client does (time-ordered), or random (uuid4): the
#: SQL expression of the pgbench scripts and the loader, and the batcher's callers' Python function.
KEYS = {
    "time": (tips.TIME_ORDERED_KEY_SQL, new_idempotency_key),
    "random": (tips.RANDOM_KEY_SQL, lambda: str(uuid.uuid4())),
}
_keys = "time"


def tips_json_sql(batch: int, viewers: int, performers: int, v: str, step: str) -> str:
    return _TIPS_JSON_SQL.format(
        key_sql=KEYS[_keys][0],
        v=v,
        step=step,
        viewers=viewers,
        performers=performers,
        performer_prefix=tips.PERFORMER_PREFIX,
        tip_min=tips.TIP_MIN,
        tip_span=tips.TIP_MAX - tips.TIP_MIN + 1,
        batch=batch,
    )


def tip_many_script(batch: int, viewers: int, performers: int) -> str:
    return _TIP_MANY_SCRIPT.format(
        viewers=viewers,
        max_step=max_step(batch, viewers),
        tips_json=tips_json_sql(batch, viewers, performers, ":v", ":step"),
    )


def bench_token(n: int) -> str:
    """The session token of viewer ``n`` (tips.SESSIONS_SQL)."""
    return f"bench-token-{n:031d}"


def one(
    conn: psycopg.Connection[Any], query: str | sql.Composed, params: Params | None = None
) -> tuple[Any, ...]:
    """The one row of ``query``."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {query!r}")
    return row


# --- cases and results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    database: str
    user: str
    #: pgbench script; None: the built-in TPC-B-like script (or the Python driver, for ``batcher``).
    script: Path | None
    #: Tips per transaction as sent (1 for single tips, transfers and TPC-B).
    batch: int = 1
    #: Whether the case writes tips (then tips are counted in lp.tips).
    tips: bool = True
    driver: bool = False


@dataclass
class Run:
    case: str
    clients: int
    round: int
    tps: float
    tips_per_s: float
    transactions: int
    tips: int
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    client_cpu_ms: float
    server_pct: float
    client_pct: float
    machine_pct: float
    wal_bytes: int
    #: Full-page images written (pg_stat_wal.wal_fpi): every run starts after a checkpoint.
    wal_fpi: int
    #: WAL bytes without the full-page images (pg_waldump --stats over the run's WAL); None if unavailable.
    wal_record_bytes: int | None
    #: The machine's busy % over the last second of the idle-wait before the run.
    idle_wait_busy: float
    #: The errors of the run, each counted once: "SQLSTATE xxxxx" (the server log), "refused in-band LPxxx",
    #: tips missing from lp.tips, client errors the server did not see.
    errors: Counter[str] = field(default_factory=Counter)
    #: What the load generator saw of them (not counted again): pgbench's failed transactions and aborted
    #: clients, the batcher's callers whose tip failed with a server error.
    effects: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    note: str = ""
    #: Full-page images by relation (flat-cost runs only: fpi_by_relation).
    fpi_relations: Counter[str] = field(default_factory=Counter)


def _client_seconds() -> float:
    """CPU seconds of this process (the Python driver's threads) and its reaped children (pgbench)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_LOG_ERROR = re.compile(r"^([0-9A-Z]{5}) .*? (ERROR|FATAL|PANIC):  (.*)$", re.MULTILINE)
_WALDUMP_TOTAL = re.compile(r"^Total\s+\d+\s+(\d+) \[[^]]*\]\s+(\d+) \[", re.MULTILINE)


def wal_record_bytes(data_dir: Path, start: str, end: str) -> int | None:
    """WAL bytes from ``start`` to ``end`` without the full-page images (``pg_waldump --stats``), or None
    when pg_waldump cannot read the segments (e.g. another OS user owns them)."""
    result = subprocess.run(
        [str(pg_bin() / "pg_waldump"), "--stats", "-p", str(data_dir / "pg_wal"), "-s", start, "-e", end],
        capture_output=True,
        text=True,
        check=False,
    )
    total = _WALDUMP_TOTAL.search(result.stdout)
    return int(total.group(1)) if total else None


_FPW = re.compile(r"blkref #\d+: rel (\d+)/(\d+)/(\d+)(?: fork (\w+))? blk \d+ FPW")
#: Whether the runs' meters count the full-page images by relation (the flat-cost runs set it).
COUNT_FPI_BY_RELATION = False
#: pgbench's -R (transactions/s, all clients) for the flat-cost runs (--flat-rate); None: as fast as it goes.
PGBENCH_RATE: int | None = None


def fpi_by_relation(conn: psycopg.Connection, data_dir: Path, start: str, end: str) -> Counter[str]:
    """The full-page images of the WAL from ``start`` to ``end`` by the relation they are of (``pg_waldump``
    over the range; each ``blkref ... FPW`` counted once), named in the database of ``conn`` (others by their
    database oid and file node). Empty when pg_waldump cannot read the segments."""
    result = subprocess.run(
        [str(pg_bin() / "pg_waldump"), "-p", str(data_dir / "pg_wal"), "-s", start, "-e", end],
        capture_output=True,
        text=True,
        check=False,
    )
    by_node: Counter[tuple[int, int, str]] = Counter()
    for match in _FPW.finditer(result.stdout):
        by_node[(int(match.group(2)), int(match.group(3)), match.group(4) or "main")] += 1
    own = int(one(conn, "SELECT oid FROM pg_database WHERE datname = current_database()")[0])
    named: Counter[str] = Counter()
    for (database, node, fork), count in by_node.items():
        name = None
        if database in (own, 0):
            name = one(conn, "SELECT pg_filenode_relation(0, %s)::text", [node])[0]
        label = name or f"db {database} node {node}"
        named[label if fork == "main" else f"{label} ({fork})"] += count
    return named


class Meter:
    """What one run cost: CPU of the cluster's processes (/proc, as bench/tips.py measures it), of the load
    generator (this process and pgbench) and of the whole machine; WAL (``pg_current_wal_lsn()``); and the
    errors the server logged meanwhile, by SQLSTATE."""

    def __init__(self, cluster: Cluster) -> None:
        status = cluster.status()
        if status.pid is None or cluster.cluster_dir is None:
            raise RuntimeError("the cluster is not running")
        self.postmaster = status.pid
        self.cluster = cluster
        self.data_dir = cluster.data_dir
        self.log_path = str(cluster.cluster_dir / "server.log")
        self.conn = tips.connect(cluster, "postgres")
        self.errors: Counter[str] = Counter()
        self.samples: dict[str, str] = {}

    def _log_size(self) -> int:
        return int(one(self.conn, "SELECT size FROM pg_stat_file(%s)", [self.log_path])[0])

    def __enter__(self) -> Meter:
        self.log_offset = self._log_size()
        self.lsn, self.fpi = one(self.conn, "SELECT pg_current_wal_lsn()::text, wal_fpi FROM pg_stat_wal")
        self.server, self.processes = tips._stable_cluster_jiffies(self.postmaster)
        self.machine = tips._machine_jiffies()
        self.client = _client_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        machine = tips._machine_jiffies()
        client = _client_seconds()
        own = one(self.conn, "SELECT pg_backend_pid()")[0]
        # Once the load generator's backends have exited and been reaped, their CPU is in the postmaster's
        # cutime/cstime (tips._stable_cluster_jiffies).
        server, _ = tips._stable_cluster_jiffies(self.postmaster, self.processes | {own})
        end, wal_bytes = one(
            self.conn,
            "SELECT pg_current_wal_lsn()::text, pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)",
            [self.lsn],
        )
        self.wal_bytes = int(wal_bytes)
        self.wal_record_bytes = (
            None if self.data_dir is None else wal_record_bytes(self.data_dir, self.lsn, end)
        )
        self.wal_fpi = int(one(self.conn, "SELECT wal_fpi FROM pg_stat_wal")[0]) - int(self.fpi)
        self.fpi_relations: Counter[str] = Counter()
        if COUNT_FPI_BY_RELATION and self.data_dir is not None:
            with tips.connect(self.cluster, tips.BENCH_DB) as bench:
                self.fpi_relations = fpi_by_relation(bench, self.data_dir, self.lsn, end)
        size = self._log_size()
        if size > self.log_offset:
            chunk = one(
                self.conn,
                "SELECT pg_read_binary_file(%s, %s, %s)",
                [self.log_path, self.log_offset, size - self.log_offset],
            )[0]
            for match in _LOG_ERROR.finditer(bytes(chunk).decode("utf-8", "replace")):
                self.errors[f"SQLSTATE {match.group(1)}"] += 1
                self.samples.setdefault(f"SQLSTATE {match.group(1)}", match.group(3)[:160])
        self.conn.close()
        hz = os.sysconf("SC_CLK_TCK")
        elapsed = max(machine[1] - self.machine[1], 1)  # jiffies of all cores
        self.server_cpu_ms = (server - self.server) * 1000 / hz
        self.client_cpu_ms = (client - self.client) * 1000
        self.server_pct = 100 * (server - self.server) / elapsed
        self.client_pct = 100 * (client - self.client) * hz / elapsed
        self.machine_pct = 100 * (machine[0] - self.machine[0]) / elapsed


def count_tips(cluster: Cluster) -> int:
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        return int(one(conn, "SELECT count(*) FROM lp.tips")[0])


def app_url(cluster: Cluster, database: str = tips.BENCH_DB) -> str:
    """The load generator's login (a member of livepanty_app) on ``database``."""
    return f"postgresql://{tips.APP_LOGIN}@127.0.0.1:{cluster.port}/{database}"


def prepare_run(cluster: Cluster, database: str) -> None:
    if database == PGLEDGER_DB:
        with tips.connect(cluster, database) as conn:
            conn.execute("VACUUM ANALYZE pgledger_accounts, pgledger_transfers, pgledger_entries")
            conn.execute("CHECKPOINT")
    else:
        tips.prepare_run(cluster, database)


# --- one run: pgbench ---------------------------------------------------------------------------------------


@dataclass
class PgbenchOutcome:
    tps: float
    transactions: int
    latencies_us: list[int]
    failures: Counter[str]
    samples: dict[str, str]


def run_pgbench(
    cluster: Cluster, workdir: Path, case: Case, clients: int, duration: int
) -> tuple[PgbenchOutcome, Meter]:
    """pgbench as bench/tips.py runs it, except that failed transactions and aborted clients are counted,
    not fatal (only a run that produced no result raises)."""
    prefix = workdir / re.sub(r"[^A-Za-z0-9]+", "_", f"{case.name}_{clients}")
    argv = [
        str(pg_bin() / "pgbench"),
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-U",
        case.user,
        "-M",
        "extended",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-T",
        str(duration),
        "--failures-detailed",
        "--log",
        f"--log-prefix={prefix}",
        "-n",
    ]
    if PGBENCH_RATE:
        argv += ["-R", str(PGBENCH_RATE)]
    argv += ["-b", "tpcb-like"] if case.script is None else ["-f", str(case.script)]
    argv.append(case.database)
    with Meter(cluster) as meter:
        result = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, check=False)
    output = result.stdout + result.stderr
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", output, re.MULTILINE)
    processed = re.search(r"^number of transactions actually processed: (\d+)", output, re.MULTILINE)
    if tps is None or processed is None:
        raise RuntimeError(f"pgbench gave no result for {case.name} at {clients} clients:\n{output}")
    failures: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for kind in ("serialization", "deadlock"):
        found = re.search(rf"^number of {kind} failures: (\d+)", output, re.MULTILINE)
        if found and int(found.group(1)):
            failures[f"pgbench: {kind} failures"] = int(found.group(1))
    aborted = re.findall(r"client \d+ (?:script \d+ )?aborted[^\n]*", output)
    if aborted:
        failures["pgbench: aborted clients"] = len(aborted)
        samples["pgbench: aborted clients"] = aborted[0][:200]
    if result.returncode != 0 and not aborted:
        failures[f"pgbench: exit status {result.returncode}"] += 1
        samples[f"pgbench: exit status {result.returncode}"] = output.strip().splitlines()[-1][:200]
    latencies = sorted(tips._latencies_us(prefix))
    return PgbenchOutcome(float(tps.group(1)), int(processed.group(1)), latencies, failures, samples), meter


# --- one run: the batcher driver ----------------------------------------------------------------------------


class CountingClient(Client):
    """A Client that counts its api.tip_many calls (the batcher's transactions)."""

    def __init__(self, source: ConnectionPool) -> None:
        super().__init__(source)
        self.batches = 0
        self._calls = threading.Lock()

    def tip_many(self, requests: Sequence[TipRequest]) -> list[TipOutcome]:
        with self._calls:
            self.batches += 1
        return super().tip_many(requests)


def batcher_flushers(clients: int) -> int:
    return 2  # TipBatcher's default (docs/benchmarks.md, "The batcher's defaults": 4 did worse at 16 clients)


def classify(exc: Exception) -> tuple[bool, str]:
    """(counted, label) of an exception a batcher caller got: a server error is in the server log already
    (counted there; here an effect: how many tips it failed), anything else is counted here."""
    if isinstance(exc, LivepantyError) and exc.in_band:
        return True, f"refused in-band {exc.sqlstate}"
    cause = exc.__cause__
    if isinstance(cause, psycopg.Error) and cause.diag.sqlstate:
        return False, f"batcher: tips failed with {cause.diag.sqlstate}"
    return True, f"client error {type(exc).__name__} {getattr(exc, 'sqlstate', None) or ''}".strip()


def _tip_loop(
    batcher: TipBatcher,
    stop: threading.Event,
    viewers: int,
    performers: int,
    latencies: list[float],
    errors: Counter[tuple[bool, str]],
) -> None:
    rng = random.Random()  # noqa: S311 (load generation)
    while not stop.is_set():
        viewer, performer = rng.randint(1, viewers), rng.randint(1, performers)
        amount = rng.randint(tips.TIP_MIN, tips.TIP_MAX)
        started = time.perf_counter()
        try:
            batcher.tip(
                bench_token(viewer),
                tips.performer_id(performer),
                amount,
                idempotency_key=KEYS[_keys][1](),
            )
        except Exception as exc:  # counted, never ignored: a refusal, a deadlock, a lost connection ...
            errors[classify(exc)] += 1
        else:
            latencies.append(time.perf_counter() - started)


@dataclass
class DriverOutcome:
    seconds: float
    tips: int
    batches: int
    latencies_us: list[int]
    errors: Counter[str]
    effects: Counter[str]


def run_batcher(
    cluster: Cluster, clients: int, duration: int, viewers: int, performers: int
) -> tuple[DriverOutcome, Meter]:
    threads_n, flushers = BATCHER_THREADS_PER_CLIENT * clients, batcher_flushers(clients)
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(threads_n)]
    errors: list[Counter[tuple[bool, str]]] = [Counter() for _ in range(threads_n)]
    with Meter(cluster) as meter:
        pool = ConnectionPool(
            app_url(cluster),
            min_size=flushers,
            max_size=flushers + 1,  # + 1 for a tip api.tip_many hands back (LP114): none expected here
            kwargs={"autocommit": True, "prepare_threshold": None},
            open=True,
            name="bench-batcher",
        )
        try:
            pool.wait()
            client = CountingClient(pool)
            batcher = TipBatcher(
                client, max_batch=BATCHER_MAX_BATCH, max_wait=BATCHER_MAX_WAIT, flushers=flushers
            )
            workers = [
                threading.Thread(
                    target=_tip_loop,
                    args=(batcher, stop, viewers, performers, latencies[i], errors[i]),
                    daemon=True,
                )
                for i in range(threads_n)
            ]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            time.sleep(duration)
            stop.set()
            for worker in workers:
                worker.join()
            seconds = time.perf_counter() - started
            batcher.close()
        finally:
            pool.close()
    merged = sorted(int(x * 1e6) for part in latencies for x in part)
    counted: Counter[str] = Counter()
    effects: Counter[str] = Counter()
    for part in errors:
        for (is_counted, label), n in part.items():
            (counted if is_counted else effects)[label] += n
    return DriverOutcome(seconds, len(merged), client.batches, merged, counted, effects), meter


# --- set-up -------------------------------------------------------------------------------------------------


def setup_pgledger_database(cluster: Cluster, source: Path, accounts: int) -> None:
    with tips.connect(cluster, "postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PGLEDGER_DB)))
    for name in PGLEDGER_FILES:
        subprocess.run(
            [
                str(pg_bin() / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                str(source / name),
                cluster.url(PGLEDGER_DB),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    with tips.connect(cluster, PGLEDGER_DB) as conn:
        conn.execute("CREATE TABLE bench_accounts (n integer PRIMARY KEY, id text NOT NULL UNIQUE)")
        conn.execute(
            "INSERT INTO bench_accounts (n, id) SELECT n, a.id FROM generate_series(1, %s) AS n,"
            " LATERAL pgledger_create_account('bench ' || n, %s) AS a",
            [accounts, PGLEDGER_CURRENCY],
        )
        # The warm-up: transfers between random accounts (the script's pairs), then fresh statistics.
        conn.execute(
            "SELECT count(*) FROM (SELECT 1 + floor(random() * %(n)s)::integer AS a,"
            " 1 + floor(random() * (%(n)s - 1))::integer AS d FROM generate_series(1, %(warm)s)) AS r,"
            " LATERAL pgledger_create_transfer((SELECT id FROM bench_accounts WHERE n = r.a),"
            " (SELECT id FROM bench_accounts WHERE n = 1 + (r.a + r.d - 1) %% %(n)s),"
            " 1 + floor(random() * 100)::integer)",
            {"n": accounts, "warm": WARM_UP},
        )
        conn.execute("VACUUM ANALYZE")


def load_tips(cluster: Cluster, target: int, viewers: int, performers: int) -> Counter[str]:
    """api.tip_many batches of FLAT_BATCH from FLAT_LOADERS connections until lp.tips holds ``target`` tips;
    returns the errors (SQLSTATE or refused code -> count)."""
    have = count_tips(cluster)
    if have >= target:
        tips.log(f"lp.tips holds {have:,} tips already (target {target:,}): nothing to load")
        return Counter()
    query = _LOAD_SQL.format(tips_json=tips_json_sql(FLAT_BATCH, viewers, performers, "%(v)s", "%(step)s"))
    lock = threading.Lock()
    state = {"loaded": 0, "next_report": 100_000}
    errors: Counter[str] = Counter()
    needed = target - have
    started = time.monotonic()

    def loader() -> None:
        rng = random.Random()  # noqa: S311 (load generation)
        with psycopg.connect(app_url(cluster), autocommit=True, prepare_threshold=None) as conn:
            while True:
                with lock:
                    if state["loaded"] >= needed:
                        return
                params = {"v": rng.randrange(viewers), "step": rng.randint(1, max_step(FLAT_BATCH, viewers))}
                try:
                    accepted, refused, codes = one(conn, query, params)
                except psycopg.Error as exc:
                    with lock:
                        errors[f"SQLSTATE {exc.sqlstate}" if exc.sqlstate else type(exc).__name__] += 1
                    continue
                with lock:
                    state["loaded"] += accepted
                    if refused:
                        errors[f"refused in-band {codes}"] += refused
                    if state["loaded"] >= state["next_report"]:
                        state["next_report"] += 100_000
                        rate = state["loaded"] / (time.monotonic() - started)
                        tips.log(f"  loaded {state['loaded']:,} of {needed:,} tips ({rate:.0f} tips/s)")

    tips.log(
        f"loading {needed:,} tips with api.tip_many batches of {FLAT_BATCH} ({FLAT_LOADERS} connections)"
    )
    workers = [threading.Thread(target=loader, daemon=True) for _ in range(FLAT_LOADERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    tips.log(
        f"loaded {state['loaded']:,} tips in {elapsed:.0f} s ({state['loaded'] / elapsed:.0f} tips/s); "
        f"lp.tips now holds {count_tips(cluster):,}; errors: {format_errors(errors)}"
    )
    return errors


# --- running the cases --------------------------------------------------------------------------------------


def run_case(
    cluster: Cluster,
    workdir: Path,
    case: Case,
    clients: int,
    round_: int,
    args: argparse.Namespace,
) -> Run:
    prepare_run(cluster, case.database)
    busy = tips.wait_until_quiet(args.quiet_wait)
    if busy >= 10:
        tips.log(
            f"the machine is still {busy:.0f}% busy after {args.quiet_wait} s of idle-wait: running anyway"
        )
    before = count_tips(cluster) if case.tips else 0
    errors: Counter[str] = Counter()
    effects: Counter[str] = Counter()
    samples: dict[str, str] = {}
    note = ""
    if case.driver:
        driver, meter = run_batcher(cluster, clients, args.duration, args.viewers, args.performers)
        transactions, tps = driver.batches, driver.batches / driver.seconds
        latencies, sent = driver.latencies_us, driver.tips  # every tip() that returned
        errors.update(driver.errors)
        effects.update(driver.effects)
        note = f"{BATCHER_THREADS_PER_CLIENT * clients} threads, {batcher_flushers(clients)} flushers"
    else:
        outcome, meter = run_pgbench(cluster, workdir, case, clients, args.duration)
        transactions, tps, latencies = outcome.transactions, outcome.tps, outcome.latencies_us
        sent = transactions * case.batch  # every committed transaction sent case.batch tips
        effects.update(outcome.failures)
        samples.update(outcome.samples)
    errors.update(meter.errors)
    samples.update(meter.samples)
    if case.tips:
        accepted = count_tips(cluster) - before
        if accepted != sent:
            errors["tips sent but not in lp.tips (refused in-band or lost)"] += sent - accepted
    else:
        accepted = transactions
    tips_per_s = tps * accepted / max(transactions, 1)
    return Run(
        case=case.name,
        clients=clients,
        round=round_,
        tps=tps,
        tips_per_s=tips_per_s,
        transactions=transactions,
        tips=accepted,
        p50_ms=tips._percentile(latencies, 0.50) / 1000,
        p99_ms=tips._percentile(latencies, 0.99) / 1000,
        server_cpu_ms=meter.server_cpu_ms,
        client_cpu_ms=meter.client_cpu_ms,
        server_pct=meter.server_pct,
        client_pct=meter.client_pct,
        machine_pct=meter.machine_pct,
        wal_bytes=meter.wal_bytes,
        wal_fpi=meter.wal_fpi,
        wal_record_bytes=meter.wal_record_bytes,
        idle_wait_busy=busy,
        errors=errors,
        effects=effects,
        samples=samples,
        note=note,
        fpi_relations=meter.fpi_relations,
    )


def describe(run: Run) -> str:
    per_tip = max(run.tips, 1)
    records = "n/a" if run.wal_record_bytes is None else f"{run.wal_record_bytes / per_tip:.0f}"
    text = (
        f"{run.tps:.0f} tps, {run.tips_per_s:.0f} tips/s, p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms, "
        f"server CPU {run.server_cpu_ms / per_tip:.3f} ms/tip, WAL {run.wal_bytes / per_tip:.0f} B/tip "
        f"({run.wal_fpi / per_tip:.2f} full-page images/tip, {records} B/tip without), "
        f"CPU % server {run.server_pct:.0f} / client {run.client_pct:.0f} / machine {run.machine_pct:.0f}, "
        f"idle-wait {run.idle_wait_busy:.0f}% busy"
    )
    if run.note:
        text += f" [{run.note}]"
    if run.errors or run.effects:
        text += f"; ERRORS: {format_errors(run.errors)} (load generator: {format_errors(run.effects)})"
    return text


def format_errors(errors: Counter[str]) -> str:
    return "; ".join(f"{code}: {count:,}" for code, count in sorted(errors.items())) or "none"


# --- reporting ----------------------------------------------------------------------------------------------


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """A Markdown table; ``align`` has one letter per column, ``l`` (left) or ``r`` (right)."""
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, marks, *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


@dataclass
class Summary:
    runs: list[Run]

    def median(self, value: str) -> float:
        return statistics.median(getattr(r, value) for r in self.runs)

    def per(self, total: str, count: str) -> float:
        """Median over the runs of total / count (e.g. server CPU ms per tip); NaN when a total is unknown."""
        values = [(getattr(r, total), max(getattr(r, count), 1)) for r in self.runs]
        if any(t is None for t, _ in values):
            return float("nan")
        return statistics.median(t / n for t, n in values)

    @property
    def errors(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for run in self.runs:
            found.update(run.errors)
        return found

    @property
    def effects(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for run in self.runs:
            found.update(run.effects)
        return found


def summarize(runs: list[Run]) -> dict[tuple[str, int], Summary]:
    grouped: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        grouped.setdefault((run.case, run.clients), []).append(run)
    return {key: Summary(value) for key, value in grouped.items()}


def report(runs: list[Run], cases: list[Case], clients: list[int]) -> None:
    summaries = summarize(runs)
    rows, conditions = [], []
    for n in clients:
        tpcb = summaries[("tpcb", n)].median("tps")
        ledger = summaries[("pgledger", n)].median("tps")
        for case in cases:
            s = summaries[(case.name, n)]
            tips_s = [r.tips_per_s for r in s.runs]
            errors = s.errors
            rows.append(
                [
                    case.name,
                    str(n),
                    f"{s.median('tps'):.0f}",
                    f"{s.median('tips_per_s'):.0f}",
                    f"{min(tips_s):.0f}..{max(tips_s):.0f}",
                    f"{s.median('p50_ms'):.2f}",
                    f"{s.median('p99_ms'):.2f}",
                    f"{s.per('server_cpu_ms', 'transactions'):.3f}",
                    f"{s.per('server_cpu_ms', 'tips'):.3f}",
                    f"{s.per('wal_bytes', 'transactions'):.0f}",
                    f"{s.per('wal_bytes', 'tips'):.0f}",
                    f"{s.median('tips_per_s') / tpcb:.2f}",
                    f"{s.median('tips_per_s') / ledger:.2f}",
                    str(sum(errors.values())),
                ]
            )
            conditions.append(
                [
                    case.name,
                    str(n),
                    f"{s.per('client_cpu_ms', 'tips'):.3f}",
                    f"{s.per('wal_fpi', 'tips'):.2f}",
                    f"{s.per('wal_record_bytes', 'tips'):.0f}",
                    " / ".join(f"{s.median(x):.0f}" for x in ("server_pct", "client_pct", "machine_pct")),
                    f"{max(r.idle_wait_busy for r in s.runs):.0f}",
                    ", ".join(
                        [
                            *sorted({r.note for r in s.runs if r.note}),
                            f"{s.per('tips', 'transactions'):.1f} tips/tx",
                        ]
                    ),
                    format_errors(errors + s.effects) if errors or s.effects else "",
                ]
            )
    print(
        markdown(
            [
                "case",
                "clients",
                "tps",
                "tips/s",
                "tips/s min..max",
                "p50 ms",
                "p99 ms",
                "server CPU ms/tx",
                "ms/tip",
                "WAL B/tx",
                "B/tip",
                "x TPC-B",
                "x pgledger",
                "errors",
            ],
            rows,
            "l" + "r" * 13,
        )
    )
    print(
        "\ntps: transactions/s (tip_many_*: calls; batcher: api.tip_many calls); tips/s: rows lp.tips gained "
        "(tpcb, pgledger: one transaction = one tip); medians over the rounds; p50/p99 per transaction "
        "(batcher: per tip, in Python); x TPC-B / x pgledger: tips/s over their tps at the same clients.\n"
    )
    print(
        markdown(
            [
                "case",
                "clients",
                "client CPU ms/tip",
                "full-page images/tip",
                "WAL B/tip without them",
                "CPU % server / client / machine",
                "idle-wait busy % (max)",
                "tips/tx (batcher: set-up)",
                "errors (all rounds)",
            ],
            conditions,
            "lrrrrrrll",
        )
    )
    samples: dict[str, str] = {}
    for run in runs:
        for code, text in run.samples.items():
            samples.setdefault(code, f"{run.case} at {run.clients}: {text}")
    if samples:
        print("\nfirst message of each error:")
        for code, text in sorted(samples.items()):
            print(f"  {code}: {text}")


def flat_runs(
    cluster: Cluster, workdir: Path, case: Case, args: argparse.Namespace, label: str
) -> tuple[int, list[Run]]:
    global COUNT_FPI_BY_RELATION, PGBENCH_RATE
    held = count_tips(cluster)
    runs = []
    COUNT_FPI_BY_RELATION = True
    PGBENCH_RATE = args.flat_rate or None
    duration = args.duration
    if args.flat_steady:
        # Steady state: runs long enough for three checkpoint cycles, so that a page's full-page image is
        # paid once per cycle, as in production, not once per short run.
        set_checkpoint_timeout(cluster, f"{args.flat_steady // 3}s")
        args.duration = args.flat_steady
    try:
        for round_ in range(args.rounds):
            run = run_case(cluster, workdir, case, FLAT_CLIENTS, round_, args)
            tips.log(f"flat cost, {label} ({held:,} tips held), run {round_ + 1}: {describe(run)}")
            runs.append(run)
    finally:
        COUNT_FPI_BY_RELATION = False
        PGBENCH_RATE = None
        if args.flat_steady:
            args.duration = duration
            set_checkpoint_timeout(cluster, None)
    return held, runs


def set_checkpoint_timeout(cluster: Cluster, value: str | None) -> None:
    """``checkpoint_timeout`` for the next runs (ALTER SYSTEM and a reload); None: the server's setting."""
    with tips.connect(cluster, "postgres") as conn:
        if value is None:
            conn.execute("ALTER SYSTEM RESET checkpoint_timeout")
        else:
            conn.execute(sql.SQL("ALTER SYSTEM SET checkpoint_timeout = {}").format(sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")


def flat_report(
    start: tuple[int, list[Run]], end: tuple[int, list[Run]], steady: int = 0, rate: int = 0
) -> bool:
    before, after = Summary(start[1]), Summary(end[1])
    figures = [
        ("tips/s", "{:.0f}", lambda s: s.median("tips_per_s")),
        ("p99 ms", "{:.2f}", lambda s: s.median("p99_ms")),
        ("server CPU ms/tip", "{:.3f}", lambda s: s.per("server_cpu_ms", "tips")),
        ("WAL B/tip", "{:.0f}", lambda s: s.per("wal_bytes", "tips")),
        ("full-page images/tip", "{:.2f}", lambda s: s.per("wal_fpi", "tips")),
        ("WAL B/tip without them", "{:.0f}", lambda s: s.per("wal_record_bytes", "tips")),
    ]
    rows = [
        [
            label,
            f"{held:,}",
            *(fmt.format(get(summary)) for _, fmt, get in figures),
            str(sum(summary.errors.values())),
        ]
        for label, held, summary in (("start", start[0], before), ("after the load", end[0], after))
    ]
    ratios = {name: get(after) / get(before) if get(before) else float("nan") for name, _, get in figures}
    rows.append(["ratio", f"{end[0] / max(start[0], 1):.0f}x", *(f"{r:.2f}" for r in ratios.values()), ""])
    how = f"runs of {steady} s, a checkpoint every {steady // 3} s" if steady else "runs after a checkpoint"
    if rate:
        how += f", at a fixed {rate} tips/s (pgbench -R)"
    print(
        f"\n(d) flat cost: case tip at {FLAT_CLIENTS} clients, {how}, medians of {len(start[1])} runs each\n"
    )
    print(markdown(["", "tips in lp.tips", *(name for name, _, _ in figures), "errors"], rows, "lrrrrrrrr"))
    cpu, wal = ratios["server CPU ms/tip"], ratios["WAL B/tip"]
    met = cpu <= FLAT_TARGET and wal <= FLAT_TARGET
    print(
        f"\ntarget: CPU/tip and WAL/tip at most {FLAT_TARGET}x: CPU {cpu:.2f}x, WAL {wal:.2f}x: "
        f"{'MET' if met else 'NOT MET'}. After each checkpoint, the first change of a page writes its "
        "full-page image (more distinct pages in bigger random-key indexes); without them: "
        f"{ratios['WAL B/tip without them']:.2f}x."
    )
    fpi_profile(start, end)
    return met


def fpi_profile(start: tuple[int, list[Run]], end: tuple[int, list[Run]], top: int = 12) -> None:
    """Which relations the full-page images are of, per tip (all runs of each side summed): what makes the
    WAL per tip grow with the tables."""
    sides = []
    for _held, runs in (start, end):
        counts: Counter[str] = Counter()
        for run in runs:
            counts.update(run.fpi_relations)
        sides.append((counts, max(sum(run.tips for run in runs), 1)))
    if not any(counts for counts, _ in sides):
        print("\n(no full-page image profile: pg_waldump could not read the WAL)")
        return
    names = [name for name, _ in (sides[0][0] + sides[1][0]).most_common(top)]
    rows = [[name, *(f"{counts[name] / n:.3f}" for counts, n in sides)] for name in names]
    totals = [f"{sum(counts.values()) / n:.3f}" for counts, n in sides]
    rows.append(["all relations", *totals])
    print(f"\nfull-page images per tip by relation (pg_waldump of each run's WAL), the {top} largest:\n")
    print(markdown(["relation", "start", "after the load"], rows, "lrr"))


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per run (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every case (default 3)")
    parser.add_argument("--clients", default="4,16", help="client counts, comma-separated (default 4,16)")
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=60,
        help="before each run, wait up to this many seconds for the machine to be idle (default 60)",
    )
    parser.add_argument(
        "--flat",
        action="store_true",
        help="(d) flat cost: CPU and WAL per tip at ~10,000 and --flat-tips tips",
    )
    parser.add_argument(
        "--flat-tips", type=int, default=1_000_000, help="tips in lp.tips for --flat (default 1,000,000)"
    )
    parser.add_argument(
        "--flat-steady",
        type=int,
        default=0,
        metavar="SECONDS",
        help="with --flat: runs of SECONDS (at least 90) with a checkpoint every SECONDS/3 (default 0: runs "
        "of --duration right after a checkpoint)",
    )
    parser.add_argument(
        "--flat-rate",
        type=int,
        default=0,
        metavar="TPS",
        help="with --flat: both sides at this fixed rate of tips/s (pgbench -R), so that a checkpoint cycle "
        "sees as many tips on each side whatever else slows the machine (default 0: as fast as it goes)",
    )
    parser.add_argument(
        "--wal-compression",
        choices=("off", "pglz", "lz4", "zstd"),
        default="lz4",
        help="the server's wal_compression for every case (default lz4, the embedded cluster's setting)",
    )
    parser.add_argument(
        "--pgledger-dir", type=Path, default=PGLEDGER_DIR, help=f"pgledger's SQL (default {PGLEDGER_DIR})"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the cluster running and its files in place"
    )
    parser.add_argument(
        "--keys",
        choices=tuple(KEYS),
        default="time",
        help="idempotency keys: time (default: as livepanty_db.new_idempotency_key() makes them) or random",
    )
    parser.add_argument("--viewers", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument("--performers", type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global _keys  # one setting for the whole run, read by the scripts, the loader and the batcher
    _keys = args.keys
    args.clients = sorted({int(c) for c in args.clients.split(",")})
    if args.flat_steady and args.flat_steady < 90:
        parser.error("--flat-steady needs at least 90 seconds (checkpoint_timeout is at least 30 s)")
    if args.rounds < 1 or args.duration < 1 or min(args.clients) < 1:
        parser.error("need at least one round, one second and one client")
    if args.viewers < 100 or args.performers < tips.HOT_PERFORMER:
        parser.error("need at least 100 viewers (distinct senders of a tip_many_100 batch) and one performer")
    missing = [name for name in PGLEDGER_FILES if not (args.pgledger_dir / name).is_file()]
    if missing:
        parser.error(f"pgledger's SQL not found in {args.pgledger_dir}: {', '.join(missing)}")
    return args


def machine_description() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return f"{platform.node()}: {os.cpu_count()} CPUs ({model}){memory}, Linux {platform.release()}"


def make_cases(workdir: Path, args: argparse.Namespace) -> list[Case]:
    scripts = {
        "pgledger": _PGLEDGER_SCRIPT.format(accounts=PGLEDGER_ACCOUNTS),
        "tip": tips.tip_script(args.viewers, f"random(1, {args.performers})", KEYS[_keys][0]),
        "tip_hot": tips.tip_script(args.viewers, str(tips.HOT_PERFORMER), KEYS[_keys][0]),
        "tip_many_10": tip_many_script(10, args.viewers, args.performers),
        "tip_many_100": tip_many_script(100, args.viewers, args.performers),
    }
    paths = {}
    for name, text in scripts.items():
        paths[name] = workdir / f"{name}.sql"
        paths[name].write_text(text)
    app = tips.APP_LOGIN
    return [
        Case("tpcb", tips.PGBENCH_DB, "postgres", None, tips=False),
        Case("pgledger", PGLEDGER_DB, "postgres", paths["pgledger"], tips=False),
        Case("tip", tips.BENCH_DB, app, paths["tip"]),
        Case("tip_hot", tips.BENCH_DB, app, paths["tip_hot"]),
        Case("tip_many_10", tips.BENCH_DB, app, paths["tip_many_10"], batch=10),
        Case("tip_many_100", tips.BENCH_DB, app, paths["tip_many_100"], batch=100),
        Case("batcher", tips.BENCH_DB, app, None, driver=True),
    ]


def settings_line(cluster: Cluster) -> str:
    with tips.connect(cluster, "postgres") as conn:
        shown = {
            name: one(conn, sql.SQL("SHOW {}").format(sql.Identifier(name)))[0]
            for name in (*tips.SERVER_SETTINGS, *LOG_SETTINGS, "wal_compression")
        }
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def check_consistency(cluster: Cluster) -> tuple[int, list[list[object]], list[list[object]]]:
    """(api.verify_ledger() rows, bench/tips.py's checks of bench, pgledger's checks)."""
    with tips.connect(cluster, tips.BENCH_DB) as conn:
        violations = int(one(conn, "SELECT count(*) FROM api.verify_ledger()")[0])
    checks = tips.check_database(cluster, tips.BENCH_DB)
    with tips.connect(cluster, PGLEDGER_DB) as conn:
        total, transfers, unpaired = one(
            conn,
            "SELECT (SELECT coalesce(sum(balance), 0) FROM pgledger_accounts),"
            " (SELECT count(*) FROM pgledger_transfers),"
            " (SELECT count(*) FROM (SELECT transfer_id FROM pgledger_entries GROUP BY transfer_id"
            "   HAVING count(*) <> 2 OR sum(amount) <> 0) AS x)",
        )
    ledger = [
        [PGLEDGER_DB, "transfers", transfers],
        [PGLEDGER_DB, "sum of every balance (must be 0)", total],
        [PGLEDGER_DB, "transfers without 2 entries summing to 0", unpaired],
    ]
    return violations, checks, ledger


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, tips._terminate)
    home = Path(tempfile.mkdtemp(prefix="livepanty-bench-money-"))
    workdir = home / "pgbench"
    workdir.mkdir()
    options = {**tips.SERVER_SETTINGS, **LOG_SETTINGS, "wal_compression": args.wal_compression}
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in options.items()])
    started = time.monotonic()
    try:
        tips.log("starting the embedded cluster")
        cluster.start()
        with tips.connect(cluster, "postgres") as conn:
            version = one(conn, "SHOW server_version")[0]
        when = f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
        header = [
            f"PostgreSQL {version}; {machine_description()}; {when}",
            f"code measured: {tips.code_revision()}",
            f"server settings (every case): {settings_line(cluster)}",
            f"runs: {args.duration} s each, {args.rounds} rounds (case order rotated), clients "
            f"{','.join(map(str, args.clients))}, pgbench -M extended -j min(clients, 2); "
            f"tips of {tips.TIP_MIN}..{tips.TIP_MAX} tokens by {args.viewers} viewers to {args.performers} "
            f"performers; pgledger: {PGLEDGER_ACCOUNTS} accounts ({args.pgledger_dir})",
        ]
        print("\n".join(header))
        print(f"load average before set-up: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        tips.setup_bench_database(cluster, args.viewers, args.performers)
        tips.setup_pgbench_database(cluster)
        tips.log(f"pgbench -i -s {tips.SCALE} done")
        setup_pgledger_database(cluster, args.pgledger_dir, PGLEDGER_ACCOUNTS)
        tips.log(f"pgledger loaded: {PGLEDGER_ACCOUNTS} accounts in {PGLEDGER_CURRENCY}, {WARM_UP} transfers")
        cases = make_cases(workdir, args)
        tip_case = cases[2]

        load_errors = load_tips(cluster, WARM_UP, args.viewers, args.performers)
        flat_start = flat_end = None
        if args.flat:
            flat_start = flat_runs(cluster, workdir, tip_case, args, "start")

        runs: list[Run] = []
        for round_ in range(args.rounds):
            order = cases[round_ % len(cases) :] + cases[: round_ % len(cases)]
            for clients in args.clients:
                for case in order:
                    tips.log(f"round {round_ + 1}/{args.rounds}, {case.name}, {clients} clients")
                    run = run_case(cluster, workdir, case, clients, round_, args)
                    tips.log(f"  {describe(run)}")
                    runs.append(run)
        main_done = time.monotonic()

        flat_met = True
        if args.flat and flat_start is not None:
            load_errors += load_tips(cluster, args.flat_tips, args.viewers, args.performers)
            flat_end = flat_runs(cluster, workdir, tip_case, args, "after the load")

        tips.log("checking the ledgers")
        violations, checks, ledger = check_consistency(cluster)

        print("\n" + "\n".join(header))
        print(
            f"main runs took {(main_done - started) / 60:.1f} min including set-up; "
            f"idle-wait: {sum(r.idle_wait_busy >= 10 for r in runs)} of {len(runs)} runs started with the "
            f"machine still >= 10% busy (max {max(r.idle_wait_busy for r in runs):.0f}%)\n"
        )
        report(runs, cases, args.clients)
        if flat_start is not None and flat_end is not None:
            flat_met = flat_report(flat_start, flat_end, args.flat_steady, args.flat_rate)
            if load_errors:
                print(f"errors while loading: {format_errors(load_errors)}")

        print(f"\nSELECT count(*) FROM api.verify_ledger() on {tips.BENCH_DB}: {violations}")
        print()
        print(
            markdown(
                ["database", "check", "result"], [[str(c) for c in row] for row in checks + ledger], "llr"
            )
        )
        bad = [
            row
            for row in checks + ledger
            if row[1]
            not in ("tips", "ledger entries", "api.verify_ledger()", "  violated checks", "transfers")
            and row[2] != 0
        ]
        run_errors = sum(sum(r.errors.values()) for r in runs) + sum(load_errors.values())
        print(f"\ntotal time {(time.monotonic() - started) / 60:.1f} min")
        if violations or bad:
            print("\nCONSISTENCY CHECKS FAILED:", violations, bad)
            return 1
        if run_errors:
            print(f"\n{run_errors:,} errors during the runs (see the tables): exit status 2")
            return 2
        if not flat_met:
            print("(the flat-cost target was not met; the exit status does not depend on it)")
        return 0
    finally:
        if args.keep:
            print(
                f"\n--keep: the cluster still runs: {cluster.url(tips.BENCH_DB)} (home {home}); stop it"
                ' with: .venv/bin/python -c "from livepanty_db.local import Cluster; '
                f"Cluster('{home}').destroy()\""
            )
        else:
            with contextlib.suppress(Exception):
                cluster.destroy()
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
