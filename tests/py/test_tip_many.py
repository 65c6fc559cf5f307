"""api.tip_many: many tips of many senders in one call, each authenticated by its own session token, checked
as api.tip checks it, applied set-based; a refused tip changes nothing and does not fail the others."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from livepanty_db import Client

PASSWORD = "tip many test 1"


@dataclass
class Economy:
    dsn: str
    seed: Any  #: the test's databases (one, or the shards behind a router): set-up and reads of the outcome
    ids: dict[str, str]
    tokens: dict[str, str]


@pytest.fixture
def eco(db_url: str, seed: Any) -> Economy:
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        for name, role in (
            ("vera", "viewer"),
            ("walt", "viewer"),
            ("xena", "viewer"),
            ("poor", "viewer"),
            ("pia", "performer"),
            ("pete", "performer"),
        ):
            ids[name] = str(
                conn.execute(
                    "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                    " p_date_of_birth => %s, p_role => %s)",
                    (f"{name}@example.com", name, PASSWORD, date(1990, 1, 1), role),
                ).fetchone()["id"]
            )
            tokens[name] = conn.execute("SELECT token FROM api.login(%s, %s)", (name, PASSWORD)).fetchone()[
                "token"
            ]
    seed.fund(1000, ids["vera"], ids["walt"], ids["xena"])
    seed.fund(100, ids["poor"])
    seed.approve_kyc(ids["pia"], ids["pete"])  # the KYC gate of being paid
    return Economy(db_url, seed, ids, tokens)


def tip(eco: Economy, sender: str, recipient: str, amount: Any, key: str | None = None, **extra: Any) -> dict:
    item = {
        "session_token": eco.tokens.get(sender, sender),
        "recipient_id": eco.ids.get(recipient, recipient),
        "amount": amount,
        "idempotency_key": key or uuid.uuid4().hex,
    }
    item.update(extra)
    return item


def tip_many(eco: Economy, tips: list[Any]) -> list[dict]:
    """Calls api.tip_many as the application login (no identity of its own) and commits."""
    with psycopg.connect(eco.dsn, row_factory=dict_row) as conn:
        conn.execute("SET LOCAL ROLE livepanty_app")
        rows = conn.execute("SELECT * FROM api.tip_many(%s::jsonb)", (json.dumps(tips),)).fetchall()
    return rows


def state(eco: Economy) -> dict[str, Any]:
    """Every wallet's total, the tips, the ledger entries and what verify_ledger finds (behind a router:
    added up over the shards once the relay has delivered, with the global reconciliation)."""
    return {
        "wallets": eco.seed.balances(),
        "tips": len(eco.seed.tip_ids()),
        "entries": sum(n for (n,) in eco.seed.rows("SELECT count(*) FROM lp.ledger")),
        "violations": eco.seed.ledger_problems(),
    }


def total(st: dict[str, Any], eco: Economy, name: str) -> int:
    return st["wallets"][eco.ids.get(name, name)]


def test_a_batch_of_many_senders_is_applied_exactly(eco: Economy) -> None:
    before = state(eco)
    tips = [
        tip(eco, "vera", "pia", 100),
        tip(eco, "walt", "pia", 250),
        tip(eco, "xena", "pete", 99),
        tip(eco, "vera", "pete", 10),
        tip(eco, "walt", "pia", 1),
    ]
    rows = tip_many(eco, tips)
    assert [r["error_code"] for r in rows] == [None] * 5
    assert [r["ordinal"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["tip_id"] and not r["replayed"] for r in rows)
    after = state(eco)
    assert after["violations"] == []
    assert after["tips"] == before["tips"] + 5
    # fee: floor(amount * 2000 / 10000) with the default tips.fee_bps (20 %)
    fees = [r["fee_amount"] for r in rows]
    assert fees == [20, 50, 19, 2, 0]
    assert total(after, eco, "vera") == 1000 - 110
    assert total(after, eco, "walt") == 1000 - 251
    assert total(after, eco, "xena") == 1000 - 99
    assert total(after, eco, "pia") == 80 + 200 + 1
    assert total(after, eco, "pete") == 80 + 8
    assert total(after, eco, "platform_fees") == 91
    # every tip is one balanced ledger transaction with its tip as reference (behind a router, the sender's
    # shard's: the sender, the fee and, for a performer of another shard, the tokens in transit)
    for r in rows:
        legs = eco.seed.rows(
            "SELECT amount, reference_id FROM lp.ledger WHERE transaction_id = %s", (r["transaction_id"],)
        )
        assert sum(amount for amount, _ in legs) == 0
        assert len(legs) == (2 if r["fee_amount"] == 0 else 3)
        assert all(reference == r["tip_id"] for _, reference in legs)


def test_a_recipient_whose_credit_shards_are_all_busy_is_waited_for(eco: Economy) -> None:
    """lp.post_batch picks a free credit shard per recipient (SKIP LOCKED); when every shard of a recipient is
    held by another transaction, the batch waits for one of them (in the lock protocol's order) instead of
    failing, and goes on once it is free."""
    before = state(eco)
    # Behind a router: pia's shard, and a sender of that shard (a tip from another shard is credited by the
    # relay, not by the batch); on one database, vera and that database.
    home = eco.seed.database_of(eco.ids["pia"])
    sender = next((n for n in ("vera", "walt", "xena") if eco.seed.database_of(eco.ids[n]) == home), None)
    if sender is None:
        pytest.skip("no funded viewer lives on pia's shard with this many shards")
    with psycopg.connect(home) as holder, psycopg.connect(home, autocommit=True) as watch:
        held = holder.execute(
            "SELECT s.shard FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id"
            " WHERE w.user_id = %s FOR NO KEY UPDATE",
            [eco.ids["pia"]],
        ).fetchall()
        assert len(held) >= 1
        holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[
            0
        ]  # (the server's, also behind a pooler)
        rows: list[list[dict]] = []
        tips = [tip(eco, sender, "pia", 40), tip(eco, "walt" if sender != "walt" else "xena", "pete", 10)]
        batch = threading.Thread(target=lambda: rows.append(tip_many(eco, tips)))
        batch.start()
        waiting = 0
        deadline = time.monotonic() + 10
        while not waiting and time.monotonic() < deadline:  # a backend there waits for the holder's lock
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY (pg_blocking_pids(pid))",
                [holder_pid],
            ).fetchone()[0]
            time.sleep(0.05)
        assert waiting == 1, "the batch waits for one of pia's credit shards"
        time.sleep(0.5)
        assert batch.is_alive()
        holder.rollback()
    batch.join(30)
    assert not batch.is_alive()
    assert [r["error_code"] for r in rows[0]] == [None, None]
    after = state(eco)
    assert after["violations"] == []
    assert total(after, eco, "pia") - total(before, eco, "pia") == 40 - 8
    assert total(after, eco, "pete") - total(before, eco, "pete") == 10 - 2


def test_a_bad_tip_is_refused_alone_and_changes_nothing(eco: Economy) -> None:
    before = state(eco)
    tips: list[Any] = [
        tip(eco, "vera", "pia", 100),  # ok
        tip(eco, "poor", "pia", 101),  # LP100: poor has 100
        tip(eco, "nobody-" + "x" * 36, "pia", 10),  # LP023: not a session token
        tip(eco, "walt", "walt", 10),  # LP101
        tip(eco, "walt", "xena", 10),  # LP102: xena is a viewer
        tip(eco, "walt", str(uuid.uuid4()), 10),  # LP003
        tip(eco, "walt", "pia", 0),  # LP103
        tip(eco, "walt", "pia", 10**20),  # LP103: above money.max_tokens
        tip(eco, "walt", "pia", 10, message="x" * 501),  # LP018
        tip(eco, "walt", "pia", "10"),  # LP018: amount must be a JSON number
        "not an object",  # LP018
        tip(eco, "walt", "pia", 10, surprise=True),  # LP018: unknown field
        tip(eco, "walt", "pia", 10, stream_id=str(uuid.uuid4())),  # LP003: no such stream
        tip(eco, "xena", "pete", 5),  # ok
    ]
    rows = tip_many(eco, tips)
    assert [r["error_code"] for r in rows] == [
        None, "LP100", "LP023", "LP101", "LP102", "LP003", "LP103", "LP103", "LP018", "LP018", "LP018",
        "LP018", "LP003", None,
    ]  # fmt: skip
    assert all(r["tip_id"] is None and r["error_message"] for r in rows if r["error_code"])
    after = state(eco)
    assert after["violations"] == []
    assert after["tips"] == before["tips"] + 2
    assert total(after, eco, "poor") == 100
    assert total(after, eco, "walt") == 1000
    assert total(after, eco, "vera") == 900


def test_a_stream_the_sender_may_not_see_is_not_found(eco: Economy) -> None:
    """A tip naming a private stream of its recipient is LP003 to a sender who may not see that stream (as
    api.get_stream and api.tip answer), not LP104 with its status: a private stream's existence is not
    told."""
    stream = eco.seed.one(
        "INSERT INTO lp.streams (host_id, title, visibility) VALUES (%s, 'Hidden', 'private') RETURNING id",
        (eco.ids["pia"],),
        user=eco.ids["pia"],
    )
    before = state(eco)
    [row] = tip_many(eco, [tip(eco, "walt", "pia", 10, stream_id=str(stream))])
    assert (row["error_code"], row["tip_id"]) == ("LP003", None)
    assert state(eco)["tips"] == before["tips"]


def test_each_sender_spends_in_input_order_while_the_balance_lasts(eco: Economy) -> None:
    tips = [tip(eco, "poor", "pia", 60), tip(eco, "poor", "pete", 60), tip(eco, "poor", "pia", 40)]
    rows = tip_many(eco, tips)
    assert [r["error_code"] for r in rows] == [None, "LP100", None]
    assert total(state(eco), eco, "poor") == 0


def test_replays_return_the_original_and_move_nothing(eco: Economy) -> None:
    tips = [tip(eco, "vera", "pia", 100, key="k1"), tip(eco, "walt", "pete", 50, key="k1")]
    first = tip_many(eco, tips)
    middle = state(eco)
    again = tip_many(eco, tips)
    assert [r["tip_id"] for r in again] == [r["tip_id"] for r in first]
    assert [r["replayed"] for r in again] == [True, True]
    assert state(eco) == middle
    # the same key with other arguments, from the batch path and from api.tip alike
    changed = tip_many(eco, [tip(eco, "vera", "pia", 101, key="k1")])
    assert changed[0]["error_code"] == "LP106"
    assert state(eco) == middle


def test_a_key_twice_in_one_batch_is_one_tip(eco: Economy) -> None:
    before = state(eco)
    rows = tip_many(
        eco,
        [
            tip(eco, "vera", "pia", 100, key="dup"),
            tip(eco, "vera", "pia", 100, key="dup"),
            tip(eco, "vera", "pia", 7, key="dup"),
        ],
    )
    assert [r["error_code"] for r in rows] == [None, None, "LP106"]
    assert rows[1]["replayed"]
    assert rows[1]["tip_id"] == rows[0]["tip_id"]
    after = state(eco)
    assert after["tips"] == before["tips"] + 1
    assert total(after, eco, "vera") == 900


def test_tips_that_need_the_single_path_say_so(eco: Economy) -> None:
    with Client(eco.dsn, role="livepanty_app") as client, client.session(eco.tokens["walt"]) as tx:
        tx.set_spending_limit("daily", 500)
    before = state(eco)
    rows = tip_many(eco, [tip(eco, "walt", "pia", 10), tip(eco, "pia", "pete", 10)])
    # walt has a spending limit; pia has nothing on her main balance (her earnings would need a sweep)
    assert [r["error_code"] for r in rows] == ["LP114", "LP114"]
    assert state(eco) == before


def test_the_application_login_alone_cannot_tip_for_anyone(eco: Economy) -> None:
    before = state(eco)
    with psycopg.connect(eco.dsn, row_factory=dict_row) as conn:
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute("SELECT api.authenticate(%s)", (eco.tokens["vera"],))  # a proven identity helps nothing
        rows = conn.execute(
            "SELECT * FROM api.tip_many(%s::jsonb)",
            (json.dumps([{"recipient_id": eco.ids["pia"], "amount": 10, "idempotency_key": "a"}]),),
        ).fetchall()
    assert rows[0]["error_code"] == "LP023"
    assert state(eco) == before


@pytest.mark.parametrize("payload", ["[]", "{}", "null", json.dumps([{}] * 1001)])
def test_the_batch_itself_must_be_an_array_of_1_to_1000(eco: Economy, payload: str) -> None:
    with psycopg.connect(eco.dsn) as conn:
        conn.execute("SET LOCAL ROLE livepanty_app")
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("SELECT * FROM api.tip_many(%s::jsonb)", (payload,))
    assert exc.value.sqlstate == "LP018"


def test_holds_past_their_time_are_released_when_their_holder_tips(eco: Economy) -> None:
    """Tokens an overdue hold still reserves are spendable: api.tip expires the holder's due holds first;
    api.tip_many leaves such a tip to api.tip (LP114)."""
    with psycopg.connect(eco.dsn, row_factory=dict_row) as conn:
        for name in ("vera", "walt"):
            with conn.transaction():
                conn.execute("SET LOCAL ROLE livepanty_app")
                conn.execute("SELECT api.authenticate(%s)", (eco.tokens[name],))
                conn.execute(
                    "SELECT api.place_hold(p_payee_id => %s, p_amount => 1000, p_idempotency_key => 'show')",
                    (eco.ids["pia"],),
                )
        conn.commit()
        eco.seed.execute(
            "UPDATE lp.holds"
            " SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'"
        )
        with conn.transaction():
            conn.execute("SET LOCAL ROLE livepanty_app")
            conn.execute("SELECT api.authenticate(%s)", (eco.tokens["vera"],))
            paid = conn.execute(
                "SELECT * FROM api.tip(p_recipient_id => %s, p_amount => 600, p_idempotency_key => 'x')",
                (eco.ids["pia"],),
            ).fetchone()
        assert paid["amount"] == 600
    statuses = eco.seed.rows(
        "SELECT u.username, h.status FROM lp.holds AS h JOIN lp.users AS u ON u.id = h.user_id"
    )
    assert sorted(statuses) == [("vera", "expired"), ("walt", "open")]
    before = state(eco)
    rows = tip_many(eco, [tip(eco, "walt", "pia", 600)])
    assert rows[0]["error_code"] == "LP114"
    after = state(eco)
    assert after == before
    assert after["violations"] == []


def test_sanctions_are_checked_per_tip_as_api_tip_checks_them(eco: Economy) -> None:
    for name, sanction in (("walt", "ban"), ("pete", "ban"), ("xena", "warning")):
        eco.seed.execute(
            "INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (%s, %s, 'test')",
            (eco.ids[name], sanction),
            user=eco.ids[name],
        )
    before = state(eco)
    rows = tip_many(
        eco, [tip(eco, "walt", "pia", 10), tip(eco, "xena", "pete", 10), tip(eco, "xena", "pia", 10)]
    )
    # a banned sender (LP022) and a banned recipient (LP108) are refused; a warning blocks nothing
    assert [r["error_code"] for r in rows] == ["LP022", "LP108", None]
    after = state(eco)
    assert after["tips"] == before["tips"] + 1
    assert total(after, eco, "walt") == 1000
