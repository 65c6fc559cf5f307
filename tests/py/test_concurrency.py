"""Money under concurrency: many threads run thousands of random money operations at once.

Purchases by viewers and performers (and their refunds and chargebacks, which may leave a sharded wallet in
debt that the next purchase settles), tips one by one and in api.tip_many batches (most of them to one hot
performer), holds with partial captures, releases and one-second lifetimes, the sweep and expiry jobs, payouts
through their whole life, and admin adjustments run from several threads on
their own connections, each call in its own transaction exactly as an application makes it (database role,
acting user, api function). Some calls are retried with their idempotency key. The test keeps a model of what
every successful call must have moved and, at the end, checks:

* no call failed for any reason but a catalogued business refusal (no deadlock, no constraint violation, no
  internal ledger error), also while performers tip each other (debits that sweep shards which other
  transactions are crediting);
* every retry returned the original result and moved nothing;
* every wallet (main balance plus credit shards) and every system wallet holds exactly what the model says;
* ``api.verify_ledger()`` finds nothing: every transaction sums to zero, every account's chain is unbroken,
  reserved equals the open holds, tokens issued minus burned equal the tokens held.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

THREADS = 8
OPS_PER_THREAD = int(os.environ.get("LIVEPANTY_CONCURRENCY_OPS", "400"))
VIEWERS = 12
PERFORMERS = 3
PASSWORD = "concurrency test 1"

#: Refusals a random workload is expected to meet (the database decides, the model does not predict them).
EXPECTED_REFUSALS = {
    "LP100",  # insufficient funds
    "LP107",  # wallet in debt after a chargeback
    "LP109",  # hold no longer open (captured, released or expired meanwhile)
    "LP110",  # capture larger than what is left of the hold
    "LP112",  # payout larger than what is payable
    "LP004",  # payment or payout no longer in the state the operation needs
    "LP150",  # a chargeback's automated tip_block on the buyer, payout_hold on the performers it paid (fraud)
}


@dataclass
class Model:
    """What the successful calls must have moved, per wallet (user id or system code)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    expected: Counter = field(default_factory=Counter)
    completed_payments: list[tuple[str, str, int]] = field(default_factory=list)  # (payment, user, tokens)
    open_holds: list[str] = field(default_factory=list)
    requested_payouts: list[str] = field(default_factory=list)
    approved_payouts: list[str] = field(default_factory=list)
    payout_tokens: dict[str, tuple[str, int]] = field(default_factory=dict)  # payout -> (performer, tokens)
    hold_parties: dict[str, tuple[str, str]] = field(default_factory=dict)  # hold -> (holder, payee)
    outcomes: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def move(self, changes: dict[str, int]) -> None:
        with self.lock:
            self.expected.update(changes)


class Caller:
    """One thread's connection: every call is one transaction, as the application makes it."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, row_factory=dict_row, prepare_threshold=None)

    def call(self, role: str, user: str | None, query: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.conn.transaction():
            if user is not None:  # the superuser's test-only path to a proven identity (api.authenticate's)
                self.conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (user,))
            self.conn.execute(f"SET LOCAL ROLE {role}")
            return self.conn.execute(query, params).fetchone()

    def many(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """A call that proves identities itself (api.tip_many), as the application login."""
        with self.conn.transaction():
            self.conn.execute("SET LOCAL ROLE livepanty_app")
            return self.conn.execute(query, params).fetchall()

    def close(self) -> None:
        self.conn.close()


def _setup(dsn: str, seed: Any) -> dict[str, Any]:
    for key, value in (("payouts.hold_days", "0"), ("payouts.min_tokens", "1")):
        seed.set_setting(key, value)
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:

        def register(name: str, role: str) -> str:
            row = conn.execute(
                "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                " p_date_of_birth => %s, p_role => %s)",
                (f"{name}@example.com", name, PASSWORD, date(1990, 1, 1), role),
            ).fetchone()
            return str(row["id"])

        viewers = [register(f"viewer_{i}", "viewer") for i in range(VIEWERS)]
        tokens = {
            user: conn.execute("SELECT token FROM api.login(%s, %s)", (f"viewer_{i}", PASSWORD)).fetchone()[
                "token"
            ]
            for i, user in enumerate(viewers)
        }
        performers = [register(f"performer_{i}", "performer") for i in range(PERFORMERS)]
        admin = str(
            conn.execute(
                "SELECT id FROM api.create_admin(p_email => 'boss@example.com', p_username => 'boss',"
                " p_password => %s, p_date_of_birth => '1980-01-01')",
                (PASSWORD,),
            ).fetchone()["id"]
        )
        for performer in performers:
            with conn.transaction():
                conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (performer,))
                kyc = conn.execute(
                    "SELECT id FROM api.submit_kyc(p_level => 'identity', p_document_type => 'passport',"
                    " p_document_country => 'DE', p_document_front_url => 's3://kyc-docs/front.jpg')"
                ).fetchone()["id"]
                conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (admin,))
                conn.execute("SELECT api.approve_kyc(p_verification_id => %s)", (kyc,))
    return {"viewers": viewers, "performers": performers, "admin": admin, "tokens": tokens}


def _worker(dsn: str, people: dict[str, Any], model: Model, seed: int) -> None:
    rng = random.Random(seed)
    caller = Caller(dsn)
    viewers, performers, admin = people["viewers"], people["performers"], people["admin"]
    last: tuple[str, str | None, str, dict[str, Any], Any] | None = None

    def pick_performer() -> str:
        return performers[0] if rng.random() < 0.6 else rng.choice(performers)

    def key() -> str:
        return uuid.uuid4().hex

    try:
        for _ in range(OPS_PER_THREAD):
            op = rng.choices(
                [
                    "buy",
                    "tip",
                    "ptip",
                    "hold",
                    "capture",
                    "release",
                    "payout",
                    "approve",
                    "pay",
                    "reject",
                    "refund",
                    "chargeback",
                    "adjust",
                    "replay",
                    "batch",
                    "pbuy",
                    "sweep",
                    "expire",
                ],
                weights=[14, 40, 8, 8, 10, 5, 4, 3, 3, 1, 2, 1, 2, 7, 6, 2, 2, 2],
            )[0]
            try:
                if op == "replay":
                    if last is None:
                        continue
                    role, user, query, params, first = last
                    again = caller.call(role, user, query, params)
                    if again["id"] != first["id"]:
                        model.failures.append(f"replay of {query.split('(')[0]} returned {again} not {first}")
                    model.outcomes["replay"] += 1
                    continue

                if op in ("buy", "pbuy"):
                    # pbuy: a performer buys (and may later be refunded into debt on a sharded wallet, which
                    # the next purchase settles inside lp.post)
                    user = rng.choice(viewers if op == "buy" else performers)
                    payment = caller.call(
                        "livepanty_app",
                        user,
                        "SELECT * FROM api.create_payment(p_bundle_code => %(b)s, p_provider => 'test',"
                        " p_idempotency_key => %(k)s)",
                        {"b": rng.choice(["small", "medium", "large"]), "k": key()},
                    )
                    params = {"p": payment["id"], "r": f"ref-{payment['id']}", "k": key()}
                    query = (
                        "SELECT * FROM api.complete_payment(p_payment_id => %(p)s,"
                        " p_provider_reference => %(r)s, p_idempotency_key => %(k)s)"
                    )
                    done = caller.call("livepanty_service", None, query, params)
                    model.move({user: done["tokens"], "issuance": -done["tokens"]})
                    with model.lock:
                        model.completed_payments.append((str(done["id"]), user, done["tokens"]))
                    last = ("livepanty_service", None, query, params, done)

                elif op == "tip":
                    sender, recipient = rng.choice(viewers), pick_performer()
                    params = {"r": recipient, "a": rng.randint(1, 120), "k": key()}
                    query = (
                        "SELECT * FROM api.tip(p_recipient_id => %(r)s, p_amount => %(a)s,"
                        " p_idempotency_key => %(k)s)"
                    )
                    tip = caller.call("livepanty_app", sender, query, params)
                    fee = tip["fee_amount"]
                    model.move({sender: -tip["amount"], recipient: tip["amount"] - fee, "platform_fees": fee})
                    last = ("livepanty_app", sender, query, params, tip)

                elif op == "ptip":
                    # Performers tip each other: the sender's earnings wait in credit shards that concurrent
                    # tips keep busy, so the debit sweeps them while other transactions credit both wallets.
                    sender, recipient = rng.sample(performers, 2)
                    params = {"r": recipient, "a": rng.randint(1, 200), "k": key()}
                    query = (
                        "SELECT * FROM api.tip(p_recipient_id => %(r)s, p_amount => %(a)s,"
                        " p_idempotency_key => %(k)s)"
                    )
                    tip = caller.call("livepanty_app", sender, query, params)
                    fee = tip["fee_amount"]
                    model.move({sender: -tip["amount"], recipient: tip["amount"] - fee, "platform_fees": fee})
                    last = ("livepanty_app", sender, query, params, tip)

                elif op == "hold":
                    holder, payee = rng.choice(viewers), pick_performer()
                    # some holds live one second, so that the expiry job and lazy expiry have work
                    life = rng.choice(["1 second", None, None])
                    params = {"p": payee, "a": rng.randint(20, 300), "k": key(), "e": life}
                    query = (
                        "SELECT * FROM api.place_hold(p_payee_id => %(p)s, p_amount => %(a)s,"
                        " p_idempotency_key => %(k)s, p_expires_in => %(e)s::interval)"
                    )
                    hold = caller.call("livepanty_app", holder, query, params)
                    with model.lock:
                        model.open_holds.append(str(hold["id"]))
                        model.hold_parties[str(hold["id"])] = (holder, payee)
                    last = ("livepanty_app", holder, query, params, hold)

                elif op in ("capture", "release"):
                    with model.lock:
                        if not model.open_holds:
                            continue
                        hold_id = rng.choice(model.open_holds)
                    holder, payee = model.hold_parties[hold_id]
                    if op == "capture":
                        params = {"h": hold_id, "a": rng.randint(1, 80), "k": key()}
                        query = (
                            "SELECT * FROM api.capture_hold(p_hold_id => %(h)s, p_amount => %(a)s,"
                            " p_idempotency_key => %(k)s)"
                        )
                        capture = caller.call("livepanty_service", None, query, params)
                        fee = capture["fee_amount"]
                        model.move(
                            {holder: -capture["amount"], payee: capture["amount"] - fee, "platform_fees": fee}
                        )
                        last = ("livepanty_service", None, query, params, capture)
                    else:
                        params = {"h": hold_id, "k": key()}
                        query = (
                            "SELECT * FROM api.release_hold(p_hold_id => %(h)s, p_idempotency_key => %(k)s)"
                        )
                        released = caller.call("livepanty_app", holder, query, params)
                        with model.lock:
                            if hold_id in model.open_holds:
                                model.open_holds.remove(hold_id)
                        last = ("livepanty_app", holder, query, params, released)

                elif op == "payout":
                    performer = rng.choice(performers)
                    params = {"t": rng.randint(50, 800), "k": key()}
                    query = (
                        "SELECT * FROM api.request_payout(p_tokens => %(t)s, p_method => 'paypal',"
                        " p_idempotency_key => %(k)s)"
                    )
                    payout = caller.call("livepanty_app", performer, query, params)
                    model.move({performer: -payout["tokens"], "payout_clearing": payout["tokens"]})
                    with model.lock:
                        model.requested_payouts.append(str(payout["id"]))
                        model.payout_tokens[str(payout["id"])] = (performer, payout["tokens"])
                    last = ("livepanty_app", performer, query, params, payout)

                elif op in ("approve", "reject"):
                    with model.lock:
                        if not model.requested_payouts:
                            continue
                        payout_id = rng.choice(model.requested_payouts)
                    if op == "approve":
                        params = {"p": payout_id, "k": key()}
                        query = "SELECT * FROM api.approve_payout(p_payout_id => %(p)s, p_idempotency_key => %(k)s)"  # noqa: E501
                        done = caller.call("livepanty_app", admin, query, params)
                        with model.lock:
                            if payout_id in model.requested_payouts:
                                model.requested_payouts.remove(payout_id)
                                model.approved_payouts.append(payout_id)
                    else:
                        params = {"p": payout_id, "k": key()}
                        query = (
                            "SELECT * FROM api.reject_payout(p_payout_id => %(p)s, p_reason => 'test',"
                            " p_idempotency_key => %(k)s)"
                        )
                        done = caller.call("livepanty_app", admin, query, params)
                        performer, tokens = model.payout_tokens[payout_id]
                        model.move({performer: tokens, "payout_clearing": -tokens})
                        with model.lock:
                            if payout_id in model.requested_payouts:
                                model.requested_payouts.remove(payout_id)
                    last = ("livepanty_app", admin, query, params, done)

                elif op == "pay":
                    with model.lock:
                        if not model.approved_payouts:
                            continue
                        payout_id = model.approved_payouts.pop(rng.randrange(len(model.approved_payouts)))
                    params = {"p": payout_id, "r": f"paid-{payout_id}", "k": key()}
                    query = (
                        "SELECT * FROM api.mark_payout_paid(p_payout_id => %(p)s,"
                        " p_provider_reference => %(r)s, p_idempotency_key => %(k)s)"
                    )
                    done = caller.call("livepanty_service", None, query, params)
                    _, tokens = model.payout_tokens[payout_id]
                    model.move({"payout_clearing": -tokens, "issuance": tokens})
                    last = ("livepanty_service", None, query, params, done)

                elif op in ("refund", "chargeback"):
                    with model.lock:
                        if not model.completed_payments:
                            continue
                        payment_id, user, tokens = model.completed_payments.pop(
                            rng.randrange(len(model.completed_payments))
                        )
                    function = "refund_payment" if op == "refund" else "chargeback_payment"
                    params = {"p": payment_id, "k": key()}
                    query = (
                        f"SELECT * FROM api.{function}(p_payment_id => %(p)s, p_reason => 'test',"
                        " p_idempotency_key => %(k)s)"
                    )
                    done = caller.call("livepanty_service", None, query, params)
                    # the buyer gives back every token not written off (policy debt: the whole purchase; its
                    # debt_tokens leave out debt an earlier reversal records: recovered + debt may be less)
                    written_off = done["written_off_tokens"] or 0
                    given_back = tokens - written_off
                    model.move({user: -given_back, "chargeback_losses": -written_off, "issuance": tokens})
                    last = ("livepanty_service", None, query, params, done)

                elif op == "batch":
                    # api.tip_many: several viewers' tips in one transaction, each with its own session token
                    senders = rng.sample(viewers, 4)
                    items = [
                        {
                            "session_token": people["tokens"][sender],
                            "recipient_id": pick_performer(),
                            "amount": rng.randint(1, 120),
                            "idempotency_key": key(),
                        }
                        for sender in senders
                    ]
                    rows = caller.many("SELECT * FROM api.tip_many(%(t)s::jsonb)", {"t": json.dumps(items)})
                    for item, row in zip(items, rows, strict=True):
                        if row["error_code"] is None:
                            fee = row["fee_amount"]
                            model.move(
                                {
                                    str(row["sender_id"]): -row["amount"],
                                    item["recipient_id"]: row["amount"] - fee,
                                    "platform_fees": fee,
                                }
                            )
                        elif row["error_code"] in EXPECTED_REFUSALS or row["error_code"] == "LP114":
                            # LP114: a sender with holds past their time; the batcher sends such a tip alone
                            model.outcomes[f"batch:{row['error_code']}"] += 1
                        else:
                            model.failures.append(f"batch tip: [{row['error_code']}] {row['error_message']}")

                elif op in ("sweep", "expire"):
                    function = "sweep_wallets" if op == "sweep" else "expire_holds"
                    caller.call("livepanty_service", None, f"SELECT api.{function}(20) AS n", {})

                elif op == "adjust":
                    user = rng.choice(viewers + performers)
                    amount = rng.choice([-1, 1]) * rng.randint(1, 50)
                    params = {"u": user, "a": amount, "k": key()}
                    query = (
                        "SELECT * FROM api.adjust_balance(p_user_id => %(u)s, p_amount => %(a)s,"
                        " p_reason => 'concurrency test', p_idempotency_key => %(k)s)"
                    )
                    done = caller.call("livepanty_app", admin, query, params)
                    model.move({user: amount, "adjustments": -amount})
                    last = ("livepanty_app", admin, query, params, done)

                model.outcomes[op] += 1
            except psycopg.Error as exc:
                code = exc.diag.sqlstate
                if code in EXPECTED_REFUSALS:
                    model.outcomes[f"{op}:{code}"] += 1
                else:
                    model.failures.append(f"{op}: [{code}] {exc.diag.message_primary}")
    finally:
        caller.close()


def test_random_concurrent_money_operations_keep_every_invariant(db_url: str, seed: Any) -> None:
    people = _setup(db_url, seed)
    model = Model()
    threads = [threading.Thread(target=_worker, args=(db_url, people, model, n)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert model.failures == [], model.failures[:20]
    done = sum(n for op, n in model.outcomes.items() if ":" not in op)
    assert done > THREADS * OPS_PER_THREAD // 3, model.outcomes  # the workload really ran
    for op in (
        "buy",
        "pbuy",
        "tip",
        "ptip",
        "hold",
        "capture",
        "payout",
        "replay",
        "batch",
        "sweep",
        "expire",
    ):
        assert model.outcomes[op] > 0, (op, model.outcomes)

    balances = seed.balances()  # every wallet, added up over the shards behind a router
    mismatches = {
        name: (balances.get(name, 0), expected)
        for name, expected in model.expected.items()
        if balances.get(name, 0) != expected
    }
    untouched = {name: total for name, total in balances.items() if name not in model.expected and total != 0}
    assert mismatches == {}
    assert untouched == {}
    assert sum(balances.values()) == 0
    assert seed.ledger_problems() == []
    assert seed.system_main_entries() == 0  # system wallets post only to their shards (docs/ledger.md)


def test_performers_tipping_each_other_under_load_never_deadlock(db_url: str, seed: Any) -> None:
    """Two performers tip each other more than their main balance holds (so each debit sweeps the sender's
    credit shards) while viewers keep every shard of both busy. Each transaction must take its locks in the
    one global order of docs/ledger.md; a debit that swept its shards and then waited for the other
    performer's shards used to deadlock here within seconds."""
    seed.set_setting("wallets.performer_shards", "2")
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:

        def register(name: str, role: str) -> str:
            return str(
                conn.execute(
                    "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                    " p_date_of_birth => '1990-01-01', p_role => %s)",
                    (f"{name}@example.com", name, PASSWORD, role),
                ).fetchone()["id"]
            )

        performers = [register("hot_one", "performer"), register("hot_two", "performer")]
        viewers = [register(f"fan_{i}", "viewer") for i in range(10)]
    seed.approve_kyc(*performers)  # the KYC gate of being paid
    seed.fund(1_000_000, *viewers)

    failures: list[str] = []
    refusals: Counter = Counter()
    done: Counter = Counter()
    tip = "SELECT * FROM api.tip(p_recipient_id => %(r)s, p_amount => %(a)s, p_idempotency_key => %(k)s)"

    def fan(user: str, n: int) -> None:
        rng, caller = random.Random(n), Caller(db_url)
        try:
            for _ in range(300):
                try:
                    caller.call(
                        "livepanty_app",
                        user,
                        tip,
                        {"r": rng.choice(performers), "a": rng.randint(5, 50), "k": uuid.uuid4().hex},
                    )
                    done["fan"] += 1
                except psycopg.Error as exc:
                    failures.append(f"fan: [{exc.diag.sqlstate}] {exc.diag.message_primary}")
        finally:
            caller.close()

    def performer(me: str, other: str) -> None:
        caller = Caller(db_url)
        try:
            for _ in range(150):
                try:
                    main = caller.call(
                        "livepanty_app",
                        me,
                        "SELECT balance - reserved AS main FROM api.get_wallet()",
                        {},
                    )["main"]
                    caller.call("livepanty_app", me, tip, {"r": other, "a": main + 3, "k": uuid.uuid4().hex})
                    done["performer"] += 1
                except psycopg.Error as exc:
                    if exc.diag.sqlstate == "LP100":  # nothing in the shards either: a fair refusal
                        refusals["LP100"] += 1
                    else:
                        failures.append(f"performer: [{exc.diag.sqlstate}] {exc.diag.message_primary}")
        finally:
            caller.close()

    threads = [threading.Thread(target=fan, args=(user, i)) for i, user in enumerate(viewers)]
    threads += [
        threading.Thread(target=performer, args=(performers[0], performers[1])),
        threading.Thread(target=performer, args=(performers[1], performers[0])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == [], failures[:10]
    assert done["performer"] > 100, (done, refusals)  # the sweeping debits really ran
    assert seed.ledger_problems() == []
