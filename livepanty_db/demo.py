"""The demo run by ``make demo``: ``python -m livepanty_db.demo [DSN]``.

A short walk through the identity and access layer on a migrated database (the embedded cluster by
default): bootstrap an admin, register a viewer and a performer through the application's own login (a member
of ``livepanty_app`` only), log in, act through a session, show a few refusals with their error codes (among
them the application login claiming a user's id, and trying the back office's ``api.act_as``), and print
``api.user_summary`` as the viewer sees it (their own row) and as the admin sees it (everyone: the back
office acts as the admin with ``api.act_as``, audited with a reason).

Then the token economy: the viewer buys tokens (``api.create_payment``, completed by the back office as
``livepanty_service``); the performer's identity verification is approved (the KYC gate of going live,
being paid and payouts); the viewer tips her (once anonymously), places a hold that the back office captures
in part and releases; she is paid out (the demo admin sets ``payouts.hold_days`` to 0 so that the fresh
earnings are payable at once). Then a live stream: the performer goes live (the go-live
gate) with a tip goal whose tips wait in escrow until it is reached and an item on her tip menu; the viewer
joins, tips (once anonymously) and buys the menu item, which reaches the goal; the settle job pays the escrow
out; the viewer asks for a private show, the performer accepts, it runs for a few billed minutes (the demo
moves its start into the past instead of waiting) and the billing job settles it; the stream ends, and its
goals, shows, summary and event log are printed. A tip_block on a user, refused when they tip, appealed and
granted by a moderator who did not issue it. A report and an automated flag of one user merge into one review
case, which a moderator claims and resolves; the user reads the statement of reasons. Wallets, the
performer's latest ledger entries and ``api.verify_ledger`` with ``api.ledger_totals`` close it.

Safe to run again: existing demo accounts are reused, every money operation gets a fresh idempotency key.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.conninfo import make_conninfo
from tabulate import tabulate

from livepanty_db import config, migrate, sql
from livepanty_db.client import Client, new_idempotency_key
from livepanty_db.errors import AlreadyReported, EmailTaken, LivepantyError

APP_ROLE = "livepanty_app"
SERVICE_ROLE = "livepanty_service"
# Sample accounts on a local demo database only; the admin always gets a random password.
DEMO_PASSWORD = "demo-only pass 1"  # noqa: S105
ADMIN = {"email": "demo-admin@example.com", "username": "demo_admin", "date_of_birth": date(1985, 3, 14)}
SAMPLE_USERS = [
    {
        "email": "vera@example.com",
        "username": "vera_viewer",
        "role": "viewer",
        "date_of_birth": date(1994, 7, 2),
    },
    {
        "email": "paula@example.com",
        "username": "paula_performs",
        "role": "performer",
        "date_of_birth": date(1997, 11, 23),
        "display_name": "Paula",
    },
]


def _heading(text: str) -> None:
    print(f"\n== {text}")


def _table(rows: list[Any], columns: list[str]) -> None:
    print(tabulate([[getattr(row, c) for c in columns] for row in rows], headers=columns))


#: The demo's lookup of a user by username on the router of a sharded installation (docs/scale-out.md): the
#: router's own lp.users is empty, the directory (router.users) finds the user, by lower-case username.
_USER_ID_ROUTER = "SELECT user_id FROM router.users WHERE username_key = lower(btrim(%(u)s::text))"


def _user_id(dba: Client, username: str) -> UUID:
    with dba.transaction() as tx:
        on_router = tx.fetch(sql.IS_ROUTER)[0][0]
        rows = tx.fetch(
            _USER_ID_ROUTER
            if on_router
            else "SELECT id FROM lp.users WHERE username = %(u)s::ext.citext AND deleted_at IS NULL",
            {"u": username},
        )
    return rows[0][0]


def _admin_id(dba: Client) -> UUID:
    """The demo admin, created with a random password the first time (no default password anywhere)."""
    try:
        admin = dba.create_admin(password=secrets.token_urlsafe(18) + "!1", **ADMIN)
        reset = f"livepanty-db users send-reset {admin.username} --as {admin.username}"
        print(f"created admin {admin.username} (random password; `{reset}` mails a password reset)")
        return admin.id
    except EmailTaken:
        print(f"admin {ADMIN['username']} exists already")
        return _user_id(dba, ADMIN["username"])


def _app_login(dsn: str) -> str | None:
    """A DSN of the demo's own application login: a LOGIN role that is a member of livepanty_app and nothing
    else, as an application's login should be. None when the server does not let it in (no trust or password
    set up for it): the demo then holds its superuser connection to livepanty_app with SET LOCAL ROLE."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'livepanty_demo_app') THEN"
            " CREATE ROLE livepanty_demo_app LOGIN IN ROLE livepanty_app; END IF; END $$"
        )
    app_dsn = make_conninfo(dsn, user="livepanty_demo_app")
    try:
        psycopg.connect(app_dsn, connect_timeout=5).close()
    except psycopg.Error:
        print("(the demo's application login cannot connect here: using SET LOCAL ROLE livepanty_app)")
        return None
    print("the application connects as livepanty_demo_app, a login that is a member of livepanty_app only")
    return app_dsn


def _register_samples(app: Client) -> None:
    for user in SAMPLE_USERS:
        try:
            account = app.register_user(password=DEMO_PASSWORD, **user)
            print(f"registered {account.role} {account.username}")
        except EmailTaken:
            print(f"{user['role']} {user['username']} exists already")


def _forge_identity(app: Client, user_id: UUID) -> None:
    with app.transaction() as tx:
        tx.fetch("SELECT set_config('lp.user_id', %(id)s, true)", {"id": str(user_id)})
        tx.get_wallet()


def _act_as(app: Client, user_id: UUID) -> None:
    with app.acting_as(user_id, reason="an application login trying the back-office path"):
        pass


def _show_refusals(app: Client, vera_id: UUID) -> None:
    _heading("refusals: each is a catalogued SQLSTATE and changes nothing")
    attempts = [
        (
            "register a 16-year-old",
            lambda: app.register_user(
                email="kid@example.com",
                username="kiddo",
                password=DEMO_PASSWORD,
                date_of_birth=date(date.today().year - 16, 1, 1),
            ),
        ),
        (
            "register with a weak password",
            lambda: app.register_user(
                email="weak@example.com",
                username="weakling",
                password="password",  # noqa: S106 (the point: a weak password is refused)
                date_of_birth=date(1990, 1, 1),
            ),
        ),
        ("log in with a wrong password", lambda: app.login("vera_viewer", "not the password 9")),
        ("log in as nobody", lambda: app.login("nobody@example.com", "whatever it is 1")),
        ("act as vera by claiming her id (set_config lp.user_id)", lambda: _forge_identity(app, vera_id)),
        ("act as vera through the back office, as the application", lambda: _act_as(app, vera_id)),
    ]
    rows = []
    for label, attempt in attempts:
        try:
            attempt()
            rows.append([label, "accepted?!", ""])
        except LivepantyError as exc:
            rows.append([label, exc.sqlstate, type(exc).__name__])
    print(tabulate(rows, headers=["attempt", "sqlstate", "exception"]))


# --- token economy ------------------------------------------------------------------------------------------

#: What vera buys each run (large + medium = 7100 tokens) and spends: tips of 6000 and 200 (anonymous) and a
#: hold of 800 of which 500 is captured. With the 20 % fee paula earns 4800 + 160 + 400 = 5360 tokens a run,
#: enough for the default minimum payout of 5000. In paula's live stream vera tips 100 and 50 (anonymous).
BUNDLES = ("large", "medium")
TIP, ANONYMOUS_TIP = 6000, 200
HOLD, CAPTURE = 800, 500
PAYOUT = 5000
STREAM_TIPS = ((100, "hello from the demo", False), (50, None, True))
#: paula's menu item (vera buys it in the stream), her goal (reached by the menu item, the third tip) and her
#: private show price; the show runs SHOW_MINUTES billed minutes.
MENU_ITEM, MENU_PRICE = "Song request", 50
GOAL_TARGET = 200
SHOW_RATE, SHOW_MIN_MINUTES, SHOW_MINUTES = 20, 2, 3
KYC_DOCUMENT = {
    "document_type": "passport",
    "document_country": "DE",
    "document_front_url": "s3://demo-kyc/paula/passport-front.jpg",
}


def _buy_tokens(app: Client, service: Client, vera: str) -> None:
    _heading("vera buys tokens (api.create_payment; the provider's confirmation as livepanty_service)")
    payments = []
    for bundle in BUNDLES:
        with app.session(vera) as tx:
            payment = tx.create_payment(bundle, "demo_psp", idempotency_key=new_idempotency_key())
        reference = f"demo-{payment.id.hex[:12]}"
        payments.append(
            service.complete_payment(payment.id, reference, idempotency_key=new_idempotency_key())
        )
    _table(payments, ["bundle_code", "tokens", "amount_minor", "currency", "status", "provider_reference"])


def _tip(app: Client, vera: str, paula: str, paula_id: UUID) -> None:
    _heading("vera tips paula (api.tip: the platform fee goes to its wallet in the same ledger transaction)")
    tips = []
    for amount, extra in ((TIP, {"message": "great show!"}), (ANONYMOUS_TIP, {"is_anonymous": True})):
        with app.session(vera) as tx:  # one transaction each: they list newest first, in this order
            tips.append(tx.tip(paula_id, amount, idempotency_key=new_idempotency_key(), **extra))
    _table(tips, ["amount", "fee_amount", "is_anonymous", "message"])
    with app.session(paula) as tx:
        received = tx.list_tips("recipient", limit=2)
    print("as paula lists them (api.list_tips): the anonymous sender is hidden from her")
    _table(received, ["amount", "net_amount", "sender_id", "is_anonymous"])


def _hold(app: Client, service: Client, vera: str, paula_id: UUID) -> None:
    _heading(
        f"vera places a hold of {HOLD} for paula; the back office captures {CAPTURE} and releases the rest"
    )
    with app.session(vera) as tx:
        hold = tx.place_hold(
            paula_id, HOLD, idempotency_key=new_idempotency_key(), expires_in=timedelta(hours=1)
        )
    print(f"hold {hold.id}: {hold.amount} tokens reserved, {hold.status}")
    capture = service.capture_hold(hold.id, CAPTURE, idempotency_key=new_idempotency_key())
    print(
        f"captured {capture.amount} (fee {capture.fee_amount}:"
        f" paula gets {capture.amount - capture.fee_amount})"
    )
    hold = service.release_hold(hold.id, idempotency_key=new_idempotency_key())
    print(
        f"released: {hold.amount - hold.captured} tokens available to vera again; the hold is {hold.status}"
    )


def _verify_identity(service: Client, app: Client, admin_id: UUID, paula: str) -> None:
    _heading("paula verifies her identity (the KYC gate: no going live, tips or payouts without it)")
    with app.session(paula) as tx:
        kyc = tx.get_kyc_status()
        # submitted: left by an interrupted run
        if kyc is None or kyc.status not in ("approved", "submitted"):
            kyc = tx.submit_kyc(**KYC_DOCUMENT)
            print(f"paula submitted a verification ({kyc.document_type}, {kyc.document_country})")
    if kyc.status == "approved":
        print("paula's verification is approved already")
    else:
        with service.acting_as(admin_id, reason="demo: KYC review") as tx:
            kyc = tx.approve_kyc(kyc.id)
        print(f"the demo admin reviewed it (api.approve_kyc): {kyc.status}")


def _pay_out(service: Client, app: Client, admin_id: UUID, paula: str) -> None:
    _heading("paula is paid out")
    with service.acting_as(admin_id, reason="demo: payout hold period") as tx:
        before = {s.key: s.value for s in tx.list_settings()}["payouts.hold_days"]
        if before != 0:
            tx.set_setting("payouts.hold_days", 0)
    print(
        f"the demo admin set payouts.hold_days to 0 (was {before}) with api.set_setting, so that paula's"
        " fresh earnings are payable at once (demo only: a real platform keeps its hold period)"
        if before != 0
        else "payouts.hold_days is 0 (set by the demo admin on an earlier run): paula's fresh earnings are"
        " payable at once (demo only: a real platform keeps its hold period)"
    )
    with app.session(paula) as tx:
        payout = tx.request_payout(PAYOUT, "bank_transfer", idempotency_key=new_idempotency_key())
    steps = [payout]
    with service.acting_as(admin_id, reason="demo: payout review") as tx:
        steps.append(tx.approve_payout(payout.id, idempotency_key=new_idempotency_key()))
    # The payout processor claims the payout (the gates of the moment), releases the transfer, records it.
    steps.append(service.send_payout(payout.id, idempotency_key=new_idempotency_key()))
    reference = f"demo-payout-{payout.id.hex[:8]}"
    steps.append(service.mark_payout_paid(payout.id, reference, idempotency_key=new_idempotency_key()))
    print("request (paula) -> approve (admin) -> send, mark paid (livepanty_service):")
    _table(steps, ["status", "tokens", "amount_minor", "currency", "method", "provider_reference"])


def _menu_item(app: Client, paula: str, paula_id: UUID) -> UUID:
    with app.session(paula) as tx:
        for item in tx.list_menu(paula_id):
            if item.name == MENU_ITEM:
                return tx.set_menu_item(MENU_ITEM, MENU_PRICE, item_id=item.id, is_active=True).id
        return tx.set_menu_item(MENU_ITEM, MENU_PRICE).id


def _live_stream(app: Client, service: Client, dba: Client, vera: str, paula: str, paula_id: UUID) -> None:
    _heading(
        "paula goes live with a goal and a menu item: the go-live gate (approved KYC, her consent), vera"
        " watches, tips and buys from the menu, the goal is reached"
    )
    item_id = _menu_item(app, paula, paula_id)
    with app.session(paula) as tx:
        for old in tx.list_performer_streams(paula_id, limit=200):
            if old.status == "live":  # left by an interrupted run
                tx.end_stream(old.id, reason="demo: an earlier run was interrupted")
        stream = tx.schedule_stream("Demo night", category="music", tags=["demo"])
        tx.consent_to_stream(stream.id, ip_address="203.0.113.9", user_agent="demo/1.0")
        tx.add_tip_goal(
            stream.id, GOAL_TARGET, "Encore", deadline=datetime.now(UTC) + timedelta(hours=1),
            refund_if_missed=True,
        )  # fmt: skip
        tx.set_show_price("private", SHOW_RATE, min_minutes=SHOW_MIN_MINUTES)
        started = tx.start_stream(stream.id)
    print(
        f"stream {stream.id} is {started.status}; its ingest key was returned once (only its hash is stored)"
    )
    print(
        f"goal: {GOAL_TARGET} tokens for an encore, refunded if not reached within the hour (its tips wait in"
        f" escrow); menu: {MENU_ITEM!r} at {MENU_PRICE}; private shows at {SHOW_RATE} a minute"
        f" (at least {SHOW_MIN_MINUTES})"
    )
    with app.session(vera) as tx:
        viewing = tx.join_stream(stream.id)
        print(f"vera joined: {viewing.viewers} viewer(s)")
        for amount, message, anonymous in STREAM_TIPS:
            tx.tip(
                paula_id, amount, idempotency_key=new_idempotency_key(), stream_id=stream.id,
                message=message, is_anonymous=anonymous,
            )  # fmt: skip
        tx.tip(
            paula_id, MENU_PRICE, idempotency_key=new_idempotency_key(), stream_id=stream.id,
            menu_item_id=item_id,
        )  # fmt: skip
        tx.heartbeat_stream(stream.id)
        print("the goal (api.stream_goals): reached by the menu item")
        goal_columns = ["description", "target_tokens", "progress_tokens", "tips_count", "status"]
        _table(tx.stream_goals(stream.id), goal_columns)
    settled = service.settle_tip_goals()
    print(f"the settle job (api.settle_tip_goals) paid the escrow out to paula: {settled.tips_paid} tip(s)")

    _heading(f"a private show: vera asks, paula accepts, it runs {SHOW_MINUTES} billed minutes")
    with app.session(vera) as tx:
        show = tx.request_show(stream.id, idempotency_key=new_idempotency_key())
    print(f"vera asked (api.request_show): {SHOW_RATE * SHOW_MIN_MINUTES} tokens reserved for the minimum")
    with app.session(paula) as tx:
        show = tx.answer_show(show.id, True)
    print(f"paula accepted: the show is {show.status}")
    with dba.transaction() as tx:  # instead of waiting SHOW_MINUTES minutes (the DBA's login, demo only)
        moved = {"minutes": SHOW_MINUTES, "show": show.id}
        tx.fetch(
            "UPDATE lp.shows SET started_at = started_at - make_interval(mins => %(minutes)s)"
            " WHERE id = %(show)s RETURNING id",
            moved,
        )
        tx.fetch(
            "UPDATE lp.show_participants SET billed_from = billed_from - make_interval(mins => %(minutes)s)"
            " WHERE show_id = %(show)s RETURNING id",
            moved,
        )
    print(f"(the demo moves the show's start {SHOW_MINUTES} minutes into the past instead of waiting)")
    billed = _bill_shows(service)
    print(f"the billing job (api.bill_shows) captured {billed} tokens: {SHOW_MINUTES} completed minutes")
    with app.session(paula) as tx:
        show = tx.end_show(show.id)
    print(f"paula ended the show ({show.status}): vera owes completed minutes only")
    _bill_shows(service)
    with app.session(paula) as tx:
        _table(
            tx.stream_shows(stream.id), ["show_type", "status", "rate", "ended_by", "started_at", "ended_at"]
        )

    _heading("paula ends the stream: final statistics, summary and event log")
    with app.session(paula) as tx:
        print("who is watching (api.list_stream_viewers, as the host):")
        _table(tx.list_stream_viewers(stream.id), ["username", "joined_at", "watch_seconds"])
        print("the leaderboard (api.stream_top_tippers): the anonymous tip stays anonymous to paula")
        _table(tx.stream_top_tippers(stream.id), ["rank", "tipper_name", "anonymous", "tokens", "tips"])
        ended = tx.end_stream(stream.id, reason="good night")
    print(
        f"paula ended it: {ended.unique_viewers} unique viewer(s), {ended.tips_count} tips,"
        f" {ended.tips_tokens} tokens, {ended.watch_seconds} s watched"
    )
    with app.session(vera) as tx:
        print("the stream's event log (api.stream_events; Client.events follows it live):")
        _table(tx.stream_events(stream.id), ["position", "kind", "payload"])
        [summary] = [row for row in tx.stream_summary() if row.id == stream.id]
        print("api.stream_summary as vera sees it (tokens tipped, the host's earnings, hidden from her):")
        _table([summary], ["title", "status", "peak_viewers", "unique_viewers", "tip_count", "tokens_tipped"])


def _bill_shows(service: Client) -> int:
    """api.bill_shows until it has nothing left (as `livepanty-db jobs bill-shows`); the tokens captured."""
    captured = 0
    while (step := service.bill_shows()) is not None:
        captured += step.captured
    return captured


def _show_wallets(service: Client, admin_id: UUID, people: dict[str, UUID]) -> None:
    with service.acting_as(admin_id, reason="demo: wallet overview") as tx:
        _heading("wallets: api.user_summary as the admin sees it (demo accounts)")
        summary = [row for row in tx.user_summary() if row.id in people.values()]
        _table(summary, ["username", "role", "balance", "reserved", "available", "kyc_status"])
        _heading("wallets: api.get_wallet (main balance + credits waiting in the shards = total)")
        wallets = [tx.get_wallet(user_id) for user_id in people.values()]
        rows = [
            [name, w.balance, w.pending_credits, w.total, w.reserved, w.available, w.value_minor]
            for name, w in zip(people, wallets, strict=True)
        ]
        print(
            tabulate(
                rows, headers=["user", "balance", "in shards", "total", "reserved", "available", "cents"]
            )
        )
        _heading("paula's latest ledger entries (api.wallet_history)")
        entries = tx.wallet_history(people["paula_performs"], limit=8)
    print(
        tabulate(
            [
                [
                    e.id,
                    f"{e.created_at:%H:%M:%S}",
                    e.shard,
                    e.amount,
                    e.balance_before,
                    e.balance_after,
                    e.entry_kind,
                    e.reference_type,
                ]
                for e in entries
            ],
            headers=["id", "time", "shard", "amount", "before", "after", "kind", "reference"],
        )
    )


def _erasure(app: Client, service: Client) -> None:
    _heading("a user leaves: the right to erasure (api.request_erasure through a fresh login)")
    leaver = app.register_user(
        email="demo-leaver@example.com",
        username="demo_leaver",
        password=DEMO_PASSWORD,
        date_of_birth=date(1992, 7, 1),
        ip_address="198.51.100.77",
    )
    session = app.login("demo_leaver", DEMO_PASSWORD, ip_address="198.51.100.77", user_agent="demo/1.0")
    with app.session(session.token) as tx:
        erasure = tx.request_erasure(reason="demo: closing my account")
    erased = ", ".join(f"{k} {v}" for k, v in sorted(erasure.erased.items()) if v)
    print(f"{leaver.username} ({leaver.id}) erased at {erasure.erased_at:%H:%M:%S} UTC: {erased}")
    kept = ", ".join(k["category"] for k in erasure.retained) or "none (no money, KYC or consent)"
    print(f"records kept: {kept}")
    logged = [e for e in service.list_erasures(limit=100000) if e.user_id == leaver.id]
    print(f"the erasure log (livepanty-db privacy log) holds {len(logged)} row for that id, no erased value")


def _sanction_and_appeal(app: Client, service: Client, dba: Client, admin_id: UUID) -> None:
    _heading("a sanction and its appeal (api.sanction_user, api.appeal_sanction, api.decide_appeal)")
    for username in ("demo_tipper", "demo_moderator"):
        with contextlib.suppress(EmailTaken):  # from an earlier run
            app.register_user(
                email=f"{username}@example.com", username=username, password=DEMO_PASSWORD,
                date_of_birth=date(1990, 1, 1),
            )  # fmt: skip
    tipper_id, moderator_id = _user_id(dba, "demo_tipper"), _user_id(dba, "demo_moderator")
    with service.acting_as(admin_id, reason="demo: staff") as tx:
        if tx.get_user(moderator_id).role != "moderator":
            tx.set_user_role(moderator_id, "moderator")
        until = datetime.now(UTC) + timedelta(days=1)
        sanction = tx.sanction_user(tipper_id, "tip_block", "demo: card testing suspected", ends_at=until)
    print(f"the admin blocked demo_tipper from tipping until {sanction.ends_at:%Y-%m-%d %H:%M} UTC")
    token = app.login("demo_tipper", DEMO_PASSWORD, user_agent="demo/1.0").token
    try:
        with app.session(token) as tx:
            tx.tip(admin_id, 1, idempotency_key=new_idempotency_key())
    except LivepantyError as exc:
        print(f"demo_tipper tries to tip: refused, {exc.code} {type(exc).__name__} (login still works)")
    with app.session(token) as tx:
        appeal = tx.appeal_sanction(sanction.id, "demo: the card is mine, my bank can confirm it")
    print(f"demo_tipper appealed (once per sanction, within appeals.window_days): {appeal.status}")
    with service.acting_as(moderator_id, reason="demo: appeals queue") as tx:
        queue = [q for q in tx.list_appeals() if q.appeal_id == appeal.id]
        print(f"the queue as demo_moderator sees it (not the issuer, so may_decide={queue[0].may_decide})")
        tx.decide_appeal(appeal.id, True, "demo: the bank confirmed the card holder")
    with app.session(token) as tx:
        mine = [m for m in tx.my_sanctions(include_past=True) if m.sanction_id == sanction.id]
        tx.revoke_session()
    print("demo_tipper reads the decision (api.my_sanctions):")
    _table(mine, ["sanction_type", "in_force", "appeal_status", "decision_reasons", "decided_by_label"])


def _report_and_flag(app: Client, service: Client, dba: Client, admin_id: UUID) -> None:
    _heading("a report, an automated flag, the review queue (api.report, api.raise_flag, api.resolve_case)")
    for username in ("demo_reporter", "demo_spammer", "demo_moderator"):
        with contextlib.suppress(EmailTaken):  # from an earlier run
            app.register_user(
                email=f"{username}@example.com", username=username, password=DEMO_PASSWORD,
                date_of_birth=date(1990, 1, 1),
            )  # fmt: skip
    spammer_id, moderator_id = _user_id(dba, "demo_spammer"), _user_id(dba, "demo_moderator")
    with service.acting_as(admin_id, reason="demo: staff") as tx:
        if tx.get_user(moderator_id).role != "moderator":
            tx.set_user_role(moderator_id, "moderator")
    token = app.login("demo_reporter", DEMO_PASSWORD, user_agent="demo/1.0").token
    try:
        with app.session(token) as tx:
            filing = tx.report("user", spammer_id, "spam", "demo: sends the same link to everyone")
        print(f"demo_reporter reported demo_spammer for spam: case {filing.case_id}")
    except AlreadyReported as exc:  # the case of an earlier run is still open
        print(f"demo_reporter reports demo_spammer again: refused, {exc.code} {type(exc).__name__}")
    finally:
        with app.session(token) as tx:
            tx.revoke_session()
    flag = service.raise_flag(
        "demo-spam-detector-1", "spam", 0.93, "profile", "profile:bio", user_id=spammer_id
    )
    print(f"a detector flagged demo_spammer's profile (spam, confidence 0.93): {flag.disposition}, same case")
    with service.acting_as(moderator_id, reason="demo: review queue") as tx:
        queue = [q for q in tx.review_queue(reason="spam") if q.reported_user_id == spammer_id]
        print("the case in the review queue as demo_moderator sees it:")
        columns = ["reason", "priority", "priority_score", "reporter_count", "flag_count", "due_at"]
        _table(queue, columns)
        # Claim in queue order until our case comes (others claimed on the way go straight back).
        for _ in range(50):
            case = tx.claim_case()
            if case is None or case.id == flag.case_id:
                break
            tx.release_case(case.id)
        if case is not None and case.id == flag.case_id:
            tx.resolve_case(case.id, "warn", "demo: the same link sent to 40 users in one hour.",
                            "Community rule 5: no spam")  # fmt: skip
            print(f"demo_moderator claimed it (lease until {case.claim_expires_at:%H:%M} UTC) and warned")
    with service.acting_as(spammer_id, reason="demo: the user reads the decision") as tx:
        decisions = [d for d in tx.my_case_decisions() if d.case_id == flag.case_id]
    print("demo_spammer reads the statement of reasons (never who reported):")
    _table(decisions, ["action", "automated", "facts", "rule", "appeal"])


def _verify(service: Client) -> None:
    _heading("ledger verification (api.verify_ledger and api.ledger_totals as livepanty_service)")
    with service.transaction() as tx:
        violations = tx.verify_ledger()
        totals = tx.ledger_totals()
    if violations:
        print(f"{len(violations)} violation(s):")
        _table(violations, ["check_name", "wallet_id", "shard", "transaction_id", "detail"])
    else:
        print("no violations: every transaction sums to zero, every balance chain is unbroken")
    _table([totals], ["issued", "burned", "circulating", "in_user_wallets", "in_system_wallets", "imbalance"])


def run(dsn: str) -> None:
    _heading("migrations")
    print(tabulate([[s.id, s.state] for s in migrate.status(dsn)], headers=["migration", "state"]))

    app_dsn = _app_login(dsn)
    app_client = Client(app_dsn) if app_dsn else Client(dsn, role=APP_ROLE)
    with Client(dsn) as dba, app_client as app, Client(dsn, role=SERVICE_ROLE) as service:
        _heading("accounts")
        admin_id = _admin_id(dba)
        _register_samples(app)

        _heading("vera logs in and acts through her session")
        session = app.login(
            "vera@example.com",
            DEMO_PASSWORD,
            ip_address="203.0.113.7",
            user_agent="demo/1.0",
            device_info={"device": "laptop"},
        )
        print(f"session {session.session_id} until {session.expires_at:%Y-%m-%d %H:%M} UTC")
        with app.session(session.token) as tx:
            prefs = tx.update_preferences(theme="dark", timezone="Europe/Berlin")
            print(f"preferences: theme={prefs.theme} timezone={prefs.timezone}")
            print("api.user_summary as vera sees it (row level security: only her own row):")
            _table(tx.user_summary(), ["username", "role", "balance", "available", "kyc_status"])
            tx.revoke_session()
        print("vera logged out (session revoked)")

        vera_id = _user_id(dba, "vera_viewer")
        paula_id = _user_id(dba, "paula_performs")
        _show_refusals(app, vera_id)

        with service.acting_as(admin_id, reason="demo: user overview") as tx:
            _heading("api.user_summary as the admin sees it (the back office acts as the admin: api.act_as)")
            _table(
                tx.user_summary(), ["username", "role", "email", "balance", "available", "active_sanction"]
            )
            _heading("latest audit log entries (admins only)")
            rows = tx.fetch(
                "SELECT occurred_at, action, actor_role, target_type, details"
                "  FROM lp.audit_logs ORDER BY id DESC LIMIT 8"
            )
            print(
                tabulate(
                    [[f"{r[0]:%H:%M:%S}", *r[1:]] for r in rows],
                    headers=["time", "action", "actor role", "target", "details"],
                )
            )

        _heading("vera and paula log in: each of their steps below runs in a transaction of their session")
        vera = app.login("vera_viewer", DEMO_PASSWORD, user_agent="demo/1.0").token
        paula = app.login("paula_performs", DEMO_PASSWORD, user_agent="demo/1.0").token
        _buy_tokens(app, service, vera)
        _verify_identity(service, app, admin_id, paula)
        _tip(app, vera, paula, paula_id)
        _hold(app, service, vera, paula_id)
        _pay_out(service, app, admin_id, paula)
        _live_stream(app, service, dba, vera, paula, paula_id)
        _show_wallets(service, admin_id, {"vera_viewer": vera_id, "paula_performs": paula_id})
        for token in (vera, paula):
            with app.session(token) as tx:
                tx.revoke_session()
        _sanction_and_appeal(app, service, dba, admin_id)
        _report_and_flag(app, service, dba, admin_id)
        _erasure(app, service)
        _verify(service)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        dsn = config.resolve_dsn(argv[0] if argv else None)
        run(dsn)
    except (migrate.MigrationError, LivepantyError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
