"""Tip throughput benchmark (issue 3, "Concurrency and hot accounts"); docs/benchmarks.md has the figures.

Run it from the repository root::

    .venv/bin/python bench/tips.py [--duration 15] [--clients 1,4,16] [--keep] [--profile]
                                   [--quiet-wait 120] [--no-ceiling] [--no-variant]

What it does, in one fresh embedded cluster (``livepanty_db.local.Cluster``) with the same durable server
settings for every case (printed at the start):

1. database ``bench``: the migrations (``livepanty_db.migrate.apply``), 10,000 viewers and 100 performers with
   ids computable from their number (``00000000-0000-4000-8000-<n>`` viewers, ``...-9000-<n>`` performers),
   inserted as the superuser with the rows ``lp.create_user`` would write (preferences, a wallet made by
   ``lp.open_wallet``/``lp.ensure_wallet_shards``, so performers get their credit shards); every viewer funded
   with one purchase of a bench-only bundle through ``api.create_payment`` and ``api.complete_payment``;
2. database ``bench_single`` (unless ``--no-variant``): a copy of ``bench`` made before any tip, in which the
   ``platform_fees`` wallet and performer 1 keep a single credit shard: the "one hot row" design;
3. database ``pgbench``: ``pgbench -i -s 10``, the yardstick;
4. per client count: TPC-B-like (built-in script), tips case (a) spread over every viewer and performer,
   case (b) every tip to performer 1, the "ceiling" (the same transaction with a trivial SELECT instead of
   ``api.tip``), then the single-shard variant of (a) and (b). Each run starts from a vacuumed database
   and a checkpoint, after waiting for the machine to be idle (it may be shared). Tips run as an application
   would: a login role that is a member of ``livepanty_app`` (not a superuser), one transaction per tip
   that authenticates the viewer's session token (``api.authenticate``; every viewer has one session, made at
   set-up with a token computable from their number, ``bench_token(n)``) and calls ``api.tip``, extended
   query protocol without server-side prepared statements (what psycopg does behind pgbouncer);
5. a table of tps, p50 and p99 latency (from pgbench's per-transaction logs), the ratio to TPC-B at the
   same client count, the CPU used by the benchmark and by the whole machine during the run, and the WAL
   written per transaction; the two targets of the issue; and consistency checks of what the runs wrote
   (``api.verify_ledger()`` when it exists, plus the benchmark's own ledger checks).

``--profile`` adds a pass after the measured runs (not in the table): pg_stat_statements with nested
statements tracked, and a sampling of the wait events of the tip sessions, for cases (a) and (b) at the
largest client count; ``--profile-many N`` adds the same for one ``api.tip_many`` of N tips per transaction.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from tabulate import tabulate

from livepanty_db import migrate
from livepanty_db.local import Cluster, pg_bin

#: Server settings of every case. Durable: fsync and synchronous commit on, full page writes on.
SERVER_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "256MB",
    "max_connections": "100",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    # Loaded for --profile; tracks nothing during the measured runs.
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "none",
}

BENCH_DB = "bench"
VARIANT_DB = "bench_single"
PGBENCH_DB = "pgbench"
#: Login role of the load generator: a member of livepanty_app, as an application's login role would be.
APP_LOGIN = "bench_app"
SCALE = 10
FUNDING_TOKENS = 1_000_000
TIP_MIN, TIP_MAX = 10, 100  # tips.fee_bps = 2000: every tip of 5 tokens or more carries a fee
VIEWER_PREFIX = "00000000-0000-4000-8000-"
PERFORMER_PREFIX = "00000000-0000-4000-9000-"
HOT_PERFORMER = 1

# --- pgbench scripts: the application's transaction ------------------------------------------------------

_TIP_SCRIPT = """\
\\set v random(1, {viewers})
\\set p {performer}
\\set amount random({tip_min}, {tip_max})
BEGIN;
SELECT api.authenticate('bench-token-' || lpad(:v::text, 31, '0'));
SELECT * FROM api.tip(p_recipient_id => ('{performer_prefix}' || lpad(:p::text, 12, '0'))::uuid, \
p_amount => :amount, p_idempotency_key => {key_sql});
COMMIT;
"""

#: A tip's idempotency key as the client makes it (livepanty_db.new_idempotency_key(): the millisecond time
#: first, then random bits, in a uuid's layout), made by the server so that the script needs no client: what
#: an application using the client sends. lp.tips claims such keys at the right edge of its key index.
TIME_ORDERED_KEY_SQL = (
    "(SELECT substr(k.t, 1, 8) || '-' || substr(k.t, 9, 4) || '-7' || substr(k.r, 16) "
    "FROM (SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0'), "
    "pg_catalog.gen_random_uuid()::text) AS k (t, r))"
)
#: A random key (an application that brings its own uuid4 keys): claimed on a random leaf of the key index.
RANDOM_KEY_SQL = "pg_catalog.gen_random_uuid()::text"


# The same transaction with api.tip replaced by a trivial SELECT: what the client/protocol/transaction
# shape alone costs (no write, so no WAL flush at commit). Informative: an upper bound for any tip design.
_CEILING_SCRIPT = """\
\\set v random(1, {viewers})
\\set amount random({tip_min}, {tip_max})
BEGIN;
SELECT api.authenticate('bench-token-' || lpad(:v::text, 31, '0'));
SELECT :amount::bigint AS amount;
COMMIT;
"""


def ceiling_script(viewers: int) -> str:
    return _CEILING_SCRIPT.format(viewers=viewers, tip_min=TIP_MIN, tip_max=TIP_MAX)


def tip_script(viewers: int, performer: str, key_sql: str = TIME_ORDERED_KEY_SQL) -> str:
    return _TIP_SCRIPT.format(
        key_sql=key_sql,
        viewers=viewers,
        performer=performer,
        tip_min=TIP_MIN,
        tip_max=TIP_MAX,
        viewer_prefix=VIEWER_PREFIX,
        performer_prefix=PERFORMER_PREFIX,
    )


# --- set-up SQL (as the superuser: a bench-only path, the same rows lp.create_user would write) ----------

USERS_SQL = """
INSERT INTO lp.users (id, email, username, display_name, password_hash, role, date_of_birth)
SELECT (%(prefix)s || lpad(n::text, 12, '0'))::uuid,
       format('%%s%%s@bench.example', %(role)s::text, n),
       format('%%s%%s', %(role)s::text, n),
       format('%%s %%s', initcap(%(role)s::text), n),
       lp.hash_password(format('bench password %%s', n)),
       %(role)s::text::lp.user_role,
       DATE '1990-01-01'
  FROM generate_series(1, %(count)s::integer) AS n
"""

PREFERENCES_AND_WALLETS_SQL = """
INSERT INTO lp.user_preferences (user_id)
SELECT u.id FROM lp.users AS u WHERE u.email::text LIKE '%@bench.example';
DO $$
DECLARE
    v_user uuid;
BEGIN
    FOR v_user IN SELECT u.id FROM lp.users AS u WHERE u.email::text LIKE '%@bench.example' ORDER BY u.id LOOP
        PERFORM lp.ensure_wallet_shards(lp.open_wallet(v_user));
    END LOOP;
END
$$;
"""

# Every performer holds an approved identity verification (the KYC gate of being paid, issue 9), as an
# admin's api.approve_kyc leaves it; the trigger on lp.kyc_verifications fills lp.users.kyc_valid_until.
KYC_SQL = """
INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at,
                                  expires_at)
SELECT u.id, 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year'
  FROM lp.users AS u WHERE u.role = 'performer'
"""
# A bench-only bundle, so that one purchase funds a viewer for any run length.
BUNDLE_SQL = """
INSERT INTO lp.token_bundles (code, tokens, price_minor) VALUES ('bench_funding', %(tokens)s, %(tokens)s)
"""

# One purchase per viewer through the API: the viewer creates the payment (acting user set as the
# application does), the service role completes it (issuance wallet -> viewer, one ledger transaction).
FUND_SQL = """
DO $$
DECLARE
    v_user    uuid;
    v_payment uuid;
BEGIN
    FOR v_user IN
        SELECT u.id FROM generate_series({first}, {last}) AS n
          JOIN lp.users AS u ON u.id = ('{prefix}' || lpad(n::text, 12, '0'))::uuid
         ORDER BY n
    LOOP
        PERFORM lp.set_identity(v_user, NULL, 'session');  -- the superuser's path to a proven identity
        SELECT (api.create_payment(p_bundle_code => 'bench_funding', p_provider => 'bench',
                                   p_idempotency_key => 'bench-funding')).id INTO v_payment;
        PERFORM pg_catalog.set_config('lp.user_id', '', true);
        PERFORM api.complete_payment(p_payment_id => v_payment, p_provider_reference => 'bench-' || v_user,
                                     p_idempotency_key => 'bench-funding-' || v_user);
    END LOOP;
END
$$
"""

# One session per viewer, with a token computable from the viewer's number (bench only: real tokens are
# random), stored hashed as api.login stores it.
SESSIONS_SQL = """
INSERT INTO lp.auth_sessions (user_id, token_hash, user_agent, expires_at)
SELECT (%(prefix)s || lpad(n::text, 12, '0'))::uuid, lp.hash_token('bench-token-' || lpad(n::text, 31, '0')),
       'bench', now() + interval '30 days'
  FROM generate_series(1, %(count)s::integer) AS n
"""

# The variant: the fee wallet and the hot performer keep one credit shard each (no tip has run yet, so
# shards 2..n have no ledger entries).
SINGLE_SHARD_SQL = """
WITH single AS (
    SELECT w.id FROM lp.wallets AS w
     WHERE w.system_code = 'platform_fees' OR w.user_id = %(performer)s::uuid
), shrunk AS (
    UPDATE lp.wallets AS w SET shard_count = 1 FROM single WHERE w.id = single.id RETURNING w.id
)
DELETE FROM lp.wallet_shards AS s USING shrunk WHERE s.wallet_id = shrunk.id AND s.shard > 1
"""

# --- checks after the runs ----------------------------------------------------------------------------------

CHECKS = [
    ("tips", "SELECT count(*) FROM lp.tips"),
    ("ledger entries", "SELECT count(*) FROM lp.ledger"),
    (
        "sum of every balance (main + shards; must be 0)",
        "SELECT (SELECT coalesce(sum(balance), 0) FROM lp.wallets)"
        " + (SELECT coalesce(sum(balance), 0) FROM lp.wallet_shards)",
    ),
    (
        "ledger transactions not summing to 0",
        "SELECT count(*) FROM (SELECT 1 FROM lp.ledger GROUP BY transaction_id HAVING sum(amount) <> 0) AS x",
    ),
    (
        "tips without exactly 3 ledger entries (sender, performer shard, fee shard)",
        "SELECT count(*) FROM lp.tips AS t"
        " WHERE (SELECT count(*) FROM lp.ledger AS e WHERE e.transaction_id = t.transaction_id) <> 3",
    ),
    (
        "broken before/after chains (per account, in id order)",
        "SELECT count(*) FROM (SELECT e.balance_before,"
        " lag(e.balance_after, 1, 0::bigint) OVER (PARTITION BY e.wallet_id, e.shard ORDER BY e.id) AS prev"
        " FROM lp.ledger AS e) AS c WHERE c.balance_before <> c.prev",
    ),
    (
        "accounts whose balance differs from their last balance_after",
        """
        WITH last AS (
            SELECT DISTINCT ON (e.wallet_id, e.shard) e.wallet_id, e.shard, e.balance_after
              FROM lp.ledger AS e ORDER BY e.wallet_id, e.shard, e.id DESC
        ), accounts AS (
            SELECT w.id AS wallet_id, 0::smallint AS shard, w.balance FROM lp.wallets AS w
            UNION ALL
            SELECT s.wallet_id, s.shard, s.balance FROM lp.wallet_shards AS s
        )
        SELECT count(*) FROM accounts AS a LEFT JOIN last AS l USING (wallet_id, shard)
         WHERE a.balance <> coalesce(l.balance_after, 0)
        """,
    ),
]


# --- helpers ------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def connect(cluster: Cluster, database: str) -> psycopg.Connection:
    return psycopg.connect(cluster.url(database), autocommit=True)


@dataclass
class Result:
    case: str
    clients: int
    tps: float
    p50_ms: float
    p99_ms: float
    transactions: int
    #: CPU time of the benchmark (the cluster's processes and pgbench) and of the whole machine, in % of
    #: all cores over the run; the difference is the kernel's own threads and anything else running.
    cpu_ours: float
    cpu_machine: float
    wal_bytes_per_tx: float
    wal_fpi_per_tx: float


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine (/proc/stat), every core."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


def _proc_stat(pid: int) -> tuple[int, list[int]]:
    """(parent pid, [utime, stime, cutime, cstime]) of a process, in jiffies."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), [int(x) for x in fields[11:15]]


def _cluster_jiffies(postmaster: int) -> tuple[int, set[int]]:
    """CPU time of the postmaster, its live children, and its exited children (reaped: cutime/cstime);
    and the pids of its live children."""
    _, times = _proc_stat(postmaster)
    total = sum(times)
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                ppid, child = _proc_stat(int(entry.name))
                if ppid == postmaster:
                    total += child[0] + child[1]
                    children.add(int(entry.name))
    return total, children


def _stable_cluster_jiffies(postmaster: int, expected: set[int] | None = None) -> tuple[int, set[int]]:
    """``_cluster_jiffies`` once the cluster's process set has settled (and, given ``expected``, is within
    it): while a child is being reaped its time can show both in the postmaster's cutime and in its own
    /proc entry, so a reading taken then would count it twice."""
    previous = _cluster_jiffies(postmaster)
    for _ in range(250):
        time.sleep(0.02)
        current = _cluster_jiffies(postmaster)
        settled = current[1] == previous[1] and current[0] - previous[0] <= 2
        if settled and (expected is None or current[1] <= expected):
            return current
        previous = current
    return previous


class Meter:
    """CPU and WAL used during one run."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.postmaster = cluster.status().pid
        self.conn = connect(cluster, "postgres")

    def _wal(self) -> tuple[int, int]:
        row = self.conn.execute("SELECT wal_bytes::bigint, wal_fpi FROM pg_stat_wal").fetchone()
        return int(row[0]), int(row[1])

    def __enter__(self) -> Meter:
        self.wal = self._wal()
        self.ours, self.processes = _stable_cluster_jiffies(self.postmaster)
        self.machine = _machine_jiffies()
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *exc: object) -> None:
        # Wait until the load generator's backends have exited and the postmaster has reaped them: only
        # then has their CPU time moved to its cutime/cstime.
        machine = _machine_jiffies()
        own = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        ours, _ = _stable_cluster_jiffies(self.postmaster, self.processes | {own})
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        wal = self._wal()
        self.conn.close()
        elapsed = max(machine[1] - self.machine[1], 1)  # jiffies of all cores
        hz = os.sysconf("SC_CLK_TCK")
        pgbench = (children.ru_utime + children.ru_stime) - (self.children.ru_utime + self.children.ru_stime)
        self.cpu_ours = 100 * ((ours - self.ours) + pgbench * hz) / elapsed
        self.cpu_machine = 100 * (machine[0] - self.machine[0]) / elapsed
        self.wal_bytes = wal[0] - self.wal[0]
        self.wal_fpi = wal[1] - self.wal[1]


def wait_until_quiet(limit: float, threshold: float = 10.0) -> float:
    """Wait (at most ``limit`` seconds) until the machine is idle: under ``threshold`` % busy over one
    second. The machine may be shared (other people's test suites): runs started under foreign load
    measure that load. Returns the busy % of the last second."""
    deadline = time.monotonic() + limit
    while True:
        before = _machine_jiffies()
        time.sleep(1)
        after = _machine_jiffies()
        busy = 100 * (after[0] - before[0]) / max(after[1] - before[1], 1)
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def _latencies_us(log_prefix: Path) -> list[int]:
    """Column 3 of pgbench's per-transaction logs: the transaction's latency in microseconds."""
    values = []
    for path in log_prefix.parent.glob(log_prefix.name + ".*"):
        with path.open() as lines:
            for line in lines:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():  # failed transactions log a word instead
                    values.append(int(fields[2]))
        path.unlink()
    return values


def _percentile(sorted_values: list[int], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def run_pgbench(
    cluster: Cluster,
    workdir: Path,
    *,
    case: str,
    clients: int,
    duration: int,
    database: str,
    user: str,
    script: Path | None,
) -> Result:
    prefix = workdir / re.sub(r"[^A-Za-z0-9]+", "_", f"{case}_{clients}")
    argv = [
        str(pg_bin() / "pgbench"),
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-U",
        user,
        "-M",
        "extended",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-T",
        str(duration),
        "--log",
        f"--log-prefix={prefix}",
    ]
    # -n: prepare_run has vacuumed the database (for TPC-B what pgbench itself would do without -n).
    argv += ["-n", "-b", "tpcb-like"] if script is None else ["-n", "-f", str(script)]
    argv.append(database)
    with Meter(cluster) as meter:
        result = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, check=False)
    output = result.stdout + result.stderr
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", output, re.MULTILINE)
    processed = re.search(r"^number of transactions actually processed: (\d+)", output, re.MULTILINE)
    failed = re.search(r"^number of failed transactions: (\d+)", output, re.MULTILINE)
    if result.returncode != 0 or tps is None or processed is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed for {case} at {clients} clients:\n{output}")
    latencies = sorted(_latencies_us(prefix))
    transactions = int(processed.group(1))
    return Result(
        case,
        clients,
        float(tps.group(1)),
        _percentile(latencies, 0.50) / 1000,
        _percentile(latencies, 0.99) / 1000,
        transactions,
        meter.cpu_ours,
        meter.cpu_machine,
        meter.wal_bytes / max(transactions, 1),
        meter.wal_fpi / max(transactions, 1),
    )


def prepare_run(cluster: Cluster, database: str) -> None:
    """The same starting point for every run: the written tables vacuumed, then a checkpoint."""
    with connect(cluster, database) as conn:
        if database == PGBENCH_DB:
            # What pgbench does before a run unless -n.
            conn.execute("VACUUM pgbench_branches, pgbench_tellers")
            conn.execute("TRUNCATE pgbench_history")
        else:
            conn.execute("VACUUM ANALYZE lp.wallets, lp.wallet_shards, lp.tips, lp.ledger, lp.payments")
        conn.execute("CHECKPOINT")


# --- set-up -------------------------------------------------------------------------------------------------


def setup_bench_database(cluster: Cluster, viewers: int, performers: int) -> None:
    with connect(cluster, "postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    started = time.monotonic()
    migrate.apply(cluster.url(BENCH_DB))
    log(f"migrated {BENCH_DB} in {time.monotonic() - started:.1f} s")
    with connect(cluster, "postgres") as conn:
        # The roles exist now (the first migration made them): the load generator's login role.
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER IN ROLE livepanty_app").format(
                sql.Identifier(APP_LOGIN)
            )
        )
    started = time.monotonic()
    with connect(cluster, BENCH_DB) as conn:
        with conn.transaction():
            conn.execute("UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'")
            for role, prefix, count in (
                ("viewer", VIEWER_PREFIX, viewers),
                ("performer", PERFORMER_PREFIX, performers),
            ):
                conn.execute(USERS_SQL, {"prefix": prefix, "role": role, "count": count})
            conn.execute(PREFERENCES_AND_WALLETS_SQL)
            conn.execute(KYC_SQL)
        log(f"created {viewers} viewers and {performers} performers in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        conn.execute(BUNDLE_SQL, {"tokens": FUNDING_TOKENS})
        batch = 1000
        for first in range(1, viewers + 1, batch):
            last = min(first + batch - 1, viewers)
            with conn.transaction():
                conn.execute(FUND_SQL.format(first=first, last=last, prefix=VIEWER_PREFIX))
        log(f"funded every viewer with {FUNDING_TOKENS} tokens in {time.monotonic() - started:.1f} s")
        conn.execute(SESSIONS_SQL, {"prefix": VIEWER_PREFIX, "count": viewers})
        shards = conn.execute(
            """
            SELECT count(*) FILTER (
                       WHERE u.role = 'performer' AND w.shard_count = p.shards
                         AND (SELECT count(*) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id)
                             = p.shards),
                   count(*) FILTER (WHERE u.role = 'viewer' AND w.balance = %(tokens)s)
              FROM lp.users AS u JOIN lp.wallets AS w ON w.user_id = u.id,
                   (SELECT (lp.setting('wallets.performer_shards'))::integer AS shards) AS p
            """,
            {"tokens": FUNDING_TOKENS},
        ).fetchone()
        if shards != (performers, viewers):
            raise RuntimeError(
                f"set-up check failed: (performers with their shards, funded viewers) = {shards}"
            )
        conn.execute("VACUUM ANALYZE")


def setup_variant_database(cluster: Cluster) -> None:
    with connect(cluster, "postgres") as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(VARIANT_DB), sql.Identifier(BENCH_DB)
            )
        )
    with connect(cluster, VARIANT_DB) as conn:
        conn.execute(SINGLE_SHARD_SQL, {"performer": performer_id(HOT_PERFORMER)})
        rows = conn.execute(
            "SELECT coalesce(w.system_code, 'performer 1'), w.shard_count,"
            " (SELECT count(*) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id)"
            " FROM lp.wallets AS w WHERE w.system_code = 'platform_fees' OR w.user_id = %s::uuid",
            [performer_id(HOT_PERFORMER)],
        ).fetchall()
        if sorted(r[1:] for r in rows) != [(1, 1), (1, 1)]:
            raise RuntimeError(f"variant set-up failed: {rows}")
        conn.execute("VACUUM ANALYZE")


def setup_pgbench_database(cluster: Cluster) -> None:
    with connect(cluster, "postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PGBENCH_DB)))
    subprocess.run(
        [
            str(pg_bin() / "pgbench"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            "-i",
            "-q",
            "-s",
            str(SCALE),
            PGBENCH_DB,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def performer_id(n: int) -> str:
    return f"{PERFORMER_PREFIX}{n:012d}"


# --- checks and profile -------------------------------------------------------------------------------------


def check_database(cluster: Cluster, database: str) -> list[list[object]]:
    rows: list[list[object]] = []
    with connect(cluster, database) as conn:
        exists = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_proc"
            " WHERE pronamespace = 'api'::regnamespace AND proname = 'verify_ledger')"
        ).fetchone()[0]
        if exists:
            try:
                found = conn.execute(
                    "SELECT count(*), string_agg(DISTINCT check_name, ', ') FROM api.verify_ledger()"
                ).fetchone()
                rows.append([database, "api.verify_ledger() violations", found[0]])
                if found[0]:
                    rows.append([database, "  violated checks", found[1]])
            except psycopg.Error as exc:
                rows.append([database, "api.verify_ledger() failed", f"error: {exc}".strip()])
        else:
            rows.append([database, "api.verify_ledger()", "absent (skipped)"])
        for label, query in CHECKS:
            rows.append([database, label, conn.execute(query).fetchone()[0]])
    return rows


class WaitSampler(threading.Thread):
    """Counts the wait events of the load generator's active sessions every few milliseconds."""

    def __init__(self, cluster: Cluster, interval: float = 0.01):
        super().__init__(daemon=True)
        self.conn = connect(cluster, "postgres")
        self.interval = interval
        self.samples = 0
        self.events: Counter[str] = Counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            rows = self.conn.execute(
                "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU (no wait event)')"
                " FROM pg_stat_activity WHERE usename = %s AND state = 'active'",
                [APP_LOGIN],
            ).fetchall()
            self.samples += 1
            self.events.update(r[0] for r in rows)
            time.sleep(self.interval)

    def stop(self) -> Counter[str]:
        self.stopping.set()
        self.join()
        self.conn.close()
        return self.events


def profile(cluster: Cluster, workdir: Path, args: argparse.Namespace) -> None:
    clients, duration, viewers, performers = max(args.clients), args.duration, args.viewers, args.performers
    # A role setting overrides the server's command line (-c pg_stat_statements.track=none).
    with connect(cluster, "postgres") as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} SET pg_stat_statements.track = 'all'").format(sql.Identifier(APP_LOGIN))
        )
    profiled = [
        (case, f"profile_{performer.isdigit()}.sql", tip_script(viewers, performer))
        for case, performer in (("tips (a)", f"random(1, {performers})"), ("tips (b)", str(HOT_PERFORMER)))
    ]
    if args.profile_many:
        import money  # bench/money.py imports this module: imported here, when asked for

        profiled.append(
            (
                f"tip_many of {args.profile_many}",
                "profile_many.sql",
                money.tip_many_script(args.profile_many, viewers, performers),
            )
        )
    try:
        for case, name, text in profiled:
            script = workdir / name
            script.write_text(text)
            prepare_run(cluster, BENCH_DB)
            wait_until_quiet(args.quiet_wait)
            with connect(cluster, BENCH_DB) as conn:
                conn.execute("SELECT ext.pg_stat_statements_reset()")  # installed by migration 0037
            sampler = WaitSampler(cluster)
            sampler.start()
            result = run_pgbench(
                cluster,
                workdir,
                case=case,
                clients=clients,
                duration=duration,
                database=BENCH_DB,
                user=APP_LOGIN,
                script=script,
            )
            events = sampler.stop()
            print(f"\nprofile: {case}, {clients} clients, {result.tps:.0f} tps (statement tracking on)")
            with connect(cluster, BENCH_DB) as conn:
                top = conn.execute(
                    """
                    SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
                           round((total_exec_time / calls * 1000)::numeric, 1) AS mean_us,
                           round((100 * total_exec_time / sum(total_exec_time) FILTER (WHERE toplevel)
                                  OVER ())::numeric, 1) AS pct_of_toplevel,
                           toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
                      FROM ext.pg_stat_statements
                     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                     ORDER BY total_exec_time DESC LIMIT 25
                    """
                ).fetchall()
            print(
                tabulate(
                    top,
                    headers=["calls", "total ms", "mean us", "% of top", "top", "statement"],
                    tablefmt="github",
                )
            )
            active = sum(events.values())
            print(
                f"\nwait events of active tip sessions ({sampler.samples} samples, {active} session samples):"
            )
            print(
                tabulate(
                    [
                        [event, count, f"{100 * count / active:.1f}"]
                        for event, count in events.most_common(12)
                    ],
                    headers=["wait event", "samples", "%"],
                    tablefmt="github",
                )
            )
    finally:
        with connect(cluster, "postgres") as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} RESET pg_stat_statements.track").format(sql.Identifier(APP_LOGIN))
            )


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per run (default 15)")
    parser.add_argument("--clients", default="1,4,16", help="client counts, comma-separated (default 1,4,16)")
    parser.add_argument("--viewers", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument("--performers", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", action="store_true", help="leave the cluster running and its files in place"
    )
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=120,
        help="before each run, wait up to this many seconds for the machine to be idle (default 120)",
    )
    parser.add_argument(
        "--no-ceiling", action="store_true", help="skip the no-op run of the same transaction shape"
    )
    parser.add_argument("--no-variant", action="store_true", help="skip the single-shard variant")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the runs, profile the tip path (statements, wait events)",
    )
    parser.add_argument(
        "--profile-many",
        type=int,
        default=0,
        metavar="N",
        help="with --profile, profile one api.tip_many of N tips per transaction too",
    )
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in args.clients.split(",")})
    if args.performers < HOT_PERFORMER or args.viewers < 1 or min(args.clients) < 1:
        parser.error("need at least one viewer, one performer and one client")
    return args


def code_revision() -> str:
    """The commit of the SQL being measured, and whether db/ differs from it (migrate reads the work tree)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "db"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head}" + (" with uncommitted changes in db/" if dirty else " (db/ as committed)")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through main's finally: the cluster is stopped and removed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    home = Path(tempfile.mkdtemp(prefix="livepanty-bench-"))
    workdir = home / "pgbench"
    workdir.mkdir()
    cluster = Cluster(home, server_options=[f"{k}={v}" for k, v in SERVER_SETTINGS.items()])
    try:
        log("starting the embedded cluster")
        cluster.start()
        with connect(cluster, "postgres") as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            shown = {
                name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
                for name in SERVER_SETTINGS
            }
        print(
            f"PostgreSQL {version} on {platform.node()} ({os.cpu_count()} CPUs), "
            f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
        )
        print(f"code measured: {code_revision()}")
        print("server settings (every case): " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        print(
            f"runs: {args.duration} s each, clients {','.join(map(str, args.clients))}, -M extended, "
            f"-j min(clients, 2); tips of {TIP_MIN}..{TIP_MAX} tokens by {args.viewers} viewers to "
            f"{args.performers} performers"
        )

        print(f"load average before set-up: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        setup_bench_database(cluster, args.viewers, args.performers)
        if not args.no_variant:
            setup_variant_database(cluster)
            log(f"made {VARIANT_DB}: platform_fees and performer {HOT_PERFORMER} with one credit shard")
        setup_pgbench_database(cluster)
        log(f"pgbench -i -s {SCALE} done")

        scripts = {
            "a": workdir / "tips_a.sql",
            "b": workdir / "tips_b.sql",
        }
        scripts["a"].write_text(tip_script(args.viewers, f"random(1, {args.performers})"))
        scripts["b"].write_text(tip_script(args.viewers, str(HOT_PERFORMER)))
        scripts["ceiling"] = workdir / "ceiling.sql"
        scripts["ceiling"].write_text(ceiling_script(args.viewers))
        cases: list[tuple[str, str, str, Path | None]] = [
            ("TPC-B-like (pgbench -b tpcb-like, scale 10)", PGBENCH_DB, "postgres", None),
            (
                f"tips (a) {args.viewers} viewers -> {args.performers} performers",
                BENCH_DB,
                APP_LOGIN,
                scripts["a"],
            ),
            (
                f"tips (b) {args.viewers} viewers -> performer {HOT_PERFORMER}",
                BENCH_DB,
                APP_LOGIN,
                scripts["b"],
            ),
        ]
        if not args.no_ceiling:
            cases.append(
                (
                    "ceiling: same transaction, SELECT instead of api.tip",
                    BENCH_DB,
                    APP_LOGIN,
                    scripts["ceiling"],
                )
            )
        if not args.no_variant:
            cases += [
                ("variant: single fee shard, tips (a)", VARIANT_DB, APP_LOGIN, scripts["a"]),
                ("variant: single fee + performer shard, tips (b)", VARIANT_DB, APP_LOGIN, scripts["b"]),
            ]
        results: list[Result] = []
        for clients in args.clients:
            for case, database, user, script in cases:
                prepare_run(cluster, database)
                busy = wait_until_quiet(args.quiet_wait)
                if busy >= 10:
                    log(f"the machine is still {busy:.0f}% busy after {args.quiet_wait} s: running anyway")
                log(f"{case}: {clients} clients, {args.duration} s")
                result = run_pgbench(
                    cluster,
                    workdir,
                    case=case,
                    clients=clients,
                    duration=args.duration,
                    database=database,
                    user=user,
                    script=script,
                )
                results.append(result)
                log(
                    f"  {result.tps:.0f} tps, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                    f"CPU {result.cpu_ours:.0f}% ours / {result.cpu_machine:.0f}% machine, "
                    f"WAL {result.wal_bytes_per_tx:.0f} B/tx"
                )

        report(results, cases, args.clients)

        print("\nconsistency after the runs:")
        checks = check_database(cluster, BENCH_DB)
        if not args.no_variant:
            checks += check_database(cluster, VARIANT_DB)
        print(tabulate(checks, headers=["database", "check", "result"], tablefmt="github"))
        bad = [
            row
            for row in checks
            if row[1] not in ("tips", "ledger entries", "api.verify_ledger()", "  violated checks")
            and row[2] != 0
        ]

        if args.profile:
            profile(cluster, workdir, args)

        if bad:
            print("\nCONSISTENCY CHECKS FAILED:", bad)
            return 1
        return 0
    finally:
        if args.keep:
            print(
                f"\n--keep: the cluster still runs: {cluster.url(BENCH_DB)} (home {home}; data in "
                f'{cluster.cluster_dir}); stop it with: .venv/bin/python -c "from livepanty_db.local import '
                f"Cluster; Cluster('{home}').destroy()\""
            )
        else:
            with contextlib.suppress(Exception):
                cluster.destroy()
            shutil.rmtree(home, ignore_errors=True)


def report(results: list[Result], cases: list[tuple[str, str, str, Path | None]], clients: list[int]) -> None:
    tpcb = {r.clients: r.tps for r in results if r.case == cases[0][0]}
    rows = [
        [
            r.case,
            r.clients,
            f"{r.tps:.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{r.tps / tpcb[r.clients]:.2f}",
            f"{r.cpu_ours:.0f} / {r.cpu_machine:.0f}",
            f"{r.wal_bytes_per_tx / 1024:.1f}",
        ]
        for r in sorted(results, key=lambda r: ([c[0] for c in cases].index(r.case), r.clients))
    ]
    print()
    print(
        tabulate(
            rows,
            headers=[
                "case",
                "clients",
                "tps",
                "p50 ms",
                "p99 ms",
                "x TPC-B",
                "CPU % ours / machine",
                "WAL kB/tx",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    at = 16 if 16 in clients else max(clients)
    by = {(r.case, r.clients): r.tps for r in results}
    tps_a, tps_b, base = by[(cases[1][0], at)], by[(cases[2][0], at)], tpcb[at]
    note = "" if at == 16 else f" (16 clients not run: at {at})"
    print(f"\ntargets at {at} clients{note}:")
    print(
        f"  (a) tips spread  >= 2.0x TPC-B : {tps_a:.0f} / {base:.0f} = {tps_a / base:.2f}x  "
        f"{'MET' if tps_a >= 2.0 * base else 'NOT MET'}"
    )
    print(
        f"  (b) hot performer >= 0.8x (a)  : {tps_b:.0f} / {tps_a:.0f} = {tps_b / tps_a:.2f}x  "
        f"{'MET' if tps_b >= 0.8 * tps_a else 'NOT MET'}"
    )


if __name__ == "__main__":
    sys.exit(main())
