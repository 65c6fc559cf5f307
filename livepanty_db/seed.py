"""Generate a realistic platform at volume: ``livepanty-db seed`` (issue 11, "Realistic volume").

What it makes, in ONE transaction (an interrupted or refused seed leaves nothing behind):

* ``users`` viewers and ``performers`` performers, each with preferences and a wallet exactly as
  ``api.register_user`` makes them (performers with ``wallets.performer_shards`` credit shards), one bcrypt
  hash of ``password`` shared by all of them (computed once by ``lp.hash_password``, at
  ``auth.bcrypt_cost``); registered between 61 and 1 days before the first day;
* every performer with an approved identity verification (``lp.kyc_verifications``, the KYC gate's trigger
  sets ``lp.users.kyc_valid_until``), reviewed a day after registering;
* one public stream per performer per day (ended, with the host on camera and their recorded consent), its
  final statistics (``tips_count``, ``tips_tokens``) as ``api.end_stream`` leaves them;
* ``tips`` tips over ``days`` days ending at ``until``, each naming the recipient's stream of that day and
  made while it was live. Who is tipped and who tips follow Zipf laws (rank ``k`` has weight ``1 / k ** s``:
  :data:`PERFORMER_EXPONENT` for performers, :data:`VIEWER_EXPONENT` for viewers), so a few performers get
  most tips and a few viewers spend most tokens; amounts are drawn from :data:`TIP_AMOUNTS`;
* the purchases that pay for them: whenever a viewer's next tip would exceed what they bought, they complete
  purchases of their bundle first (completed payments, ``purchase`` ledger transactions, as
  ``api.complete_payment``), so no balance ever goes below zero;
* the ledger: one transaction per tip (sender main ``-amount``, recipient credit shard ``+(amount - fee)``,
  ``platform_fees`` shard ``+fee``, with ``fee = floor(amount * tips.fee_bps / 10000)`` and zero legs left
  out, as ``api.tip`` through ``lp.post``) and one per purchase (buyer ``+tokens``, an ``issuance`` shard
  ``-tokens``), each entry with the exact before/after balance of its account, legs in ``lp.post``'s order,
  ledger ids in time order. Credit shards are drawn at random, as concurrent tips spread over them;
* each spender's fraud-control counter row (``lp.spend_counters``) as ``lp.count_spend`` leaves it.

Not generated (the API would have made them, none is read by a money check): audit log rows of the
registrations, approvals and streams, stream events (``api.purge_stream_events`` removes them after their
retention anyway) and viewing sessions (a tip does not need one).

Locks: ``lp.users`` (no registration meanwhile), the system wallets' shards (no posting), and ``lp.tips`` and
``lp.ledger`` exclusively (their secondary indexes are dropped and rebuilt in the transaction), until commit.

Written set-based (temporary tables, ``INSERT ... SELECT``), through the parent tables only (a partitioned
``lp.ledger`` takes the rows as they are), so that the result passes ``api.verify_ledger`` exactly as if every
tip had gone through ``api.tip``. Reproducible: with the same ``seed`` and ``until`` every row is the same,
ids included (they are derived from the seed: time-ordered uuid v7 for tips and tip transactions, as
``lp.uuid_v7`` makes them, random-looking v4 for the rest).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import psycopg.sql

#: Zipf exponents: rank k gets weight 1 / k**s. 1.5 for performers: the top tenth of them receive more than
#: half of all tips from ten performers up (audience concentration of cam platforms); 1.1 for viewers.
PERFORMER_EXPONENT = 1.5
VIEWER_EXPONENT = 1.1

#: Tip amounts (tokens) and their relative weights; amounts outside tips.min_tokens..tips.max_tokens are
#: dropped. 1 and 5 leave a fee of 0 at the default 20 %: two-legged transactions, as api.tip writes them.
TIP_AMOUNTS: tuple[tuple[int, int], ...] = (
    (1, 3), (5, 7), (10, 20), (20, 15), (25, 10), (50, 18), (100, 14), (200, 6), (500, 4), (1000, 2),
    (2500, 1),
)

#: Largest values accepted (a bigger seed is a mistake, not a benchmark).
MAX_USERS = 10_000_000
MAX_PERFORMERS = 1_000_000
MAX_DAYS = 3650
MAX_TIPS = 100_000_000
#: Ledger entries written per INSERT (one progress step).
BATCH_ENTRIES = 500_000

DEFAULT_PASSWORD = "livepanty seed password"  # noqa: S105 (documented, for development)

CATEGORIES = ("chat", "dance", "music", "cosplay", "fitness", "gaming")
MESSAGES = ("hi!", "love this", "encore", "for the song", "great show", "you rock", "thanks")


class SeedError(Exception):
    """A seed refused before anything was written (the message says why)."""


@dataclass(frozen=True)
class SeedResult:
    """What a seed wrote."""

    users: int
    performers: int
    streams: int
    tips: int
    purchases: int
    ledger_entries: int
    tokens_tipped: int
    fees: int
    first_at: datetime
    until: datetime
    seed: int
    seconds: float

    def rows(self) -> list[dict[str, object]]:
        return [{"key": k, "value": v} for k, v in self.__dict__.items()]


def zipf_cdf(count: int, exponent: float) -> list[float]:
    """Thresholds for ``width_bucket(random(), thresholds)``: the cumulative weights of ranks 1..count-1
    (rank k weighs 1 / k**exponent), so the bucket (0..count-1) is the rank minus one."""
    weights = [1.0 / (k**exponent) for k in range(1, count + 1)]
    total = sum(weights)
    out: list[float] = []
    running = 0.0
    for w in weights[:-1]:
        running += w
        out.append(running / total)
    return out or [2.0]


def _amount_table(min_tokens: int, max_tokens: int) -> tuple[list[int], list[float]]:
    chosen = [(a, w) for a, w in TIP_AMOUNTS if min_tokens <= a <= max_tokens] or [(min_tokens, 1)]
    total = sum(w for _, w in chosen)
    cdf: list[float] = []
    running = 0
    for _, w in chosen[:-1]:
        running += w
        cdf.append(running / total)
    return [a for a, _ in chosen], cdf or [2.0]


def validate(users: int, performers: int, days: int, tips: int) -> None:
    """Refuse impossible sizes before connecting (SeedError)."""
    for name, value, low, high in (
        ("users", users, 1, MAX_USERS),
        ("performers", performers, 1, MAX_PERFORMERS),
        ("days", days, 1, MAX_DAYS),
        ("tips", tips, 0, MAX_TIPS),
    ):
        if not low <= value <= high:
            raise SeedError(f"--{name} must be between {low} and {high}, not {value}")


# Expressions shared by the statements below (pg_temp functions: nothing is created in the database).
_HELPERS = """
CREATE FUNCTION pg_temp.seed_v4(h text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid
$$;
CREATE FUNCTION pg_temp.seed_v7(t timestamptz, h text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3)
            || '8' || substr(h, 4, 15))::uuid
$$;
"""


class _Steps:
    """The seed's statements, run one after the other in the caller's transaction."""

    def __init__(self, conn: psycopg.Connection, params: dict[str, object]):
        self.conn = conn
        self.p = params

    def run(self, sql: str) -> int:
        cur = self.conn.execute(sql, self.p)  # type: ignore[arg-type]
        return cur.rowcount

    def value(self, sql: str) -> object:
        row = self.conn.execute(sql, self.p).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def seed(
    dsn: str,
    *,
    users: int,
    performers: int,
    days: int,
    tips: int,
    seed_value: int | None = None,
    until: datetime | None = None,
    force: bool = False,
    password: str = DEFAULT_PASSWORD,
    progress: Callable[[str, int], None] | None = None,
) -> SeedResult:
    """Seed the database at ``dsn`` (a superuser or the owner's login: row level security is bypassed by the
    statements, which write the tables directly). See the module docstring. ``progress(step, ledger_rows)`` is
    called after each step. Raises :class:`SeedError` when refused (nothing written)."""
    import time

    validate(users, performers, days, tips)
    started = time.perf_counter()
    seed_value = secrets.randbelow(2**31) if seed_value is None else seed_value
    if not 0 <= seed_value < 2**31:
        raise SeedError(f"--seed must be between 0 and {2**31 - 1}")
    until = (until or datetime.now(UTC)).astimezone(UTC)
    first = until - timedelta(days=days)
    step = progress or (lambda _name, _rows: None)

    connect = psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor)
    with connect as conn, conn.transaction():
        is_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        if not (is_super and is_super[0]):
            raise SeedError("seed writes the tables directly: connect as a superuser (the DBA's login)")
        if conn.execute("SELECT to_regclass('lp.ledger') IS NULL").fetchone() == (True,):
            raise SeedError("the database is not migrated (no lp.ledger): run `livepanty-db migrate` first")
        # One seed at a time, and no registration meanwhile; the system wallets' shards (their chains continue
        # where they are) are locked until commit, so no posting runs meanwhile either.
        conn.execute("LOCK TABLE lp.users IN SHARE ROW EXCLUSIVE MODE")
        existing = conn.execute("SELECT count(*) FROM lp.users").fetchone()[0]  # type: ignore[index]
        if existing and not force:
            raise SeedError(
                f"the database already has {existing} user(s): seed fills an empty platform"
                " (pass --force to add the seeded platform to it)"
            )
        settings = dict(
            conn.execute(
                "SELECT key, value #>> '{}' FROM lp.settings WHERE key IN"
                " ('tips.fee_bps', 'tips.min_tokens', 'tips.max_tokens', 'wallets.performer_shards')"
            ).fetchall()
        )
        missing = {"tips.fee_bps", "tips.min_tokens", "tips.max_tokens", "wallets.performer_shards"}
        missing -= set(settings)
        if missing:
            raise SeedError(f"settings missing: {', '.join(sorted(missing))}")
        bundles = conn.execute(
            "SELECT code, tokens, price_minor, currency FROM lp.token_bundles"
            " WHERE active ORDER BY tokens, code"
        ).fetchall()
        if not bundles:
            raise SeedError("no active token bundle to buy tokens with (livepanty-db config bundle ...)")
        system = dict(
            conn.execute(
                "SELECT system_code, shard_count FROM lp.wallets"
                " WHERE system_code IN ('issuance', 'platform_fees')"
            ).fetchall()
        )
        for code in ("issuance", "platform_fees"):
            if not system.get(code):
                raise SeedError(f"the system wallet {code} (with credit shards) is missing")

        low, high = int(settings["tips.min_tokens"]), int(settings["tips.max_tokens"])
        amounts, amount_cdf = _amount_table(low, high)
        params: dict[str, object] = {
            "tag": f"{seed_value}:{existing}",
            "n_users": users,
            "n_perf": performers,
            "days": days,
            "n_tips": tips,
            "first": first,
            "until": until,
            "fee_bps": int(settings["tips.fee_bps"]),
            "perf_shards": int(settings["wallets.performer_shards"]),
            "fee_shards": int(system["platform_fees"]),
            "iss_shards": int(system["issuance"]),
            "perf_cdf": zipf_cdf(performers, PERFORMER_EXPONENT),
            "viewer_cdf": zipf_cdf(users, VIEWER_EXPONENT),
            "amounts": amounts,
            "amount_cdf": amount_cdf,
            "b_codes": [b[0] for b in bundles],
            "b_tokens": [int(b[1]) for b in bundles],
            "b_prices": [int(b[2]) for b in bundles],
            "b_currency": [b[3] for b in bundles],
            "categories": list(CATEGORIES),
            "messages": list(MESSAGES),
            "password": password,
            "rseed": seed_value / 2**31,
        }
        s = _Steps(conn, params)
        _run(s, step)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM seed_streams), (SELECT count(*) FROM seed_tips),"
            " (SELECT count(*) FROM seed_buys), (SELECT count(*) FROM seed_ledger),"
            " (SELECT coalesce(sum(amount), 0) FROM seed_tips), (SELECT coalesce(sum(fee), 0) FROM seed_tips)"
        ).fetchone() or (0, 0, 0, 0, 0, 0)
    return SeedResult(
        users=users,
        performers=performers,
        streams=int(counts[0]),
        tips=int(counts[1]),
        purchases=int(counts[2]),
        ledger_entries=int(counts[3]),
        tokens_tipped=int(counts[4]),
        fees=int(counts[5]),
        first_at=first,
        until=until,
        seed=seed_value,
        seconds=round(time.perf_counter() - started, 1),
    )


#: The steps before the ledger batches (name, statements); each is one progress step.
_PREPARE: Sequence[tuple[str, str]] = (
    (
        "settings",
        # Deterministic: no parallel plans (random() is called in one order), one seeded generator.
        """
        SET LOCAL max_parallel_workers_per_gather = 0;
        SET LOCAL work_mem = '256MB';
        SET LOCAL jit = off;
        SET LOCAL synchronous_commit = on;
        SELECT setseed(%(rseed)s);
        SELECT 1 FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id
         WHERE w.system_code IN ('issuance', 'platform_fees') ORDER BY s.wallet_id, s.shard FOR NO KEY UPDATE;
        """,
    ),
    (
        "users",
        """
        CREATE TEMP TABLE seed_hash ON COMMIT DROP AS SELECT lp.hash_password(%(password)s) AS h;
        CREATE TEMP TABLE seed_viewers ON COMMIT DROP AS
        SELECT n, pg_temp.seed_v4(md5(%(tag)s || ':u:' || n)) AS id,
               pg_temp.seed_v4(md5(%(tag)s || ':w:' || n)) AS wallet_id,
               %(first)s::timestamptz - interval '1 day' - random() * interval '60 days' AS created_at,
               -- the heaviest spenders buy the largest bundle, the others any
               CASE WHEN n <= greatest(1, %(n_users)s / 50) THEN cardinality(%(b_tokens)s::bigint[])
                    ELSE 1 + floor(random() * cardinality(%(b_tokens)s::bigint[]))::integer END AS bundle,
               (1940 + floor(random() * 60))::integer AS born
          FROM generate_series(1, %(n_users)s) AS n;
        CREATE TEMP TABLE seed_performers ON COMMIT DROP AS
        SELECT n, pg_temp.seed_v4(md5(%(tag)s || ':p:' || n)) AS id,
               pg_temp.seed_v4(md5(%(tag)s || ':pw:' || n)) AS wallet_id,
               %(first)s::timestamptz - interval '2 days' - random() * interval '60 days' AS created_at,
               random() * 18 AS start_hour,
               (1960 + floor(random() * 40))::integer AS born
          FROM generate_series(1, %(n_perf)s) AS n;
        """,
    ),
    (
        "streams",
        """
        CREATE TEMP TABLE seed_streams ON COMMIT DROP AS
        SELECT p.n AS p, d, pg_temp.seed_v4(md5(%(tag)s || ':s:' || p.n || ':' || d)) AS id, x.started_at,
               x.started_at + interval '2 hours' + random() * interval '3 hours' AS ended_at,
               (%(categories)s::text[])[1 + (p.n %% cardinality(%(categories)s::text[]))] AS category
          FROM seed_performers AS p
         CROSS JOIN generate_series(0, %(days)s - 1) AS d
         CROSS JOIN LATERAL (SELECT %(first)s::timestamptz + make_interval(days => d)
                                    + (p.start_hour + random()) * interval '1 hour' AS started_at) AS x;
        CREATE UNIQUE INDEX ON seed_streams (p, d);
        """,
    ),
    (
        "tips",
        """
        CREATE TEMP TABLE seed_tip_raw ON COMMIT DROP AS
        SELECT n,
               1 + width_bucket(random(), %(perf_cdf)s::float8[]) AS p,
               1 + width_bucket(random(), %(viewer_cdf)s::float8[]) AS v,
               (%(amounts)s::bigint[])[1 + width_bucket(random(), %(amount_cdf)s::float8[])] AS amount,
               floor(random() * %(days)s)::integer AS d,
               random() AS at,
               (1 + floor(random() * %(perf_shards)s))::smallint AS shard,
               (1 + floor(random() * %(fee_shards)s))::smallint AS fee_shard,
               random() < 0.08 AS anonymous,
               CASE WHEN random() < 0.15
                    THEN (%(messages)s::text[])[1 + floor(random()
                                                          * cardinality(%(messages)s::text[]))::integer]
               END AS message
          FROM generate_series(1, %(n_tips)s) AS n;
        CREATE TEMP TABLE seed_tips ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY x.created_at, x.n) AS seq, x.*,
               pg_temp.seed_v7(x.created_at, x.ht) AS id, pg_temp.seed_v7(x.created_at, x.hx) AS tx
          FROM (SELECT md5(%(tag)s || ':t:' || r.n) AS ht, md5(%(tag)s || ':x:' || r.n) AS hx, r.n, r.v, r.p,
                       r.amount, r.amount * %(fee_bps)s / 10000 AS fee, r.shard, r.fee_shard,
                       r.anonymous, r.message, s.id AS stream_id,
                       s.started_at + r.at * (s.ended_at - s.started_at) AS created_at,
                       v.id AS sender_id, v.wallet_id AS sender_wallet, pf.id AS recipient_id,
                       pf.wallet_id AS recipient_wallet
                  FROM seed_tip_raw AS r
                  JOIN seed_streams AS s ON s.p = r.p AND s.d = r.d
                  JOIN seed_viewers AS v ON v.n = r.v
                  JOIN seed_performers AS pf ON pf.n = r.p) AS x;
        DROP TABLE seed_tip_raw;
        """,
    ),
    (
        "purchases",
        # Before the tip that would overdraw, the purchases of the viewer's bundle that cover it: k purchases
        # needed once the running spend is S (k = ceil(S / bundle)), one minute apart, the last a minute
        # before the tip.
        """
        CREATE TEMP TABLE seed_buys ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY y.completed_at, y.v, y.j) AS n, y.*,
               pg_temp.seed_v4(md5(%(tag)s || ':b:' || y.v || ':' || y.j)) AS id,
               pg_temp.seed_v4(md5(%(tag)s || ':bx:' || y.v || ':' || y.j)) AS tx
          FROM (SELECT x.v, j, x.sender_id AS user_id, x.sender_wallet AS wallet_id, x.bundle,
                       x.created_at - (x.k - j + 1) * interval '1 minute' AS completed_at
                  FROM (SELECT t.v, t.sender_id, t.sender_wallet, t.created_at, vw.bundle,
                               ceil(sum(t.amount) OVER w::numeric
                                    / (%(b_tokens)s::bigint[])[vw.bundle])::bigint AS k,
                               ceil((sum(t.amount) OVER w - t.amount)::numeric
                                    / (%(b_tokens)s::bigint[])[vw.bundle])::bigint AS k0
                          FROM seed_tips AS t JOIN seed_viewers AS vw ON vw.n = t.v
                        WINDOW w AS (PARTITION BY t.v ORDER BY t.seq)) AS x
                 CROSS JOIN LATERAL generate_series(x.k0 + 1, x.k) AS j) AS y;
        """,
    ),
    (
        "ledger plan",
        # Every entry, in lp.post's leg order (user wallets by id, the main balance before the shards, then
        # the system wallets), numbered in time order; balance_after is the running sum of the account's
        # chain, continuing from the current balance of the system shards.
        """
        CREATE TEMP TABLE seed_ledger ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY e.at, e.src, e.n, e.leg) AS ord, e.at, e.src, e.leg, e.tx,
               e.wallet_id, e.shard, e.amount, e.ref_id,
               (coalesce(ws.balance, 0)
                + sum(e.amount) OVER (PARTITION BY e.wallet_id, e.shard
                                      ORDER BY e.at, e.src, e.n, e.leg))::bigint AS balance_after
          FROM (SELECT t.created_at AS at, 2 AS src, t.seq AS n, l.leg, t.tx, l.wallet_id, l.shard, l.amount,
                       t.id AS ref_id
                  FROM seed_tips AS t
                 CROSS JOIN LATERAL (VALUES
                        (CASE WHEN t.sender_wallet < t.recipient_wallet THEN 1 ELSE 2 END, t.sender_wallet,
                         0::smallint, -t.amount),
                        (CASE WHEN t.sender_wallet < t.recipient_wallet THEN 2 ELSE 1 END, t.recipient_wallet,
                         t.shard, t.amount - t.fee),
                        (3, (SELECT w.id FROM lp.wallets AS w WHERE w.system_code = 'platform_fees'),
                         t.fee_shard, t.fee)) AS l (leg, wallet_id, shard, amount)
                 WHERE l.amount <> 0
                UNION ALL
                SELECT b.completed_at, 1, b.n, l.leg, b.tx, l.wallet_id, l.shard, l.amount, b.id
                  FROM seed_buys AS b
                 CROSS JOIN LATERAL (VALUES
                        (1, b.wallet_id, 0::smallint, (%(b_tokens)s::bigint[])[b.bundle]),
                        (2, (SELECT w.id FROM lp.wallets AS w WHERE w.system_code = 'issuance'),
                         (1 + (b.n %% %(iss_shards)s))::smallint, -(%(b_tokens)s::bigint[])[b.bundle]))
                        AS l (leg, wallet_id, shard, amount)) AS e
          LEFT JOIN lp.wallet_shards AS ws ON ws.wallet_id = e.wallet_id AND ws.shard = e.shard
         ORDER BY 1;
        CREATE UNIQUE INDEX ON seed_ledger (ord);
        """,
    ),
    (
        "users, wallets, KYC",
        """
        INSERT INTO lp.users (id, email, username, display_name, password_hash, role, date_of_birth,
                              country_code, email_verified_at, age_verified_at, password_changed_at,
                              created_at, updated_at)
        SELECT id, 'viewer' || n || '.' || substr(md5(%(tag)s), 1, 6) || '@seed.example.com',
               'v' || substr(md5(%(tag)s), 1, 6) || '_' || n, NULL, (SELECT h FROM seed_hash), 'viewer',
               make_date(born, 1 + n %% 12, 1 + n %% 28), 'US', created_at, NULL, created_at, created_at,
               created_at
          FROM seed_viewers ORDER BY n;
        INSERT INTO lp.users (id, email, username, display_name, password_hash, role, date_of_birth,
                              country_code, email_verified_at, age_verified_at, password_changed_at,
                              created_at, updated_at)
        SELECT id, 'performer' || n || '.' || substr(md5(%(tag)s), 1, 6) || '@seed.example.com',
               'p' || substr(md5(%(tag)s), 1, 6) || '_' || n, 'Performer ' || n, (SELECT h FROM seed_hash),
               'performer', make_date(born, 1 + n %% 12, 1 + n %% 28), 'DE', created_at,
               created_at + interval '1 day', created_at, created_at, created_at
          FROM seed_performers ORDER BY n;
        INSERT INTO lp.user_preferences (user_id, updated_at)
        SELECT id, created_at FROM seed_viewers UNION ALL SELECT id, created_at FROM seed_performers;
        INSERT INTO lp.wallets (id, kind, user_id, balance, shard_count, created_at, updated_at)
        SELECT v.id_w, 'user', v.id, coalesce(b.balance, 0), 0, v.created_at, coalesce(b.at, v.created_at)
          FROM (SELECT wallet_id AS id_w, id, created_at FROM seed_viewers) AS v
          LEFT JOIN (SELECT wallet_id, sum(amount) AS balance, max(at) AS at FROM seed_ledger
                      WHERE shard = 0 GROUP BY wallet_id) AS b ON b.wallet_id = v.id_w;
        INSERT INTO lp.wallets (id, kind, user_id, balance, shard_count, created_at, updated_at)
        SELECT wallet_id, 'user', id, 0, %(perf_shards)s, created_at, created_at FROM seed_performers;
        INSERT INTO lp.wallet_shards (wallet_id, shard, balance)
        SELECT p.wallet_id, s, coalesce(b.balance, 0)
          FROM seed_performers AS p
         CROSS JOIN generate_series(1, %(perf_shards)s) AS s
          LEFT JOIN (SELECT wallet_id, shard, sum(amount) AS balance FROM seed_ledger
                      WHERE shard > 0 GROUP BY wallet_id, shard) AS b
                 ON b.wallet_id = p.wallet_id AND b.shard = s;
        UPDATE lp.wallet_shards AS ws SET balance = ws.balance + d.total
          FROM (SELECT wallet_id, shard, sum(amount) AS total FROM seed_ledger AS l
                 WHERE l.wallet_id IN (SELECT w.id FROM lp.wallets AS w
                                        WHERE w.system_code IN ('issuance', 'platform_fees'))
                 GROUP BY wallet_id, shard) AS d
         WHERE ws.wallet_id = d.wallet_id AND ws.shard = d.shard;
        INSERT INTO lp.kyc_verifications (id, user_id, level, status, provider, document_type,
                                          document_country, legal_name_encrypted, verified_date_of_birth,
                                          submitted_at, reviewed_at, decided_by, created_at, updated_at)
        SELECT pg_temp.seed_v4(md5(%(tag)s || ':k:' || n)), id, 'identity', 'approved', 'manual', 'passport',
               'DE', lp.kyc_encrypt('Performer ' || n), make_date(born, 1 + n %% 12, 1 + n %% 28),
               created_at + interval '2 hours', created_at + interval '1 day', 'admin',
               created_at + interval '2 hours', created_at + interval '1 day'
          FROM seed_performers ORDER BY n;
        """,
    ),
    (
        "streams, payments",
        """
        INSERT INTO lp.streams (id, host_id, title, category, tags, status, visibility, scheduled_at,
                                started_at, ended_at, end_reason, stream_key_issued_at, created_at,
                                updated_at, tips_count, tips_tokens)
        SELECT s.id, p.id, 'Show of day ' || (s.d + 1), s.category, ARRAY[s.category], 'ended', 'public',
               s.started_at, s.started_at, s.ended_at, 'finished', s.started_at,
               s.started_at - interval '1 hour', s.ended_at, coalesce(t.n, 0), coalesce(t.tokens, 0)
          FROM seed_streams AS s
          JOIN seed_performers AS p ON p.n = s.p
          LEFT JOIN (SELECT stream_id, count(*) AS n, sum(amount) AS tokens FROM seed_tips GROUP BY stream_id)
                    AS t ON t.stream_id = s.id
         ORDER BY s.started_at;
        INSERT INTO lp.stream_performers (stream_id, performer_id, added_at)
        SELECT s.id, p.id, s.started_at - interval '1 hour'
          FROM seed_streams AS s JOIN seed_performers AS p ON p.n = s.p;
        INSERT INTO lp.stream_consents (stream_id, performer_id, consented_at, ip_address)
        SELECT s.id, p.id, s.started_at - interval '5 minutes', '198.51.100.1'::inet + (p.n %% 250)
          FROM seed_streams AS s JOIN seed_performers AS p ON p.n = s.p;
        INSERT INTO lp.payments (id, user_id, provider, provider_reference, bundle_code, tokens, amount_minor,
                                 currency, status, idempotency_key, created_at, updated_at, completed_at)
        SELECT b.id, b.user_id, 'seed', 'seed-' || b.id, (%(b_codes)s::text[])[b.bundle],
               (%(b_tokens)s::bigint[])[b.bundle], (%(b_prices)s::bigint[])[b.bundle],
               (%(b_currency)s::text[])[b.bundle], 'completed', 'seed-' || b.j,
               b.completed_at - interval '30 seconds', b.completed_at, b.completed_at
          FROM seed_buys AS b ORDER BY b.n;
        """,
    ),
)

#: After the tips and the ledger.
_FINISH = """
INSERT INTO lp.spend_counters (user_id, account_created_at, first_payment_at, tip_hour, tips_in_hour,
                               tip_day, tip_tokens_day, purchase_hour, purchases_in_hour, purchase_day,
                               purchase_tokens_day)
SELECT v.id, v.created_at, b.first_at,
       coalesce(t.hour, '-infinity'), coalesce(t.in_hour, 0), coalesce(t.day, '-infinity'),
       coalesce(t.in_day, 0), coalesce(b.hour, '-infinity'), coalesce(b.in_hour, 0),
       coalesce(b.day, '-infinity'), coalesce(b.in_day, 0)
  FROM seed_viewers AS v
  -- lp.count_spend's counters after the user's last tip and last purchase: that clock hour's count, that
  -- UTC day's tokens (a purchase is counted when its payment is created, 30 seconds before it completes)
  LEFT JOIN (SELECT x.v, max(x.hour) AS hour, max(x.day) AS day,
                    count(*) FILTER (WHERE x.hour = x.last_hour)::integer AS in_hour,
                    sum(x.amount) FILTER (WHERE x.day = x.last_day) AS in_day
               FROM (SELECT t.v, t.amount, date_trunc('hour', t.created_at, 'UTC') AS hour,
                            date_trunc('day', t.created_at, 'UTC') AS day,
                            date_trunc('hour', max(t.created_at) OVER (PARTITION BY t.v), 'UTC') AS last_hour,
                            date_trunc('day', max(t.created_at) OVER (PARTITION BY t.v), 'UTC') AS last_day
                       FROM seed_tips AS t) AS x
              GROUP BY x.v) AS t ON t.v = v.n
  LEFT JOIN (SELECT x.user_id, min(x.completed_at) AS first_at, max(x.hour) AS hour, max(x.day) AS day,
                    count(*) FILTER (WHERE x.hour = x.last_hour)::integer AS in_hour,
                    sum(x.tokens) FILTER (WHERE x.day = x.last_day) AS in_day
               FROM (SELECT b.user_id, b.completed_at, (%(b_tokens)s::bigint[])[b.bundle] AS tokens,
                            date_trunc('hour', b.completed_at - interval '30 seconds', 'UTC') AS hour,
                            date_trunc('day', b.completed_at - interval '30 seconds', 'UTC') AS day,
                            date_trunc('hour', max(b.completed_at) OVER (PARTITION BY b.user_id)
                                               - interval '30 seconds', 'UTC') AS last_hour,
                            date_trunc('day', max(b.completed_at) OVER (PARTITION BY b.user_id)
                                              - interval '30 seconds', 'UTC') AS last_day
                       FROM seed_buys AS b) AS x
              GROUP BY x.user_id) AS b ON b.user_id = v.id
 WHERE t.v IS NOT NULL OR b.user_id IS NOT NULL;
"""

_TIPS_BATCH = """
INSERT INTO lp.tips (id, sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                     status, transaction_id, idempotency_key, created_at)
SELECT id, sender_id, recipient_id, stream_id, amount, fee, message, anonymous, 'completed', tx,
       'seed-' || n, created_at
  FROM seed_tips WHERE seq BETWEEN %(lo)s AND %(hi)s ORDER BY seq
"""

_LEDGER_BATCH = """
INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                       reference_type, reference_id, created_at)
SELECT tx, wallet_id, shard, amount, balance_after - amount, balance_after,
       CASE WHEN src = 1 THEN 'purchase' WHEN leg = 3 THEN 'tip_fee' ELSE 'tip' END,
       CASE WHEN src = 1 THEN 'payment' ELSE 'tip' END, ref_id, at
  FROM seed_ledger WHERE ord BETWEEN %(lo)s AND %(hi)s ORDER BY ord
"""


#: The tables whose secondary indexes are dropped while the rows go in and built again afterwards (one sorted
#: build instead of millions of random inserts); constraint indexes (primary keys, unique) stay.
_REBUILT = ("lp.tips", "lp.ledger")

_SECONDARY_INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
  FROM pg_index AS i
  JOIN pg_class AS c ON c.oid = i.indexrelid
 WHERE i.indrelid = %(table)s::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
 ORDER BY c.relname
"""


_SEEDED_MONTHS = """
SELECT m
  FROM pg_class AS c
 CROSS JOIN generate_series(date_trunc('month', (SELECT min(at) FROM seed_ledger), 'UTC'),
                            (SELECT max(at) FROM seed_ledger), interval '1 month') AS m
 WHERE c.oid = 'lp.ledger'::regclass AND c.relkind = 'p'
   AND to_regprocedure('lp.create_month_partition(regclass, timestamp with time zone)') IS NOT NULL
"""


def _run(s: _Steps, step: Callable[[str, int], None]) -> None:
    s.run(_HELPERS)
    for name, sql in _PREPARE:
        s.run(sql)
        step(name, 0)
    s.run("CREATE UNIQUE INDEX ON seed_tips (seq)")
    # The secondary indexes of the two big tables are dropped (in this transaction: nobody sees them
    # missing) and built again below, under the same names and definitions.
    rebuild: list[tuple[str, str]] = []
    for table in _REBUILT:
        s.p["table"] = table
        rows = s.conn.execute(_SECONDARY_INDEXES, s.p).fetchall()  # type: ignore[arg-type]
        rebuild += [(str(name), str(definition)) for name, definition in rows]
    for name, _ in rebuild:
        s.conn.execute(f"DROP INDEX lp.{psycopg.sql.Identifier(name).as_string(s.conn)}")
    step("drop indexes", 0)
    # A ledger partitioned by month (migration 0033) gets the partitions of the seeded months first, as its
    # maintenance job would have made them (else the rows would wait in the default partition): as the owner
    # of the schema, like api.maintain_partitions, so that the owner's functions (archiving, verification)
    # may read them.
    months = [row[0] for row in s.conn.execute(_SEEDED_MONTHS).fetchall()]
    s.run("SET LOCAL ROLE livepanty_owner")
    for month in months:
        s.conn.execute("SELECT lp.create_month_partition('lp.ledger'::regclass, %s)", [month])
    s.run("RESET ROLE")
    n_tips = int(s.value("SELECT count(*) FROM seed_tips") or 0)  # type: ignore[arg-type]
    tip_batch = BATCH_ENTRIES // 3
    # The tips' foreign key (stream) holds by construction: its ids are the rows written above (as do the
    # sender and recipient ids, which api.verify_ledger checks). Checking it row by row (one trigger per tip)
    # would cost more than the inserts.
    s.run("SET LOCAL session_replication_role = replica")
    for lo in range(1, n_tips + 1, tip_batch):
        s.p.update(lo=lo, hi=lo + tip_batch - 1)
        s.run(_TIPS_BATCH)
        step("tips", 0)
    s.run("SET LOCAL session_replication_role = origin")
    n_entries = int(s.value("SELECT count(*) FROM seed_ledger") or 0)  # type: ignore[arg-type]
    for lo in range(1, n_entries + 1, BATCH_ENTRIES):
        hi = min(n_entries, lo + BATCH_ENTRIES - 1)
        s.p.update(lo=lo, hi=hi)
        s.run(_LEDGER_BATCH)
        step("ledger", hi - lo + 1)
    s.run("SET LOCAL maintenance_work_mem = '512MB'")
    for name, definition in rebuild:
        # the definition of a partitioned table's index reads "ON ONLY": built here for every partition
        s.conn.execute(definition.replace(" ON ONLY ", " ON ", 1))  # type: ignore[arg-type]
        step(f"index {name}", 0)
    s.run(_FINISH)
    step("fraud counters", 0)


def planned_steps(tips: int) -> int:
    """An estimate of the progress steps of a seed of ``tips`` tips (for the progress bar's length)."""
    entries = int(tips * 3.1)
    indexes = 7  # the secondary indexes of lp.tips and lp.ledger, rebuilt
    return len(_PREPARE) + 1 + -(-tips // (BATCH_ENTRIES // 3)) + -(-entries // BATCH_ENTRIES) + indexes + 1
