"""Shows through the Python client and the ``livepanty-db streams show-*`` / ``jobs bill-shows`` commands.

The SQL rules are tested in SQL (tests/sql/test_shows.sql); this checks what the client and the CLI add: typed
results (ShowPrice, Show, ShowParticipant, StreamShow, ShowBilling, UUIDs), the typed errors (ShowNotOffered,
NotWatching), a private show billed per minute by the service role's api.bill_shows and refunded by an admin
as the wallets show it (api.get_wallet), sync and async, and each command's exit status and output (a refusal
exits 1 with ``error [CODE]: message`` and changes nothing; a usage error exits 2).

Minutes pass by moving a show's clock back: ``lp.shows.started_at`` and ``lp.show_participants.billed_from``
(as the superuser), as the billing job would see real minutes go by.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from livepanty_db import (
    AsyncClient,
    Client,
    Show,
    ShowBilling,
    ShowParticipant,
    ShowPrice,
    StreamShow,
)
from livepanty_db.cli import main
from livepanty_db.errors import (
    InvalidArgument,
    InvalidState,
    NotFound,
    NotWatching,
    PermissionDenied,
    ShowNotOffered,
)

PASSWORD = "Shows-on-stage-42"
FUNDS = 1000


def cli(db_url: str, *args: str, fmt: str | None = None, env: dict[str, str] | None = None) -> Result:
    options = ["--dsn", db_url] + (["--format", fmt] if fmt else [])
    return CliRunner().invoke(main, [*options, *args], env=env)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def rows(result: Result) -> list[dict[str, Any]]:
    return json.loads(ok(result).stdout)


def one(result: Result) -> dict[str, Any]:
    [row] = rows(result)
    return row


def refused(result: Result, code: str) -> None:
    assert result.exit_code == 1, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert f"error [{code}]: " in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def state(seed: Any) -> list[tuple[Any, ...]]:
    """Everything a show call could change, in every database (``seed``: on each shard behind a router)."""
    return seed.rows(
        """
            SELECT (SELECT string_agg(concat_ws(',', performer_id, show_type, rate, spy_rate, min_minutes,
                                                min_participants, is_enabled, updated_at), ';'
                                      ORDER BY performer_id, show_type)
                      FROM lp.show_prices),
                   (SELECT string_agg(concat_ws(',', id, status, started_at, ended_at, ended_by,
                                                refunded_at), ';' ORDER BY id)
                      FROM lp.shows),
                   (SELECT string_agg(concat_ws(',', id, left_at, due_tokens, billed_tokens, settled_at,
                                                refunded), ';' ORDER BY id)
                      FROM lp.show_participants),
                   (SELECT string_agg(concat_ws(',', id, status, amount, captured), ';' ORDER BY id)
                      FROM lp.holds),
                   (SELECT count(*) FROM lp.ledger),
                   (SELECT count(*) FROM lp.audit_logs),
                   (SELECT count(*) FROM lp.stream_events)
            """
    )


@pytest.fixture
def live(db_url: str, seed: Any) -> Iterator[dict[str, Any]]:
    """pia (performer, verified) live with a public stream; cora (another performer); vic and val (viewers,
    1000 tokens each, not watching yet); boss (admin). ``<name>_login`` is each one's username: behind a
    router everyone is placed on vic's shard (``seed.username_on_shard_of``), since a show holds its viewers'
    tokens on its stream's shard (docs/scale-out.md, "Limits")."""
    client = Client(db_url)
    ids: dict[str, Any] = {}
    people = (("vic", "viewer"), ("pia", "performer"), ("cora", "performer"), ("val", "viewer"))
    for name, role in people:
        login = name if name == "vic" else seed.username_on_shard_of(ids["vic"], name)
        account = client.register_user(
            email=f"{name}@example.com", username=login, password=PASSWORD, date_of_birth="1990-01-01",
            role=role,
        )  # fmt: skip
        ids[name], ids[f"{name}_login"] = account.id, login
        ids[f"{name}_token"] = client.login(login, PASSWORD).token
    ids["boss_login"] = seed.username_on_shard_of(ids["vic"], "boss")
    ids["boss"] = client.create_admin(
        email="boss@example.com", username=ids["boss_login"], password=PASSWORD, date_of_birth="1990-01-01"
    ).id
    seed.approve_kyc(ids["pia"])
    seed.fund(1000, ids["vic"], ids["val"])
    with client.session(ids["pia_token"]) as tx:
        stream = tx.schedule_stream("Show night")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        tx.start_stream(stream.id)
    ids["stream"] = stream.id
    ids["client"] = client
    ids["service"] = Client(db_url, role="livepanty_service")
    yield ids
    ids["service"].close()
    client.close()


def wallet(client: Client, token: str) -> tuple[int, int]:
    """The acting user's whole balance (main balance and pending credits) and what is reserved of it."""
    with client.session(token) as tx:
        found = tx.get_wallet()
    return found.total, found.reserved


def watch(client: Client, token: str, stream_id: Any) -> None:
    with client.session(token) as tx:
        tx.join_stream(stream_id)


def age(seed: Any, host: Any, show_id: Any, seconds: int) -> None:
    """Move a show's clock ``seconds`` back: its start and its viewers' billing start (on the database of its
    ``host``, which holds the stream and its shows)."""
    shift = [f"{seconds} seconds", show_id]
    seed.execute("UPDATE lp.shows SET started_at = started_at - %s::interval WHERE id = %s", shift, user=host)
    seed.execute(
        "UPDATE lp.show_participants SET billed_from = billed_from - %s::interval WHERE show_id = %s",
        shift,
        user=host,
    )


def bill_all(service: Client) -> list[ShowBilling]:
    """The billing job: one step per call, until a call finds nobody to bill."""
    billed = []
    while (step := service.bill_shows()) is not None:
        assert isinstance(step, ShowBilling)
        billed.append(step)
        assert len(billed) < 100
    return billed


def participants(seed: Any, show_id: Any) -> dict[Any, tuple[Any, ...]]:
    found = seed.rows(
        "SELECT user_id, role::text, due_tokens, billed_tokens, settled_at IS NOT NULL, refunded"
        " FROM lp.show_participants WHERE show_id = %s",
        [show_id],
    )
    return {row[0]: tuple(row[1:]) for row in found}


# --- a private show through the client ----------------------------------------------------------------------


def test_a_private_show_through_the_client(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    service: Client = live["service"]
    stream = live["stream"]
    with client.session(live["pia_token"]) as tx:
        price = tx.set_show_price("private", 10, min_minutes=2, spy_rate=4)
    assert isinstance(price, ShowPrice)
    assert (price.performer_id, price.show_type) == (live["pia"], "private")
    assert (price.rate, price.spy_rate) == (10, 4)
    assert (price.min_minutes, price.min_participants, price.is_enabled) == (2, None, True)
    assert price.updated_at.tzinfo is not None

    # vic, watching, asks for it: the minimum duration (2 minutes) is reserved for pia
    watch(client, live["vic_token"], stream)
    with client.session(live["vic_token"]) as tx:
        requested = tx.request_show(stream, idempotency_key="ask-1")
    assert isinstance(requested, Show)
    assert isinstance(requested.id, uuid.UUID)
    assert (requested.stream_id, requested.host_id) == (stream, live["pia"])
    assert requested.requested_by == live["vic"]
    assert (requested.show_type, requested.status, requested.rate, requested.spy_rate) == (
        "private", "requested", 10, 4,
    )  # fmt: skip
    assert requested.answer_by is not None
    assert requested.started_at is None
    assert wallet(client, live["vic_token"]) == (FUNDS, 20)
    assert not requested.replayed
    with client.session(live["vic_token"]) as tx:  # a retry: the same show, nothing reserved twice
        retried = tx.request_show(stream, idempotency_key="ask-1")
    assert (retried.id, retried.replayed) == (requested.id, True)
    assert wallet(client, live["vic_token"]) == (FUNDS, 20)

    with client.session(live["pia_token"]) as tx:
        [listed] = tx.stream_shows(stream)
        accepted = tx.answer_show(requested.id, True)
    assert isinstance(listed, StreamShow)
    assert (listed.id, listed.status, listed.requested_by, listed.participants) == (
        requested.id, "requested", live["vic"], 1,
    )  # fmt: skip
    assert (listed.my_role, listed.my_due_tokens, listed.my_billed_tokens) == (None, None, None)
    assert (accepted.id, accepted.status) == (requested.id, "running")
    assert accepted.started_at is not None

    # val spies at 4 tokens a minute (2 minutes reserved ahead)
    watch(client, live["val_token"], stream)
    with client.session(live["val_token"]) as tx:
        spy = tx.join_show(requested.id, idempotency_key="spy-1")
    assert isinstance(spy, ShowParticipant)
    assert (spy.show_id, spy.user_id, spy.role, spy.rate) == (requested.id, live["val"], "spy", 4)
    assert (spy.billed_tokens, spy.due_tokens, spy.left_at) == (0, None, None)
    with client.session(live["val_token"]) as tx:  # a retry: flagged, the same participation
        again = tx.join_show(requested.id, idempotency_key="spy-1")
    assert (again, again.replayed, spy.replayed) == (spy, True, False)
    assert spy.billed_from is not None
    assert wallet(client, live["val_token"]) == (FUNDS, 8)

    assert service.bill_shows() is None  # nothing completed in the first minute
    age(seed, live["pia"], requested.id, 150)  # 2.5 minutes in: 2 completed minutes each
    pia_before = wallet(client, live["pia_token"])[0]
    billed = bill_all(service)
    assert billed == [
        ShowBilling(requested.id, live["vic"], 20, 0, "billed"),
        ShowBilling(requested.id, live["val"], 8, 0, "billed"),
    ]
    assert wallet(client, live["vic_token"]) == (FUNDS - 20, 20)  # topped up 2 minutes ahead
    assert wallet(client, live["val_token"]) == (FUNDS - 8, 8)
    assert wallet(client, live["pia_token"])[0] == pia_before + 16 + 7  # less the 20 % fee (rounded down)
    assert bill_all(service) == []  # nothing billed twice

    with client.session(live["pia_token"]) as tx:
        ended = tx.end_show(requested.id)
    assert (ended.status, ended.ended_by, ended.end_reason) == ("ended", "host", None)
    assert ended.ended_at is not None
    settled = bill_all(service)  # the host ended it: completed minutes only, the rest released
    assert settled == [
        ShowBilling(requested.id, live["vic"], 0, 20, "settled"),
        ShowBilling(requested.id, live["val"], 0, 8, "settled"),
    ]
    assert bill_all(service) == []
    assert wallet(client, live["vic_token"]) == (FUNDS - 20, 0)
    assert wallet(client, live["val_token"]) == (FUNDS - 8, 0)
    assert wallet(client, live["pia_token"])[0] == pia_before + 23
    assert participants(seed, requested.id) == {
        live["vic"]: ("payer", 20, 20, True, 0),
        live["val"]: ("spy", 8, 8, True, 0),
    }

    with client.session(live["vic_token"]) as tx:
        [mine] = tx.stream_shows(stream)
    assert (mine.status, mine.ended_by, mine.participants) == ("ended", "host", 0)
    assert mine.requested_by == live["vic"]
    assert (mine.my_role, mine.my_due_tokens, mine.my_billed_tokens) == ("payer", 20, 20)
    with client.session(live["val_token"]) as tx:
        [spied] = tx.stream_shows(stream)
    assert (spied.my_role, spied.my_due_tokens, spied.requested_by) == ("spy", 8, None)  # not hers to see

    # an admin upholds a complaint: everything paid goes back, the performer's part and the fee
    before = state(seed)
    with pytest.raises(PermissionDenied), client.session(live["vic_token"]) as tx:
        tx.refund_show(requested.id, "I want my tokens")
    with pytest.raises(InvalidArgument), client.acting_as(live["boss"], reason="test") as tx:
        tx.refund_show(requested.id, "")
    assert state(seed) == before
    with client.acting_as(live["boss"], reason="complaint 17") as tx:
        refunded = tx.refund_show(requested.id, "the show did not happen as offered")
    assert (refunded.id, refunded.status) == (requested.id, "ended")
    assert refunded.refunded_at is not None
    assert wallet(client, live["vic_token"]) == (FUNDS, 0)
    assert wallet(client, live["val_token"]) == (FUNDS, 0)
    assert wallet(client, live["pia_token"])[0] == pia_before
    assert [p[-1] for p in participants(seed, requested.id).values()] == [20, 8]
    with pytest.raises(InvalidState), client.acting_as(live["boss"], reason="test") as tx:
        tx.refund_show(requested.id, "twice")
    with client.acting_as(live["boss"], reason="test") as tx:
        assert tx.verify_ledger() == []


def test_the_payer_leaving_ends_a_private_show(db_url: str, live: dict[str, Any], seed: Any) -> None:
    """The payer's doing: every started minute and at least the minimum; the spy, out with the show, owes
    completed minutes only."""
    client: Client = live["client"]
    service: Client = live["service"]
    with client.session(live["pia_token"]) as tx:
        tx.set_show_price("private", 10, min_minutes=2, spy_rate=4)
    for name in ("vic", "val"):
        watch(client, live[f"{name}_token"], live["stream"])
    with client.session(live["vic_token"]) as tx:
        show = tx.request_show(live["stream"], idempotency_key="ask")
    with client.session(live["pia_token"]) as tx:
        tx.answer_show(show.id, True)
    with client.session(live["val_token"]) as tx:
        tx.join_show(show.id, idempotency_key="spy")
    age(seed, live["pia"], show.id, 70)  # 1 min 10 s in
    with client.session(live["vic_token"]) as tx:
        left = tx.leave_show(show.id)
    assert isinstance(left, ShowParticipant)
    assert (left.role, left.due_tokens, left.viewer_caused) == ("payer", 20, True)
    assert left.left_at is not None
    with client.session(live["val_token"]) as tx:
        [seen] = tx.stream_shows(live["stream"])
    assert (seen.status, seen.ended_by, seen.end_reason) == ("ended", "viewer", "viewer left")
    assert (seen.my_role, seen.my_due_tokens) == ("spy", 4)  # out with the show: the completed minute
    with pytest.raises(InvalidState), client.session(live["val_token"]) as tx:
        tx.leave_show(show.id)  # over
    assert sorted((b.user_id, b.captured, b.outcome) for b in bill_all(service)) == sorted(
        [(live["vic"], 20, "settled"), (live["val"], 4, "settled")]
    )
    assert wallet(client, live["vic_token"]) == (FUNDS - 20, 0)
    assert wallet(client, live["val_token"]) == (FUNDS - 4, 0)


# --- typed errors -------------------------------------------------------------------------------------------


def test_typed_errors(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    stream = live["stream"]
    before = state(seed)
    with pytest.raises(NotWatching) as not_watching, client.session(live["vic_token"]) as tx:
        tx.request_show(stream, idempotency_key="too-early")
    assert not_watching.value.sqlstate == "LP123"
    assert state(seed) == before

    watch(client, live["vic_token"], stream)
    before = state(seed)
    with pytest.raises(ShowNotOffered) as no_price, client.session(live["vic_token"]) as tx:
        tx.request_show(stream, idempotency_key="no-price")
    assert no_price.value.sqlstate == "LP128"
    assert no_price.value.message == "the performer offers no private show"
    with pytest.raises(ShowNotOffered) as no_group, client.session(live["pia_token"]) as tx:
        tx.offer_show(stream, "group")
    assert no_group.value.hint == "api.set_show_price"
    with pytest.raises(InvalidArgument), client.session(live["pia_token"]) as tx:
        tx.offer_show(stream, "private")  # asked for by viewers
    with pytest.raises(InvalidArgument), client.session(live["pia_token"]) as tx:
        tx.set_show_price("group", 5)  # a group show needs its minimum participants
    with pytest.raises(PermissionDenied), client.session(live["vic_token"]) as tx:
        tx.set_show_price("private", 5)
    with pytest.raises(NotFound), client.session(live["vic_token"]) as tx:
        tx.stream_shows(uuid.uuid4())
    with pytest.raises(PermissionDenied) as not_service:  # the job is the service role's alone
        client_app = Client(db_url, role="livepanty_app")
        try:
            client_app.bill_shows()
        finally:
            client_app.close()
    assert not_service.value.sqlstate == "42501"
    assert state(seed) == before

    with client.session(live["pia_token"]) as tx:
        tx.set_show_price("private", 10)  # no spy rate: no spies
        tx.set_show_price("group", 5, min_participants=3, is_enabled=False)
    with pytest.raises(ShowNotOffered), client.session(live["pia_token"]) as tx:
        tx.offer_show(stream, "group")  # disabled
    with client.session(live["vic_token"]) as tx:
        show = tx.request_show(stream, idempotency_key="ask")
    with client.session(live["pia_token"]) as tx:
        tx.answer_show(show.id, True)
    watch(client, live["val_token"], stream)
    before = state(seed)
    with pytest.raises(ShowNotOffered) as no_spies, client.session(live["val_token"]) as tx:
        tx.join_show(show.id, idempotency_key="spy")
    assert no_spies.value.message == "this private show takes no spies"
    with pytest.raises(PermissionDenied), client.session(live["cora_token"]) as tx:
        tx.end_show(show.id)  # not the host
    with pytest.raises(InvalidArgument), client.acting_as(live["boss"], reason="test") as tx:
        tx.end_show(show.id)  # an admin gives a reason
    assert state(seed) == before


# --- asynchronously: declined, cancelled and ticket shows ---------------------------------------------------


def test_shows_through_the_async_client(db_url: str, live: dict[str, Any]) -> None:
    stream = live["stream"]
    watch(live["client"], live["vic_token"], stream)

    async def scenario() -> None:
        async with (
            AsyncClient(db_url) as client,
            AsyncClient(db_url, role="livepanty_service") as service,
        ):
            async with client.session(live["pia_token"]) as tx:
                price = await tx.set_show_price("private", 10, min_minutes=3)
                await tx.set_show_price("group", 5, min_participants=2)
                await tx.set_show_price("ticket", 30)
            assert (price.rate, price.min_minutes, price.spy_rate) == (10, 3, None)
            async with client.session(live["vic_token"]) as tx:
                asked = await tx.request_show(stream, idempotency_key="async-ask")
            async with client.session(live["pia_token"]) as tx:
                declined = await tx.answer_show(asked.id, False, reason="not tonight")
            assert (declined.status, declined.ended_by) == ("declined", "host")
            assert declined.end_reason == "not tonight"
            assert await service.bill_shows() == ShowBilling(asked.id, live["vic"], 0, 30, "settled")
            assert await service.bill_shows() is None

            # a group show short of its minimum is cancelled when the host starts it
            async with client.session(live["pia_token"]) as tx:
                group = await tx.offer_show(stream, "group")
            assert (group.show_type, group.status, group.min_participants) == ("group", "open", 2)
            async with client.session(live["vic_token"]) as tx:
                committed = await tx.join_show(group.id, idempotency_key="async-group")
            assert (committed.role, committed.rate, committed.billed_from) == ("payer", 5, None)
            async with client.session(live["pia_token"]) as tx:
                cancelled = await tx.start_show(group.id)
            assert (cancelled.status, cancelled.end_reason) == ("cancelled", "1 of 2 viewers committed")
            assert await service.bill_shows() == ShowBilling(group.id, live["vic"], 0, 5, "settled")

            # a ticket: paid once the show starts, kept when the host ends it
            async with client.session(live["pia_token"]) as tx:
                ticket_show = await tx.offer_show(stream, "ticket")
            async with client.session(live["vic_token"]) as tx:
                ticket = await tx.join_show(ticket_show.id, idempotency_key="async-ticket")
            assert (ticket.role, ticket.rate) == ("ticket", 30)
            async with client.session(live["pia_token"]) as tx:
                assert (await tx.start_show(ticket_show.id)).status == "running"
                [listed] = [s for s in await tx.stream_shows(stream) if s.id == ticket_show.id]
                assert (listed.status, listed.participants) == ("running", 1)
            assert await service.bill_shows() == ShowBilling(ticket_show.id, live["vic"], 30, 0, "billed")
            async with client.session(live["vic_token"]) as tx:
                out = await tx.leave_show(ticket_show.id)
            assert (out.due_tokens, out.billed_tokens) == (30, 30)
            async with client.session(live["pia_token"]) as tx:
                assert (await tx.end_show(ticket_show.id, reason="that's all")).status == "ended"
            assert (await service.bill_shows()).outcome == "settled"  # type: ignore[union-attr]
            assert await service.bill_shows() is None
            async with client.acting_as(live["boss"], reason="test") as tx:
                refunded = await tx.refund_show(ticket_show.id, "no show")
            assert refunded.refunded_at is not None

    asyncio.run(scenario())
    assert wallet(live["client"], live["vic_token"]) == (FUNDS, 0)


# --- the commands -------------------------------------------------------------------------------------------


def printed_key(result: Result) -> str:
    found = re.search(r"idempotency key: (\S+) ", result.stderr)
    assert found, result.stderr
    return found.group(1)


def test_the_show_commands(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    stream = str(live["stream"])
    pia, cora, vic, val, boss = (live[f"{name}_login"] for name in ("pia", "cora", "vic", "val", "boss"))
    private = ("streams", "show-price", "private", "10", "--min-minutes", "2", "--spy-rate", "4")
    price = one(cli(db_url, *private, "--as", pia, fmt="json"))
    assert (price["show_type"], price["rate"], price["spy_rate"], price["min_minutes"]) == (
        "private", 10, 4, 2,
    )  # fmt: skip
    assert (price["performer_id"], price["is_enabled"], price["min_participants"]) == (
        str(live["pia"]), True, None,
    )  # fmt: skip
    table = ok(cli(db_url, "streams", "show-price", "ticket", "30", "--as", pia)).stdout
    assert "ticket" in table
    assert "is_enabled" in table
    group = ("streams", "show-price", "group", "5", "--min-participants", "2", "--disabled", "--as", pia)
    assert one(cli(db_url, *group, fmt="json"))["is_enabled"] is False
    assert rows(cli(db_url, "streams", "shows", stream, "--as", vic, fmt="json")) == []

    for name in ("vic", "val"):
        watch(client, live[f"{name}_token"], live["stream"])
    asked = cli(db_url, "streams", "show-request", stream, "--as", vic, fmt="json")
    show = one(asked)
    key = printed_key(asked)  # no --key: a new one, printed to retry with
    assert (show["status"], show["requested_by"], show["rate"], show["stream_id"]) == (
        "requested", str(live["vic"]), 10, stream,
    )  # fmt: skip
    again = one(cli(db_url, "streams", "show-request", stream, "--key", key, "--as", vic, fmt="json"))
    assert again["id"] == show["id"]
    assert wallet(client, live["vic_token"]) == (FUNDS, 20)  # reserved once

    accepted = one(cli(db_url, "streams", "show-answer", show["id"], "accept", "--as", pia, fmt="json"))
    assert accepted["status"] == "running"
    spy = one(cli(db_url, "streams", "show-join", show["id"], "--key", "spy-1", "--as", val, fmt="json"))
    assert (spy["role"], spy["rate"], spy["show_id"]) == ("spy", 4, show["id"])
    listing = ok(cli(db_url, "streams", "shows", stream, "--as", pia)).stdout
    assert "running" in listing
    assert "my_role" in listing
    [seen] = rows(cli(db_url, "streams", "shows", stream, fmt="json", env={"LIVEPANTY_AS": val}))
    assert (seen["id"], seen["participants"]) == (show["id"], 2)
    assert (seen["my_role"], seen["requested_by"]) == ("spy", None)

    age(seed, live["pia"], show["id"], 150)
    first = cli(db_url, "jobs", "bill-shows", "--max-steps", "1", fmt="json")
    assert one(first) == {
        "job": "bill_shows", "steps": 1, "captured": 20, "released": 0, "settled": 0, "out_of_tokens": 0,
    }  # fmt: skip
    assert "bill_shows: 1 step(s), 20 tokens captured, 0 released" in first.stderr
    assert one(cli(db_url, "jobs", "bill-shows", fmt="json"))["captured"] == 8
    assert one(cli(db_url, "jobs", "bill-shows", fmt="json"))["steps"] == 0

    left = one(cli(db_url, "streams", "show-leave", show["id"], "--as", vic, fmt="json"))
    assert (left["role"], left["due_tokens"], left["billed_tokens"]) == ("payer", 30, 20)  # 3 started minutes
    done = cli(db_url, "jobs", "bill-shows", fmt="json")
    assert one(done) == {
        "job": "bill_shows", "steps": 2, "captured": 10, "released": 18, "settled": 2, "out_of_tokens": 0,
    }  # fmt: skip
    assert "2 step(s), 10 tokens captured, 18 released, 2 viewer(s) settled, 0 out of tokens" in done.stderr
    assert wallet(client, live["vic_token"]) == (FUNDS - 30, 0)
    assert wallet(client, live["val_token"]) == (FUNDS - 8, 0)

    missing = str(uuid.uuid4())
    before = state(seed)
    for args, code in (
        (("streams", "show-refund", show["id"], "--reason", "x", "--as", pia), "LP002"),  # not an admin
        (("streams", "show-end", show["id"], "--as", pia), "LP004"),  # over
        (("streams", "show-leave", show["id"], "--as", val), "LP004"),
        (("streams", "show-start", show["id"], "--as", pia), "LP004"),  # not open
        (("streams", "show-answer", show["id"], "accept", "--as", vic), "LP002"),  # viewers answer nothing
        (("streams", "show-answer", missing, "decline", "--as", pia), "LP003"),
        (("streams", "show-join", missing, "--key", "k", "--as", val), "LP003"),
        (("streams", "show-request", stream, "--key", "k", "--as", cora), "LP123"),  # not watching
        (("streams", "show-offer", stream, "private", "--as", pia), "LP018"),  # viewers ask for those
        (("streams", "show-offer", stream, "group", "--as", pia), "LP128"),  # disabled
        (("streams", "show-offer", stream, "ticket", "--as", cora), "LP002"),  # not the host
        (("streams", "show-price", "group", "5", "--as", pia), "LP018"),  # no --min-participants
        (("streams", "show-price", "private", "0", "--as", pia), "LP103"),
        (("streams", "show-price", "ticket", "5", "--spy-rate", "2", "--as", pia), "LP018"),
        (("streams", "shows", missing, "--as", vic), "LP003"),
    ):
        refused(cli(db_url, *args), code)
    no_group = cli(db_url, "streams", "show-offer", stream, "group", "--as", pia)
    assert "error [LP128]: you offer no group show: set its price first" in no_group.stderr
    assert "hint: `livepanty-db streams show-price`" in no_group.stderr  # the CLI names its command
    assert state(seed) == before
    for args in (
        ("streams", "show-answer", show["id"], "maybe", "--as", pia),
        ("streams", "show-price", "vip", "10", "--as", pia),
        ("streams", "show-price", "ticket", "ten", "--as", pia),
        ("streams", "show-refund", show["id"], "--as", boss),  # --reason is required
        ("jobs", "bill-shows", "--max-steps", "0"),
    ):
        assert cli(db_url, *args).exit_code == 2, args
    assert state(seed) == before

    refund = ("streams", "show-refund", show["id"], "--reason", "complaint upheld", "--as", boss)
    refunded = one(cli(db_url, *refund, fmt="json"))
    assert (refunded["id"], refunded["status"]) == (show["id"], "ended")
    assert refunded["refunded_at"] is not None
    assert wallet(client, live["vic_token"]) == (FUNDS, 0)
    assert wallet(client, live["val_token"]) == (FUNDS, 0)

    # a ticket show: opened, a ticket bought (key printed), started, ended by an admin, billed
    ticket_show = one(cli(db_url, "streams", "show-offer", stream, "ticket", "--as", pia, fmt="json"))
    assert (ticket_show["show_type"], ticket_show["status"], ticket_show["rate"]) == ("ticket", "open", 30)
    bought = cli(db_url, "streams", "show-join", ticket_show["id"], "--as", vic, fmt="json")
    printed_key(bought)
    assert one(bought)["role"] == "ticket"
    started = ok(cli(db_url, "streams", "show-start", ticket_show["id"], "--as", pia)).stdout
    assert "running" in started
    refused(cli(db_url, "streams", "show-end", ticket_show["id"], "--as", boss), "LP018")  # no reason
    end = ("streams", "show-end", ticket_show["id"], "--reason", "terms breached", "--as", boss)
    ended = one(cli(db_url, *end, fmt="json"))
    assert (ended["status"], ended["ended_by"], ended["end_reason"]) == ("ended", "admin", "terms breached")
    csv = ok(cli(db_url, "jobs", "bill-shows", fmt="csv")).stdout
    assert csv.splitlines() == ["job,steps,captured,released,settled,out_of_tokens", "bill_shows,1,30,0,1,0"]
    assert wallet(client, live["vic_token"]) == (FUNDS - 30, 0)

    # declining a request, and a group show cancelled for want of viewers
    asked = one(cli(db_url, "streams", "show-request", stream, "--key", "ask-2", "--as", val, fmt="json"))
    answer = ("streams", "show-answer", asked["id"], "decline", "--reason", "busy", "--as", pia)
    declined = one(cli(db_url, *answer, fmt="json"))
    assert (declined["status"], declined["end_reason"]) == ("declined", "busy")
    ok(cli(db_url, "streams", "show-price", "group", "5", "--min-participants", "2", "--as", pia))
    group_show = one(cli(db_url, "streams", "show-offer", stream, "group", "--as", pia, fmt="json"))
    ok(cli(db_url, "streams", "show-join", group_show["id"], "--key", "g-1", "--as", vic))
    cancelled = cli(db_url, "streams", "show-start", group_show["id"], "--as", pia, fmt="json")
    assert one(cancelled)["status"] == "cancelled"
    assert "1 of 2 viewers committed" in cancelled.stderr
    assert one(cli(db_url, "jobs", "bill-shows", fmt="json"))["released"] == 20 + 5
    assert wallet(client, live["val_token"]) == (FUNDS, 0)
    assert wallet(client, live["vic_token"]) == (FUNDS - 30, 0)
    statuses = [s["status"] for s in rows(cli(db_url, "streams", "shows", stream, "--as", pia, fmt="json"))]
    assert statuses == ["ended", "ended", "declined", "cancelled"]
