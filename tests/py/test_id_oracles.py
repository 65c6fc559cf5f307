"""An id is no oracle: an object the caller may not see answers as an id that does not exist.

docs/errors.md: LP003 means "the object does not exist, or the acting user may not see it (the two look the
same on purpose)". Every ``api`` function that takes the id of an object (a uuid parameter, read from the
catalog) is called as an unrelated ordinary viewer (vera) and as an unrelated performer (paul), twice, every
other argument equal and valid: once with the id of an object that exists but is not theirs to see (owned by
someone else, or of a private stream) and once with a random uuid. The two answers (SQLSTATE, message, detail
and hint, or the rows returned; the id written out replaced by a placeholder) must be the same. Each call runs
in a transaction that is rolled back.

:data:`PROBES` says how each (function, parameter) is probed; :data:`NOT_PROBED` lists those whose value is no
object id (a pagination cursor, a range bound) or whose id is public by design, each with why. A uuid
parameter of an ``api`` function in neither fails :func:`test_every_id_parameter_is_probed_or_listed` (so a
new function cannot slip by), and so does an entry naming a parameter that no longer exists. :data:`SEEN`
checks the other side: who may see the object still gets the answer about it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

#: The world (as the superuser, one transaction): pia hosts a live stream with cora, public while owen takes
#: part (he watches, asks for a private show, tips naming it, holds tokens for pia, buys tokens), then made
#: private: its goal and its two shows (a group show offered, owen's request) belong to a private stream. cora
#: hosts a public live stream in which owen asked for a private show (a request only they may see) and a group
#: show is open. owen also has a sanction he appealed, a review case about him (claimed by mona), a session
#: and a reset e-mail queued; pia an identity verification, a payout and an inactive tip menu item; cora a tip
#: menu item; the back office an archived partition. vera (a viewer) and paul (a performer) are the probers:
#: none of it is theirs.
WORLD = r"""
DO $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('cora', 'performer');
    PERFORM tests.create_user('owen');
    PERFORM tests.create_user('tina');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('paul', 'performer');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -3000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('owen'), 1000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vera'), 1000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('paul'), 1000, 'purchase', 0, false)::lp.posting]);
    -- cora: a menu item, and a public live stream in which owen asks her for a private show
    PERFORM tests.authenticate_as('cora');
    PERFORM tests.remember('item', (api.set_menu_item('dance', 50)).id);
    PERFORM api.set_show_price('private', 10, 1);
    PERFORM tests.remember('cora_stream', (api.schedule_stream('cora public')).id);
    PERFORM api.consent_to_stream(tests.id('cora_stream'), '203.0.113.2');
    PERFORM api.start_stream(tests.id('cora_stream'));
    PERFORM api.set_show_price('group', 10, 1, NULL, 2);
    PERFORM tests.remember('cora_group', (api.offer_show(tests.id('cora_stream'), 'group')).id);
    PERFORM tests.authenticate_as('owen');
    PERFORM api.join_stream(tests.id('cora_stream'));
    PERFORM tests.remember('request_in_public', (api.request_show(tests.id('cora_stream'), 'owen-cora')).id);
    PERFORM tests.authenticate_as('pia');
    -- pia: an item she took off her menu (inactive: listed to her and staff only)
    PERFORM tests.remember('inactive_item', (api.set_menu_item('retired', 50, p_is_active => false)).id);
    PERFORM api.set_show_price('private', 10, 1, 5);
    PERFORM api.set_show_price('group', 10, 1, NULL, 2);
    v_stream := (api.schedule_stream('pia live')).id;
    PERFORM tests.remember('stream', v_stream);
    PERFORM api.add_stream_performer(v_stream, tests.user_id('cora'));
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM tests.authenticate_as('cora');
    PERFORM api.consent_to_stream(v_stream, '203.0.113.2');
    PERFORM tests.authenticate_as('pia');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.remember('goal', (api.add_tip_goal(v_stream, 1000, 'a goal')).id);
    PERFORM tests.remember('group_show', (api.offer_show(v_stream, 'group')).id);
    PERFORM tests.authenticate_as('owen');
    PERFORM api.join_stream(v_stream);
    PERFORM tests.remember('private_show', (api.request_show(v_stream, 'owen-show')).id);
    PERFORM tests.remember('tip', (api.tip(tests.user_id('pia'), 10, 'owen-tip', v_stream, 'hello')).id);
    PERFORM tests.remember('hold', (api.place_hold(tests.user_id('pia'), 20, 'owen-hold')).id);
    PERFORM tests.remember('payment', (api.create_payment('small', 'manual', 'owen-payment')).id);
    PERFORM tests.authenticate_as('pia');
    PERFORM api.update_stream(v_stream, p_visibility => 'private');
    PERFORM tests.authenticate_as('paul');
    PERFORM tests.remember('paul_stream', (api.schedule_stream('paul public')).id);
    PERFORM tests.authenticate_as('mona');
    PERFORM tests.remember('sanction', (api.sanction_user(tests.user_id('owen'), 'warning', 'spam')).id);
    PERFORM tests.authenticate_as('owen');
    PERFORM tests.remember('appeal', (api.appeal_sanction(tests.id('sanction'), 'it was not spam')).id);
    PERFORM tests.authenticate_as('tina');
    PERFORM tests.remember('report', (api.report('user', tests.user_id('owen'), 'spam')).case_id);
    PERFORM tests.authenticate_as('mona');
    PERFORM tests.remember('case', (SELECT c.id FROM api.claim_case() AS c));
    PERFORM tests.clear_authentication();
END
$$;
SELECT tests.remember('session', (api.login('owen', tests.password())).session_id);
SELECT api.request_password_reset('owen@example.com');
SELECT tests.remember('message', (SELECT o.id FROM lp.outbox AS o WHERE o.user_id = tests.user_id('owen')));
SELECT tests.remember('kyc', (SELECT k.id FROM lp.kyc_verifications AS k
                               WHERE k.user_id = tests.user_id('pia')));
INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method,
                        idempotency_key)
VALUES (tests.user_id('pia'), tests.id('kyc'), 5000, 100, 5000, 'bank_transfer', 'pia-payout')
RETURNING tests.remember('payout', id);
INSERT INTO lp.archives (table_name, partition_name, range_from, range_to, boundary, checkpoint_accounts,
                         checkpoint_sha256, file_name, file_sha256, content_sha256, row_count)
VALUES ('lp.ledger', 'lp_partitions.ledger_2020_01', '2020-01-01', '2020-02-01', '2020-02-01', 0,
        repeat('0', 64), 'ledger_2020_01.csv', repeat('0', 64), repeat('0', 64), 0)
RETURNING tests.remember('archive', id);
"""

USERS = ("pia", "cora", "owen", "tina", "vera", "paul", "mona", "adam")
PROBERS = ("vera", "paul")


@dataclass(frozen=True)
class Probe:
    #: the object whose id is probed: a name remembered by WORLD (tests.id) or a user (USERS)
    hidden: str
    #: the call, with %(id)s for the probed id and %(<name>)s for any other object or user of the world
    call: str


#: How each (function, uuid parameter) is probed. Every other argument is valid and the same in both calls.
PROBES: dict[tuple[str, str], list[Probe]] = {
    # streams: pia's private stream
    ("add_stream_performer", "p_stream_id"): [Probe("stream", "api.add_stream_performer(%(id)s, %(paul)s)")],
    ("add_tip_goal", "p_stream_id"): [Probe("stream", "api.add_tip_goal(%(id)s, 100, 'probe')")],
    ("consent_to_stream", "p_stream_id"): [Probe("stream", "api.consent_to_stream(%(id)s, '203.0.113.9')")],
    ("count_guest", "p_stream_id"): [Probe("stream", "api.count_guest(%(id)s)")],
    ("end_stream", "p_stream_id"): [Probe("stream", "api.end_stream(%(id)s, 'probe')")],
    ("get_stream", "p_stream_id"): [Probe("stream", "api.get_stream(%(id)s)")],
    ("heartbeat_stream", "p_stream_id"): [Probe("stream", "api.heartbeat_stream(%(id)s)")],
    ("join_stream", "p_stream_id"): [Probe("stream", "api.join_stream(%(id)s)")],
    ("leave_stream", "p_stream_id"): [Probe("stream", "api.leave_stream(%(id)s)")],
    ("list_stream_viewers", "p_stream_id"): [Probe("stream", "api.list_stream_viewers(%(id)s)")],
    ("offer_show", "p_stream_id"): [Probe("stream", "api.offer_show(%(id)s, 'group')")],
    ("place_hold", "p_stream_id"): [
        Probe("stream", "api.place_hold(%(pia)s, 20, 'probe', p_stream_id => %(id)s)")
    ],
    ("raise_flag", "p_stream_id"): [
        Probe("stream", "api.raise_flag('probe', 'spam', 0.9, 'stream', p_stream_id => %(id)s)")
    ],
    ("remove_stream_performer", "p_stream_id"): [
        Probe("stream", "api.remove_stream_performer(%(id)s, %(cora)s)")
    ],
    ("request_show", "p_stream_id"): [Probe("stream", "api.request_show(%(id)s, 'probe')")],
    ("rotate_stream_key", "p_stream_id"): [Probe("stream", "api.rotate_stream_key(%(id)s)")],
    ("start_stream", "p_stream_id"): [Probe("stream", "api.start_stream(%(id)s)")],
    ("stream_channel", "p_stream_id"): [Probe("stream", "api.stream_channel(%(id)s)")],
    ("stream_events", "p_stream_id"): [Probe("stream", "api.stream_events(%(id)s)")],
    ("stream_goals", "p_stream_id"): [Probe("stream", "api.stream_goals(%(id)s)")],
    ("stream_shows", "p_stream_id"): [Probe("stream", "api.stream_shows(%(id)s)")],
    ("stream_stats", "p_stream_id"): [Probe("stream", "api.stream_stats(%(id)s)")],
    ("stream_top_tippers", "p_stream_id"): [Probe("stream", "api.stream_top_tippers(%(id)s)")],
    ("tip", "p_stream_id"): [Probe("stream", "api.tip(%(pia)s, 10, 'probe', p_stream_id => %(id)s)")],
    ("update_stream", "p_stream_id"): [Probe("stream", "api.update_stream(%(id)s, 'probe')")],
    # a goal and shows of the private stream
    ("cancel_tip_goal", "p_goal_id"): [Probe("goal", "api.cancel_tip_goal(%(id)s, 'probe')")],
    ("answer_show", "p_show_id"): [
        Probe("private_show", "api.answer_show(%(id)s, true)"),
        Probe("private_show", "api.answer_show(%(id)s, false)"),
        Probe("request_in_public", "api.answer_show(%(id)s, true)"),
    ],
    ("end_show", "p_show_id"): [
        Probe("private_show", "api.end_show(%(id)s, 'probe')"),
        Probe("group_show", "api.end_show(%(id)s, 'probe')"),
        Probe("request_in_public", "api.end_show(%(id)s, 'probe')"),
    ],
    ("join_show", "p_show_id"): [
        Probe("group_show", "api.join_show(%(id)s, 'probe')"),
        Probe("private_show", "api.join_show(%(id)s, 'probe')"),
        Probe("request_in_public", "api.join_show(%(id)s, 'probe')"),
    ],
    ("leave_show", "p_show_id"): [
        Probe("private_show", "api.leave_show(%(id)s)"),
        Probe("group_show", "api.leave_show(%(id)s)"),
        Probe("request_in_public", "api.leave_show(%(id)s)"),
    ],
    ("refund_show", "p_show_id"): [Probe("private_show", "api.refund_show(%(id)s, 'probe')")],
    ("start_show", "p_show_id"): [Probe("group_show", "api.start_show(%(id)s)")],
    # owen's hold for pia, his payment, his sanction and appeal, his session; the case about him
    ("get_hold", "p_hold_id"): [Probe("hold", "api.get_hold(%(id)s)")],
    ("capture_hold", "p_hold_id"): [Probe("hold", "api.capture_hold(%(id)s, 10, 'probe')")],
    ("release_hold", "p_hold_id"): [Probe("hold", "api.release_hold(%(id)s, 'probe')")],
    ("get_payment", "p_payment_id"): [Probe("payment", "api.get_payment(%(id)s)")],
    ("complete_payment", "p_payment_id"): [Probe("payment", "api.complete_payment(%(id)s, 'ref', 'probe')")],
    ("fail_payment", "p_payment_id"): [Probe("payment", "api.fail_payment(%(id)s, 'probe', 'probe')")],
    ("refund_payment", "p_payment_id"): [Probe("payment", "api.refund_payment(%(id)s, 'probe', 'probe')")],
    ("chargeback_payment", "p_payment_id"): [
        Probe("payment", "api.chargeback_payment(%(id)s, 'probe', 'probe')")
    ],
    ("appeal_sanction", "p_sanction_id"): [Probe("sanction", "api.appeal_sanction(%(id)s, 'probe')")],
    ("revoke_sanction", "p_sanction_id"): [Probe("sanction", "api.revoke_sanction(%(id)s, 'probe')")],
    ("decide_appeal", "p_appeal_id"): [Probe("appeal", "api.decide_appeal(%(id)s, true, 'probe')")],
    ("extend_case_claim", "p_case_id"): [Probe("case", "api.extend_case_claim(%(id)s)")],
    ("release_case", "p_case_id"): [Probe("case", "api.release_case(%(id)s)")],
    ("resolve_case", "p_case_id"): [Probe("case", "api.resolve_case(%(id)s, 'dismiss', 'probe', 'probe')")],
    ("sanction_user", "p_report_id"): [
        Probe("report", "api.sanction_user(%(owen)s, 'warning', 'probe', p_report_id => %(id)s)")
    ],
    ("revoke_session", "p_session_id"): [Probe("session", "api.revoke_session(%(id)s)")],
    ("mark_message_sent", "p_message_id"): [Probe("message", "api.mark_message_sent(%(id)s, 1)")],
    ("mark_message_failed", "p_message_id"): [
        Probe("message", "api.mark_message_failed(%(id)s, 1, 'probe')")
    ],
    # pia's payout and identity verification; cora's menu item; the archive
    ("cancel_payout", "p_payout_id"): [Probe("payout", "api.cancel_payout(%(id)s, 'probe')")],
    ("approve_payout", "p_payout_id"): [Probe("payout", "api.approve_payout(%(id)s, 'probe')")],
    ("reject_payout", "p_payout_id"): [Probe("payout", "api.reject_payout(%(id)s, 'probe', 'probe')")],
    ("send_payout", "p_payout_id"): [Probe("payout", "api.send_payout(%(id)s, 'probe')")],
    ("mark_payout_paid", "p_payout_id"): [Probe("payout", "api.mark_payout_paid(%(id)s, 'ref', 'probe')")],
    ("mark_payout_failed", "p_payout_id"): [
        Probe("payout", "api.mark_payout_failed(%(id)s, 'probe', 'probe')")
    ],
    ("approve_kyc", "p_verification_id"): [Probe("kyc", "api.approve_kyc(%(id)s)")],
    ("kyc_record", "p_verification_id"): [Probe("kyc", "api.kyc_record(%(id)s)")],
    ("override_kyc_decision", "p_verification_id"): [
        Probe("kyc", "api.override_kyc_decision(%(id)s, 'rejected', 'probe')")
    ],
    ("reject_kyc", "p_verification_id"): [Probe("kyc", "api.reject_kyc(%(id)s, 'probe')")],
    ("set_menu_item", "p_item_id"): [Probe("item", "api.set_menu_item('probe', 60, %(id)s)")],
    ("tip", "p_menu_item_id"): [
        Probe("item", "api.tip(%(pia)s, 50, 'probe', p_menu_item_id => %(id)s)"),
        # pia's own item, inactive: only she and staff may see it (api.list_menu, RLS), so it is not found
        Probe("inactive_item", "api.tip(%(pia)s, 50, 'probe', p_menu_item_id => %(id)s)"),
    ],
    ("restore_partition", "p_archive_id"): [Probe("archive", "api.restore_partition(%(id)s)")],
    # users: owen (a viewer), pia (a performer)
    ("act_as", "p_user_id"): [Probe("owen", "api.act_as(%(id)s, 'probe')")],
    ("remove_stream_performer", "p_performer_id"): [
        Probe("pia", "api.remove_stream_performer(%(paul_stream)s, %(id)s)")
    ],
    ("adjust_balance", "p_user_id"): [Probe("owen", "api.adjust_balance(%(id)s, 10, 'probe', 'probe')")],
    ("allow_kyc_retry", "p_user_id"): [Probe("pia", "api.allow_kyc_retry(%(id)s, 'probe')")],
    ("balance_at", "p_user_id"): [Probe("owen", "api.balance_at(%(id)s)")],
    ("unblock_viewer", "p_user_id"): [Probe("owen", "api.unblock_viewer(%(id)s)")],
    ("delete_user", "p_user_id"): [Probe("owen", "api.delete_user(%(id)s, 'probe')")],
    ("earnings_summary", "p_user_id"): [Probe("pia", "api.earnings_summary(%(id)s)")],
    ("erase_user", "p_user_id"): [Probe("owen", "api.erase_user(%(id)s, 'probe')")],
    ("get_fraud_limits", "p_user_id"): [Probe("owen", "api.get_fraud_limits(%(id)s)")],
    ("get_kyc_status", "p_user_id"): [Probe("pia", "api.get_kyc_status(%(id)s)")],
    ("get_user", "p_user_id"): [Probe("owen", "api.get_user(%(id)s)")],
    ("get_wallet", "p_user_id"): [Probe("owen", "api.get_wallet(%(id)s)")],
    ("list_payments", "p_user_id"): [Probe("owen", "api.list_payments(%(id)s)")],
    ("list_payouts", "p_user_id"): [Probe("pia", "api.list_payouts(%(id)s)")],
    ("list_sessions", "p_user_id"): [Probe("owen", "api.list_sessions(%(id)s)")],
    ("list_tips", "p_user_id"): [Probe("owen", "api.list_tips('sender', %(id)s)")],
    ("raise_flag", "p_user_id"): [
        Probe("owen", "api.raise_flag('probe', 'spam', 0.9, 'user', p_user_id => %(id)s)")
    ],
    ("revoke_all_sessions", "p_user_id"): [Probe("owen", "api.revoke_all_sessions(%(id)s)")],
    ("sanction_user", "p_user_id"): [Probe("owen", "api.sanction_user(%(id)s, 'warning', 'probe')")],
    ("set_user_role", "p_user_id"): [Probe("owen", "api.set_user_role(%(id)s, 'performer')")],
    ("unlock_user", "p_user_id"): [Probe("owen", "api.unlock_user(%(id)s, 'probe')")],
    ("wallet_history", "p_user_id"): [Probe("owen", "api.wallet_history(%(id)s)")],
    # report: a private stream, a tip message in it, another user's account
    ("report", "p_target_id"): [
        Probe("stream", "api.report('stream', %(id)s, 'spam')"),
        Probe("tip", "api.report('tip', %(id)s, 'spam')"),
    ],
}

#: The uuid parameters that are not probed, and why.
CURSOR = "a pagination cursor: rows after it are listed, nothing is looked up by it"
NOT_PROBED: dict[tuple[str, str], str] = {
    ("list_erasures", "p_after"): CURSOR,
    ("list_holds", "p_after"): CURSOR,
    ("list_live_streams", "p_after_id"): CURSOR,
    ("list_payments", "p_after"): CURSOR,
    ("list_payouts", "p_after"): CURSOR,
    ("list_pending_kyc", "p_after"): CURSOR,
    ("list_performer_streams", "p_after_id"): CURSOR,
    ("list_tips", "p_after"): CURSOR,
    ("list_users", "p_after"): CURSOR,
    ("review_queue", "p_after"): CURSOR,
    # user ids are public by design: api.public_profile answers for every user, streams name their performers,
    # tips and leaderboards their senders; what a user id lets one do to that user is the function's own rule
    ("public_profile", "p_user_id"): "a user's public profile: public by design, for every user",
    ("list_menu", "p_performer_id"): "a performer's tip menu: public by design",
    ("list_performer_streams", "p_performer_id"): "a performer's streams: public by design (each as visible)",
    ("performer_top_tippers", "p_performer_id"): (
        "a performer's leaderboard: public by design (tips of streams the reader may not see are not counted)"
    ),
    ("tip", "p_recipient_id"): "a performer is tipped by user id: performers are public by design",
    ("place_hold", "p_payee_id"): "a performer is paid by user id: performers are public by design",
    ("add_stream_performer", "p_performer_id"): (
        "the host invites a performer by user id (the performer is public; the stream is probed)"
    ),
    ("block_viewer", "p_user_id"): (
        "a performer blocks any user by id (viewers of their streams are listed to them by id); blocking "
        "an account is allowed whether or not it ever watched"
    ),
    ("verify_ledger", "p_wallet_from"): "a range bound over wallet ids (admins only), not an object",
    ("verify_ledger", "p_wallet_to"): "a range bound over wallet ids (admins only), not an object",
}


def _uuid_parameters(conn: psycopg.Connection[Any]) -> set[tuple[str, str]]:
    rows = conn.execute(
        """
        SELECT p.proname, a.name
          FROM pg_proc AS p
          CROSS JOIN LATERAL unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[]) AS a(name, type)
         WHERE p.pronamespace = 'api'::regnamespace AND a.type IN ('uuid'::regtype, 'uuid[]'::regtype)
        """
    ).fetchall()
    return {(name, arg) for name, arg in rows}


@pytest.fixture
def world(conn: psycopg.Connection[Any]) -> dict[str, uuid.UUID]:
    conn.execute(WORLD)
    conn.commit()
    ids = dict(conn.execute("SELECT name, id FROM tests.ids").fetchall())
    for user in USERS:
        ids[user] = conn.execute("SELECT tests.user_id(%s)", (user,)).fetchone()[0]
    conn.commit()
    return ids


def _answer(conn: psycopg.Connection[Any], prober: str, call: str, values: dict[str, Any]) -> tuple[str, ...]:
    """What the call answers as the prober (in a transaction that is rolled back): 'ok' and the rows it
    returned, or the SQLSTATE, message, detail and hint; the probed id written out replaced by <id>."""
    text = str(values["id"])
    try:
        conn.execute("SELECT tests.authenticate_as(%s)", (prober,))
        rows = conn.execute(f"SELECT * FROM {call}", values).fetchall()
        return ("ok", re.sub(re.escape(text), "<id>", repr(rows)))
    except psycopg.Error as exc:
        diag = exc.diag
        return tuple(
            re.sub(re.escape(text), "<id>", part or "")
            for part in (exc.sqlstate, diag.message_primary, diag.message_detail, diag.message_hint)
        )
    finally:
        conn.rollback()


def test_every_id_parameter_is_probed_or_listed(conn: psycopg.Connection[Any]) -> None:
    parameters = _uuid_parameters(conn)
    both = PROBES.keys() & NOT_PROBED.keys()
    assert both == set(), "probed and listed as not probed"
    missing = parameters - PROBES.keys() - NOT_PROBED.keys()
    assert missing == set(), (
        "uuid parameters of api functions neither probed (PROBES) nor listed (NOT_PROBED)"
    )
    stale = (PROBES.keys() | NOT_PROBED.keys()) - parameters
    assert stale == set(), "PROBES or NOT_PROBED name parameters that do not exist"


def test_an_id_the_caller_may_not_see_answers_as_an_unknown_one(
    conn: psycopg.Connection[Any], world: dict[str, uuid.UUID]
) -> None:
    leaks: list[str] = []
    for (function, parameter), probes in sorted(PROBES.items()):
        for probe in probes:
            for prober in PROBERS:
                hidden = _answer(conn, prober, probe.call, {**world, "id": world[probe.hidden]})
                unknown = _answer(conn, prober, probe.call, {**world, "id": uuid.uuid4()})
                if hidden != unknown:
                    leaks.append(
                        f"{function}({parameter}) as {prober}, {probe.call}: {probe.hidden} -> {hidden}; "
                        f"random -> {unknown}"
                    )
    assert leaks == [], "\n".join(leaks)


#: Who may see the object still gets the answer about it (the rule hides objects, not refusals): (who, call,
#: the object passed as %(id)s, the expected SQLSTATE or 'ok').
SEEN: list[tuple[str, str, str, str]] = [
    # the host, a co-performer, staff, and the viewer taking part, of pia's private stream
    ("pia", "api.answer_show(%(id)s, false)", "private_show", "ok"),
    ("pia", "api.cancel_tip_goal(%(id)s)", "goal", "ok"),
    ("cora", "api.cancel_tip_goal(%(id)s)", "goal", "LP002"),
    ("cora", "api.end_show(%(id)s)", "private_show", "LP002"),
    ("mona", "api.cancel_tip_goal(%(id)s)", "goal", "LP002"),
    ("mona", "api.end_show(%(id)s)", "group_show", "LP002"),
    ("adam", "api.cancel_tip_goal(%(id)s)", "goal", "LP018"),
    ("adam", "api.end_show(%(id)s, 'probe')", "group_show", "ok"),
    ("owen", "api.leave_show(%(id)s)", "private_show", "ok"),
    ("owen", "api.end_show(%(id)s)", "private_show", "LP002"),
    # an open show of a public stream is seen by anyone
    ("paul", "api.start_show(%(id)s)", "cora_group", "LP002"),
    ("vera", "api.leave_show(%(id)s)", "cora_group", "LP003"),  # you are not in this show
    ("vera", "api.join_show(%(id)s, 'probe')", "cora_group", "LP123"),  # not watching cora's stream
    ("cora", "api.start_show(%(id)s)", "cora_group", "ok"),  # cancelled: fewer than two viewers
    # staff see a performer's inactive menu items: buying one is refused as inactive, not as unknown
    ("mona", "api.tip(%(pia)s, 50, 'probe', p_menu_item_id => %(id)s)", "inactive_item", "LP126"),
    ("adam", "api.tip(%(pia)s, 50, 'probe', p_menu_item_id => %(id)s)", "inactive_item", "LP126"),
]


def test_who_may_see_the_object_gets_the_answer_about_it(
    conn: psycopg.Connection[Any], world: dict[str, uuid.UUID]
) -> None:
    wrong = []
    for who, call, hidden, expected in SEEN:
        answer = _answer(conn, who, call, {**world, "id": world[hidden]})
        if answer[0] != expected:
            wrong.append(f"{who}: {call} on {hidden} -> {answer}, expected {expected}")
    assert wrong == [], "\n".join(wrong)


# -- api.tip_many: the ids inside its jsonb ------------------------------------------------------------------
# api.tip_many takes its ids in a JSON array, out of the catalog's sight: each field of a tip that holds an
# object's id is probed as a uuid parameter is (one tip of the prober's own session, every other field valid
# and the same; the per-tip answer compared), and each other field is listed with why. The fields are read
# from lp.tip_item_malformed (the one list of the fields a tip may have), so a new field fails
# test_every_tip_many_field_is_probed_or_listed until it is one or the other.

#: A tip of the prober (%(token)s: their session) to pia, with %(id)s in the probed field.
TIP = (
    "api.tip_many(jsonb_build_array(jsonb_build_object('session_token', %(token)s::text, "
    "'recipient_id', %(recipient)s::uuid, 'amount', %(amount)s::bigint, 'idempotency_key', 'probe'{extra})))"
)

TIP_MANY_PROBES: dict[str, list[Probe]] = {
    # pia's private live stream (the tip names its host)
    "stream_id": [Probe("stream", TIP.format(extra=", 'stream_id', %(id)s::uuid"))],
    # cora's menu item, bought in a tip to pia (as api.tip's p_menu_item_id is probed)
    "menu_item_id": [
        Probe("item", TIP.format(extra=", 'menu_item_id', %(id)s::uuid")),
        # pia's inactive item, in a tip to pia (as api.tip's p_menu_item_id is probed)
        Probe("inactive_item", TIP.format(extra=", 'menu_item_id', %(id)s::uuid")),
    ],
}

TIP_MANY_NOT_PROBED: dict[str, str] = {
    "recipient_id": (
        "a performer is tipped by user id: performers are public by design (as api.tip's p_recipient_id)"
    ),
    "session_token": "the sender's own session token: a secret, not an object id (LP023 for any other)",
    "amount": "not an id",
    "idempotency_key": "not an id: the sender's own key",
    "message": "not an id",
    "is_anonymous": "not an id",
}

#: The goal a tip counts toward is not a field: it is the active goal of the stream the tip names (the stream
#: is probed), so a tip cannot name another stream's goal.


def _tip_values(world: dict[str, Any], tokens: dict[str, str], prober: str, probe: Probe) -> dict[str, Any]:
    amount = 50 if "menu_item_id" in probe.call else 10
    return {**world, "token": tokens[prober], "recipient": world["pia"], "amount": amount}


@pytest.fixture
def tokens(conn: psycopg.Connection[Any], world: dict[str, uuid.UUID]) -> dict[str, str]:
    """A session token of each user (api.login), committed."""
    found = {
        user: conn.execute("SELECT token FROM api.login(%s, tests.password())", (user,)).fetchone()[0]
        for user in USERS
    }
    conn.commit()
    return found


def test_every_tip_many_field_is_probed_or_listed(conn: psycopg.Connection[Any]) -> None:
    source = conn.execute(
        "SELECT pg_get_functiondef('lp.tip_item_malformed(jsonb)'::regprocedure)"
    ).fetchone()[0]
    known = re.search(r"p_item - ARRAY\[([^\]]*)\]", source)
    assert known is not None, "lp.tip_item_malformed no longer lists the fields of a tip"
    fields = set(re.findall(r"'(\w+)'", known.group(1)))
    assert TIP_MANY_PROBES.keys() & TIP_MANY_NOT_PROBED.keys() == set()
    assert fields - TIP_MANY_PROBES.keys() - TIP_MANY_NOT_PROBED.keys() == set(), (
        "tip fields neither probed nor listed"
    )
    assert (TIP_MANY_PROBES.keys() | TIP_MANY_NOT_PROBED.keys()) - fields == set(), (
        "entries naming no tip field"
    )


def test_an_id_inside_tip_many_the_sender_may_not_see_answers_as_an_unknown_one(
    conn: psycopg.Connection[Any], world: dict[str, uuid.UUID], tokens: dict[str, str]
) -> None:
    leaks: list[str] = []
    for field, probes in sorted(TIP_MANY_PROBES.items()):
        for probe in probes:
            for prober in PROBERS:
                values = _tip_values(world, tokens, prober, probe)
                hidden = _answer(conn, prober, probe.call, {**values, "id": world[probe.hidden]})
                unknown = _answer(conn, prober, probe.call, {**values, "id": uuid.uuid4()})
                if hidden != unknown:
                    leaks.append(
                        f"tip_many({field}) as {prober}: {probe.hidden} -> {hidden}; random -> {unknown}"
                    )
    assert leaks == [], "\n".join(leaks)


#: Who may see the stream still has it found (the per-tip error_code expected): its co-performer and staff,
#: without tokens to tip with, are refused for their balance (LP100; LP114 for cora, a performer whose wallet
#: has credit shards to sweep first), checked after the stream, never LP003.
TIP_MANY_SEEN: list[tuple[str, str]] = [("cora", "LP114"), ("mona", "LP100"), ("adam", "LP100")]


def test_who_may_see_the_stream_of_a_tip_many_tip_has_it_found(
    conn: psycopg.Connection[Any], world: dict[str, uuid.UUID], tokens: dict[str, str]
) -> None:
    probe = TIP_MANY_PROBES["stream_id"][0]
    wrong = []
    for who, expected in TIP_MANY_SEEN:
        try:
            conn.execute("SELECT tests.authenticate_as(%s)", (who,))
            row = conn.execute(
                f"SELECT error_code FROM {probe.call}",
                {**_tip_values(world, tokens, who, probe), "id": world["stream"]},
            ).fetchone()
        finally:
            conn.rollback()
        if row[0] != expected:
            wrong.append(f"{who}: {row[0]}, expected {expected}")
    assert wrong == [], "\n".join(wrong)


#: A hidden object's row is neither locked nor waited for (lp.lock_stream's rule): with the row held by
#: another transaction (as api.end_stream or api.update_stream hold a stream's row), the call answers at once,
#: as for a random id, instead of waiting (here: into a lock_timeout). (call, the object whose row is held).
LOCKED: list[tuple[str, str]] = [
    (TIP_MANY_PROBES["stream_id"][0].call, "stream"),
    ("api.tip(%(pia)s, 10, 'probe', p_stream_id => %(id)s)", "stream"),
    # the functions that take a stream row FOR SHARE before they check it (joins and show requests)
    ("api.join_stream(%(id)s)", "stream"),
    ("api.request_show(%(id)s, 'probe')", "stream"),
]


def test_a_hidden_stream_held_elsewhere_is_not_waited_for(
    conn: psycopg.Connection[Any], db_url: str, world: dict[str, uuid.UUID], tokens: dict[str, str]
) -> None:
    leaks: list[str] = []
    with psycopg.connect(db_url) as blocker:
        for call, hidden in LOCKED:
            blocker.execute("SELECT 1 FROM lp.streams WHERE id = %s FOR NO KEY UPDATE", (world[hidden],))
            try:
                for prober in PROBERS:
                    values = _tip_values(world, tokens, prober, Probe(hidden, call))
                    answers = []
                    for probed in (world[hidden], uuid.uuid4()):
                        conn.execute("SET lock_timeout = '300ms'")
                        answers.append(_answer(conn, prober, call, {**values, "id": probed}))
                    if answers[0] != answers[1]:
                        leaks.append(
                            f"{call} as {prober}, {hidden} held: {answers[0]}; random -> {answers[1]}"
                        )
            finally:
                blocker.rollback()
        # who may see the stream does lock it (api.end_stream waits for their tip): cora, its co-performer
        probe = TIP_MANY_PROBES["stream_id"][0]
        blocker.execute("SELECT 1 FROM lp.streams WHERE id = %s FOR NO KEY UPDATE", (world["stream"],))
        try:
            conn.execute("SET lock_timeout = '300ms'")
            seen = _answer(
                conn, "cora", probe.call, {**_tip_values(world, tokens, "cora", probe), "id": world["stream"]}
            )
        finally:
            blocker.rollback()
    conn.execute("RESET lock_timeout")
    conn.commit()
    assert leaks == [], "\n".join(leaks)
    assert seen[0] == "55P03", f"cora's tip naming the stream she may see did not wait for its row: {seen}"
