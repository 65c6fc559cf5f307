"""Python exceptions for the error catalogue of docs/errors.md.

Every rejection raised by an ``api`` function carries a five-character SQLSTATE of class ``LP``. The client
turns each psycopg error into one :class:`LivepantyError` subclass with :func:`translate`; the original
psycopg error is kept as ``__cause__``. :data:`ERRORS_BY_CODE` is the one mapping table (a test checks it
against docs/errors.md and against every ``ERRCODE = 'LPxxx'`` under db/).
"""

from __future__ import annotations

import re

import psycopg
from psycopg.conninfo import conninfo_to_dict


class LivepantyError(Exception):
    """Base class: a call to the livepanty database was refused.

    ``sqlstate`` is the five-character code (``LP015``, ``22P02``, ...); ``message``, ``detail`` and ``hint``
    are the server's texts (detail and hint may be None). Tests and callers should look at the class or the
    code, never at the message.
    """

    #: The catalogue code of the class (None for the classes that cover several SQLSTATEs).
    code: str | None = None
    #: True for a refusal the API reported in its result (api.login, api.change_password) rather than raised:
    #: its transaction is sound and must be committed for the failure counter and audit record to persist.
    in_band: bool = False
    #: True for :class:`TransientError` (the call may succeed if repeated); False for refusals and the rest.
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate if sqlstate is not None else self.code
        self.message = message
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        return f"[{self.sqlstate}] {self.message}" if self.sqlstate else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sqlstate={self.sqlstate!r}, message={self.message!r})"


# --- access -------------------------------------------------------------------------------------------------


class NotAuthenticated(LivepantyError):
    """LP001: no platform user acts in the transaction, or the acting user was deleted."""

    code = "LP001"


class PermissionDenied(LivepantyError):
    """LP002: the acting user's platform role may not do this (also SQLSTATE 42501 from PostgreSQL)."""

    code = "LP002"


class NotFound(LivepantyError):
    """LP003: the object does not exist, or the acting user may not see it."""

    code = "LP003"


class InvalidState(LivepantyError):
    """LP004: the object is not in a state that allows the operation."""

    code = "LP004"


class IdentityNotProven(LivepantyError):
    """LP005: an acting identity was claimed without proof (set by hand, at session level, or carried over
    from another transaction); only ``api.authenticate`` and ``api.act_as`` establish one."""

    code = "LP005"


# --- validation ---------------------------------------------------------------------------------------------


class InvalidEmail(LivepantyError):
    """LP010: e-mail missing, too long or malformed."""

    code = "LP010"


class InvalidUsername(LivepantyError):
    """LP011: username missing, malformed or reserved."""

    code = "LP011"


class WeakPassword(LivepantyError):
    """LP012: the password breaks a strength rule."""

    code = "LP012"


class Underage(LivepantyError):
    """LP013: younger than auth.minimum_age_years."""

    code = "LP013"


class InvalidDateOfBirth(LivepantyError):
    """LP014: date of birth missing, in the future, or before 1900-01-02."""

    code = "LP014"


class EmailTaken(LivepantyError):
    """LP015: another active account has this e-mail."""

    code = "LP015"


class UsernameTaken(LivepantyError):
    """LP016: another active account has this username."""

    code = "LP016"


class InvalidRole(LivepantyError):
    """LP017: unknown platform role, or one that cannot be chosen at registration."""

    code = "LP017"


class InvalidArgument(LivepantyError):
    """LP018: any other malformed argument (also SQLSTATE class 22 from PostgreSQL)."""

    code = "LP018"


# --- authentication -----------------------------------------------------------------------------------------


class InvalidCredentials(LivepantyError):
    """LP020: login failed, or the current password given to change_password is wrong."""

    code = "LP020"


class AccountSanctioned(LivepantyError):
    """LP022: the user is under an active suspension or ban."""

    code = "LP022"


class InvalidSession(LivepantyError):
    """LP023: session token unknown, revoked, expired, or its user deleted."""

    code = "LP023"


class ResetTokenInvalid(LivepantyError):
    """LP024: password reset token unknown (or its user deleted)."""

    code = "LP024"


class ResetTokenExpired(LivepantyError):
    """LP025: password reset token expired or superseded."""

    code = "LP025"


class ResetTokenUsed(LivepantyError):
    """LP026: password reset token already used."""

    code = "LP026"


class PasswordUnchanged(LivepantyError):
    """LP027: the new password equals the current one."""

    code = "LP027"


# --- administration -----------------------------------------------------------------------------------------


class LastAdmin(LivepantyError):
    """LP030: demoting or deleting the only active admin."""

    code = "LP030"


class AppendOnly(LivepantyError):
    """LP090: UPDATE, DELETE or TRUNCATE on an append-only table."""

    code = "LP090"


class UnknownSetting(LivepantyError):
    """LP091: no runtime setting has this key."""

    code = "LP091"


class InvalidSettingValue(LivepantyError):
    """LP092: a setting value of the wrong JSON type or out of its range."""

    code = "LP092"


# --- token economy ------------------------------------------------------------------------------------------


class InsufficientFunds(LivepantyError):
    """LP100: the wallet's available balance (balance - reserved) does not cover the debit."""

    code = "LP100"


class SelfPayment(LivepantyError):
    """LP101: tipping yourself, or placing a hold for yourself."""

    code = "LP101"


class RecipientNotPerformer(LivepantyError):
    """LP102: tips, holds and payouts are for performers only."""

    code = "LP102"


class AmountOutOfRange(LivepantyError):
    """LP103: an amount outside its range (not positive, above money.max_tokens, outside the tips range)."""

    code = "LP103"


class StreamNotLive(LivepantyError):
    """LP104: the stream named is not the recipient's (or a hold's payee's) live stream."""

    code = "LP104"


class SpendingLimitExceeded(LivepantyError):
    """LP105: the spend would exceed one of the viewer's own daily/weekly/monthly limits."""

    code = "LP105"


class IdempotencyConflict(LivepantyError):
    """LP106: an idempotency key already used with different arguments."""

    code = "LP106"


class WalletInDebt(LivepantyError):
    """LP107: the wallet owes tokens after a refund or chargeback (shortfall policy debt) and cannot spend."""

    code = "LP107"


class RecipientSanctioned(LivepantyError):
    """LP108: the recipient or payee is under an active suspension or ban."""

    code = "LP108"


class HoldNotOpen(LivepantyError):
    """LP109: capturing or releasing a hold that is captured, released or expired."""

    code = "LP109"


class CaptureExceedsHold(LivepantyError):
    """LP110: capturing more than the hold still reserves."""

    code = "LP110"


class KycRequired(LivepantyError):
    """LP111: a payout without an approved, unexpired identity verification."""

    code = "LP111"


class PayoutExceedsPayable(LivepantyError):
    """LP112: a payout larger than the earnings that are available and older than payouts.hold_days."""

    code = "LP112"


class UnknownBundle(LivepantyError):
    """LP113: no active token bundle has this code."""

    code = "LP113"


class SendAlone(LivepantyError):
    """LP114: ``api.tip_many`` did not apply this tip in the batch (spending limit, or earnings to sweep):
    send it with ``api.tip``. The client's batcher does so by itself."""

    code = "LP114"


class GoLiveRefused(LivepantyError):
    """LP120: the go-live gate refused a stream; ``detail`` names each performer on camera and what they lack
    (approved identity verification, consent for the stream, an active account without sanction)."""

    code = "LP120"


class AlreadyLive(LivepantyError):
    """LP121: the host has another stream live (one live stream per host)."""

    code = "LP121"


class InvalidStreamKey(LivepantyError):
    """LP122: not the current ingest key of a live stream."""

    code = "LP122"


class NotWatching(LivepantyError):
    """LP123: no open viewing session of this stream (never joined, left, timed out, ended, blocked): join
    again."""

    code = "LP123"


class BlockedByPerformer(LivepantyError):
    """LP124: the performer has blocked this user (from their streams, their tips and holds)."""

    code = "LP124"


class EventsPurged(LivepantyError):
    """LP125: a stream's events after this position were purged: resync (read the stream, then the events
    from the start)."""

    code = "LP125"


class MenuItemUnavailable(LivepantyError):
    """LP126: the tip menu item is inactive: it cannot be bought now (told to staff only; to anyone else an
    inactive item is :class:`NotFound`, as an unknown one)."""

    code = "LP126"


class MenuPriceMismatch(LivepantyError):
    """LP127: a tip that buys a menu item pays exactly its price; ``detail`` says the price."""

    code = "LP127"


class ShowNotOffered(LivepantyError):
    """LP128: the performer offers no such show (no price set, or disabled), or a private show takes no spies
    (no spy rate)."""

    code = "LP128"


class KycRecordFrozen(LivepantyError):
    """LP130: the record of an approved identity verification (documents, legal name, date of birth, stage
    names) is kept unchanged; only its destruction at the end of the legal retention is allowed."""

    code = "LP130"


class KycAttemptsExhausted(LivepantyError):
    """LP131: the user reached kyc.max_declines declined verifications: an admin must allow one more
    (``allow_kyc_retry``) before they can submit again."""

    code = "LP131"


class KycReferenceTaken(LivepantyError):
    """LP132: the provider reference belongs to another user's verification (``submit_kyc``), or
    verifications of more than one user hold it, so the provider's event is applied to neither
    (``apply_kyc_webhook``)."""

    code = "LP132"


class PayeeNotVerified(LivepantyError):
    """LP135: the performer holds no valid identity verification (never verified, or re-verification needed
    after their approval expired): they cannot be paid (tips, holds, captures) until a new approval."""

    code = "LP135"


class CannotReportSelf(LivepantyError):
    """LP140: nobody can report themselves (their user, profile, stream or tip message)."""

    code = "LP140"


class AlreadyReported(LivepantyError):
    """LP141: the reporter already filed a report on this open case (one filing per reporter per case)."""

    code = "LP141"


class CaseClaimedByOther(LivepantyError):
    """LP142: another moderator's claim on this review case is running; only the claimant may work it."""

    code = "LP142"


class CaseNotClaimed(LivepantyError):
    """LP143: the caller holds no running claim on this review case (never claimed, released or expired):
    claim it again (``claim_case``)."""

    code = "LP143"


class ClaimLimitReached(LivepantyError):
    """LP144: the caller's claim on this review case already runs to ``review.max_claim_minutes`` after it
    was taken and cannot be extended: resolve or release the case before it runs out (then anyone may claim
    it)."""

    code = "LP144"


class ReportLimitReached(LivepantyError):
    """LP145: the caller filed ``review.max_reports_per_hour`` reports in the last sixty minutes; ``hint``
    says when the next may be filed. A refusal: repeating the call at once is refused again."""

    code = "LP145"


class SanctionForbids(LivepantyError):
    """LP150: a sanction in force (mute, tip_block, stream_block, payout_hold) forbids this action; ``hint``
    names the sanction (it may be appealed)."""

    code = "LP150"


class AppealWindowClosed(LivepantyError):
    """LP151: the sanction is older than ``appeals.window_days``: it can no longer be appealed."""

    code = "LP151"


class AlreadyAppealed(LivepantyError):
    """LP152: the sanction was already appealed (one appeal per sanction)."""

    code = "LP152"


class NewAccountLimit(LivepantyError):
    """LP160: a new account (younger than ``fraud.new_account_days``, or without a completed payment) is over
    one of its caps on a tip or a hold (holds count as tips) or a purchase (at once or per UTC day);
    ``detail`` says which."""

    code = "LP160"


class VelocityLimit(LivepantyError):
    """LP161: too many tips and holds (``fraud.tips_per_hour``) or purchases (``fraud.purchases_per_hour``) in
    this UTC clock hour; the account is in the fraud review queue, ``hint`` says when to try again."""

    code = "LP161"


class ErasureBlocked(LivepantyError):
    """LP170: the account has money in flight (open holds, payouts in progress, pending payments; ``detail``
    says which): it cannot be erased until they finish."""

    code = "LP170"


class RecentLoginRequired(LivepantyError):
    """LP171: asking for one's own erasure, or deleting one's own account (an admin's included),
    needs a session opened by a login a few minutes ago (``privacy.erasure_login_minutes``); the back office
    acting in the user's name cannot do either."""

    code = "LP171"


class InvalidArchiveBoundary(LivepantyError):
    """LP190: the archive boundary is not a UTC month start, is after the current month or below the current
    boundary, or the partition is not below it."""

    code = "LP190"


class RowsInDefaultPartition(LivepantyError):
    """LP191: rows before the archive boundary wait in a default partition: run ``livepanty-db jobs
    partitions`` first."""

    code = "LP191"


class ArchiveCutsChain(LivepantyError):
    """LP192: the archive boundary would cut an account's chain (``detail``: the account and the entries)."""

    code = "LP192"


class NotAMonthPartition(LivepantyError):
    """LP193: not an attached monthly partition of lp.ledger or lp.audit_logs."""

    code = "LP193"


class CheckpointMismatch(LivepantyError):
    """LP194: the checkpoint at the archive boundary is missing or no longer matches the ledger before it."""

    code = "LP194"


class ArchiveContentMismatch(LivepantyError):
    """LP195: an archive file (or restored rows) that does not hold exactly the partition's rows; nothing was
    detached or restored."""

    code = "LP195"


class ArchiveNotFound(LivepantyError):
    """LP196: no archived partition with this id waits to be restored."""

    code = "LP196"


class ArchivesOutstanding(LivepantyError):
    """LP197: partitions are archived: migration 0035 cannot be rolled back (0057 applied or rolled back)
    before they are restored."""

    code = "LP197"


class LedgerArchived(LivepantyError):
    """LP198: the ledger entries a read needs (api.balance_at at that time) are in archive files."""

    code = "LP198"


class LedgerInvariant(LivepantyError):
    """LP199: internal ledger invariant (unbalanced posting, missing system wallet or shard): a bug."""

    code = "LP199"


# --- errors from PostgreSQL itself --------------------------------------------------------------------------


class ConstraintViolation(LivepantyError):
    """SQLSTATE class 23: a constraint caught what validation did not (should not happen through the API)."""


class DatabaseError(LivepantyError):
    """Anything else PostgreSQL or the driver raised; the psycopg error is the ``__cause__``."""


class TransientError(DatabaseError):
    """Not a refusal: the call did not happen for a reason that may pass: a deadlock or serialization failure
    (class 40), a lock or statement timeout (55P03, 57014), the server shutting down or restarting
    (57P01..57P03), a lost or impossible connection (class 08, :class:`ConnectionFailed`). ``sqlstate`` is
    always set. The transaction was rolled back; when the outcome of a COMMIT is unknown (the connection died
    during it) the call may or may not have happened, so retry money calls with the same idempotency key
    (docs/api.md "Retrying"; :func:`livepanty_db.retry.call_with_retry`, which repeats such a call only when
    told it is idempotent, else raises :class:`OutcomeUnknown`).
    """

    transient = True


class ConnectionFailed(TransientError):
    """No connection to the database: it could not be opened (SQLSTATE 08001: bad host, refused, timeout,
    authentication failure reported by the driver, no pooled connection in time) or was lost (08006)."""


class OutcomeUnknown(DatabaseError):
    """The call may or may not have happened, and was not repeated: its connection was lost while it ran
    (SQLSTATE class 08 other than 08001; 57P01, 57P02: the server ended the session) or a shard's answer was
    lost (LP200), so a COMMIT may have happened whose answer never came. Raised by
    :func:`livepanty_db.retry.call_with_retry` instead of repeating a call not declared ``idempotent``: a
    state-changing call without an idempotency key repeated after it did commit would be done twice, or
    refused (``InvalidState``) for what succeeded. Not transient: look at the data (or repeat the call with an
    idempotency key, which the server answers from what the first attempt did). ``sqlstate`` is the lost
    connection's; the :class:`TransientError` is the ``__cause__``; ``detail`` its message."""


class ShardUnavailable(TransientError):
    """LP200: the shard that owns the user (or one of the shards a call needs) did not answer through the
    router: the call did not happen there; retry later (money calls with the same idempotency key)."""

    code = "LP200"


class WrongShard(LivepantyError):
    """LP201: the router does not know where the user lives (not in its directory), or a call reached a shard
    that does not own it: nothing was done (the router never guesses)."""

    code = "LP201"


class NotRouted(LivepantyError):
    """LP202: this function is not available through the router of a sharded installation (docs/scale-out.md
    lists what is routed); call it on the shard, or on a single node."""

    code = "LP202"


class CrossShardUnsupported(LivepantyError):
    """LP203: what cannot span two shards of a sharded installation (docs/scale-out.md): a show asked for or
    joined by a viewer of another shard than the stream's, a hold for a payee of another shard placed or
    captured on a shard itself, a sanction on the stub of a user of another shard."""

    code = "LP203"


class TransfersOutstanding(LivepantyError):
    """LP204: cross-shard transfers (or holds naming another shard's stream, sanction requests, or tips of 0
    net tokens) exist: migration 0038 (0040, 0041, 0042, 0043, 0044, 0046) cannot be rolled back here."""

    code = "LP204"


class TransactionTooOld(TransientError):
    """LP205: tokens would move in a transaction begun more than ``ledger.max_transaction_seconds`` ago (a
    ledger entry is dated by its transaction's start): nothing was done; roll back and retry in a new
    transaction (money calls with the same idempotency key)."""

    code = "LP205"


#: The one mapping table: catalogue code -> exception class (docs/errors.md).
ERRORS_BY_CODE: dict[str, type[LivepantyError]] = {
    cls.code: cls
    for cls in (
        NotAuthenticated,
        PermissionDenied,
        NotFound,
        InvalidState,
        IdentityNotProven,
        InvalidEmail,
        InvalidUsername,
        WeakPassword,
        Underage,
        InvalidDateOfBirth,
        EmailTaken,
        UsernameTaken,
        InvalidRole,
        InvalidArgument,
        InvalidCredentials,
        AccountSanctioned,
        InvalidSession,
        ResetTokenInvalid,
        ResetTokenExpired,
        ResetTokenUsed,
        PasswordUnchanged,
        LastAdmin,
        AppendOnly,
        UnknownSetting,
        InvalidSettingValue,
        InsufficientFunds,
        SelfPayment,
        RecipientNotPerformer,
        AmountOutOfRange,
        StreamNotLive,
        SpendingLimitExceeded,
        IdempotencyConflict,
        WalletInDebt,
        RecipientSanctioned,
        HoldNotOpen,
        CaptureExceedsHold,
        KycRequired,
        PayoutExceedsPayable,
        UnknownBundle,
        SendAlone,
        GoLiveRefused,
        AlreadyLive,
        InvalidStreamKey,
        NotWatching,
        BlockedByPerformer,
        EventsPurged,
        MenuItemUnavailable,
        MenuPriceMismatch,
        ShowNotOffered,
        KycRecordFrozen,
        KycAttemptsExhausted,
        KycReferenceTaken,
        PayeeNotVerified,
        CannotReportSelf,
        AlreadyReported,
        CaseClaimedByOther,
        CaseNotClaimed,
        ClaimLimitReached,
        ReportLimitReached,
        SanctionForbids,
        AppealWindowClosed,
        AlreadyAppealed,
        NewAccountLimit,
        VelocityLimit,
        ErasureBlocked,
        RecentLoginRequired,
        InvalidArchiveBoundary,
        RowsInDefaultPartition,
        ArchiveCutsChain,
        NotAMonthPartition,
        CheckpointMismatch,
        ArchiveContentMismatch,
        ArchiveNotFound,
        ArchivesOutstanding,
        LedgerArchived,
        ShardUnavailable,
        WrongShard,
        NotRouted,
        CrossShardUnsupported,
        TransfersOutstanding,
        TransactionTooOld,
        LedgerInvariant,
    )
    if cls.code is not None
}

#: SQLSTATEs raised by PostgreSQL itself: exact codes first, then two-character classes.
POSTGRES_SQLSTATES: dict[str, type[LivepantyError]] = {
    "42501": PermissionDenied,
    "55P03": TransientError,
    "57014": TransientError,
    "57P01": TransientError,
    "57P02": TransientError,
    "57P03": TransientError,
}
POSTGRES_CLASSES: dict[str, type[LivepantyError]] = {
    "22": InvalidArgument,
    "23": ConstraintViolation,
    "40": TransientError,
    "08": ConnectionFailed,
}


def class_for_sqlstate(sqlstate: str | None) -> type[LivepantyError]:
    """The exception class for a SQLSTATE (DatabaseError when nothing more specific applies)."""
    if not sqlstate:
        return DatabaseError
    if sqlstate in ERRORS_BY_CODE:
        return ERRORS_BY_CODE[sqlstate]
    if sqlstate in POSTGRES_SQLSTATES:
        return POSTGRES_SQLSTATES[sqlstate]
    return POSTGRES_CLASSES.get(sqlstate[:2], DatabaseError)


#: SQLSTATEs given to connection failures the driver reports without one.
CONNECTION_NOT_ESTABLISHED = "08001"
CONNECTION_LOST = "08006"
#: Transient SQLSTATEs after which a call may have committed: the server ended the session (57P01 an
#: administrator or `livepanty-db shards end-stuck`, 57P02 a crash) or a shard's answer was lost (LP200).
SESSION_ENDED_SQLSTATES = frozenset({"57P01", "57P02", "LP200"})


def outcome_may_be_unknown(error: LivepantyError) -> bool:
    """True for a transient failure after which the call may have happened: a connection lost while the call
    ran (class 08 but 08001, which is a connection never opened: nothing was sent), the session ended by the
    server, a shard's answer lost (:data:`SESSION_ENDED_SQLSTATES`). A deadlock, serialization failure or
    timeout (40xxx, 55P03, 57014) is the server's answer: the transaction was rolled back."""
    code = error.sqlstate or ""
    if code == CONNECTION_NOT_ESTABLISHED:
        return False
    return code.startswith("08") or code in SESSION_ENDED_SQLSTATES


def outcome_unknown(error: LivepantyError) -> OutcomeUnknown:
    """:class:`OutcomeUnknown` for a failure of which :func:`outcome_may_be_unknown` is true (its cause)."""
    unknown = OutcomeUnknown(
        "the connection was lost while the call ran: it may or may not have happened, and was not repeated",
        sqlstate=error.sqlstate,
        detail=error.message,
        hint="Check whether it happened before doing it again; a call with an idempotency key may be "
        "repeated with the same key (call_with_retry(..., idempotent=True)): the server answers it from the "
        "first.",
    )
    unknown.__cause__ = error
    return unknown


#: The SQLSTATE given to a value psycopg refuses to send (a NUL character in text), PostgreSQL's own for it.
CHARACTER_NOT_IN_REPERTOIRE = "22021"


#: A password in a libpq URI (``postgresql://user:PASSWORD@host``) or in key=value conninfo.
_URI_PASSWORD = re.compile(r"(://[^\s/@:\"']*:)[^\s/\"']*@")
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s\"]+)", re.IGNORECASE)
_QUOTED = re.compile(r'"([^"]*)"')
MASK = "***"


def one_line(text: str) -> str:
    """A driver's multi-line message as one line: libpq's tab-indented continuation (``Is the server running
    ...?``) in parentheses after the line it explains, other lines joined with ``; `` (with a space after a
    line that ends with a colon: ``All failures were: - host: ...``); blank lines dropped."""
    joined = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not joined:
            joined = line
        elif raw.startswith("\t"):
            joined += f" ({line})"
        elif joined.endswith(":"):
            joined += f" {line}"
        else:
            joined += f"; {line}"
    return joined


def _parsed_password(conninfo: str) -> str | None:
    """The password of a DSN libpq can parse (``""`` when it has none), None when it cannot parse it."""
    try:
        return conninfo_to_dict(conninfo).get("password") or ""
    except psycopg.Error:
        return None


def redact_secrets(text: str, conninfo: str | None = None) -> str:
    """``text`` (a driver's message about a connection) with any password of a DSN in it masked: the password
    of a URI or of ``password=...``, and, when ``conninfo`` is given, any piece of it libpq quoted back from
    its password: of a DSN libpq can parse, a quoted piece of its password (a host or database name quoted in
    the message stays readable); of a DSN it could not parse (``missing "=" after "..."``), any quoted piece
    of the DSN from its password on, as where the password ends is not known."""
    text = _URI_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    if conninfo:
        start = _password_start(conninfo)
        if start >= 0:
            password = _parsed_password(conninfo)
            secret = conninfo[start:] if password is None else password

            def quoted(match: re.Match[str]) -> str:
                piece = match.group(1)
                return f'"{MASK}"' if piece.strip("= ") and piece in secret else match.group(0)

            text = _QUOTED.sub(quoted, text)
    return text


def _password_start(conninfo: str) -> int:
    """Where the password of ``conninfo`` begins (after ``password=`` or a URI's ``user:``), or -1."""
    starts = []
    keyword = re.search(r"\bpassword\s*=?\s*", conninfo, re.IGNORECASE)
    if keyword:
        starts.append(keyword.end())
    uri = _URI_PASSWORD.search(conninfo)
    if uri:
        starts.append(uri.start() + len(uri.group(1)))
    return min(starts, default=-1)


def _redact_error(exc: psycopg.Error, conninfo: str | None) -> None:
    """Mask DSN passwords in the text of ``exc`` itself (it stays the ``__cause__``, which logs print)."""
    if exc.args and isinstance(exc.args[0], str):
        redacted = redact_secrets(exc.args[0], conninfo)
        if redacted != exc.args[0]:
            exc.args = (redacted, *exc.args[1:])


def translate(exc: psycopg.Error, *, connecting: bool = False, conninfo: str | None = None) -> LivepantyError:
    """The :class:`LivepantyError` for a psycopg error, with ``exc`` as its ``__cause__``.

    Use as ``raise translate(exc) from exc`` (``__cause__`` is also set here, for callers that do not).
    ``connecting``: the error came from opening a connection. An OperationalError without a SQLSTATE (the
    driver's own report of a refused, unreachable or lost connection) becomes :class:`ConnectionFailed` with
    08001 (while connecting) or 08006 (a connection that was open), libpq's multi-line text on one line
    (:func:`one_line`; the psycopg error keeps it as it was). A DataError without a SQLSTATE (psycopg
    refused to send a value: a NUL character in text) becomes :class:`InvalidArgument` with 22021. The
    message of a connection that could not be opened never carries a DSN's password (libpq quotes a DSN it
    cannot parse back, with its password; ``conninfo``: the DSN used, to mask the pieces of its password
    libpq may quote): masked in ``exc`` too.
    """
    if connecting:
        _redact_error(exc, conninfo)
    diag = exc.diag
    sqlstate = diag.sqlstate or getattr(exc, "sqlstate", None)
    message = diag.message_primary or str(exc).strip() or type(exc).__name__
    if not sqlstate and (connecting or isinstance(exc, psycopg.OperationalError)):
        error: LivepantyError = ConnectionFailed(
            one_line(message), sqlstate=CONNECTION_NOT_ESTABLISHED if connecting else CONNECTION_LOST
        )
    elif not sqlstate and isinstance(exc, psycopg.DataError):
        # a value the driver itself refuses to send (a NUL character in text): the caller's bad argument, as
        # PostgreSQL's own 22021 (character_not_in_repertoire) would be, not a DatabaseError
        error = InvalidArgument(message, sqlstate=CHARACTER_NOT_IN_REPERTOIRE)
    else:
        error = class_for_sqlstate(sqlstate)(
            message, sqlstate=sqlstate, detail=diag.message_detail, hint=diag.message_hint
        )
    error.__cause__ = exc
    return error


def connection_failed(exc: BaseException) -> ConnectionFailed:
    """:class:`ConnectionFailed` (08001) for a failure to get a connection that is not a psycopg error (a
    pool's timeout)."""
    error = ConnectionFailed(one_line(str(exc)) or type(exc).__name__, sqlstate=CONNECTION_NOT_ESTABLISHED)
    error.__cause__ = exc
    return error


def error_for_code(
    code: str, message: str, *, detail: str | None = None, hint: str | None = None
) -> LivepantyError:
    """The exception for a code reported in-band (``api.login``'s ``error_code``), as if raised."""
    error = class_for_sqlstate(code)(message, sqlstate=code, detail=detail, hint=hint)
    error.in_band = True
    return error
