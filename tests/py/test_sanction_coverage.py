"""Every api function that spends, streams, pays out, logs in or takes a message consults the sanction check.

Nothing is listed by hand: the functions are found in the catalog (pg_proc) of a migrated database, and so are
the calls between them. A function *consults* the check for an action when its body, or the body of any lp/api
function it calls (transitively), calls ``lp.sanction_refusal``, ``lp.sanction_blocks`` or
``lp.assert_sanction_allows`` naming that action (lp.sanction_types: login, stream, tip, hold, payout,
message).
The sets of functions that must consult it are derived from what their bodies do, for every function the
application role (``livepanty_app``) may execute:

* spends: reaches ``INSERT INTO lp.tips`` or ``INSERT INTO lp.holds``      -> action tip or hold
* streams: reaches an ``UPDATE lp.streams`` that sets status ``'live'``    -> action stream
* pays out: reaches ``INSERT INTO lp.payouts``, approves, sends or marks paid a payout -> action payout
  (also the functions only the back office, ``livepanty_service``, may execute: the money leaves there)
* logs in: calls ``lp.set_identity`` or ``INSERT INTO lp.auth_sessions`` itself -> action login
* messages: takes an argument named ``p_message`` (or any ``*message*``), or reaches ``INSERT INTO lp.tips``
  (a tip carries its message)                                             -> action message

A new function that does any of these without the check fails here, whoever writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import psycopg
import pytest

HELPERS = ("lp.sanction_refusal", "lp.sanction_blocks", "lp.assert_sanction_allows")
ACTIONS = ("login", "stream", "tip", "hold", "payout", "message")
CALL = re.compile(r"\b(lp|api)\.(\w+)\s*\(", re.IGNORECASE)
HELPER_CALL = re.compile(
    r"\blp\.(sanction_refusal|sanction_blocks|assert_sanction_allows)\s*\(", re.IGNORECASE
)
COMMENT = re.compile(r"--[^\n]*")

SPENDS = re.compile(r"INSERT\s+INTO\s+lp\.(tips|holds)\b", re.IGNORECASE)
GOES_LIVE = re.compile(r"UPDATE\s+lp\.streams\b[^;]*\bSET\b[^;]*\bstatus\s*=\s*'live'", re.IGNORECASE)
PAYS_OUT = re.compile(
    r"INSERT\s+INTO\s+lp\.payouts\b|UPDATE\s+lp\.payouts\b[^;]*\bSET\b[^;]*\bstatus\s*=\s*'(approved|sending|paid)'",
    re.IGNORECASE,
)
LOGS_IN = re.compile(r"\blp\.set_identity\s*\(|INSERT\s+INTO\s+lp\.auth_sessions\b", re.IGNORECASE)
TIPS = re.compile(r"INSERT\s+INTO\s+lp\.tips\b", re.IGNORECASE)


def _arguments(text: str, start: int) -> str:
    """The argument list of the call whose opening parenthesis is at ``start`` (balanced, quotes skipped)."""
    depth, i, quoted = 0, start, False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return text[start + 1 :]


def _actions_checked(body: str) -> set[str]:
    found: set[str] = set()
    for match in HELPER_CALL.finditer(body):
        args = _arguments(body, match.end() - 1)
        found |= {a for a in ACTIONS if f"'{a}'" in args}
    return found


class Catalog:
    """lp and api functions by name: body (comments removed), calls, app-executable, argument names."""

    def __init__(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(
            """
            SELECT n.nspname || '.' || p.proname, p.prosrc,
                   coalesce(p.proargnames, '{}'), p.proargmodes::text[],
                   has_function_privilege('livepanty_app', p.oid, 'EXECUTE'),
                   has_function_privilege('livepanty_service', p.oid, 'EXECUTE')
              FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('lp', 'api') AND p.prokind = 'f'
            """
        ).fetchall()
        self.body: dict[str, str] = {}
        self.args: dict[str, list[str]] = {}
        self.app: set[str] = set()
        self.service: set[str] = set()
        for name, src, names, modes, app, service in rows:
            self.body[name] = self.body.get(name, "") + "\n" + COMMENT.sub("", src or "")
            # Input arguments only (a RETURNS TABLE column named message is not one); modes NULL: all inputs.
            modes = modes or ["i"] * len(names)
            self.args.setdefault(name, []).extend(n for n, m in zip(names, modes, strict=True) if m in "ibv")
            if app:
                self.app.add(name)
            if service:
                self.service.add(name)
        self.calls = {
            name: {f"{s.lower()}.{f.lower()}" for s, f in CALL.findall(body)} & set(self.body) - {name}
            for name, body in self.body.items()
        }

    def reach(self, name: str) -> set[str]:
        """The function and every lp/api function it calls, transitively."""
        seen, todo = {name}, [name]
        while todo:
            for callee in self.calls[todo.pop()]:
                if callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
        return seen

    def does(self, name: str, pattern: re.Pattern[str]) -> bool:
        return any(pattern.search(self.body[f]) for f in self.reach(name))

    def checks(self, name: str) -> set[str]:
        return set().union(*(_actions_checked(self.body[f]) for f in self.reach(name)))


@pytest.fixture(scope="module")
def catalog(template_db: str, pg_server) -> Catalog:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_server.dsn(template_db)) as conn:
        return Catalog(conn)


def _api(catalog: Catalog) -> Iterable[str]:
    return sorted(n for n in catalog.app if n.startswith("api."))


def _missing(catalog: Catalog, functions: Iterable[str], wanted: set[str]) -> list[str]:
    return [
        f"{f} (checks {sorted(catalog.checks(f)) or 'nothing'})"
        for f in functions
        if not catalog.checks(f) & wanted
    ]


def test_the_helpers_exist(catalog: Catalog) -> None:
    assert set(HELPERS) <= set(catalog.body)


def test_every_function_that_spends_checks_tip_or_hold(catalog: Catalog) -> None:
    spending = [f for f in _api(catalog) if catalog.does(f, SPENDS)]
    assert {"api.tip", "api.tip_many", "api.place_hold", "api.request_show", "api.join_show"} <= set(spending)
    assert _missing(catalog, spending, {"tip", "hold"}) == []


def test_every_function_that_goes_live_checks_stream(catalog: Catalog) -> None:
    live = [f for f in _api(catalog) if catalog.does(f, GOES_LIVE)]
    assert "api.start_stream" in live
    assert _missing(catalog, live, {"stream"}) == []


def test_every_function_that_pays_out_checks_payout(catalog: Catalog) -> None:
    functions = sorted(n for n in catalog.app | catalog.service if n.startswith("api."))
    paying = [f for f in functions if catalog.does(f, PAYS_OUT)]
    required = {"api.request_payout", "api.approve_payout", "api.send_payout", "api.mark_payout_paid"}
    assert required <= set(paying)
    assert _missing(catalog, paying, {"payout"}) == []


def test_every_function_that_logs_in_checks_login(catalog: Catalog) -> None:
    # Its own body, not what it calls: every function reaches api.current_user_id, which re-checks the proof.
    logging_in = [f for f in _api(catalog) if LOGS_IN.search(catalog.body[f])]
    assert {"api.login", "api.authenticate"} <= set(logging_in)
    assert _missing(catalog, logging_in, {"login"}) == []


def test_every_function_that_takes_a_message_checks_message(catalog: Catalog) -> None:
    messaging = [
        f for f in _api(catalog) if any("message" in a for a in catalog.args[f]) or catalog.does(f, TIPS)
    ]
    assert {"api.tip", "api.tip_many"} <= set(messaging)
    assert _missing(catalog, messaging, {"message"}) == []


def test_the_scan_sees_a_function_without_the_check() -> None:
    """The detector itself: a body that tips without the check is found and reported."""
    body = "BEGIN INSERT INTO lp.tips (x) VALUES (1); END"
    assert SPENDS.search(body)
    assert _actions_checked(body) == set()
    checked = "PERFORM lp.assert_sanction_allows(v_user, VARIADIC CASE WHEN f(x) THEN ARRAY['tip'] END);"
    assert _actions_checked(checked) == {"tip"}
