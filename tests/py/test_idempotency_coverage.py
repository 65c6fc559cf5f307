"""Every api function that moves money takes an idempotency key, or is declared here as safe to repeat.

"Every money operation is idempotent (the caller passes a key)" (README). Nothing is listed by hand but the
exceptions: the functions are found in the catalog of a migrated database (test_sanction_coverage.Catalog),
and a function *moves money* when its body, or the body of any lp/api function it calls (transitively),
calls a writer of the ledger (``lp.post``, ``lp.post_batch``, ``lp.move_main``). Each one the application
or the back office may execute takes ``p_idempotency_key`` (or ``p_tips``: api.tip_many's keys are in its
rows), unless it is one of the jobs, reads or once-per-object operations below, each with why a retry is
harmless without a key. A new money function without a key fails here, whoever writes it.
"""

from __future__ import annotations

import re

import psycopg
import pytest
from test_sanction_coverage import Catalog

WRITES_LEDGER = re.compile(r"\blp\.(post|post_batch|move_main)\s*\(", re.IGNORECASE)

#: Money moves that take no key, and why repeating one is harmless.
WITHOUT_KEY: dict[str, str] = {
    "api.bill_shows": "a job: bills each viewer's due minutes once (billed_tokens); a rerun finds none due",
    "api.expire_holds": "a job: releases the open holds past their expiry; a rerun finds them closed",
    "api.get_hold": "a read: a hold past its expiry is released first (lp.lock_hold); a repeat finds it so",
    "api.list_holds": "a read: releases the caller's overdue holds first, as api.get_hold",
    "api.refund_show": "once per show (lp.shows.refunded_at): a retry is LP004, nothing moves",
    "api.settle_tip_goals": "a job: settles each escrowed tip once (lp.tips.settlement_id)",
    "api.sweep_wallets": "a job: moves what credit shards hold into the main balance; a rerun moves the rest",
}


@pytest.fixture(scope="module")
def catalog(template_db: str, pg_server) -> Catalog:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_server.dsn(template_db)) as conn:
        return Catalog(conn)


def test_every_function_that_moves_money_takes_a_key_or_says_why_not(catalog: Catalog) -> None:
    functions = sorted(n for n in catalog.app | catalog.service if n.startswith("api."))
    moving = [f for f in functions if catalog.does(f, WRITES_LEDGER)]
    assert {"api.tip", "api.complete_payment", "api.capture_hold", "api.request_payout"} <= set(moving)
    keyed = {"p_idempotency_key", "p_tips"}
    keyless = [f for f in moving if not keyed & set(catalog.args[f]) and f not in WITHOUT_KEY]
    assert keyless == [], " ".join(keyless)
    assert sorted(set(WITHOUT_KEY) - set(moving)) == []  # no stale exception


def test_the_scan_sees_a_ledger_write() -> None:
    assert WRITES_LEDGER.search("PERFORM lp.post(v_tx, 'tip', v_id, v_legs)")
    assert WRITES_LEDGER.search("SELECT lp.post_batch(x)")
    assert not WRITES_LEDGER.search("SELECT lp.poster(x)")
