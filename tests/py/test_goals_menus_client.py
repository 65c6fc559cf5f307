"""Tip menus and tip goals through the Python client and the ``livepanty-db streams`` / ``jobs`` commands.

The SQL rules are tested in SQL; this checks what the client and the CLI add: typed results (TipMenuItem,
TipGoal, StreamGoal, GoalSettlement, UUIDs, Tip.menu_item_id / goal_id / settlement_id), the typed errors
(MenuPriceMismatch with the price in its detail, MenuItemUnavailable), the escrow of a refund-if-missed goal
paid out or back by api.settle_tip_goals as the wallets show it, and each command's exit status and output
(a refusal exits 1 with ``error [CODE]: message`` and changes nothing).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from livepanty_db import (
    AsyncClient,
    Client,
    GoalSettlement,
    StreamGoal,
    Tip,
    TipGoal,
    TipMenuItem,
    TipRequest,
)
from livepanty_db.batcher import TipBatcher
from livepanty_db.cli import main
from livepanty_db.errors import (
    InvalidArgument,
    InvalidState,
    MenuItemUnavailable,
    MenuPriceMismatch,
    NotFound,
    PermissionDenied,
)

PASSWORD = "Goals-and-menus-42"
FUNDS = 1000


def cli(db_url: str, *args: str, fmt: str | None = None) -> Result:
    options = ["--dsn", db_url] + (["--format", fmt] if fmt else [])
    return CliRunner().invoke(main, [*options, *args])


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
    """Everything a menu, goal or tip call could change, in every database (``seed``: on each shard behind a
    router)."""
    return seed.rows(
        """
            SELECT (SELECT string_agg(concat_ws(',', id, name, price, is_active, updated_at), ';' ORDER BY id)
                      FROM lp.tip_menu_items),
                   (SELECT string_agg(concat_ws(',', id, status, closed_at, settled_at), ';' ORDER BY id)
                      FROM lp.tip_goals),
                   (SELECT string_agg(concat_ws(',', id, status, settlement_id), ';' ORDER BY id)
                      FROM lp.tips),
                   (SELECT count(*) FROM lp.ledger),
                   (SELECT count(*) FROM lp.audit_logs)
            """
    )


@pytest.fixture
def live(db_url: str, seed: Any) -> Iterator[dict[str, Any]]:
    """pia (performer, verified) live with a public stream; cora (another performer); vic and val (viewers,
    1000 tokens each); boss (admin). ``<name>_login`` is each one's username: behind a router everyone is
    placed on vic's shard (``seed.username_on_shard_of``), since a cross-shard tip counts toward a goal only
    when the relay delivers it (docs/scale-out.md, "Limits"), which is not what these tests are about."""
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
        stream = tx.schedule_stream("Goals night")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.1")
        tx.start_stream(stream.id)
    ids["stream"] = stream.id
    ids["client"] = client
    ids["service"] = Client(db_url, role="livepanty_service")
    yield ids
    ids["service"].close()
    client.close()


def total(client: Client, token: str) -> int:
    """The acting user's whole balance (main balance and pending credits), as api.get_wallet shows it."""
    with client.session(token) as tx:
        return tx.get_wallet().total


def tip(client: Client, token: str, recipient: Any, amount: int, **kwargs: Any) -> Tip:
    with client.session(token) as tx:
        return tx.tip(recipient, amount, idempotency_key=kwargs.pop("key", str(uuid.uuid4())), **kwargs)


def pass_deadline(seed: Any, host: Any, goal_id: Any) -> None:
    """Move a goal's deadline into the past (the API only takes future deadlines), on the database of the
    stream's ``host``."""
    seed.execute(
        "UPDATE lp.tip_goals SET deadline = now() - interval '1 s' WHERE id = %s", [goal_id], user=host
    )


# --- menus through the client -------------------------------------------------------------------------------


def test_the_menu_through_the_client(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    with client.session(live["pia_token"]) as tx:
        dance = tx.set_menu_item("Dance", 50)
        song = tx.set_menu_item("Song", 20)
        old = tx.set_menu_item("Old trick", 30, is_active=False)
    assert isinstance(dance, TipMenuItem)
    assert isinstance(dance.id, uuid.UUID)
    assert (dance.performer_id, dance.name, dance.price, dance.is_active) == (live["pia"], "Dance", 50, True)
    assert dance.created_at.tzinfo is not None
    assert old.is_active is False
    with client.session(live["vic_token"]) as tx:
        assert [i.name for i in tx.list_menu(live["pia"])] == ["Song", "Dance"]  # active only, cheapest first
        assert tx.list_menu(live["cora"]) == []
    with client.session(live["pia_token"]) as tx:
        assert [i.name for i in tx.list_menu(live["pia"])] == ["Song", "Dance", "Old trick"]
    with client.session(live["cora_token"]) as tx:
        cora_item = tx.set_menu_item("Dance", 10)  # another menu: the same name is fine
    with pytest.raises(PermissionDenied), client.session(live["vic_token"]) as tx:
        tx.set_menu_item("Viewers sell nothing", 10)

    bought = tip(client, live["vic_token"], live["pia"], 50, stream_id=live["stream"], menu_item_id=dance.id)
    assert isinstance(bought, Tip)
    assert (bought.menu_item_id, bought.goal_id, bought.settlement_id) == (dance.id, None, None)
    assert (bought.status, bought.amount, bought.fee_amount) == ("completed", 50, 10)

    boss_token = client.login(live["boss_login"], PASSWORD).token
    before, vic_before = state(seed), total(client, live["vic_token"])
    with pytest.raises(MenuPriceMismatch) as mismatch:
        tip(client, live["vic_token"], live["pia"], 40, menu_item_id=dance.id)
    assert mismatch.value.sqlstate == "LP127"
    assert mismatch.value.detail == "Dance costs 50 tokens"
    # An inactive item is listed to its performer and staff only: to a viewer it is not found, as an unknown
    # id (LP003, never LP126, which would tell that it exists); staff are told it is unavailable.
    with pytest.raises(NotFound) as hidden:
        tip(client, live["vic_token"], live["pia"], 30, menu_item_id=old.id)
    assert (hidden.value.sqlstate, hidden.value.message) == ("LP003", "menu item not found")
    with pytest.raises(MenuItemUnavailable) as unavailable:
        tip(client, boss_token, live["pia"], 30, menu_item_id=old.id)
    assert unavailable.value.sqlstate == "LP126"
    with pytest.raises(NotFound):  # cora's item, tipped to pia
        tip(client, live["vic_token"], live["pia"], 10, menu_item_id=cora_item.id)
    assert state(seed) == before
    assert total(client, live["vic_token"]) == vic_before

    with client.session(live["pia_token"]) as tx:
        dearer = tx.set_menu_item("Dance", 60, item_id=dance.id)
    assert (dearer.id, dearer.price, dearer.created_at) == (dance.id, 60, dance.created_at)
    assert dearer.updated_at >= dance.updated_at
    assert tip(client, live["val_token"], live["pia"], 60, menu_item_id=dance.id).menu_item_id == dance.id

    # api.tip_many and the batcher carry the item too, and refuse a wrong price for that tip alone.
    outcomes = client.tip_many(
        [
            TipRequest(live["vic_token"], live["pia"], 20, "many-1", menu_item_id=song.id),
            TipRequest(live["val_token"], live["pia"], 21, "many-2", menu_item_id=str(song.id)),
        ]
    )
    assert [(o.error_code, o.tip_id is None) for o in outcomes] == [(None, False), ("LP127", True)]
    with TipBatcher(client, max_wait=0) as batcher:
        batched = batcher.tip(live["vic_token"], live["pia"], 20, idempotency_key="b-1", menu_item_id=song.id)
        assert batched.menu_item_id == song.id
        with pytest.raises(NotFound):  # inactive: not found by a viewer
            batcher.tip(live["vic_token"], live["pia"], 30, idempotency_key="b-2", menu_item_id=old.id)
        with pytest.raises(MenuItemUnavailable):  # staff see it: unavailable
            batcher.tip(boss_token, live["pia"], 30, idempotency_key="b-3", menu_item_id=old.id)


# --- goals through the client -------------------------------------------------------------------------------


def test_goals_through_the_client(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    stream = live["stream"]
    with client.session(live["pia_token"]) as tx:
        first = tx.add_tip_goal(stream, 100, "Dance party")
        second = tx.add_tip_goal(stream, 50, "Encore")
    assert isinstance(first, TipGoal)
    assert isinstance(first.id, uuid.UUID)
    assert (first.stream_id, first.position, first.refund_if_missed) == (stream, 1, False)
    assert (second.position, second.status, second.activated_at) == (2, "queued", None)

    pia_before = total(client, live["pia_token"])
    counted = tip(client, live["vic_token"], live["pia"], 60, stream_id=stream)
    assert (counted.goal_id, counted.status) == (first.id, "completed")  # no escrow: paid at once
    assert total(client, live["pia_token"]) == pia_before + 48
    with client.session(live["val_token"]) as tx:
        goals = tx.stream_goals(stream)
    assert all(isinstance(g, StreamGoal) for g in goals)
    assert [(g.id, g.progress_tokens, g.tips_count, g.status) for g in goals] == [
        (first.id, 60, 1, "active"),
        (second.id, 0, 0, "queued"),
    ]
    tip(client, live["val_token"], live["pia"], 40, stream_id=stream)  # reaches the target
    with client.session(live["vic_token"]) as tx:
        goals = tx.stream_goals(stream)
    assert [(g.progress_tokens, g.status) for g in goals] == [(100, "reached"), (0, "active")]
    assert goals[0].closed_at is not None

    before = state(seed)
    with pytest.raises(PermissionDenied), client.session(live["vic_token"]) as tx:
        tx.cancel_tip_goal(second.id)
    with pytest.raises(InvalidState), client.session(live["pia_token"]) as tx:
        tx.cancel_tip_goal(first.id)  # reached: closed already
    with pytest.raises(InvalidArgument), client.session(live["pia_token"]) as tx:
        tx.add_tip_goal(stream, 10, "No deadline", refund_if_missed=True)
    with pytest.raises(NotFound), client.session(live["pia_token"]) as tx:
        tx.stream_goals(uuid.uuid4())
    assert state(seed) == before

    with client.acting_as(live["boss"], reason="test") as tx:
        cancelled = tx.cancel_tip_goal(second.id, "off-topic")
    assert (cancelled.status, cancelled.close_reason) == ("cancelled", "off-topic")

    async def read_async() -> tuple[list[StreamGoal], GoalSettlement]:
        async with AsyncClient(db_url) as aclient:
            async with aclient.session(live["vic_token"]) as atx:
                listed = await atx.stream_goals(stream)
            async with AsyncClient(db_url, role="livepanty_service") as service:
                return listed, await service.settle_tip_goals(limit=10)

    listed, settled = asyncio.run(read_async())
    assert [g.status for g in listed] == ["reached", "cancelled"]
    assert settled == GoalSettlement(0, 0, 0, 0, 0)


def test_add_tip_goal_returns_the_goal_as_activated(db_url: str, live: dict[str, Any], seed: Any) -> None:
    """On a live stream without an active goal, the new goal is active at once, and api.add_tip_goal (the
    client, the CLI) returns it so, as api.stream_goals lists it."""
    client: Client = live["client"]
    with client.session(live["pia_token"]) as tx:
        goal = tx.add_tip_goal(live["stream"], 100, "Dance party")
        [listed] = tx.stream_goals(live["stream"])
    assert (listed.id, listed.status) == (goal.id, "active")
    assert (goal.status, goal.activated_at) == ("active", listed.activated_at)
    added = one(
        cli(
            db_url,
            "streams",
            "goal-add",
            str(live["stream"]),
            "50",
            "Encore",
            "--as",
            live["pia_login"],
            fmt="json",
        )
    )
    assert (added["status"], added["activated_at"]) == ("queued", None)  # behind the active one


def test_a_refund_if_missed_goal_pays_out_once_reached(db_url: str, live: dict[str, Any]) -> None:
    client: Client = live["client"]
    service: Client = live["service"]
    stream = live["stream"]
    deadline = datetime.now(UTC) + timedelta(hours=1)
    with client.session(live["pia_token"]) as tx:
        goal = tx.add_tip_goal(stream, 100, "All or nothing", deadline=deadline, refund_if_missed=True)
    assert (goal.refund_if_missed, goal.deadline) == (True, deadline)

    pia_before = total(client, live["pia_token"])
    first = tip(client, live["vic_token"], live["pia"], 60, stream_id=stream, key="escrow-1")
    second = tip(client, live["val_token"], live["pia"], 40, stream_id=stream, key="escrow-2")
    for escrowed in (first, second):
        assert (escrowed.goal_id, escrowed.status, escrowed.settlement_id) == (goal.id, "escrowed", None)
    assert total(client, live["vic_token"]) == FUNDS - 60
    assert total(client, live["val_token"]) == FUNDS - 40
    assert total(client, live["pia_token"]) == pia_before  # held in escrow, not paid yet
    with client.session(live["pia_token"]) as tx:
        [reached] = tx.stream_goals(stream)
    assert (reached.status, reached.progress_tokens, reached.settled_at) == ("reached", 100, None)

    settled = service.settle_tip_goals()
    assert isinstance(settled, GoalSettlement)
    assert (settled.tips_paid, settled.tips_refunded) == (2, 0)
    assert total(client, live["pia_token"]) == pia_before + 100 - 20  # less the platform fee (20 %)
    assert total(client, live["vic_token"]) == FUNDS - 60
    with client.session(live["pia_token"]) as tx:
        [paid] = tx.stream_goals(stream)
        received = {t.id: t.status for t in tx.list_tips("recipient")}
    assert paid.settled_at is not None
    assert received == {first.id: "completed", second.id: "completed"}
    replayed = tip(client, live["vic_token"], live["pia"], 60, stream_id=stream, key="escrow-1")
    assert (replayed.id, replayed.status) == (first.id, "completed")
    assert isinstance(replayed.settlement_id, uuid.UUID)
    assert service.settle_tip_goals() == GoalSettlement(0, 0, 0, 0, 0)  # nothing twice


def test_a_missed_goal_gives_the_tips_back(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    service: Client = live["service"]
    stream = live["stream"]
    with client.session(live["pia_token"]) as tx:
        goal = tx.add_tip_goal(
            stream, 500, "Too far", deadline=datetime.now(UTC) + timedelta(hours=1), refund_if_missed=True
        )
    pia_before = total(client, live["pia_token"])
    tip(client, live["vic_token"], live["pia"], 70, stream_id=stream)
    assert total(client, live["vic_token"]) == FUNDS - 70
    pass_deadline(seed, live["pia"], goal.id)
    assert service.settle_tip_goals() == GoalSettlement(0, 0, 0, 1, 0)  # closed as missed ...
    assert service.settle_tip_goals() == GoalSettlement(0, 1, 0, 0, 0)  # ... then its tip goes back
    assert total(client, live["vic_token"]) == FUNDS
    assert total(client, live["pia_token"]) == pia_before
    with client.session(live["vic_token"]) as tx:
        [missed] = tx.stream_goals(stream)
        [sent] = tx.list_tips()
    assert (missed.status, missed.close_reason) == ("missed", "deadline passed")
    assert sent.status == "refunded"


# --- the commands -------------------------------------------------------------------------------------------


def menu_of(db_url: str, performer: str, as_login: str) -> list[dict[str, Any]]:
    return rows(cli(db_url, "streams", "menu", performer, "--as", as_login, fmt="json"))


def test_the_menu_commands(db_url: str, live: dict[str, Any], seed: Any) -> None:
    pia, vic, boss = (live[f"{name}_login"] for name in ("pia", "vic", "boss"))
    item = one(cli(db_url, "streams", "menu-set", "Dance", "50", "--as", pia, fmt="json"))
    assert (item["name"], item["price"], item["is_active"], item["performer_id"]) == (
        "Dance", 50, True, str(live["pia"]),
    )  # fmt: skip
    ok(cli(db_url, "streams", "menu-set", "Song", "20", "--as", pia))
    table = ok(cli(db_url, "streams", "menu", pia, "--as", vic)).stdout
    assert "Dance" in table
    assert "Song" in table
    assert table.index("Song") < table.index("Dance")  # cheapest first
    csv = ok(cli(db_url, "streams", "menu", pia, "--as", vic, fmt="csv")).stdout
    assert csv.splitlines()[0] == "id,performer_id,name,price,is_active,created_at,updated_at"

    deactivate = ("streams", "menu-set", "Dance", "55", "--item", item["id"], "--inactive", "--as", pia)
    off = one(cli(db_url, *deactivate, fmt="json"))
    assert (off["id"], off["price"], off["is_active"]) == (item["id"], 55, False)
    assert [i["name"] for i in menu_of(db_url, pia, vic)] == ["Song"]
    assert [i["name"] for i in menu_of(db_url, pia, pia)] == ["Song", "Dance"]  # inactive ones last

    [song] = menu_of(db_url, pia, vic)
    buy = ("tips", "send", "--as", vic, "--to", pia, "--amount", "20", "--item", song["id"])
    bought = one(cli(db_url, *buy, fmt="json"))
    assert (bought["menu_item_id"], bought["status"]) == (song["id"], "completed")

    before = state(seed)
    for args, code in (
        (("streams", "menu-set", "Dance", "50", "--as", vic), "LP002"),  # not a performer
        (("streams", "menu-set", "song", "30", "--as", pia), "LP018"),  # the name is taken (any case)
        (("streams", "menu-set", "Cheap", "0", "--as", pia), "LP103"),
        (("streams", "menu-set", "Dance", "50", "--item", str(uuid.uuid4()), "--as", pia), "LP003"),
        (("tips", "send", "--as", vic, "--to", pia, "--amount", "21", "--item", song["id"]), "LP127"),
        (("tips", "send", "--as", vic, "--to", pia, "--amount", "55", "--item", item["id"]), "LP003"),
        (("tips", "send", "--as", boss, "--to", pia, "--amount", "55", "--item", item["id"]), "LP126"),
    ):
        result = cli(db_url, *args)
        refused(result, code)
    mismatch = cli(db_url, "tips", "send", "--as", vic, "--to", pia, "--amount", "21", "--item", song["id"])
    assert "error [LP127]: a menu item is paid at its price" in mismatch.stderr
    assert "detail: Song costs 20 tokens" in mismatch.stderr
    assert state(seed) == before
    usage = cli(db_url, "streams", "menu-set", "Dance", "fifty", "--as", pia)
    assert usage.exit_code == 2
    assert state(seed) == before


def test_the_goal_commands(db_url: str, live: dict[str, Any], seed: Any) -> None:
    pia, cora, vic, boss = (live[f"{name}_login"] for name in ("pia", "cora", "vic", "boss"))
    stream = str(live["stream"])
    goal = one(cli(db_url, "streams", "goal-add", stream, "100", "Dance party", "--as", pia, fmt="json"))
    assert (goal["position"], goal["target_tokens"], goal["stream_id"]) == (1, 100, stream)
    deadline = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    add = ("streams", "goal-add", stream, "50", "Encore", "--deadline", deadline.isoformat())
    queued = one(cli(db_url, *add, "--refund-if-missed", "--as", pia, fmt="json"))
    assert (queued["position"], queued["status"], queued["refund_if_missed"]) == (2, "queued", True)
    assert datetime.fromisoformat(queued["deadline"]) == deadline

    ok(cli(db_url, "tips", "send", "--as", vic, "--to", pia, "--amount", "30", "--stream", stream))
    table = ok(cli(db_url, "streams", "goals", stream, "--as", vic)).stdout
    assert "30/100 (30%)" in table
    assert "0/50 (0%)" in table
    listed = rows(cli(db_url, "streams", "goals", stream, "--as", vic, fmt="json"))
    assert [(g["id"], g["progress_tokens"], g["tips_count"], g["status"]) for g in listed] == [
        (goal["id"], 30, 1, "active"),
        (queued["id"], 0, 0, "queued"),
    ]

    before = state(seed)
    for args, code in (
        (("streams", "goal-add", stream, "10", "x", "--refund-if-missed", "--as", pia), "LP018"),
        (("streams", "goal-add", stream, "10", "x", "--as", cora), "LP002"),  # not the host
        (("streams", "goal-add", stream, "0", "x", "--as", pia), "LP103"),
        (("streams", "goal-cancel", goal["id"], "--as", vic), "LP002"),
        (("streams", "goal-cancel", goal["id"], "--as", boss), "LP018"),  # an admin gives a reason
        (("streams", "goal-cancel", str(uuid.uuid4()), "--as", pia), "LP003"),
        (("streams", "goals", str(uuid.uuid4()), "--as", vic), "LP003"),
        (("jobs", "settle-goals", "--limit", "0"), "LP018"),
    ):
        refused(cli(db_url, *args), code)
    no_deadline = cli(db_url, "streams", "goal-add", stream, "10", "x", "--refund-if-missed", "--as", pia)
    assert "error [LP018]: a goal refunded if missed needs a deadline" in no_deadline.stderr
    assert state(seed) == before
    usage = cli(db_url, "streams", "goal-add", stream, "10", "x", "--deadline", "tomorrow", "--as", pia)
    assert usage.exit_code == 2
    assert "'tomorrow' is not an ISO time" in usage.output
    assert state(seed) == before

    cancel = ("streams", "goal-cancel", goal["id"], "--reason", "changed plans", "--as", pia)
    cancelled = one(cli(db_url, *cancel, fmt="json"))
    assert (cancelled["status"], cancelled["close_reason"]) == ("cancelled", "changed plans")
    statuses = [g["status"] for g in rows(cli(db_url, "streams", "goals", stream, "--as", pia, fmt="json"))]
    assert statuses == ["cancelled", "active"]  # the queued goal took over


def test_the_settle_goals_job(db_url: str, live: dict[str, Any], seed: Any) -> None:
    client: Client = live["client"]
    stream = live["stream"]
    with client.session(live["pia_token"]) as tx:
        goal = tx.add_tip_goal(
            stream, 500, "Too far", deadline=datetime.now(UTC) + timedelta(hours=1), refund_if_missed=True
        )
    tip(client, live["vic_token"], live["pia"], 70, stream_id=stream)
    tip(client, live["val_token"], live["pia"], 30, stream_id=stream)
    [idle] = rows(cli(db_url, "jobs", "settle-goals", fmt="json"))
    assert idle == {
        "job": "settle_tip_goals", "tips_paid": 0, "tips_refunded": 0, "goals_reached": 0, "goals_missed": 0,
        "goals_activated": 0, "processed": 0, "batches": 1,
    }  # fmt: skip
    pass_deadline(seed, live["pia"], goal.id)
    # one run closes the goal, the next gives its two tips back, the third finds nothing to do
    result = ok(cli(db_url, "jobs", "settle-goals", "--limit", "1", "--until-done", fmt="json"))
    [done] = json.loads(result.stdout)
    assert (done["goals_missed"], done["tips_refunded"], done["tips_paid"], done["processed"]) == (1, 2, 0, 3)
    assert done["batches"] == 4  # --limit 1: one tip per run
    assert (
        "0 tips paid out, 2 refunded, 0 goals reached, 1 missed, "
        "0 stuck queue(s) given their next goal in 4 run(s)" in result.stderr
    )
    assert total(client, live["vic_token"]) == FUNDS
    assert total(client, live["val_token"]) == FUNDS
    table = ok(cli(db_url, "jobs", "settle-goals")).stdout
    assert "settle_tip_goals" in table
    assert "tips_refunded" in table
