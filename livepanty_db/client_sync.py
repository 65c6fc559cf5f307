"""The synchronous client: GENERATED from client_async.py by tools/async_to_sync.py; do not edit.

Edit livepanty_db/client_async.py and run ``make generate`` (tests/py/test_generated_client.py fails
while this file is stale). The design is described in :mod:`livepanty_db.client`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self
from uuid import UUID

import psycopg
from psycopg.rows import RowFactory, class_row, scalar_row, tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from livepanty_db import events, sql
from livepanty_db._client_common import (
    DEFAULT_LEASE,
    DEFAULT_MAX_REPLICA_LAG,
    MAX_POOL_SIZE,
    MAX_TRACKED_WRITERS,
    POOL_TIMEOUT,
    PRIMARY_LSN,
    REPLICA_CHECK_INTERVAL,
    REPLICA_CONNECT_TIMEOUT,
    REPLICA_POSITION,
    REPLICA_RETRY_AFTER,
    Id,
    IpAddress,
    ReplicaState,
    T,
    _connect_kwargs,
    _erasure_entry,
    _EveryThread,
    _is_read_only,
    _jsonb,
    _login_outcome,
    _lsn,
    _password_change_outcome,
    _refuse_aborted,
    _replica_sources,
    _role_statement,
    _seconds,
    _snapshot_statement,
    _transaction_statement,
    _users_in,
    _writers_in,
)
from livepanty_db.errors import LivepantyError, connection_failed, translate
from livepanty_db.models import (
    Adjustment,
    AppealQueueEntry,
    ArchivePlan,
    ArchiveRecord,
    Authenticated,
    Bundle,
    CaseDecision,
    DetectorPrecision,
    EarningsSummary,
    Erasure,
    ErasureReplay,
    FraudLimit,
    GoalSettlement,
    Hold,
    HoldCapture,
    KycRecord,
    KycVerification,
    KycWebhookEvent,
    LedgerChunk,
    LedgerEntry,
    LedgerPeriod,
    LedgerTotals,
    LedgerViolation,
    LoginResult,
    ModerationFlag,
    MySanction,
    OutboxMessage,
    PartitionMade,
    PasswordChangeResult,
    Payment,
    Payout,
    PerformerBlock,
    PerformerTopTipper,
    Preferences,
    PublicProfile,
    ReportFiling,
    ReviewCase,
    ReviewQueueEntry,
    Sanction,
    SanctionAppeal,
    Session,
    SessionInfo,
    Setting,
    Show,
    ShowBilling,
    ShowParticipant,
    ShowPrice,
    SpendingLimit,
    SpendingLimitStatus,
    Stream,
    StreamConsent,
    StreamEvent,
    StreamGoal,
    StreamListing,
    StreamShow,
    StreamStart,
    StreamStats,
    StreamSummary,
    StreamViewer,
    Tip,
    TipGoal,
    TipListing,
    TipMenuItem,
    TipOutcome,
    TipRequest,
    TopTipper,
    UserAccount,
    UserSummary,
    Viewing,
    Wallet,
)

__all__ = ["Client", "Transaction"]


class _Api:
    """The API methods, written once for :class:`Transaction` and :class:`Client` (``_fetch``)."""

    def _fetch(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> list[T]:
        raise NotImplementedError

    def _one(self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]) -> T:
        return (self._fetch(query, params, row_factory))[0]

    def _optional(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> T | None:
        rows = self._fetch(query, params, row_factory)
        return rows[0] if rows else None

    # --- identity and sessions ------------------------------------------------------------------------------

    def register_user(
        self,
        *,
        email: str,
        username: str,
        password: str,
        date_of_birth: date | str,
        role: str = "viewer",
        display_name: str | None = None,
        country_code: str | None = None,
        ip_address: IpAddress | None = None,
    ) -> UserAccount:
        """Register a viewer or performer (``api.register_user``)."""
        params = {
            "email": email,
            "username": username,
            "password": password,
            "date_of_birth": date_of_birth,
            "role": role,
            "display_name": display_name,
            "country_code": country_code,
            "ip_address": ip_address,
        }
        return self._one(sql.REGISTER_USER, params, class_row(UserAccount))

    def create_admin(
        self,
        *,
        email: str,
        username: str,
        password: str,
        date_of_birth: date | str,
        display_name: str | None = None,
    ) -> UserAccount:
        """Create an admin account (``api.create_admin``; needs ``livepanty_service`` or a superuser)."""
        params = {
            "email": email,
            "username": username,
            "password": password,
            "date_of_birth": date_of_birth,
            "display_name": display_name,
        }
        return self._one(sql.CREATE_ADMIN, params, class_row(UserAccount))

    def login(
        self,
        login: str,
        password: str,
        *,
        ip_address: IpAddress | None = None,
        user_agent: str | None = None,
        device_info: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
    ) -> Session:
        """Log in by e-mail or username (``api.login``): a :class:`Session` with the token (shown only here).

        Raises ``InvalidCredentials`` (LP020) or ``AccountSanctioned`` (LP022) for refused logins; the failure
        counter and audit record are committed all the same when called on the client.
        """
        params = {
            "login": login,
            "password": password,
            "ip_address": ip_address,
            "user_agent": user_agent,
            "device_info": _jsonb(device_info),
            "ttl": ttl,
        }
        return _login_outcome(self._one(sql.LOGIN, params, class_row(LoginResult)))

    def authenticate(self, token: str) -> Authenticated:
        """Validate a session token (``api.authenticate``); inside a transaction its user then acts."""
        return self._one(sql.AUTHENTICATE, {"token": token}, class_row(Authenticated))

    def act_as(self, user_id: Id, reason: str) -> Authenticated:
        """Back office (``livepanty_service``): ``user_id`` acts, audited with ``reason`` (``api.act_as``).

        Inside a transaction the user then acts; :meth:`Client.acting_as` is the usual way in."""
        return self._one(sql.ACT_AS, {"user_id": user_id, "reason": reason}, class_row(Authenticated))

    def current_user_id(self) -> UUID | None:
        """The platform user acting in the transaction, or None (``api.current_user_id``)."""
        return self._one(sql.CURRENT_USER_ID, None, scalar_row)

    def list_sessions(
        self, user_id: Id | None = None, *, include_ended: bool = False
    ) -> list[SessionInfo]:
        """The acting user's sessions (admins: ``user_id``'s), newest first (``api.list_sessions``)."""
        params = {"user_id": user_id, "include_ended": include_ended}
        return self._fetch(sql.LIST_SESSIONS, params, class_row(SessionInfo))

    def revoke_session(self, session_id: Id | None = None) -> SessionInfo:
        """Revoke one session; default the current one, i.e. log out (``api.revoke_session``)."""
        return self._one(sql.REVOKE_SESSION, {"session_id": session_id}, class_row(SessionInfo))

    def revoke_all_sessions(self, user_id: Id | None = None, *, keep_current: bool = False) -> int:
        """Revoke every live session of the acting user (admins: of ``user_id``); returns how many."""
        params = {"user_id": user_id, "keep_current": keep_current}
        return self._one(sql.REVOKE_ALL_SESSIONS, params, scalar_row)

    def change_password(
        self, current_password: str, new_password: str, *, ip_address: IpAddress | None = None
    ) -> int:
        """Change the acting user's password; returns how many other sessions were revoked.

        A wrong current password raises ``InvalidCredentials`` (LP020), reported in-band by the API so that
        it counts towards the lockout: called on the client, that count is committed first.
        """
        params = {
            "current_password": current_password,
            "new_password": new_password,
            "ip_address": ip_address,
        }
        result = self._one(sql.CHANGE_PASSWORD, params, class_row(PasswordChangeResult))
        return _password_change_outcome(result)

    def request_password_reset(self, email: str, *, ip_address: IpAddress | None = None) -> None:
        """Queue a reset e-mail for the account with this address (``api.request_password_reset``).

        Returns nothing, the same for an unknown address: tell the user "if this address has an account, an
        e-mail is on its way". The token goes to the mailer only (:meth:`claim_messages`).
        """
        params = {"email": email, "ip_address": ip_address}
        self._one(sql.REQUEST_PASSWORD_RESET, params, scalar_row)

    def reset_password(
        self, token: str, new_password: str, *, ip_address: IpAddress | None = None
    ) -> UUID:
        """Set a new password with a reset token; returns the user id (``api.reset_password``)."""
        params = {"token": token, "new_password": new_password, "ip_address": ip_address}
        return self._one(sql.RESET_PASSWORD, params, scalar_row)

    # --- preferences ----------------------------------------------------------------------------------------

    def get_preferences(self) -> Preferences:
        """The acting user's preferences (``api.get_preferences``)."""
        return self._one(sql.GET_PREFERENCES, None, class_row(Preferences))

    def update_preferences(
        self,
        *,
        language: str | None = None,
        timezone: str | None = None,
        theme: str | None = None,
        email_notifications: bool | None = None,
        push_notifications: bool | None = None,
        tip_notifications: bool | None = None,
        marketing_emails: bool | None = None,
        show_online_status: bool | None = None,
        content_filter: str | None = None,
    ) -> Preferences:
        """Update the acting user's preferences; None leaves a field unchanged."""
        params = {
            "language": language,
            "timezone": timezone,
            "theme": theme,
            "email_notifications": email_notifications,
            "push_notifications": push_notifications,
            "tip_notifications": tip_notifications,
            "marketing_emails": marketing_emails,
            "show_online_status": show_online_status,
            "content_filter": content_filter,
        }
        return self._one(sql.UPDATE_PREFERENCES, params, class_row(Preferences))

    # --- users (staff) --------------------------------------------------------------------------------------

    def get_user(self, user_id: Id | None = None) -> UserAccount:
        """The acting user's account, or (moderators, admins) anyone's (``api.get_user``)."""
        return self._one(sql.GET_USER, {"user_id": user_id}, class_row(UserAccount))

    def find_user(self, login: str) -> UserAccount:
        """Moderators and admins: the active user with this e-mail or username (``api.find_user``)."""
        return self._one(sql.FIND_USER, {"login": login}, class_row(UserAccount))

    def list_users(
        self,
        *,
        role: str | None = None,
        after: Id | None = None,
        limit: int = 50,
        include_deleted: bool = False,
    ) -> list[UserAccount]:
        """Moderators and admins: users in registration order; ``after`` = last id of the previous page."""
        params = {"role": role, "after": after, "limit": limit, "include_deleted": include_deleted}
        return self._fetch(sql.LIST_USERS, params, class_row(UserAccount))

    def set_user_role(self, user_id: Id, role: str) -> UserAccount:
        """Admins: change a user's platform role (``api.set_user_role``)."""
        return self._one(sql.SET_USER_ROLE, {"user_id": user_id, "role": role}, class_row(UserAccount))

    def delete_user(self, user_id: Id | None = None, *, reason: str | None = None) -> UserAccount:
        """Soft-delete the acting user, or (admins) any user (``api.delete_user``).

        Anyone deleting their own account, an admin included, must act through a session opened by a login at
        most ``privacy.erasure_login_minutes`` ago: ``RecentLoginRequired`` (LP171) otherwise. An admin
        deleting another user needs no recent login.
        """
        return self._one(
            sql.DELETE_USER, {"user_id": user_id, "reason": reason}, class_row(UserAccount)
        )

    def unlock_user(self, user_id: Id, reason: str) -> UserAccount:
        """Admins: lift the lockout of an account too many failed logins locked (``api.unlock_user``)."""
        return self._one(
            sql.UNLOCK_USER, {"user_id": user_id, "reason": reason}, class_row(UserAccount)
        )

    # --- privacy: erasure and retention ---------------------------------------------------------------------

    def request_erasure(self, *, reason: str | None = None) -> Erasure:
        """The acting user's own erasure, through a session opened by a recent login
        (``api.request_erasure``); ``retained`` of the result says what is kept, until when and why."""
        return self._one(sql.REQUEST_ERASURE, {"reason": reason}, class_row(Erasure))

    def erase_user(self, user_id: Id, reason: str) -> Erasure:
        """Admins and compliance officers: erase a user's personal data (``api.erase_user``)."""
        return self._one(sql.ERASE_USER, {"user_id": user_id, "reason": reason}, class_row(Erasure))

    def list_erasures(self, *, after: Id | None = None, limit: int = 1000) -> list[Erasure]:
        """Service role: the erasure log in id order, ``limit`` rows after ``after``."""
        return self._fetch(sql.LIST_ERASURES, {"after": after, "limit": limit}, class_row(Erasure))

    def replay_erasure(self, entry: Erasure | Mapping[str, Any]) -> ErasureReplay:
        """Service role: re-apply one exported erasure after restoring an older backup."""
        return self._one(sql.REPLAY_ERASURE, {"entry": _erasure_entry(entry)}, class_row(ErasureReplay))

    def purge_personal_data(self, category: str, *, limit: int = 1000) -> int:
        """Service role: one retention purge batch of ``category``; repeat until it returns < ``limit``."""
        return self._one(sql.PURGE_PERSONAL_DATA, {"category": category, "limit": limit}, scalar_row)

    # --- moderation -----------------------------------------------------------------------------------------

    def sanction_user(
        self,
        user_id: Id,
        sanction_type: str,
        reason: str,
        *,
        ends_at: datetime | None = None,
        report_id: Id | None = None,
        review_on_expiry: bool = False,
    ) -> Sanction:
        """Moderators and admins: warning, mute, tip_block, stream_block, payout_hold, suspension (needs
        ``ends_at``; ``review_on_expiry`` sends the account back to review when it ends) or ban
        (``api.sanction_user``)."""
        params = {
            "user_id": user_id,
            "type": sanction_type,
            "reason": reason,
            "ends_at": ends_at,
            "report_id": report_id,
            "review_on_expiry": review_on_expiry,
        }
        return self._one(sql.SANCTION_USER, params, class_row(Sanction))

    def revoke_sanction(self, sanction_id: Id, reason: str) -> Sanction:
        """Moderators and admins: lift a sanction early (``api.revoke_sanction``)."""
        params = {"sanction_id": sanction_id, "reason": reason}
        return self._one(sql.REVOKE_SANCTION, params, class_row(Sanction))

    def my_sanctions(self, include_past: bool = False) -> list[MySanction]:
        """The acting user's sanctions, newest first, with what each forbids and its appeal
        (``api.my_sanctions``); by default those in force, still to start or with an appeal pending."""
        return self._fetch(sql.MY_SANCTIONS, {"include_past": include_past}, class_row(MySanction))

    def expire_sanctions(self, limit: int = 100) -> int:
        """Service role job: ended review_on_expiry suspensions go back to the review queue, each once
        (``api.expire_sanctions``); returns how many it handled."""
        return self._one(sql.EXPIRE_SANCTIONS, {"limit": limit}, scalar_row)

    def appeal_sanction(self, sanction_id: Id, statement: str) -> SanctionAppeal:
        """The sanctioned user appeals one of their sanctions, once, within ``appeals.window_days``
        (``api.appeal_sanction``): ``AlreadyAppealed`` (LP152), ``AppealWindowClosed`` (LP151)."""
        params = {"sanction_id": sanction_id, "statement": statement}
        return self._one(sql.APPEAL_SANCTION, params, class_row(SanctionAppeal))

    def decide_appeal(self, appeal_id: Id, granted: bool, reasons: str) -> SanctionAppeal:
        """A moderator or admin other than the sanction's issuer decides an appeal with reasons
        (``api.decide_appeal``): granted lifts the sanction, denied keeps it."""
        params = {"appeal_id": appeal_id, "granted": granted, "reasons": reasons}
        return self._one(sql.DECIDE_APPEAL, params, class_row(SanctionAppeal))

    def list_appeals(
        self, status: str | None = "pending", *, limit: int = 50
    ) -> list[AppealQueueEntry]:
        """Moderators and admins: the appeals queue, oldest first (``api.list_appeals``; ``status`` None:
        all), each with ``may_decide`` for the reader."""
        params = {"status": status, "limit": limit}
        return self._fetch(sql.LIST_APPEALS, params, class_row(AppealQueueEntry))

    # --- review queue: reports and automated flags ----------------------------------------------------------

    def report(
        self, target_type: str, target_id: Id, reason: str, description: str | None = None
    ) -> ReportFiling:
        """Any user reports a user, stream, tip message or profile (``api.report``); merged into the open case
        of that target and reason. ``CannotReportSelf`` (LP140), ``AlreadyReported`` (LP141),
        ``ReportLimitReached`` (LP145: ``review.max_reports_per_hour`` reports in the last hour; staff and
        the back office acting for a user are not limited). The filing's ``case_id`` and ``trusted`` are the
        reporter's to read (docs/api.md, ``api.report``, "What the answer tells the reporter")."""
        params = {
            "target_type": target_type, "target_id": target_id, "reason": reason, "description": description,
        }  # fmt: skip
        return self._one(sql.REPORT, params, class_row(ReportFiling))

    def claim_case(self) -> ReviewCase | None:
        """Moderators and admins: claim the next case of the queue with a lease (``api.claim_case``, SKIP
        LOCKED); None when the queue is empty."""
        return self._optional(sql.CLAIM_CASE, None, class_row(ReviewCase))

    def extend_case_claim(self, case_id: Id) -> ReviewCase:
        """Renew the caller's running claim (``api.extend_case_claim``), never past
        ``review.max_claim_minutes`` after it was taken: ``CaseClaimedByOther`` (LP142), ``CaseNotClaimed``
        (LP143), ``ClaimLimitReached`` (LP144)."""
        return self._one(sql.EXTEND_CASE_CLAIM, {"case_id": case_id}, class_row(ReviewCase))

    def release_case(self, case_id: Id) -> ReviewCase:
        """Give a claimed case back to the queue (``api.release_case``)."""
        return self._one(sql.RELEASE_CASE, {"case_id": case_id}, class_row(ReviewCase))

    def resolve_case(
        self,
        case_id: Id,
        action: str,
        facts: str,
        rule: str,
        sanction_type: str | None = None,
        sanction_ends_at: datetime | None = None,
    ) -> ReviewCase:
        """The claimant resolves a case with a statement of reasons (``api.resolve_case``): dismiss, warn,
        remove_content, end_stream or sanction (``sanction_type``, ``sanction_ends_at``)."""
        params = {
            "case_id": case_id, "action": action, "facts": facts, "rule": rule,
            "sanction_type": sanction_type, "sanction_ends_at": sanction_ends_at,
        }  # fmt: skip
        return self._one(sql.RESOLVE_CASE, params, class_row(ReviewCase))

    def review_queue(
        self,
        status: str | None = None,
        overdue_only: bool = False,
        reason: str | None = None,
        source: str | None = None,
        after: Id | None = None,
        *,
        limit: int = 50,
    ) -> list[ReviewQueueEntry]:
        """Moderators and admins: the queue in claim order, keyset paginated (``after``: the last case id
        of the previous page), with what is overdue (``api.review_queue``)."""
        params = {
            "status": status, "overdue_only": overdue_only, "reason": reason, "source": source,
            "after": after, "limit": limit,
        }  # fmt: skip
        return self._fetch(sql.REVIEW_QUEUE, params, class_row(ReviewQueueEntry))

    def my_case_decisions(self, limit: int = 50) -> list[CaseDecision]:
        """The decisions about the acting user with their statements of reasons
        (``api.my_case_decisions``)."""
        return self._fetch(sql.MY_CASE_DECISIONS, {"limit": limit}, class_row(CaseDecision))

    def escalate_cases(self, limit: int = 100) -> int:
        """Service role job: escalate cases close to or past due (``api.escalate_cases``); returns how
        many."""
        return self._one(sql.ESCALATE_CASES, {"limit": limit}, scalar_row)

    def raise_flag(
        self,
        detector: str,
        category: str,
        confidence: float | Decimal,
        content_type: str,
        content_ref: str | None = None,
        stream_id: Id | None = None,
        user_id: Id | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ModerationFlag:
        """Service role (detectors): record an automated detection; by the category thresholds it is ignored,
        queued or acted upon at once (``api.raise_flag``)."""
        params = {
            "detector": detector, "category": category, "confidence": confidence,
            "content_type": content_type,
            "content_ref": content_ref, "stream_id": stream_id, "user_id": user_id,
            "details": Jsonb(dict(details or {})),
        }  # fmt: skip
        return self._one(sql.RAISE_FLAG, params, class_row(ModerationFlag))

    def detector_precision(self) -> list[DetectorPrecision]:
        """Moderators and admins: each detector's confirmed and dismissed flags and precision
        (``api.detector_precision``)."""
        return self._fetch(sql.DETECTOR_PRECISION, None, class_row(DetectorPrecision))

    # --- settings -------------------------------------------------------------------------------------------

    def list_settings(self) -> list[Setting]:
        """Admins: every runtime setting (``api.list_settings``)."""
        return self._fetch(sql.LIST_SETTINGS, None, class_row(Setting))

    def set_setting(self, key: str, value: Any) -> Setting:
        """Admins: change a runtime setting; ``value`` is any JSON value (``api.set_setting``)."""
        return self._one(sql.SET_SETTING, {"key": key, "value": Jsonb(value)}, class_row(Setting))

    # --- public reads ---------------------------------------------------------------------------------------

    def public_profile(self, user_id: Id) -> PublicProfile | None:
        """The public face of an active user, or None (``api.public_profile``)."""
        return self._optional(sql.PUBLIC_PROFILE, {"user_id": user_id}, class_row(PublicProfile))

    def stream_stats(self, stream_id: Id) -> StreamStats | None:
        """Aggregate statistics of a stream that is not deleted, or None (``api.stream_stats``)."""
        return self._optional(sql.STREAM_STATS, {"stream_id": stream_id}, class_row(StreamStats))

    def user_summary(self) -> list[UserSummary]:
        """The rows of ``api.user_summary`` this reader may see (RLS), in registration order."""
        return self._fetch(sql.USER_SUMMARY, None, class_row(UserSummary))

    def stream_summary(self) -> list[StreamSummary]:
        """The rows of ``api.stream_summary`` this reader may see (RLS), latest first."""
        return self._fetch(sql.STREAM_SUMMARY, None, class_row(StreamSummary))

    # --- token economy: tips --------------------------------------------------------------------------------

    def tip(
        self,
        recipient_id: Id,
        amount: int,
        *,
        idempotency_key: str,
        stream_id: Id | None = None,
        message: str | None = None,
        is_anonymous: bool = False,
        menu_item_id: Id | None = None,
    ) -> Tip:
        """The acting user tips a performer ``amount`` tokens (``api.tip``); the platform fee is split off.

        A retry with the same ``idempotency_key`` returns the original tip (``IdempotencyConflict`` if the
        arguments differ). ``InsufficientFunds``, ``SelfPayment``, ``RecipientNotPerformer``,
        ``AmountOutOfRange``, ``StreamNotLive``, ``SpendingLimitExceeded``, ``WalletInDebt``,
        ``RecipientSanctioned`` ...: see docs/errors.md. With ``menu_item_id`` (an item of the recipient's
        menu) ``amount`` is its price: ``MenuItemUnavailable`` (inactive), ``MenuPriceMismatch`` (the detail
        says the price). A tip naming a live stream counts toward its active goal; toward a refund_if_missed
        goal it waits in escrow (``status`` escrowed) until :meth:`settle_tip_goals`.
        """
        params = {
            "recipient_id": recipient_id,
            "amount": amount,
            "idempotency_key": idempotency_key,
            "stream_id": stream_id,
            "message": message,
            "is_anonymous": is_anonymous,
            "menu_item_id": menu_item_id,
        }
        return self._one(sql.TIP, params, class_row(Tip))

    def tip_many(self, tips: Sequence[TipRequest]) -> list[TipOutcome]:
        """Many tips of many senders in one call (``api.tip_many``), each authenticated by its own session
        token: one :class:`TipOutcome` per tip, in order. A refused tip changes nothing and does not fail the
        others; ``SendAlone`` (LP114) asks for :meth:`tip` instead.
        :class:`livepanty_db.batcher.TipBatcher` coalesces concurrent single tips into such calls."""
        params = {"tips": Jsonb([t.as_json() for t in tips])}
        return self._fetch(sql.TIP_MANY, params, class_row(TipOutcome))

    def list_tips(
        self, as_: str = "sender", *, user_id: Id | None = None, after: Id | None = None, limit: int = 50
    ) -> list[TipListing]:
        """Tips the acting user sent (``as_="sender"``) or received (``"recipient"``), newest first.

        Admins may name ``user_id``. An anonymous sender is None except for the sender and admins. Keyset
        pagination: ``after`` = the last id of the previous page.
        """
        params = {"as": as_, "user_id": user_id, "after": after, "limit": limit}
        return self._fetch(sql.LIST_TIPS, params, class_row(TipListing))

    # --- token economy: holds -------------------------------------------------------------------------------

    def place_hold(
        self,
        payee_id: Id,
        amount: int,
        *,
        idempotency_key: str,
        purpose: str = "private_show",
        expires_in: timedelta | None = None,
        stream_id: Id | None = None,
    ) -> Hold:
        """Reserve ``amount`` of the acting user's available tokens for a performer (``api.place_hold``).

        ``expires_in`` defaults to (and may not exceed) ``holds.max_minutes``. Idempotent per holder and key.
        """
        params = {
            "payee_id": payee_id,
            "amount": amount,
            "idempotency_key": idempotency_key,
            "purpose": purpose,
            "expires_in": expires_in,
            "stream_id": stream_id,
        }
        return self._one(sql.PLACE_HOLD, params, class_row(Hold))

    def capture_hold(self, hold_id: Id, amount: int, *, idempotency_key: str) -> HoldCapture:
        """The payee (or the service role, nobody acting) takes ``amount`` of an open hold.

        The fee split applies. ``CaptureExceedsHold`` beyond what remains, ``HoldNotOpen`` once it is closed.
        Idempotent per hold and key.
        """
        params = {"hold_id": hold_id, "amount": amount, "idempotency_key": idempotency_key}
        return self._one(sql.CAPTURE_HOLD, params, class_row(HoldCapture))

    def release_hold(self, hold_id: Id, *, idempotency_key: str) -> Hold:
        """The holder or payee (or the service role) ends an open hold; the rest becomes available again."""
        params = {"hold_id": hold_id, "idempotency_key": idempotency_key}
        return self._one(sql.RELEASE_HOLD, params, class_row(Hold))

    def get_hold(self, hold_id: Id) -> Hold:
        """One hold (holder, payee, admin or service role); an overdue open hold is expired on the way."""
        return self._one(sql.GET_HOLD, {"hold_id": hold_id}, class_row(Hold))

    def list_holds(
        self,
        as_: str = "holder",
        *,
        status: str | None = None,
        after: Id | None = None,
        limit: int = 50,
    ) -> list[Hold]:
        """The acting user's holds as ``"holder"`` or ``"payee"``, newest first; ``after``: see list_tips."""
        params = {"as": as_, "status": status, "after": after, "limit": limit}
        return self._fetch(sql.LIST_HOLDS, params, class_row(Hold))

    def expire_holds(self, limit: int = 1000) -> int:
        """Service role job: expire up to ``limit`` overdue open holds; returns how many expired."""
        return self._one(sql.EXPIRE_HOLDS, {"limit": limit}, scalar_row)

    # --- token economy: spending limits ---------------------------------------------------------------------

    def set_spending_limit(self, period: str, limit_tokens: int | None) -> SpendingLimit:
        """Cap the acting user's own spending per ``"daily"``, ``"weekly"`` or ``"monthly"`` period.

        ``None`` removes the cap. Lowering applies at once; raising or removing waits
        ``limits.raise_cooldown_hours`` (the pending fields).
        """
        params = {"period": period, "limit_tokens": limit_tokens}
        return self._one(sql.SET_SPENDING_LIMIT, params, class_row(SpendingLimit))

    def get_spending_limits(self) -> list[SpendingLimitStatus]:
        """The acting user's spending limits as they stand now, with what remains in each window."""
        return self._fetch(sql.GET_SPENDING_LIMITS, None, class_row(SpendingLimitStatus))

    def get_fraud_limits(self, user_id: Id | None = None) -> list[FraudLimit]:
        """The fraud controls on the acting user's money (``tip`` and ``purchase`` rows); another user's for
        moderators and admins (``api.get_fraud_limits``)."""
        return self._fetch(sql.GET_FRAUD_LIMITS, {"user_id": user_id}, class_row(FraudLimit))

    # --- token economy: bundles and payments ----------------------------------------------------------------

    def list_bundles(self) -> list[Bundle]:
        """The token bundles on sale (admins: all of them), smallest first (``api.list_bundles``)."""
        return self._fetch(sql.LIST_BUNDLES, None, class_row(Bundle))

    def set_bundle(
        self, code: str, tokens: int, price_minor: int, *, currency: str = "USD", active: bool = True
    ) -> Bundle:
        """Admins: create or change a token bundle (price in minor units of ``currency``; audited)."""
        params = {
            "code": code,
            "tokens": tokens,
            "price_minor": price_minor,
            "currency": currency,
            "active": active,
        }
        return self._one(sql.SET_BUNDLE, params, class_row(Bundle))

    def create_payment(self, bundle_code: str, provider: str, *, idempotency_key: str) -> Payment:
        """The acting user starts buying a bundle: a pending payment (``api.create_payment``; idempotent)."""
        params = {"bundle_code": bundle_code, "provider": provider, "idempotency_key": idempotency_key}
        return self._one(sql.CREATE_PAYMENT, params, class_row(Payment))

    def complete_payment(
        self, payment_id: Id, provider_reference: str, *, idempotency_key: str
    ) -> Payment:
        """Service role: the provider confirmed a pending payment; its tokens are credited to the buyer."""
        params = {
            "payment_id": payment_id,
            "provider_reference": provider_reference,
            "idempotency_key": idempotency_key,
        }
        return self._one(sql.COMPLETE_PAYMENT, params, class_row(Payment))

    def fail_payment(
        self, payment_id: Id, reason: str | None = None, *, idempotency_key: str
    ) -> Payment:
        """Service role: the provider declined a pending payment; no token moves (``api.fail_payment``)."""
        params = {"payment_id": payment_id, "reason": reason, "idempotency_key": idempotency_key}
        return self._one(sql.FAIL_PAYMENT, params, class_row(Payment))

    def refund_payment(self, payment_id: Id, reason: str, *, idempotency_key: str) -> Payment:
        """Service role: refund a completed payment (spent tokens follow ``refunds.shortfall_policy``)."""
        params = {"payment_id": payment_id, "reason": reason, "idempotency_key": idempotency_key}
        return self._one(sql.REFUND_PAYMENT, params, class_row(Payment))

    def chargeback_payment(self, payment_id: Id, reason: str, *, idempotency_key: str) -> Payment:
        """Service role: record a chargeback (clawed back like a refund; the buyer is flagged for review)."""
        params = {"payment_id": payment_id, "reason": reason, "idempotency_key": idempotency_key}
        return self._one(sql.CHARGEBACK_PAYMENT, params, class_row(Payment))

    def get_payment(self, payment_id: Id) -> Payment:
        """One payment: the buyer's own, or any for admins (``api.get_payment``)."""
        return self._one(sql.GET_PAYMENT, {"payment_id": payment_id}, class_row(Payment))

    def list_payments(
        self,
        *,
        user_id: Id | None = None,
        status: str | None = None,
        after: Id | None = None,
        limit: int = 50,
    ) -> list[Payment]:
        """Payments newest first: the acting user's; admins any user's or (``user_id`` None) everyone's."""
        params = {"user_id": user_id, "status": status, "after": after, "limit": limit}
        return self._fetch(sql.LIST_PAYMENTS, params, class_row(Payment))

    # --- token economy: adjustments -------------------------------------------------------------------------

    def adjust_balance(
        self, user_id: Id, amount: int, reason: str, *, idempotency_key: str
    ) -> Adjustment:
        """Admins: a correcting transfer (positive credits the user), with a mandatory reason; audited."""
        params = {"user_id": user_id, "amount": amount, "reason": reason, "idempotency_key": idempotency_key}
        return self._one(sql.ADJUST_BALANCE, params, class_row(Adjustment))

    # --- token economy: identity verification (KYC) ---------------------------------------------------------

    def submit_kyc(
        self,
        *,
        document_type: str,
        document_country: str,
        document_front_url: str,
        level: str = "identity",
        document_back_url: str | None = None,
        selfie_url: str | None = None,
        provider: str = "manual",
        provider_reference: str | None = None,
        legal_name: str | None = None,
        aliases: Sequence[str] | None = None,
    ) -> KycVerification:
        """The acting user submits a verification (document images as ``s3://bucket/key`` locations; the
        legal name is encrypted in the database and never returned; ``aliases`` are stage names)."""
        params = {
            "level": level,
            "document_type": document_type,
            "document_country": document_country,
            "document_front_url": document_front_url,
            "document_back_url": document_back_url,
            "selfie_url": selfie_url,
            "provider": provider,
            "provider_reference": provider_reference,
            "legal_name": legal_name,
            "aliases": None if aliases is None else list(aliases),
        }
        return self._one(sql.SUBMIT_KYC, params, class_row(KycVerification))

    def approve_kyc(
        self,
        verification_id: Id,
        *,
        expires_at: datetime | None = None,
        verified_date_of_birth: date | str | None = None,
    ) -> KycVerification:
        """Admins: approve a pending verification, optionally until ``expires_at`` (``api.approve_kyc``)."""
        params = {
            "verification_id": verification_id,
            "expires_at": expires_at,
            "verified_date_of_birth": verified_date_of_birth,
        }
        return self._one(sql.APPROVE_KYC, params, class_row(KycVerification))

    def reject_kyc(
        self,
        verification_id: Id,
        reason: str,
        *,
        verified_date_of_birth: date | str | None = None,
    ) -> KycVerification:
        """Admins: reject a pending verification with a reason (``api.reject_kyc``), optionally with the date
        of birth read from the document: a minor's makes the rejection an underage finding (the user's earlier
        approvals end, a critical case is filed)."""
        params = {
            "verification_id": verification_id,
            "reason": reason,
            "verified_date_of_birth": verified_date_of_birth,
        }
        return self._one(sql.REJECT_KYC, params, class_row(KycVerification))

    def get_kyc_status(self, user_id: Id | None = None) -> KycVerification | None:
        """The latest verification of the acting user (admins: ``user_id``'s), or None if there is none."""
        return self._optional(sql.GET_KYC_STATUS, {"user_id": user_id}, class_row(KycVerification))

    def list_pending_kyc(self, *, after: Id | None = None, limit: int = 50) -> list[KycVerification]:
        """Admins: the pending verifications, oldest first; ``after`` = last id of the previous page."""
        params = {"after": after, "limit": limit}
        return self._fetch(sql.LIST_PENDING_KYC, params, class_row(KycVerification))

    def expire_kyc_approvals(self, limit: int = 1000) -> int:
        """Service role job: mark expired up to ``limit`` approvals past their document expiry or
        ``kyc.approval_valid_days`` (their performers need re-verification; live streams end), then recompute
        gates a changed period left stale (``api.expire_kyc_approvals``); returns how many it handled."""
        return self._one(sql.EXPIRE_KYC_APPROVALS, {"limit": limit}, scalar_row)

    def apply_kyc_webhook(
        self,
        provider: str,
        event_id: str,
        provider_reference: str,
        status: str,
        *,
        score: Decimal | float | None = None,
        reasons: Sequence[str] | None = None,
        document_expires_on: date | str | None = None,
        verified_date_of_birth: date | str | None = None,
        occurred_at: datetime | None = None,
    ) -> KycWebhookEvent:
        """Service role: apply one provider webhook, once per (provider, event id); a repeat returns the
        same event and changes nothing (``api.apply_kyc_webhook``)."""
        params = {
            "provider": provider,
            "event_id": event_id,
            "provider_reference": provider_reference,
            "status": status,
            "score": score,
            "reasons": None if reasons is None else list(reasons),
            "document_expires_on": document_expires_on,
            "verified_date_of_birth": verified_date_of_birth,
            "occurred_at": occurred_at,
        }
        return self._one(sql.APPLY_KYC_WEBHOOK, params, class_row(KycWebhookEvent))

    def override_kyc_decision(self, verification_id: Id, status: str, reason: str) -> KycVerification:
        """Admins: override the decision on a verification with ``approved`` or ``declined`` and a reason
        (``api.override_kyc_decision``)."""
        params = {"verification_id": verification_id, "status": status, "reason": reason}
        return self._one(sql.OVERRIDE_KYC_DECISION, params, class_row(KycVerification))

    def allow_kyc_retry(self, user_id: Id, reason: str) -> int:
        """Admins: let a user at ``kyc.max_declines`` declines submit once more; returns the declines left
        (``api.allow_kyc_retry``)."""
        return self._one(sql.ALLOW_KYC_RETRY, {"user_id": user_id, "reason": reason}, scalar_row)

    def kyc_record(self, verification_id: Id) -> KycRecord:
        """Compliance officers: the decrypted record of a verification (legal name, date of birth, documents,
        stage names); every read is audited (``api.kyc_record``)."""
        return self._one(sql.KYC_RECORD, {"verification_id": verification_id}, class_row(KycRecord))

    # --- token economy: payouts -----------------------------------------------------------------------------

    def request_payout(self, tokens: int, method: str, *, idempotency_key: str) -> Payout:
        """The acting performer cashes out matured earnings (needs approved KYC; ``api.request_payout``)."""
        params = {"tokens": tokens, "method": method, "idempotency_key": idempotency_key}
        return self._one(sql.REQUEST_PAYOUT, params, class_row(Payout))

    def approve_payout(self, payout_id: Id, *, idempotency_key: str) -> Payout:
        """Admins: approve a requested payout for payment (``api.approve_payout``)."""
        params = {"payout_id": payout_id, "idempotency_key": idempotency_key}
        return self._one(sql.APPROVE_PAYOUT, params, class_row(Payout))

    def reject_payout(self, payout_id: Id, reason: str, *, idempotency_key: str) -> Payout:
        """Admins: reject a requested or approved payout; its tokens return to the performer."""
        params = {"payout_id": payout_id, "reason": reason, "idempotency_key": idempotency_key}
        return self._one(sql.REJECT_PAYOUT, params, class_row(Payout))

    def send_payout(self, payout_id: Id, *, idempotency_key: str) -> Payout:
        """Service role: claim an approved payout right before releasing its transfer, under the gates of the
        moment (``SanctionForbids``, ``AccountSanctioned``, ``KycRequired``: the payout stays approved, send
        nothing); it is then ``sending`` until ``mark_payout_paid`` or ``mark_payout_failed``
        (``api.send_payout``)."""
        params = {"payout_id": payout_id, "idempotency_key": idempotency_key}
        return self._one(sql.SEND_PAYOUT, params, class_row(Payout))

    def mark_payout_paid(
        self, payout_id: Id, provider_reference: str, *, idempotency_key: str
    ) -> Payout:
        """Service role: a sending (or approved) payout was paid; its tokens leave circulation."""
        params = {
            "payout_id": payout_id,
            "provider_reference": provider_reference,
            "idempotency_key": idempotency_key,
        }
        return self._one(sql.MARK_PAYOUT_PAID, params, class_row(Payout))

    def mark_payout_failed(self, payout_id: Id, reason: str, *, idempotency_key: str) -> Payout:
        """Service role: paying an approved or sending payout failed; its tokens return to the performer."""
        params = {"payout_id": payout_id, "reason": reason, "idempotency_key": idempotency_key}
        return self._one(sql.MARK_PAYOUT_FAILED, params, class_row(Payout))

    def cancel_payout(self, payout_id: Id, *, idempotency_key: str) -> Payout:
        """The acting user withdraws their own payout while it is still requested (``api.cancel_payout``)."""
        params = {"payout_id": payout_id, "idempotency_key": idempotency_key}
        return self._one(sql.CANCEL_PAYOUT, params, class_row(Payout))

    def list_payouts(
        self,
        *,
        user_id: Id | None = None,
        status: str | None = None,
        after: Id | None = None,
        limit: int = 50,
    ) -> list[Payout]:
        """Payouts newest first: the acting user's; admins any user's or (``user_id`` None) everyone's."""
        params = {"user_id": user_id, "status": status, "after": after, "limit": limit}
        return self._fetch(sql.LIST_PAYOUTS, params, class_row(Payout))

    def earnings_summary(
        self, user_id: Id | None = None, *, from_: datetime | None = None, to: datetime | None = None
    ) -> EarningsSummary:
        """A performer's earnings over ``[from_, to)`` (open ends: None) and their payable state now."""
        params = {"user_id": user_id, "from": from_, "to": to}
        return self._one(sql.EARNINGS_SUMMARY, params, class_row(EarningsSummary))

    # --- token economy: wallets and ledger ------------------------------------------------------------------

    def get_wallet(self, user_id: Id | None = None) -> Wallet:
        """The acting user's wallet (admins: anyone's): balance, reserved, available (``api.get_wallet``)."""
        return self._one(sql.GET_WALLET, {"user_id": user_id}, class_row(Wallet))

    def wallet_history(
        self, user_id: Id | None = None, *, before_id: int | None = None, limit: int = 50
    ) -> list[LedgerEntry]:
        """Ledger entries of a wallet, newest first; next page: ``before_id`` = smallest id of this one."""
        params = {"user_id": user_id, "before_id": before_id, "limit": limit}
        return self._fetch(sql.WALLET_HISTORY, params, class_row(LedgerEntry))

    def balance_at(self, at: datetime, user_id: Id | None = None) -> int:
        """Total balance of the acting user's wallet (admins: ``user_id``'s) at a past time ``at``."""
        return self._one(sql.BALANCE_AT, {"user_id": user_id, "at": at}, scalar_row)

    def sweep_wallets(self, limit: int = 1000) -> int:
        """Service role job: sweep credit shards into main balances; returns how many wallets were swept."""
        return self._one(sql.SWEEP_WALLETS, {"limit": limit}, scalar_row)

    def maintain_partitions(self, months_ahead: int = 3) -> list[PartitionMade]:
        """Service role job: create the monthly partitions of lp.ledger and lp.audit_logs for this month
        and the next ``months_ahead`` (and move rows waiting in a default partition); the partitions made."""
        params = {"months_ahead": months_ahead}
        return self._fetch(sql.MAINTAIN_PARTITIONS, params, class_row(PartitionMade))

    def archive_prepare(self, before: datetime) -> list[ArchivePlan]:
        """Service role, first step of archiving: check the boundary ``before`` (a UTC month start), record
        the sealed checkpoint there, and list the partitions below it with what their files must hold."""
        return self._fetch(sql.ARCHIVE_PREPARE, {"before": before}, class_row(ArchivePlan))

    def partition_rows(self, partition: str) -> list[str]:
        """Service role: every row of a monthly partition as its JSON text, in id order (small partitions;
        ``livepanty_db.archive`` streams them with a server-side cursor)."""
        return self._fetch(sql.PARTITION_ROWS, {"partition": partition}, scalar_row)

    def archive_detach(
        self,
        partition: str,
        boundary: datetime,
        file_name: str,
        file_sha256: str,
        row_count: int,
        content_sha256: str,
    ) -> UUID:
        """Service role, last step of archiving one partition: the database checks that the file holds exactly
        its rows, records the archive, detaches and drops the partition; the archive id."""
        params = {
            "partition": partition,
            "boundary": boundary,
            "file_name": file_name,
            "file_sha256": file_sha256,
            "row_count": row_count,
            "content_sha256": content_sha256,
        }
        return self._one(sql.ARCHIVE_DETACH, params, scalar_row)

    def restore_partition(self, archive_id: Id, rows: Sequence[str] | None = None) -> int:
        """Service role: add archived rows to the partition being restored (``rows``), or, without rows,
        check and attach it. Call it in one transaction (``Client.transaction()``)."""
        params = {"archive_id": archive_id, "rows": list(rows) if rows is not None else None}
        return self._one(sql.RESTORE_PARTITION, params, scalar_row)

    def list_archives(self) -> list[ArchiveRecord]:
        """Service role: every partition archived to a file, oldest first, and whether it was restored."""
        return self._fetch(sql.LIST_ARCHIVES, {}, class_row(ArchiveRecord))

    def verify_ledger(
        self,
        *,
        wallet_from: Id | None = None,
        wallet_to: Id | None = None,
        global_: bool = True,
        transactions: bool = True,
    ) -> list[LedgerViolation]:
        """Service role or admins: every broken ledger invariant; ``[]`` when the ledger is sound.

        ``wallet_from``/``wallet_to`` restrict the account checks to a range (see :meth:`ledger_stats`);
        ``transactions`` runs the transaction checks over every period (a chunked verification passes False
        and calls :meth:`verify_ledger_period` per period of :meth:`ledger_periods`); ``global_`` runs the
        global conservation check.
        """
        params = {"wallet_from": wallet_from, "wallet_to": wallet_to, "global": global_}
        return self._fetch(
            sql.VERIFY_LEDGER, {**params, "transactions": transactions}, class_row(LedgerViolation)
        )

    def verify_ledger_period(
        self, *, period_from: datetime | None = None, period_to: datetime | None = None
    ) -> list[LedgerViolation]:
        """Service role or admins: the transaction checks of one period ([from, to), None = open): every
        ledger transaction, tip and hold capture created in it (``api.verify_ledger_period``)."""
        params = {"period_from": period_from, "period_to": period_to}
        return self._fetch(sql.VERIFY_LEDGER_PERIOD, params, class_row(LedgerViolation))

    def ledger_totals(self) -> LedgerTotals:
        """Service role or admins: issued, burned, circulating and held tokens (``api.ledger_totals``)."""
        return self._one(sql.LEDGER_TOTALS, None, class_row(LedgerTotals))

    def ledger_stats(self, chunk_wallets: int = 1000) -> list[LedgerChunk]:
        """Service role or admins: the wallet-id chunks of a chunked verification, with their sizes."""
        return self._fetch(sql.LEDGER_STATS, {"chunk_wallets": chunk_wallets}, class_row(LedgerChunk))

    def ledger_periods(self, chunk_entries: int = 500_000) -> list[LedgerPeriod]:
        """Service role or admins: the periods of a chunked verification's transaction pass, about
        ``chunk_entries`` entries each (``api.ledger_periods``)."""
        params = {"chunk_entries": chunk_entries}
        return self._fetch(sql.LEDGER_PERIODS, params, class_row(LedgerPeriod))

    def record_verify_run(
        self, *, started_at: datetime, entries: int, violations: int, checks: Sequence[str] = ()
    ) -> UUID:
        """Service role: record the outcome of a full ledger verification (``api.record_verify_run``), shown
        by ``monitoring.ledger_verification``; ``checks`` names the failed checks (empty when none failed)."""
        params = {"started_at": started_at, "entries": entries, "violations": violations}
        return self._one(sql.RECORD_VERIFY_RUN, {**params, "checks": list(checks)}, scalar_row)

    # --- monitoring -----------------------------------------------------------------------------------------

    def record_metrics_sample(self) -> datetime:
        """Service role: sample the WAL position and the sizes (``api.record_metrics_sample``), from which the
        monitoring views compute the WAL rate and the growth; returns the sample's time."""
        return self._one(sql.RECORD_METRICS_SAMPLE, None, scalar_row)

    # --- streams --------------------------------------------------------------------------------------------

    def schedule_stream(
        self,
        title: str,
        *,
        category: str = "general",
        tags: Sequence[str] = (),
        visibility: str = "public",
        is_mature: bool = True,
        scheduled_at: datetime | None = None,
        description: str | None = None,
    ) -> Stream:
        """The acting performer schedules a stream (``api.schedule_stream``); start_stream takes it live."""
        params = {
            "title": title,
            "category": category,
            "tags": list(tags),
            "visibility": visibility,
            "is_mature": is_mature,
            "scheduled_at": scheduled_at,
            "description": description,
        }
        return self._one(sql.SCHEDULE_STREAM, params, class_row(Stream))

    def update_stream(
        self,
        stream_id: Id,
        *,
        title: str | None = None,
        category: str | None = None,
        tags: Sequence[str] | None = None,
        visibility: str | None = None,
        is_mature: bool | None = None,
        scheduled_at: datetime | None = None,
        description: str | None = None,
    ) -> Stream:
        """The host changes the given fields of a scheduled or live stream (None leaves a field as it is)."""
        params = {
            "stream_id": stream_id,
            "title": title,
            "category": category,
            "tags": None if tags is None else list(tags),
            "visibility": visibility,
            "is_mature": is_mature,
            "scheduled_at": scheduled_at,
            "description": description,
        }
        return self._one(sql.UPDATE_STREAM, params, class_row(Stream))

    def add_stream_performer(self, stream_id: Id, performer_id: Id) -> Stream:
        """The host puts another performer on camera in a scheduled stream (who must consent to go live)."""
        params = {"stream_id": stream_id, "performer_id": performer_id}
        return self._one(sql.ADD_STREAM_PERFORMER, params, class_row(Stream))

    def remove_stream_performer(self, stream_id: Id, performer_id: Id) -> Stream:
        """The host takes a co-performer off a scheduled stream."""
        params = {"stream_id": stream_id, "performer_id": performer_id}
        return self._one(sql.REMOVE_STREAM_PERFORMER, params, class_row(Stream))

    def consent_to_stream(
        self, stream_id: Id, *, ip_address: IpAddress, user_agent: str | None = None
    ) -> StreamConsent:
        """The acting performer (host or co-performer) consents to appear in a scheduled stream, once."""
        params = {"stream_id": stream_id, "ip_address": str(ip_address), "user_agent": user_agent}
        return self._one(sql.CONSENT_TO_STREAM, params, class_row(StreamConsent))

    def start_stream(self, stream_id: Id) -> StreamStart:
        """The host takes a scheduled stream live through the go-live gate (``GoLiveRefused`` names who lacks
        what); the ingest key in the result is shown this once."""
        return self._one(sql.START_STREAM, {"stream_id": stream_id}, class_row(StreamStart))

    def rotate_stream_key(self, stream_id: Id) -> StreamStart:
        """The host replaces a live stream's ingest key; the old one stops working at once."""
        return self._one(sql.ROTATE_STREAM_KEY, {"stream_id": stream_id}, class_row(StreamStart))

    def check_stream_key(self, stream_key: str) -> Stream:
        """Back office (ingest service): the live stream a key belongs to; ``InvalidStreamKey`` otherwise."""
        return self._one(sql.CHECK_STREAM_KEY, {"stream_key": stream_key}, class_row(Stream))

    def end_stream(self, stream_id: Id, *, reason: str | None = None) -> Stream:
        """The host (or an admin, with a reason) ends a live stream or cancels a scheduled one."""
        return self._one(sql.END_STREAM, {"stream_id": stream_id, "reason": reason}, class_row(Stream))

    def get_stream(self, stream_id: Id) -> Stream:
        """One stream: public ones for any signed-in user, others for the host, co-performers and staff."""
        return self._one(sql.GET_STREAM, {"stream_id": stream_id}, class_row(Stream))

    # --- streams: viewers -----------------------------------------------------------------------------------

    def join_stream(self, stream_id: Id, *, ip_address: IpAddress | None = None) -> Viewing:
        """The acting user starts watching a live public stream (joining again returns the same session)."""
        params = {"stream_id": stream_id, "ip_address": None if ip_address is None else str(ip_address)}
        return self._one(sql.JOIN_STREAM, params, class_row(Viewing))

    def heartbeat_stream(self, stream_id: Id) -> Viewing:
        """The player is still watching; ``NotWatching`` once the session ended (join again)."""
        return self._one(sql.HEARTBEAT_STREAM, {"stream_id": stream_id}, class_row(Viewing))

    def leave_stream(self, stream_id: Id) -> Viewing:
        """The acting user stops watching."""
        return self._one(sql.LEAVE_STREAM, {"stream_id": stream_id}, class_row(Viewing))

    def count_guest(self, stream_id: Id) -> int:
        """Guest mode: count a visitor who is not logged in (nothing recorded); returns the guest joins."""
        return self._one(sql.COUNT_GUEST, {"stream_id": stream_id}, scalar_row)

    def sweep_viewers(self, limit: int = 1000) -> int:
        """Service role job: close up to ``limit`` viewing sessions past the heartbeat timeout."""
        return self._one(sql.SWEEP_VIEWERS, {"limit": limit}, scalar_row)

    def list_stream_viewers(self, stream_id: Id) -> list[StreamViewer]:
        """Who is watching now (host and staff); sessions past the timeout are closed first."""
        return self._fetch(sql.LIST_STREAM_VIEWERS, {"stream_id": stream_id}, class_row(StreamViewer))

    def block_viewer(self, user_id: Id, *, reason: str | None = None) -> PerformerBlock:
        """The acting performer keeps a user out of their streams (and out of the one they watch now)."""
        return self._one(
            sql.BLOCK_VIEWER, {"user_id": user_id, "reason": reason}, class_row(PerformerBlock)
        )

    def unblock_viewer(self, user_id: Id) -> None:
        """The acting performer lifts a block."""
        self._one(sql.UNBLOCK_VIEWER, {"user_id": user_id}, scalar_row)

    # --- streams: listings ----------------------------------------------------------------------------------

    def list_live_streams(
        self,
        *,
        category: str | None = None,
        tag: str | None = None,
        after_viewers: int | None = None,
        after_id: Id | None = None,
        limit: int = 50,
    ) -> list[StreamListing]:
        """Live public streams, most watched first; the next page: the last row's ``viewers`` and ``id``."""
        params = {
            "category": category,
            "tag": tag,
            "after_viewers": after_viewers,
            "after_id": after_id,
            "limit": limit,
        }
        return self._fetch(sql.LIST_LIVE_STREAMS, params, class_row(StreamListing))

    def list_performer_streams(
        self,
        performer_id: Id,
        *,
        after_created: datetime | None = None,
        after_id: Id | None = None,
        limit: int = 50,
    ) -> list[Stream]:
        """A performer's streams, newest first; the next page: the last row's ``created_at`` and ``id``."""
        params = {
            "performer_id": performer_id,
            "after_created": after_created,
            "after_id": after_id,
            "limit": limit,
        }
        return self._fetch(sql.LIST_PERFORMER_STREAMS, params, class_row(Stream))

    def stream_top_tippers(self, stream_id: Id, *, limit: int = 10) -> list[TopTipper]:
        """A stream's leaderboard; anonymous tippers without an id (to everyone but admins)."""
        return self._fetch(
            sql.STREAM_TOP_TIPPERS, {"stream_id": stream_id, "limit": limit}, class_row(TopTipper)
        )

    # --- streams: events ------------------------------------------------------------------------------------

    def stream_events(
        self, stream_id: Id, *, after: str | None = None, limit: int = 100
    ) -> list[StreamEvent]:
        """A stream's events after ``after`` (a ``position`` returned before; None: the oldest kept), in
        order; ``EventsPurged`` when that position is behind the purge horizon (resync)."""
        params = {"stream_id": stream_id, "after": after, "limit": limit}
        return self._fetch(sql.STREAM_EVENTS, params, class_row(StreamEvent))

    def stream_channel(self, stream_id: Id) -> str:
        """The LISTEN channel of a stream's events (``api.stream_channel``): a keyed name handed out only to
        who may read them; a NOTIFY there carries an event id as a hint, never the event."""
        return self._one(sql.STREAM_CHANNEL, {"stream_id": stream_id}, scalar_row)

    def purge_stream_events(self, limit: int = 10000) -> int:
        """Service role job: delete up to ``limit`` events older than events.retention_days."""
        return self._one(sql.PURGE_STREAM_EVENTS, {"limit": limit}, scalar_row)

    def wake_stream_listeners(self, after: str | None = None) -> str:
        """Service role, the notifier (events.wake_up "notifier"): one wake-up per stream with events after
        ``after``; returns the position to pass next time (None: start from now)."""
        return self._one(sql.WAKE_STREAM_LISTENERS, {"after": after}, scalar_row)

    def performer_top_tippers(
        self, performer_id: Id, *, period: str = "week", limit: int = 10
    ) -> list[PerformerTopTipper]:
        """A performer's leaderboard over ``period`` (day, week, month, all); anonymous ones without id."""
        params = {"performer_id": performer_id, "period": period, "limit": limit}
        return self._fetch(sql.PERFORMER_TOP_TIPPERS, params, class_row(PerformerTopTipper))

    # --- streams: tip menus and goals -----------------------------------------------------------------------

    def set_menu_item(
        self, name: str, price: int, item_id: Id | None = None, is_active: bool = True
    ) -> TipMenuItem:
        """The acting performer adds an item to their tip menu (``item_id`` None) or changes one of theirs:
        name (unique per menu), price in tokens (within the tip bounds), active flag (api.set_menu_item)."""
        params = {"name": name, "price": price, "item_id": item_id, "is_active": is_active}
        return self._one(sql.SET_MENU_ITEM, params, class_row(TipMenuItem))

    def list_menu(self, performer_id: Id) -> list[TipMenuItem]:
        """A performer's tip menu, active items cheapest first; the performer and staff also get the inactive
        ones (``api.list_menu``)."""
        return self._fetch(sql.LIST_MENU, {"performer_id": performer_id}, class_row(TipMenuItem))

    def add_tip_goal(
        self,
        stream_id: Id,
        target_tokens: int,
        description: str,
        deadline: datetime | None = None,
        refund_if_missed: bool = False,
    ) -> TipGoal:
        """The host queues a tip goal on their scheduled or live stream (``api.add_tip_goal``); with
        ``refund_if_missed`` (needs a ``deadline``) tips toward it wait in escrow until it is settled."""
        params = {
            "stream_id": stream_id,
            "target_tokens": target_tokens,
            "description": description,
            "deadline": deadline,
            "refund_if_missed": refund_if_missed,
        }
        return self._one(sql.ADD_TIP_GOAL, params, class_row(TipGoal))

    def cancel_tip_goal(self, goal_id: Id, reason: str | None = None) -> TipGoal:
        """The host (or an admin, with a reason) cancels a queued or active goal (``api.cancel_tip_goal``)."""
        return self._one(
            sql.CANCEL_TIP_GOAL, {"goal_id": goal_id, "reason": reason}, class_row(TipGoal)
        )

    def stream_goals(self, stream_id: Id) -> list[StreamGoal]:
        """A stream's goals in queue order with their progress, visible like the stream (api.stream_goals)."""
        return self._fetch(sql.STREAM_GOALS, {"stream_id": stream_id}, class_row(StreamGoal))

    def settle_tip_goals(self, limit: int = 1000) -> GoalSettlement:
        """Service role job: pay out or back up to ``limit`` escrowed tips of closed goals, then close the
        goals reached or past their deadline (``api.settle_tip_goals``)."""
        return self._one(sql.SETTLE_TIP_GOALS, {"limit": limit}, class_row(GoalSettlement))

    # --- streams: shows -------------------------------------------------------------------------------------

    def set_show_price(
        self,
        show_type: str,
        rate: int,
        min_minutes: int = 1,
        spy_rate: int | None = None,
        min_participants: int | None = None,
        is_enabled: bool = True,
    ) -> ShowPrice:
        """The acting performer sets their price for a show type (``api.set_show_price``): tokens per minute
        (private, group) or the ticket price, the minimum duration billed, a private show's ``spy_rate``
        (None: no spies), a group show's ``min_participants`` (required for group shows only)."""
        params = {
            "show_type": show_type,
            "rate": rate,
            "min_minutes": min_minutes,
            "spy_rate": spy_rate,
            "min_participants": min_participants,
            "is_enabled": is_enabled,
        }
        return self._one(sql.SET_SHOW_PRICE, params, class_row(ShowPrice))

    def request_show(self, stream_id: Id, *, idempotency_key: str) -> Show:
        """The acting viewer, watching a live public stream, asks its host for a private show
        (``api.request_show``): the minimum duration is reserved on a hold for the host; the host answers with
        :meth:`answer_show`. Idempotent per viewer and key. ``ShowNotOffered`` without a private show price,
        ``NotWatching`` before joining the stream, ``InsufficientFunds`` ...: see docs/errors.md."""
        params = {"stream_id": stream_id, "idempotency_key": idempotency_key}
        return self._one(sql.REQUEST_SHOW, params, class_row(Show))

    def offer_show(self, stream_id: Id, show_type: str) -> Show:
        """The host opens a group or ticket show in their live stream at their price (``api.offer_show``);
        viewers take part with :meth:`join_show` until :meth:`start_show`."""
        params = {"stream_id": stream_id, "show_type": show_type}
        return self._one(sql.OFFER_SHOW, params, class_row(Show))

    def join_show(self, show_id: Id, *, idempotency_key: str) -> ShowParticipant:
        """The acting viewer, watching the show's stream, buys a ticket, commits to a group show or spies on a
        running private show (``api.join_show``): their reservation is a hold for the host. Idempotent per
        viewer and key."""
        params = {"show_id": show_id, "idempotency_key": idempotency_key}
        return self._one(sql.JOIN_SHOW, params, class_row(ShowParticipant))

    def answer_show(self, show_id: Id, accept: bool, reason: str | None = None) -> Show:
        """The host accepts (it runs from now) or declines (its reservation is released) a private show
        request (``api.answer_show``)."""
        params = {"show_id": show_id, "accept": accept, "reason": reason}
        return self._one(sql.ANSWER_SHOW, params, class_row(Show))

    def start_show(self, show_id: Id) -> Show:
        """The host starts their open group or ticket show (``api.start_show``); a group show short of its
        minimum viewers is cancelled instead (returned with status cancelled)."""
        return self._one(sql.START_SHOW, {"show_id": show_id}, class_row(Show))

    def leave_show(self, show_id: Id) -> ShowParticipant:
        """The acting viewer leaves a show (``api.leave_show``): from a running one they owe every started
        minute (at least the minimum for payers); before it runs, nothing. A private show's payer ends it."""
        return self._one(sql.LEAVE_SHOW, {"show_id": show_id}, class_row(ShowParticipant))

    def end_show(self, show_id: Id, reason: str | None = None) -> Show:
        """The host (or an admin, with a reason) ends a show (``api.end_show``): viewers of a running one owe
        completed minutes only; one that had not run is cancelled (a request declined)."""
        return self._one(sql.END_SHOW, {"show_id": show_id, "reason": reason}, class_row(Show))

    def stream_shows(self, stream_id: Id) -> list[StreamShow]:
        """The shows of a stream the acting user may see, with their own part (``api.stream_shows``)."""
        return self._fetch(sql.STREAM_SHOWS, {"stream_id": stream_id}, class_row(StreamShow))

    def bill_shows(self) -> ShowBilling | None:
        """Service role job, one step (``api.bill_shows``): expire unanswered requests, take out viewers who
        stopped watching, then bill one viewer; None when there was nobody to bill. Call it until None."""
        return self._optional(sql.BILL_SHOWS, None, class_row(ShowBilling))

    def refund_show(self, show_id: Id, reason: str) -> Show:
        """An admin gives back everything a settled, ended show's viewers paid (``api.refund_show``)."""
        return self._one(sql.REFUND_SHOW, {"show_id": show_id, "reason": reason}, class_row(Show))

    # --- the mailer (livepanty_mailer) ----------------------------------------------------------------------

    def claim_messages(
        self, limit: int = 10, *, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Mailer: claim up to ``limit`` due e-mails for ``lease`` (``api.claim_messages``).

        Send each, then report it with :meth:`mark_message_sent` or :meth:`mark_message_failed`, quoting its
        ``attempt``, before the lease runs out (after that, another claim may take it).
        """
        params = {"limit": limit, "lease": lease}
        return self._fetch(sql.CLAIM_MESSAGES, params, class_row(OutboxMessage))

    def mark_message_sent(
        self, message_id: Id, attempt: int, *, provider_reference: str | None = None
    ) -> None:
        """Mailer: the claimed e-mail went out; its payload is erased (``api.mark_message_sent``)."""
        params = {"message_id": message_id, "attempt": attempt, "provider_reference": provider_reference}
        self._one(sql.MARK_MESSAGE_SENT, params, scalar_row)

    def mark_message_failed(
        self, message_id: Id, attempt: int, error: str, *, permanent: bool = False
    ) -> datetime | None:
        """Mailer: sending the claimed e-mail failed; returns when it is offered again, or None when given up
        (``permanent``, or the last attempt) and its payload erased (``api.mark_message_failed``)."""
        params = {"message_id": message_id, "attempt": attempt, "error": error, "permanent": permanent}
        return self._one(sql.MARK_MESSAGE_FAILED, params, scalar_row)


class Transaction(_Api):
    """One open transaction on one connection, with the API methods. Made by the client's context managers."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        #: The user set by :meth:`Client.acting_as` or :meth:`authenticate`, if any.
        self.acting_user_id: UUID | None = None
        #: What :meth:`authenticate` returned (set by :meth:`Client.session`).
        self.authenticated: Authenticated | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("this transaction has ended: use the API inside its `with` block")
        return self._conn

    def _execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> None:
        try:
            self._connection().execute(statement, params)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _fetch(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> list[T]:
        try:
            with self._connection().cursor(row_factory=row_factory) as cur:
                cur.execute(query, params)
                return cur.fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def fetch(
        self, query: Any, params: Mapping[str, Any] | None = None, *, row_factory: RowFactory[Any] = tuple_row
    ) -> list[Any]:
        """Run a statement that is not an API call in this transaction (operator tooling, tests).

        Rows come from ``row_factory`` (tuples by default); errors are translated like the API's.
        """
        return self._fetch(query, params, row_factory)

    def _act_as(self, user_id: Id, reason: str, role: str | None) -> None:
        self._execute(_role_statement(sql.SERVICE_ROLE))
        self.act_as(user_id, reason)
        self._execute(_role_statement(role) if role else sql.RESET_LOCAL_ROLE)

    def act_as(self, user_id: Id, reason: str) -> Authenticated:
        """Back office: make ``user_id`` act for the rest of this transaction (``api.act_as``)."""
        self.authenticated = super().act_as(user_id, reason)
        self.acting_user_id = self.authenticated.user_id
        return self.authenticated

    def authenticate(self, token: str) -> Authenticated:
        """Validate a session token; its user acts for the rest of this transaction."""
        self.authenticated = super().authenticate(token)
        self.acting_user_id = self.authenticated.user_id
        return self.authenticated

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[Self]:
        """A savepoint: when the block raises (a refusal, say), the work since the savepoint is rolled back
        and the exception propagates, but the transaction stays usable, so code may catch the refusal after
        the block and go on::

            with client.session(token) as tx:
                try:
                    with tx.savepoint():
                        tx.tip(..., idempotency_key=key)
                except InsufficientFunds:
                    ...                               # the tip did not happen; tx goes on and commits
        """
        try:
            with self._connection().transaction():
                yield self
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _end(self) -> None:
        self._conn = None


class Client(_Api, _EveryThread):
    """Synchronous client: ``Client(dsn)`` or ``Client(pool)``; optional ``role=...``."""

    def __init__(
        self,
        source: str | ConnectionPool,
        *,
        role: str | None = None,
        connect_kwargs: Mapping[str, Any] | None = None,
        pool_size: int = MAX_POOL_SIZE,
        replica: str | ConnectionPool | Sequence[str | ConnectionPool] | None = None,
        max_replica_lag: float | timedelta = DEFAULT_MAX_REPLICA_LAG,
        read_your_writes: bool = True,
        replica_check_interval: float = REPLICA_CHECK_INTERVAL,
        replica_connect_timeout: float = REPLICA_CONNECT_TIMEOUT,
    ) -> None:
        self._connect_kwargs = _connect_kwargs(connect_kwargs)
        if isinstance(source, ConnectionPool):
            self._pool: ConnectionPool = source
            self._conninfo: str | None = None
            self._own_pool = False
        elif isinstance(source, str):
            self._conninfo = source
            # Our own pool: connections made on demand, each checked (a round trip) before it is handed out,
            # so one the server closed while idle is replaced instead of failing the next call.
            self._pool = ConnectionPool(
                source,
                kwargs=self._connect_kwargs,
                min_size=0,
                max_size=pool_size,
                check=ConnectionPool.check_connection,
                timeout=POOL_TIMEOUT,
                open=False,
                name="livepanty-db",
            )
            self._own_pool = True
        else:
            raise TypeError(
                f"Client needs a DSN or a psycopg_pool.ConnectionPool, not {type(source).__name__}"
            )
        self.role = role
        self._opened = not self._own_pool
        self._lock = threading.Lock()
        # Read routing (see _client_common.READ_ONLY_CALLS and docs/api.md "Replicas").
        self.max_replica_lag = _seconds(max_replica_lag)
        self.read_your_writes = read_your_writes
        self._check_interval = float(replica_check_interval)
        self._replica_timeout = max(2.0, float(replica_connect_timeout))
        replica_kwargs = {**self._connect_kwargs, "connect_timeout": int(self._replica_timeout)}
        self._replica_kwargs = replica_kwargs
        self.replicas: list[ReplicaState] = []
        for item in _replica_sources(replica):
            if isinstance(item, ConnectionPool):
                state = ReplicaState(item, own_pool=False, opened=True)
            elif isinstance(item, str):
                pool = ConnectionPool(
                    item,
                    kwargs=replica_kwargs,
                    min_size=0,
                    max_size=pool_size,
                    check=ConnectionPool.check_connection,
                    timeout=self._replica_timeout,
                    open=False,
                    name="livepanty-db-replica",
                )
                state = ReplicaState(pool, own_pool=True)
            else:
                raise TypeError(
                    f"replica must be a DSN, a psycopg_pool.ConnectionPool or a list of them, "
                    f"not {type(item).__name__}"
                )
            state.lock = threading.Lock()
            self.replicas.append(state)
        #: Read your writes: user (text) -> the primary's WAL position right after that user's last write.
        self._writes: dict[str, int] = {}
        #: After forgetting the tracked users (MAX_TRACKED_WRITERS): the newest write forgotten.
        self._writes_floor = 0
        self._next_replica = 0

    # --- connections ----------------------------------------------------------------------------------------

    def _open_pool(self) -> None:
        """Open our own pool at first use, after one direct connection attempt: a wrong DSN or an unreachable
        server is reported at once as ConnectionFailed (08001) with the driver's reason, instead of as a pool
        timeout after POOL_TIMEOUT seconds."""
        with self._lock:
            if self._opened:
                return
            try:
                conn = psycopg.Connection.connect(self._conninfo or "", **self._connect_kwargs)
            except psycopg.Error as exc:
                raise translate(exc, connecting=True, conninfo=self._conninfo) from exc
            conn.close()
            self._pool.open()
            self._opened = True

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        self._claim_loop()
        if not self._opened:
            self._open_pool()
        try:
            context = self._pool.connection()
            conn = context.__enter__()
        except PoolTimeout as exc:
            raise connection_failed(exc) from exc
        except psycopg.Error as exc:
            raise translate(exc, connecting=True, conninfo=self._pool.conninfo) from exc
        try:
            yield conn
        except BaseException as exc:
            if not context.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            context.__exit__(None, None, None)

    def close(self) -> None:
        """Close the client's own pools (built from DSNs); pools given to the client stay open."""
        if self._own_pool:
            self._pool.close()
        for replica in self.replicas:
            if replica.own_pool and replica.opened:
                replica.pool.close()

    # --- read routing ---------------------------------------------------------------------------------------

    def _primary_lsn(self, conn: psycopg.Connection[Any]) -> int:
        cur = conn.execute(PRIMARY_LSN)
        row = cur.fetchone()
        return _lsn(row[0]) if row else 0  # type: ignore[return-value]

    def _check_replica(self, replica: ReplicaState) -> None:
        """Measure a replica's lag (one round trip on the primary, one on the replica) or mark it down.

        A replica that was down is probed with a direct connection (fails at once when nothing listens, at
        worst after the connect timeout), not through its pool, whose callers would wait the pool timeout.
        """
        self._claim_loop()
        with replica.lock:
            now = time.monotonic()
            if now - replica.checked_at < self._check_interval:
                return  # another caller measured it meanwhile
            with self._connection() as conn:
                primary_lsn = self._primary_lsn(conn)
            try:
                if replica.down_until > float("-inf") or not replica.opened:
                    direct = psycopg.Connection.connect(
                        replica.pool.conninfo, **self._replica_kwargs
                    )
                    with direct:
                        row = (direct.execute(REPLICA_POSITION)).fetchone()
                    if not replica.opened:
                        replica.pool.open(wait=False)
                        replica.opened = True
                    replica.down_until = float("-inf")
                else:
                    with replica.pool.connection() as rconn:
                        row = (rconn.execute(REPLICA_POSITION)).fetchone()
            except (psycopg.Error, PoolTimeout):
                replica.mark_down(time.monotonic(), REPLICA_RETRY_AFTER)
                return
            replica.record(primary_lsn, row, time.monotonic())
            if self._writes or self._writes_floor:
                caught_up = min((r.replay_lsn or 0) for r in self.replicas)
                self._writes = {user: lsn for user, lsn in self._writes.items() if lsn > caught_up}
                if self._writes_floor <= caught_up:
                    self._writes_floor = 0

    def _pick_replica(self, users: set[str]) -> ReplicaState | None:
        """A replica to read from (within the maximum lag, up, past the users' last writes), or None."""
        pending = 0
        if self.read_your_writes and users:
            pending = max(self._writes_floor, *(self._writes.get(user, 0) for user in users))
        count = len(self.replicas)
        start = self._next_replica
        self._next_replica = (start + 1) % count
        for offset in range(count):
            replica = self.replicas[(start + offset) % count]
            now = time.monotonic()
            if replica.down_until > now:
                continue
            if now - replica.checked_at >= self._check_interval:
                self._check_replica(replica)
            if replica.lag_seconds is None or replica.lag_seconds > self.max_replica_lag:
                continue
            if pending and (replica.replay_lsn or 0) < pending:
                continue
            return replica
        return None

    @contextlib.contextmanager
    def _replica_connection(
        self, replica: ReplicaState | None, lost: list[ReplicaState] | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """A connection of ``replica``'s pool, or of the primary's when there is none or it cannot be had (the
        replica is then marked down and left alone for REPLICA_RETRY_AFTER seconds).

        When the replica's connection breaks in the block (the server terminated it, crashed, or the network
        went: a connection-level failure, not an SQL error), the replica is marked down the same way, appended
        to ``lost`` (the caller may then retry a read on the primary), and the error propagates."""
        self._claim_loop()
        context = None
        conn = None
        if replica is not None:
            try:
                context = replica.pool.connection()
                conn = context.__enter__()
            except (psycopg.Error, PoolTimeout):
                replica.mark_down(time.monotonic(), REPLICA_RETRY_AFTER)
                context = None
        if replica is None or context is None or conn is None:
            with self._connection() as primary:
                yield primary
            return
        replica.served += 1
        try:
            yield conn
        except BaseException as exc:
            if conn.broken:
                replica.mark_down(time.monotonic(), REPLICA_RETRY_AFTER)
                replica.lost_connections += 1
                if lost is not None:
                    lost.append(replica)
            if not context.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            context.__exit__(None, None, None)

    def _record_write(self, conn: psycopg.Connection[Any], users: set[str]) -> None:
        """After a committed write about ``users``: remember the primary's WAL position for their reads."""
        if not users or not self.replicas or not self.read_your_writes:
            return
        lsn = self._primary_lsn(conn)
        for user in users:
            self._writes[user] = max(lsn, self._writes.get(user, 0))
        if len(self._writes) > MAX_TRACKED_WRITERS:
            self._writes_floor = max(self._writes_floor, *self._writes.values())
            self._writes.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(
        self,
        *,
        isolation: str | None = None,
        read_only: bool = False,
        on_replica: bool = False,
        snapshot: str | None = None,
    ) -> Iterator[Transaction]:
        """A transaction with nobody acting (``SET LOCAL ROLE`` first when the client has a ``role``).

        ``isolation``: "read committed" (the server's default), "repeatable read" or "serializable";
        ``read_only``: a READ ONLY transaction (e.g. a consistent chunked ``verify_ledger`` reads in one
        "repeatable read" snapshot). Commits when the block ends, rolls back when it raises; but an in-band
        refusal (a failed login or password check) is committed before it propagates, so its failure counter
        and audit record persist. :meth:`Transaction.savepoint` lets a block catch a refusal and go on.
        ``on_replica`` (with ``read_only=True`` only): run on a replica within the maximum lag when the client
        has one, else on the primary; transactions otherwise always run on the primary.
        ``snapshot`` (with "repeatable read" or "serializable"): see exactly what the transaction that
        exported it with ``pg_export_snapshot()`` sees (``SET TRANSACTION SNAPSHOT``; it must still be open),
        e.g. to split one consistent verification over several connections.
        """
        if on_replica and not read_only:
            raise ValueError("on_replica=True needs read_only=True: a replica cannot write")
        if snapshot is not None and isolation not in ("repeatable read", "serializable"):
            raise ValueError('snapshot needs isolation="repeatable read" or "serializable"')
        replica = self._pick_replica(set()) if on_replica and self.replicas else None
        with self._transaction(isolation, read_only, replica, set(), snapshot) as tx:
            yield tx

    @contextlib.contextmanager
    def _transaction(
        self,
        isolation: str | None,
        read_only: bool,
        replica: ReplicaState | None,
        writers: set[str],
        snapshot: str | None = None,
        lost: list[ReplicaState] | None = None,
    ) -> Iterator[Transaction]:
        refusal: LivepantyError | None = None
        mode = _transaction_statement(isolation, read_only)
        with self._replica_connection(replica, lost) as conn:
            tx = Transaction(conn)
            try:
                with conn.transaction():
                    if mode is not None:
                        tx._execute(mode)
                    if snapshot is not None:
                        tx._execute(_snapshot_statement(snapshot))
                    if self.role:
                        tx._execute(_role_statement(self.role))
                    try:
                        yield tx
                    except LivepantyError as exc:
                        if not exc.in_band:
                            raise
                        refusal = exc
                    else:
                        _refuse_aborted(conn)
                if not read_only and self.replicas:
                    users = writers | ({str(tx.acting_user_id)} if tx.acting_user_id else set())
                    self._record_write(conn, users)
            except psycopg.Error as exc:
                raise translate(exc) from exc
            finally:
                tx._end()
        if refusal is not None:
            raise refusal

    @contextlib.contextmanager
    def acting_as(self, user_id: Id, *, reason: str) -> Iterator[Transaction]:
        """A back-office transaction in which platform user ``user_id`` acts (``api.act_as``, audited with
        ``reason``).

        The login must be a member of ``livepanty_service``: the client switches to that role for the
        ``api.act_as`` call only, then back to the client's ``role`` (or the login's own). An application
        login gets ``PermissionDenied``: users act through :meth:`session`.
        """
        with self.transaction() as tx:
            tx._act_as(user_id, reason, self.role)
            yield tx

    def events(
        self, stream_id: Id, *, token: str, after: str | None = None, wait: float = 30.0
    ) -> Iterator[StreamEvent]:
        """Follow a stream's events as they come, forever, from position ``after`` (None: the oldest kept),
        reading as the owner of session ``token``; survives lost connections without losing or repeating an
        event (:mod:`livepanty_db.events`)."""
        return events.follow(self, stream_id, token=token, after=after, wait=wait)

    def _listen_connection(self) -> psycopg.Connection[Any]:
        """A connection of its own for LISTEN (autocommit), to the client's database."""
        conninfo = self._conninfo if self._conninfo is not None else self._pool.conninfo
        return psycopg.Connection.connect(
            conninfo or "", **{**self._connect_kwargs, "autocommit": True}
        )

    @contextlib.contextmanager
    def session(self, token: str, *, on_replica: bool = False) -> Iterator[Transaction]:
        """A transaction in which the owner of session ``token`` acts (``api.authenticate``).

        ``tx.authenticated`` holds the session; ``InvalidSession`` or ``AccountSanctioned`` if it may not act.
        ``on_replica=True`` (for a block that only reads): a READ ONLY transaction on a replica within the
        maximum lag and past the user's own last write through this client (read your writes); on the primary
        when there is none, or when ``api.authenticate`` must write (it refreshes ``last_seen_at`` once a
        minute, which a replica cannot do).
        """
        if on_replica and self.replicas:
            replica = self._pick_replica(set())
            if replica is not None:
                with self._transaction(None, True, replica, set()) as tx:
                    if self._authenticated_on(replica, tx, token):
                        yield tx
                        return
        with self.transaction() as tx:
            tx.authenticate(token)
            yield tx

    def _authenticated_on(self, replica: ReplicaState, tx: Transaction, token: str) -> bool:
        """Authenticate on a replica's read-only transaction; False when the primary must serve the block."""
        try:
            with tx.savepoint():
                tx.authenticate(token)
        except LivepantyError as exc:
            if exc.sqlstate == "25006":  # read_only_sql_transaction: authenticate had to write
                return False
            if exc.sqlstate in ("LP023", "LP022"):
                # A replica's refusal is not the last word: it may not have replayed the login that made
                # the session yet, or the lifting of a sanction. The primary decides (and refuses as well
                # when the refusal stands).
                return False
            raise
        pending = 0
        if self.read_your_writes:
            pending = max(self._writes_floor, self._writes.get(str(tx.acting_user_id), 0))
        return not (pending and (replica.replay_lsn or 0) < pending)

    def _fetch(
        self, query: Any, params: Mapping[str, Any] | None, row_factory: RowFactory[T]
    ) -> list[T]:
        users = _users_in(params)
        if self.replicas and _is_read_only(query):
            replica = self._pick_replica(users)
            lost: list[ReplicaState] = []
            try:
                with self._transaction(None, True, replica, set(), lost=lost) as tx:
                    return tx._fetch(query, params, row_factory)
            except Exception:
                if not lost:
                    raise
            # The replica's connection broke during the call (terminated, crashed, unreachable): it is marked
            # down, and the call, which only reads, is made once more on the primary. Nothing else is retried.
            with self._transaction(None, True, None, set()) as tx:
                return tx._fetch(query, params, row_factory)
        with self._transaction(None, False, None, users) as tx:
            rows = tx._fetch(query, params, row_factory)
            users.update(_writers_in(query, rows))  # read at the end of the transaction
            return rows
