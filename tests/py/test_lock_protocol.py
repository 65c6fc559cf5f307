"""Deadlock regression tests for the lock protocol of the money code (docs/ledger.md, "Lock protocol").

Each test forces, attempt after attempt, one interleaving in which the first money core (before issue 7) took
a lock out of order, and deadlocked (each test failed on that code in every run: 40P01 in 6-14 of 20 attempts
for the races of flaw 1, in every attempt for flaws 2 and 3), and asserts that no
attempt hit a deadlock (SQLSTATE 40P01) or any other unexpected error, and that ``api.verify_ledger()`` finds
nothing afterwards. Every operation is a real api call on a connection of its own, in its own transaction,
with the role and acting user the application uses. The tests only widen windows, in ways a busy production
system also produces (a slow transaction, a job that commits a little later):

* a test-only trigger (schema ``lp_test_gate``, dropped afterwards) pauses a transaction that asked for it
  just before its first ledger ``INSERT``, i.e. holding every row and shard lock its postings took, until
  the test opens the gate;
* a job or refund transaction is kept open until the others queue behind it;
* ``deadlock_timeout`` is 50 ms in every session, so a cycle is reported fast; the test waits for each stage
  by watching ``pg_blocking_pids`` (a stage that never comes is not waited for forever: the attempt goes on).

The stages never assume the flawed order: with a correct lock protocol every attempt simply completes.

1. The foreign key ``lp.ledger.wallet_id -> lp.wallets`` takes FOR KEY SHARE on the wallet rows at lp.post's
   final INSERT, after the shards. ``api.sweep_wallets`` and ``lp.claw_back`` lock wallet rows FOR UPDATE and
   then update them, which the key share must wait for; once that transaction commits, PostgreSQL follows the
   row's update chain and makes the key share wait for whoever updates the row next. When that next updater
   is waiting for a shard the key-sharing transaction holds, it is a cycle. One test per reported pair
   (complete_payment, reject_payout, capture_hold and tip crediting a performer, against the performer's own
   tip or the hold expiry job updating the row); the row locker is the sweep job on even attempts and a
   refund on odd ones. Whether the cycle closes is a race PostgreSQL decides when the row locker commits, so
   each test makes ``ATTEMPTS`` attempts with ``KEY_SHARERS`` credits each, and a single deadlock fails it.
   The purchases (complete_payment <-> tip) can no longer reach that interleaving: a purchase and its
   buyer's tip both take the buyer's spend counter first, so the later purchases and the tip queue behind
   the first purchase before any wallet or shard. That test asserts this serialisation stage by stage
   (pg_locks, pg_blocking_pids) and that no purchase waits for the row locker, and fails at once if either
   came undone (its docstring says how; both were checked by reverting the code in a scratch copy).
2. ``api.complete_payment`` and ``api.adjust_balance`` call ``lp.settle_debt`` again after ``lp.post``: when a
   refund put the wallet in debt in between, the sweep takes the main row after a shard of the same wallet,
   against the owner's tip that holds the main row and waits for every shard. Forced: every attempt.
3. ``lp.claw_back`` locks the buyer's main row and only then lets lp.post take an issuance shard, whose wallet
   id may sort first: against purchases of the same buyer that hold every issuance shard and wait for that
   main row. Forced: every attempt.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

pytestmark = pytest.mark.not_through_pgbouncer(
    "each stage is recognised by a backend's pid in pg_blocking_pids, deadlock_timeout is set per session: "
    "behind a transaction-mode pooler a connection's pid and settings change from one transaction to the next"
)

PASSWORD = "lock protocol test 1"
ATTEMPTS = int(os.environ.get("LIVEPANTY_LOCK_ATTEMPTS", "20"))
#: The deterministic interleavings (flaws 2 and 3) need fewer attempts.
FORCED_ATTEMPTS = int(os.environ.get("LIVEPANTY_LOCK_FORCED_ATTEMPTS", "10"))
#: Calls crediting the performer at once in the tests of flaw 1: a deadlock needs only one of them to lose
#: its race against the updater of the wallet row, so several make a lost race (and the test) likely.
KEY_SHARERS = 3
DEADLOCK_TIMEOUT = "50ms"
#: How long the test waits for a stage (a call paused or queued) before it lets the attempt go on anyway.
STAGE_TIMEOUT = 5.0
DEADLOCK = "40P01"

TIP = "SELECT * FROM api.tip(p_recipient_id => %(r)s, p_amount => %(a)s, p_idempotency_key => %(k)s)"
CREATE_PAYMENT = (
    "SELECT * FROM api.create_payment(p_bundle_code => %(b)s, p_provider => 'test',"
    " p_idempotency_key => %(k)s)"
)
COMPLETE_PAYMENT = (
    "SELECT * FROM api.complete_payment(p_payment_id => %(p)s, p_provider_reference => %(r)s,"
    " p_idempotency_key => %(k)s)"
)
REFUND = (
    "SELECT * FROM api.refund_payment(p_payment_id => %(p)s, p_reason => 'test', p_idempotency_key => %(k)s)"
)
CHARGEBACK = (
    "SELECT * FROM api.chargeback_payment(p_payment_id => %(p)s, p_reason => 'test',"
    " p_idempotency_key => %(k)s)"
)
ADJUST = (
    "SELECT * FROM api.adjust_balance(p_user_id => %(u)s, p_amount => %(a)s, p_reason => 'lock test',"
    " p_idempotency_key => %(k)s)"
)
REQUEST_PAYOUT = (
    "SELECT * FROM api.request_payout(p_tokens => %(t)s, p_method => 'paypal', p_idempotency_key => %(k)s)"
)
REJECT_PAYOUT = (
    "SELECT * FROM api.reject_payout(p_payout_id => %(p)s, p_reason => 'test', p_idempotency_key => %(k)s)"
)
PLACE_HOLD = (
    "SELECT * FROM api.place_hold(p_payee_id => %(p)s, p_amount => %(a)s, p_idempotency_key => %(k)s,"
    " p_expires_in => %(e)s::interval)"
)
CAPTURE_HOLD = (
    "SELECT * FROM api.capture_hold(p_hold_id => %(h)s, p_amount => %(a)s, p_idempotency_key => %(k)s)"
)
SWEEP_JOB = "SELECT api.sweep_wallets()"
EXPIRE_JOB = "SELECT api.expire_holds()"

#: The pause point: a statement trigger on lp.ledger that, in a transaction that set lp_test.pause = 'on',
#: waits (once) for a row lock the test holds on lp_test_gate.gate.
GATE_DDL = """
CREATE SCHEMA lp_test_gate;
CREATE TABLE lp_test_gate.gate (id integer PRIMARY KEY);
INSERT INTO lp_test_gate.gate VALUES (1);
GRANT USAGE ON SCHEMA lp_test_gate TO PUBLIC;
GRANT SELECT, UPDATE ON lp_test_gate.gate TO PUBLIC;
CREATE FUNCTION lp_test_gate.wait() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('lp_test.pause', true) = 'on' THEN
        PERFORM set_config('lp_test.pause', 'off', true);
        PERFORM 1 FROM lp_test_gate.gate FOR SHARE;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER lp_test_gate BEFORE INSERT ON lp.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION lp_test_gate.wait();
"""
GATE_DROP = "DROP TRIGGER IF EXISTS lp_test_gate ON lp.ledger; DROP SCHEMA IF EXISTS lp_test_gate CASCADE"


def key() -> str:
    return uuid.uuid4().hex


def connect(dsn: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row, prepare_threshold=None)
    conn.execute(f"SET deadlock_timeout = '{DEADLOCK_TIMEOUT}'")
    return conn


class Actor:
    """One connection that makes one api call at a time, in its own transaction, in a thread."""

    def __init__(self, dsn: str, name: str) -> None:
        self.name = name
        self.conn = connect(dsn)
        self.pid: int = self.conn.info.backend_pid
        self.done = threading.Event()
        self.done.set()
        self.outcome = "idle"
        self.thread: threading.Thread | None = None

    def start(
        self, role: str, user: str | None, query: str, params: dict[str, Any], *, paused: bool = False
    ) -> Actor:
        """Start the call; with ``paused`` it stops at the gate before its first ledger INSERT."""
        assert self.done.is_set(), f"{self.name} is still busy"
        self.done.clear()
        self.outcome = "running"

        def run() -> None:
            try:
                with self.conn.transaction():
                    if user is not None:  # the superuser's test-only path to a proven identity
                        self.conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (user,))
                    if paused:
                        self.conn.execute("SELECT set_config('lp_test.pause', 'on', true)")
                    self.conn.execute(f"SET LOCAL ROLE {role}")
                    self.conn.execute(query, params)
                self.outcome = "ok"
            except psycopg.Error as exc:
                self.outcome = exc.diag.sqlstate or type(exc).__name__
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, name=self.name, daemon=True)
        self.thread.start()
        return self

    def finish(self) -> str:
        assert self.done.wait(30), f"{self.name} never finished"
        assert self.thread is not None
        self.thread.join()
        return self.outcome


class Held:
    """A transaction the test keeps open: one api call made, committed when the test says so."""

    def __init__(self, dsn: str) -> None:
        self.conn = connect(dsn)
        self.pid: int = self.conn.info.backend_pid

    def call(self, role: str, user: str | None, query: str, params: dict[str, Any]) -> None:
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SET LOCAL lock_timeout = '10s'")
            if user is not None:
                self.conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (user,))
            self.conn.execute(f"SET LOCAL ROLE {role}")
            self.conn.execute(query, params)
        except psycopg.Error:
            self.conn.execute("ROLLBACK")
            raise

    def commit(self) -> None:
        self.conn.execute("COMMIT")


@dataclass
class World:
    dsn: str
    db: psycopg.Connection[Any]  #: superuser, autocommit: setup and the stage watcher
    gate: psycopg.Connection[Any]  #: holds the gate row lock while the gate is closed
    admin: str
    star: str  #: a performer who receives the tips of the performers under test
    fans: list[str]  #: viewers with plenty of tokens
    actors: dict[str, Actor] = field(default_factory=dict)
    helds: dict[str, Held] = field(default_factory=dict)
    names: Iterator[int] = field(default_factory=itertools.count)

    # -- connections -------------------------------------------------------------------------------------

    def actor(self, name: str) -> Actor:
        if name not in self.actors:
            self.actors[name] = Actor(self.dsn, name)
        return self.actors[name]

    def held(self, name: str) -> Held:
        if name not in self.helds:
            self.helds[name] = Held(self.dsn)
        return self.helds[name]

    # -- the gate and the stages -------------------------------------------------------------------------

    def close_gate(self) -> None:
        self.gate.execute("BEGIN")
        self.gate.execute("SELECT 1 FROM lp_test_gate.gate FOR UPDATE")

    def open_gate(self) -> None:
        self.gate.execute("COMMIT")

    def blockers(self, actor: Actor) -> list[int]:
        return self.db.execute("SELECT pg_blocking_pids(%s) AS pids", (actor.pid,)).fetchone()["pids"]

    def until(self, check: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + STAGE_TIMEOUT
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.002)
        return False

    def at_gate(self, actor: Actor) -> bool:
        """Wait until ``actor`` is paused at the gate (or finished: a call that writes no ledger entry)."""
        gate_pid = self.gate.info.backend_pid
        return self.until(lambda: actor.done.is_set() or gate_pid in self.blockers(actor))

    def queued_behind(self, actor: Actor, pid: int) -> bool:
        """Wait until ``actor`` waits for a lock held (or awaited first) by backend ``pid``, or finished."""
        return self.until(lambda: actor.done.is_set() or pid in self.blockers(actor))

    def waiting(self, actor: Actor) -> bool:
        """Wait until ``actor`` waits for any lock, or finished."""
        return self.until(lambda: actor.done.is_set() or bool(self.blockers(actor)))

    def counter_waiter(self, actor: Actor, queue: list[Actor]) -> bool:
        """Whether ``actor`` waits for a row of lp.spend_counters (it holds or awaits a tuple lock there:
        how PostgreSQL queues row lock waiters) behind calls of ``queue`` only."""
        row = self.db.execute(
            "SELECT relation::regclass::text AS rel FROM pg_locks WHERE pid = %s AND locktype = 'tuple'",
            (actor.pid,),
        ).fetchone()
        blockers = self.blockers(actor)
        queued = bool(blockers) and set(blockers) <= {a.pid for a in queue}
        return row is not None and row["rel"] == "lp.spend_counters" and queued

    # -- setup (the superuser, each step committed) ------------------------------------------------------

    def register(self, prefix: str, role: str) -> str:
        """A new user; a performer with an approved identity verification (the KYC gate of being paid)."""
        name = f"{prefix}_{next(self.names)}"
        user = str(
            self.db.execute(
                "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                " p_date_of_birth => '1990-01-01', p_role => %s)",
                (f"{name}@example.com", name, PASSWORD, role),
            ).fetchone()["id"]
        )
        if role == "performer":
            self.db.execute(KYC_APPROVED, (user,))
        return user

    def wallet(self, user: str) -> str:
        return str(self.db.execute("SELECT id FROM lp.wallets WHERE user_id = %s", (user,)).fetchone()["id"])

    def main_balance(self, user: str) -> int:
        return self.db.execute("SELECT balance FROM lp.wallets WHERE user_id = %s", (user,)).fetchone()[
            "balance"
        ]

    def fund(self, user: str, tokens: int) -> None:
        """Issue tokens to the user (to a credit shard when the wallet has shards)."""
        self.db.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),"
            " ARRAY[ROW(lp.system_wallet('issuance'), -%(t)s, 'purchase', 0, false)::lp.posting,"
            "       ROW(lp_wallet, %(t)s, 'purchase', 0, false)::lp.posting])"
            " FROM (SELECT id AS lp_wallet FROM lp.wallets WHERE user_id = %(u)s) AS w",
            {"u": user, "t": tokens},
        )

    def sweep(self, user: str) -> None:
        """Move the user's credit shards into the main balance (what the sweep job would do)."""
        self.db.execute("SELECT lp.sweep_wallet(id) FROM lp.wallets WHERE user_id = %s", (user,))

    def call(self, role: str, user: str | None, query: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction():
            if user is not None:
                self.db.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (user,))
            self.db.execute(f"SET LOCAL ROLE {role}")
            return self.db.execute(query, params).fetchone()

    def pending_payment(self, user: str, bundle: str = "small") -> str:
        return str(self.call("livepanty_app", user, CREATE_PAYMENT, {"b": bundle, "k": key()})["id"])

    def buy(self, user: str, bundle: str = "small") -> str:
        """A completed purchase of the user; returns the payment id."""
        payment = self.pending_payment(user, bundle)
        self.call(
            "livepanty_service", None, COMPLETE_PAYMENT, {"p": payment, "r": f"ref-{payment}", "k": key()}
        )
        return payment

    def approve_kyc(self, user: str) -> None:
        if self.db.execute(
            "SELECT 1 FROM lp.kyc_verifications WHERE user_id = %s AND status = 'approved'", (user,)
        ).fetchone():
            return  # approved at registration
        kyc = self.call(
            "livepanty_app",
            user,
            "SELECT id FROM api.submit_kyc(p_level => 'identity', p_document_type => 'passport',"
            " p_document_country => 'DE', p_document_front_url => 's3://kyc-docs/front.jpg')",
            {},
        )["id"]
        self.call(
            "livepanty_app",
            self.admin,
            "SELECT id FROM api.approve_kyc(p_verification_id => %(v)s)",
            {"v": kyc},
        )

    def verify_ledger(self) -> list[dict[str, Any]]:
        return self.db.execute("SELECT * FROM api.verify_ledger()").fetchall()


#: An identity verification as an admin's api.approve_kyc leaves it (the KYC gate of being paid).
KYC_APPROVED = (
    "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at,"
    " expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year')"
)


@pytest.fixture
def world(one_database_url: str) -> Iterator[World]:
    db_url = one_database_url
    db = connect(db_url)
    gate = connect(db_url)
    w: World | None = None
    try:
        db.execute(GATE_DDL)
        for setting, value in (("payouts.hold_days", "0"), ("payouts.min_tokens", "1")):
            db.execute("UPDATE lp.settings SET value = %s::jsonb WHERE key = %s", (value, setting))
        admin = str(
            db.execute(
                "SELECT id FROM api.create_admin(p_email => 'boss@example.com', p_username => 'boss',"
                " p_password => %s, p_date_of_birth => '1980-01-01')",
                (PASSWORD,),
            ).fetchone()["id"]
        )
        w = World(db_url, db, gate, admin, star="", fans=[])
        w.star = w.register("star", "performer")
        for _ in range(KEY_SHARERS):
            w.fans.append(w.register("fan", "viewer"))
            w.fund(w.fans[-1], 10_000_000)
        yield w
    finally:
        # An attempt cut short may leave the gate closed or a row locker open: release them first.
        gate.close()
        if w is not None:
            for held in w.helds.values():
                held.conn.close()
            for actor in w.actors.values():
                actor.done.wait(30)
                actor.conn.close()
        db.execute(GATE_DROP)
        db.close()


@dataclass
class Tally:
    """Outcomes of the attempts of one test."""

    attempts: int = 0
    deadlocked: int = 0
    failures: list[str] = field(default_factory=list)

    def record(self, outcomes: dict[str, str]) -> None:
        """Every call of an attempt must succeed: in these interleavings none has a business reason to be
        refused (a refusal seen here follows a deadlock that rolled another call back)."""
        self.attempts += 1
        if any(DEADLOCK in outcome for outcome in outcomes.values()):
            self.deadlocked += 1
        for name, outcome in outcomes.items():
            if outcome != "ok":
                self.failures.append(f"attempt {self.attempts}: {name} -> {outcome}")

    def check(self, world: World) -> None:
        assert self.failures == [], (
            f"{self.deadlocked} of {self.attempts} attempts deadlocked ({DEADLOCK});"
            f" failures: {self.failures[:8]}"
        )
        assert world.verify_ledger() == []


# -- 1. the foreign key's key share after the shards ------------------------------------------------------


@dataclass
class Call:
    """An api call to make on an actor's connection."""

    actor: Actor
    role: str
    user: str | None
    query: str
    params: dict[str, Any]

    def start(self, *, paused: bool = False) -> Actor:
        return self.actor.start(self.role, self.user, self.query, self.params, paused=paused)


def prepared_performer(world: World, prefix: str, *, below: str = "g") -> tuple[str, str]:
    """A performer (wallet id sorting before ``below``) with 1200 tokens on the main balance, 100 waiting in
    a credit shard (so the sweep job picks the wallet) and a completed purchase of 500 that can be refunded;
    returns (user, payment)."""
    user = world.register(prefix, "performer")
    while world.wallet(user) >= below:
        user = world.register(prefix, "performer")
    world.fund(user, 700)
    payment = world.buy(user)
    world.sweep(user)
    world.fund(user, 100)
    return user, payment


def race_behind_row_locker(
    world: World, attempt: int, user: str, payment: str, credits: list[Call], updater: Callable[[int], Call]
) -> dict[str, str]:
    """The interleaving of flaw 1; returns the outcome of every call.

    The ``credits`` (calls crediting ``user``'s wallet, each on a shard of its own) pause at the gate holding
    their shards. The row locker then locks ``user``'s wallet row and updates it, and stays open: the sweep
    job on even attempts, a refund of ``payment`` (lp.claw_back) on odd ones. The updater (a call that
    updates that row, then needs what the credits hold; built from the main balance the row locker leaves)
    queues behind it. The gate opens: the credits' foreign key checks on the wallet row queue behind the row
    locker too. The row locker commits: the updater, woken first, updates the row and waits for a credit's
    shard; a credit that looks at the row after that update waits for the updater. With a lock protocol that
    never makes a key share wait (no FOR UPDATE on wallet rows), the credits commit and the updater goes on.
    """
    world.close_gate()
    for credit in credits:
        credit.start(paused=True)
    for credit in credits:
        world.at_gate(credit.actor)
    locker = world.held("row_locker")
    main = world.main_balance(user)
    if attempt % 2 == 0:
        locker.call("livepanty_service", None, SWEEP_JOB, {})
    else:
        locker.call("livepanty_service", None, REFUND, {"p": payment, "k": key()})
        main -= 500
    update = updater(main)
    update.start()
    world.queued_behind(update.actor, locker.pid)
    world.open_gate()
    for credit in credits:
        world.queued_behind(credit.actor, locker.pid)
    locker.commit()
    return {call.actor.name: call.actor.finish() for call in [*credits, update]}


def purchases_behind_the_first(
    world: World, attempt: int, user: str, payment: str, credits: list[Call], tip: Callable[[int], Call]
) -> dict[str, str]:
    """The interleaving of flaw 1 for purchases, as the lock protocol now shapes it; returns the outcome of
    every call (a stage the protocol guarantees that does not come is an outcome too, and fails the test).

    The first purchase pauses at the gate holding the buyer's spend counter and a shard of the buyer's
    wallet. The other purchases of the same buyer, and then the buyer's own tip, cannot get between it and
    its commit: each queues for the spend counter row (step 1 of the protocol), before any wallet or shard.
    The row locker (the sweep job on even attempts, an admin's debit adjustment on odd ones: a refund of the
    buyer's ``payment`` would take the spend counter first and queue with the purchases) locks and updates
    the wallet row and stays open. The gate opens: every purchase commits while the row locker is still open
    (no purchase waits for the wallet row: no foreign key check onto it, no lock on it for a credit to a
    wallet not in debt); then the tip, last to get the counter, queues behind the row locker for the main
    row, and completes once it commits.
    """
    first, *later = credits
    world.close_gate()
    first.start(paused=True)
    outcomes: dict[str, str] = {}
    if not world.at_gate(first.actor):
        outcomes[first.actor.name] = "did not reach the gate"
    update = tip(world.main_balance(user))
    for call in [*later, update]:  # one at a time: the tip queues last
        call.start(paused=call is not update)
        if not world.until(lambda call=call: world.counter_waiter(call.actor, [c.actor for c in credits])):
            outcomes[call.actor.name] = "did not queue for the spend counter behind the first purchase"
    if outcomes:  # the order is not the protocol's: let the calls run into each other, report what they did
        world.open_gate()
        return {
            call.actor.name: f"{outcomes.get(call.actor.name, 'queued')}; {call.actor.finish()}"
            for call in [*credits, update]
        }
    locker = world.held("row_locker")
    if attempt % 2 == 0:
        locker.call("livepanty_service", None, SWEEP_JOB, {})
    else:
        locker.call("livepanty_app", world.admin, ADJUST, {"u": user, "a": -10, "k": key()})
    world.open_gate()
    for credit in credits:
        if not credit.actor.done.wait(STAGE_TIMEOUT):
            outcomes[credit.actor.name] = "waited for the row locker"
    if not world.queued_behind(update.actor, locker.pid) or update.actor.done.is_set():
        outcomes[update.actor.name] = "did not wait for the row locker's wallet row"
    locker.commit()
    for call in [*credits, update]:
        outcome = call.actor.finish()
        outcomes.setdefault(call.actor.name, outcome)
    return outcomes


def test_purchases_credited_to_a_performer_and_their_own_tip_do_not_deadlock(world: World) -> None:
    """complete_payment <-> tip. Purchases of a performer are credited to the performer's shards while the
    performer tips more than the main balance holds (the tip waits for those shards) and the sweep job or a
    refund holds the performer's wallet row. A purchase's foreign key check must not end up waiting for the
    tip's update of the wallet row while it holds a shard the tip waits for.

    The protocol now makes this cycle impossible twice over, and the test checks both halves rather than
    waiting for the cycle: (a) a purchase takes its buyer's spend counter before anything else, as the buyer's
    tip does, so the later purchases and the tip queue behind the first purchase on that row, holding no
    wallet or shard (``purchases_behind_the_first``); (b) a purchase holding a shard never waits for the
    wallet row (asserted: every purchase commits while the row locker still holds that row). If a purchase
    took its counter after ``lp.post`` again (the order of the first design), (a) fails at once: the later
    purchases reach the gate instead of queueing, and the tip holding the counter waits for their shards while
    they wait for the counter (40P01). If flaw 1 came back (the foreign key ``lp.ledger.wallet_id ->
    lp.wallets`` with a FOR UPDATE on wallet rows in the sweep job or ``lp.claw_back``: the key share
    conflicts with FOR UPDATE, not with FOR NO KEY UPDATE), (b) fails in every attempt: the first purchase's
    key share waits for the row locker while it holds its shard. The pairs whose credits do not share a
    counter (the tests below) still race the full cycle."""
    tally = Tally()
    for attempt in range(ATTEMPTS):
        performer, old = prepared_performer(world, "buyer")
        payments = [world.pending_payment(performer) for _ in range(KEY_SHARERS)]
        credits = [
            Call(
                world.actor(f"complete_payment_{i}"),
                "livepanty_service",
                None,
                COMPLETE_PAYMENT,
                {"p": payment, "r": f"ref-{payment}", "k": key()},
            )
            for i, payment in enumerate(payments)
        ]
        tally.record(
            purchases_behind_the_first(
                world,
                attempt,
                performer,
                old,
                credits,
                lambda main, performer=performer: Call(
                    world.actor("tip"),
                    "livepanty_app",
                    performer,
                    TIP,
                    {"r": world.star, "a": main + 50, "k": key()},
                ),
            )
        )
    tally.check(world)


def test_payout_rejections_and_the_performers_tip_do_not_deadlock(world: World) -> None:
    """reject_payout <-> tip. Rejected payouts return their tokens to the performer's shards while the
    performer tips more than the main balance holds and the sweep job or a refund holds the wallet row."""
    tally = Tally()
    for attempt in range(ATTEMPTS):
        performer, old = prepared_performer(world, "earner")
        world.approve_kyc(performer)
        world.call("livepanty_app", world.fans[0], TIP, {"r": performer, "a": 1000, "k": key()})
        payouts = [
            world.call("livepanty_app", performer, REQUEST_PAYOUT, {"t": 100, "k": key()})["id"]
            for _ in range(KEY_SHARERS)
        ]
        world.fund(performer, 100)
        credits = [
            Call(
                world.actor(f"reject_payout_{i}"),
                "livepanty_app",
                world.admin,
                REJECT_PAYOUT,
                {"p": payout, "k": key()},
            )
            for i, payout in enumerate(payouts)
        ]
        tally.record(
            race_behind_row_locker(
                world,
                attempt,
                performer,
                old,
                credits,
                lambda main, performer=performer: Call(
                    world.actor("tip"),
                    "livepanty_app",
                    performer,
                    TIP,
                    {"r": world.star, "a": main + 50, "k": key()},
                ),
            )
        )
    tally.check(world)


def test_hold_captures_for_a_performer_and_their_own_tip_do_not_deadlock(world: World) -> None:
    """capture_hold <-> tip. Viewers' holds for a performer are captured (the performer credited on shards)
    while the performer tips more than the main balance holds and the sweep job or a refund holds the
    performer's wallet row."""
    tally = Tally()
    for attempt in range(ATTEMPTS):
        performer, old = prepared_performer(world, "payee")
        holds = [
            world.call("livepanty_app", fan, PLACE_HOLD, {"p": performer, "a": 200, "k": key(), "e": None})[
                "id"
            ]
            for fan in world.fans
        ]
        credits = [
            Call(
                world.actor(f"capture_hold_{i}"),
                "livepanty_service",
                None,
                CAPTURE_HOLD,
                {"h": hold, "a": 200, "k": key()},
            )
            for i, hold in enumerate(holds)
        ]
        tally.record(
            race_behind_row_locker(
                world,
                attempt,
                performer,
                old,
                credits,
                lambda main, performer=performer: Call(
                    world.actor("tip"),
                    "livepanty_app",
                    performer,
                    TIP,
                    {"r": world.star, "a": main + 50, "k": key()},
                ),
            )
        )
    tally.check(world)


def test_the_hold_expiry_job_and_tips_do_not_deadlock(world: World) -> None:
    """expire_holds <-> tip. A performer and viewers whose wallet ids sort after the performer's each have an
    overdue hold; the viewers tip the performer. The expiry job releases the holds in wallet order (the
    performer's wallet row, then the tippers' rows, which their tips hold) while the tips' foreign key checks
    on the performer's row queue behind the sweep job or a refund holding that row."""
    tally = Tally()
    for attempt in range(ATTEMPTS):
        performer, old = prepared_performer(world, "holder", below="4")
        tippers: list[str] = []
        while len(tippers) < KEY_SHARERS:
            viewer = world.register("tipper", "viewer")
            if world.wallet(viewer) > world.wallet(performer):
                world.fund(viewer, 1000)
                tippers.append(viewer)
        for holder in (performer, *tippers):
            world.call(
                "livepanty_app", holder, PLACE_HOLD, {"p": world.star, "a": 50, "k": key(), "e": "1 ms"}
            )
        credits = [
            Call(
                world.actor(f"tip_{i}"), "livepanty_app", tipper, TIP, {"r": performer, "a": 100, "k": key()}
            )
            for i, tipper in enumerate(tippers)
        ]
        tally.record(
            race_behind_row_locker(
                world,
                attempt,
                performer,
                old,
                credits,
                lambda _main: Call(world.actor("expire_holds"), "livepanty_service", None, EXPIRE_JOB, {}),
            )
        )
    tally.check(world)


# -- 2. settling a debt after the credit ---------------------------------------------------------------------


@pytest.mark.parametrize("credit", ["complete_payment", "adjust_balance"])
def test_a_credit_to_a_wallet_put_in_debt_meanwhile_does_not_deadlock_with_its_tip(
    world: World, credit: str
) -> None:
    """complete_payment (or adjust_balance) <-> tip, after a refund. A performer bought 500 tokens and spent
    them. A new credit to the performer (a purchase, or an admin's positive adjustment; the wallet is not in
    debt yet, so the first lp.settle_debt does nothing) takes one of the performer's shards; before it
    commits, a refund of the old purchase puts the wallet in debt, and the performer tips (more than the main
    balance holds: the tip holds the main row and waits for every shard, the credit's included). The credit
    must not then take the main row, after its shard, to settle the debt. A purchase holds the buyer's spend
    counter, which a refund of the same buyer takes first too (the protocol's step 1): there the refund
    queues behind the purchase (asserted), so the wallet cannot go into debt under it, and all three pass."""
    tally = Tally()
    creditor, refunder, tipper = world.actor("credit"), world.actor("refund"), world.actor("tip")
    for _ in range(FORCED_ATTEMPTS):
        performer = world.register("debtor", "performer")
        old = world.buy(performer)
        world.call("livepanty_app", performer, TIP, {"r": world.star, "a": 500, "k": key()})
        world.close_gate()
        if credit == "complete_payment":
            payment = world.pending_payment(performer, "medium")
            creditor.start(
                "livepanty_service",
                None,
                COMPLETE_PAYMENT,
                {"p": payment, "r": f"ref-{payment}", "k": key()},
                paused=True,
            )
        else:
            creditor.start(
                "livepanty_app", world.admin, ADJUST, {"u": performer, "a": 1100, "k": key()}, paused=True
            )
        world.at_gate(creditor)
        if credit == "complete_payment":
            refunder.start("livepanty_service", None, REFUND, {"p": old, "k": key()})
            queued = world.until(lambda: world.counter_waiter(refunder, [creditor]))
            tipper.start("livepanty_app", performer, TIP, {"r": world.star, "a": 100, "k": key()})
            world.open_gate()
            outcomes = {credit: creditor.finish(), "refund": refunder.finish(), "tip": tipper.finish()}
            tally.record(outcomes if queued else {**outcomes, "refund": "did not queue behind the purchase"})
            continue
        refunded = refunder.start("livepanty_service", None, REFUND, {"p": old, "k": key()}).finish()
        tipper.start("livepanty_app", performer, TIP, {"r": world.star, "a": 100, "k": key()})
        world.waiting(tipper)
        world.open_gate()
        tally.record({credit: creditor.finish(), "refund": refunded, "tip": tipper.finish()})
    tally.check(world)


# -- 3. the buyer's main row before an issuance shard -------------------------------------------------------


def test_a_clawback_does_not_take_an_issuance_shard_after_the_buyers_wallet(world: World) -> None:
    """refund/chargeback (lp.claw_back) <-> complete_payment. A viewer whose wallet id sorts after the
    issuance wallet's has a purchase refunded (even attempts) or charged back (odd ones) while as many
    purchases of that viewer as issuance has shards complete: each purchase takes an issuance shard, then
    waits for the viewer's main row, which the clawback locks first (a tip of the viewer, paused at the
    gate, makes them all queue in that order). With every issuance shard busy, the clawback must not wait
    for one while it holds the main row the purchases wait for."""
    tally = Tally()
    issuance = world.db.execute(
        "SELECT id::text, shard_count FROM lp.wallets WHERE system_code = 'issuance'"
    ).fetchone()
    buyer = world.register("spender", "viewer")
    while world.wallet(buyer) <= issuance["id"]:
        buyer = world.register("spender", "viewer")
    world.fund(buyer, 1_000_000)
    tipper, clawback = world.actor("tip"), world.actor("clawback")
    purchases = [world.actor(f"purchase_{i}") for i in range(issuance["shard_count"])]
    for attempt in range(FORCED_ATTEMPTS):
        old = world.buy(buyer)
        pending = [world.pending_payment(buyer) for _ in purchases]
        world.close_gate()
        tipper.start("livepanty_app", buyer, TIP, {"r": world.star, "a": 10, "k": key()}, paused=True)
        world.at_gate(tipper)
        clawback.start(
            "livepanty_service", None, REFUND if attempt % 2 == 0 else CHARGEBACK, {"p": old, "k": key()}
        )
        world.queued_behind(clawback, tipper.pid)
        for purchase, payment in zip(purchases, pending, strict=True):
            purchase.start(
                "livepanty_service", None, COMPLETE_PAYMENT, {"p": payment, "r": f"ref-{payment}", "k": key()}
            )
        for purchase in purchases:
            world.waiting(purchase)
        world.open_gate()
        outcomes = {"tip": tipper.finish(), "clawback": clawback.finish()}
        outcomes.update({purchase.name: purchase.finish() for purchase in purchases})
        tally.record(outcomes)
        # A chargeback blocks the buyer from tipping (fraud controls, pending review): lift it, so the next
        # attempt's tip reaches the gate again.
        world.db.execute(
            "UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'test: next attempt'"
            " WHERE user_id = %s AND revoked_at IS NULL",
            [buyer],
        )
    tally.check(world)


# -- lp.post's single-statement transaction ---------------------------------------------------------------


def test_a_viewers_tip_takes_its_wallet_before_any_shard_and_a_refused_one_takes_none(world: World) -> None:
    """A viewer's tip is lp.post's single-statement transaction (the viewer's main balance, then the
    performer's and the fee wallet's credit shards, then the entries). With every platform_fees shard held
    by another transaction: a tip its sender cannot cover is refused (LP100) at once, without waiting for a
    shard; a covered tip waits for a fee shard while it already holds the sender's wallet row (step 2 of the
    lock protocol before step 3) and the performer's credit shard (user shards before system shards), and
    completes once the shards are free."""
    viewer = world.register("single", "viewer")
    world.fund(viewer, 200)
    blocker = world.held("fee_shards")
    blocker.conn.execute("BEGIN")
    held = blocker.conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM lp.wallet_shards"
        " WHERE wallet_id = lp.system_wallet('platform_fees') FOR NO KEY UPDATE) AS s"
    ).fetchone()["n"]
    tipper = world.actor("single_tip")
    try:
        assert held > 0
        tipper.start("livepanty_app", viewer, TIP, {"r": world.star, "a": 300, "k": key()})
        assert world.until(tipper.done.is_set), "the refused tip waited (for a shard?)"
        assert tipper.finish() == "LP100"

        tipper.start("livepanty_app", viewer, TIP, {"r": world.star, "a": 100, "k": key()})
        assert world.queued_behind(tipper, blocker.pid), tipper.outcome
        assert not tipper.done.is_set(), tipper.outcome
        with pytest.raises(psycopg.errors.LockNotAvailable), world.db.transaction():
            world.db.execute(
                "SELECT 1 FROM lp.wallets WHERE user_id = %s FOR NO KEY UPDATE NOWAIT", (viewer,)
            )
        # ... and the performer's credit shard before the system wallet's (step 3: user shards first)
        with world.db.transaction():
            shards = world.db.execute(
                "SELECT count(*) AS n, count(f.shard) AS free FROM lp.wallet_shards AS s"
                " LEFT JOIN LATERAL (SELECT x.shard FROM lp.wallet_shards AS x"
                "  WHERE x.wallet_id = s.wallet_id AND x.shard = s.shard FOR NO KEY UPDATE SKIP LOCKED) AS f"
                " ON true WHERE s.wallet_id = (SELECT id FROM lp.wallets WHERE user_id = %s)",
                (world.star,),
            ).fetchone()
        assert shards["free"] == shards["n"] - 1, shards
    finally:
        blocker.conn.execute("ROLLBACK")
    assert tipper.finish() == "ok"
    assert world.main_balance(viewer) == 100
    assert world.verify_ledger() == []


def test_a_refused_tip_waits_for_no_shard_of_its_performer(world: World) -> None:
    """A tip its sender cannot cover is refused by the single statement, decided once more under the
    sender's row lock, and refused again without taking (or waiting for) any credit shard: with every shard
    of the performer held elsewhere it returns LP100 at once. (The sender's wallet id sorts after the
    performer's, so a refusal that went through lp.post's phases would take the performer's leg first.)"""
    # a pair whose performer's wallet id sorts first: one in two pairs, whatever the ids
    viewer, performer = world.register("refused", "viewer"), world.register("refused_to", "performer")
    while world.wallet(performer) >= world.wallet(viewer):
        viewer, performer = world.register("refused", "viewer"), world.register("refused_to", "performer")
    performer_wallet = world.wallet(performer)
    world.fund(viewer, 50)
    blocker = world.held("performer_shards")
    blocker.conn.execute("BEGIN")
    held = blocker.conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM lp.wallet_shards WHERE wallet_id = %s"
        " FOR NO KEY UPDATE) AS s",
        (performer_wallet,),
    ).fetchone()["n"]
    tipper = world.actor("refused_tip")
    try:
        assert held > 0
        tipper.start("livepanty_app", viewer, TIP, {"r": performer, "a": 60, "k": key()})
        assert world.until(tipper.done.is_set), "the refused tip waited for a shard of its performer"
    finally:
        blocker.conn.execute("ROLLBACK")
    assert tipper.finish() == "LP100"
    assert world.main_balance(viewer) == 50


@pytest.mark.parametrize("call", ["tip", "hold"])
def test_a_spend_that_a_purchase_in_flight_covers_waits_for_it(world: World, call: str) -> None:
    """A tip (lp.post's single statement) and a hold (lp.move_main, the reservations' writer) check the
    balance in an UPDATE's WHERE clause, on the row version the statement's snapshot saw, and PostgreSQL does
    not wait for a row that clause rejects. A purchase not yet committed that covers the spend must not make
    it fail: the spend waits for the sender's row and is decided on what it then holds; one the purchase
    does not cover is still refused."""
    viewer = world.register(f"inflight_{call}", "viewer")
    world.fund(viewer, 200)
    spender = world.actor(f"covered_{call}")
    query = TIP if call == "tip" else PLACE_HOLD
    for tokens, amount, outcome in ((200, 300, "ok"), (50, 200, "LP100")):
        buyer = credit_in_flight(world, f"purchase_before_{call}", viewer, tokens)
        try:
            params = {"r": world.star, "p": world.star, "a": amount, "k": key(), "e": "10 minutes"}
            spender.start("livepanty_app", viewer, query, params)
            assert world.queued_behind(spender, buyer.pid), spender.outcome
            assert not spender.done.is_set(), f"decided before the purchase committed: {spender.outcome}"
        finally:
            buyer.conn.execute("COMMIT")
        assert spender.finish() == outcome
    state = world.db.execute(
        "SELECT balance, reserved FROM lp.wallets WHERE user_id = %s", (viewer,)
    ).fetchone()
    # tip: 200 + 200 - 300 + 50 = 150; hold: 300 of 450 reserved
    assert (state["balance"], state["reserved"]) == ((150, 0) if call == "tip" else (450, 300))
    assert world.verify_ledger() == []


SHOW_RATE, SHOW_MINIMUM, SHOW_PREPAY = 10, 2, 2  # shows.prepay_minutes is 2 by default


def live_show_host(world: World) -> tuple[str, str]:
    """A performer live on a stream of their own; a private show at SHOW_RATE, SHOW_MINIMUM minutes."""
    host = world.register("show_host", "performer")
    stream = str(
        world.call("livepanty_app", host, "SELECT id FROM api.schedule_stream('Late show')", {})["id"]
    )
    world.call("livepanty_app", host, "SELECT api.consent_to_stream(%(s)s, '203.0.113.9')", {"s": stream})
    world.call("livepanty_app", host, "SELECT api.start_stream(%(s)s)", {"s": stream})
    world.call(
        "livepanty_app",
        host,
        "SELECT api.set_show_price('private', %(r)s, %(m)s)",
        {"r": SHOW_RATE, "m": SHOW_MINIMUM},
    )
    return host, stream


def private_show_a_minute_in(world: World, host: str, stream: str, viewer: str) -> str:
    """The viewer's private show with the host, accepted and running for a minute (heartbeat fresh)."""
    world.call("livepanty_app", viewer, "SELECT api.join_stream(%(s)s)", {"s": stream})
    show = str(
        world.call(
            "livepanty_app",
            viewer,
            "SELECT id FROM api.request_show(%(s)s, %(k)s)",
            {"s": stream, "k": key()},
        )["id"]
    )
    world.call("livepanty_app", host, "SELECT api.answer_show(%(s)s, true)", {"s": show})
    world.db.execute(
        "UPDATE lp.shows SET started_at = started_at - interval '61 seconds' WHERE id = %s", (show,)
    )
    world.db.execute(
        "UPDATE lp.show_participants SET billed_from = billed_from - interval '61 seconds'"
        " WHERE show_id = %s",
        (show,),
    )
    return show


def show_hold(world: World, show: str) -> tuple[int, int, str]:
    hold = world.db.execute(
        "SELECT h.amount, h.captured, h.status FROM lp.holds AS h"
        " JOIN lp.show_participants AS p ON p.hold_id = h.id WHERE p.show_id = %s",
        (show,),
    ).fetchone()
    return hold["amount"], hold["captured"], hold["status"]


def end_and_settle(world: World, host: str, show: str) -> None:
    world.call("livepanty_app", host, "SELECT api.end_show(%(s)s)", {"s": show})
    # settled now, so that the next billing step is the next viewer's
    while world.call("livepanty_service", None, "SELECT * FROM api.bill_shows()", {}) is not None:
        pass


def credit_in_flight(world: World, name: str, user: str, tokens: int) -> Held:
    """A purchase of ``user`` posted and not committed: it holds the main row of a wallet without shards, or a
    credit shard (the first idle one) of a wallet with shards."""
    buyer = world.held(name)
    buyer.conn.execute("BEGIN")
    buyer.conn.execute(
        "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),"
        " ARRAY[ROW(lp.system_wallet('issuance'), -%(t)s, 'purchase', 0, false)::lp.posting,"
        "       ROW(w.id, %(t)s, 'purchase', 0, false)::lp.posting])"
        " FROM lp.wallets AS w WHERE w.user_id = %(u)s",
        {"t": tokens, "u": user},
    )
    return buyer


def after_commit_of(
    world: World, held: Held, actor: Actor, role: str, user: str | None, query: str, params: dict[str, Any]
) -> str:
    """Start the call while ``held`` is open, check that it waits for it (and is not decided before), commit
    ``held``, and return the call's outcome."""
    try:
        actor.start(role, user, query, params)
        assert world.queued_behind(actor, held.pid), actor.outcome
        assert not actor.done.is_set(), (
            f"decided before the transaction it waits for committed: {actor.outcome}"
        )
    finally:
        held.commit()
    return actor.finish()


def test_a_show_top_up_that_a_purchase_in_flight_covers_waits_for_it(world: World) -> None:
    """api.bill_shows tops a running show's hold up (lp.extend_hold, through lp.reserve and lp.move_main)
    before it captures the minute that came due. A purchase of the viewer not yet committed that
    covers the top-up must not make the top-up fail: the billing does not wait for the viewer's row (a
    transaction of the viewer's left open would hold the job up, tests/py/test_show_billing_blockers.py),
    it leaves the viewer for a later call, which tops up on what the row then holds; a purchase too
    small is still not enough, and the billing captures the minute from what is already reserved."""
    rate, minimum, prepay = SHOW_RATE, SHOW_MINIMUM, SHOW_PREPAY
    host, stream = live_show_host(world)
    for purchase, topped_up in ((200, True), (5, False)):
        viewer = world.register("show_viewer", "viewer")
        world.fund(viewer, rate * minimum)  # exactly the minimum duration: nothing left to top up with
        show = private_show_a_minute_in(world, host, stream, viewer)
        buyer = credit_in_flight(world, "show_purchase", viewer, purchase)
        biller = world.actor("show_biller")
        billing = "SELECT * FROM api.bill_shows()"
        try:
            biller.start("livepanty_service", None, billing, {})
            assert world.queued_behind(biller, buyer.pid)
            assert biller.done.is_set(), "the billing waited for the viewer's purchase in flight"
            assert biller.outcome == "ok"
            # nothing topped up, nothing captured, the show goes on
            assert show_hold(world, show) == (rate * minimum, 0, "open"), purchase
        finally:
            buyer.commit()
        assert world.call("livepanty_service", None, billing, {})["outcome"] == "billed"
        wallet = world.db.execute(
            "SELECT balance, reserved FROM lp.wallets WHERE user_id = %s", (viewer,)
        ).fetchone()
        # topped up: the minute due and shows.prepay_minutes ahead; else what the request reserved
        reserved = rate * (1 + prepay) if topped_up else rate * minimum
        assert show_hold(world, show) == (reserved, rate, "open"), purchase
        start = rate * minimum + purchase
        assert (wallet["balance"], wallet["reserved"]) == (start - rate, reserved - rate), purchase
        end_and_settle(world, host, show)
    assert world.verify_ledger() == []


def test_a_show_top_up_counts_what_a_spend_would(world: World) -> None:
    """A show's top-up counts the tokens a tip or a new hold would: a performer watching a show, whose
    earnings wait in credit shards, has them swept in (the viewer is not put out of the show for
    tokens they hold), and a hold of the viewer past its time gives its reservation back first (the
    top-up is not refused for tokens nothing can capture any more)."""
    rate, minimum, prepay = SHOW_RATE, SHOW_MINIMUM, SHOW_PREPAY
    host, stream = live_show_host(world)
    # A performer with earnings in a credit shard.
    watcher = world.register("performer_watching", "performer")
    world.fund(watcher, rate * minimum)  # swept in and reserved by the request
    show = private_show_a_minute_in(world, host, stream, watcher)
    world.fund(watcher, 500)  # earnings in a credit shard
    assert world.call("livepanty_service", None, "SELECT * FROM api.bill_shows()", {})["outcome"] == "billed"
    assert show_hold(world, show) == (rate * (1 + prepay), rate, "open")
    end_and_settle(world, host, show)
    # A viewer whose other hold is past its time.
    viewer = world.register("show_viewer", "viewer")
    world.fund(viewer, rate * minimum + 300)
    old = world.call(
        "livepanty_app",
        viewer,
        "SELECT id FROM api.place_hold(p_payee_id => %(p)s, p_amount => 300, p_idempotency_key => %(k)s,"
        " p_expires_in => '10 minutes'::interval)",
        {"p": world.star, "k": key()},
    )["id"]
    show = private_show_a_minute_in(world, host, stream, viewer)
    world.db.execute(
        "UPDATE lp.holds SET created_at = created_at - interval '1 hour',"
        " expires_at = now() - interval '1 second' WHERE id = %s",
        (old,),
    )
    assert world.call("livepanty_service", None, "SELECT * FROM api.bill_shows()", {})["outcome"] == "billed"
    assert show_hold(world, show) == (rate * (1 + prepay), rate, "open")
    status = world.db.execute("SELECT status FROM lp.holds WHERE id = %s", (old,)).fetchone()["status"]
    assert status == "expired"
    end_and_settle(world, host, show)
    assert world.verify_ledger() == []


def test_the_billing_job_skips_a_viewer_whose_spend_counter_is_busy(world: World) -> None:
    """A show's top-up counts toward the viewer's fraud controls (lp.extend_hold, on their spend counter), and
    a counter is taken before a show row (api.refund_show, api.join_show). api.bill_shows holds show rows, so
    it takes the viewer's counter SKIP LOCKED with the participant: while the counter is held (a tip in
    flight, a refund of a show of theirs waiting for its show row) the job bills nothing of theirs and waits
    for nothing; once it is free, the minute is billed and the top-up counted."""
    rate, prepay = SHOW_RATE, SHOW_PREPAY
    host, stream = live_show_host(world)
    viewer = world.register("show_viewer", "viewer")
    world.fund(viewer, 500)
    show = private_show_a_minute_in(world, host, stream, viewer)
    busy = world.held("viewer_counter")
    busy.conn.execute("BEGIN")
    busy.conn.execute("SELECT 1 FROM lp.spend_counters WHERE user_id = %s FOR NO KEY UPDATE", (viewer,))
    try:
        world.db.execute("SET lock_timeout = '5s'")  # a wait would fail the call (55P03), not hang the test
        assert world.call("livepanty_service", None, "SELECT * FROM api.bill_shows()", {}) is None
    finally:
        world.db.execute("RESET lock_timeout")
        busy.commit()
    billed = world.call("livepanty_service", None, "SELECT * FROM api.bill_shows()", {})
    assert (str(billed["user_id"]), billed["captured"], billed["outcome"]) == (viewer, rate, "billed")
    assert show_hold(world, show) == (rate * (1 + prepay), rate, "open")
    counted = world.db.execute(
        "SELECT tips_in_hour, tip_tokens_day FROM lp.spend_counters WHERE user_id = %s", (viewer,)
    ).fetchone()
    # one hold (the request's), and every token it reserved: the request's and the top-up's (tokens only)
    assert (counted["tips_in_hour"], counted["tip_tokens_day"]) == (1, rate * (1 + prepay))
    end_and_settle(world, host, show)
    assert world.verify_ledger() == []


def test_a_hold_that_a_credit_in_flight_to_a_shard_covers_waits_for_it(world: World) -> None:
    """A performer placing a hold with earnings in credit shards: a shard busy with a credit in flight (a tip
    to them) holds tokens the hold may count, as a tip of theirs would (it waits for the busy shards when the
    idle ones leave it short). The hold waits for that credit and is placed; one it does not cover is still
    refused."""
    for earned, outcome in ((88, "ok"), (10, "LP100")):
        holder = world.register("holding_performer", "performer")
        world.fund(holder, earned)  # in credit shard 1
        credit = credit_in_flight(world, "shard_credit", holder, 10)  # holds shard 1, the first idle one
        hold = {"p": world.star, "a": 50, "k": key(), "e": "10 minutes"}
        placed = after_commit_of(
            world, credit, world.actor("placer"), "livepanty_app", holder, PLACE_HOLD, hold
        )
        assert placed == outcome, earned
    assert world.verify_ledger() == []


def test_a_chargeback_under_write_off_waits_for_a_credit_in_flight_to_the_buyers_shards(world: World) -> None:
    """A performer who bought tokens holds them in a credit shard, which a credit in flight (a tip to them)
    may have locked. Under refunds.shortfall_policy write_off, a chargeback that skipped that shard would book
    tokens the buyer still holds as lost: it waits for the credit and takes the purchase back whole."""
    world.db.execute(
        "UPDATE lp.settings SET value = '\"write_off\"'::jsonb WHERE key = 'refunds.shortfall_policy'"
    )
    buyer = world.register("charged_back", "performer")
    payment = world.buy(buyer)  # in credit shard 1
    tokens = world.db.execute("SELECT tokens FROM lp.payments WHERE id = %s", (payment,)).fetchone()["tokens"]
    credit = credit_in_flight(world, "tip_credit", buyer, 10)  # holds shard 1
    chargeback = world.actor("chargeback")
    params = {"p": payment, "k": key()}
    assert after_commit_of(world, credit, chargeback, "livepanty_service", None, CHARGEBACK, params) == "ok"
    row = world.db.execute(
        "SELECT recovered_tokens, written_off_tokens, debt_tokens FROM lp.payments WHERE id = %s", (payment,)
    ).fetchone()
    assert (row["recovered_tokens"], row["written_off_tokens"], row["debt_tokens"]) == (tokens, 0, 0)
    left = world.db.execute(
        "SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s"
        "                             WHERE s.wallet_id = w.id), 0) AS tokens"
        " FROM lp.wallets AS w WHERE w.user_id = %s",
        (buyer,),
    ).fetchone()["tokens"]
    assert left == 10
    assert world.verify_ledger() == []


def test_one_viewers_concurrent_show_requests_and_joins_are_decided_one_after_the_other(world: World) -> None:
    """A retry of api.request_show or api.join_show with the same key, sent while the first call is still in
    flight, waits for it and replays it (as one node promises for every idempotent call), instead of failing
    (LP106, LP004); a second private-show request of the viewer in the stream with another key sees the first
    (LP004) instead of both being placed with a reservation each."""
    host, stream = live_show_host(world)
    world.call("livepanty_app", host, "SELECT api.set_show_price('group', 10, 3, NULL, 2)", {})
    viewer = world.register("eager_viewer", "viewer")
    world.fund(viewer, 10_000)
    world.call("livepanty_app", viewer, "SELECT api.join_stream(%(s)s)", {"s": stream})
    first, second = world.held("first_call"), world.actor("second_call")

    def race(query: str, params: dict[str, Any], again: dict[str, Any]) -> str:
        first.call("livepanty_app", viewer, query, params)
        return after_commit_of(world, first, second, "livepanty_app", viewer, query, again)

    request = "SELECT api.request_show(%(s)s, %(k)s)"
    for same_key, outcome in ((True, "ok"), (False, "LP004")):
        k = key()
        assert race(request, {"s": stream, "k": k}, {"s": stream, "k": k if same_key else key()}) == outcome
        pending = world.db.execute(
            "SELECT id FROM lp.shows WHERE requested_by = %s AND status = 'requested'", (viewer,)
        ).fetchall()
        assert len(pending) == 1, (same_key, pending)
        world.call("livepanty_app", host, "SELECT api.answer_show(%(s)s, false)", {"s": pending[0]["id"]})
    show = world.call("livepanty_app", host, "SELECT id FROM api.offer_show(%(s)s, 'group')", {"s": stream})[
        "id"
    ]
    k = key()
    join = "SELECT api.join_show(%(s)s, %(k)s)"
    assert race(join, {"s": show, "k": k}, {"s": show, "k": k}) == "ok"
    taken = world.db.execute(
        "SELECT count(*) AS n FROM lp.show_participants WHERE show_id = %s AND user_id = %s", (show, viewer)
    ).fetchone()["n"]
    assert taken == 1
    while world.call("livepanty_service", None, "SELECT * FROM api.bill_shows()", {}) is not None:
        pass  # the declined requests settled: their reservations released
    holds = world.db.execute(
        "SELECT count(*) AS n FROM lp.holds WHERE user_id = %s AND status = 'open'", (viewer,)
    ).fetchone()["n"]
    assert holds == 1  # the join's
    assert world.verify_ledger() == []


# -- money paths of the reviews (no lock order involved) ----------------------------------------------------


def goal_stream(world: World, refund_if_missed: bool = True) -> tuple[str, str, str]:
    """A performer live with a goal far from reached (refund_if_missed: tips toward it wait in escrow)."""
    host, stream = live_show_host(world)
    goal = world.call(
        "livepanty_app",
        host,
        "SELECT id FROM api.add_tip_goal(%(s)s, 1000000, 'a long way', now() + interval '1 day', %(r)s)",
        {"s": stream, "r": refund_if_missed},
    )["id"]
    return host, stream, str(goal)


def miss_goal(world: World, host: str, goal: str) -> None:
    world.call("livepanty_app", host, "SELECT api.cancel_tip_goal(%(g)s)", {"g": goal})
    world.call("livepanty_service", None, "SELECT * FROM api.settle_tip_goals()", {})


STREAM_TIP = (
    "SELECT * FROM api.tip(p_recipient_id => %(r)s, p_amount => %(a)s, p_idempotency_key => %(k)s,"
    " p_stream_id => %(s)s)"
)


def test_a_write_off_clawback_counts_the_buyers_escrowed_tips_as_recovered(world: World) -> None:
    """Tips waiting in goal escrow are not spent: a missed goal gives them back. A refund under write_off
    that wrote them off would leave the buyer the purchase's money and, after the goal is missed, the tokens
    too. They count as recovered (the buyer goes into debt), and the escrow's refund settles that debt."""
    world.db.execute(
        "UPDATE lp.settings SET value = '\"write_off\"'::jsonb WHERE key = 'refunds.shortfall_policy'"
    )
    host, stream, goal = goal_stream(world)
    buyer = world.register("escrow_buyer", "viewer")
    payment = world.buy(buyer)
    tokens = world.db.execute("SELECT tokens FROM lp.payments WHERE id = %s", (payment,)).fetchone()["tokens"]
    tip = world.call("livepanty_app", buyer, STREAM_TIP, {"r": host, "a": tokens, "k": key(), "s": stream})
    assert tip["status"] == "escrowed"
    world.call("livepanty_service", None, REFUND, {"p": payment, "k": key()})
    row = world.db.execute(
        "SELECT recovered_tokens, written_off_tokens FROM lp.payments WHERE id = %s", (payment,)
    ).fetchone()
    assert (row["recovered_tokens"], row["written_off_tokens"]) == (tokens, 0)
    miss_goal(world, host, goal)
    wallet = world.db.execute(
        "SELECT balance, debt_since IS NULL AS clear FROM lp.wallets WHERE user_id = %s", (buyer,)
    ).fetchone()
    assert (wallet["balance"], wallet["clear"]) == (0, True)  # nothing left to spend, no debt either
    losses = world.db.execute(
        "SELECT balance FROM lp.wallets WHERE system_code = 'chargeback_losses'"
    ).fetchone()["balance"]
    assert losses == 0
    assert world.verify_ledger() == []


#: chargeback_losses' total (a system wallet: its main balance and its shards).
LOSSES = (
    "SELECT w.balance"
    " + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0) AS balance"
    " FROM lp.wallets AS w WHERE w.system_code = 'chargeback_losses'"
)


def test_escrowed_tips_count_as_recovered_once_over_several_clawbacks(world: World) -> None:
    """Two purchases refunded under write_off, one half spent on a tip, the other half in goal escrow: the
    escrow is recovered once (by the first refund), the second refund writes off what was spent. After the
    goal is missed the buyer has nothing and owes nothing, and chargeback_losses carries the tip."""
    world.db.execute(
        "UPDATE lp.settings SET value = '\"write_off\"'::jsonb WHERE key = 'refunds.shortfall_policy'"
    )
    host, stream, goal = goal_stream(world)
    buyer = world.register("two_refunds", "viewer")
    first, second = world.buy(buyer), world.buy(buyer)
    tokens = world.db.execute("SELECT tokens FROM lp.payments WHERE id = %s", (first,)).fetchone()["tokens"]
    world.call("livepanty_app", buyer, TIP, {"r": host, "a": tokens, "k": key()})
    tip = world.call("livepanty_app", buyer, STREAM_TIP, {"r": host, "a": tokens, "k": key(), "s": stream})
    assert tip["status"] == "escrowed"
    losses_before = world.db.execute(LOSSES).fetchone()["balance"]
    for payment in (first, second):
        world.call("livepanty_service", None, REFUND, {"p": payment, "k": key()})
    rows = [
        world.db.execute(
            "SELECT recovered_tokens, written_off_tokens FROM lp.payments WHERE id = %s", (payment,)
        ).fetchone()
        for payment in (first, second)
    ]
    assert [(r["recovered_tokens"], r["written_off_tokens"]) for r in rows] == [(tokens, 0), (0, tokens)]
    miss_goal(world, host, goal)
    wallet = world.db.execute(
        "SELECT balance, debt_since IS NULL AS clear FROM lp.wallets WHERE user_id = %s", (buyer,)
    ).fetchone()
    assert (wallet["balance"], wallet["clear"]) == (0, True)
    losses = world.db.execute(LOSSES).fetchone()["balance"]
    assert losses == losses_before - tokens
    assert world.verify_ledger() == []


def test_earnings_spent_on_a_tip_that_a_missed_goal_refunds_are_payable_again(world: World) -> None:
    """A performer's earnings spent on a tip are not payable (spending consumes earnings first); when that
    tip comes back (its refund_if_missed goal missed) they are payable again."""
    host, stream, goal = goal_stream(world)
    earner = world.register("earner", "performer")
    world.call("livepanty_app", world.fans[0], TIP, {"r": earner, "a": 1000, "k": key()})
    wallet = world.wallet(earner)

    def payable() -> int:
        return world.db.execute("SELECT lp.payable_tokens(%s) AS p", (wallet,)).fetchone()["p"]

    earned = payable()
    assert earned > 500
    world.call("livepanty_app", earner, STREAM_TIP, {"r": host, "a": 500, "k": key(), "s": stream})
    assert payable() == earned - 500
    miss_goal(world, host, goal)
    assert payable() == earned
    assert world.verify_ledger() == []


def test_a_show_refund_makes_missing_counters_before_it_locks_any(world: World) -> None:
    """api.refund_show takes its viewers' spend counters first (step 1 of the protocol). One viewer (A, the
    lower id) has a counter row, the other (B) has none yet. A batch of tips (api.tip_many's order: every
    missing counter made, then every counter locked, by user id) has made B's row and is about to lock A's.
    Were the refund to lock A and then make B, each would wait for the other (40P01); it makes B first, so it
    waits for the batch holding nothing, and the batch locks A at once."""
    host, stream = live_show_host(world)
    world.call("livepanty_app", host, "SELECT api.set_show_price('group', 10, 1, NULL, 2)", {})
    offer = "SELECT id FROM api.offer_show(%(s)s, 'group')"
    show = str(world.call("livepanty_app", host, offer, {"s": stream})["id"])
    viewers = sorted(world.register("group_viewer", "viewer") for _ in range(2))
    for viewer in viewers:
        world.fund(viewer, 500)
        world.call("livepanty_app", viewer, "SELECT api.join_stream(%(s)s)", {"s": stream})
        world.call("livepanty_app", viewer, "SELECT api.join_show(%(s)s, %(k)s)", {"s": show, "k": key()})
    world.call("livepanty_app", host, "SELECT api.start_show(%(s)s)", {"s": show})
    end_and_settle(world, host, show)
    low, high = viewers
    world.db.execute("SELECT lp.ensure_spend_counter(%s)", (low,))
    world.db.execute("DELETE FROM lp.spend_counters WHERE user_id = %s", (high,))
    batch = world.held("tip_batch")
    batch.conn.execute("BEGIN")
    batch.conn.execute(
        "INSERT INTO lp.spend_counters (user_id, account_created_at) VALUES (%s, now())", (high,)
    )
    refund = world.actor("refund_show")
    try:
        refund.start(
            "livepanty_app",
            world.admin,
            "SELECT api.refund_show(%(s)s, 'complaint upheld')",
            {"s": show},
        )
        assert world.queued_behind(refund, batch.pid), refund.outcome
        batch.conn.execute("SET LOCAL lock_timeout = '2s'")
        batch.conn.execute(
            "SELECT 1 FROM lp.spend_counters WHERE user_id = %s FOR NO KEY UPDATE", (low,)
        )  # the refund holds no counter while it waits: the batch gets A at once
    finally:
        batch.commit()
    assert refund.finish() == "ok"
    assert world.verify_ledger() == []


def test_a_reset_waits_for_a_password_change_and_finds_its_token_revoked(world: World) -> None:
    """api.change_password locks the user row, then revokes the user's unused reset tokens; api.reset_password
    takes the user row before the token too. A reset with a token asked for before the change, sent while the
    change runs, waits for it holding nothing (were it to lock the token first, the change's revocation would
    wait for it while it waits for the user row: 40P01, and the change would be the one rolled back), then
    finds the token revoked (LP025): the change wins."""
    user = world.register("resetter", "viewer")
    token = "r" * 43
    world.db.execute(
        "INSERT INTO lp.password_reset_tokens (user_id, token_hash, expires_at)"
        " VALUES (%s, lp.hash_token(%s), now() + interval '1 hour')",
        (user, token),
    )
    change = world.held("password_change")
    change.conn.execute("BEGIN")
    change.conn.execute("SELECT 1 FROM lp.users WHERE id = %s FOR NO KEY UPDATE", (user,))
    reset = world.actor("reset_password")
    try:
        reset.start(
            "livepanty_app",
            None,
            "SELECT api.reset_password(%(t)s, 'a brand new passphrase 42')",
            {"t": token},
        )
        assert world.queued_behind(reset, change.pid), reset.outcome
        change.conn.execute("SET LOCAL lock_timeout = '2s'")
        change.conn.execute(  # what api.change_password does after the new hash
            "UPDATE lp.password_reset_tokens SET revoked_at = now()"
            " WHERE user_id = %s AND used_at IS NULL AND revoked_at IS NULL",
            (user,),
        )
    finally:
        change.commit()
    assert reset.finish() == "LP025"


@pytest.mark.parametrize("spend", ["tip", "purchase", "hold"])
def test_a_concurrent_retry_of_a_spend_replays_it_uncounted(world: World, spend: str) -> None:
    """A retry of a tip (or a purchase, or a hold: counted as a tip) sent while the first call is in flight
    waits for it at the spender's fraud counter, then finds the key claimed and replays it. The fraud
    controls count the spend once: the retry is not refused by the velocity rule the first call reached
    (LP161), opens no second case, and leaves the counters as one spend left them."""
    setting = "fraud.purchases_per_hour" if spend == "purchase" else "fraud.tips_per_hour"
    world.db.execute("UPDATE lp.settings SET value = '1'::jsonb WHERE key = %s", (setting,))
    spender = world.register("retrier", "viewer")
    world.fund(spender, 1000)
    query, params = {
        "tip": (TIP, {"r": world.star, "a": 10, "k": key()}),
        "purchase": (CREATE_PAYMENT, {"b": "small", "k": key()}),
        "hold": (PLACE_HOLD, {"p": world.star, "a": 10, "k": key(), "e": "10 minutes"}),
    }[spend]
    first = world.held("first_spend")
    first.call("livepanty_app", spender, query, params)  # reaches the threshold: one fraud case
    assert (
        after_commit_of(world, first, world.actor("retry"), "livepanty_app", spender, query, params) == "ok"
    )
    counters = world.db.execute(
        "SELECT tips_in_hour, tip_tokens_day, purchases_in_hour FROM lp.spend_counters WHERE user_id = %s",
        (spender,),
    ).fetchone()
    expected = (0, 0, 1) if spend == "purchase" else (1, 10, 0)
    assert (counters["tips_in_hour"], counters["tip_tokens_day"], counters["purchases_in_hour"]) == expected
    spends = world.db.execute(
        "SELECT (SELECT count(*) FROM lp.tips WHERE sender_id = %(u)s)"
        "     + (SELECT count(*) FROM lp.payments WHERE user_id = %(u)s AND status = 'pending')"
        "     + (SELECT count(*) FROM lp.holds WHERE user_id = %(u)s) AS n",
        {"u": spender},
    ).fetchone()["n"]
    assert spends == 1
    cases = world.db.execute(
        "SELECT count(*) AS n FROM lp.reports WHERE reported_user_id = %s", (spender,)
    ).fetchone()["n"]
    assert cases == 1
