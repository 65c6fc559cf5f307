"""Every entry point that writes a security table writes its audit row, or is exempt here with a reason.

"Every security-relevant action writes ``lp.audit(...)``" (docs/CONVENTIONS.md); docs/api.md, "Audit trail",
lists the rows. Nothing is listed by hand but the expectations: the functions are found in the catalog
(pg_proc) of a migrated database, and so are the calls between them.

* A *security write* is an ``INSERT``, ``UPDATE``, ``DELETE``, ``MERGE`` or ``TRUNCATE`` of one of
  :data:`SECURITY_TABLES` (accounts: role, status, deletion, erasure, password, lockout, verification;
  sessions; reset tokens; sanctions and appeals; KYC records and decisions; settings; performer blocks;
  erasures; spending limits), or acting as a user through the back office (``lp.set_identity(...,
  'service')``, api.act_as). An ``UPDATE`` that sets only the columns of :data:`BOOKKEEPING_COLUMNS` is not
  one: the throttled ``last_seen_at`` refresh of a session by api.authenticate and api.tip_many (at most once
  a minute; "no audit row", docs/api.md).
* A function *reaches* what its body does, what the lp/api/monitoring functions it calls do (transitively),
  and what the trigger functions of every table it writes do (a write of ``lp.kyc_verifications`` reaches
  ``lp.refresh_kyc_gate``'s ``UPDATE lp.users``). Comments and string literals are not calls (a HINT naming
  api.authenticate is not a call of it).
* An *entry point* is a function of lp, api or monitoring that a role other than the owner may execute
  (livepanty_app, livepanty_service, livepanty_readonly, livepanty_mailer).

Each entry point that reaches a security write is in :data:`SCENARIOS` (a success path that calls it as
the right actor and finds exactly the audit rows it must write: action, target, actor and acting-via; each
action must also be in what the function reaches as ``lp.audit('<action>', ...)``) or in :data:`EXEMPT`
with why. A new function that writes a security table without
either fails here, whoever writes it; so does a stale entry of either list.

Out of scope: the shard and router layers of a sharded installation (db/shard, db/router), which are not in a
single database's catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

#: The tables whose writes are security-relevant, each with what it holds.
SECURITY_TABLES: dict[str, str] = {
    "users": "accounts: creation (staff too), role, deletion, erasure, password, lockout, age and KYC gate",
    "auth_sessions": "login sessions: creation, revocation, purge",
    "password_reset_tokens": "password reset tokens",
    "user_sanctions": "sanctions",
    "sanction_appeals": "appeals against sanctions",
    "sanction_requests": "sanctions sent to a user's home shard",
    "sanction_receipts": "sanctions received from another shard",
    "payout_hold_lifts": "payout_hold lifts sent to a performer's home shard",
    "payout_hold_lift_receipts": "payout_hold lifts received from another shard",
    "kyc_verifications": "KYC records and decisions",
    "kyc_aliases": "KYC records (stage names)",
    "kyc_webhook_events": "KYC decisions from the provider",
    "settings": "platform settings",
    "performer_blocks": "performer blocks of viewers",
    "erasures": "the erasure log",
    "spending_limits": "a user's spending limits",
}

#: Columns of a security table an UPDATE may set alone without it being a security write, with why.
BOOKKEEPING_COLUMNS: dict[str, dict[str, str]] = {
    "auth_sessions": {
        "last_seen_at": "throttled refresh of a live session (api.authenticate, api.tip_many); no audit row",
    },
}

#: The pseudo-table of acting as a user through the back office.
ACT_AS = "acting identity via service"

ROLES = ("livepanty_app", "livepanty_service", "livepanty_readonly", "livepanty_mailer")

WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?lp\.(\w+)",
    re.IGNORECASE,
)
CALL = re.compile(r"\b(lp|api|monitoring)\.(\w+)\s*\(", re.IGNORECASE)
AUDIT_CALL = re.compile(r"\blp\.audit\s*\(", re.IGNORECASE)
SERVICE_IDENTITY = re.compile(r"\blp\.set_identity\s*\(", re.IGNORECASE)
DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def strip_sql(src: str) -> tuple[str, str]:
    """The text without comments, and without comments or the contents of string literals (quotes kept)."""
    code, bare, i, n = [], [], 0, len(src)
    while i < n:
        ch = src[i]
        if src.startswith("--", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            code.append(" ")
            bare.append(" ")
        elif ch == "'":
            escapes = (
                i > 0 and src[i - 1] in "eE" and (i < 2 or not (src[i - 2].isalnum() or src[i - 2] == "_"))
            )
            j = i + 1
            while j < n:
                if (escapes and src[j] == "\\") or src.startswith("''", j):
                    j += 2
                elif src[j] == "'":
                    break
                else:
                    j += 1
            code.append(src[i : j + 1])
            bare.append("''")
            i = j + 1
        elif (
            ch == "$"
            and (m := DOLLAR.match(src, i))
            and not (i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_"))
        ):
            end = src.find(m.group(0), m.end())
            end = n if end < 0 else end
            code.append(src[i : end + len(m.group(0))])
            bare.append("''")
            i = end + len(m.group(0))
        else:
            code.append(ch)
            bare.append(ch)
            i += 1
    return "".join(code), "".join(bare)


def _arguments(text: str, start: int) -> list[str]:
    """The top-level arguments of the call whose opening parenthesis is at ``start`` (text without strings'
    contents is not needed: quotes are skipped)."""
    args, depth, i, quoted, begin = [], 0, start, False, start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
            if depth == 0:
                args.append(text[begin:i].strip())
                return args
        elif not quoted and ch == "," and depth == 1:
            args.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    return args


def _set_columns(statement: str) -> set[str]:
    """The columns an UPDATE statement (from UPDATE to its end) sets."""
    match = re.search(r"\bSET\b", statement, re.IGNORECASE)
    if not match:
        return set()
    clause = statement[match.end() :]
    end = re.search(r"\b(WHERE|FROM|RETURNING)\b|;", clause, re.IGNORECASE)
    clause = clause[: end.start()] if end else clause
    columns, depth, piece = set(), 0, ""
    for ch in clause + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            names = re.match(r"\s*\(?\s*([\w\s,]+?)\s*\)?\s*=", piece)
            if names:
                columns |= {c.strip().lower() for c in names.group(1).split(",")}
            piece = ""
        else:
            piece += ch
    return columns


@dataclass(frozen=True)
class Write:
    function: str
    op: str
    table: str
    columns: frozenset[str]

    @property
    def security(self) -> bool:
        if self.table == ACT_AS:
            return True
        if self.table not in SECURITY_TABLES:
            return False
        bookkeeping = set(BOOKKEEPING_COLUMNS.get(self.table, {}))
        return not (self.op == "UPDATE" and self.columns and self.columns <= bookkeeping)

    def __str__(self) -> str:
        columns = f" ({', '.join(sorted(self.columns))})" if self.columns else ""
        return f"{self.op} {self.table}{columns} in {self.function}"


def writes_of(name: str, code: str) -> list[Write]:
    """The writes of lp tables in a body (comments removed, strings kept: dynamic SQL counts)."""
    found = []
    for m in WRITE.finditer(code):
        op = m.group(1).split()[0].upper()
        columns: frozenset[str] = frozenset()
        if op == "UPDATE":
            end = code.find(";", m.end())
            columns = frozenset(_set_columns(code[m.end() : None if end < 0 else end + 1]))
        found.append(Write(name, op, m.group(2).lower(), columns))
    for m in SERVICE_IDENTITY.finditer(code):
        args = _arguments(code, m.end() - 1)
        if len(args) >= 3 and args[2] != "'session'":
            found.append(Write(name, "SET", ACT_AS, frozenset()))
    return found


def audit_actions_of(code: str) -> set[str]:
    """The actions of a body's lp.audit calls (comments removed, strings kept); '?' for a computed one."""
    actions = set()
    for m in AUDIT_CALL.finditer(code):
        args = _arguments(code, m.end() - 1)
        literal = re.fullmatch(r"'([\w.]+)'", args[0]) if args else None
        actions.add(literal.group(1) if literal else "?")
    return actions


class AuditCatalog:
    """The functions of lp, api and monitoring: their writes, calls, triggers reached and audit actions."""

    def __init__(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(
            """
            SELECT n.nspname || '.' || p.proname, p.prosrc,
                   array(SELECT r FROM unnest(%s::text[]) AS r
                          WHERE has_function_privilege(r, p.oid, 'EXECUTE'))
              FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('lp', 'api', 'monitoring') AND p.prokind IN ('f', 'p')
            """,
            [list(ROLES)],
        ).fetchall()
        self.code: dict[str, str] = {}
        self.bare: dict[str, str] = {}
        self.roles: dict[str, set[str]] = {}
        for name, src, roles in rows:
            code, bare = strip_sql(src or "")
            self.code[name] = self.code.get(name, "") + "\n" + code
            self.bare[name] = self.bare.get(name, "") + "\n" + bare
            self.roles.setdefault(name, set()).update(roles)
        self.triggers: dict[str, set[str]] = {}
        for table, function in conn.execute(
            """
            SELECT c.relname, fn.nspname || '.' || f.proname
              FROM pg_trigger AS t
              JOIN pg_class AS c ON c.oid = t.tgrelid
              JOIN pg_proc AS f ON f.oid = t.tgfoid
              JOIN pg_namespace AS fn ON fn.oid = f.pronamespace
             WHERE NOT t.tgisinternal AND c.relnamespace = 'lp'::regnamespace
            """
        ).fetchall():
            self.triggers.setdefault(table, set()).add(function)
        self.writes = {name: writes_of(name, code) for name, code in self.code.items()}
        self.actions = {name: audit_actions_of(code) for name, code in self.code.items()}
        self.calls = {
            name: (
                {f"{s.lower()}.{f.lower()}" for s, f in CALL.findall(bare)}
                | {t for w in self.writes[name] for t in self.triggers.get(w.table, ())}
            )
            & set(self.code) - {name}
            for name, bare in self.bare.items()
        }

    def reach(self, name: str) -> set[str]:
        seen, todo = {name}, [name]
        while todo:
            for callee in self.calls[todo.pop()]:
                if callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
        return seen

    def entry_points(self) -> list[str]:
        return sorted(name for name, roles in self.roles.items() if roles)

    def security_writes(self, name: str) -> list[Write]:
        return [w for f in sorted(self.reach(name)) for w in self.writes[f] if w.security]

    def bookkeeping_writes(self, name: str) -> list[Write]:
        return [
            w
            for f in sorted(self.reach(name))
            for w in self.writes[f]
            if w.table in SECURITY_TABLES and not w.security
        ]

    def audit_actions(self, name: str) -> set[str]:
        return set().union(*(self.actions[f] for f in self.reach(name)))


# -- What each entry point writes ----------------------------------------------------------------------------

#: Run before every scenario, as the superuser: the cast (tests.create_user: ada an admin, moe a moderator,
#: cleo a compliance officer, pia a verified performer, vic a viewer).
CAST = """
SELECT tests.create_user('ada', 'admin');
SELECT tests.create_user('moe', 'moderator');
SELECT tests.create_user('cleo', 'compliance_officer');
SELECT tests.create_user('pia', 'performer');
SELECT tests.create_user('vic');
SELECT tests.remember('vic', tests.user_id('vic'));  -- his id, also once erased
"""

#: vic's identity verification, submitted by him (manual review), remembered as 'kyc'.
VIC_SUBMITS = """
SELECT tests.authenticate_as('vic');
SELECT tests.remember('kyc', (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/vic/front.jpg',
                                             NULL, NULL, 'veriff', 'vf-vic', 'Victor Example')).id);
SELECT tests.clear_authentication();
"""

#: A mute of vic by moe, remembered as 'sanction'.
VIC_MUTED = """
SELECT tests.authenticate_as('moe');
SELECT tests.remember('sanction', (api.sanction_user(tests.user_id('vic'), 'mute', 'spam in chat')).id);
SELECT tests.clear_authentication();
"""

#: The review case opened last.
LATEST_CASE = "(SELECT r.id::text FROM lp.reports AS r ORDER BY r.created_at DESC, r.id DESC LIMIT 1)"

#: A session of vic (api.login), remembered as 'session'.
VIC_LOGS_IN = """
SELECT tests.authenticate_as(NULL);
SELECT tests.remember('session', (api.login('vic', tests.password())).session_id);
SELECT tests.clear_authentication();
"""


@dataclass(frozen=True)
class Row:
    """An audit row a call must write: action, target type, target id and actor (SQL, run as the superuser
    after the call; actor None: no actor)."""

    action: str
    target_type: str | None
    target: str | None
    actor: str | None


@dataclass(frozen=True)
class Scenario:
    """A success path of an entry point: ``setup`` (superuser, after :data:`CAST`), then ``call`` made by
    ``actor`` (a username; None: nobody) through ``role``: in a session (``via`` 'session':
    tests.authenticate_as; 'login': a real one, api.login then api.authenticate) or by the back office acting
    for them (``via`` 'service': api.act_as). ``rows`` are exactly the audit rows the call writes (those whose
    actor is the acting user acting via the back office say ``acting_via: service``, the others nothing)."""

    call: str
    rows: tuple[Row, ...]
    actor: str | None = None
    role: str = "livepanty_app"
    via: str = "session"
    setup: str = ""


def uid(name: str) -> str:
    return f"tests.user_id('{name}')::text"


def rid(name: str) -> str:
    return f"tests.id('{name}')::text"


#: The entry points that write a security table, each with a success path and the audit rows it writes.
SCENARIOS: dict[str, Scenario] = {
    "api.act_as": Scenario(
        "SELECT api.act_as(tests.user_id('vic'), 'ticket 42')",
        (Row("auth.act_as", "user", uid("vic"), None),),
        role="livepanty_service",
    ),
    "api.allow_kyc_retry": Scenario(
        "SELECT api.allow_kyc_retry(tests.user_id('vic'), 'new documents')",
        (Row("kyc.allow_retry", "user", uid("vic"), uid("ada")),),
        actor="ada",
        setup="""
        INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,
                                          reviewed_at, rejection_reason)
        SELECT tests.user_id('vic'), 'identity', 'declined', 'passport', 'DE', now(), 'illegible'
          FROM generate_series(1, 3);
        """,
    ),
    "api.appeal_sanction": Scenario(
        "SELECT api.appeal_sanction(tests.id('sanction'), 'It was a joke.')",
        (Row("appeal.file", "sanction", rid("sanction"), uid("vic")),),
        actor="vic",
        role="livepanty_service",
        via="service",
        setup=VIC_MUTED,
    ),
    "api.apply_kyc_webhook": Scenario(
        "SELECT api.apply_kyc_webhook('veriff', 'ev-1', 'vf-vic', 'approved', 0.99, NULL, NULL,"
        " DATE '1990-01-01')",
        (Row("kyc.webhook", "kyc_verification", rid("kyc"), None),),
        role="livepanty_service",
        setup=VIC_SUBMITS,
    ),
    "api.approve_kyc": Scenario(
        "SELECT api.approve_kyc(tests.id('kyc'))",
        (Row("kyc.approve", "kyc_verification", rid("kyc"), uid("ada")),),
        actor="ada",
        setup=VIC_SUBMITS,
    ),
    "api.block_viewer": Scenario(
        "SELECT api.block_viewer(tests.user_id('vic'), 'rude')",
        (Row("stream.block", "user", uid("vic"), uid("pia")),),
        actor="pia",
    ),
    "api.change_password": Scenario(
        "SELECT api.change_password(tests.password(), 'N3w-passw0rd!x')",
        (Row("auth.password_change", "user", uid("vic"), uid("vic")),),
        actor="vic",
    ),
    "api.chargeback_payment": Scenario(
        "SELECT api.chargeback_payment(tests.pid('payment'), 'fraudulent', 'cb-1')",
        (
            Row("payment.chargeback", "payment", "tests.pid('payment')::text", None),
            Row("sanction.issue", "user", uid("vic"), None),
            Row("case.open", "report", LATEST_CASE, None),
        ),
        role="livepanty_service",
        setup="""
        SELECT tests.authenticate_as('vic');
        SELECT tests.put('payment', api.create_payment('small', 'stripe', 'buy-1'));
        SELECT tests.authenticate_as(NULL, 'livepanty_service');
        SELECT api.complete_payment(tests.pid('payment'), 'ch_1', 'complete-1');
        SELECT tests.clear_authentication();
        """,
    ),
    "api.create_admin": Scenario(
        "SELECT tests.remember('new', (api.create_admin('neo@example.com', 'neo', tests.password(),"
        " DATE '1990-01-01')).id)",
        (Row("admin.create", "user", rid("new"), None),),
        role="livepanty_service",
    ),
    "api.decide_appeal": Scenario(
        "SELECT api.decide_appeal(tests.id('appeal'), true, 'Context shows a joke.')",
        (
            Row("appeal.decide", "sanction", rid("sanction"), uid("ada")),
            Row("sanction.revoke", "user", uid("vic"), uid("ada")),
        ),
        actor="ada",
        setup=VIC_MUTED
        + """
        SELECT tests.authenticate_as('vic');
        SELECT tests.remember('appeal', (api.appeal_sanction(tests.id('sanction'), 'It was a joke.')).id);
        SELECT tests.clear_authentication();
        """,
    ),
    "api.delete_user": Scenario(
        "SELECT api.delete_user(tests.user_id('vic'), 'spam account')",
        (Row("user.delete", "user", uid("vic"), uid("ada")),),
        actor="ada",
    ),
    "api.erase_user": Scenario(
        "SELECT api.erase_user(tests.user_id('vic'), 'erasure request by letter')",
        (Row("user.erase", "user", rid("vic"), uid("ada")),),
        actor="ada",
    ),
    "api.expire_kyc_approvals": Scenario(
        "SELECT api.expire_kyc_approvals()",
        (
            Row("kyc.approval_expired", "kyc_verification", "tests.id('pia_kyc')::text", None),
            Row("kyc.expire_approvals", "kyc_verification", None, None),
        ),
        role="livepanty_service",
        setup="""
        SELECT tests.remember('pia_kyc', (SELECT k.id FROM lp.kyc_verifications AS k
                                           WHERE k.user_id = tests.user_id('pia')));
        UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 minute'
         WHERE id = tests.id('pia_kyc');
        """,
    ),
    "api.expire_sanctions": Scenario(
        "SELECT api.expire_sanctions()",
        (
            Row("sanction.expire_review", "user", uid("vic"), None),
            Row("case.open", "report", LATEST_CASE, None),
        ),
        role="livepanty_service",
        setup="""
        SELECT tests.authenticate_as('moe');
        SELECT tests.remember('sanction', (api.sanction_user(tests.user_id('vic'), 'suspension', 'threats',
                                                             now() + interval '1 day', NULL, true)).id);
        SELECT tests.clear_authentication();
        UPDATE lp.user_sanctions
           SET starts_at = now() - interval '2 days', ends_at = now() - interval '1 hour'
         WHERE id = tests.id('sanction');
        """,
    ),
    "api.login": Scenario(
        "SELECT tests.remember('session', (api.login('vic', tests.password(), '203.0.113.9')).session_id)",
        (Row("auth.login", "session", rid("session"), uid("vic")),),
    ),
    "api.override_kyc_decision": Scenario(
        "SELECT api.override_kyc_decision(tests.id('kyc'), 'approved', 'the document was legible after all')",
        (Row("kyc.override", "kyc_verification", rid("kyc"), uid("ada")),),
        actor="ada",
        setup=VIC_SUBMITS
        + """
        SELECT tests.authenticate_as('ada');
        SELECT api.reject_kyc(tests.id('kyc'), 'illegible');
        SELECT tests.clear_authentication();
        """,
    ),
    "api.purge_personal_data": Scenario(
        "SELECT api.purge_personal_data('sessions')",
        (Row("privacy.purge", "retention_category", "'sessions'", None),),
        role="livepanty_service",
        setup=VIC_LOGS_IN
        + """
        UPDATE lp.auth_sessions
           SET created_at = now() - interval '400 days', expires_at = now() - interval '399 days'
         WHERE id = tests.id('session');
        """,
    ),
    "api.raise_flag": Scenario(
        "SELECT tests.remember('flag', (api.raise_flag('age_model', 'minor_detected', 0.99, 'profile',"
        " NULL, NULL, tests.user_id('vic'))).id)",
        (
            Row("flag.raise", "moderation_flag", rid("flag"), None),
            Row("sanction.issue", "user", uid("vic"), None),
        ),
        role="livepanty_service",
    ),
    "api.register_user": Scenario(
        "SELECT tests.remember('new', (api.register_user('neo@example.com', 'neo', tests.password(),"
        " DATE '1990-01-01')).id)",
        (Row("user.register", "user", rid("new"), rid("new")),),
    ),
    "api.reject_kyc": Scenario(
        "SELECT api.reject_kyc(tests.id('kyc'), 'illegible')",
        (Row("kyc.reject", "kyc_verification", rid("kyc"), uid("ada")),),
        actor="ada",
        setup=VIC_SUBMITS,
    ),
    "api.replay_erasure": Scenario(
        """SELECT api.replay_erasure(jsonb_build_object(
               'id', gen_random_uuid(), 'user_id', tests.user_id('vic'), 'via', 'self',
               'requested_by', tests.user_id('vic'), 'reason', NULL, 'erased_at', now() - interval '1 day',
               'erased', '{}'::jsonb, 'retained', '[]'::jsonb))""",
        (Row("user.erase_replay", "user", rid("vic"), None),),
        role="livepanty_service",
    ),
    "api.request_erasure": Scenario(
        "SELECT api.request_erasure('leaving')",
        (Row("user.erase", "user", rid("vic"), rid("vic")),),
        actor="vic",
        via="login",
    ),
    "api.request_password_reset": Scenario(
        "SELECT api.request_password_reset('vic@example.com', '203.0.113.9')",
        (
            Row("auth.password_reset_request", "user", uid("vic"), uid("vic")),
            Row(
                "outbox.enqueue",
                "message",
                "(SELECT o.id::text FROM lp.outbox AS o WHERE o.user_id = tests.user_id('vic'))",
                uid("vic"),
            ),
        ),
    ),
    "api.reset_password": Scenario(
        "SELECT api.reset_password(tests.reset_token('vic'), 'N3w-passw0rd!x')",
        (Row("auth.password_reset", "user", uid("vic"), uid("vic")),),
        setup="SELECT api.request_password_reset('vic@example.com');",
    ),
    "api.resolve_case": Scenario(
        "SELECT api.resolve_case(tests.id('case'), 'sanction', 'insults in chat', 'rule 3', 'mute')",
        (
            Row("case.resolve", "report", rid("case"), uid("moe")),
            Row("sanction.issue", "user", uid("vic"), uid("moe")),
        ),
        actor="moe",
        setup="""
        SELECT tests.authenticate_as('pia');
        SELECT tests.remember('case', (api.report('user', tests.user_id('vic'), 'harassment')).case_id);
        SELECT tests.authenticate_as('moe');
        SELECT api.claim_case();
        SELECT tests.clear_authentication();
        """,
    ),
    "api.revoke_all_sessions": Scenario(
        "SELECT api.revoke_all_sessions()",
        (Row("auth.session_revoke_all", "user", uid("vic"), uid("vic")),),
        actor="vic",
        setup=VIC_LOGS_IN,
    ),
    "api.revoke_sanction": Scenario(
        "SELECT api.revoke_sanction(tests.id('sanction'), 'mistaken identity')",
        (Row("sanction.revoke", "user", uid("vic"), uid("moe")),),
        actor="moe",
        setup=VIC_MUTED,
    ),
    "api.revoke_session": Scenario(
        "SELECT api.revoke_session(tests.id('session'))",
        (Row("auth.session_revoke", "session", rid("session"), uid("vic")),),
        actor="vic",
        setup=VIC_LOGS_IN,
    ),
    "api.sanction_user": Scenario(
        "SELECT api.sanction_user(tests.user_id('vic'), 'mute', 'spam in chat')",
        (Row("sanction.issue", "user", uid("vic"), uid("moe")),),
        actor="moe",
    ),
    "api.set_setting": Scenario(
        "SELECT api.set_setting('limits.raise_cooldown_hours', '48')",
        (Row("setting.change", "setting", "'limits.raise_cooldown_hours'", uid("ada")),),
        actor="ada",
    ),
    "api.set_spending_limit": Scenario(
        "SELECT api.set_spending_limit('daily', 100)",
        (Row("limits.change", "user", uid("vic"), uid("vic")),),
        actor="vic",
    ),
    "api.set_user_role": Scenario(
        "SELECT api.set_user_role(tests.user_id('vic'), 'moderator')",
        (Row("user.role_change", "user", uid("vic"), uid("ada")),),
        actor="ada",
    ),
    "api.submit_kyc": Scenario(
        "SELECT tests.remember('kyc', (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/vic/front.jpg')).id)",
        (Row("kyc.submit", "kyc_verification", rid("kyc"), uid("vic")),),
        actor="vic",
    ),
    "api.unblock_viewer": Scenario(
        "SELECT api.unblock_viewer(tests.user_id('vic'))",
        (Row("stream.unblock", "user", uid("vic"), uid("pia")),),
        actor="pia",
        setup="""
        SELECT tests.authenticate_as('pia');
        SELECT api.block_viewer(tests.user_id('vic'), 'rude');
        SELECT tests.clear_authentication();
        """,
    ),
    "api.unlock_user": Scenario(
        "SELECT api.unlock_user(tests.user_id('vic'), 'locked out after a typo spree')",
        (Row("user.unlock", "user", uid("vic"), uid("ada")),),
        actor="ada",
        setup="UPDATE lp.users SET locked_until = now() + interval '1 hour' WHERE id = tests.user_id('vic');",
    ),
}

#: Entry points that reach a security write without an audit row of their own, each with why.
EXEMPT: dict[str, str] = {}


AuditedRow = tuple[str, str | None, str | None, str | None, str | None]


def run_scenario(conn: psycopg.Connection, scenario: Scenario) -> tuple[list[AuditedRow], list[AuditedRow]]:
    """Runs a scenario in a transaction it rolls back: (the audit rows the call wrote, the expected ones),
    each as (action, target type, target id, actor id, acting_via)."""
    try:
        conn.execute(CAST)
        if scenario.setup:
            conn.execute(scenario.setup)
        conn.execute("SELECT tests.clear_authentication()")
        if scenario.via == "login":
            conn.execute("SELECT tests.authenticate_as(NULL, %s)", [scenario.role])
            (token,) = conn.execute(
                "SELECT (api.login(%s, tests.password())).token", [scenario.actor]
            ).fetchone()
            conn.execute("SELECT api.authenticate(%s)", [token])
        elif scenario.via == "service":
            conn.execute("SELECT tests.authenticate_as(NULL, %s)", [scenario.role])
            conn.execute("SELECT api.act_as(tests.user_id(%s), 'audit coverage')", [scenario.actor])
        else:
            conn.execute("SELECT tests.authenticate_as(%s, %s)", [scenario.actor, scenario.role])
        (acting,) = conn.execute("SELECT api.current_user_id()::text").fetchone()
        conn.execute("SET LOCAL ROLE NONE")
        (before,) = conn.execute("SELECT coalesce(max(id), 0) FROM lp.audit_logs").fetchone()
        conn.execute(f"SET LOCAL ROLE {scenario.role}")
        conn.execute(scenario.call)
        conn.execute("SELECT tests.clear_authentication()")
        written = conn.execute(
            """SELECT action, target_type, target_id, actor_id::text, details ->> 'acting_via'
                 FROM lp.audit_logs WHERE id > %s ORDER BY id""",
            [before],
        ).fetchall()
        expected = []
        for row in scenario.rows:
            target, actor = conn.execute(
                f"SELECT ({row.target or 'NULL'})::text, ({row.actor or 'NULL'})::text"
            ).fetchone()
            via = "service" if scenario.via == "service" and actor is not None and actor == acting else None
            expected.append((row.action, row.target_type, target, actor, via))
        return sorted(written, key=str), sorted(expected, key=str)
    finally:
        conn.rollback()


# -- The tests -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(template_db: str, pg_server) -> AuditCatalog:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_server.dsn(template_db)) as conn:
        return AuditCatalog(conn)


@pytest.fixture(scope="module")
def scenario_conn(template_db: str, pg_server) -> Iterator[psycopg.Connection]:  # type: ignore[no-untyped-def]
    """One clone of the template for every scenario (each runs in a transaction it rolls back)."""
    with pg_server.database(template_db) as dsn, psycopg.connect(dsn) as conn:
        yield conn


def _listing(catalog: AuditCatalog, names: list[str]) -> str:
    return "\n".join(
        f"{n}: " + "; ".join(sorted({str(w) for w in catalog.security_writes(n)})) for n in names
    )


def test_every_entry_point_that_writes_a_security_table_is_audited_or_exempt(catalog: AuditCatalog) -> None:
    writing = {n for n in catalog.entry_points() if catalog.security_writes(n)}
    # What the inventory found, reached through lp helpers and triggers: the scan must see them.
    assert {
        "api.act_as",  # lp.set_identity(..., 'service')
        "api.create_admin",  # lp.create_user
        "api.register_user",  # lp.create_user
        "api.erase_user",  # lp.erase_personal_data
        "api.request_erasure",  # lp.erase_personal_data
        "api.purge_personal_data",  # lp.destroy_kyc_records
        "api.submit_kyc",  # trigger lp.kyc_verifications_sync_gate -> lp.refresh_kyc_gate
        "api.revoke_all_sessions",  # lp.revoke_sessions
        "api.sanction_user",  # lp.issue_sanction, lp.revoke_sessions
    } <= writing
    unlisted = sorted(writing - set(SCENARIOS) - set(EXEMPT))
    assert unlisted == [], "neither audited (SCENARIOS) nor exempt (EXEMPT):\n" + _listing(catalog, unlisted)
    assert sorted((set(SCENARIOS) | set(EXEMPT)) - writing) == []  # no stale entry
    assert set(SCENARIOS) & set(EXEMPT) == set()


def test_the_throttled_session_refresh_is_the_only_unaudited_session_write(catalog: AuditCatalog) -> None:
    """api.authenticate and api.tip_many only refresh last_seen_at (at most once a minute): not a security
    write, no audit row (docs/api.md). Any other column they set would make them security writers."""
    only_bookkeeping = [
        n for n in catalog.entry_points() if catalog.bookkeeping_writes(n) and not catalog.security_writes(n)
    ]
    assert only_bookkeeping == ["api.authenticate", "api.tip_many"]
    for name in only_bookkeeping:
        assert {(w.table, w.columns) for w in catalog.bookkeeping_writes(name)} == {
            ("auth_sessions", frozenset({"last_seen_at"}))
        }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_audit_actions_are_written_where_the_call_reaches(catalog: AuditCatalog, name: str) -> None:
    expected = {row.action for row in SCENARIOS[name].rows}
    assert expected <= catalog.audit_actions(name)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_success_path_writes_exactly_its_audit_rows(scenario_conn: psycopg.Connection, name: str) -> None:
    written, expected = run_scenario(scenario_conn, SCENARIOS[name])
    assert written == expected


def test_a_session_refresh_writes_no_audit_row(scenario_conn: psycopg.Connection) -> None:
    conn = scenario_conn
    try:
        conn.execute(CAST)
        conn.execute(VIC_LOGS_IN)
        (token,) = conn.execute("SELECT (api.login('vic', tests.password())).token").fetchone()
        conn.execute("UPDATE lp.auth_sessions SET last_seen_at = now() - interval '2 minutes'")
        (before,) = conn.execute("SELECT max(id) FROM lp.audit_logs").fetchone()
        conn.execute("SET LOCAL ROLE livepanty_app")
        conn.execute("SELECT api.authenticate(%s)", [token])
        conn.execute("SELECT tests.clear_authentication()")
        refreshed = conn.execute(
            "SELECT count(*) FROM lp.auth_sessions WHERE last_seen_at >= now() - interval '1 second'"
        ).fetchone()[0]
        assert refreshed == 1
        assert conn.execute("SELECT count(*) FROM lp.audit_logs WHERE id > %s", [before]).fetchone()[0] == 0
    finally:
        conn.rollback()


def test_a_kyc_purge_that_only_closes_the_erasure_log_is_audited(scenario_conn: psycopg.Connection) -> None:
    """The kyc_records purge marks an erasure's KYC records destroyed (lp.erasures.kyc_destroyed_at, a
    security write) even when no record had personal content left to destroy (its count is 0): audited."""
    conn = scenario_conn
    try:
        conn.execute(CAST)
        conn.execute(
            """
            INSERT INTO lp.kyc_verifications (user_id, level, status, document_type)
            VALUES (tests.user_id('vic'), 'age', 'abandoned', 'passport');
            SELECT tests.authenticate_as('ada');
            SELECT api.erase_user(tests.id('vic'), 'erasure request by letter');
            SELECT tests.clear_authentication();
            UPDATE lp.erasures SET kyc_retained_until = now() - interval '1 day'
             WHERE user_id = tests.id('vic');
            """
        )
        (before,) = conn.execute("SELECT max(id) FROM lp.audit_logs").fetchone()
        conn.execute("SET LOCAL ROLE livepanty_service")
        (purged,) = conn.execute("SELECT api.purge_personal_data('kyc_records')").fetchone()
        conn.execute("RESET ROLE")
        assert purged == 1  # the erasure handled (the unit of p_limit), although no record changed
        closed = conn.execute(
            "SELECT kyc_destroyed_at IS NOT NULL FROM lp.erasures WHERE user_id = tests.id('vic')"
        ).fetchone()[0]
        assert closed
        rows = conn.execute(
            """SELECT action, target_id, actor_id, details ->> 'purged', details ->> 'erasures'
                 FROM lp.audit_logs WHERE id > %s""",
            [before],
        ).fetchall()
        assert rows == [("privacy.purge", "kyc_records", None, "0", "1")]
    finally:
        conn.rollback()


def test_a_kyc_purge_returns_the_erasures_it_handled_so_batches_end_when_none_is_left(
    scenario_conn: psycopg.Connection,
) -> None:
    """p_limit counts erasures, and so does the answer: three due erasures whose records have nothing left to
    destroy take a batch of 2 and a batch of 1 (a caller looping until a short batch stops only when none is
    left; counting records changed, the first batch came back 0 and the loop stopped with one left)."""
    conn = scenario_conn
    try:
        conn.execute(CAST)
        for name in ("vic", "wes", "xia"):
            if name != "vic":  # CAST made vic and remembers his id
                conn.execute("SELECT tests.create_user(%s)", [name])
                conn.execute("SELECT tests.remember(%(n)s, tests.user_id(%(n)s))", {"n": name})
            for statement in (
                """INSERT INTO lp.kyc_verifications (user_id, level, status, document_type)
                   VALUES (tests.user_id(%(n)s), 'age', 'abandoned', 'passport')""",
                "SELECT tests.authenticate_as('ada')",
                "SELECT api.erase_user(tests.id(%(n)s), 'erasure request by letter')",
                "SELECT tests.clear_authentication()",
            ):
                conn.execute(statement, {"n": name})
        conn.execute("UPDATE lp.erasures SET kyc_retained_until = now() - interval '1 day'")
        conn.execute("SET LOCAL ROLE livepanty_service")
        purge = "SELECT api.purge_personal_data('kyc_records', 2)"
        batches = [conn.execute(purge).fetchone()[0] for _ in range(3)]
        conn.execute("RESET ROLE")
        assert batches == [2, 1, 0]
        left = conn.execute("SELECT count(*) FROM lp.erasures WHERE kyc_destroyed_at IS NULL").fetchone()[0]
        assert left == 0
    finally:
        conn.rollback()


# -- The detector itself -------------------------------------------------------------------------------------


def test_strings_and_comments_are_not_calls() -> None:
    code, bare = strip_sql(
        "BEGIN -- api.authenticate(x)\n RAISE EXCEPTION USING HINT = 'Call api.authenticate(token) first';"
        " /* lp.revoke_sessions(u) */ PERFORM lp.audit('user.x', 'user', E'it''s \\' api.y()'); END"
    )
    assert CALL.findall(bare) == [("lp", "audit")]
    assert "api.authenticate(token)" in code
    assert "api.authenticate(x)" not in code
    assert audit_actions_of(code) == {"user.x"}


def test_the_scan_sees_security_writes_and_the_throttled_refresh() -> None:
    writes = writes_of(
        "f",
        "UPDATE lp.auth_sessions AS s SET last_seen_at = now() WHERE s.id = x;"
        " UPDATE lp.auth_sessions AS s SET revoked_at = now(),"
        " revoke_reason = CASE WHEN a = b THEN 'x' END WHERE y;"
        " INSERT INTO lp.users (id) VALUES (1); DELETE FROM lp.performer_blocks AS b WHERE true;"
        " UPDATE lp.streams SET title = 'x'; SELECT 1 FROM lp.users FOR UPDATE OF u;"
        " PERFORM lp.set_identity(v_user, NULL, 'service');"
        " PERFORM lp.set_identity(v_user, v_session, 'session');",
    )
    assert [(w.op, w.table, sorted(w.columns), w.security) for w in writes] == [
        ("UPDATE", "auth_sessions", ["last_seen_at"], False),
        ("UPDATE", "auth_sessions", ["revoke_reason", "revoked_at"], True),
        ("INSERT", "users", [], True),
        ("DELETE", "performer_blocks", [], True),
        ("UPDATE", "streams", ["title"], False),
        ("SET", ACT_AS, [], True),
    ]
