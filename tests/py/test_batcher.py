"""The tip batchers: concurrent single tips from threads or coroutines travel in api.tip_many batches, and
each caller gets exactly what a single api.tip call would give it: the tip, or the same typed error."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest

from livepanty_db import AsyncClient, Client, Tip, errors
from livepanty_db.batcher import AsyncTipBatcher, EventLoopMismatch, TipBatcher

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


class ClientPerLoop:
    """What a batcher needs of a client (tip_many, session), from an AsyncClient of the running event loop:
    an AsyncClient's pool belongs to the loop that opened it (its workers are that loop's tasks)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.clients: dict[asyncio.AbstractEventLoop, AsyncClient] = {}

    def _client(self) -> AsyncClient:
        loop = asyncio.get_running_loop()
        return self.clients.setdefault(loop, AsyncClient(self.dsn, role="livepanty_app"))

    async def tip_many(self, tips: Any) -> Any:
        return await self._client().tip_many(tips)

    def session(self, token: str) -> Any:
        return self._client().session(token)

    async def close(self) -> None:
        await self.clients.pop(asyncio.get_running_loop()).close()


def test_one_async_batcher_serves_successive_event_loops(world: World) -> None:
    """A batcher used by two successive asyncio.run calls (the first one never closing it): its queue and
    flushers were of the first loop, which asyncio.run closed; the second run's tip is batched on the second
    loop, not left waiting for ever."""
    client = ClientPerLoop(world.dsn)
    batcher = AsyncTipBatcher(client, max_wait=0)  # type: ignore[arg-type]

    async def tip(i: int, key: str, close_batcher: bool = False) -> Tip:
        try:
            return await asyncio.wait_for(
                batcher.tip(world.viewers[i], world.performers[0], 10, idempotency_key=key), 10
            )
        finally:
            if close_batcher:
                await batcher.close()
            await client.close()

    first = asyncio.run(tip(0, "loop-1"))
    second = asyncio.run(tip(1, "loop-2", close_batcher=True))
    assert (first.idempotency_key, second.idempotency_key) == ("loop-1", "loop-2")
    assert totals(world)[0] == 2


def test_an_async_batcher_refuses_a_second_loop_while_its_loop_is_open(world: World) -> None:
    """Two event loops open at once cannot share a batcher (its flushers run on one of them, and a future of
    one loop cannot be settled from another): the second is refused with EventLoopMismatch, at once, and the
    batcher goes on serving its own loop."""
    client = AsyncClient(world.dsn, role="livepanty_app")
    batcher = AsyncTipBatcher(client, max_wait=0)

    def tip(i: int, key: str) -> Any:
        return batcher.tip(world.viewers[i], world.performers[0], 10, idempotency_key=key)

    own = asyncio.new_event_loop()
    try:
        assert own.run_until_complete(tip(0, "own-1")).idempotency_key == "own-1"
        with pytest.raises(EventLoopMismatch, match="another event loop"):
            asyncio.run(asyncio.wait_for(tip(1, "other"), 10))
        with pytest.raises(EventLoopMismatch):
            asyncio.run(asyncio.wait_for(batcher.close(), 10))
        assert own.run_until_complete(tip(2, "own-2")).idempotency_key == "own-2"
        own.run_until_complete(batcher.close())
        own.run_until_complete(client.close())
    finally:
        own.close()
    assert issubclass(EventLoopMismatch, RuntimeError)
    assert totals(world)[0] == 2


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


def at_once(callers: int, call: Callable[[int], Any]) -> dict[int, Any]:
    """``call(i)`` from ``callers`` threads released together; each one's result, or its error (what api.tip
    raises: a LivepantyError or a psycopg error), by ``i``."""
    start = threading.Barrier(callers)
    results: dict[int, Any] = {}

    def caller(i: int) -> None:
        start.wait()
        try:
            results[i] = call(i)
        except (errors.LivepantyError, psycopg.Error) as exc:
            results[i] = exc

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class FailingOnceClient(Client):
    """Fails its first api.tip_many call as a whole with a non-transient error (as a batch whose JSON document
    the database refused would): nothing of the batch is applied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed = False

    def tip_many(self, tips: Any) -> Any:
        if not self.failed and len(tips) > 1:
            self.failed = True
            raise errors.InvalidArgument("the batch was refused as a whole", sqlstate="22P05")
        return super().tip_many(tips)


def test_a_batch_refused_as_a_whole_is_sent_tip_by_tip(world: World) -> None:
    """A batch that fails for a reason other than a transient one (nothing of it applied) does not fail its
    callers with an error that is not theirs: each sends its own tip with api.tip and gets what it gives."""
    with (
        FailingOnceClient(world.dsn, role="livepanty_app") as client,
        TipBatcher(client, max_wait=0.3, flushers=1) as batcher,
    ):
        results = at_once(4, lambda i: batcher.tip(
            world.viewers[i], world.performers[0], 2000 if i == 3 else 10, idempotency_key=f"whole-{i}"
        ))  # fmt: skip
    assert client.failed
    assert all(isinstance(results[i], Tip) for i in range(3)), results
    assert isinstance(results[3], errors.InsufficientFunds)  # its own refusal, as api.tip gives it
    assert totals(world)[2] == []


def test_a_tip_that_cannot_travel_in_a_batch_fails_alone(world: World) -> None:
    """A tip whose message holds a NUL character (which neither JSON nor PostgreSQL text carries) gets the
    error api.tip gives it; the tips batched with it are made. A key given as a UUID works as with api.tip."""
    with (
        Client(world.dsn, role="livepanty_app") as client,
        TipBatcher(client, max_wait=0.3, flushers=1) as batcher,
    ):
        results = at_once(3, lambda i: batcher.tip(
            world.viewers[i], world.performers[0], 10, message="bad\x00" if i == 2 else "fine",
            idempotency_key=uuid.uuid4() if i == 1 else f"nul-{i}",  # type: ignore[arg-type]
        ))  # fmt: skip
        with (
            pytest.raises((errors.LivepantyError, psycopg.Error)) as alone,
            client.session(world.viewers[2]) as tx,
        ):
            tx.tip(world.performers[0], 10, idempotency_key="nul-alone", message="bad\x00")
    assert isinstance(results[0], Tip), results
    assert isinstance(results[1], Tip), results
    assert type(results[2]) is type(alone.value)
    assert totals(world)[0] == 2


def test_an_integer_key_is_taken_as_api_tip_takes_it(world: World) -> None:
    """api.tip takes an integer key as its text; the batcher sent it in the batch's JSON as a number, which
    api.tip_many refused (LP018, malformed). It now sends such a tip alone: the same tip as tx.tip makes, and
    a retry with the key as text replays it."""
    with (
        Client(world.dsn, role="livepanty_app") as client,
        TipBatcher(client, max_wait=0.3, flushers=1) as batcher,
    ):
        made = batcher.tip(world.viewers[0], world.performers[0], 10, idempotency_key=4242)  # type: ignore[arg-type]
        assert isinstance(made, Tip)
        assert not made.replayed
        again = batcher.tip(world.viewers[0], world.performers[0], 10, idempotency_key="4242")
    assert isinstance(again, Tip)
    assert (again.replayed, again.id) == (True, made.id)
    assert totals(world)[0] == 1


def test_a_refusal_through_the_batcher_rolls_its_block_back(world: World) -> None:
    """A tip refused through the batcher is raised as api.tip raises it: a transaction block around the call
    rolls back (a refusal of api.login is the only kind that commits its block)."""
    with Client(world.dsn, role="livepanty_app") as client, TipBatcher(client) as batcher:
        with pytest.raises(errors.InsufficientFunds) as refused, client.session(world.viewers[0]) as tx:
            tx.set_spending_limit("weekly", 5000)
            batcher.tip(world.viewers[0], world.performers[0], 2000, idempotency_key="too-much")
        assert refused.value.in_band is False
        with client.session(world.viewers[0]) as tx:
            assert [limit.period for limit in tx.get_spending_limits()] == []


def test_a_retry_through_the_batcher_says_replayed(world: World) -> None:
    """A retry with a used key is marked replayed, as api.tip marks it, and is the same tip."""
    with Client(world.dsn, role="livepanty_app") as client, TipBatcher(client) as batcher:
        first = batcher.tip(world.viewers[0], world.performers[0], 10, idempotency_key="once")
        again = batcher.tip(world.viewers[0], world.performers[0], 10, idempotency_key="once")
    assert (first.replayed, again.replayed, again.id) == (False, True, first.id)


class SlowClient(AsyncClient):
    """An api.tip_many that takes half a second."""

    async def tip_many(self, tips: Any) -> Any:
        await asyncio.sleep(0.5)
        return await super().tip_many(tips)


def test_the_async_batcher_settles_every_caller_when_close_is_cancelled_or_callers_give_up(
    world: World,
) -> None:
    """Cancelling AsyncTipBatcher.close (a shutdown deadline) propagates, and no caller is left waiting:
    the tips it had not settled fail with RuntimeError (retry with the same key). A caller that gives up
    before its batch is sent is left out of it: its tip is not made."""

    async def scenario() -> tuple[list[Any], float]:
        client = SlowClient(world.dsn, role="livepanty_app")
        async with client:
            batcher = AsyncTipBatcher(client, max_wait=0.3, flushers=1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    batcher.tip(world.viewers[5], world.performers[0], 10, idempotency_key="given-up"), 0.1
                )
            callers = [
                asyncio.create_task(
                    batcher.tip(world.viewers[i], world.performers[0], 10, idempotency_key=f"closing-{i}")
                )
                for i in range(3)
            ]
            await asyncio.sleep(0)
            began = asyncio.get_running_loop().time()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(batcher.close(), 0.2)
            outcomes = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 3)
            return outcomes, asyncio.get_running_loop().time() - began

    outcomes, took = asyncio.run(scenario())
    assert took < 3
    assert all(isinstance(o, RuntimeError) for o in outcomes), outcomes
    with psycopg.connect(world.dsn) as conn:
        given_up = conn.execute("SELECT count(*) FROM lp.tips WHERE idempotency_key = 'given-up'").fetchone()
    assert given_up == (0,)


class AnswerLostClient(Client):
    """Commits its api.tip_many batches, then loses the answer (as a connection that dies during COMMIT's
    reply would): the callers get ConnectionFailed although their tips were made."""

    def tip_many(self, tips: Any) -> Any:
        super().tip_many(tips)
        raise errors.ConnectionFailed("server closed the connection unexpectedly", sqlstate="08006")


def test_a_batch_whose_answer_is_lost_gives_each_caller_its_own_transient_error(world: World) -> None:
    """Every caller of a batch whose outcome is unknown gets a transient error of its own (not one exception
    object shared by the threads, whose traceback and notes each raise would add to); retried with the same
    keys, the tips are replayed, never made twice."""
    with (
        AnswerLostClient(world.dsn, role="livepanty_app") as lossy,
        TipBatcher(lossy, max_wait=0.3, flushers=1) as batcher,
    ):
        failed = at_once(3, lambda i: batcher.tip(
            world.viewers[i], world.performers[0], 10, idempotency_key=f"lost-{i}"
        ))  # fmt: skip
    assert all(isinstance(failed[i], errors.ConnectionFailed) for i in range(3)), failed
    assert len({id(failed[i]) for i in range(3)}) == 3, "one exception object raised in three threads"
    assert {(failed[i].sqlstate, failed[i].transient) for i in range(3)} == {("08006", True)}
    assert {str(failed[i]) for i in range(3)} == {"[08006] server closed the connection unexpectedly"}
    tips_made = totals(world)[0]
    assert tips_made == 3
    with Client(world.dsn, role="livepanty_app") as client, TipBatcher(client) as batcher:
        again = at_once(3, lambda i: batcher.tip(
            world.viewers[i], world.performers[0], 10, idempotency_key=f"lost-{i}"
        ))  # fmt: skip
    assert all(isinstance(again[i], Tip) and again[i].replayed for i in range(3)), again
    assert totals(world)[0] == tips_made
    assert totals(world)[2] == []

    async def scenario() -> list[Any]:
        class AsyncAnswerLost(AsyncClient):
            async def tip_many(self, tips: Any) -> Any:
                await super().tip_many(tips)
                raise errors.ConnectionFailed("server closed the connection unexpectedly", sqlstate="08006")

        async with (
            AsyncAnswerLost(world.dsn, role="livepanty_app") as client,
            AsyncTipBatcher(client, max_wait=0.3, flushers=1) as abatcher,
        ):
            calls = [
                abatcher.tip(world.viewers[i], world.performers[1], 10, idempotency_key=f"alost-{i}")
                for i in range(3)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, errors.ConnectionFailed) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == 3, "one exception object raised in three tasks"


class ShortAnswerClient(Client):
    """Applies its first api.tip_many batch but answers one outcome short (a bug of the answer, not of the
    database); later batches are answered in full."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def tip_many(self, tips: Any) -> Any:
        self.calls += 1
        outcomes = super().tip_many(tips)
        return outcomes[:-1] if self.calls == 1 else outcomes


def test_an_unreadable_batch_answer_leaves_no_caller_waiting_and_the_batcher_working(world: World) -> None:
    """A batch whose answer cannot be settled (here one outcome short) fails each of its callers with a
    RuntimeError that says to retry with the same key, and the flusher goes on: the retries are served and
    replay the first batch's tips, never make them twice. Before, the flusher thread died: its callers and
    every later tip waited for ever."""

    def each(batcher: TipBatcher, key: str) -> dict[int, Any]:
        results: dict[int, Any] = {}
        start = threading.Barrier(3)

        def caller(i: int) -> None:
            start.wait()
            try:
                results[i] = batcher.tip(
                    world.viewers[i], world.performers[0], 10, idempotency_key=f"{key}-{i}"
                )
            except Exception as exc:  # what the caller gets is the point
                results[i] = exc

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads), "a caller was left waiting"
        return results

    with (
        ShortAnswerClient(world.dsn, role="livepanty_app") as short,
        TipBatcher(short, max_wait=0.3, flushers=1) as batcher,
    ):
        first = each(batcher, "short")  # the first batch (one or more of the three) is answered short
        unread = [r for r in first.values() if isinstance(r, RuntimeError)]
        assert unread, first
        assert all("same idempotency key" in str(r) for r in unread)
        assert all(isinstance(r, Tip | RuntimeError) for r in first.values()), first
        later = each(batcher, "short")
    assert all(isinstance(later[i], Tip) and later[i].replayed for i in range(3)), later
    assert totals(world)[0] == 3
    assert totals(world)[2] == []

    async def scenario() -> list[Any]:
        class AsyncShortAnswer(AsyncClient):
            calls = 0

            async def tip_many(self, tips: Any) -> Any:
                AsyncShortAnswer.calls += 1
                outcomes = await super().tip_many(tips)
                return outcomes[:-1] if AsyncShortAnswer.calls == 1 else outcomes

        async with (
            AsyncShortAnswer(world.dsn, role="livepanty_app") as client,
            AsyncTipBatcher(client, max_wait=0.3, flushers=1) as abatcher,
        ):
            calls = [
                abatcher.tip(world.viewers[i], world.performers[1], 10, idempotency_key=f"ashort-{i}")
                for i in range(3)
            ]
            first = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30)
            again = [
                abatcher.tip(world.viewers[i], world.performers[1], 10, idempotency_key=f"ashort-{i}")
                for i in range(3)
            ]
            return [*first, *await asyncio.wait_for(asyncio.gather(*again, return_exceptions=True), 30)]

    outcomes = asyncio.run(scenario())
    assert any(isinstance(o, RuntimeError) for o in outcomes[:3]), outcomes
    assert all(isinstance(o, Tip | RuntimeError) for o in outcomes[:3]), outcomes
    assert all(isinstance(o, Tip) and o.replayed for o in outcomes[3:]), outcomes
    assert totals(world)[0] == 6
