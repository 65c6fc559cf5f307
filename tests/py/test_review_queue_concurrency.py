"""Claim exclusivity under concurrency: 8 moderators in threads claim from one review queue at once
(``api.claim_case``: FOR UPDATE SKIP LOCKED with a lease). No case is handed to two moderators, and every case
of the queue is claimed exactly once; the database agrees with what each moderator was given.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date

import psycopg

from livepanty_db import Client

PASSWORD = "Queue-exclusive-42"
MODERATORS = 8
REASONS = [
    "illegal_content", "harassment", "hate_speech", "self_harm", "violence", "fraud", "spam", "copyright",
    "other", "content_policy",
]  # fmt: skip
TARGETS = 4


def test_eight_moderators_never_claim_the_same_case(db_url: str) -> None:
    with Client(db_url) as dba:
        users = [
            dba.register_user(email=f"user{i}@example.org", username=f"user{i}", password=PASSWORD,
                              date_of_birth=date(1990, 1, 1)).id
            for i in range(TARGETS + MODERATORS)
        ]  # fmt: skip
    targets, moderators = users[:TARGETS], users[TARGETS:]
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE lp.users SET role = 'moderator' WHERE id = ANY(%s)", (moderators,))
        cases = {
            row[0]
            for target in targets
            for reason in REASONS
            for row in conn.execute(
                "SELECT lp.open_case('system', %s, %s, NULL, '{}'::jsonb)", (reason, target)
            ).fetchall()
        }
    assert len(cases) == TARGETS * len(REASONS)

    claimed: dict[uuid.UUID, list[uuid.UUID]] = {m: [] for m in moderators}
    errors: list[BaseException] = []
    start = threading.Barrier(MODERATORS)

    def work(moderator: uuid.UUID) -> None:
        try:
            with Client(db_url, role="livepanty_service") as client:
                start.wait()
                while True:
                    with client.acting_as(moderator, reason="queue concurrency test") as tx:
                        case = tx.claim_case()
                    if case is None:
                        return
                    assert case.assigned_to == moderator
                    claimed[moderator].append(case.id)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    everything = [case for ids in claimed.values() for case in ids]
    assert len(everything) == len(set(everything)), "a case was handed to two moderators"
    assert set(everything) == cases, "every case is claimed exactly once"
    assert sum(1 for ids in claimed.values() if ids) > 1, "the work was shared"
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT id, assigned_to, status::text FROM lp.reports WHERE id = ANY(%s)", (list(cases),)
        ).fetchall()
    owner = {case: m for m, ids in claimed.items() for case in ids}
    assert {(r[0], r[1], r[2]) for r in rows} == {(c, owner[c], "in_review") for c in cases}


def test_concurrent_reports_of_one_target_merge_into_one_case(db_url: str) -> None:
    """8 users report the same user for the same reason at once: one case, 8 filings, a reporter count of 8
    (the unique index on open cases is where they meet; the losers merge into the winner's row, locked)."""
    with Client(db_url) as dba:
        users = [
            dba.register_user(email=f"rep{i}@example.org", username=f"rep{i}", password=PASSWORD,
                              date_of_birth=date(1990, 1, 1)).id
            for i in range(MODERATORS + 1)
        ]  # fmt: skip
    target, reporters = users[0], users[1:]
    errors: list[BaseException] = []
    cases: list[uuid.UUID] = []
    start = threading.Barrier(len(reporters))

    def work(reporter: uuid.UUID) -> None:
        try:
            with Client(db_url, role="livepanty_service") as client:
                start.wait()
                with client.acting_as(reporter, reason="concurrent report") as tx:
                    cases.append(tx.report("user", target, "harassment").case_id)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in reporters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(set(cases)) == 1
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), min(reporter_count), sum((SELECT count(*) FROM lp.report_filings AS f"
            " WHERE f.case_id = r.id)) FROM lp.reports AS r WHERE r.reported_user_id = %s",
            (target,),
        ).fetchone()
    assert row == (1, len(reporters), len(reporters))
