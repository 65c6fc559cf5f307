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
    seed: Any  #: the test's databases (one, or the shards behind a router): set-up and reads of the outcome
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
            return str(user), token

        viewers = [register(f"fan_{i}", "viewer") for i in range(VIEWERS)]
        performers = [register(f"star_{i}", "performer") for i in range(2)]
        limited_id, limited = register("careful", "viewer")
    seed.fund(1000, *(user for user, _ in (*viewers, *performers)), limited_id)
    seed.approve_kyc(*(user for user, _ in performers))  # the KYC gate of being paid
    with Client(db_url, role="livepanty_app") as client, client.session(limited) as tx:
        tx.set_spending_limit("daily", 150)
    return World(
        db_url, seed, [t for _, t in viewers], [u for u, _ in viewers], [u for u, _ in performers], limited
    )


class CountingClient(Client):
    """Counts the api.tip_many calls the batcher makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    def tip_many(self, tips: Any) -> Any:
        self.batches.append(len(tips))
        return super().tip_many(tips)


def totals(world: World) -> tuple[int, int, list[str]]:
    """Tips made, tokens the users hold, and what verify_ledger (behind a router: on every shard, with the
    global reconciliation) finds."""
    held = sum(total for name, total in world.seed.balances().items() if is_user(name))
    return len(world.seed.tip_ids()), held, world.seed.ledger_problems()


def is_user(wallet_name: str) -> bool:
    """A user's wallet (named by the user's id), not a system wallet (named by its code)."""
    try:
        uuid.UUID(wallet_name)
    except ValueError:
        return False
    return True


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
    tips, held, violations = totals(world)
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
    assert totals(world)[2] == []


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
    tips, _, violations = totals(world)
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
