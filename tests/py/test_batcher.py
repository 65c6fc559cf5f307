"""The tip batchers: concurrent single tips from threads or coroutines travel in api.tip_many batches, and
each caller gets exactly what a single api.tip call would give it: the tip, or the same typed error."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest

from livepanty_db import AsyncClient, Client, Tip, errors
from livepanty_db.batcher import AsyncTipBatcher, TipBatcher

PASSWORD = "batcher test 1"
VIEWERS = 12


@dataclass
class World:
    dsn: str
    viewers: list[str]  #: session tokens
    viewer_ids: list[str]
    performers: list[str]  #: user ids
    limited: str  #: token of a viewer with a spending limit


@pytest.fixture
def world(db_url: str, seed: Any) -> World:
    with psycopg.connect(db_url, autocommit=True) as conn:

        def register(name: str, role: str) -> tuple[str, str]:
            user = conn.execute(
                "SELECT id FROM api.register_user(p_email => %s, p_username => %s, p_password => %s,"
                " p_date_of_birth => %s, p_role => %s)",
                (f"{name}@example.com", name, PASSWORD, date(1990, 1, 1), role),
            ).fetchone()[0]
            token = conn.execute("SELECT token FROM api.login(%s, %s)", (name, PASSWORD)).fetchone()[0]
            conn.execute(
                "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),"
                " ARRAY[ROW(lp.system_wallet('issuance'), -1000, 'purchase', 0, false)::lp.posting,"
                "       ROW((SELECT id FROM lp.wallets WHERE user_id = %s), 1000, 'purchase', 0, false)"
                "::lp.posting])",
                (user,),
            )
            return str(user), token

        viewers = [register(f"fan_{i}", "viewer") for i in range(VIEWERS)]
        performers = [register(f"star_{i}", "performer")[0] for i in range(2)]
        limited_id, limited = register("careful", "viewer")
        conn.execute(
            "INSERT INTO lp.spending_limits (user_id, period, limit_tokens) VALUES (%s, 'daily', 150)",
            (limited_id,),
        )
    seed.approve_kyc(*performers)  # the KYC gate of being paid
    return World(db_url, [t for _, t in viewers], [u for u, _ in viewers], performers, limited)


class CountingClient(Client):
    """Counts the api.tip_many calls the batcher makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    def tip_many(self, tips: Any) -> Any:
        self.batches.append(len(tips))
        return super().tip_many(tips)


def totals(dsn: str) -> tuple[int, int, list[Any]]:
    with psycopg.connect(dsn) as conn:
        tips = conn.execute("SELECT count(*) FROM lp.tips").fetchone()[0]
        held = (
            conn.execute("SELECT sum(balance) FROM lp.wallets WHERE kind = 'user'").fetchone()[0]
            + conn.execute(
                "SELECT coalesce(sum(s.balance), 0) FROM lp.wallet_shards AS s JOIN lp.wallets AS w"
                " ON w.id = s.wallet_id WHERE w.kind = 'user'"
            ).fetchone()[0]
        )
        violations = conn.execute("SELECT * FROM api.verify_ledger()").fetchall()
    return tips, held, violations


def test_threads_get_their_own_tips_and_errors_through_batches(world: World) -> None:
    results: dict[tuple[int, int], Any] = {}
    start = threading.Barrier(VIEWERS)
    with (
        CountingClient(world.dsn, role="livepanty_app") as client,
        TipBatcher(client, max_batch=50, max_wait=0.02) as batcher,
    ):

        def viewer(i: int) -> None:
            start.wait()
            for j in range(10):
                amount = 2000 if j == 9 else 10  # the tenth tip is more than any viewer has
                try:
                    results[i, j] = batcher.tip(
                        world.viewers[i], world.performers[j % 2], amount, idempotency_key=f"t-{i}-{j}"
                    )
                except errors.LivepantyError as exc:
                    results[i, j] = exc

        threads = [threading.Thread(target=viewer, args=(i,)) for i in range(VIEWERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # retries of the same keys through the batcher return the same tips
        again = batcher.tip(world.viewers[0], world.performers[0], 10, idempotency_key="t-0-0")
    assert again == results[0, 0]
    ok = [r for r in results.values() if isinstance(r, Tip)]
    refused = [r for r in results.values() if not isinstance(r, Tip)]
    assert len(ok) == VIEWERS * 9
    assert all(isinstance(r, errors.InsufficientFunds) and r.sqlstate == "LP100" for r in refused)
    assert len(refused) == VIEWERS
    assert all(t.fee_amount == 2 and t.amount == 10 and t.status == "completed" for t in ok)
    assert {(str(t.sender_id), t.idempotency_key) for t in ok} == {
        (world.viewer_ids[i], f"t-{i}-{j}") for i in range(VIEWERS) for j in range(9)
    }
    # batching happened: fewer api.tip_many calls than tips
    assert sum(client.batches) == VIEWERS * 10 + 1
    assert len(client.batches) < VIEWERS * 10
    tips, held, violations = totals(world.dsn)
    assert violations == []
    assert tips == VIEWERS * 9
    assert held == (VIEWERS + 3) * 1000 - VIEWERS * 9 * 2  # 15 funded users; only the fees left them


def test_a_tip_the_batch_cannot_apply_goes_through_api_tip(world: World) -> None:
    with Client(world.dsn, role="livepanty_app") as client, TipBatcher(client, max_wait=0) as batcher:
        first = batcher.tip(world.limited, world.performers[0], 100, idempotency_key="l1")
        assert first.amount == 100
        with pytest.raises(errors.SpendingLimitExceeded):
            batcher.tip(world.limited, world.performers[0], 100, idempotency_key="l2")
        with pytest.raises(errors.InvalidSession):
            batcher.tip("x" * 43, world.performers[0], 100, idempotency_key="l3")
    assert totals(world.dsn)[2] == []


def test_the_async_batcher_does_the_same_for_coroutines(world: World) -> None:
    async def scenario() -> list[Any]:
        async with (
            AsyncClient(world.dsn, role="livepanty_app") as client,
            AsyncTipBatcher(client, max_batch=20, max_wait=0.02) as batcher,
        ):

            async def one(i: int, j: int) -> Any:
                try:
                    return await batcher.tip(
                        world.viewers[i], world.performers[j % 2], 10, idempotency_key=uuid.uuid4().hex
                    )
                except errors.LivepantyError as exc:
                    return exc

            outcomes = await asyncio.gather(*(one(i, j) for i in range(VIEWERS) for j in range(5)))
            outcomes.append(await batcher.tip(world.limited, world.performers[1], 10, idempotency_key="a1"))
            return outcomes

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, Tip) for o in outcomes), [o for o in outcomes if not isinstance(o, Tip)][:3]
    tips, _, violations = totals(world.dsn)
    assert tips == VIEWERS * 5 + 1
    assert violations == []


def test_a_failing_batch_fails_every_caller_in_it(world: World) -> None:
    with (
        Client("postgresql://nobody@127.0.0.1:1/none", connect_kwargs={"connect_timeout": 1}) as client,
        TipBatcher(client, max_wait=0) as batcher,
        pytest.raises(errors.LivepantyError),
    ):
        batcher.tip(world.viewers[0], world.performers[0], 10, idempotency_key="x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_batch": 0}, "max_batch"), ({"max_batch": 1001}, "max_batch"), ({"max_wait": 2}, "max_wait"),
     ({"flushers": 0}, "flushers")],
)  # fmt: skip
def test_batcher_settings_are_checked(world: World, kwargs: dict[str, Any], message: str) -> None:
    with Client(world.dsn) as client, pytest.raises(ValueError, match=message):
        TipBatcher(client, **kwargs)
