"""Following a stream's events with the client (``Client.events``, ``AsyncClient.events``).

Tips committed by other connections reach a follower; its listening connection is killed in the middle (as a
server restart or a network cut would) and it goes on without losing or repeating an event; a follower that
resumes from a stored position gets exactly the rest; the async follower does the same.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from livepanty_db import AsyncClient, Client, StreamEvent
from livepanty_db.cli import main
from livepanty_db.errors import NotFound

PASSWORD = "events test 123"


def setup(db_url: str) -> dict[str, Any]:
    client = Client(db_url)
    people: dict[str, Any] = {"client": client}
    for name, role in (("pia", "performer"), ("vic", "viewer")):
        account = client.register_user(
            email=f"{name}@example.com",
            username=name,
            password=PASSWORD,
            date_of_birth="1990-01-01",
            role=role,
        )
        people[name] = account.id
        people[f"{name}_token"] = client.login(name, PASSWORD).token
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
            " now() + interval '1 year')",
            [people["pia"]],
        )
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(), ARRAY["
            "ROW(lp.system_wallet('issuance'), -100000, 'purchase', 0, false)::lp.posting,"
            "ROW((SELECT id FROM lp.wallets WHERE user_id = %s), 100000, 'purchase', 0, false)::lp.posting])",
            [people["vic"]],
        )
    with client.session(people["pia_token"]) as tx:
        stream = tx.schedule_stream("Events")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        tx.start_stream(stream.id)
    people["stream"] = stream.id
    return people


def tip(people: dict[str, Any], n: int) -> None:
    with people["client"].session(people["vic_token"]) as tx:
        tx.tip(
            people["pia"],
            10 + n,
            idempotency_key=f"t-{n}",
            stream_id=people["stream"],
            is_anonymous=n % 3 == 0,
        )


def all_events(db_url: str, stream_id: Any) -> list[int]:
    with psycopg.connect(db_url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT id FROM lp.stream_events WHERE stream_id = %s ORDER BY tx, id", [stream_id]
            )
        ]


def channel(db_url: str, stream_id: Any) -> str:
    """The stream's LISTEN channel, as the database names it (a superuser may compute it)."""
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT lp.event_channel(%s)", [stream_id]).fetchone()[0]


def kill_listeners(db_url: str, stream_id: Any) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = %s",
            [f'LISTEN "{channel(db_url, stream_id)}"'],
        ).fetchone()
    return int(row[0])


def test_a_follower_loses_nothing_when_its_connection_dies(db_url: str) -> None:
    people = setup(db_url)
    client: Client = people["client"]
    received: list[StreamEvent] = []
    wanted = 1 + 30  # stream_started, 30 tips
    done = threading.Event()

    def follow() -> None:
        for event in client.events(people["stream"], token=people["vic_token"], wait=0.5):
            received.append(event)
            if len(received) >= wanted:
                break
        done.set()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    killed = 0
    for n in range(30):
        tip(people, n)
        if n in (10, 20):
            deadline = time.monotonic() + 5
            while not (k := kill_listeners(db_url, people["stream"])) and time.monotonic() < deadline:
                time.sleep(0.05)
            killed += k
        time.sleep(0.01)
    assert done.wait(20), f"the follower got {len(received)} of {wanted} events"
    assert killed == 2  # its listening connection was killed twice
    ids = [event.id for event in received]
    assert ids == all_events(db_url, people["stream"])  # every event, once, in the log's order
    tips = [event for event in received if event.kind == "tip"]
    assert [event.payload["amount"] for event in tips] == [10 + n for n in range(30)]
    assert all(
        (event.payload["sender_name"] == "anonymous") == (n % 3 == 0)
        and ("sender_id" in event.payload) != (n % 3 == 0)
        for n, event in enumerate(tips)
    )

    # A follower that stored a position resumes after it: the rest, exactly.
    resumed: list[int] = []
    for event in client.events(
        people["stream"], token=people["vic_token"], after=received[9].position, wait=0.2
    ):
        resumed.append(event.id)
        if len(resumed) == len(ids) - 10:
            break
    assert resumed == ids[10:]
    client.close()


def test_the_async_follower(db_url: str) -> None:
    people = setup(db_url)

    async def run() -> list[StreamEvent]:
        async with AsyncClient(db_url) as client:
            received: list[StreamEvent] = []

            async def follow() -> None:
                async for event in client.events(people["stream"], token=people["vic_token"], wait=0.5):
                    received.append(event)
                    if len(received) == 11:
                        return

            task = asyncio.create_task(follow())
            for n in range(10):
                await asyncio.to_thread(tip, people, n)
                if n == 5:
                    await asyncio.sleep(0.2)
                    await asyncio.to_thread(kill_listeners, db_url, people["stream"])
            await asyncio.wait_for(task, 20)
            return received

    received = asyncio.run(run())
    assert [event.id for event in received] == all_events(db_url, people["stream"])
    assert [event.kind for event in received] == ["stream_started"] + ["tip"] * 10
    people["client"].close()


def test_streams_watch_prints_the_events(db_url: str) -> None:
    people = setup(db_url)
    for n in range(3):
        tip(people, n + 1)
    result = CliRunner().invoke(
        main,
        [
            "--dsn",
            db_url,
            "streams",
            "watch",
            str(people["stream"]),
            "--as",
            "vic",
            "--count",
            "4",
            "--wait",
            "0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines] == ["stream_started", "tip", "tip", "tip"]
    assert '"sender_name": "vic"' in lines[1]
    people["client"].close()


def test_the_notifier_mode_wakes_listeners_once_per_stream(db_url: str) -> None:
    """events.wake_up "notifier": tips NOTIFY nothing at commit; api.wake_stream_listeners sends one wake-up
    per stream with new events and hands back the position to go on from."""
    people = setup(db_url)
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("UPDATE lp.settings SET value = '\"notifier\"' WHERE key = 'events.wake_up'")
    service = Client(db_url, role="livepanty_service")
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{channel(db_url, people["stream"])}"')
        position = service.wake_stream_listeners(None)
        for n in range(3):
            tip(people, n)
        assert list(listener.notifies(timeout=0.3)) == []  # the tips' commits woke nobody
        moved = service.wake_stream_listeners(position)
        woken = list(listener.notifies(timeout=1.0, stop_after=1))
        assert [int(w.payload) for w in woken] == [max(all_events(db_url, people["stream"]))]
        assert moved != position
        assert service.wake_stream_listeners(moved) == moved  # nothing new: the same position, nobody woken
        assert list(listener.notifies(timeout=0.3)) == []
    # A follower in this mode: the notifier's wake-ups (or its own polling) bring every event.
    stop = threading.Event()

    def notifier() -> None:
        at = service.wake_stream_listeners(None)
        while not stop.is_set():
            at = service.wake_stream_listeners(at)
            time.sleep(0.02)

    running = threading.Thread(target=notifier)
    running.start()
    try:
        got: list[int] = []
        for n in range(3, 8):
            tip(people, n)
        for event in people["client"].events(people["stream"], token=people["vic_token"], wait=5.0):
            got.append(event.id)
            if len(got) == len(all_events(db_url, people["stream"])):
                break
        assert got == all_events(db_url, people["stream"])
    finally:
        stop.set()
        running.join()
        service.close()
        people["client"].close()


def test_only_the_keyed_channel_hears_a_streams_wake_ups(db_url: str) -> None:
    """A login that knows a stream's id cannot listen to it: a channel named after the id (as it once was)
    hears nothing; the channel api.stream_channel tells the reader hears the tip's wake-up."""
    people = setup(db_url)
    with people["client"].session(people["vic_token"]) as tx:
        told = tx.stream_channel(people["stream"])
    assert told == channel(db_url, people["stream"])
    by_id = "lp_stream_" + str(people["stream"]).replace("-", "")
    with (
        psycopg.connect(db_url, autocommit=True) as guess,
        psycopg.connect(db_url, autocommit=True) as reader,
    ):
        guess.execute(f'LISTEN "{by_id}"')
        reader.execute(f'LISTEN "{told}"')
        tip(people, 1)
        assert len(list(reader.notifies(timeout=2.0, stop_after=1))) == 1
        assert list(guess.notifies(timeout=0.3)) == []
    people["client"].close()


def test_a_stream_made_private_moves_its_channel(db_url: str) -> None:
    """Who learned a public stream's channel (any signed-in viewer may) hears nothing of it once it is
    private: the channel moves with the visibility (lp.event_channel), the old channel's listeners get one
    wake-up 'channel', the viewer is refused the new name (LP003), and the host's follower, told to ask again,
    LISTENs on the new channel and gets the private stream's events at once (not at its next timed read)."""
    people = setup(db_url)
    client: Client = people["client"]
    with client.session(people["vic_token"]) as tx:
        public = tx.stream_channel(people["stream"])
    received: list[StreamEvent] = []
    got_goal = threading.Event()

    def follow() -> None:
        for event in client.events(people["stream"], token=people["pia_token"], wait=60.0):
            received.append(event)
            if event.kind == "goal_started":
                got_goal.set()
                break

    with (
        psycopg.connect(db_url, autocommit=True) as old,
        psycopg.connect(db_url, autocommit=True) as new,
    ):
        old.execute(f'LISTEN "{public}"')
        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:  # stream_started read: the follower listens
            time.sleep(0.05)
        assert received, "the host's follower read nothing"
        with client.session(people["pia_token"]) as tx:
            tx.update_stream(people["stream"], visibility="private")
            private = tx.stream_channel(people["stream"])
        assert private != public
        new.execute(f'LISTEN "{private}"')
        with client.session(people["pia_token"]) as tx:
            tx.add_tip_goal(people["stream"], 100, "a private goal")  # live: it starts (goal_started)
        # the public channel hears only that the channel moved, nothing of the private stream's event
        assert [n.payload for n in old.notifies(timeout=1.0)] == ["channel"]
        assert len(list(new.notifies(timeout=2.0, stop_after=1))) == 1
        with pytest.raises(NotFound), client.session(people["vic_token"]) as tx:
            tx.stream_channel(people["stream"])
        assert got_goal.wait(10), f"the host's follower got {[e.kind for e in received]}"
    client.close()


def test_the_async_follower_follows_a_moved_channel(db_url: str) -> None:
    """The async follower of the host, told on the old channel that it moved (the stream made private),
    LISTENs on the new one and gets the private stream's next event at once (its timed read is 60 s away; the
    event comes after the re-reads a wake-up without news sets off)."""
    people = setup(db_url)

    def make_private_and_add_goal() -> None:
        with people["client"].session(people["pia_token"]) as tx:
            tx.update_stream(people["stream"], visibility="private")
        time.sleep(1.5)  # after the follower's re-reads (events.RETRY_DELAYS): only a wake-up brings it
        with people["client"].session(people["pia_token"]) as tx:
            tx.add_tip_goal(people["stream"], 100, "a private goal")

    async def run() -> list[str]:
        async with AsyncClient(db_url) as client:
            kinds: list[str] = []

            async def follow() -> None:
                async for event in client.events(people["stream"], token=people["pia_token"], wait=60.0):
                    kinds.append(event.kind)
                    if event.kind == "goal_started":
                        return

            task = asyncio.create_task(follow())
            while not kinds:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(make_private_and_add_goal)
            await asyncio.wait_for(task, 10)
            return kinds

    assert asyncio.run(run()) == ["stream_started", "goal_started"]
    people["client"].close()


def test_a_follower_notices_a_moved_channel_at_its_timed_read(db_url: str) -> None:
    """A move it was not told of (through a router the shard's wake-up 'channel' reaches no listener; here the
    visibility is changed by hand, which sends none): after `wait` seconds without a wake-up the follower asks
    for the channel again and LISTENs on the new name."""
    people = setup(db_url)
    client: Client = people["client"]
    received: list[StreamEvent] = []
    stop = threading.Event()

    def follow() -> None:
        for event in client.events(people["stream"], token=people["pia_token"], wait=0.5):
            received.append(event)
            if stop.is_set():
                break

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE lp.streams SET visibility = 'private' WHERE id = %s", [people["stream"]])
        private = channel(db_url, people["stream"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query = %s", [f'LISTEN "{private}"']
            ).fetchone()
            if row[0]:
                break
            time.sleep(0.05)
        assert row[0] == 1, "the follower did not LISTEN on the moved channel"
    stop.set()
    with client.session(people["pia_token"]) as tx:
        tx.add_tip_goal(people["stream"], 100, "a private goal")  # ends the follower's loop
    follower.join(10)
    client.close()
