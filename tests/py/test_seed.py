"""``livepanty-db seed`` (livepanty_db/seed.py): a seeded platform is one the API could have made.

A small seed (50 viewers, 5 performers, 3 days, 2000 tips) must pass api.verify_ledger with no violation, hold
the counts asked for, be skewed (the top tenth of the performers get more than half of the tips), come out the
same twice with the same --seed, and be refused on a database that already has users. The reads measured by
bench/volume.py use indexes (EXPLAIN-asserted with the planner's default settings, on a seed of 3000 users and
30000 tips: on 50 users, reading a whole table of 55 rows is the right plan and proves nothing).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from livepanty_db import seed as seeding
from livepanty_db.cli import main

UNTIL = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
#: The database of the ``bigger`` fixture (for the plan assertions' own catalog reads).
DSN: dict[str, str] = {}
SMALL = {"users": 50, "performers": 5, "days": 3, "tips": 2000}


def run_seed(dsn: str, *extra: str, **sizes: int) -> Any:
    args = ["--dsn", dsn, "--format", "json", "seed"]
    for key, value in {**SMALL, **sizes}.items():
        args += [f"--{key}", str(value)]
    args += ["--until", UNTIL.strftime("%Y-%m-%dT%H:%M:%S"), *extra]
    return CliRunner().invoke(main, args)


def figures(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return {row["key"]: row["value"] for row in json.loads(result.stdout)}


def violations(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE livepanty_service")
        return conn.execute("SELECT * FROM api.verify_ledger()").fetchall()


def fingerprint(dsn: str) -> str:
    """Every seeded row that matters, ids included, as one digest."""
    queries = [
        "SELECT id, username::text, email::text, role, created_at, kyc_valid_until FROM lp.users ORDER BY id",
        "SELECT id, user_id, balance, shard_count FROM lp.wallets WHERE kind = 'user' ORDER BY id",
        "SELECT wallet_id, shard, balance FROM lp.wallet_shards ORDER BY 1, 2",
        "SELECT id, sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,"
        " transaction_id, created_at FROM lp.tips ORDER BY id",
        "SELECT id, user_id, tokens, completed_at FROM lp.payments ORDER BY id",
        "SELECT id, transaction_id, wallet_id, shard, amount, balance_after, entry_kind, reference_id,"
        " created_at FROM lp.ledger ORDER BY id",
        "SELECT id, host_id, started_at, ended_at, tips_count, tips_tokens FROM lp.streams ORDER BY id",
        "SELECT * FROM lp.spend_counters ORDER BY user_id",
    ]
    digest = hashlib.sha256()
    with psycopg.connect(dsn) as conn:
        for query in queries:
            for row in conn.execute(query):
                digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def seeded(pg_server: Any, template_db: str) -> Any:
    """One small seeded database shared by the read-only tests of this module."""
    with pg_server.database(template=template_db) as dsn:
        result = run_seed(dsn, "--seed", "7")
        yield dsn, figures(result), result


def test_a_small_seed_passes_verify_ledger_with_no_violation(seeded: Any) -> None:
    dsn, _, _ = seeded
    assert violations(dsn) == []
    result = CliRunner().invoke(main, ["--dsn", dsn, "--format", "json", "verify"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["violations"] == []


def test_the_partitions_of_seeded_months_belong_to_the_schema_owner(seeded: Any) -> None:
    """The seed makes the partitions of the months it writes as the maintenance job does (owned by
    livepanty_owner, secured), so the owner's functions may read them: a partition owned by the seeding
    superuser made api.archive_prepare fail with 42501 at ten million entries."""
    dsn, _, _ = seeded
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), c.relforcerowsecurity FROM pg_class AS c"
            " WHERE c.relnamespace = 'lp_partitions'::regnamespace AND c.relkind = 'r'"
            "   AND c.relname LIKE 'ledger%'"
            "   AND EXISTS (SELECT 1 FROM lp.ledger AS l WHERE l.tableoid = c.oid)"
        ).fetchall()
        months = conn.execute(
            "SELECT count(DISTINCT date_trunc('month', created_at, 'UTC')) FROM lp.ledger"
        ).fetchone()[0]
    assert len(rows) == months, rows
    assert {(owner, forced) for _, owner, forced in rows} == {("livepanty_owner", True)}, rows


def test_counts_match_the_arguments(seeded: Any) -> None:
    dsn, fig, _ = seeded
    with psycopg.connect(dsn) as conn:
        roles = dict(conn.execute("SELECT role::text, count(*) FROM lp.users GROUP BY 1").fetchall())
        tips, days, streams = conn.execute(
            "SELECT count(*), count(DISTINCT date_trunc('day', t.created_at - %s::timestamptz)),"
            " (SELECT count(*) FROM lp.streams) FROM lp.tips AS t",
            [UNTIL],
        ).fetchone()
        window = conn.execute("SELECT min(created_at), max(created_at) FROM lp.ledger").fetchone()
        entries = conn.execute("SELECT count(*) FROM lp.ledger").fetchone()[0]
        kyc = conn.execute(
            "SELECT count(*) FROM lp.users WHERE role = 'performer' AND kyc_valid_until > now()"
        ).fetchone()[0]
        purchases = conn.execute(
            "SELECT count(*) FROM lp.payments AS p WHERE p.status = 'completed'"
            " AND (SELECT count(*) FROM lp.ledger AS l WHERE l.reference_id = p.id) = 2"
        ).fetchone()[0]
    assert roles == {"viewer": 50, "performer": 5}
    assert tips == 2000 == fig["tips"]
    assert streams == 5 * 3 == fig["streams"]
    assert kyc == 5
    assert purchases == fig["purchases"] > 0
    assert entries == fig["ledger_entries"]
    # Every entry lies within the last --days before --until (purchases may precede a first tip by minutes).
    assert window[1] <= UNTIL
    assert (UNTIL - window[0]).total_seconds() <= 3 * 86400 + 3600
    assert days == 3


def test_ids_and_times_are_in_order_as_the_api_makes_them(seeded: Any) -> None:
    dsn, _, _ = seeded
    with psycopg.connect(dsn) as conn:
        # ledger ids follow created_at; tip ids and tip transaction ids are uuid v7 of the tip's time
        out_of_order = conn.execute(
            "SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER (ORDER BY id) AS back"
            " FROM lp.ledger) AS x WHERE back"
        ).fetchone()[0]
        bad_v7 = conn.execute(
            "SELECT count(*) FROM lp.tips WHERE substr(id::text, 15, 1) <> '7'"
            " OR substr(transaction_id::text, 15, 1) <> '7'"
            " OR ('x' || lpad(replace(substr(id::text, 1, 13), '-', ''), 16, '0'))::bit(64)::bigint"
            "    <> floor(extract(epoch FROM created_at) * 1000)"
        ).fetchone()[0]
        tips_in_streams = conn.execute(
            "SELECT count(*) FROM lp.tips AS t JOIN lp.streams AS s ON s.id = t.stream_id"
            " WHERE s.host_id = t.recipient_id AND t.created_at BETWEEN s.started_at AND s.ended_at"
        ).fetchone()[0]
    assert out_of_order == 0
    assert bad_v7 == 0
    assert tips_in_streams == 2000


def test_fees_are_split_as_api_tip_splits_them(seeded: Any) -> None:
    dsn, _, _ = seeded
    with psycopg.connect(dsn) as conn:
        bps = int(
            conn.execute("SELECT value #>> '{}' FROM lp.settings WHERE key = 'tips.fee_bps'").fetchone()[0]
        )
        rows = conn.execute("SELECT amount, fee_amount FROM lp.tips").fetchall()
        two_legged = conn.execute(
            "SELECT count(*) FROM lp.tips AS t WHERE t.fee_amount = 0"
            " AND (SELECT count(*) FROM lp.ledger AS l WHERE l.transaction_id = t.transaction_id) = 2"
        ).fetchone()[0]
        zero_fee = conn.execute("SELECT count(*) FROM lp.tips WHERE fee_amount = 0").fetchone()[0]
    assert all(fee == amount * bps // 10000 for amount, fee in rows)
    assert zero_fee > 0  # tips of 1 and 5 tokens: the fee leg is left out, as lp.post's caller does
    assert two_legged == zero_fee


def test_tips_are_skewed_toward_a_few_performers_and_viewers(seeded: Any) -> None:
    dsn, _, _ = seeded
    with psycopg.connect(dsn) as conn:
        per_performer = [r[0] for r in conn.execute(
            "SELECT count(*) FROM lp.tips GROUP BY recipient_id ORDER BY 1 DESC"
        )]
        per_viewer = [r[0] for r in conn.execute(
            "SELECT sum(amount) FROM lp.tips GROUP BY sender_id ORDER BY 1 DESC"
        )]
    top_performers = max(1, round(len(per_performer) * 0.1))
    assert sum(per_performer[:top_performers]) > sum(per_performer) / 2
    # the top tenth of the viewers (5 of 50) spend more than a third of the tokens (a uniform draw: a tenth)
    assert sum(per_viewer[:5]) > sum(per_viewer) / 3


def test_the_same_seed_gives_the_same_rows_another_seed_others(pg_server: Any, template_db: str) -> None:
    prints = []
    for value in ("11", "11", "12"):
        with pg_server.database(template=template_db) as dsn:
            figures(run_seed(dsn, "--seed", value, users=20, performers=3, days=2, tips=300))
            assert violations(dsn) == []
            prints.append(fingerprint(dsn))
    assert prints[0] == prints[1]
    assert prints[2] != prints[0]


def test_a_database_with_users_is_refused_unless_forced(seeded: Any) -> None:
    dsn, _, _ = seeded
    before = fingerprint(dsn)
    result = run_seed(dsn, "--seed", "8", users=5, performers=1, days=1, tips=10)
    assert result.exit_code == 1
    assert "already has 55 user(s)" in result.stderr
    assert "--force" in result.stderr
    assert fingerprint(dsn) == before


def test_force_adds_a_second_platform_that_still_verifies(pg_server: Any, template_db: str) -> None:
    with pg_server.database(template=template_db) as dsn:
        figures(run_seed(dsn, "--seed", "3", users=20, performers=3, days=2, tips=300))
        fig = figures(run_seed(dsn, "--seed", "3", "--force", users=10, performers=2, days=1, tips=200))
        assert fig["tips"] == 200
        assert violations(dsn) == []
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM lp.users").fetchone()[0] == 35


@pytest.mark.parametrize(
    ("option", "value"),
    [("--users", "0"), ("--performers", "0"), ("--days", "0"), ("--tips", "-1"), ("--seed", "-3")],
)
def test_bad_sizes_are_usage_errors(option: str, value: str) -> None:
    args = {"--users": "5", "--performers": "1", "--days": "1", "--tips": "10"}
    args[option] = value
    result = CliRunner().invoke(
        main, ["--dsn", "postgresql://nobody@127.0.0.1:1/x", "seed", *[x for kv in args.items() for x in kv]]
    )
    assert result.exit_code == 2, result.output
    assert option in result.stderr


def test_an_unmigrated_database_is_refused(empty_db: str) -> None:
    with pytest.raises(seeding.SeedError, match="not migrated"):
        seeding.seed(empty_db, users=5, performers=1, days=1, tips=10)


def test_a_login_that_is_not_a_superuser_is_refused(seeded: Any) -> None:
    dsn, _, _ = seeded
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS seed_nobody")
        conn.execute("CREATE ROLE seed_nobody LOGIN")
    try:
        other = psycopg.conninfo.make_conninfo(dsn, user="seed_nobody")
        with pytest.raises(seeding.SeedError, match="superuser"):
            seeding.seed(other, users=5, performers=1, days=1, tips=10, force=True)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP ROLE seed_nobody")


def test_the_progress_bar_goes_to_stderr(pg_server: Any, template_db: str) -> None:
    with pg_server.database(template=template_db) as dsn:
        result = run_seed(dsn, "--seed", "5", users=10, performers=2, days=1, tips=100)
        figures(result)
        assert "seeding" in result.stderr
        assert "seeded" in result.stderr
        assert "ledger entries" in result.stderr


# --- every read bench/volume.py measures uses an index ------------------------------------------------------


def plan(conn: psycopg.Connection, query: str, params: Any = None) -> str:
    rows = conn.execute("EXPLAIN (COSTS OFF) " + query, params).fetchall()
    return "\n".join(r[0] for r in rows)


def function_plans(conn: psycopg.Connection, call: str, params: Any) -> str:
    """The plans of the statements a PL/pgSQL function runs (auto_explain, nested statements, as notices),
    after five calls so that the plan cache has settled on what it keeps (a generic plan, if cheaper)."""
    notices: list[str] = []

    def collect(diag: psycopg.errors.Diagnostic) -> None:
        notices.append(diag.message_primary or "")

    conn.add_notice_handler(collect)
    try:
        for _ in range(6):
            notices.clear()
            conn.execute(call, params)
    finally:
        conn.remove_notice_handler(collect)
    return "\n".join(notices)


@pytest.fixture(scope="module")
def bigger(pg_server: Any, template_db: str) -> Any:
    """A seed big enough that the planner has a choice (on 50 users, reading a whole small table is right)."""
    with pg_server.database(template=template_db) as dsn:
        figures(run_seed(dsn, "--seed", "9", users=3000, performers=60, days=7, tips=30000))
        DSN["bigger"] = dsn
        yield dsn


@pytest.fixture
def reader(bigger: str) -> Any:
    dsn = bigger
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
        # auto_explain (loaded by the superuser, before any SET ROLE) logs the plan of every statement,
        # nested ones too, as notices: function_plans collects them.
        conn.execute("LOAD 'auto_explain'")
        conn.execute("SET auto_explain.log_min_duration = 0")
        conn.execute("SET auto_explain.log_nested_statements = on")
        conn.execute("SET auto_explain.log_level = notice")
        busiest = conn.execute(
            "SELECT recipient_id FROM lp.tips GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        spender = conn.execute(
            "SELECT sender_id FROM lp.tips GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        stream = conn.execute(
            "SELECT stream_id FROM lp.tips GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        middle = conn.execute("SELECT min(id) + (max(id) - min(id)) / 2 FROM lp.ledger").fetchone()[0]
        at = conn.execute("SELECT created_at FROM lp.ledger WHERE id = %s", [middle]).fetchone()[0]
        with conn.transaction():
            conn.execute("SET LOCAL ROLE livepanty_service")
            conn.execute("SELECT api.act_as(%s, 'plan test')", [busiest])
        yield conn, {"performer": busiest, "viewer": spender, "stream": stream, "middle": middle, "at": at}


def assert_indexed(text: str, *tables: str) -> None:
    """No sequential scan of any of ``tables`` or of their partitions that holds a row (an empty partition,
    e.g. a month ahead, is rightly read whole: there is nothing in it), and some index scan."""
    assert text, "no plan captured"
    scanned = set(re.findall(r"Seq Scan on (\w+)", text))
    with psycopg.connect(DSN["bigger"]) as conn:
        for name in scanned:
            if not any(name == t or name.startswith(t + "_") for t in tables):
                continue
            rel = conn.execute(
                "SELECT c.oid::regclass::text FROM pg_class AS c"
                " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE c.relname = %s AND n.nspname IN ('lp', 'lp_partitions')",
                [name],
            ).fetchone()
            if rel is None:
                continue
            rows = conn.execute(f"SELECT count(*) FROM {rel[0]}").fetchone()[0]
            assert rows == 0, f"Seq Scan on {name} ({rows} rows):\n{text}"
    assert "Index" in text, text


def uses_index(text: str, index: str) -> bool:
    """Whether the plan reads ``index`` or, on a partitioned table, one of its partitions' indexes."""
    with psycopg.connect(DSN["bigger"]) as conn:
        family = [r[0] for r in conn.execute(
            "SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass)", [f"lp.{index}"]
        )]
    family.append(index)  # not partitioned: pg_partition_tree has no row for it
    return any(re.search(rf"\b{re.escape(name.split('.')[-1])}\b", text) for name in family)


@pytest.mark.parametrize("who", ["performer", "viewer"])
def test_wallet_history_pages_use_the_chain_index(reader: Any, who: str) -> None:
    conn, ids = reader
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_service")
        conn.execute("SELECT api.act_as(%s, 'plan test')", [ids[who]])
        first = function_plans(conn, "SELECT * FROM api.wallet_history(NULL, NULL, 50)", None)
        deep = function_plans(conn, "SELECT * FROM api.wallet_history(NULL, %s, 50)", [ids["middle"]])
    for text in (first, deep):
        assert_indexed(text, "ledger", "wallets")
        assert uses_index(text, "ledger_account_chain_idx"), text


def test_balance_at_uses_the_chain_index(reader: Any) -> None:
    conn, ids = reader
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_service")
        conn.execute("SELECT api.act_as(%s, 'plan test')", [ids["performer"]])
        text = function_plans(conn, "SELECT api.balance_at(NULL, %s)", [ids["at"]])
    assert_indexed(text, "ledger", "wallets")
    assert uses_index(text, "ledger_account_chain_idx"), text


@pytest.mark.parametrize(("who", "side"), [("performer", "recipient"), ("viewer", "sender")])
def test_list_tips_uses_an_index_of_its_side(reader: Any, who: str, side: str) -> None:
    conn, ids = reader
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_service")
        conn.execute("SELECT api.act_as(%s, 'plan test')", [ids[who]])
        text = function_plans(conn, "SELECT * FROM api.list_tips(%s, NULL, NULL, 50)", [side])
    assert_indexed(text, "tips")
    assert uses_index(text, f"tips_{side}_idx"), text


def test_stream_summary_of_a_busy_stream_uses_indexes(reader: Any) -> None:
    conn, ids = reader
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_service")
        conn.execute("SELECT api.act_as(%s, 'plan test')", [ids["performer"]])
        text = function_plans(conn, "SELECT * FROM api.stream_summary WHERE id = %s", [ids["stream"]])
        row = conn.execute(
            "SELECT tip_count FROM api.stream_summary WHERE id = %s", [ids["stream"]]
        ).fetchone()
    assert_indexed(text, "tips", "streams")
    assert uses_index(text, "tips_stream_idx"), text
    assert row[0] > 0


@pytest.mark.parametrize("who", ["performer", "viewer"])
def test_user_summary_of_one_user_uses_indexes(reader: Any, who: str) -> None:
    conn, ids = reader
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_service")
        conn.execute("SELECT api.act_as(%s, 'plan test')", [ids[who]])
        text = plan(conn, "SELECT * FROM api.user_summary WHERE id = %s", [ids[who]])
    # the tables that grow with the platform; kyc_verifications (60 rows here), user_sanctions and reports
    # (empty) are read whole, rightly, at this size
    assert_indexed(text, "users", "wallets", "wallet_shards")


def test_verify_ledger_chunks_read_the_ledger_by_index(reader: Any) -> None:
    conn, _ = reader
    with conn.transaction():
        conn.execute("SET LOCAL ROLE livepanty_service")
        conn.execute("RESET lp.user_id")
        chunks = conn.execute("SELECT wallet_from, wallet_to FROM api.ledger_stats(10)").fetchall()
        assert len(chunks) > 1
        accounts = function_plans(
            conn,
            "SELECT * FROM api.verify_ledger(%s, %s, false, p_transactions => false)",
            [chunks[0][0], chunks[0][1]],
        )
        periods = conn.execute("SELECT period_from, period_to FROM api.ledger_periods(5000)").fetchall()
        assert len(periods) > 2
        transactions = function_plans(
            conn, "SELECT * FROM api.verify_ledger_period(%s, %s)", [periods[1][0], periods[1][1]]
        )
    # the account pass: the chunk's chains through an index led by the wallet (the chain index carries every
    # column the pass reads: on a large, vacuumed chunk an index-only scan, docs/benchmarks.md; on these small
    # chunks the planner may take either it or the (wallet_id, created_at) index, as a bitmap scan and a sort,
    # from one ANALYZE sample to the next: both read the chunk's wallets only)
    assert_indexed(accounts, "ledger", "wallets")
    assert uses_index(accounts, "ledger_account_chain_idx") or uses_index(
        accounts, "ledger_wallet_created_at_idx"
    ), accounts
    # the transaction pass: the period's entries and tips through their BRIN indexes, not a whole partition
    assert_indexed(transactions, "ledger", "tips")
    assert uses_index(transactions, "ledger_created_at_brin"), transactions
    assert "tips_created_at_brin" in transactions, transactions
