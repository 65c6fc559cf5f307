"""``livepanty-db streams``: a performer's streams, from scheduling through the go-live gate to the end, and
their tip menus, tip goals and shows (private, group, ticket; billed by ``livepanty-db jobs bill-shows``).

Each command calls one SQL API function as the performer (or admin) named by ``--as``; ``check-key`` runs
as the back office (the ingest service's role). The ingest key that ``start`` and ``rotate-key`` return is
printed once, on stderr in table mode (json/csv: in the record); the database keeps only its hash.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

import click

from livepanty_db import events
from livepanty_db.cli.common import (
    UUID_TYPE,
    acting,
    catalogued_errors,
    emit_models,
    emit_records,
    idempotency_key,
    key_option,
    operator_client,
    output_format,
    read_password,
    resolve_login,
    service_client,
    wide_tables,
)
from livepanty_db.cli.output import note
from livepanty_db.cli.values import Vocabulary
from livepanty_db.models import (
    PerformerBlock,
    PerformerTopTipper,
    Show,
    ShowParticipant,
    ShowPrice,
    Stream,
    StreamConsent,
    StreamEvent,
    StreamGoal,
    StreamListing,
    StreamShow,
    StreamStart,
    StreamViewer,
    TipGoal,
    TipMenuItem,
)

__all__ = ["command"]

F = TypeVar("F", bound=Callable[..., Any])

STREAM_TABLE = [
    "id",
    "host_id",
    "title",
    "status",
    "visibility",
    "category",
    "tags",
    "performers",
    "started_at",
    "ended_at",
]
START_TABLE = ["stream_id", "status", "started_at", "key_issued_at"]
CONSENT_TABLE = ["stream_id", "performer_id", "consented_at", "ip_address"]
MENU_TABLE = ["id", "name", "price", "is_active", "updated_at"]
GOAL_TABLE = [
    "position",
    "id",
    "description",
    "target_tokens",
    "status",
    "deadline",
    "refund_if_missed",
    "closed_at",
    "close_reason",
]
GOALS_TABLE = [
    "position",
    "id",
    "description",
    "progress",
    "tips_count",
    "status",
    "deadline",
    "refund_if_missed",
    "settled_at",
]
SHOW_TABLE = [
    "id",
    "show_type",
    "status",
    "rate",
    "spy_rate",
    "min_minutes",
    "requested_by",
    "answer_by",
    "started_at",
    "ended_at",
    "ended_by",
    "end_reason",
]
VIEWER_TABLE = ["username", "joined_at", "last_heartbeat_at", "watch_seconds"]
TOP_TIPPER_TABLE = ["rank", "tipper_name", "anonymous", "tokens", "tips"]
SHOWS_TABLE = [
    "id",
    "show_type",
    "status",
    "rate",
    "spy_rate",
    "participants",
    "started_at",
    "ended_at",
    "ended_by",
    "my_role",
    "my_billed_tokens",
]
PARTICIPANT_TABLE = [
    "id",
    "show_id",
    "user_id",
    "role",
    "rate",
    "billed_from",
    "left_at",
    "due_tokens",
    "billed_tokens",
    "settled_at",
]


class IsoTime(click.ParamType):
    """An ISO 8601 time, e.g. ``2030-01-31T20:00:00+01:00`` (without an offset: the database's time zone)."""

    name = "iso_time"

    def get_metavar(self, param: click.Parameter, *args: Any, **kwargs: Any) -> str:
        return "ISO"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO time (e.g. 2030-01-31T20:00:00+01:00)", param, ctx)


def as_option(func: F) -> F:
    """``--as LOGIN``: the performer (the host, a co-performer), viewer or admin the command acts as."""
    return click.option(
        "--as",
        "as_login",
        metavar="LOGIN",
        envvar="LIVEPANTY_AS",
        required=True,
        help="Act as this performer, viewer or admin: username, e-mail or user id (default: $LIVEPANTY_AS).",
    )(func)


@click.group("streams")
def command() -> None:
    """Streams: schedule, put performers on camera, consent, go live, end; tip menus, goals and shows."""


@command.command("schedule")
@as_option
@click.option("--title", required=True, help="1 to 140 characters.")
@click.option("--category", default="general", show_default=True)
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for more; at most 20).")
@click.option("--visibility", type=Vocabulary("stream_visibility"), default="public", show_default=True)
@click.option("--not-mature", is_flag=True, help="Not adult content.")
@click.option("--at", "scheduled_at", type=click.DateTime(), default=None, help="Planned start (ISO time).")
@click.option("--description", default=None)
@click.pass_context
@catalogued_errors
def schedule(
    ctx: click.Context,
    as_login: str,
    title: str,
    category: str,
    tags: tuple[str, ...],
    visibility: str,
    not_mature: bool,
    scheduled_at: datetime | None,
    description: str | None,
) -> None:
    """The --as performer schedules a stream (api.schedule_stream)."""
    with acting(ctx, as_login) as tx:
        stream = tx.schedule_stream(
            title,
            category=category,
            tags=tags,
            visibility=visibility,
            is_mature=not not_mature,
            scheduled_at=scheduled_at,
            description=description,
        )
    emit_models([stream], Stream, STREAM_TABLE)


@command.command("add-performer")
@click.argument("stream_id", type=UUID_TYPE)
@click.argument("performer")
@as_option
@click.pass_context
@catalogued_errors
def add_performer(ctx: click.Context, stream_id: str, performer: str, as_login: str) -> None:
    """The host puts PERFORMER (login or id) on camera in STREAM_ID (api.add_stream_performer)."""
    performer_id = resolve_login(operator_client(ctx), performer, "PERFORMER")
    with acting(ctx, as_login) as tx:
        stream = tx.add_stream_performer(stream_id, performer_id)
    emit_models([stream], Stream, STREAM_TABLE)


@command.command("remove-performer")
@click.argument("stream_id", type=UUID_TYPE)
@click.argument("performer")
@as_option
@click.pass_context
@catalogued_errors
def remove_performer(ctx: click.Context, stream_id: str, performer: str, as_login: str) -> None:
    """The host takes PERFORMER off STREAM_ID (api.remove_stream_performer)."""
    performer_id = resolve_login(operator_client(ctx), performer, "PERFORMER")
    with acting(ctx, as_login) as tx:
        stream = tx.remove_stream_performer(stream_id, performer_id)
    emit_models([stream], Stream, STREAM_TABLE)


@command.command("consent")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.option("--ip", "ip_address", required=True, help="The IP address the consent is given from.")
@click.option("--user-agent", default=None)
@click.pass_context
@catalogued_errors
def consent(
    ctx: click.Context, stream_id: str, as_login: str, ip_address: str, user_agent: str | None
) -> None:
    """The --as performer consents to appear in STREAM_ID, once and for good (api.consent_to_stream)."""
    with acting(ctx, as_login) as tx:
        given = tx.consent_to_stream(stream_id, ip_address=ip_address, user_agent=user_agent)
    emit_models([given], StreamConsent, CONSENT_TABLE)


def _emit_key(started: StreamStart) -> None:
    emit_models([started], StreamStart, START_TABLE)
    if output_format() == "table":
        note(f"stream key (shown once): {started.stream_key}")


@command.command("start")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def start(ctx: click.Context, stream_id: str, as_login: str) -> None:
    """The host takes STREAM_ID live through the go-live gate (api.start_stream); prints the ingest key."""
    with acting(ctx, as_login) as tx:
        started = tx.start_stream(stream_id)
    _emit_key(started)


@command.command("rotate-key")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def rotate_key(ctx: click.Context, stream_id: str, as_login: str) -> None:
    """The host replaces the ingest key of live STREAM_ID (api.rotate_stream_key)."""
    with acting(ctx, as_login) as tx:
        started = tx.rotate_stream_key(stream_id)
    _emit_key(started)


@command.command("check-key")
@click.option(
    "--key-stdin",
    is_flag=True,
    help="Read the ingest key from the first line of standard input instead of prompting.",
)
@click.pass_context
@catalogued_errors
def check_key(ctx: click.Context, key_stdin: bool) -> None:
    """The live stream an ingest key belongs to (api.check_stream_key, as livepanty_service). The key is
    prompted for without echo, or read with --key-stdin; never an argument (argv shows in ps)."""
    stream_key = read_password(key_stdin, prompt="Ingest key", confirm=False, flag="--key-stdin")
    stream = service_client(ctx).check_stream_key(stream_key)
    emit_models([stream], Stream, STREAM_TABLE)


@command.command("end")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.option("--reason", default=None, help="Why (required when an admin ends someone else's stream).")
@click.pass_context
@catalogued_errors
def end(ctx: click.Context, stream_id: str, as_login: str, reason: str | None) -> None:
    """End live STREAM_ID, or cancel it while scheduled (api.end_stream)."""
    with acting(ctx, as_login) as tx:
        stream = tx.end_stream(stream_id, reason=reason)
    emit_models([stream], Stream, STREAM_TABLE)
    if stream.status == "ended":
        note(
            f"stream {stream.id} ended: {stream.unique_viewers} viewers, {stream.watch_seconds} s watched, "
            f"{stream.tips_count} tips ({stream.tips_tokens} tokens)"
        )


@command.command("show")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def show(ctx: click.Context, stream_id: str, as_login: str) -> None:
    """One stream (api.get_stream)."""
    with acting(ctx, as_login) as tx:
        stream = tx.get_stream(stream_id)
    emit_models([stream], Stream)


@command.command("viewers")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def viewers(ctx: click.Context, stream_id: str, as_login: str) -> None:
    """Who is watching STREAM_ID now (api.list_stream_viewers: the host or staff)."""
    with acting(ctx, as_login) as tx:
        watching = tx.list_stream_viewers(stream_id)
    emit_models(watching, StreamViewer, VIEWER_TABLE)


@command.command("block")
@click.argument("user")
@as_option
@click.option("--reason", default=None, help="Why (500 characters).")
@click.pass_context
@catalogued_errors
def block(ctx: click.Context, user: str, as_login: str, reason: str | None) -> None:
    """The --as performer keeps USER out of their streams (api.block_viewer)."""
    user_id = resolve_login(operator_client(ctx), user, "USER")
    with acting(ctx, as_login) as tx:
        blocked = tx.block_viewer(user_id, reason=reason)
    emit_models([blocked], PerformerBlock)


@command.command("unblock")
@click.argument("user")
@as_option
@click.pass_context
@catalogued_errors
def unblock(ctx: click.Context, user: str, as_login: str) -> None:
    """The --as performer lifts their block of USER (api.unblock_viewer)."""
    user_id = resolve_login(operator_client(ctx), user, "USER")
    with acting(ctx, as_login) as tx:
        tx.unblock_viewer(user_id)
    note(f"{user} may watch again")


@command.command("list")
@as_option
@click.option("--category", default=None, help="Only this category.")
@click.option("--tag", default=None, help="Only streams with this tag.")
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..200).")
@click.pass_context
@catalogued_errors
def list_live(ctx: click.Context, as_login: str, category: str | None, tag: str | None, limit: int) -> None:
    """Live public streams, most watched first (api.list_live_streams, first page)."""
    with acting(ctx, as_login) as tx:
        listed = tx.list_live_streams(category=category, tag=tag, limit=limit)
    emit_models(listed, StreamListing, ["id", "host_name", "title", "category", "viewers", "started_at"])


@command.command("of")
@click.argument("performer")
@as_option
@click.option("--limit", type=int, default=50, show_default=True, help="Page size (1..200).")
@click.pass_context
@catalogued_errors
def of_performer(ctx: click.Context, performer: str, as_login: str, limit: int) -> None:
    """PERFORMER's streams, newest first (api.list_performer_streams, first page)."""
    performer_id = resolve_login(operator_client(ctx), performer, "PERFORMER")
    with acting(ctx, as_login) as tx:
        streams = tx.list_performer_streams(performer_id, limit=limit)
    emit_models(streams, Stream, STREAM_TABLE)


@command.command("watch")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.option(
    "--after", default=None, metavar="POSITION", help="Start after this position (default: the oldest kept)."
)
@click.option("--count", type=int, default=None, help="Stop after this many events (default: never).")
@click.option("--wait", type=float, default=30.0, show_default=True, help="Read at least every WAIT seconds.")
@click.pass_context
@catalogued_errors
def watch(
    ctx: click.Context, stream_id: str, as_login: str, after: str | None, count: int | None, wait: float
) -> None:
    """Print STREAM_ID's events as they come (api.stream_events, woken by LISTEN), one line each."""
    client = operator_client(ctx)

    def read(position: str | None, limit: int) -> list[StreamEvent]:
        with acting(ctx, as_login) as tx:
            return tx.stream_events(stream_id, after=position, limit=limit)

    def channel_of() -> str:
        with acting(ctx, as_login) as tx:
            return tx.stream_channel(stream_id)

    followed = events.follow(client, stream_id, after=after, wait=wait, read=read, channel_of=channel_of)
    for printed, event in enumerate(followed, start=1):
        if output_format() == "table":
            click.echo(
                f"{event.position}  {event.created_at:%H:%M:%S}  {event.kind:<14} {json.dumps(event.payload)}"
            )
        else:
            emit_models([event], StreamEvent)
        if count is not None and printed >= count:
            break


@command.command("leaderboard")
@click.argument("performer")
@as_option
@click.option("--period", type=Vocabulary("leaderboard_period"), default="week", show_default=True)
@click.option("--limit", type=int, default=10, show_default=True, help="Places (1..100).")
@click.pass_context
@catalogued_errors
def leaderboard(ctx: click.Context, performer: str, as_login: str, period: str, limit: int) -> None:
    """PERFORMER's top tippers over --period (api.performer_top_tippers)."""
    performer_id = resolve_login(operator_client(ctx), performer, "PERFORMER")
    with acting(ctx, as_login) as tx:
        places = tx.performer_top_tippers(performer_id, period=period, limit=limit)
    emit_models(places, PerformerTopTipper, TOP_TIPPER_TABLE)


# --- tip menus ----------------------------------------------------------------------------------------------


@command.command("menu")
@click.argument("performer")
@as_option
@click.pass_context
@catalogued_errors
def menu(ctx: click.Context, performer: str, as_login: str) -> None:
    """PERFORMER's tip menu, active items cheapest first; PERFORMER and staff also see the inactive ones
    (api.list_menu)."""
    performer_id = resolve_login(operator_client(ctx), performer, "PERFORMER")
    with acting(ctx, as_login) as tx:
        items = tx.list_menu(performer_id)
    emit_models(items, TipMenuItem, MENU_TABLE)


@command.command("menu-set")
@click.argument("name")
@click.argument("price", type=int)
@as_option
@click.option(
    "--item",
    "item_id",
    metavar="ITEM_ID",
    type=UUID_TYPE,
    default=None,
    help="Change this item (default: add one).",
)
@click.option("--inactive", is_flag=True, help="Take the item off the menu (it cannot be bought).")
@click.pass_context
@catalogued_errors
def menu_set(
    ctx: click.Context, name: str, price: int, as_login: str, item_id: str | None, inactive: bool
) -> None:
    """The --as performer adds NAME at PRICE tokens to their tip menu, or changes the item --item ITEM_ID
    (api.set_menu_item)."""
    with acting(ctx, as_login) as tx:
        item = tx.set_menu_item(name, price, item_id=item_id, is_active=not inactive)
    emit_models([item], TipMenuItem, MENU_TABLE)


# --- tip goals ----------------------------------------------------------------------------------------------


@command.command("goals")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def goals(ctx: click.Context, stream_id: str, as_login: str) -> None:
    """STREAM_ID's tip goals in queue order, with their progress (api.stream_goals)."""
    with acting(ctx, as_login) as tx:
        listed = tx.stream_goals(stream_id)
    if output_format() == "table" and not wide_tables():  # progress as "tokens/target (percent)"
        emit_records([_with_progress(goal) for goal in listed], GOALS_TABLE)
    else:
        emit_models(listed, StreamGoal)


def _with_progress(goal: StreamGoal) -> SimpleNamespace:
    percent = 100 * goal.progress_tokens // goal.target_tokens
    progress = f"{goal.progress_tokens}/{goal.target_tokens} ({percent}%)"
    return SimpleNamespace(**dataclasses.asdict(goal), progress=progress)


@command.command("goal-add")
@click.argument("stream_id", type=UUID_TYPE)
@click.argument("target", type=int)
@click.argument("description")
@as_option
@click.option("--deadline", type=IsoTime(), default=None, help="When the goal is missed if not reached.")
@click.option(
    "--refund-if-missed",
    is_flag=True,
    help="Hold the tips toward it in escrow; give them back if it is missed (needs --deadline).",
)
@click.pass_context
@catalogued_errors
def goal_add(
    ctx: click.Context,
    stream_id: str,
    target: int,
    description: str,
    as_login: str,
    deadline: datetime | None,
    refund_if_missed: bool,
) -> None:
    """The host queues a goal of TARGET tokens on STREAM_ID (api.add_tip_goal)."""
    with acting(ctx, as_login) as tx:
        goal = tx.add_tip_goal(
            stream_id, target, description, deadline=deadline, refund_if_missed=refund_if_missed
        )
    emit_models([goal], TipGoal, GOAL_TABLE)


@command.command("goal-cancel")
@click.argument("goal_id", type=UUID_TYPE)
@as_option
@click.option("--reason", default=None, help="Why (required when an admin cancels someone else's goal).")
@click.pass_context
@catalogued_errors
def goal_cancel(ctx: click.Context, goal_id: str, as_login: str, reason: str | None) -> None:
    """Cancel queued or active GOAL_ID (api.cancel_tip_goal): the host, or an admin with --reason. Its
    escrowed tips go back to their senders at the next `livepanty-db jobs settle-goals`."""
    with acting(ctx, as_login) as tx:
        goal = tx.cancel_tip_goal(goal_id, reason=reason)
    emit_models([goal], TipGoal, GOAL_TABLE)


# --- shows --------------------------------------------------------------------------------------------------


@command.command("shows")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def shows(ctx: click.Context, stream_id: str, as_login: str) -> None:
    """STREAM_ID's shows the --as user may see, with their own part (api.stream_shows): every show for the
    host and staff, the open and running ones and their own for a viewer."""
    with acting(ctx, as_login) as tx:
        listed = tx.stream_shows(stream_id)
    emit_models(listed, StreamShow, SHOWS_TABLE)


@command.command("show-price")
@click.argument("show_type", metavar="TYPE", type=Vocabulary("show_type"))
@click.argument("rate", type=int)
@as_option
@click.option(
    "--min-minutes", type=int, default=1, show_default=True, help="Minimum duration billed (1..600)."
)
@click.option("--spy-rate", type=int, default=None, help="Tokens per minute a spy pays (private shows only).")
@click.option(
    "--min-participants", type=int, default=None, help="Viewers needed to start (group shows only: required)."
)
@click.option("--disabled", is_flag=True, help="Keep the price but do not offer the show.")
@click.pass_context
@catalogued_errors
def show_price(
    ctx: click.Context,
    show_type: str,
    rate: int,
    as_login: str,
    min_minutes: int,
    spy_rate: int | None,
    min_participants: int | None,
    disabled: bool,
) -> None:
    """The --as performer sets their price for TYPE shows: RATE tokens per minute, or the ticket price
    (api.set_show_price)."""
    with acting(ctx, as_login) as tx:
        price = tx.set_show_price(
            show_type,
            rate,
            min_minutes=min_minutes,
            spy_rate=spy_rate,
            min_participants=min_participants,
            is_enabled=not disabled,
        )
    emit_models([price], ShowPrice)


@command.command("show-request")
@click.argument("stream_id", type=UUID_TYPE)
@as_option
@key_option
@click.pass_context
@catalogued_errors
def show_request(ctx: click.Context, stream_id: str, as_login: str, key: str | None) -> None:
    """The --as viewer, watching STREAM_ID, asks its host for a private show; its minimum duration is
    reserved now (api.request_show)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        requested = tx.request_show(stream_id, idempotency_key=key)
    emit_models([requested], Show, SHOW_TABLE)


@command.command("show-offer")
@click.argument("stream_id", type=UUID_TYPE)
@click.argument("show_type", metavar="TYPE", type=Vocabulary("show_type"))
@as_option
@click.pass_context
@catalogued_errors
def show_offer(ctx: click.Context, stream_id: str, show_type: str, as_login: str) -> None:
    """The host opens a TYPE show (group or ticket) in live STREAM_ID at their price (api.offer_show)."""
    with acting(ctx, as_login) as tx:
        offered = tx.offer_show(stream_id, show_type)
    emit_models([offered], Show, SHOW_TABLE)


@command.command("show-join")
@click.argument("show_id", type=UUID_TYPE)
@as_option
@key_option
@click.pass_context
@catalogued_errors
def show_join(ctx: click.Context, show_id: str, as_login: str, key: str | None) -> None:
    """The --as viewer buys a ticket for, commits to, or spies on SHOW_ID (api.join_show)."""
    key = idempotency_key(key)
    with acting(ctx, as_login) as tx:
        joined = tx.join_show(show_id, idempotency_key=key)
    emit_models([joined], ShowParticipant, PARTICIPANT_TABLE)


@command.command("show-answer")
@click.argument("show_id", type=UUID_TYPE)
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@as_option
@click.option("--reason", default=None, help="Why (1000 characters).")
@click.pass_context
@catalogued_errors
def show_answer(ctx: click.Context, show_id: str, answer: str, as_login: str, reason: str | None) -> None:
    """The host accepts (it runs from now) or declines the private show request SHOW_ID (api.answer_show)."""
    with acting(ctx, as_login) as tx:
        answered = tx.answer_show(show_id, answer == "accept", reason=reason)
    emit_models([answered], Show, SHOW_TABLE)


@command.command("show-start")
@click.argument("show_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def show_start(ctx: click.Context, show_id: str, as_login: str) -> None:
    """The host starts open group or ticket show SHOW_ID (api.start_show); a group show short of its minimum
    viewers is cancelled instead."""
    with acting(ctx, as_login) as tx:
        started = tx.start_show(show_id)
    emit_models([started], Show, SHOW_TABLE)
    if started.status == "cancelled":
        note(f"show {started.id} cancelled: {started.end_reason}")


@command.command("show-leave")
@click.argument("show_id", type=UUID_TYPE)
@as_option
@click.pass_context
@catalogued_errors
def show_leave(ctx: click.Context, show_id: str, as_login: str) -> None:
    """The --as viewer leaves SHOW_ID (api.leave_show); the private show's payer ends it."""
    with acting(ctx, as_login) as tx:
        left = tx.leave_show(show_id)
    emit_models([left], ShowParticipant, PARTICIPANT_TABLE)


@command.command("show-end")
@click.argument("show_id", type=UUID_TYPE)
@as_option
@click.option("--reason", default=None, help="Why (required when an admin ends someone else's show).")
@click.pass_context
@catalogued_errors
def show_end(ctx: click.Context, show_id: str, as_login: str, reason: str | None) -> None:
    """End SHOW_ID, or cancel it before it ran (api.end_show): the host, or an admin with --reason. The money
    is settled by `livepanty-db jobs bill-shows`."""
    with acting(ctx, as_login) as tx:
        ended = tx.end_show(show_id, reason=reason)
    emit_models([ended], Show, SHOW_TABLE)


@command.command("show-refund")
@click.argument("show_id", type=UUID_TYPE)
@as_option
@click.option("--reason", required=True, help="Why (the complaint upheld; audited).")
@click.pass_context
@catalogued_errors
def show_refund(ctx: click.Context, show_id: str, as_login: str, reason: str) -> None:
    """An admin gives back everything the viewers of ended, billed SHOW_ID paid (api.refund_show)."""
    with acting(ctx, as_login) as tx:
        refunded = tx.refund_show(show_id, reason)
    emit_models([refunded], Show, [*SHOW_TABLE, "refunded_at"])
