"""Scale-out benchmark (issue 12): tips through the PL/Proxy router with 1, 2 and 4 shards, against one node.

Run it from the repository root::

    .venv/bin/python bench/shards.py [--duration 10] [--rounds 3] [--clients 4,16] [--quiet-wait 60]
                                     [--viewers 4000] [--performers 100] [--keep]

Four installations on loopback, all started before the first run and running for the whole benchmark, every
cluster with bench/tips.py's durable server settings (fsync, synchronous_commit and full_page_writes on):

* ``single``: one plain embedded cluster (``livepanty_db.local.Cluster``), migrated: no router;
* ``router-1``, ``router-2``, ``router-4``: ``livepanty_db.shards.LocalTopology(home).start(n)``: a router and
  ``n`` shard clusters, migrated and installed as ``livepanty-db local start --shards n`` makes them.

Each gets the same users: ``--viewers`` viewers (``viewer<n>``) and ``--performers`` performers
(``performer<n>``), placed on a shard by ``router.place(username)`` (candidates in order until every shard has
its equal share), inserted as the superuser on their shard with the rows ``lp.create_user`` writes
(bench/tips.py's set-up SQL), performers with an approved identity verification, every viewer funded by one
purchase through ``api.create_payment`` / ``api.complete_payment`` on their shard, one session each with a
computable token; the router's directory (``router.users``) and session map (``router.sessions``) hold them as
``api.register_user`` and ``api.login`` would have written them, and every viewer has a stub on every other
shard (``shard.ensure_user``, as the relay makes it at a viewer's first cross-shard tip there). A table
``bench.viewers (shard, k, token)`` and ``bench.performers (shard, k, id)`` on the router (on ``single``:
shard 0) lets the script pick a viewer and a performer of a given shard.

Cases, each at every client count in every round (the order rotates each round), each run from vacuumed
databases after a checkpoint on every cluster of its installation, after waiting for the machine to be idle:

* ``single``: the tip transaction of bench/tips.py (``api.authenticate(token)`` of a random viewer,
  ``api.tip`` to a random performer, one transaction) against the plain cluster;
* ``router-N same``: the same script against the router: viewer and performer of one (random) shard;
* ``router-N cross`` (N > 1): the performer on another shard (random); ``--relays`` relay workers
  (``livepanty_db.shards.relay`` with the CLI's defaults, batch 100 and interval 0.2 s, each in a thread of
  this process) run during the run and until every transfer of the run is delivered, inside the measured
  window. ``--relay-modes per-transfer,batch`` measures the first relay's way (one transaction per transfer
  on the target, new connections every pass) beside today's as two cases of the same run; ``at-once`` the
  router crediting each tip before ``api.tip`` returns (``livepanty-db shards delivery --at-once``).

``--shard-counts`` and ``--cross-only`` narrow the cases (``single`` always runs: it is the baseline).

``pgbench -M extended -c N -j min(N, 2) -T duration`` as login role ``bench_app`` (a member of
``livepanty_app``). Per run: tips/s (rows the run added: ``lp.tips`` for same-shard tips and on ``single``,
``lp.transfers_out`` for cross-shard tips), p50/p99 latency (pgbench's per-transaction logs), server CPU ms
per tip of the router's cluster and of the shard clusters (summed; every process of each cluster, from /proc,
as bench/tips.py measures it), WAL bytes per tip on the router and on the shards (``pg_current_wal_lsn()``),
the transactions committed on the shards per tip (``pg_stat_database.xact_commit``: each proxied call is one,
as is each delivery of the relay), the most connections of the router's PL/Proxy seen on a shard (sampled
every 0.5 s), and for cross-shard runs the relay's lag: ``transfers_in.created_at -
transfers_out.created_at`` of every transfer of the run (one clock: loopback). After every run:
``livepanty_db.shards.verify_all(shards, router_dsn=router)`` (every shard's ``api.verify_ledger()``, the
global reconciliation, the directory) must be clean with nothing in transit, and on ``single``
``api.verify_ledger()`` must return no row. Medians over the rounds, min..max of tips/s.

Exit status: 0; 1 when a consistency check fails; 2 when the ledgers are sound but a run saw errors.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))

import money
import tips

from livepanty_db import migrate, shards
from livepanty_db.local import Cluster, pg_bin

SHARD_COUNTS = (1, 2, 4)
DATABASE = "livepanty"  # the embedded clusters' database (livepanty_db.local.DATABASE)
RELAY_BATCH = 100  # livepanty-db shards relay --batch (default)
RELAY_INTERVAL = 0.2  # livepanty-db shards relay --interval (default)
RELAY_MODES = ("batch", "per-transfer", "at-once")

# --- pgbench script: bench/tips.py's transaction, the viewer and the performer picked by shard ----------

_SCRIPT = """\
\\set s random(0, {shards} - 1)
\\set d random({d_min}, {d_max})
\\set t (:s + :d) % {shards}
\\set v random(1, {viewers})
\\set p random(1, {performers})
\\set amount random({tip_min}, {tip_max})
BEGIN;
SELECT api.authenticate((SELECT b.token FROM bench.viewers AS b WHERE b.shard = :s AND b.k = :v));
SELECT * FROM api.tip(\
p_recipient_id => (SELECT b.id FROM bench.performers AS b WHERE b.shard = :t AND b.k = :p), \
p_amount => :amount, p_idempotency_key => pg_catalog.gen_random_uuid()::text);
COMMIT;
"""


def tip_script(shards_: int, cross: bool, viewers: int, performers: int) -> str:
    """Viewer ``k`` of shard ``s`` tips performer ``p`` of shard ``s`` (same) or ``(s + d) mod n``, d >= 1."""
    d_min, d_max = (1, shards_ - 1) if cross else (0, 0)
    return _SCRIPT.format(
        shards=shards_,
        d_min=d_min,
        d_max=d_max,
        viewers=viewers,
        performers=performers,
        tip_min=tips.TIP_MIN,
        tip_max=tips.TIP_MAX,
    )


# --- set-up SQL ---------------------------------------------------------------------------------------------

# bench/tips.py's rows, for the users numbered in %(ns)s.
USERS_SQL = """
INSERT INTO lp.users (id, email, username, display_name, password_hash, role, date_of_birth)
SELECT (%(prefix)s || lpad(n::text, 12, '0'))::uuid,
       format('%%s%%s@bench.example', %(role)s::text, n),
       format('%%s%%s', %(role)s::text, n),
       format('%%s %%s', initcap(%(role)s::text), n),
       lp.hash_password(format('bench password %%s', n)),
       %(role)s::text::lp.user_role,
       DATE '1990-01-01'
  FROM unnest(%(ns)s::integer[]) AS n
"""

FUND_SQL = """
DO $$
DECLARE
    v_user    uuid;
    v_payment uuid;
BEGIN
    FOR v_user IN
        SELECT u.id FROM lp.users AS u WHERE u.role = 'viewer' AND u.email::text LIKE '%@bench.example'
         ORDER BY u.id
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

SESSIONS_SQL = """
INSERT INTO lp.auth_sessions (user_id, token_hash, user_agent, expires_at)
SELECT (%(prefix)s || lpad(n::text, 12, '0'))::uuid, lp.hash_token('bench-token-' || lpad(n::text, 31, '0')),
       'bench', now() + interval '30 days'
  FROM unnest(%(ns)s::integer[]) AS n
"""

# The router's directory and session map, as api.register_user and api.login write them.
DIRECTORY_SQL = """
INSERT INTO router.users (user_id, shard, username_key, email_key, username, role)
SELECT (%(prefix)s || lpad(n::text, 12, '0'))::uuid, %(shard)s, lower(%(role)s || n),
       sha256(convert_to(lower(%(role)s || n || '@bench.example'), 'UTF8')), %(role)s || n, %(role)s
  FROM unnest(%(ns)s::integer[]) AS n
"""

ROUTER_SESSIONS_SQL = """
INSERT INTO router.sessions (token_hash, user_id, shard, expires_at)
SELECT lp.hash_token('bench-token-' || lpad(n::text, 31, '0')), (%(prefix)s || lpad(n::text, 12, '0'))::uuid,
       %(shard)s, now() + interval '30 days'
  FROM unnest(%(ns)s::integer[]) AS n
"""

# Every viewer's stub on another shard, as the relay's shard.transfer_in makes it at the first tip there.
STUBS_SQL = """
SELECT count(shard.ensure_user(%(shard)s, (%(prefix)s || lpad(n::text, 12, '0'))::uuid, 'viewer' || n,
                               'viewer', %(home)s))
  FROM unnest(%(ns)s::integer[]) AS n
"""

PICK_TABLES_SQL = """
CREATE SCHEMA bench;
CREATE TABLE bench.viewers (shard integer, k integer, token text NOT NULL, PRIMARY KEY (shard, k));
CREATE TABLE bench.performers (shard integer, k integer, id uuid NOT NULL, PRIMARY KEY (shard, k));
GRANT USAGE ON SCHEMA bench TO {login};
GRANT SELECT ON bench.viewers, bench.performers TO {login};
"""


def log(message: str) -> None:
    tips.log(message)


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def one(conn: psycopg.Connection, query: str, params: object = None) -> tuple:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    if row is None:
        raise RuntimeError(f"no row from {query!r}")
    return row


# --- installations ------------------------------------------------------------------------------------------


@dataclass
class Installation:
    """``single`` (no router: the plain cluster is the entry and the one "shard") or a router with shards."""

    name: str
    entry: Cluster  # what pgbench connects to: the plain cluster or the router
    shard_clusters: list[Cluster]
    topology: shards.LocalTopology | None = None

    @property
    def routed(self) -> bool:
        return self.topology is not None

    @property
    def shard_count(self) -> int:
        return len(self.shard_clusters)

    def shard_urls(self) -> list[str]:
        return [c.url(DATABASE) for c in self.shard_clusters]

    def clusters(self) -> list[Cluster]:
        return [self.entry, *self.shard_clusters] if self.routed else [self.entry]

    def destroy(self) -> None:
        for cluster in self.clusters():
            with contextlib.suppress(Exception):
                cluster.destroy()


def start_installation(
    home: Path, name: str, shard_count: int | None, options: Sequence[str]
) -> Installation:
    home.mkdir(parents=True)
    home.chmod(0o755)
    started = time.monotonic()
    if shard_count is None:
        cluster = Cluster(home, server_options=options)
        cluster.start()
        migrate.apply(cluster.url(DATABASE))
        inst = Installation(name, cluster, [cluster])
    else:
        topology = shards.LocalTopology(home, server_options=options)
        topology.start(shard_count)
        inst = Installation(
            name, topology.router, [topology.shard(i) for i in range(shard_count)], topology=topology
        )
    log(f"{name}: started and migrated in {time.monotonic() - started:.0f} s")
    return inst


def place(inst: Installation, role: str, count: int) -> list[list[int]]:
    """The numbers of ``count`` users of ``role`` per shard: candidates ``<role><n>`` in order, each where
    ``router.place`` puts its username, until every shard has ``count / shards``."""
    n = inst.shard_count
    quota = count // n
    if not inst.routed:
        return [list(range(1, quota + 1))]
    placed: list[list[int]] = [[] for _ in range(n)]
    with connect(inst.entry.url(DATABASE)) as conn:
        rows = conn.execute(
            "SELECT g, router.place(%s || g) FROM generate_series(1, %s) AS g ORDER BY g",
            [role, count * 4 + 100],
        ).fetchall()
    for number, shard in rows:
        if len(placed[shard]) < quota:
            placed[shard].append(number)
    if any(len(p) < quota for p in placed):
        raise RuntimeError(f"could not place {count} {role}s evenly on {n} shards")
    return placed


def setup_users(inst: Installation, viewers: int, performers: int) -> None:
    started = time.monotonic()
    placed_viewers = place(inst, "viewer", viewers)
    placed_performers = place(inst, "performer", performers)
    with connect(inst.entry.url("postgres")) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER IN ROLE livepanty_app").format(
                sql.Identifier(tips.APP_LOGIN)
            )
        )
    for shard, url in enumerate(inst.shard_urls()):
        with connect(url) as conn:
            with conn.transaction():
                conn.execute("UPDATE lp.settings SET value = '4' WHERE key = 'auth.bcrypt_cost'")
                for role, prefix, ns in (
                    ("viewer", tips.VIEWER_PREFIX, placed_viewers[shard]),
                    ("performer", tips.PERFORMER_PREFIX, placed_performers[shard]),
                ):
                    conn.execute(USERS_SQL, {"prefix": prefix, "role": role, "ns": ns})
                conn.execute(tips.PREFERENCES_AND_WALLETS_SQL)
                conn.execute(tips.KYC_SQL)
                conn.execute(tips.BUNDLE_SQL, {"tokens": tips.FUNDING_TOKENS})
                conn.execute(FUND_SQL)
                conn.execute(SESSIONS_SQL, {"prefix": tips.VIEWER_PREFIX, "ns": placed_viewers[shard]})
            if inst.routed:
                for other in range(inst.shard_count):
                    if other != shard:
                        conn.execute(
                            STUBS_SQL,
                            {
                                "shard": shard,
                                "prefix": tips.VIEWER_PREFIX,
                                "ns": placed_viewers[other],
                                "home": other,
                            },
                        )
            funded = one(
                conn,
                "SELECT count(*) FROM lp.wallets AS w JOIN lp.users AS u ON u.id = w.user_id"
                " WHERE u.role = 'viewer' AND w.balance = %s AND u.email::text LIKE '%%@bench.example'",
                [tips.FUNDING_TOKENS],
            )[0]
            if funded != len(placed_viewers[shard]):
                raise RuntimeError(f"{inst.name} shard {shard}: {funded} funded viewers")
            conn.execute("VACUUM ANALYZE")
    with connect(inst.entry.url(DATABASE)) as conn, conn.transaction():
        if inst.routed:
            for shard in range(inst.shard_count):
                for role, prefix, ns in (
                    ("viewer", tips.VIEWER_PREFIX, placed_viewers[shard]),
                    ("performer", tips.PERFORMER_PREFIX, placed_performers[shard]),
                ):
                    conn.execute(DIRECTORY_SQL, {"prefix": prefix, "role": role, "ns": ns, "shard": shard})
                conn.execute(
                    ROUTER_SESSIONS_SQL,
                    {"prefix": tips.VIEWER_PREFIX, "ns": placed_viewers[shard], "shard": shard},
                )
        conn.execute(PICK_TABLES_SQL.format(login=tips.APP_LOGIN))
        for shard in range(inst.shard_count):
            with conn.cursor().copy("COPY bench.viewers (shard, k, token) FROM STDIN") as copy:
                for k, n in enumerate(placed_viewers[shard], 1):
                    copy.write_row((shard, k, money.bench_token(n)))
            with conn.cursor().copy("COPY bench.performers (shard, k, id) FROM STDIN") as copy:
                for k, n in enumerate(placed_performers[shard], 1):
                    copy.write_row((shard, k, tips.performer_id(n)))
    with connect(inst.entry.url(DATABASE)) as conn:
        conn.execute("VACUUM ANALYZE")
    log(
        f"{inst.name}: {viewers // inst.shard_count} viewers and {performers // inst.shard_count} performers "
        f"per shard, funded, logged in{', with stubs on the other shards' if inst.shard_count > 1 else ''} "
        f"in {time.monotonic() - started:.0f} s"
    )


# --- measuring ----------------------------------------------------------------------------------------------


# The WAL position, and the transactions committed in the database (every backend's are reported when it
# exits: the load generator's, the router's PL/Proxy connections', the relay's).
COMMITS_SQL = (
    "SELECT pg_current_wal_lsn()::text, xact_commit FROM pg_stat_database WHERE datname = current_database()"
)


class ClusterMeter:
    """CPU of every process of one cluster (bench/tips.py's /proc reading) and the WAL it wrote."""

    def __init__(self, cluster: Cluster) -> None:
        status = cluster.status()
        if status.pid is None:
            raise RuntimeError(f"the cluster in {cluster.home} is not running")
        self.postmaster = status.pid
        self.conn = connect(cluster.url(DATABASE))
        self.pid = one(self.conn, "SELECT pg_backend_pid()")[0]

    def start(self) -> None:
        self.lsn, self.commits = one(self.conn, COMMITS_SQL)
        self.jiffies, self.processes = tips._stable_cluster_jiffies(self.postmaster)

    def stop(self) -> None:
        # Once the load generator's backends (and, on a shard, the router's PL/Proxy connections and the
        # relay's) have exited and been reaped, their CPU is in the postmaster's cutime/cstime.
        jiffies, _ = tips._stable_cluster_jiffies(self.postmaster, self.processes | {self.pid})
        self.cpu_ms = (jiffies - self.jiffies) * 1000 / os.sysconf("SC_CLK_TCK")
        self.wal_bytes = int(
            one(self.conn, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [self.lsn])[0]
        )
        self.commits = int(one(self.conn, COMMITS_SQL)[1]) - int(self.commits)

    def close(self) -> None:
        self.conn.close()


class ConnectionSampler(threading.Thread):
    """The most connections of the router's PL/Proxy (login role livepanty_router) seen on any shard, sampled
    every half second: PL/Proxy keeps one per router backend and shard it has called."""

    def __init__(self, urls: Sequence[str]) -> None:
        super().__init__(daemon=True)
        self.conns = [connect(u) for u in urls]
        self.most = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for conn in self.conns:
                count = one(
                    conn, "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [shards.ROUTER_ROLE]
                )[0]
                self.most = max(self.most, int(count))

    def stop(self) -> int:
        self.stopping.set()
        if self.is_alive():
            self.join()
        for conn in self.conns:
            conn.close()
        return self.most


@dataclass(frozen=True)
class Case:
    name: str
    inst: Installation
    cross: bool
    script: Path
    relay_mode: str = "batch"


@dataclass
class Run:
    case: str
    clients: int
    round: int
    tps: float
    tips: int
    transactions: int
    p50_ms: float
    p99_ms: float
    router_cpu_ms: float  # 0 for single
    shards_cpu_ms: float  # single: the cluster
    router_wal: int
    shards_wal: int
    shards_commits: int
    machine_pct: float
    client_cpu_ms: float
    idle_wait_busy: float
    proxy_connections: int = 0
    lag_ms: list[float] = field(default_factory=list)
    drain_s: float = 0.0
    verify: str = ""
    clean: bool = True
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def tips_per_s(self) -> float:
        return self.tps * self.tips / max(self.transactions, 1)


def count_rows(inst: Installation) -> tuple[int, int, int]:
    """(lp.tips, lp.transfers_out, lp.transfers_in) summed over the shards."""
    totals = [0, 0, 0]
    for url in inst.shard_urls():
        with connect(url) as conn:
            row = one(
                conn,
                "SELECT (SELECT count(*) FROM lp.tips), (SELECT count(*) FROM lp.transfers_out),"
                " (SELECT count(*) FROM lp.transfers_in)",
            )
            totals = [a + b for a, b in zip(totals, row, strict=True)]
    return totals[0], totals[1], totals[2]


def prepare_run(inst: Installation) -> None:
    """Every run starts from vacuumed tables and a checkpoint on every cluster of its installation."""
    for url in inst.shard_urls():
        with connect(url) as conn:
            conn.execute(
                "VACUUM ANALYZE lp.wallets, lp.wallet_shards, lp.tips, lp.ledger, lp.transfers_out,"
                " lp.transfers_in"
            )
            conn.execute("CHECKPOINT")
    if inst.routed:
        with connect(inst.entry.url(DATABASE)) as conn:
            conn.execute("VACUUM ANALYZE router.users, router.sessions")
            conn.execute("CHECKPOINT")


def pending_transfers(conns: Sequence[psycopg.Connection]) -> int:
    return sum(
        int(one(c, "SELECT count(*) FROM lp.transfers_out WHERE status = 'pending'")[0]) for c in conns
    )


def relay_per_transfer(dsns: Sequence[str], *, limit: int, interval: float, stop: threading.Event) -> None:
    """The first relay's way (before dfea424): new connections every pass, one transaction per transfer on
    the target."""
    while not stop.is_set():
        stats = shards.relay_once(dsns, limit=limit, batch=False)
        if stats.delivered + stats.duplicates == 0:
            stop.wait(interval)


def relay_lags(inst: Installation, since: datetime.datetime) -> list[float]:
    """Milliseconds from each transfer's outbox row to its inbox row, of the transfers sent from ``since``."""
    sent: dict[object, datetime.datetime] = {}
    received: dict[object, datetime.datetime] = {}
    for url in inst.shard_urls():
        with connect(url) as conn:
            sent.update(
                conn.execute(
                    "SELECT id, created_at FROM lp.transfers_out WHERE created_at >= %s", [since]
                ).fetchall()
            )
            received.update(
                conn.execute(
                    "SELECT id, created_at FROM lp.transfers_in WHERE sent_at >= %s - interval '1 minute'",
                    [since],
                ).fetchall()
            )
    missing = [t for t in sent if t not in received]
    if missing:
        raise RuntimeError(f"{len(missing)} transfers of the run not delivered")
    return sorted((received[t] - at).total_seconds() * 1000 for t, at in sent.items())


def verify(inst: Installation) -> tuple[bool, str]:
    if not inst.routed:
        with connect(inst.entry.url(DATABASE)) as conn:
            found = one(conn, "SELECT count(*) FROM api.verify_ledger()")[0]
        return (
            found == 0,
            "api.verify_ledger(): clean" if found == 0 else f"api.verify_ledger(): {found} rows",
        )
    report = shards.verify_all(inst.shard_urls(), router_dsn=inst.entry.url(DATABASE))
    clean = report.clean and report.in_transit == 0 and report.transit_total == 0 and report.pending == 0
    text = (
        f"verify_all: ledgers "
        f"{'clean' if not any(report.ledger_problems.values()) else report.ledger_problems}, "
        f"{len(report.problems)} problems, in transit {report.in_transit}, in-transit wallets "
        f"{report.transit_total}, pending {report.pending}"
    )
    if report.problems:
        text += f" ({report.problems[:3]})"
    return clean, text


def run_pgbench(
    inst: Installation, workdir: Path, case: Case, clients: int, duration: int
) -> tuple[float, int, list[int], Counter[str]]:
    prefix = workdir / re.sub(r"[^A-Za-z0-9]+", "_", f"{case.name}_{clients}")
    argv = [
        str(pg_bin() / "pgbench"),
        "-h",
        "127.0.0.1",
        "-p",
        str(inst.entry.port),
        "-U",
        tips.APP_LOGIN,
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
        "-f",
        str(case.script),
        DATABASE,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, check=False)
    output = result.stdout + result.stderr
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", output, re.MULTILINE)
    processed = re.search(r"^number of transactions actually processed: (\d+)", output, re.MULTILINE)
    if tps is None or processed is None:
        raise RuntimeError(f"pgbench gave no result for {case.name} at {clients} clients:\n{output}")
    errors: Counter[str] = Counter()
    failed = re.search(r"^number of failed transactions: (\d+)", output, re.MULTILINE)
    if failed and int(failed.group(1)):
        errors["pgbench: failed transactions"] = int(failed.group(1))
    aborted = re.findall(r"client \d+ (?:script \d+ )?aborted[^\n]*", output)
    if aborted:
        errors["pgbench: aborted clients"] = len(aborted)
        log(f"  pgbench: {aborted[0][:300]}")
    if result.returncode != 0 and not aborted:
        errors[f"pgbench: exit status {result.returncode}"] += 1
    latencies = sorted(tips._latencies_us(prefix))
    return float(tps.group(1)), int(processed.group(1)), latencies, errors


def run_case(case: Case, clients: int, round_: int, workdir: Path, args: argparse.Namespace) -> Run:
    inst = case.inst
    prepare_run(inst)
    busy = tips.wait_until_quiet(args.quiet_wait)
    if busy >= 10:
        log(f"the machine is still {busy:.0f}% busy after {args.quiet_wait} s of idle-wait: running anyway")
    tips_before, out_before, in_before = count_rows(inst)
    router_meter = ClusterMeter(inst.entry) if inst.routed else None
    shard_meters = [ClusterMeter(c) for c in inst.shard_clusters]
    meters = [m for m in (router_meter, *shard_meters) if m is not None]
    sampler = ConnectionSampler(inst.shard_urls() if inst.routed else [])
    try:
        since = one(shard_meters[0].conn, "SELECT clock_timestamp()")[0]
        for meter in meters:
            meter.start()
        machine = tips._machine_jiffies()
        client = money._client_seconds()
        stop = threading.Event()
        if case.cross:
            # at-once: the router credits each tip before api.tip returns (livepanty-db shards delivery
            # --at-once); the relay runs as in batch mode and finds (nearly) nothing left to deliver.
            shards.delivery_at_once(inst.entry.url(DATABASE), case.relay_mode == "at-once")
        relays = [
            threading.Thread(
                target=relay_per_transfer if case.relay_mode == "per-transfer" else shards.relay,
                args=(inst.shard_urls(),),
                kwargs={"limit": RELAY_BATCH, "interval": RELAY_INTERVAL, "stop": stop},
                daemon=True,
            )
            for _ in range(args.relays if case.cross else 0)
        ]
        for relay in relays:
            relay.start()
        sampler.start()
        tps, transactions, latencies, errors = run_pgbench(inst, workdir, case, clients, args.duration)
        proxy_connections = sampler.stop()
        drain_started = time.monotonic()
        if relays:
            # The transfers of the run are delivered inside the measured window: their credit is part of a
            # cross-shard tip's cost on the shards.
            deadline = drain_started + 120
            while pending_transfers([m.conn for m in shard_meters]) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            for relay in relays:
                relay.join()
        drain_s = time.monotonic() - drain_started
        machine_end = tips._machine_jiffies()
        client_end = money._client_seconds()
        for meter in meters:
            meter.stop()
    finally:
        sampler.stop()
        for meter in meters:
            meter.close()
    tips_after, out_after, in_after = count_rows(inst)
    if case.cross:
        accepted = out_after - out_before
        if in_after - in_before != accepted:
            errors["transfers sent but not received"] += accepted - (in_after - in_before)
        lags = relay_lags(inst, since)
    else:
        accepted = tips_after - tips_before
        lags = []
    if accepted != transactions:
        errors["tips committed by pgbench but not in the tables"] += transactions - accepted
    clean, text = verify(inst)
    elapsed = max(machine_end[1] - machine[1], 1)
    return Run(
        case=case.name,
        clients=clients,
        round=round_,
        tps=tps,
        tips=accepted,
        transactions=transactions,
        p50_ms=tips._percentile(latencies, 0.50) / 1000,
        p99_ms=tips._percentile(latencies, 0.99) / 1000,
        router_cpu_ms=router_meter.cpu_ms if router_meter else 0.0,
        shards_cpu_ms=sum(m.cpu_ms for m in shard_meters),
        router_wal=router_meter.wal_bytes if router_meter else 0,
        shards_wal=sum(m.wal_bytes for m in shard_meters),
        shards_commits=sum(m.commits for m in shard_meters),
        machine_pct=100 * (machine_end[0] - machine[0]) / elapsed,
        client_cpu_ms=(client_end - client) * 1000,
        idle_wait_busy=busy,
        proxy_connections=proxy_connections,
        lag_ms=lags,
        drain_s=drain_s,
        verify=text,
        clean=clean,
        errors=errors,
    )


def lag_percentile(lags: list[float], fraction: float) -> float:
    if not lags:
        return float("nan")
    rank = max(1, int(-(-fraction * len(lags) // 1)))
    return lags[min(rank, len(lags)) - 1]


def describe(run: Run) -> str:
    n = max(run.tips, 1)
    text = (
        f"{run.tips_per_s:.0f} tips/s, p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms, CPU ms/tip router "
        f"{run.router_cpu_ms / n:.3f} + shards {run.shards_cpu_ms / n:.3f}, WAL B/tip router "
        f"{run.router_wal / n:.0f} + shards {run.shards_wal / n:.0f}, machine {run.machine_pct:.0f}% busy"
    )
    if run.lag_ms:
        text += (
            f", relay lag p50 {lag_percentile(run.lag_ms, 0.5):.1f} ms p99 "
            f"{lag_percentile(run.lag_ms, 0.99):.1f} ms (drained {run.drain_s:.1f} s after the load)"
        )
    text += f"; {run.verify}"
    if run.errors:
        text += f"; ERRORS: {money.format_errors(run.errors)}"
    return text


# --- reporting ----------------------------------------------------------------------------------------------


def report(runs: list[Run], cases: list[Case], clients: list[int], relays: int) -> None:
    grouped: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        grouped.setdefault((run.case, run.clients), []).append(run)

    def med(rs: list[Run], get) -> float:  # type: ignore[no-untyped-def]
        return statistics.median(get(r) for r in rs)

    rows, relay_rows, conditions = [], [], []
    for n in clients:
        single = med(grouped[("single", n)], lambda r: r.tips_per_s)
        for case in cases:
            rs = grouped[(case.name, n)]
            rate = [r.tips_per_s for r in rs]
            router = med(rs, lambda r: r.router_cpu_ms / max(r.tips, 1))
            shard = med(rs, lambda r: r.shards_cpu_ms / max(r.tips, 1))
            errors: Counter[str] = Counter()
            for r in rs:
                errors.update(r.errors)
            rows.append(
                [
                    case.name,
                    str(n),
                    f"{med(rs, lambda r: r.tips_per_s):.0f}",
                    f"{min(rate):.0f}..{max(rate):.0f}",
                    f"{med(rs, lambda r: r.tips_per_s) / single:.2f}",
                    f"{med(rs, lambda r: r.p50_ms):.2f}",
                    f"{med(rs, lambda r: r.p99_ms):.2f}",
                    f"{router:.3f}" if case.inst.routed else "-",
                    f"{shard:.3f}",
                    f"{med(rs, lambda r: (r.router_cpu_ms + r.shards_cpu_ms) / max(r.tips, 1)):.3f}",
                    f"{med(rs, lambda r: r.router_wal / max(r.tips, 1)):.0f}" if case.inst.routed else "-",
                    f"{med(rs, lambda r: r.shards_wal / max(r.tips, 1)):.0f}",
                    f"{med(rs, lambda r: r.shards_commits / max(r.tips, 1)):.2f}",
                    "clean" if all(r.clean for r in rs) else "NOT CLEAN",
                    str(sum(errors.values())),
                ]
            )
            conditions.append(
                [
                    case.name,
                    str(n),
                    f"{med(rs, lambda r: r.proxy_connections):.0f}" if case.inst.routed else "-",
                    f"{med(rs, lambda r: r.client_cpu_ms / max(r.tips, 1)):.3f}",
                    f"{med(rs, lambda r: r.machine_pct):.0f}",
                    f"{max(r.idle_wait_busy for r in rs):.0f}",
                    money.format_errors(errors) if errors else "",
                ]
            )
            if case.cross:
                relay_rows.append(
                    [
                        case.name,
                        str(n),
                        f"{med(rs, lambda r: len(r.lag_ms)):.0f}",
                        f"{med(rs, lambda r: lag_percentile(r.lag_ms, 0.5)):.1f}",
                        f"{med(rs, lambda r: lag_percentile(r.lag_ms, 0.99)):.1f}",
                        f"{min(lag_percentile(r.lag_ms, 0.99) for r in rs):.1f}.."
                        f"{max(lag_percentile(r.lag_ms, 0.99) for r in rs):.1f}",
                        f"{max(r.lag_ms[-1] for r in rs if r.lag_ms):.1f}",
                        f"{med(rs, lambda r: r.drain_s):.1f}",
                    ]
                )
    print(
        money.markdown(
            [
                "case",
                "clients",
                "tips/s",
                "min..max",
                "x single",
                "p50 ms",
                "p99 ms",
                "router CPU ms/tip",
                "shards CPU ms/tip",
                "total CPU ms/tip",
                "router WAL B/tip",
                "shards WAL B/tip",
                "shard commits/tip",
                "verify_all",
                "errors",
            ],
            rows,
            "l" + "r" * 12 + "lr",
        )
    )
    print(
        "\nmedians over the rounds; CPU: every process of the router's cluster / of the shard clusters "
        "(summed), per tip the run added (cross: with the relay's delivery, inside the window); x single: "
        "tips/s over the single node's at the same clients.\n"
    )
    print(
        money.markdown(
            [
                "case",
                "clients",
                "PL/Proxy connections per shard (max)",
                "client CPU ms/tip",
                "machine CPU %",
                "idle-wait busy % (max)",
                "errors (all rounds)",
            ],
            conditions,
            "lrrrrrl",
        )
    )
    print(
        "\nclient CPU: pgbench and, for cross-shard runs, the relay threads of this process; machine CPU: "
        "every core, over the measured window.\n"
    )
    if relay_rows:
        print(
            money.markdown(
                [
                    "case",
                    "clients",
                    "transfers/run",
                    "lag p50 ms",
                    "lag p99 ms",
                    "p99 min..max",
                    "lag max ms",
                    "drain after load s",
                ],
                relay_rows,
                "lrrrrrrr",
            )
        )
        print(
            "\nrelay lag: transfers_in.created_at - transfers_out.created_at of every transfer of the run "
            f"(medians over the rounds; max: over all rounds); {relays} relay thread(s), batch "
            f"{RELAY_BATCH}, interval {RELAY_INTERVAL} s."
        )


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every case (default 3)")
    parser.add_argument("--clients", default="4,16", help="client counts, comma-separated (default 4,16)")
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=60,
        help="before each run, wait up to this many seconds for the machine to be idle (default 60)",
    )
    parser.add_argument(
        "--viewers", type=int, default=4000, help="viewers (default 4000; split over the shards)"
    )
    parser.add_argument("--performers", type=int, default=100, help="performers (default 100)")
    parser.add_argument(
        "--relays", type=int, default=1, help="relay workers (threads) during cross-shard runs (default 1)"
    )
    parser.add_argument(
        "--relay-modes",
        default="batch",
        help="relay modes of the cross-shard runs, comma-separated: batch (the relay's way: a batch per "
        "transaction on the target, connections kept), per-transfer (the first relay's way: one transaction "
        "per transfer, new connections every pass), at-once (the router credits each tip before api.tip "
        "returns, livepanty-db shards delivery --at-once, the batch relay running too); several: each is a "
        "case (default batch)",
    )
    parser.add_argument(
        "--shard-counts", default="1,2,4", help="routed installations to measure (default 1,2,4)"
    )
    parser.add_argument(
        "--cross-only", action="store_true", help="only the single node and the cross-shard cases"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the clusters running and their files in place"
    )
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in args.clients.split(",")})
    args.relay_modes = [m.strip() for m in args.relay_modes.split(",") if m.strip()]
    if not args.relay_modes or set(args.relay_modes) - set(RELAY_MODES):
        parser.error(f"--relay-modes: one or more of {', '.join(RELAY_MODES)}")
    args.shard_counts = sorted({int(n) for n in args.shard_counts.split(",")})
    if not args.shard_counts or set(args.shard_counts) - set(SHARD_COUNTS):
        parser.error(f"--shard-counts: one or more of {', '.join(map(str, SHARD_COUNTS))}")
    if args.rounds < 1 or args.duration < 1 or min(args.clients) < 1 or args.relays < 1:
        parser.error("need at least one round, one second, one client and one relay")
    if args.viewers < 4 * max(SHARD_COUNTS) or args.performers < max(SHARD_COUNTS):
        parser.error(f"need at least {4 * max(SHARD_COUNTS)} viewers and {max(SHARD_COUNTS)} performers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, tips._terminate)
    home = Path(tempfile.mkdtemp(prefix="livepanty-bench-shards-"))
    home.chmod(0o755)
    workdir = home / "pgbench"
    workdir.mkdir()
    options = [f"{k}={v}" for k, v in tips.SERVER_SETTINGS.items()]
    installations: list[Installation] = []
    started = time.monotonic()
    try:
        print(f"load average before set-up: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        installations.append(start_installation(home / "single", "single", None, options))
        for n in args.shard_counts:
            installations.append(start_installation(home / f"router{n}", f"router-{n}", n, options))
        for inst in installations:
            setup_users(inst, args.viewers, args.performers)
        with connect(installations[0].entry.url("postgres")) as conn:
            version = one(conn, "SHOW server_version")[0]
            shown = {
                name: one(conn, sql.SQL("SHOW {}").format(sql.Identifier(name)).as_string(conn))[0]
                for name in tips.SERVER_SETTINGS
            }
        header = [
            f"PostgreSQL {version}; {money.machine_description()}; "
            f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            f"code measured: {tips.code_revision()}",
            "server settings (every cluster): " + ", ".join(f"{k}={v}" for k, v in shown.items()),
            f"runs: {args.duration} s each, {args.rounds} rounds (case order rotated), clients "
            f"{','.join(map(str, args.clients))}, pgbench -M extended -j min(clients, 2); tips of "
            f"{tips.TIP_MIN}..{tips.TIP_MAX} tokens; {args.viewers} viewers and {args.performers} performers "
            "in every installation, split evenly over its shards",
        ]
        print("\n".join(header))

        cases: list[Case] = []
        for inst in installations:
            n = inst.shard_count
            for cross in (False, True) if n > 1 else (False,):
                if args.cross_only and inst.routed and not cross:
                    continue
                name = "single" if not inst.routed else f"{inst.name} {'cross' if cross else 'same'}"
                script = workdir / (re.sub(r"[^A-Za-z0-9]+", "_", name) + ".sql")
                script.write_text(tip_script(n, cross, args.viewers // n, args.performers // n))
                for mode in args.relay_modes if cross else ("batch",):
                    label = f"{name} {mode}" if cross and len(args.relay_modes) > 1 else name
                    cases.append(Case(label, inst, cross, script, mode))

        runs: list[Run] = []
        for round_ in range(args.rounds):
            order = cases[round_ % len(cases) :] + cases[: round_ % len(cases)]
            for clients in args.clients:
                for case in order:
                    log(f"round {round_ + 1}/{args.rounds}, {case.name}, {clients} clients")
                    run = run_case(case, clients, round_, workdir, args)
                    log(f"  {describe(run)}")
                    runs.append(run)

        print("\n" + "\n".join(header))
        print(
            f"total {(time.monotonic() - started) / 60:.1f} min including set-up; idle-wait: "
            f"{sum(r.idle_wait_busy >= 10 for r in runs)} of {len(runs)} runs started with the machine still "
            f">= 10% busy (max {max(r.idle_wait_busy for r in runs):.0f}%)\n"
        )
        report(runs, cases, args.clients, args.relays)
        unclean = [r for r in runs if not r.clean]
        errors = sum(sum(r.errors.values()) for r in runs)
        print(
            f"\nconsistency after every run ({len(runs)} runs): "
            + ("clean" if not unclean else f"NOT CLEAN in {len(unclean)} runs: {unclean[0].verify}")
        )
        if unclean:
            return 1
        if errors:
            print(f"{errors:,} errors during the runs (see the table): exit status 2")
            return 2
        return 0
    finally:
        if args.keep:
            print(f"\n--keep: the clusters still run (home {home})")
        else:
            for inst in installations:
                inst.destroy()
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
