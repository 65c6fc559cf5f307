"""Scale-out over shards (issue 12; docs/scale-out.md).

A router database whose ``api`` functions have the signatures of a single node's and route each call by
PL/Proxy to the shard that owns the user, and N shard databases that each hold the whole schema for their
users.

* :func:`install` makes any router and shard databases (already migrated) into one installation: the shard
  side (``db/shard/shard.sql`` plus one generated wrapper ``shard.<name>`` per routed function), and the
  router side (``db/router/router.sql``, the PL/Proxy cluster, the generated routes,
  ``db/router/routes.sql``).
* :class:`LocalTopology` is ``livepanty-db local start --shards N``: the router in the embedded cluster's home
  and N shard clusters beside it, all on loopback, migrated and installed in one command.
* :func:`relay_once` / :func:`relay` deliver cross-shard tips from every shard's outbox exactly once;
  :func:`verify_all` is ``livepanty-db verify --all-shards`` (every shard's ledger, then the global
  reconciliation of transfers and tokens in transit).
* :func:`fence` / :func:`unfence` / :func:`watch_once` (``livepanty-db shards fence``, ``unfence``,
  ``watch``): a shard that hangs is fenced at the router, so calls for it fail at once (LP200), not wait.
* :func:`sync_erasures` is ``livepanty-db shards sync-erasures``: every shard's erasures carried to the
  directory and to the users' stubs on the other shards; :func:`adopt_orphans` is ``livepanty-db shards
  adopt-orphans``: registrations the directory missed, written into it (or erased when another user holds
  their name or address).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from livepanty_db import local, migrate
from livepanty_db.paths import db_root

log = logging.getLogger(__name__)

#: The login role the router's PL/Proxy connections use on every shard: a member of livepanty_app and
#: livepanty_service, and the only role that may run the shard.* functions.
ROUTER_ROLE = "livepanty_router"
#: PL/Proxy's cluster (a foreign server of the router).
CLUSTER = "livepanty"
SHARD_COUNTS = (1, 2, 4, 8, 16, 32, 64)

#: Routed to the acting user's shard. Their user arguments (p_user_id and the like) name the acting user or a
#: user the acting user may see on their own shard; a user of another shard is refused there (LP201 / LP003).
ACTOR_ROUTES: tuple[str, ...] = (
    "add_tip_goal",
    "appeal_sanction",
    "cancel_payout",
    "change_password",
    "create_payment",
    "get_preferences",
    "get_spending_limits",
    "list_bundles",
    "list_settings",
    "my_sanctions",
    "request_erasure",
    "request_payout",
    "rotate_stream_key",
    "schedule_stream",
    "set_menu_item",
    "set_show_price",
    "set_spending_limit",
    "start_stream",
    "submit_kyc",
    "update_preferences",
    "update_stream",
)
#: Actor routes that name another user who must exist on the actor's shard (a performer blocking a viewer of
#: another shard): the named user's stub is made there first.
ACTOR_ROUTES_NAMING: dict[str, str] = {"block_viewer": "p_user_id", "unblock_viewer": "p_user_id"}
#: Object routes that name another user who must exist on the object's shard (a co-performer of another shard
#: on a stream): the argument, and the shard's refusals (SQLSTATE, message) that a missing stub, or a stub
#: whose role is out of date, would cause. The call goes to the shard first; only when the shard, having
#: checked the caller and the object, answers one of them for a user of another shard whose stub there the
#: router does not know as current is the stub made (or its role brought up to date) and the call made again:
#: a caller the shard refuses before that leaves no stub behind.
OBJECT_ROUTES_NAMING: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "add_stream_performer": (
        "p_performer_id",
        (("LP003", "performer not found"), ("LP102", "only performers can be on camera")),
    ),
}
#: Routes whose shard applies the go-live gate (lp.go_live_gaps), with the argument naming the stream (None:
#: every stream of every shard, a job): co-performers of other shards are asked there first
#: (router.refresh_gates).
GATED_ROUTES: dict[str, str | None] = {"start_stream": "p_stream_id", "sweep_viewers": None}
#: Routes that check something on the router before the call (after a GATED_ROUTES step): the statement,
#: where ``{p_name}`` stands for the route's argument of that name; one that starts ``v_shard :=`` may send
#: the call to another shard. api.submit_kyc: a provider reference that another shard's verification holds is
#: another user's (LP132, as one node refuses it; router.kyc_reference_free). api.adjust_balance: its key is
#: one key space for every shard, claimed on the router; a key already claimed goes to the shard holding its
#: adjustment, which replays it or refuses other arguments (LP106; router.claim_adjustment_key).
BEFORE_CALL: dict[str, str] = {
    "submit_kyc": "router.kyc_reference_free(v_shard, {p_provider}, {p_provider_reference})",
    "adjust_balance": (
        "v_shard := router.claim_adjustment_key(v_shard, v_user, {p_user_id}, {p_amount},"
        " {p_idempotency_key})"
    ),
}
#: Routes that do something on the router after the shard answered (``v_result``, the shard's result): a case
#: resolved with a sanction for a user of another shard is delivered there at once when the router delivers at
#: once (router.deliver_sanction_now; otherwise, and whenever that fails, the relay delivers it); an erasure
#: reaches the directory and the user's stubs on the other shards before it returns (router.erase_now; a shard
#: it cannot reach gets it from `shards sync-erasures`); a role set by an admin reaches the directory and the
#: user's stubs (router.role_changed; a stub on a shard it cannot reach is brought up to date before the user
#: acts there).
AFTER_CALL: dict[str, str] = {
    "resolve_case": (
        "router.deliver_sanction_now(v_shard, (v_result.decision ->> 'sanction_request_id')::uuid)"
    ),
    "erase_user": "router.erase_now(v_shard, v_result.user_id)",
    "request_erasure": "router.erase_now(v_shard, v_result.user_id)",
    # the directory's role and the user's stubs on the other shards take the new role at once
    "set_user_role": "router.role_changed(v_shard, v_result.id, v_result.role)",
}
#: Routed to the shard of the user an argument names (an admin looking at someone's wallet; anyone at a
#: performer's menu): the acting user's shard when the argument is NULL or names nobody the directory knows.
USER_ROUTES: dict[str, str] = {
    "list_sessions": "p_user_id",
    "revoke_all_sessions": "p_user_id",
    "adjust_balance": "p_user_id",
    "allow_kyc_retry": "p_user_id",
    "delete_user": "p_user_id",
    "erase_user": "p_user_id",
    "sanction_user": "p_user_id",
    "set_user_role": "p_user_id",
    "unlock_user": "p_user_id",
    "balance_at": "p_user_id",
    "earnings_summary": "p_user_id",
    "get_fraud_limits": "p_user_id",
    "get_kyc_status": "p_user_id",
    "get_user": "p_user_id",
    "get_wallet": "p_user_id",
    "list_menu": "p_performer_id",
    "list_performer_streams": "p_performer_id",
    "list_tips": "p_user_id",
    "performer_top_tippers": "p_performer_id",
    "public_profile": "p_user_id",
    "wallet_history": "p_user_id",
}
#: Routed to the shard that holds the object an argument names (an admin revoking another user's session), or,
#: when it is NULL (the caller's own current one) or no shard holds it, to the acting user's shard
#: (``router.locate_or_actor``).
ACTOR_OBJECT_ROUTES: dict[str, tuple[str, str]] = {
    "end_stream": ("streams", "p_stream_id"),  # the host's, or an admin's ending of anyone's
    "get_payment": ("payments", "p_payment_id"),  # the buyer's, or an admin's look at anyone's
    "revoke_session": ("auth_sessions", "p_session_id"),  # NULL: the caller's current session
}
#: Routed to the shard that holds an object, found by asking every shard (``shard.locate``, one PL/Proxy
#: RUN ON ALL): the back office's calls on payments, payouts, holds and verifications (a webhook, an admin
#: of that shard). An object no shard holds goes to shard 0, which answers with its own "not found".
OBJECT_ROUTES: dict[str, tuple[str, str]] = {
    "approve_kyc": ("kyc_verifications", "p_verification_id"),
    "answer_show": ("shows", "p_show_id"),
    "approve_payout": ("payouts", "p_payout_id"),
    "decide_appeal": ("sanction_appeals", "p_appeal_id"),
    "mark_message_failed": ("outbox", "p_message_id"),
    "refund_show": ("shows", "p_show_id"),
    "mark_message_sent": ("outbox", "p_message_id"),
    "extend_case_claim": ("reports", "p_case_id"),
    "release_case": ("reports", "p_case_id"),
    "resolve_case": ("reports", "p_case_id"),
    "cancel_tip_goal": ("tip_goals", "p_goal_id"),
    "end_show": ("shows", "p_show_id"),
    "kyc_record": ("kyc_verifications", "p_verification_id"),
    "offer_show": ("streams", "p_stream_id"),
    "count_guest": ("streams", "p_stream_id"),
    "add_stream_performer": ("streams", "p_stream_id"),
    "consent_to_stream": ("streams", "p_stream_id"),
    "remove_stream_performer": ("streams", "p_stream_id"),
    "override_kyc_decision": ("kyc_verifications", "p_verification_id"),
    "revoke_sanction": ("user_sanctions", "p_sanction_id"),
    "start_show": ("shows", "p_show_id"),
    "stream_shows": ("streams", "p_stream_id"),
    "chargeback_payment": ("payments", "p_payment_id"),
    "complete_payment": ("payments", "p_payment_id"),
    "fail_payment": ("payments", "p_payment_id"),
    "get_stream": ("streams", "p_stream_id"),
    "heartbeat_stream": ("streams", "p_stream_id"),
    "join_stream": ("streams", "p_stream_id"),
    "leave_stream": ("streams", "p_stream_id"),
    "list_stream_viewers": ("streams", "p_stream_id"),
    "stream_events": ("streams", "p_stream_id"),
    "stream_channel": ("streams", "p_stream_id"),
    "stream_goals": ("streams", "p_stream_id"),
    "stream_stats": ("streams", "p_stream_id"),
    "stream_top_tippers": ("streams", "p_stream_id"),
    "get_hold": ("holds", "p_hold_id"),
    "mark_payout_failed": ("payouts", "p_payout_id"),
    "mark_payout_paid": ("payouts", "p_payout_id"),
    "refund_payment": ("payments", "p_payment_id"),
    "reject_kyc": ("kyc_verifications", "p_verification_id"),
    "reject_payout": ("payouts", "p_payout_id"),
    "send_payout": ("payouts", "p_payout_id"),
    "release_hold": ("holds", "p_hold_id"),
}
#: Routed like OBJECT_ROUTES, but only for a user who lives on the object's shard: the call spends their
#: money there (a show's hold). A user of another shard is refused with LP203: no show across shards.
HOME_OBJECT_ROUTES: dict[str, tuple[str, str]] = {
    "join_show": ("shows", "p_show_id"),
    "leave_show": ("shows", "p_show_id"),
    "request_show": ("streams", "p_stream_id"),
}
#: Run on every shard at once (PL/Proxy RUN ON ALL), with the results combined: "sum" of counts (the jobs),
#: "rows" (the union), "max" of a time, "one" row of a change made alike everywhere (a setting, a bundle: the
#: shards keep the same reference data; a shard that fails leaves the call to be repeated, which converges),
#: "sums": one row whose every column is the sum over the shards' rows (in the column's own type); "chunks":
#: the verification chunks of api.ledger_stats, one per wallet range, summed over the shards that share it and
#: numbered again;
#: "detectors": api.detector_precision's rows, per detector, summed and the precision computed again.
EACH_ROUTES: dict[str, str] = {
    "bill_shows": "rows",
    "claim_messages": "rows",
    "escalate_cases": "sum",
    "expire_holds": "sum",
    "expire_kyc_approvals": "sum",
    "expire_sanctions": "sum",
    "detector_precision": "detectors",  # each detector's decided flags summed over the shards
    "ledger_periods": "rows",  # every shard's periods: a range verified on every shard
    "ledger_stats": "chunks",  # every shard's chunks: likewise
    "ledger_totals": "sums",  # tokens in transit are in the shards' system wallets (transit_<n>)
    "list_appeals": "rows",
    "list_erasures": "rows",
    "maintain_partitions": "rows",
    "purge_personal_data": "sum",
    "purge_stream_events": "sum",
    "record_metrics_sample": "max",
    "set_bundle": "one",
    "set_setting": "one",
    "settle_tip_goals": "sums",  # one row of counts: every shard's settled and closed, added up
    "sweep_viewers": "sum",
    "sweep_wallets": "sum",
    "verify_ledger": "rows",  # every shard's violations; none: every shard's ledger is clean (the
    "verify_ledger_period": "rows",  # reconciliation across shards is verify --all-shards)
}
#: Listings among EACH_ROUTES whose rows the router merges in their order, up to their limit argument: the
#: first rows of the union are the first rows of the whole listing (their cursor, if any, is compared, never
#: looked up, so any shard takes it).
EACH_ORDER: dict[str, tuple[str, str]] = {
    "list_appeals": ("r.created_at, r.appeal_id", "p_limit"),
    "list_erasures": ("r.id", "p_limit"),
}
#: Proxied like the actor routes (a proxy on the router, a wrapper on each shard) but routed by hand in
#: db/router/routes.sql.
HAND_ROUTED_WITH_PROXY: tuple[str, ...] = (
    "act_as",
    "capture_hold",  # the hold's shard; a payee of another shard: checked there, paid through the outbox
    "list_holds",  # as holder the user's shard; as payee every shard's page, merged
    "list_payments",  # the named user's shard (NULL: the actor's); an admin's of everyone's: merged
    "list_payouts",  # likewise (the payout review queue)
    "my_case_decisions",  # the user's shard, and cases about their stubs on the others: merged
    "place_hold",  # the holder's shard; a payee of another shard: checked there, the hold on the holder's
    "apply_kyc_webhook",  # the shard logging the event, else holding the reference (shard.kyc_webhook_shards)
    "check_stream_key",  # the shard holding the key's hash (shard.holds_stream_key, RUN ON ALL)
    "claim_case",
    "create_admin",
    "find_user",
    "raise_flag",
    "replay_erasure",  # the erased user's home shard (the directory)
    "report",
    "request_password_reset",
    "reset_password",
    "tip",
    "tip_many",
)
#: Written by hand in db/router/routes.sql with their own proxies.
HAND_ROUTED: tuple[str, ...] = (
    "authenticate",
    "list_live_streams",  # every shard's page, merged (RUN ON ALL)
    "list_pending_kyc",  # every shard's page after the cursor's key, merged
    "list_users",  # every shard's page after the cursor's key, merged
    "review_queue",  # every shard's page after the cursor's key, merged
    "wake_stream_listeners",  # every shard's wake-ups, NOTIFYed on the router where clients LISTEN
    "login",
    "register_user",
    *HAND_ROUTED_WITH_PROXY,
)
#: Answered by the router itself (its own proven identity).
ROUTER_LOCAL: tuple[str, ...] = ("current_user_id",)
#: The api views, routed: the router's view is every shard's rows, read there by the caller's role and
#: identity (RLS as on one node), merged. For a view of users: the column holding the user's id, so that only
#: each user's row on their own shard is kept (not the stubs other shards hold of them). Every api view must
#: be here (:func:`install` refuses one that is not: the router never answers a view from its empty tables).
VIEW_ROUTES: dict[str, str | None] = {"stream_summary": None, "user_summary": "id"}
#: Who reads the routed views (as on one node: db/views/api.*.sql).
VIEW_READERS = "livepanty_app, livepanty_service"
#: Every other api function is not routed: through the router it raises LP202 (docs/scale-out.md, "Routes",
#: says which and why).


class ShardError(Exception):
    """A sharded installation cannot be set up, reached or verified (the message says which part)."""


@dataclass(frozen=True)
class ApiFunction:
    """One api function as the catalog of a migrated database describes it."""

    name: str
    arguments: str  # with names, modes and defaults (pg_get_function_arguments)
    identity_arguments: str  # names and types, no defaults (pg_get_function_identity_arguments)
    argument_names: tuple[str, ...]  # the input arguments, in order
    variadic: bool
    result: str  # pg_get_function_result
    returns_set: bool
    returns_void: bool

    @property
    def replayable(self) -> bool:
        """A money call keyed by ``p_idempotency_key`` that returns one value. Routed, its shard wrapper
        returns that value and the shard's replay note (``lp.note_replay``), which the route notes again on
        the router (``router.note_replay``), so the client flags a replay as on one node."""
        return (
            "p_idempotency_key" in self.argument_names
            and not self.returns_set
            and not self.returns_void
            and self.name not in EACH_ROUTES
        )

    @property
    def routed_result(self) -> str:
        """What the shard wrapper and the proxy return."""
        if self.replayable:
            return f"TABLE (r_result {self.result}, r_replayed text)"
        return self.result

    def call_arguments(self, offset: int) -> str:
        """``$n`` references to the input arguments, the first being ``$offset+1``."""
        refs = [f"${offset + i + 1}" for i in range(len(self.argument_names))]
        if self.variadic and refs:
            refs[-1] = "VARIADIC " + refs[-1]
        return ", ".join(refs)

    def named_arguments(self) -> str:
        names = list(self.argument_names)
        if self.variadic and names:
            names[-1] = "VARIADIC " + names[-1]
        return ", ".join(names)


def read_api_functions(conn: psycopg.Connection) -> list[ApiFunction]:
    """Every function of schema api, one per name (api has no overloads)."""
    rows = conn.execute(
        """
        SELECT p.proname, pg_catalog.pg_get_function_arguments(p.oid),
               pg_catalog.pg_get_function_identity_arguments(p.oid),
               ARRAY(SELECT a.name FROM unnest(coalesce(p.proargnames, ARRAY[]::text[]),
                                                coalesce(p.proargmodes::text[],
                                                         array_fill('i'::text, ARRAY[p.pronargs])))
                                        WITH ORDINALITY AS a (name, mode, n)
                      WHERE a.mode IN ('i', 'b', 'v') ORDER BY a.n),
               p.provariadic <> 0, pg_catalog.pg_get_function_result(p.oid), p.proretset,
               p.prorettype = 'pg_catalog.void'::regtype
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = 'api'::regnamespace AND p.prokind = 'f'
         ORDER BY p.proname
        """
    ).fetchall()
    return [ApiFunction(r[0], r[1], r[2], tuple(r[3]), r[4], r[5], r[6], r[7]) for r in rows]


@dataclass(frozen=True)
class ApiView:
    """One api view as the catalog of a migrated database describes it."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, type) in order
    comment: str

    def table(self, *extra: str) -> str:
        """``TABLE (column type, ...)``, with ``extra`` columns (``"name type"``) after the view's."""
        columns = [f'"{name}" {type_}' for name, type_ in self.columns]
        return f"TABLE ({', '.join([*columns, *extra])})"

    def select_list(self, alias: str) -> str:
        return ", ".join(f'{alias}."{name}"' for name, _ in self.columns)


def read_api_views(conn: psycopg.Connection) -> list[ApiView]:
    """Every view of schema api, with its columns' names and types."""
    rows = conn.execute(
        """
        SELECT c.relname,
               array_agg(a.attname::text ORDER BY a.attnum),
               array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum),
               coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '')
          FROM pg_catalog.pg_class AS c
          JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relnamespace = 'api'::regnamespace AND c.relkind = 'v'
         GROUP BY c.oid, c.relname
         ORDER BY c.relname
        """
    ).fetchall()
    return [ApiView(r[0], tuple(zip(r[1], r[2], strict=True)), r[3]) for r in rows]


def _check_views(views: Iterable[ApiView]) -> None:
    unrouted = sorted(v.name for v in views if v.name not in VIEW_ROUTES)
    if unrouted:
        raise ShardError(
            f"api views without a route: {', '.join(unrouted)} (add each to livepanty_db.shards.VIEW_ROUTES)"
        )


def shard_view_wrappers_sql(views: Iterable[ApiView]) -> str:
    """The shard side of the routed views: ``shard.view_<name>(routing arguments)`` runs ``shard.act`` and the
    caller's role, then reads the view (its RLS as on one node), each row tagged with this shard's number."""
    parts = ["SET ROLE livepanty_owner;"]
    for view in views:
        signature = f"shard.view_{view.name}({_EXTRA})"
        parts.append(
            f"""CREATE FUNCTION {signature} RETURNS {view.table("r__shard integer")}
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $wrapper$
#variable_conflict use_column
DECLARE
    v_self integer := shard.self();
BEGIN
    PERFORM shard.act(p__shard, p__user, p__session, p__via);
    PERFORM shard.act_as_role(p__role);
    RETURN QUERY SELECT {view.select_list("v")}, v_self FROM api.{view.name} AS v;
END
$wrapper$;
COMMENT ON FUNCTION {signature} IS 'Generated (livepanty_db.shards): the rows of view api.{view.name} '
    'the router''s caller reads here, with this shard''s number.';
REVOKE ALL ON FUNCTION {signature} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {signature} TO {ROUTER_ROLE};"""
        )
    parts.append("RESET ROLE;")
    return "\n".join(parts) + "\n"


def router_view_routes_sql(views: Iterable[ApiView]) -> str:
    """The router side of the routed views: a PL/Proxy function that reads every shard (RUN ON ALL), a route
    (``router_views.<name>()``: the caller's identity and role sent along, a user view's stubs left out by the
    directory; the view's readers may run it, as a view's functions run with its reader's rights) and the view
    itself over the route. db/router/router.sql dropped the router's own views."""
    proxies: list[str] = []
    parts: list[str] = []
    for view in views:
        proxy = f"router_proxy.view_{view.name}({_EXTRA})"
        proxies.append(
            f"""CREATE FUNCTION {proxy} RETURNS {view.table("r__shard integer")}
    LANGUAGE plproxy
AS $proxy$
    CLUSTER '{CLUSTER}';
    RUN ON ALL;
    SELECT * FROM shard.view_{view.name}(p__shard, p__user, p__session, p__via, p__role);
$proxy$;
REVOKE ALL ON FUNCTION {proxy} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {proxy} TO livepanty_owner;"""
        )
        key = VIEW_ROUTES[view.name]
        home = ""
        if key:
            home = (
                "\n     WHERE EXISTS (SELECT 1 FROM router.users AS u"
                f' WHERE u.user_id = r."{key}" AND u.shard = r.r__shard)'
            )
        where = ", each user's row from their own shard only." if key else "."
        comment = f"{view.comment} Router: every shard's rows (RUN ON ALL), read there as the caller{where}"
        parts.append(
            f"""CREATE FUNCTION router_views.{view.name}() RETURNS {view.table()}
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $route$
#variable_conflict use_column
DECLARE
    v_user  uuid := api.current_user_id();
    v_shard integer;
BEGIN
    PERFORM router.ensure_everywhere(v_user);  -- the reader's stub on every other shard (its role: its RLS)
    RETURN QUERY SELECT {view.select_list("r")}
      FROM router_proxy.view_{view.name}(-1, v_user, lp.current_session_id(),
                                         current_setting('lp.acting_via', true),
                                         router.caller_role()) AS r{home};
    RETURN;
{_RERAISE}
END
$route$;
REVOKE ALL ON FUNCTION router_views.{view.name}() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION router_views.{view.name}() TO {VIEW_READERS};
CREATE VIEW api.{view.name} AS SELECT * FROM router_views.{view.name}();
COMMENT ON VIEW api.{view.name} IS {sql_literal(comment)};
GRANT SELECT ON api.{view.name} TO {VIEW_READERS};"""
        )
    return "\n".join([*proxies, "SET ROLE livepanty_owner;", *parts, "RESET ROLE;"]) + "\n"


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _proxied(name: str) -> bool:
    """Whether a function gets a proxy on the router and a wrapper on each shard."""
    return (
        name in ACTOR_ROUTES
        or name in ACTOR_ROUTES_NAMING
        or name in USER_ROUTES
        or name in OBJECT_ROUTES
        or name in HOME_OBJECT_ROUTES
        or name in ACTOR_OBJECT_ROUTES
        or name in EACH_ROUTES
        or name in HAND_ROUTED_WITH_PROXY
    )


#: The end of every generated route: any error goes through router.reraise (LP200 for a shard PL/Proxy could
#: not reach, else the error again without PL/Proxy's prefixes); db/router/routes.sql ends its routes alike.
_RERAISE = """EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 (shard unreachable), else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;"""
#: The route's variable for a replayable call's (result, replay note).
_PAIR = "v_pair  record;"
_EXTRA = "p__shard integer, p__user uuid, p__session uuid, p__via text, p__role text"


def _returning(fn: ApiFunction, call: str) -> str:
    if fn.replayable:
        return (
            f"SELECT * INTO v_pair FROM {call};\n"
            "    PERFORM router.note_replay(v_pair.r_replayed);\n"
            "    RETURN v_pair.r_result;"
        )
    if fn.returns_void:
        return f"PERFORM {call};"
    if fn.returns_set:
        return f"RETURN QUERY SELECT * FROM {call};"
    return f"RETURN {call};"


def _table_columns(result: str) -> list[str]:
    """The column names of a ``TABLE(name type, ...)`` result (none for any other)."""
    if not result.startswith("TABLE(") or not result.endswith(")"):
        return []
    return [column.split()[0] for column in result[len("TABLE(") : -1].split(", ")]


def _table_column_types(result: str) -> list[tuple[str, str]]:
    """The columns of a ``TABLE(name type, ...)`` result with their types (none for any other result)."""
    if not result.startswith("TABLE(") or not result.endswith(")"):
        return []
    return [(name, kind) for name, kind in (c.split(" ", 1) for c in result[len("TABLE(") : -1].split(", "))]


def _before_call(fn: ApiFunction, used: set[str] | None = None) -> str:
    """What a route does on the router before it calls the shard ``v_shard`` (or every shard, for a job): the
    go-live gates of a GATED_ROUTES call, then a BEFORE_CALL check (``used`` records the route)."""
    steps: list[str] = []
    if fn.name in GATED_ROUTES:
        argument = GATED_ROUTES[fn.name]
        if argument is None:
            steps.append("PERFORM router.refresh_gates(NULL, NULL, NULL);  -- co-performers of other shards")
        else:
            position = fn.argument_names.index(argument) + 1
            steps.append(
                f"PERFORM router.refresh_gates(v_shard, ${position}, NULL);  -- co-performers of other shards"
            )
    if fn.name in BEFORE_CALL:
        if used is not None:
            used.add(fn.name)
        positions = {name: f"${i + 1}" for i, name in enumerate(fn.argument_names)}
        statement = BEFORE_CALL[fn.name].format(**positions)
        steps.append(f"{statement};" if statement.startswith("v_shard := ") else f"PERFORM {statement};")
    return "\n    ".join(steps)


def _after_call(fn: ApiFunction, call: str, used: set[str]) -> tuple[str, str]:
    """The declaration and the statements of a route's call: with an AFTER_CALL step, the shard's result kept
    in ``v_result``, the step, then the result returned (``used`` records the route); else ``("", the
    call)``."""
    if fn.name not in AFTER_CALL:
        return "", _returning(fn, call)
    used.add(fn.name)
    if fn.replayable or fn.returns_set or fn.returns_void:
        raise ShardError(f"AFTER_CALL: api.{fn.name} must return one row")
    return (
        f"v_result {fn.result};",
        f"v_result := {call};\n    PERFORM {AFTER_CALL[fn.name]};\n    RETURN v_result;",
    )


def _naming_retry(fn: ApiFunction, returning: str) -> str:
    """An OBJECT_ROUTES_NAMING route's call: as is; then, only when the shard answers one of the route's
    refusals for a user of another shard without a current stub there (``router.stub_needed``), the stub made
    or brought up to date, and the call again."""
    if fn.name not in OBJECT_ROUTES_NAMING:
        return returning
    if fn.replayable or fn.returns_set or fn.returns_void or fn.name in AFTER_CALL:
        raise ShardError(f"OBJECT_ROUTES_NAMING: api.{fn.name} must return one row")
    argument, refusals = OBJECT_ROUTES_NAMING[fn.name]
    position = fn.argument_names.index(argument) + 1
    states = " OR ".join(f"SQLSTATE {sql_literal(state)}" for state, _ in sorted(set(refusals)))
    matched = "\n              OR ".join(
        f"(SQLSTATE = {sql_literal(state)} AND position({sql_literal(message)} IN SQLERRM) > 0)"
        for state, message in refusals
    )
    return f"""BEGIN
        {returning}
    EXCEPTION WHEN {states} THEN  -- after the shard checked the caller and the object
        IF NOT ({matched})
           OR NOT router.stub_needed(v_shard, ${position}) THEN
            RAISE;
        END IF;
    END;
    PERFORM router.ensure_user(v_shard, ${position});  -- the named user's stub, which the shard asked for
    {returning}"""


def _with_comma(text: str) -> str:
    return f", {text}" if text else ""


def shard_wrappers_sql(functions: Iterable[ApiFunction]) -> str:
    """The shard side of the routed functions: ``shard.<name>(routing arguments, the api arguments)`` runs
    ``shard.act`` (the shard check and the proven identity) and the caller's role, then the api function."""
    parts = ["SET ROLE livepanty_owner;"]
    for fn in functions:
        if not _proxied(fn.name):
            continue
        signature = f"shard.{fn.name}({_EXTRA}{_with_comma(fn.identity_arguments)})"
        call = f"api.{fn.name}({fn.call_arguments(5)})"
        if fn.replayable:
            body = (
                f"r_result := {call};\n"
                "    r_replayed := current_setting('livepanty.replayed', true);\n"
                "    RETURN NEXT;"
            )
        else:
            body = _returning(fn, call)
        parts.append(
            f"""CREATE FUNCTION {signature} RETURNS {fn.routed_result}
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $wrapper$
BEGIN
    PERFORM shard.act(p__shard, p__user, p__session, p__via);
    PERFORM shard.act_as_role(p__role);
    {body}
END
$wrapper$;
COMMENT ON FUNCTION {signature} IS 'Generated (livepanty_db.shards): api.{fn.name} routed from the router.';
REVOKE ALL ON FUNCTION {signature} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {signature} TO {ROUTER_ROLE};"""
        )
    parts.append("RESET ROLE;")
    return "\n".join(parts) + "\n"


def router_routes_sql(functions: Iterable[ApiFunction]) -> str:
    """The router side: a PL/Proxy function per routed api function, the api function replaced by its route,
    and every function that is not routed replaced by one that raises LP202."""
    # PL/Proxy is an untrusted language: the proxies belong to the superuser (they run as their caller, the
    # owner's api functions, whose user mapping reaches the shards); the routes belong to the owner.
    functions = list(functions)
    proxies: list[str] = []
    parts: list[str] = []
    after_used: set[str] = set()
    before_used: set[str] = set()
    for fn in functions:
        if _proxied(fn.name):
            names = _with_comma(fn.named_arguments())
            proxy_args = f"{_EXTRA}{_with_comma(fn.identity_arguments)}"
            signature = f"router_proxy.{fn.name}({proxy_args})"
            each = fn.name in EACH_ROUTES
            result = f"SETOF {fn.result}" if each and not fn.returns_set else fn.routed_result
            proxies.append(
                f"""CREATE FUNCTION {signature} RETURNS {result}
    LANGUAGE plproxy
AS $proxy$
    CLUSTER '{CLUSTER}';
    RUN ON {"ALL" if each else "p__shard"};
    SELECT * FROM shard.{fn.name}(p__shard, p__user, p__session, p__via, p__role{names});
$proxy$;
REVOKE ALL ON FUNCTION {signature} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {signature} TO livepanty_owner;"""
            )
        if fn.name in HAND_ROUTED or fn.name in ROUTER_LOCAL:
            continue
        if fn.name in ACTOR_ROUTES or fn.name in ACTOR_ROUTES_NAMING:
            named = ""
            if fn.name in ACTOR_ROUTES_NAMING:
                position = fn.argument_names.index(ACTOR_ROUTES_NAMING[fn.name]) + 1
                named = f"PERFORM router.ensure_user(v_shard, ${position});  -- the named user's stub"
            named = "\n    ".join(x for x in (named, _before_call(fn, before_used)) if x)
            call = (
                f"router_proxy.{fn.name}(v_shard, v_user, lp.current_session_id(), "
                f"current_setting('lp.acting_via', true), router.caller_role()"
                f"{_with_comma(fn.call_arguments(0))})"
            )
            result, returning = _after_call(fn, call, after_used)
            body = f"""DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer := router.shard_of(v_user);
    {_PAIR if fn.replayable else ""}
    {result}
BEGIN
    {named}
    {returning}
    {"RETURN;" if fn.returns_set else ""}
{_RERAISE}
END"""
        elif (
            fn.name in OBJECT_ROUTES
            or fn.name in USER_ROUTES
            or fn.name in HOME_OBJECT_ROUTES
            or fn.name in ACTOR_OBJECT_ROUTES
        ):
            home = ""
            if fn.name in ACTOR_OBJECT_ROUTES:
                table, argument = ACTOR_OBJECT_ROUTES[fn.name]
                where = f"router.locate_or_actor('{table}', ${fn.argument_names.index(argument) + 1})"
            elif fn.name in OBJECT_ROUTES or fn.name in HOME_OBJECT_ROUTES:
                table, argument = {**OBJECT_ROUTES, **HOME_OBJECT_ROUTES}[fn.name]
                where = f"router.locate('{table}', ${fn.argument_names.index(argument) + 1})"
                if fn.name in HOME_OBJECT_ROUTES:
                    home = f"""IF v_user IS NOT NULL AND router.shard_of(v_user) <> v_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP203',
            MESSAGE = 'api.{fn.name} needs a user of the shard that holds it',
            DETAIL = 'the {table[:-1]} lives on another shard than the acting user: no hold across shards',
            HINT = 'docs/scale-out.md, "Limits".';
    END IF;"""
            else:
                where = f"router.shard_for(${fn.argument_names.index(USER_ROUTES[fn.name]) + 1}, v_user)"
            call = (
                f"router_proxy.{fn.name}(v_shard, v_user, lp.current_session_id(), "
                f"current_setting('lp.acting_via', true), router.caller_role()"
                f"{_with_comma(fn.call_arguments(0))})"
            )
            result, returning = _after_call(fn, call, after_used)
            returning = _naming_retry(fn, returning)  # (refuses a route that has an AFTER_CALL step too)
            body = f"""DECLARE
    v_user  uuid := api.current_user_id();
    v_shard integer;
    {_PAIR if fn.replayable else ""}
    {result}
BEGIN
    v_shard := {where};
    {home}
    PERFORM router.ensure_user(v_shard, v_user);  -- the stub of a user of another shard
    {_before_call(fn, before_used)}
    {returning}
    {"RETURN;" if fn.returns_set else ""}
{_RERAISE}
END"""
        elif fn.name in EACH_ROUTES:
            call = (
                f"router_proxy.{fn.name}(-1, v_user, lp.current_session_id(), "
                f"current_setting('lp.acting_via', true), router.caller_role()"
                f"{_with_comma(fn.call_arguments(0))})"
            )
            combine = EACH_ROUTES[fn.name]
            sums = ", ".join(f"sum(r.{c})::{t}" for c, t in _table_column_types(fn.result))
            statement = {
                "sums": f"RETURN QUERY SELECT {sums} FROM {call} AS r;\n    RETURN;",
                "detectors": (
                    "RETURN QUERY SELECT r.detector, sum(r.confirmed)::integer, sum(r.dismissed)::integer,"
                    " round(sum(r.confirmed)::numeric / (sum(r.confirmed) + sum(r.dismissed)), 4)"
                    f" FROM {call} AS r GROUP BY r.detector ORDER BY r.detector;\n    RETURN;"
                ),
                "chunks": (
                    "RETURN QUERY SELECT (row_number() OVER (ORDER BY r.wallet_from NULLS FIRST,"
                    " r.wallet_to NULLS LAST))::integer,"
                    " r.wallet_from, r.wallet_to, sum(r.wallets)::bigint, sum(r.entries)::bigint"
                    f" FROM {call} AS r GROUP BY r.wallet_from, r.wallet_to"
                    " ORDER BY r.wallet_from NULLS FIRST, r.wallet_to NULLS LAST;\n    RETURN;"
                ),
                "rows": f"RETURN QUERY SELECT * FROM {call};\n    RETURN;",
                "sum": f"RETURN (SELECT sum(r)::{fn.result} FROM {call} AS r);",
                "max": f"RETURN (SELECT max(r) FROM {call} AS r);",
                "one": f"RETURN (SELECT r FROM {call} AS r LIMIT 1);",
            }[combine]
            if fn.name in EACH_ORDER:
                order, limit = EACH_ORDER[fn.name]
                statement = (
                    f"RETURN QUERY SELECT r.* FROM {call} AS r ORDER BY {order}"
                    f" LIMIT router.merge_limit(${fn.argument_names.index(limit) + 1});\n    RETURN;"
                )
            body = f"""DECLARE
    v_user  uuid := api.current_user_id();
    v_shard integer;
BEGIN
    FOR v_shard IN 0 .. router.shard_count() - 1 LOOP
        PERFORM router.ensure_user(v_shard, v_user);  -- an acting admin: their stub on every shard
    END LOOP;
    v_shard := NULL;
    {_before_call(fn)}
    {statement}
{_RERAISE}
END"""
        else:
            body = f"""BEGIN
    RAISE EXCEPTION USING ERRCODE = 'LP202', MESSAGE = 'api.{fn.name} is not routed by the router',
        HINT = 'docs/scale-out.md lists the routed functions; call it on the shard.';
END"""
        parts.append(
            f"""CREATE OR REPLACE FUNCTION api.{fn.name}({fn.arguments}) RETURNS {fn.result}
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $route$
{body}
$route$;"""
        )
    if set(AFTER_CALL) - after_used:
        raise ShardError(
            f"AFTER_CALL names no actor, object or user route: {sorted(set(AFTER_CALL) - after_used)}"
        )
    if set(BEFORE_CALL) - before_used:
        raise ShardError(
            f"BEFORE_CALL names no actor, object or user route: {sorted(set(BEFORE_CALL) - before_used)}"
        )
    stray = sorted(set(OBJECT_ROUTES_NAMING) - set(OBJECT_ROUTES))
    if stray:
        raise ShardError(f"OBJECT_ROUTES_NAMING names no object route: {stray}")
    return "\n".join([*proxies, "SET ROLE livepanty_owner;", *parts, "RESET ROLE;"]) + "\n"


def partition_conninfo(dsn: str) -> str:
    """The conninfo PL/Proxy uses for a shard: the shard's host, port and database as ROUTER_ROLE. A shard
    that is down refuses the connection and the call fails at once (LP200). A shard whose machine or network
    is gone stops acknowledging: the kernel drops the connection after 10 s of unacknowledged data
    (``tcp_user_timeout``), or after 25 s of unanswered keepalives on an idle one, and the call fails (LP200).
    (PL/Proxy 2.x checks its own ``query_timeout`` only when a socket shows activity, so it is not relied on:
    a shard whose processes hang while its kernel answers makes calls wait; docs/scale-out.md, "Limits".)"""
    params = conninfo_to_dict(dsn)
    keep = {k: v for k, v in params.items() if k in ("host", "hostaddr", "port", "dbname", "sslmode")}
    keep.update(
        user=ROUTER_ROLE,
        connect_timeout="2",
        keepalives_idle="10",
        keepalives_interval="5",
        keepalives_count="3",
        tcp_user_timeout="10000",
    )
    return make_conninfo(**keep)


def _connect(dsn: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True, **kwargs)


def _run_file(conn: psycopg.Connection, path: Path) -> None:
    conn.execute(path.read_text())


def _share_pseudonym_key(conn: psycopg.Connection, key: bytes | None) -> bytes:
    """One pseudonym key for the whole installation: shard 0's (``key`` None) is read, and every other shard's
    is made equal to it. A user is one person on every shard (their stubs carry their id): the reporting
    pseudonyms of an id and a staff member's label (``lp.staff_label``) must be the same wherever they are
    computed, so that the shards' reporting views join and a member's label does not change with the shard.
    The key goes from database to database through this (superuser) connection only."""
    conn.execute(
        "COMMENT ON TABLE lp.secrets IS 'Keys that only the owner''s functions read (no grant to any"
        " application, service, mailer or reporting role): identity = the HMAC key of proven acting"
        " identities (api.current_user_id), pseudonym = the key of the pseudonyms shown to reporting and of"
        " staff labels. Generated by the database itself at install; never leaves it, except that this shard"
        " of a sharded installation has the pseudonym key of shard 0 (livepanty_db.shards.install copies it:"
        " one pseudonym per id on every shard).'"
    )
    if key is None:
        return conn.execute("SELECT value FROM lp.secrets WHERE name = 'pseudonym'").fetchone()[0]
    conn.execute(
        "UPDATE lp.secrets SET value = %s WHERE name = 'pseudonym' AND value IS DISTINCT FROM %s", [key, key]
    )
    return key


def install(
    router_dsn: str, shard_dsns: Sequence[str], *, partition_dsns: Sequence[str] | None = None
) -> None:
    """Make migrated databases one sharded installation (again on every migrate: everything here is
    repeatable). ``router_dsn`` and ``shard_dsns`` are superuser connections; ``partition_dsns`` are what the
    router's PL/Proxy connects to (default: the shards' host, port and database as livepanty_router)."""
    n = len(shard_dsns)
    if n not in SHARD_COUNTS:
        raise ShardError(f"the number of shards must be one of {SHARD_COUNTS} (PL/Proxy), not {n}")
    partitions = (
        list(partition_dsns) if partition_dsns is not None else [partition_conninfo(d) for d in shard_dsns]
    )
    root = db_root()
    functions: list[ApiFunction] | None = None
    views: list[ApiView] = []
    pseudonym_key: bytes | None = None
    for index, dsn in enumerate(shard_dsns):
        with _connect(dsn) as conn:
            conn.execute(
                """
                DO $role$
                BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_router') THEN
                        CREATE ROLE livepanty_router LOGIN;
                    END IF;
                END
                $role$;
                GRANT livepanty_app, livepanty_service, livepanty_mailer TO livepanty_router;
                """
            )
            with conn.transaction():
                _run_file(conn, root / "shard" / "shard.sql")
                conn.execute("SET ROLE livepanty_owner")
                conn.execute("SELECT shard.configure(%s, %s)", [index, n])
                conn.execute("RESET ROLE")
                pseudonym_key = _share_pseudonym_key(conn, pseudonym_key)
                functions = read_api_functions(conn)
                conn.execute(shard_wrappers_sql(functions))
                views = read_api_views(conn)
                _check_views(views)
                conn.execute(shard_view_wrappers_sql(views))
    if functions is None:  # no shard: n >= 1 was checked above
        raise ShardError("no shard")
    with _connect(router_dsn) as conn, conn.transaction():
        _run_file(conn, root / "router" / "router.sql")
        conn.execute(
            "INSERT INTO router.config (shard_count) VALUES (%s) ON CONFLICT (only_row) DO UPDATE"
            " SET shard_count = excluded.shard_count",
            [n],
        )
        exists = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_foreign_server WHERE srvname = %s", [CLUSTER]
        ).fetchone()
        if exists:
            conn.execute(sql.SQL("DROP SERVER {} CASCADE").format(sql.Identifier(CLUSTER)))
        options = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(f"p{i}"), sql.Literal(p)) for i, p in enumerate(partitions)
        )
        conn.execute(
            sql.SQL(
                "CREATE SERVER {} FOREIGN DATA WRAPPER plproxy OPTIONS (connection_lifetime '1800', {})"
            ).format(sql.Identifier(CLUSTER), options)
        )
        conn.execute(
            sql.SQL("CREATE USER MAPPING FOR livepanty_owner SERVER {}").format(sql.Identifier(CLUSTER))
        )
        # The shards' own conninfos; a shard fenced before this install stays fenced.
        conn.execute("DELETE FROM router.partitions WHERE shard >= %s", [n])
        for index, partition in enumerate(partitions):
            conn.execute(
                "INSERT INTO router.partitions (shard, conninfo) VALUES (%s, %s)"
                " ON CONFLICT (shard) DO UPDATE SET conninfo = excluded.conninfo",
                [index, partition],
            )
        for (index,) in conn.execute(
            "SELECT shard FROM router.partitions WHERE fenced_at IS NOT NULL"
        ).fetchall():
            _set_partition(conn, index, _fenced_conninfo(partitions[index], index))
        conn.execute(
            sql.SQL("GRANT USAGE ON FOREIGN SERVER {} TO livepanty_owner").format(sql.Identifier(CLUSTER))
        )
        conn.execute(router_routes_sql(read_api_functions(conn)))
        conn.execute(router_view_routes_sql(views))
        _run_file(conn, root / "router" / "routes.sql")


def partition_dsns(router_dsn: str) -> list[str]:
    """The shards' conninfos as the router's PL/Proxy cluster reaches them (p0, p1, ...): each shard's own,
    fenced or not (router.partitions)."""
    with _connect(router_dsn) as conn:
        row = conn.execute(
            "SELECT srvoptions FROM pg_catalog.pg_foreign_server WHERE srvname = %s", [CLUSTER]
        ).fetchone()
        own = []
        readable = conn.execute(
            # Nested CASEs: each test runs only when the one before passed (to_regclass needs the schema's
            # USAGE, has_table_privilege an existing table).
            "SELECT CASE WHEN has_schema_privilege('router', 'USAGE')"
            "            THEN CASE WHEN to_regclass('router.partitions') IS NOT NULL"
            "                      THEN has_table_privilege('router.partitions', 'SELECT') END END"
            "  FROM pg_catalog.pg_namespace WHERE nspname = 'router'"
        ).fetchone()
        if row is not None and readable == (True,):
            own = [r[0] for r in conn.execute("SELECT conninfo FROM router.partitions ORDER BY shard")]
    if own:
        return own
    if row is None:
        raise ShardError(
            "this database is no router: it has no PL/Proxy cluster (livepanty-db local start --shards N)"
        )
    parts: dict[int, str] = {}
    for option in row[0] or []:
        key, _, value = option.partition("=")
        if key.startswith("p") and key[1:].isdigit():
            parts[int(key[1:])] = value
    return [parts[i] for i in sorted(parts)]


# -- fencing a shard that hangs ------------------------------------------------------------------------------

#: Where a fenced shard's partition points: a Unix socket directory that does not exist, so that PL/Proxy's
#: connection fails at once ("No such file or directory"), on any machine, without touching the network.
FENCED_SOCKET = "/livepanty-fenced-shard-{shard}"


@dataclass(frozen=True)
class Partition:
    """A row of router.partitions: a shard's own conninfo and whether it is fenced."""

    shard: int
    conninfo: str
    fenced_at: datetime.datetime | None
    fenced_by: str | None
    fence_reason: str | None


def masked(conninfo: str) -> str:
    """A conninfo to show: its password, if any, replaced."""
    params = conninfo_to_dict(conninfo)
    if params.get("password"):
        params["password"] = "********"  # noqa: S105 (a mask, not a password)
    return make_conninfo(**params)


def _fenced_conninfo(conninfo: str, shard: int) -> str:
    params = conninfo_to_dict(conninfo)
    params.pop("hostaddr", None)
    params["host"] = FENCED_SOCKET.format(shard=shard)
    return make_conninfo(**params)


def _set_partition(conn: psycopg.Connection, shard: int, conninfo: str) -> None:
    conn.execute(
        sql.SQL("ALTER SERVER {} OPTIONS (SET {} {})").format(
            sql.Identifier(CLUSTER), sql.Identifier(f"p{shard}"), sql.Literal(conninfo)
        )
    )


def partitions(router_dsn: str) -> list[Partition]:
    """Every shard's partition: its own conninfo, and whether (since when, by whom, why) it is fenced."""
    with _connect(router_dsn) as conn:
        if conn.execute("SELECT to_regclass('router.partitions')").fetchone() == (None,):
            raise ShardError("this database is no router (livepanty-db local start --shards N)")
        rows = conn.execute(
            "SELECT shard, conninfo, fenced_at, fenced_by, fence_reason FROM router.partitions ORDER BY shard"
        ).fetchall()
    return [Partition(*row) for row in rows]


def fence(router_dsn: str, shard: int, *, reason: str, by: str = "operator") -> bool:
    """Fence ``shard`` at the router (docs/scale-out.md, "Fencing a shard that hangs"): its partition in the
    PL/Proxy cluster names no server, so every call for it fails at once with LP200, a call already waiting on
    it excepted. The other shards are not affected; the relay does not read fences (a relay blocked on a
    shard that hangs is restarted). True when it was not fenced before, or an operator took over the watch's
    fence. As the superuser (who owns the foreign server). Every change of a fence makes every router backend
    open its connections to every shard again (PL/Proxy reloads the whole cluster)."""
    if by not in ("operator", "watch"):
        raise ShardError(f"a fence is set by the operator or by the watch, not {by!r}")
    with _connect(router_dsn) as conn, conn.transaction():
        row = conn.execute(
            "SELECT conninfo, fenced_at, fenced_by FROM router.partitions WHERE shard = %s FOR UPDATE",
            [shard],
        ).fetchone()
        if row is None:
            raise ShardError(f"no shard {shard} in this installation")
        if row[1] is not None:
            # Fenced already. An operator's fence takes over the watch's (the watch would lift its own as soon
            # as the shard answers); nothing else changes, and the partition is not set again (every change of
            # the cluster makes every router backend reconnect to every shard).
            if by != "operator" or row[2] == "operator":
                return False
            conn.execute(
                "UPDATE router.partitions SET fenced_by = 'operator', fence_reason = left(%s, 500)"
                " WHERE shard = %s",
                [reason, shard],
            )
            log.warning("shard %s: the watch's fence taken over by the operator: %s", shard, reason)
            return True
        conn.execute(
            "UPDATE router.partitions SET fenced_at = now(), fenced_by = %s, fence_reason = left(%s, 500)"
            " WHERE shard = %s",
            [by, reason, shard],
        )
        _set_partition(conn, shard, _fenced_conninfo(row[0], shard))
    log.warning("shard %s fenced by %s: %s", shard, by, reason)
    return True


def unfence(router_dsn: str, shard: int, *, only_by: str | None = None) -> bool:
    """Route calls to ``shard`` again (its own conninfo back in the PL/Proxy cluster). ``only_by``: only a
    fence set by that party (the watch lifts its own fences, never an operator's). True when it was fenced."""
    with _connect(router_dsn) as conn, conn.transaction():
        row = conn.execute(
            "SELECT conninfo, fenced_by FROM router.partitions WHERE shard = %s FOR UPDATE", [shard]
        ).fetchone()
        if row is None:
            raise ShardError(f"no shard {shard} in this installation")
        if row[1] is None or (only_by is not None and row[1] != only_by):
            return False
        conn.execute(
            "UPDATE router.partitions SET fenced_at = NULL, fenced_by = NULL, fence_reason = NULL"
            " WHERE shard = %s",
            [shard],
        )
        _set_partition(conn, shard, row[0])
    log.warning("shard %s unfenced", shard)
    return True


#: What a probe that failed says when the shard is down or hangs (fenced), rather than the watch's own problem
#: (a password, a missing .pgpass, too many connections, a name that does not resolve: reported, not fenced).
_UNREACHABLE = (
    "no answer within",
    "connection refused",
    "timeout expired",
    "no such file or directory",
    "server closed the connection",
    "terminating connection",
    "the database system is",
)


def unreachable(why: str | None) -> bool:
    """Whether a probe's answer (:func:`probe`) means the shard is down or hangs: only then does the watch
    fence it. An authentication or configuration error is the watch's own problem: fencing on it would turn a
    fault of the monitoring into an outage."""
    return why is not None and any(marker in why.lower() for marker in _UNREACHABLE)


def probe(conninfo: str, timeout: float) -> str | None:
    """Whether a shard answers ``SELECT 1`` within ``timeout`` seconds: None, or why not. A shard whose
    processes hang accepts the TCP connection but never answers: the connection attempt and the query run in a
    thread that is given up on (left to the kernel's timeouts) after ``timeout``."""
    outcome: dict[str, str | None] = {}

    def attempt() -> None:
        try:
            with psycopg.connect(
                conninfo, connect_timeout=max(2, int(timeout + 0.999)), autocommit=True
            ) as c:
                c.execute("SELECT 1")
            outcome["error"] = None
        except psycopg.Error as exc:
            outcome["error"] = (str(exc).strip().splitlines() or [type(exc).__name__])[0]

    worker = threading.Thread(target=attempt, daemon=True, name="livepanty-shard-probe")
    worker.start()
    worker.join(timeout)
    if "error" not in outcome:
        return f"no answer within {timeout:g} s"
    return outcome["error"]


@dataclass
class WatchPass:
    """One pass of :func:`watch_once`: the shards that did not answer (why), the fences it set and lifted, the
    shards that answered, and whether it held back because every shard failed (``held_back``)."""

    down: dict[int, str] = field(default_factory=dict)
    fenced: list[int] = field(default_factory=list)
    unfenced: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    held_back: bool = False
    ended: list[int] = field(default_factory=list)  # router backends ended as stuck (end_stuck_after)


#: The router's client backends that look stuck on a shard: running one SELECT that calls the API for longer
#: than %(age)s seconds with no wait event (PL/Proxy waits for a shard's answer in its own poll loop, which
#: reports none). A SELECT only: never an install's DDL.
_STUCK_CALLS = """
SELECT a.pid FROM pg_stat_activity AS a
 WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
   AND a.state = 'active' AND a.wait_event IS NULL
   AND a.query ~* '^\\s*select\\M' AND a.query ~* '\\mapi\\.'
   AND a.query_start < now() - make_interval(secs => %(age)s)
 ORDER BY a.pid
"""


def end_stuck_calls(router_dsn: str, older_than: float) -> list[int]:
    """End (``pg_terminate_backend``) the router's backends whose API call has been running for more than
    ``older_than`` seconds with no wait event: a call that went to a shard before the shard hung, which
    PL/Proxy never gives up (docs/scale-out.md, "Fencing a shard that hangs"). Their clients get a lost
    connection (57P01, a transient error) instead of waiting until the shard resumes; what such a call did on
    a shard that answered is committed there, as always, and its retry with the same idempotency key is
    answered from it. Needs a login that sees and may signal those backends: a superuser, or a member of
    pg_read_all_stats (else their state reads NULL and nothing is found) and pg_signal_backend (which cannot
    end a superuser's backend: such a refusal is logged). Returns the pids ended."""
    ended: list[int] = []
    with _connect(router_dsn) as conn:
        pids = [pid for (pid,) in conn.execute(_STUCK_CALLS, {"age": float(older_than)}).fetchall()]
        for pid in pids:
            try:
                if conn.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]:
                    ended.append(pid)
                    log.warning("ended router backend %s: an API call over %g s while a shard is fenced", pid,
                                older_than)  # fmt: skip
            except psycopg.Error as exc:
                log.error("could not end router backend %s stuck on a fenced shard: %s", pid, exc)
    return ended


def watch_once(
    router_dsn: str,
    *,
    timeout: float = 3.0,
    may_lift: Iterable[int] | None = None,
    end_stuck_after: float | None = None,
) -> WatchPass:
    """Probe every shard (:func:`probe`, all at once): fence each that is down or hangs (:func:`unreachable`:
    ``fenced_by`` watch), lift the watch's fence of each that answers again (only those of ``may_lift``,
    when given: :func:`watch` lifts a fence after a few good passes in a row). An operator's fence stays. A
    pass in which no shard answers fences none (``held_back``): then the watch itself is more likely cut off
    than every shard down. Other probe errors (authentication, configuration) are reported in ``down`` but
    fence nothing. With ``end_stuck_after``, while any shard is fenced (by the watch or an operator), the
    router's API calls running longer than that many seconds with no wait event are ended
    (:func:`end_stuck_calls`): the calls that were waiting on a shard when it hung, which a fence does not
    reach."""
    result = WatchPass()
    parts = partitions(router_dsn)
    answers: dict[int, str | None] = {}

    def ask(part: Partition) -> None:
        answers[part.shard] = probe(part.conninfo, timeout)

    probes = [threading.Thread(target=ask, args=(p,), daemon=True) for p in parts]
    for thread in probes:
        thread.start()
    for thread in probes:
        thread.join(timeout + 1)
    for part in parts:
        why = answers.get(part.shard, f"no answer within {timeout:g} s")
        if why is None:
            result.answered.append(part.shard)
        else:
            result.down[part.shard] = why
    result.held_back = bool(parts) and not result.answered
    lift = None if may_lift is None else set(may_lift)
    for part in parts:
        if part.shard in result.down:
            if unreachable(result.down[part.shard]) and not result.held_back:
                if fence(router_dsn, part.shard, reason=result.down[part.shard], by="watch"):
                    result.fenced.append(part.shard)
            elif not unreachable(result.down[part.shard]):
                log.error(
                    "shard %s: the watch's probe failed (not fenced): %s", part.shard, result.down[part.shard]
                )
        elif (lift is None or part.shard in lift) and unfence(router_dsn, part.shard, only_by="watch"):
            result.unfenced.append(part.shard)
    if result.held_back:
        log.error("no shard answered the watch: fencing none (is the watch cut off?)")
    if end_stuck_after is not None and any(p.fenced_at is not None for p in partitions(router_dsn)):
        result.ended = end_stuck_calls(router_dsn, end_stuck_after)
    return result


def watch(
    router_dsn: str,
    *,
    interval: float = 5.0,
    timeout: float = 3.0,
    lift_after: int = 3,
    stop: threading.Event | None = None,
    on_pass: Callable[[WatchPass], None] | None = None,
    end_stuck_after: float | None = None,
) -> None:
    """:func:`watch_once` every ``interval`` seconds until ``stop`` is set (``livepanty-db shards watch``).
    The watch lifts its fence of a shard after ``lift_after`` passes in a row in which it answered (a shard
    that stalls now and then is not fenced and unfenced at every pass: each change makes every router backend
    reconnect to every shard). A pass that fails (the router restarting, an install running) is logged, and
    the watch goes on."""
    stop = stop or threading.Event()
    good: dict[int, int] = {}
    while not stop.is_set():
        try:
            ready = [shard for shard, n in good.items() if n + 1 >= lift_after]
            outcome = watch_once(router_dsn, timeout=timeout, may_lift=ready, end_stuck_after=end_stuck_after)
        except (psycopg.Error, ShardError) as exc:
            log.error("the watch's pass failed: %s", exc)
        else:
            for shard in outcome.down:
                good[shard] = 0
            for shard in outcome.answered:
                good[shard] = good.get(shard, 0) + 1
            if on_pass is not None:
                on_pass(outcome)
        stop.wait(interval)


def delivery_at_once(router_dsn: str, at_once: bool | None = None) -> bool:
    """Whether the router applies a cross-shard tip's (or capture's) credit before ``api.tip``
    (``api.capture_hold``) returns (docs/scale-out.md,
    "Delivery at once"); with ``at_once``, set it first (as the superuser, who owns router.config). The relay
    stays needed either way: it delivers what the router could not."""
    with _connect(router_dsn) as conn:
        if conn.execute("SELECT to_regclass('router.config')").fetchone() == (None,):
            raise ShardError("this database is no router (livepanty-db local start --shards N)")
        if at_once is not None:
            conn.execute("UPDATE router.config SET deliver_at_once = %s", [at_once])
        row = conn.execute("SELECT deliver_at_once FROM router.config").fetchone()
    if row is None:
        raise ShardError("the routing is not installed (livepanty-db shards install)")
    return bool(row[0])


# -- the relay -----------------------------------------------------------------------------------------------


@dataclass
class RelayStats:
    delivered: int = 0  # applied on the performer's shard now
    duplicates: int = 0  # found applied already (a worker died after applying, before marking)
    failed: int = 0  # could not be applied (the shard down): still pending
    holds: int = 0  # payout_hold requests of chargebacks applied on the performer's shard now
    sanctions: int = 0  # sanctions decided by cases of another shard, applied on the user's shard now
    lifts: int = (
        0  # payout_holds lifted by dismissals on the buyer's shard, applied on the performer's shard now
    )
    errors: list[str] = field(default_factory=list)


_CLAIM = (
    "SELECT id, sender_id, sender_name, sender_role, recipient_id, amount, fee_amount, message,"
    " is_anonymous, stream_id, menu_item_id, idempotency_key, created_at, hold_id, refund_of"
    " FROM shard.claim_transfers(%s, %s, %s)"
)
_CLAIM_COLUMNS = (
    "id", "sender_id", "sender_name", "sender_role", "recipient_id", "amount", "fee_amount", "message",
    "is_anonymous", "stream_id", "menu_item_id", "idempotency_key", "created_at", "hold_id", "refund_of",
)  # fmt: skip


def _batch_json(rows: Sequence[Sequence[Any]]) -> str:
    """The claimed rows as the JSON array shard.transfer_in_many reads (uuids and times as their text)."""
    return json.dumps([dict(zip(_CLAIM_COLUMNS, row, strict=True)) for row in rows], default=str)


def _target_down(exc: psycopg.Error) -> bool:
    """Whether an error of the target shard means it cannot be reached now (the batch waits) rather than that
    it refused this delivery: a deadlock, a serialization failure or a lock timeout there (the router
    delivering the same transfer at once) is a refusal for this pass, retried at the next."""
    return isinstance(exc, psycopg.OperationalError) and not (
        (exc.sqlstate or "").startswith("40") or exc.sqlstate == "55P03"
    )


#: The relay's default limit on one step with a pair of shards (a batch, or one kind of request), in seconds.
RELAY_CALL_TIMEOUT = 30.0
#: How long the relay first leaves a shard alone after connecting to it timed out (it accepts connections but
#: does not answer: it hangs); doubled after each further timeout, up to RELAY_HUNG_BACKOFF_MAX.
RELAY_HUNG_BACKOFF = 5.0
RELAY_HUNG_BACKOFF_MAX = 60.0
#: The least ``idle_in_transaction_session_timeout`` of the relay's sessions, in seconds (relay_idle_timeout).
RELAY_IDLE_TIMEOUT = 60.0


def relay_idle_timeout(call_timeout: float | None) -> float:
    """The ``idle_in_transaction_session_timeout`` of the relay's transactions, in seconds: at least
    RELAY_IDLE_TIMEOUT, and twice ``call_timeout`` (a claim waits idle on its source while the target works,
    for at most one step). A relay whose connection vanished mid-transaction (a cut in the network that
    outlasts TCP's retries, its machine gone) leaves its backend on the shard waiting for a client that will
    never speak, holding the claim's row locks (its transfers are skipped by every later claim) or, on the
    target, the locks of a credit not yet committed (the payee's wallet: their other tips wait). The server
    rolls such a transaction back after this long. Exactly once holds whatever it ends: rows not marked
    delivered stay pending, and a credit that did commit is recognised by its transfer id when delivered
    again. Without it, only the kernel's keepalive (2 hours by default) would end it."""
    if call_timeout is None or call_timeout <= 0:
        return RELAY_IDLE_TIMEOUT
    return max(RELAY_IDLE_TIMEOUT, 2 * call_timeout)


def _cut(conn: psycopg.Connection) -> None:
    """Shut the socket of ``conn`` down (from another thread): a call blocked on it fails at once with an
    OperationalError and the connection is broken (closed and opened again later)."""
    try:
        fd = os.dup(conn.fileno())
    except (OSError, psycopg.Error):
        return
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        return
    with sock, contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _timed_out_connecting(exc: psycopg.OperationalError) -> bool:
    timeout = getattr(psycopg.errors, "ConnectionTimeout", None)
    return (timeout is not None and isinstance(exc, timeout)) or "timeout expired" in str(exc)


class _Watchdog:
    """One thread per relay that cuts (:func:`_cut`) the connections of a step that outlives its deadline.
    A shard whose processes hang (a frozen VM, SIGSTOP) never answers while its kernel acknowledges every
    packet, so neither keepalives nor ``tcp_user_timeout`` end the wait, and its server cannot time the
    statement out: only the client can give up. Giving up is safe at any point of the protocol
    (docs/scale-out.md, "Crash points"): the claim rolls back, and its rows stay pending. The cut runs under
    the watchdog's lock, and a step's end takes that lock: no cut happens after the step has moved on, and
    none touches a connection after it was closed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: tuple[tuple[psycopg.Connection, ...], float] | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self.fired = False  # the last step's deadline passed (its connections were cut)
        self.stuck: list[psycopg.Connection] = []  # of those, the ones waiting for an answer then

    @contextlib.contextmanager
    def deadline(self, conns: Sequence[psycopg.Connection], seconds: float | None) -> Iterator[None]:
        """Cut ``conns`` when the block takes longer than ``seconds`` (None, 0 or less: never); :attr:`fired`
        and :attr:`stuck` say afterwards whether it did, and which of them were waiting for an answer."""
        self.fired, self.stuck = False, []
        if seconds is None or seconds <= 0:
            yield
            return
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._closed = False
                self._thread = threading.Thread(target=self._run, name="livepanty-relay-watch", daemon=True)
                self._thread.start()
            self._armed = (tuple(conns), time.monotonic() + seconds)
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._armed = None

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._armed is None:
                    self._cond.wait()
                    continue
                conns, at = self._armed
                left = at - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._armed = None
                self.fired = True
                try:
                    self.stuck = [
                        c for c in conns if c.pgconn.transaction_status == psycopg.pq.TransactionStatus.ACTIVE
                    ]
                except Exception:  # a connection closed meanwhile: none known stuck
                    self.stuck = []
                for conn in conns:
                    _cut(conn)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class _RelayConnection(psycopg.Connection):
    """A connection of the relay (RelayConnections): its transactions end after ``idle_ms`` idle."""

    idle_ms = 0


@contextlib.contextmanager
def _bounded(conn: psycopg.Connection) -> Iterator[None]:
    """A transaction of the relay on ``conn``, which the server rolls back should it stay idle longer than the
    connection's idle timeout (:func:`relay_idle_timeout`; ``SET LOCAL``, so that it holds through any pooler
    and whatever the DSN's own options)."""
    with conn.transaction():
        idle_ms = getattr(conn, "idle_ms", 0)
        if idle_ms:
            conn.execute(f"SET LOCAL idle_in_transaction_session_timeout = {int(idle_ms)}")
        yield


def relay_pair(
    source: psycopg.Connection,
    target: psycopg.Connection,
    src: int,
    dst: int,
    *,
    limit: int = 100,
    stats: RelayStats | None = None,
    batch: bool = True,
) -> RelayStats:
    """Deliver up to ``limit`` pending cross-shard tips from shard ``src`` to shard ``dst``: claim them (row
    locks held by this transaction on the source), apply them on the target in one transaction
    (``shard.transfer_in_many``: exactly once each, keyed by the transfer id), then mark them delivered and
    commit on the source. When the target refuses the batch (one transfer it cannot apply), the batch is
    delivered one transfer per transaction, so that only the refused one stays pending, with its error. A
    crash anywhere leaves every row either pending (claimed again later; the target ignores a second
    delivery) or delivered. ``batch=False``: one transfer per transaction on the target from the start (the
    first relay's way, kept for comparison)."""
    stats = stats or RelayStats()
    with _bounded(source):
        rows = source.execute(_CLAIM, [src, dst, limit]).fetchall()
        if not rows:
            return stats
        done: list[Any] = []
        failed: list[Any] = []
        error = ""
        results: list[Any] | None = None  # None: one by one below
        if batch:
            try:
                with _bounded(target):
                    results = target.execute(
                        "SELECT id, applied FROM shard.transfer_in_many(%s, %s, %s::jsonb)",
                        [dst, src, _batch_json(rows)],
                    ).fetchall()
            except psycopg.OperationalError as exc:
                if _target_down(exc):  # the target is down: the batch waits
                    failed = [row[0] for row in rows]
                    error = f"shard {dst}: {exc}".strip()
                    results = []
                else:  # a deadlock or a lock timeout there (a delivery at once of the router): one by one
                    results = None
            except psycopg.Error:
                results = None  # refused: one by one
        if results is not None:
            for transfer_id, applied in results:
                done.append(transfer_id)
                if applied:
                    stats.delivered += 1
                else:
                    stats.duplicates += 1
        else:
            for row in rows:
                if failed:
                    failed.append(row[0])
                    continue
                try:
                    with _bounded(target):
                        applied = target.execute(
                            "SELECT shard.transfer_in(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                            " %s, %s, %s)",
                            [dst, src, *row],
                        ).fetchone()[0]
                except psycopg.Error as exc:
                    if _target_down(exc):  # the target is down: the rest of the batch waits too
                        failed.append(row[0])
                        error = f"shard {dst}: {exc}".strip()
                        continue
                    # Refused by the target (a bug, a constraint): this transfer stays pending with its error,
                    # the others go on (it must not block its pair of shards).
                    source.execute(
                        "SELECT shard.note_failure(%s, %s, %s)", [src, [row[0]], f"shard {dst}: {exc}"]
                    )
                    stats.failed += 1
                    stats.errors.append(f"transfer {row[0]}: shard {dst}: {exc}".strip())
                    continue
                done.append(row[0])
                if applied:
                    stats.delivered += 1
                else:
                    stats.duplicates += 1
        if done:
            source.execute("SELECT shard.mark_delivered(%s, %s)", [src, done])
        if failed:
            source.execute("SELECT shard.note_failure(%s, %s, %s)", [src, failed, error])
            stats.failed += len(failed)
            stats.errors.append(error)
    return stats


@dataclass(frozen=True)
class _RequestKind:
    """One kind of request a shard asks of another through the relay (rare, applied one per transaction)."""

    label: str  # in the relay's errors
    claim: (
        str  # shard.claim_<kind>_requests(shard, to_shard, limit): the request's id first, then its arguments
    )
    apply: str  # shard.apply_<kind>_request(shard, from_shard, <the claimed row>): true when applied now
    close: str  # shard.close_<kind>_requests(shard, ids, error)
    arguments: int  # the claimed row's columns


_HOLD_REQUESTS = _RequestKind("payout hold request", "claim_hold_requests", "apply_hold_request",
                              "close_hold_requests", 5)  # fmt: skip
_SANCTION_REQUESTS = _RequestKind("sanction request", "claim_sanction_requests", "apply_sanction_request",
                                  "close_sanction_requests", 10)  # fmt: skip
#: Claimed only once their hold request is delivered (shard.claim_hold_lifts), and relayed after the hold
#: requests of the pair: a lift never reaches the performer's shard before the hold it lifts.
_HOLD_LIFTS = _RequestKind("payout hold lift", "claim_hold_lifts", "apply_hold_lift", "close_hold_lifts", 9)


def _relay_requests(
    kind: _RequestKind, source: psycopg.Connection, target: psycopg.Connection, src: int, dst: int
) -> tuple[int, list[str]]:
    """Deliver the requests of one kind that shard ``src`` asks of shard ``dst``: each applied on the target
    in its own transaction, exactly once (keyed by the request id), then marked delivered in the claim's
    transaction on the source; one the target refuses keeps its error and stays pending, a lost connection
    ends the pass. Returns how many were applied now and the errors."""
    applied_now, errors = 0, []
    placeholders = ", ".join(["%s"] * (2 + kind.arguments))
    with _bounded(source):
        rows = source.execute(f"SELECT * FROM shard.{kind.claim}(%s, %s, 100)", [src, dst]).fetchall()
        done: list[Any] = []
        for row in rows:
            request_id = row[0]
            try:
                with _bounded(target):
                    applied = target.execute(
                        f"SELECT shard.{kind.apply}({placeholders})", [dst, src, *row]
                    ).fetchone()[0]
            except psycopg.Error as exc:
                lost = isinstance(exc, psycopg.OperationalError)
                if not lost:
                    source.execute(
                        f"SELECT shard.{kind.close}(%s, %s, %s)", [src, [request_id], f"shard {dst}: {exc}"]
                    )
                errors.append(f"{kind.label} {request_id}: shard {dst}: {exc}".strip())
                if lost:
                    break
                continue
            done.append(request_id)
            applied_now += int(applied)
        if done:
            source.execute(f"SELECT shard.{kind.close}(%s, %s, NULL)", [src, done])
    return applied_now, errors


def relay_holds(
    source: psycopg.Connection, target: psycopg.Connection, src: int, dst: int, *, stats: RelayStats
) -> None:
    """Deliver the payout_hold requests that chargebacks on shard ``src`` ask of shard ``dst`` (rare: one per
    performer and charged-back payment), exactly once each (:func:`_relay_requests`)."""
    applied, errors = _relay_requests(_HOLD_REQUESTS, source, target, src, dst)
    stats.holds += applied
    stats.errors.extend(errors)


def relay_sanctions(
    source: psycopg.Connection, target: psycopg.Connection, src: int, dst: int, *, stats: RelayStats
) -> None:
    """Deliver the warnings and sanctions that cases on shard ``src`` decided against users of shard ``dst``
    (rare: one per case), exactly once each (:func:`_relay_requests`)."""
    applied, errors = _relay_requests(_SANCTION_REQUESTS, source, target, src, dst)
    stats.sanctions += applied
    stats.errors.extend(errors)


def relay_lifts(
    source: psycopg.Connection, target: psycopg.Connection, src: int, dst: int, *, stats: RelayStats
) -> None:
    """Deliver the lifts of payout_holds that dismissals of fraud cases on shard ``src`` ask of shard ``dst``
    (rare: one per payout_hold request of a dismissed case), exactly once each (:func:`_relay_requests`), each
    after its hold request was delivered."""
    applied, errors = _relay_requests(_HOLD_LIFTS, source, target, src, dst)
    stats.lifts += applied
    stats.errors.extend(errors)


class RelayConnections:
    """The relay's connections to every shard, kept from one pass to the next; one that fails is closed and
    opened again at the next pass (a shard that cannot be reached is skipped until then; one whose connection
    attempt timed out, i.e. that hangs, is left alone for a while: RELAY_HUNG_BACKOFF). Its watchdog gives up
    a step that outlives ``call_timeout`` (:class:`_Watchdog`). Its transactions run with
    ``idle_in_transaction_session_timeout`` = ``idle_timeout`` seconds (:func:`relay_idle_timeout`; 0: none),
    its connections with ``tcp_user_timeout`` 10 s."""

    def __init__(self, dsns: Sequence[str], *, idle_timeout: float = RELAY_IDLE_TIMEOUT) -> None:
        self.dsns = list(dsns)
        self.idle_timeout = idle_timeout
        self.conns: dict[int, psycopg.Connection] = {}
        self.hung_until: dict[int, float] = {}
        self.hung_for: dict[int, float] = {}
        self.watchdog = _Watchdog()

    def open(self, stats: RelayStats) -> dict[int, psycopg.Connection]:
        for i, conn in list(self.conns.items()):
            if conn.closed or conn.broken:
                conn.close()
                del self.conns[i]
        for i, dsn in enumerate(self.dsns):
            if i in self.conns:
                continue
            if self.hung_until.get(i, 0.0) > time.monotonic():
                stats.errors.append(f"shard {i}: left alone for now (it did not answer in time)")
                continue
            try:
                # Keepalives and tcp_user_timeout: a shard whose machine or network vanished fails the step
                # in 10-25 s rather than hang; the idle timeout: relay_idle_timeout.
                conn = _RelayConnection.connect(
                    dsn,
                    autocommit=True,
                    connect_timeout=2,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                    tcp_user_timeout=10000,
                )
                conn.idle_ms = max(0, round(self.idle_timeout * 1000))
                self.conns[i] = conn
                self.hung_until.pop(i, None)
            except psycopg.OperationalError as exc:
                stats.errors.append(f"shard {i}: {exc}".strip())
                if _timed_out_connecting(exc):  # accepts connections but does not answer: it hangs
                    self.back_off(i)
        return dict(self.conns)

    def back_off(self, i: int) -> None:
        """Leave shard ``i`` alone for a while (RELAY_HUNG_BACKOFF, doubled each time until a step with it
        succeeds, at most RELAY_HUNG_BACKOFF_MAX): it hangs."""
        wait = min(RELAY_HUNG_BACKOFF_MAX, self.hung_for.get(i, RELAY_HUNG_BACKOFF / 2) * 2)
        self.hung_for[i] = wait
        self.hung_until[i] = time.monotonic() + wait

    def drop(self, i: int) -> None:
        """Close the connection to shard ``i`` (opened again by :meth:`open`)."""
        conn = self.conns.pop(i, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self.watchdog.close()
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


def relay_once(
    dsns: Sequence[str],
    *,
    limit: int = 100,
    connections: RelayConnections | None = None,
    batch: bool = True,
    call_timeout: float | None = RELAY_CALL_TIMEOUT,
) -> RelayStats:
    """One pass over every ordered pair of shards (``dsns[i]`` is shard i); shards that cannot be reached are
    skipped (their outbox waits, or their inbound tips stay pending) and named in ``errors``. With
    ``connections``, their connections are used and left open; without, the pass opens and closes its own.
    A step with a pair (a batch, or one kind of request) that takes longer than ``call_timeout`` seconds is
    given up (:class:`_Watchdog`: a shard that hangs): both connections are opened again at once (the one to
    the shard that hangs then times out connecting, and that shard is left alone for a while), and the pass
    goes on with the other pairs."""
    stats = RelayStats()
    owned = connections is None
    pool = (
        connections
        if connections is not None
        else RelayConnections(dsns, idle_timeout=relay_idle_timeout(call_timeout))
    )

    def step(src: int, dst: int, run: Callable[..., object]) -> bool:
        """Run one step with the pair under the deadline; False when the pair is done for this pass."""
        source, target = pool.conns.get(src), pool.conns.get(dst)
        if source is None or target is None or source.broken or target.broken:
            return False
        failure: psycopg.Error | None = None
        try:
            with pool.watchdog.deadline((source, target), call_timeout):
                run(source, target, src, dst, stats=stats)
        except psycopg.Error as exc:
            # A lost connection: class 08 and the like, or any error that left a connection broken (the server
            # ending a session, e.g. after its idle timeout, 25P03). Anything else is a bug: raised.
            if not (isinstance(exc, psycopg.OperationalError) or source.broken or target.broken):
                raise
            failure = exc
        if pool.watchdog.fired:
            # Both sockets were cut (also when the step had just finished): both connections are replaced.
            # The shard that was waiting for an answer hangs: it is left alone for a while, whether or not
            # it still accepts connections (a hang in its queries, not only in its postmaster); the other
            # goes on.
            stuck = [i for i, conn in ((src, source), (dst, target)) if conn in pool.watchdog.stuck]
            stats.errors.append(
                f"shards {src} -> {dst}: no answer within {call_timeout:g} s (given up"
                + (f"; shard {', '.join(map(str, stuck))} left alone for now)" if stuck else ")")
            )
            for i in (src, dst):
                pool.drop(i)
            for i in stuck:
                pool.back_off(i)
            pool.open(stats)
            return False
        if failure is not None:
            stats.errors.append(f"shard {src}: {failure}".strip())
            return not (source.broken or target.broken or source.closed or target.closed)
        pool.hung_for.pop(src, None)  # both answered: a later hang backs off from the start again
        pool.hung_for.pop(dst, None)
        return True

    deliver = functools.partial(relay_pair, limit=limit, batch=batch)
    try:
        pool.open(stats)
        n = len(pool.dsns)
        for src in range(n):
            for dst in range(n):
                if src == dst:
                    continue
                failed_before = stats.failed
                while True:
                    before = stats.delivered + stats.duplicates + stats.failed
                    errors_before = len(stats.errors)
                    if not step(src, dst, deliver) or len(stats.errors) > errors_before:
                        break
                    moved = stats.delivered + stats.duplicates + stats.failed - before
                    target = pool.conns.get(dst)
                    if moved < limit or stats.failed > failed_before or target is None or target.broken:
                        break
                for kind in (relay_holds, relay_sanctions, relay_lifts):  # the lifts after their holds
                    if not step(src, dst, kind):
                        break
    finally:
        if owned:
            pool.close()
    return stats


def relay(
    dsns: Sequence[str],
    *,
    limit: int = 100,
    interval: float = 0.2,
    stop: threading.Event | None = None,
    on_pass: Callable[[RelayStats], None] | None = None,
    call_timeout: float | None = RELAY_CALL_TIMEOUT,
) -> None:
    """Relay until ``stop`` is set: a pass, then a pause of ``interval`` seconds when it moved nothing. The
    connections stay open from one pass to the next. ``call_timeout``: :func:`relay_once`."""
    stop = stop or threading.Event()
    connections = RelayConnections(dsns, idle_timeout=relay_idle_timeout(call_timeout))
    try:
        while not stop.is_set():
            stats = relay_once(dsns, limit=limit, connections=connections, call_timeout=call_timeout)
            if on_pass is not None:
                on_pass(stats)
            if stats.delivered + stats.duplicates + stats.holds + stats.sanctions + stats.lifts == 0:
                stop.wait(interval)
    finally:
        connections.close()


def transfer_status(dsns: Sequence[str]) -> list[dict[str, object]]:
    """Rows of ``livepanty-db shards status``: per shard and peer, shard.transfer_totals, the payout hold
    requests, sanction requests and payout hold lifts not yet delivered (``requests_pending``) and the
    last delivery error of a pending transfer or request (a shard that cannot be reached gets one row saying
    so)."""
    rows: list[dict[str, object]] = []
    for i, dsn in enumerate(dsns):
        try:
            with _connect(dsn, connect_timeout=2) as conn:
                errors = dict(
                    conn.execute(
                        "SELECT DISTINCT ON (o.to_shard) o.to_shard, o.last_error"
                        " FROM shard.pending_errors(%s) AS o",
                        [i],
                    ).fetchall()
                )
                requests = {
                    r[0]: r[1] + r[2] + r[3]
                    for r in conn.execute("SELECT * FROM shard.pending_requests(%s)", [i]).fetchall()
                }
                for r in conn.execute("SELECT * FROM shard.transfer_totals(%s)", [i]).fetchall():
                    rows.append(
                        {
                            "shard": i,
                            "peer": r[0],
                            "sent_tokens": r[1],
                            "pending": r[4],
                            "pending_tokens": r[3],
                            "received_tokens": r[5],
                            "transit_balance": r[7],
                            "requests_pending": requests.get(r[0], 0),
                            "last_error": errors.get(r[0]),
                        }
                    )
        except psycopg.OperationalError as exc:
            rows.append({"shard": i, "peer": None, "last_error": f"unreachable: {exc}".strip()})
    return rows


# -- erasure across shards -----------------------------------------------------------------------------------

#: How far back each run of sync_erasures looks again before the last erasure it carried (an erasure whose
#: transaction committed after a later one's: its time is its transaction's start).
ERASURE_OVERLAP = datetime.timedelta(hours=1)


@dataclass
class ErasureSync:
    erased: int = 0  # users erased on their own shard that this run carried (again, within the overlap)
    directory: int = 0  # directory entries given the pseudonym now
    stubs: int = 0  # stubs on other shards erased now
    errors: list[str] = field(default_factory=list)  # shards that could not be reached: nothing advanced


def sync_erasures(router_dsn: str, dsns: Sequence[str]) -> ErasureSync:
    """Carry the erasures of every shard to the directory and to the users' stubs on the other shards
    (docs/scale-out.md, "Erasure across shards"). Idempotent: a user erased is given the same pseudonym
    everywhere. Each shard's mark advances only when every shard was reached, so a shard that is down gets
    the stubs of every erasure made meanwhile at the next run that reaches it."""
    result = ErasureSync()
    conns: dict[int, psycopg.Connection] = {}
    try:
        with _connect(router_dsn) as router:
            marks = dict(router.execute("SELECT shard, synced_until FROM router.erasure_sync").fetchall())
            for i, dsn in enumerate(dsns):
                try:
                    conns[i] = _connect(dsn, connect_timeout=2)
                except psycopg.OperationalError as exc:
                    result.errors.append(f"shard {i}: {exc}".strip())
            found: dict[int, list[tuple[Any, datetime.datetime]]] = {}
            for i, conn in conns.items():
                since = marks[i] - ERASURE_OVERLAP if i in marks else None
                found[i] = conn.execute("SELECT * FROM shard.erased_users(%s, %s)", [i, since]).fetchall()
            ids = [user_id for rows in found.values() for user_id, _ in rows]
            result.erased = len(ids)
            if ids:
                with router.transaction():
                    result.directory = router.execute("SELECT router.forget_users(%s)", [ids]).fetchone()[0]
                for i, conn in conns.items():
                    try:
                        result.stubs += conn.execute(
                            "SELECT shard.forget_users(%s, %s)", [i, ids]
                        ).fetchone()[0]
                    except psycopg.OperationalError as exc:
                        result.errors.append(f"shard {i}: {exc}".strip())
            if not result.errors:
                with router.transaction():
                    for i, rows in found.items():
                        if rows:
                            router.execute(
                                "INSERT INTO router.erasure_sync (shard, synced_until) VALUES (%s, %s)"
                                " ON CONFLICT (shard) DO UPDATE"
                                " SET synced_until = greatest(router.erasure_sync.synced_until,"
                                " excluded.synced_until)",
                                [i, max(at for _, at in rows)],
                            )
    finally:
        for conn in conns.values():
            conn.close()
    return result


# -- orphan registrations ------------------------------------------------------------------------------------

#: A registration younger than this is not an orphan yet: its router transaction may still be writing the
#: directory row.
ORPHAN_GRACE = datetime.timedelta(minutes=10)


@dataclass
class OrphanReport:
    adopted: int = 0  # written into the directory as they are: they can log in through the router
    discarded: int = (
        0  # their name or address was another's: personal data erased, in the directory as erased
    )
    left: list[str] = field(
        default_factory=list
    )  # discarding refused (their wallet moved tokens): a person decides
    errors: list[str] = field(default_factory=list)  # shards that could not be reached


def adopt_orphans(
    router_dsn: str, dsns: Sequence[str], *, grace: datetime.timedelta = ORPHAN_GRACE
) -> OrphanReport:
    """Orphan registrations (a user on a shard that the directory does not know: a router transaction rolled
    back after the shard registered, or two shards registering one address at once; docs/scale-out.md) older
    than ``grace``: written into the directory when their username and address are free there, so they can
    log in; otherwise their personal data is erased on their shard when their wallet never moved a token, and
    they enter the directory under the erasure's pseudonym. Idempotent."""
    report = OrphanReport()
    with _connect(router_dsn) as router:
        known = {u for (u,) in router.execute("SELECT user_id FROM router.users").fetchall()}
        for i, dsn in enumerate(dsns):
            try:
                conn = _connect(dsn, connect_timeout=2)
            except psycopg.OperationalError as exc:
                report.errors.append(f"shard {i}: {exc}".strip())
                continue
            with conn:
                orphans = [
                    u
                    for (u,) in conn.execute("SELECT * FROM shard.user_ids(%s)", [i]).fetchall()
                    if u not in known
                ]
                if not orphans:
                    continue
                rows = conn.execute(
                    "SELECT * FROM shard.resident_keys(%s, %s, %s)", [i, orphans, grace]
                ).fetchall()
                for user_id, username, role, username_key, email_key in rows:
                    adopted = router.execute(
                        "INSERT INTO router.users (user_id, shard, username_key, email_key, username, role)"
                        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING user_id",
                        [user_id, i, username_key, email_key, username, role],
                    ).fetchone()
                    if adopted:
                        report.adopted += 1
                        continue
                    if not conn.execute("SELECT shard.discard_orphan(%s, %s)", [i, user_id]).fetchone()[0]:
                        report.left.append(
                            f"user {user_id} on shard {i}: its username or address is another user's and its"
                            " wallet moved tokens"
                        )
                        continue
                    pseudonym = conn.execute(
                        "SELECT * FROM shard.resident_keys(%s, %s, %s)", [i, [user_id], grace]
                    )
                    _, username, role, username_key, email_key = pseudonym.fetchone()
                    router.execute(
                        "INSERT INTO router.users (user_id, shard, username_key, email_key, username, role)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        [user_id, i, username_key, email_key, username, role],
                    )
                    report.discarded += 1
    return report


# -- verification --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRun:
    """One shard's part of ``verify --all-shards``, as ``api.record_verify_run`` records it there."""

    started_at: datetime.datetime
    entries: int
    checks: tuple[str, ...]  # the names of the checks that failed (empty: sound)


@dataclass
class GlobalReport:
    shards: int
    ledger_problems: dict[int, int]  # shard -> rows of api.verify_ledger (0: sound)
    problems: list[str]  # the reconciliation's findings (empty: sound)
    in_transit: int  # tokens debited on one shard and not yet credited on another (matched by transfer id)
    transit_total: int  # the sum of every shard's in-transit wallets (equals in_transit when nothing moved)
    pending: int  # outbox rows not yet marked delivered
    #: Whether no transfer was sent or received between the two rounds of reads: only then do the in-transit
    #: wallets' sum and the tokens in transit describe the same moment (and are compared).
    quiet: bool = True
    #: Per shard: when its verification started (its clock), the ledger entries it checked, the checks that
    #: failed.
    ledger_runs: dict[int, LedgerRun] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.problems and not any(self.ledger_problems.values())

    def rows(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = [
            {"check": f"shard {i}: verify_ledger", "result": "clean" if n == 0 else f"{n} problem(s)"}
            for i, n in sorted(self.ledger_problems.items())
        ]
        out.append({"check": "tokens in transit (outbox - inbox)", "result": self.in_transit})
        out.append({"check": "in-transit wallets, all shards", "result": self.transit_total})
        out.append({"check": "transfers pending delivery", "result": self.pending})
        if not self.quiet:
            out.append(
                {
                    "check": "transfers moved during the reads",
                    "result": "yes: the two figures above are of different moments (not compared)",
                }
            )
        out.extend({"check": "problem", "result": p} for p in self.problems)
        return out


#: (sending shard, receiving shard) -> {transfer id: net amount}
Transfers = dict[tuple[int, int], dict[Any, int]]


def _transfer_ids(conn: psycopg.Connection, here: int, n: int, direction: str) -> Transfers:
    """This shard's transfers per pair of shards: ``out`` and ``delivered`` keyed (here, peer), ``in`` keyed
    (peer, here)."""
    found: Transfers = {}
    for peer in range(n):
        if peer == here:
            continue
        rows = conn.execute("SELECT id, amount FROM shard.transfer_ids(%s, %s, %s)", [here, peer, direction])
        found[(peer, here) if direction == "in" else (here, peer)] = dict(rows.fetchall())
    return found


def verify_all(dsns: Sequence[str], *, router_dsn: str | None = None) -> GlobalReport:
    """Every shard's ``api.verify_ledger()``, then the global reconciliation, exact while tips and the relay
    run (docs/scale-out.md, "Tokens in transit and the global reconciliation"):

    1. each shard in one snapshot (REPEATABLE READ): its in-transit wallet per peer equals what it sent to
       that peer minus what it received from it;
    2. then, read again after every snapshot: every transfer a shard received had been sent by its peer with
       the same net amount, and every transfer a shard saw confirmed (delivered) had been credited by its
       peer with that amount. A transfer is sent before it is received and received before it is confirmed,
       so the second read of the earlier step always holds what the first read of the later step saw;
    3. when nothing moved between the two rounds: the in-transit wallets sum to the tokens in transit.

    With the router, also the directory against the shards' users."""
    n = len(dsns)
    conns = [_connect(d) for d in dsns]
    try:
        runs: dict[int, LedgerRun] = {}
        ledger: dict[int, int] = {}
        for i, conn in enumerate(conns):
            started_at, entries = conn.execute(
                "SELECT now(), (SELECT coalesce(sum(entries), 0)::bigint FROM api.ledger_stats(1000000))"
            ).fetchone()
            failed = [r[0] for r in conn.execute("SELECT check_name FROM api.verify_ledger()").fetchall()]
            ledger[i] = len(failed)
            runs[i] = LedgerRun(started_at, entries, tuple(sorted(set(failed))))
        problems: list[str] = []
        # Round 1: every shard in its own snapshot.
        sent: Transfers = {}
        delivered: Transfers = {}
        received: Transfers = {}
        pending = 0
        transit_total = 0
        for i, conn in enumerate(conns):
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                totals = conn.execute("SELECT * FROM shard.transfer_totals(%s)", [i]).fetchall()
                sent.update(_transfer_ids(conn, i, n, "out"))
                delivered.update(_transfer_ids(conn, i, n, "delivered"))
                received.update(_transfer_ids(conn, i, n, "in"))
            for peer, sent_tokens, _sc, _pt, pending_count, received_tokens, _rc, balance in totals:
                pending += pending_count
                transit_total += balance or 0
                if balance != sent_tokens - received_tokens:
                    problems.append(
                        f"shard {i}: in-transit wallet of shard {peer} holds {balance}, "
                        f"sent {sent_tokens} - received {received_tokens} = {sent_tokens - received_tokens}"
                    )
        # Round 2, after every snapshot of round 1.
        sent_later: Transfers = {}
        received_later: Transfers = {}
        for i, conn in enumerate(conns):
            sent_later.update(_transfer_ids(conn, i, n, "out"))
            received_later.update(_transfer_ids(conn, i, n, "in"))
        in_transit = 0
        for (src, dst), got in received.items():
            for tid, amount in got.items():
                if tid not in sent_later[(src, dst)]:
                    problems.append(f"transfer {tid}: credited on shard {dst}, never sent by shard {src}")
                elif sent_later[(src, dst)][tid] != amount:
                    problems.append(
                        f"transfer {tid}: sent {sent_later[(src, dst)][tid]} by shard {src}, "
                        f"credited {amount} on shard {dst}"
                    )
            for tid, amount in delivered[(src, dst)].items():
                credited = received_later[(src, dst)].get(tid)
                if credited is None:
                    problems.append(
                        f"transfer {tid}: marked delivered on shard {src}, never credited on shard {dst}"
                    )
                elif credited != amount:
                    problems.append(
                        f"transfer {tid}: delivered {amount} by shard {src}, "
                        f"credited {credited} on shard {dst}"
                    )
            in_transit += sum(a for t, a in sent[(src, dst)].items() if t not in received_later[(src, dst)])
        quiet = sent == sent_later and received == received_later
        if quiet and transit_total != in_transit:
            problems.append(f"the in-transit wallets sum to {transit_total}; tokens in transit: {in_transit}")
        if router_dsn is not None:
            problems += _directory_problems(router_dsn, conns)
        return GlobalReport(n, ledger, problems, in_transit, transit_total, pending, quiet, runs)
    finally:
        for conn in conns:
            conn.close()


#: The check name under which a shard records the global reconciliation's findings (``record_runs``).
RECONCILIATION_CHECK = "cross_shard_reconciliation"


def record_runs(dsns: Sequence[str], report: GlobalReport) -> None:
    """Record ``report`` on every shard (``api.record_verify_run``, as ``verify`` does on one node), so that
    each shard's ``monitoring.ledger_verification`` and ``livepanty_ledger_verify_*`` metrics show the run:
    its own ledger's violations, plus the reconciliation's findings, which concern every shard, under
    :data:`RECONCILIATION_CHECK`."""
    for i, dsn in enumerate(dsns):
        run = report.ledger_runs[i]
        checks = [*run.checks, *([RECONCILIATION_CHECK] if report.problems else [])]
        with _connect(dsn) as conn:
            conn.execute("SET ROLE livepanty_service")
            conn.execute(
                "SELECT api.record_verify_run(%s, %s::bigint, %s::integer, %s::text[])",
                [run.started_at, run.entries, report.ledger_problems[i] + len(report.problems), checks],
            )


def _directory_problems(router_dsn: str, conns: Sequence[psycopg.Connection]) -> list[str]:
    with _connect(router_dsn) as router:
        directory = {
            str(u): s for u, s in router.execute("SELECT user_id, shard FROM router.users").fetchall()
        }
    problems = []
    seen: set[str] = set()
    for i, conn in enumerate(conns):
        for (uid,) in conn.execute("SELECT * FROM shard.user_ids(%s)", [i]).fetchall():
            key = str(uid)
            seen.add(key)
            if key not in directory:
                problems.append(
                    f"user {key} lives on shard {i} but is not in the directory (an orphan registration)"
                )
            elif directory[key] != i:
                problems.append(f"user {key} lives on shard {i}; the directory says shard {directory[key]}")
    problems += [
        f"user {u}: in the directory (shard {s}) but on no shard"
        for u, s in directory.items()
        if u not in seen
    ]
    return problems


# -- the local topology ----------------------------------------------------------------------------------

TOPOLOGY_FILE = "shards.json"


@dataclass(frozen=True)
class TopologyStatus:
    router: local.ClusterStatus
    shards: tuple[local.ClusterStatus, ...]

    def rows(self) -> list[dict[str, object]]:
        out = [
            {
                "node": "router",
                "running": self.router.running,
                "port": self.router.port,
                "url": self.router.url,
            }
        ]
        out += [
            {"node": f"shard {i}", "running": s.running, "port": s.port, "url": s.url}
            for i, s in enumerate(self.shards)
        ]
        return out

    def as_dict(self) -> dict[str, object]:
        return {"router": self.router.as_dict(), "shards": [s.as_dict() for s in self.shards]}


class LocalTopology:
    """The router (the embedded cluster of ``home``) and N shard clusters in ``home/shards/<i>``."""

    def __init__(self, home: Path | str | None = None, *, server_options: Sequence[str] = ()):
        self.router = local.Cluster(home, server_options=server_options)
        self.home = self.router.home
        self.server_options = tuple(server_options)

    @property
    def _file(self) -> Path:
        return self.home / TOPOLOGY_FILE

    def shard_count(self) -> int:
        """The number of shards this home was started with (0: not sharded)."""
        try:
            return int(json.loads(self._file.read_text())["shards"])
        except FileNotFoundError:
            return 0
        except (ValueError, KeyError, TypeError) as exc:
            raise ShardError(f"{self._file} is damaged ({exc}); fix or remove it") from exc

    def shard(self, index: int) -> local.Cluster:
        return local.Cluster(self.home / "shards" / str(index), server_options=self.server_options)

    def shard_urls(self) -> list[str]:
        return [self.shard(i).url() for i in range(self.shard_count())]

    def start(self, shards: int) -> TopologyStatus:
        """Start (initialising the first time) the router and ``shards`` shard clusters, migrate every one and
        install the routing. The number of shards of a home is fixed once chosen."""
        if shards not in SHARD_COUNTS:
            raise ShardError(
                f"--shards must be one of {', '.join(map(str, SHARD_COUNTS))} (PL/Proxy), not {shards}"
            )
        known = self.shard_count()
        if known and known != shards:
            raise ShardError(
                f"{self.home} was started with {known} shards; moving users between shards is not automatic "
                "(docs/scale-out.md, 'Adding a shard')"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self._file.write_text(json.dumps({"shards": shards}) + "\n")
        self.router.start()
        for i in range(shards):
            self.shard(i).start()
        self.migrate()
        return self.status()

    def start_clusters(self) -> TopologyStatus:
        """Start the router and the shards of an installation started before (no migration)."""
        self.router.start()
        for i in range(self.shard_count()):
            self.shard(i).start()
        return self.status()

    def migrate(self, *, lock_wait: float | None = None) -> list[str]:
        """Migrate every shard and the router, then install the routing again. Returns the migrations applied
        (to the router; the shards get the same). ``lock_wait``: as :func:`livepanty_db.migrate.apply`."""
        urls = self.shard_urls()
        for url in urls:
            migrate.apply(url, lock_wait=lock_wait)
        applied = migrate.apply(self.router.url(), lock_wait=lock_wait)
        install(self.router.url(), urls)
        return applied

    def stop(self) -> TopologyStatus:
        for i in range(self.shard_count()):
            self.shard(i).stop()
        self.router.stop()
        return self.status()

    def status(self) -> TopologyStatus:
        return TopologyStatus(
            self.router.status(), tuple(self.shard(i).status() for i in range(self.shard_count()))
        )


def wait_for_relay(dsns: Sequence[str], *, timeout: float = 30.0) -> None:
    """Relay until no transfer is pending (tests and benchmarks); ShardError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        relay_once(dsns)
        pending = 0
        for i, dsn in enumerate(dsns):
            with _connect(dsn) as conn:
                pending += sum(
                    r[4] for r in conn.execute("SELECT * FROM shard.transfer_totals(%s)", [i]).fetchall()
                )
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise ShardError(f"{pending} transfers still pending after {timeout} s")
        time.sleep(0.05)
