"""The report limit's lock (``api.report``: the reporter's own ``lp.users`` row, FOR NO KEY UPDATE, before the
case row) closes no cycle with the other takers of user rows and case rows, under load.

docs/ledger.md ("Lock protocol") and api.report's comment argue it from the code: a report holds nothing when
it waits for its reporter's row, and the case row it takes next is about another user; whoever holds a case
row and waits for a user row waits for that of the case's own user. This test looks for the opposite: for a
few seconds, threads on connections of their own, each call one transaction as the application makes it,

* users report each other crosswise (A reports B while B reports A, many pairs, one target reported by many,
  users and profiles, several reasons: new cases and merges into open ones), past the report limit;
* moderators claim those cases and resolve them (dismissal, warning, suspension, stream block, mute: sanctions
  of the reported user, sessions revoked) or give them back;
* the same users log in (their user row locked, last_login written) or fail to (failed-login counter,
  lockouts);
* detectors raise flags on them (cases merged, a minor_detected flag over its act threshold suspends at once);
* an admin deletes a few of them along the way.

It asserts that no call ever failed with 40P01 (deadlock_detected; nor does the server's own deadlock counter
move, which counts the deadlocks of every backend), that every other failure is a catalogued refusal (class
LP: the limit, already reported, a claim of another, a deleted account ...; counted and printed), and at the
end that no reporter filed more than ``review.max_reports_per_hour``, and that no case was handed to two
moderators at once (each thread's claims, checked against every other's as they happen).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg

PASSWORD = "Report-stress-42"
USERS = 16
MODERATORS = 3
LIMIT = 30  # review.max_reports_per_hour for the run: reached by most users within the seconds it lasts
SECONDS = float(os.environ.get("LIVEPANTY_REPORT_STRESS_SECONDS", "6"))
REASONS = ("spam", "harassment", "hate_speech", "fraud", "other")


@dataclass
class Run:
    dsn: str
    users: list[uuid.UUID]
    names: dict[uuid.UUID, str]
    moderators: list[uuid.UUID]
    admin: uuid.UUID
    deadline: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter = field(default_factory=Counter)  # (operation, "ok" or SQLSTATE)
    holders: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # case -> moderator holding its claim
    double_claims: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def count(self, op: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(op, outcome)] += 1


class Caller:
    """One thread's connection: every call one transaction, as the application makes it."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.conn = psycopg.connect(run.dsn, prepare_threshold=None)

    def call(self, op: str, role: str, user: uuid.UUID | None, query: str, params: Any = ()) -> Any:
        """The call's first row, or None when it was refused (its SQLSTATE counted either way)."""
        try:
            with self.conn.transaction():
                if (
                    user is not None
                ):  # the superuser's test-only path to a proven identity (api.authenticate's)
                    self.conn.execute("SELECT lp.set_identity(%s::uuid, NULL, 'session')", (user,))
                self.conn.execute(f"SET LOCAL ROLE {role}")
                row = self.conn.execute(query, params).fetchone()
        except psycopg.Error as exc:
            self.run.count(op, exc.sqlstate or type(exc).__name__)
            return None
        self.run.count(op, "ok")
        return row

    def close(self) -> None:
        self.conn.close()


def _setup(dsn: str) -> Run:
    with psycopg.connect(dsn, autocommit=True) as conn:

        def register(name: str) -> uuid.UUID:
            return conn.execute(
                "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                " p_date_of_birth => %s)",
                (f"{name}@example.org", name, PASSWORD, date(1990, 1, 1)),
            ).fetchone()[0]

        names = {register(f"user{i}"): f"user{i}" for i in range(USERS)}
        moderators = [register(f"mod{i}") for i in range(MODERATORS)]
        conn.execute("UPDATE lp.users SET role = 'moderator' WHERE id = ANY(%s)", (moderators,))
        admin = conn.execute(
            "SELECT id FROM api.create_admin(p_email => 'boss@example.org', p_username => 'boss',"
            " p_password => %s, p_date_of_birth => '1980-01-01')",
            (PASSWORD,),
        ).fetchone()[0]
        conn.execute(
            "UPDATE lp.settings SET value = %s::jsonb WHERE key = 'review.max_reports_per_hour'",
            (str(LIMIT),),
        )
    return Run(dsn, list(names), names, moderators, admin)


def _loop(run: Run, seed: int, step: Any) -> None:
    rng = random.Random(seed)
    caller = Caller(run)
    try:
        while time.monotonic() < run.deadline:
            step(caller, rng)
    except BaseException as exc:  # reported to the test thread
        with run.lock:
            run.errors.append(exc)
    finally:
        caller.close()


def _reporter(run: Run) -> Any:
    def step(caller: Caller, rng: random.Random) -> None:
        a, b = rng.sample(run.users, 2)
        if rng.random() < 0.3:
            b = run.users[0]  # one target that many report
            if a == b:
                return
        reason = rng.choice(REASONS)
        kind = rng.choice(("user", "profile"))
        query = "SELECT (api.report(%s, %s, %s, 'stress')).id"
        caller.call("report", "livepanty_app", a, query, (kind, b, reason))
        caller.call("report", "livepanty_app", b, query, (kind, a, reason))  # and back, crosswise

    return step


def _moderator(run: Run, moderator: uuid.UUID) -> Any:
    def step(caller: Caller, rng: random.Random) -> None:
        row = caller.call("claim", "livepanty_app", moderator, "SELECT id FROM api.claim_case()")
        if row is None:
            time.sleep(0.01)  # an empty queue
            return
        case = row[0]
        with run.lock:
            other = run.holders.get(case)
            if other is not None:
                run.double_claims.append(f"case {case}: claimed by {moderator} while {other} held it")
            run.holders[case] = moderator
        time.sleep(rng.random() * 0.01)  # the claim is held a moment: reports merge into the case meanwhile
        with run.lock:  # given up before the call: another claim after it commits is no double claim
            run.holders.pop(case, None)
        choice = rng.random()
        if choice < 0.25:
            caller.call("release", "livepanty_app", moderator, "SELECT (api.release_case(%s)).id", (case,))
            return
        action, sanction, ends = rng.choice(
            [
                ("dismiss", None, None),
                ("warn", None, None),
                ("sanction", "suspension", "1 day"),
                ("sanction", "stream_block", "1 day"),
                ("sanction", "mute", "1 hour"),
            ]
        )
        caller.call(
            "resolve",
            "livepanty_app",
            moderator,
            "SELECT (api.resolve_case(%s, %s, 'stress facts', 'rule 1', %s,"
            " CASE WHEN %s::interval IS NULL THEN NULL ELSE now() + %s::interval END)).id",
            (case, action, sanction, ends, ends),
        )

    return step


def _logins(run: Run) -> Any:
    def step(caller: Caller, rng: random.Random) -> None:
        user = rng.choice(run.users)
        password = PASSWORD if rng.random() < 0.7 else "wrong password"
        row = caller.call(
            "login",
            "livepanty_app",
            None,
            "SELECT error_code FROM api.login(%s, %s)",
            (run.names[user], password),
        )
        if row is not None and row[0] is not None:  # answered, not raised: a wrong password, a lockout, a ban
            run.count("login", f"answered {row[0]}")

    return step


def _flags(run: Run) -> Any:
    def step(caller: Caller, rng: random.Random) -> None:
        user = rng.choice(run.users)
        category, confidence = rng.choice([("spam", 0.85), ("violence", 0.7), ("minor_detected", 0.95)])
        caller.call(
            "flag",
            "livepanty_service",
            None,
            "SELECT (api.raise_flag('stress-detector', %s, %s::numeric, 'profile', NULL, NULL, %s::uuid)).id",
            (category, confidence, user),
        )
        time.sleep(0.02)

    return step


def _deletions(run: Run) -> Any:
    victims = iter(run.users[-3:])  # three accounts deleted along the way (the others stay to the end)

    def step(caller: Caller, rng: random.Random) -> None:
        time.sleep(SECONDS / 4)
        user = next(victims, None)
        if user is not None:
            caller.call(
                "delete", "livepanty_app", run.admin, "SELECT (api.delete_user(%s, 'stress')).id", (user,)
            )

    return step


def _deadlocks(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def test_reports_claims_sanctions_logins_and_flags_on_the_same_users_never_deadlock(db_url: str) -> None:
    run = _setup(db_url)
    deadlocks_before = _deadlocks(db_url)
    steps = [_reporter(run), _reporter(run), _reporter(run), _logins(run), _flags(run), _deletions(run)]
    steps += [_moderator(run, m) for m in run.moderators]
    run.deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_loop, args=(run, seed, step)) for seed, step in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    assert not run.errors, run.errors
    print(sorted(run.outcomes.items()))  # shown with -s: what the run did and met

    deadlocked = {key: n for key, n in run.outcomes.items() if key[1] == "40P01"}
    assert not deadlocked, f"deadlocks: {deadlocked}"
    unexpected = {
        key: n
        for key, n in run.outcomes.items()
        if key[1] != "ok" and not key[1].startswith(("LP", "answered LP"))
    }
    assert not unexpected, f"failures that are no catalogued refusal: {unexpected}"
    # the run did what it is about: reports filed and refused at the limit, cases claimed, resolved with
    # sanctions and given back, logins and flags
    for op in ("report", "claim", "resolve", "release", "login", "flag"):
        assert run.outcomes[(op, "ok")] > 0, (op, run.outcomes)
    assert run.outcomes[("report", "LP145")] > 0
    assert run.outcomes[("login", "answered LP020")] > 0
    assert not run.double_claims, run.double_claims
    time.sleep(1.0)  # the backends' statistics are flushed at most once a second
    assert _deadlocks(db_url) == deadlocks_before

    with psycopg.connect(db_url) as conn:
        over = conn.execute(
            "SELECT reporter_id, count(*) FROM lp.report_filings GROUP BY reporter_id HAVING count(*) > %s",
            (LIMIT,),
        ).fetchall()
        assert over == [], over
        sanctions = conn.execute(
            "SELECT count(*) FROM lp.user_sanctions WHERE report_id IS NOT NULL AND issued_by IS NOT NULL"
        ).fetchone()[0]
        assert sanctions > 0
