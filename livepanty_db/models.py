"""Typed rows: frozen dataclasses mirroring the row types the SQL API returns.

Field names and order are the column names and order of the SQL type (tests compare them with the catalog), so
rows load with ``psycopg.rows.class_row``. Column types: uuid -> UUID, timestamptz -> aware datetime, inet ->
``ipaddress`` address, jsonb -> Python JSON values, interval -> timedelta, bigint and smallint -> int,
numeric -> Decimal, bytea -> bytes. Token amounts are whole tokens (int); money amounts (``*_minor``) are
minor currency units (cents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from uuid import UUID

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class UserAccount:
    """``api.user_account``: a user as the API returns it (never the password hash)."""

    id: UUID
    email: str
    username: str
    display_name: str | None
    role: str
    date_of_birth: date
    country_code: str | None
    email_verified_at: datetime | None
    age_verified_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """``api.session_info``: a login session as its owner sees it (never the token)."""

    id: UUID
    user_id: UUID
    ip_address: IPAddress | None
    user_agent: str | None
    device_info: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    #: Whether this is the session acting in the transaction (False when none acts, e.g. Client.acting_as).
    is_current: bool


@dataclass(frozen=True, slots=True)
class LoginResult:
    """``api.login_result``: the raw outcome of ``api.login``; the client turns it into a :class:`Session`."""

    success: bool
    error_code: str | None
    user_id: UUID | None
    session_id: UUID | None
    token: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    """A successful login: the bearer token is shown here once (the database keeps only its hash)."""

    user_id: UUID
    session_id: UUID
    token: str
    expires_at: datetime

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return (
            f"Session(user_id={self.user_id!r}, session_id={self.session_id!r}, token='***', "
            f"expires_at={self.expires_at!r})"
        )


@dataclass(frozen=True, slots=True)
class PasswordChangeResult:
    """``api.password_change_result``: the raw outcome of ``api.change_password`` (failures in-band)."""

    success: bool
    error_code: str | None
    sessions_revoked: int


@dataclass(frozen=True, slots=True)
class Authenticated:
    """``api.authenticated``: the user and session a valid token belongs to."""

    user_id: UUID
    session_id: UUID
    role: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Preferences:
    """``lp.user_preferences``: one user's settings and notification preferences."""

    user_id: UUID
    language: str
    timezone: str
    theme: str
    email_notifications: bool
    push_notifications: bool
    tip_notifications: bool
    marketing_emails: bool
    show_online_status: bool
    content_filter: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Sanction:
    """``lp.user_sanctions``: a warning, mute, tip_block, stream_block, payout_hold, suspension or ban."""

    id: UUID
    user_id: UUID
    sanction_type: str
    reason: str
    report_id: UUID | None
    #: Staff ids: returned to the staff member who acts (api.sanction_user, api.revoke_sanction).
    issued_by: UUID | None
    starts_at: datetime
    ends_at: datetime | None
    revoked_at: datetime | None
    revoked_by: UUID | None
    revoke_reason: str | None
    created_at: datetime
    #: Who issued / lifted it as users see it, e.g. ``'moderator #3f9a'`` (docs/api.md, "Staff labels").
    issued_by_label: str | None
    revoked_by_label: str | None
    #: A suspension that sends the account back to review when it ends (api.expire_sanctions).
    review_on_expiry: bool
    expiry_handled_at: datetime | None
    expiry_case_id: UUID | None


@dataclass(frozen=True, slots=True)
class SanctionAppeal:
    """``lp.sanction_appeals``: an appeal against a sanction and its decision."""

    id: UUID
    sanction_id: UUID
    user_id: UUID
    statement: str
    #: pending, granted, denied, or moot (closed undecided: the sanction was lifted while it was pending).
    status: str
    #: Staff id: returned to the staff member who decides (api.decide_appeal); users read decided_by_label.
    decided_by: UUID | None
    decision_reasons: str | None
    decided_at: datetime | None
    created_at: datetime
    decided_by_label: str | None


@dataclass(frozen=True, slots=True)
class AppealQueueEntry:
    """A row of ``api.list_appeals``: an appeal with its sanction, and whether the reader may decide it."""

    appeal_id: UUID
    sanction_id: UUID
    user_id: UUID
    username: str
    sanction_type: str
    sanction_reason: str
    issued_by: UUID | None
    starts_at: datetime
    ends_at: datetime | None
    in_force: bool
    statement: str
    status: str
    created_at: datetime
    decided_by: UUID | None
    decided_at: datetime | None
    decision_reasons: str | None
    may_decide: bool


@dataclass(frozen=True, slots=True)
class MySanction:
    """A row of ``api.my_sanctions``: one of the acting user's sanctions, what it forbids, its appeal."""

    sanction_id: UUID
    sanction_type: str
    reason: str
    automated: bool
    issued_by_label: str | None
    starts_at: datetime
    ends_at: datetime | None
    in_force: bool
    #: The actions it forbids (login, stream, tip, hold, payout, message).
    forbids: list[str]
    revoked_at: datetime | None
    revoke_reason: str | None
    #: Until when it may be appealed; None when it no longer may (appealed, lifted, window over).
    appealable_until: datetime | None
    appeal_id: UUID | None
    appeal_status: str | None
    appeal_statement: str | None
    appealed_at: datetime | None
    decided_at: datetime | None
    decision_reasons: str | None
    decided_by_label: str | None


@dataclass(frozen=True, slots=True)
class Setting:
    """``lp.settings``: one runtime setting."""

    key: str
    value: Any
    description: str
    updated_at: datetime
    updated_by: UUID | None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """``api.claim_messages``: one e-mail the mailer claimed: send it to ``email``, report with ``attempt``.

    ``payload`` is what the ``kind``'s template needs; for ``password_reset`` the reset token (a secret: never
    log it; ``repr`` hides the payload), ``expires_at``, ``username``, ``display_name`` and ``language``.
    """

    id: UUID
    kind: str
    email: str
    payload: dict[str, Any]
    attempt: int
    claimed_until: datetime

    def __repr__(self) -> str:
        return (
            f"OutboxMessage(id={self.id!r}, kind={self.kind!r}, email={self.email!r}, payload='***', "
            f"attempt={self.attempt!r}, claimed_until={self.claimed_until!r})"
        )


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """``api.public_profile``: what any signed-in user may see of another."""

    id: UUID
    username: str
    display_name: str | None
    role: str
    avatar_url: str | None
    bio: str | None


@dataclass(frozen=True, slots=True)
class StreamStats:
    """``api.stream_stats``: aggregate, non-identifying statistics of a stream."""

    current_viewers: int
    unique_viewers: int
    tip_count: int
    #: The host's earnings: None for anyone but the host and admins.
    tokens_tipped: int | None
    peak_viewers: int
    watch_seconds: int


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A row of the view ``api.user_summary`` (RLS decides which rows a reader sees)."""

    id: UUID
    username: str
    email: str
    display_name: str | None
    role: str
    created_at: datetime
    last_login_at: datetime | None
    balance: int | None
    reserved: int | None
    available: int | None
    currency: str | None
    tokens_per_unit: int | None
    kyc_status: str | None
    kyc_reviewed_at: datetime | None
    active_sanction: str | None
    sanction_ends_at: datetime | None
    #: Every sanction type in force (e.g. ``["mute", "tip_block"]``), restrictions and warnings included.
    sanctions: list[str]
    #: Review cases against the user not closed yet (staff read them; 0 for other readers).
    open_cases: int
    kyc_valid_until: datetime | None
    kyc_gate: str


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """A row of the view ``api.stream_summary`` (RLS decides which rows a reader sees)."""

    id: UUID
    host_id: UUID
    host_username: str | None
    host_display_name: str | None
    title: str
    category: str
    tags: list[str]
    status: str
    visibility: str
    is_mature: bool
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    duration: timedelta | None
    current_viewers: int | None
    unique_viewers: int | None
    peak_viewers: int | None
    watch_seconds: int | None
    tip_count: int | None
    tokens_tipped: int | None
    #: Set: a deleted stream, which only staff read (None also from a database before this column).
    deleted_at: datetime | None = None


# --- token economy ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tip:
    """``lp.tips``: a tip as ``api.tip`` returns it (the sender sees it whole)."""

    id: UUID
    sender_id: UUID
    recipient_id: UUID
    stream_id: UUID | None
    #: Tokens paid by the sender (gross); the performer received ``amount - fee_amount``.
    amount: int
    fee_amount: int
    message: str | None
    is_anonymous: bool
    #: completed, refunded, or escrowed (toward a refund_if_missed goal, until ``api.settle_tip_goals``).
    status: str
    transaction_id: UUID
    idempotency_key: str
    created_at: datetime
    #: The stream's goal the tip counted toward (``lp.tip_goals``), if any.
    goal_id: UUID | None
    #: The tip menu item the tip bought (it paid the item's price), if any.
    menu_item_id: UUID | None
    #: A tip held in escrow for a refund_if_missed goal (``status`` escrowed): the ledger transaction that
    #: later paid it to the performer (completed) or back to the sender (refunded).
    settlement_id: UUID | None
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class TipRequest:
    """One tip for ``api.tip_many``: the sender is whoever owns ``session_token``."""

    session_token: str
    recipient_id: UUID | str
    amount: int
    idempotency_key: str
    stream_id: UUID | str | None = None
    message: str | None = None
    is_anonymous: bool = False
    #: A menu item of the recipient: ``amount`` must be its price.
    menu_item_id: UUID | str | None = None

    def as_json(self) -> dict[str, object]:
        item: dict[str, object] = {
            "session_token": self.session_token,
            "recipient_id": str(self.recipient_id),
            "amount": self.amount,
            "idempotency_key": self.idempotency_key,
            "is_anonymous": self.is_anonymous,
        }
        if self.stream_id is not None:
            item["stream_id"] = str(self.stream_id)
        if self.message is not None:
            item["message"] = self.message
        if self.menu_item_id is not None:
            item["menu_item_id"] = str(self.menu_item_id)
        return item


@dataclass(frozen=True, slots=True)
class TipOutcome:
    """A row of ``api.tip_many``: the tip (``replayed`` for a retry of a used key) or ``error_code`` and
    ``error_message`` (the catalogue's code; nothing was changed for this tip)."""

    ordinal: int
    tip_id: UUID | None
    sender_id: UUID | None
    recipient_id: UUID | None
    amount: int | None
    fee_amount: int | None
    transaction_id: UUID | None
    created_at: datetime | None
    replayed: bool
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class TipListing:
    """A row of ``api.list_tips``: ``sender_id`` is None for an anonymous tip unless the reader sent it or is
    an admin."""

    id: UUID
    sender_id: UUID | None
    recipient_id: UUID
    stream_id: UUID | None
    amount: int
    fee_amount: int
    net_amount: int
    message: str | None
    is_anonymous: bool
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TipMenuItem:
    """``lp.tip_menu_items``: an item of a performer's tip menu; a tip that names it pays its ``price``."""

    id: UUID
    performer_id: UUID
    name: str
    #: Tokens (within the tip bounds).
    price: int
    #: Inactive items cannot be bought (items are never deleted: tips name them).
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TipGoal:
    """``lp.tip_goals``: a goal in a stream's queue (``position``); one is active at a time."""

    id: UUID
    stream_id: UUID
    position: int
    description: str
    target_tokens: int
    deadline: datetime | None
    #: Tips toward the goal wait in escrow until it is reached (paid out) or missed / cancelled (refunded).
    refund_if_missed: bool
    #: queued, active, reached, missed or cancelled (``livepanty-db values goal_status``).
    status: str
    activated_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    #: When ``api.settle_tip_goals`` last paid out or refunded escrowed tips of the goal.
    settled_at: datetime | None
    created_at: datetime
    #: Who closed it: host or admin (a cancel), system (reached, missed, or closed with its stream); None
    #: while queued or active (and for a goal cancelled before migration 0052 with no record of who).
    closed_by: str | None


@dataclass(frozen=True, slots=True)
class StreamGoal:
    """``api.stream_goals``: a stream's goal in queue order, with the tokens and tips counted toward it."""

    id: UUID
    position: int
    description: str
    target_tokens: int
    progress_tokens: int
    tips_count: int
    deadline: datetime | None
    refund_if_missed: bool
    #: queued, active, reached, missed or cancelled.
    status: str
    activated_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    settled_at: datetime | None


@dataclass(frozen=True, slots=True)
class GoalSettlement:
    """``api.settle_tip_goals``: what one run did (escrowed tips paid out or back, goals closed)."""

    tips_paid: int
    tips_refunded: int
    goals_reached: int
    goals_missed: int
    #: Goals the run's last step activated: the first queued goal of a live stream found without an active one
    #: (a queue left stuck by a race; normally 0).
    goals_activated: int


@dataclass(frozen=True, slots=True)
class PartitionMade:
    """``api.maintain_partitions``: one monthly partition of lp.ledger or lp.audit_logs the run created."""

    #: lp.ledger or lp.audit_logs.
    table_name: str
    #: lp_partitions.<table>_YYYY_MM.
    partition_name: str
    #: The UTC month it holds: range_from <= created_at (occurred_at) < range_to.
    range_from: datetime
    range_to: datetime
    #: Rows of that month moved into it out of the default partition.
    moved: int


@dataclass(frozen=True, slots=True)
class ArchivePlan:
    """``api.archive_prepare``: a monthly partition below the archive boundary and what its file must hold."""

    #: lp.ledger or lp.audit_logs.
    table_name: str
    #: lp_partitions.<table>_YYYY_MM.
    partition_name: str
    range_from: datetime
    range_to: datetime
    row_count: int
    first_id: int | None
    last_id: int | None
    #: sha256 over the sha256 of each row's JSON text, in id order (``livepanty_db.archive``).
    content_sha256: str
    #: The checkpoint at the boundary: how many accounts, and its seal.
    checkpoint_accounts: int
    checkpoint_sha256: str


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """``lp.archives`` (``api.list_archives``): a partition archived to a file, and whether it came back."""

    id: UUID
    table_name: str
    partition_name: str
    range_from: datetime
    range_to: datetime
    #: The archive boundary (a UTC month start) the partition was archived below.
    boundary: datetime
    file_name: str
    #: sha256 of the file as written; a restore refuses a file that differs.
    file_sha256: str
    content_sha256: str
    row_count: int
    first_id: int | None
    last_id: int | None
    archived_at: datetime
    restored_at: datetime | None


@dataclass(frozen=True, slots=True)
class ShowPrice:
    """``lp.show_prices``: a performer's price for one show type (``api.set_show_price``)."""

    performer_id: UUID
    #: private, group or ticket (``livepanty-db values show_type``).
    show_type: str
    #: Tokens per minute (private, group) or the ticket price (ticket), within shows.min_rate..shows.max_rate.
    rate: int
    #: What a spy pays per minute of a private show (None: the private show takes no spies).
    spy_rate: int | None
    #: The minimum duration billed, in minutes (1..600).
    min_minutes: int
    #: A group show's minimum committed viewers (group shows only).
    min_participants: int | None
    #: Whether the performer offers this show type now.
    is_enabled: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Show:
    """``lp.shows``: a show in a live stream, billed through holds; its prices copied when asked or opened."""

    id: UUID
    stream_id: UUID
    host_id: UUID
    #: private, group or ticket.
    show_type: str
    #: requested, open, running, ended, declined, expired or cancelled (``livepanty-db values show_status``).
    status: str
    rate: int
    spy_rate: int | None
    min_minutes: int
    min_participants: int | None
    #: The viewer who asked for a private show (None for group and ticket shows).
    requested_by: UUID | None
    #: A private show request expires unless the host answers by then.
    answer_by: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    #: host, viewer, system or admin.
    ended_by: str | None
    end_reason: str | None
    #: When an admin refunded what its viewers paid (``api.refund_show``).
    refunded_at: datetime | None
    created_at: datetime
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class ShowParticipant:
    """``lp.show_participants``: a viewer of a show, their tokens reserved on a hold for the host."""

    id: UUID
    show_id: UUID
    user_id: UUID
    #: payer (per minute), spy (per minute at the spy rate) or ticket (``livepanty-db values show_role``).
    role: str
    #: Tokens per minute, or the ticket price.
    rate: int
    hold_id: UUID
    joined_at: datetime
    #: When their billing started (the show's start, or a spy's join); None before the show runs.
    billed_from: datetime | None
    left_at: datetime | None
    #: Whether they ended their part themselves (left, ran out of tokens, lost their connection).
    viewer_caused: bool | None
    #: What they owe in all, fixed once they are out (settled by ``api.bill_shows``).
    due_tokens: int | None
    #: Tokens captured so far.
    billed_tokens: int
    #: When the rest of their hold was released.
    settled_at: datetime | None
    #: Tokens given back by ``api.refund_show``.
    refunded: int
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class StreamShow:
    """``api.stream_shows``: a show of a stream as the acting user may see it, with their own part."""

    id: UUID
    show_type: str
    status: str
    rate: int
    spy_rate: int | None
    min_minutes: int
    min_participants: int | None
    #: Viewers in the show now.
    participants: int
    #: Who asked for a private show: shown to the host, staff and the requester only.
    requested_by: UUID | None
    answer_by: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None
    #: The acting user's role in the show (None: not in it), what they owe and what was captured.
    my_role: str | None
    my_due_tokens: int | None
    my_billed_tokens: int | None


@dataclass(frozen=True, slots=True)
class ShowBilling:
    """``api.bill_shows``: the one viewer a billing step worked on."""

    show_id: UUID
    user_id: UUID
    #: Tokens captured from their hold in this step.
    captured: int
    #: Tokens of their hold released (once they are out and settled).
    released: int
    #: billed, settled or out of tokens.
    outcome: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """``lp.token_bundles``: a token bundle and its price (``price_minor`` in minor units of ``currency``)."""

    code: str
    tokens: int
    price_minor: int
    currency: str
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    """``lp.payments``: a token purchase (pending, completed, failed, refunded, chargeback or cancelled)."""

    id: UUID
    user_id: UUID
    provider: str
    provider_reference: str | None
    bundle_code: str | None
    tokens: int
    amount_minor: int
    currency: str
    status: str
    failure_reason: str | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    refunded_at: datetime | None
    charged_back_at: datetime | None
    #: Refund or chargeback: tokens taken back from the buyer's wallet.
    recovered_tokens: int | None
    #: Refund or chargeback: tokens already spent, booked to the chargeback-loss wallet (policy write_off).
    written_off_tokens: int | None
    #: Refund or chargeback: tokens already spent that the buyer now owes (policy debt).
    debt_tokens: int | None
    reversal_reason: str | None
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Hold:
    """``lp.holds``: a reservation of the holder's (``user_id``) available balance for a payee."""

    id: UUID
    user_id: UUID
    wallet_id: UUID
    payee_id: UUID
    stream_id: UUID | None
    purpose: str
    amount: int
    #: Tokens captured so far; while open, ``amount - captured`` is reserved.
    captured: int
    status: str
    expires_at: datetime
    closed_at: datetime | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class HoldCapture:
    """``lp.hold_captures``: one capture of a hold (the payee got ``amount - fee_amount``)."""

    id: UUID
    hold_id: UUID
    amount: int
    fee_amount: int
    transaction_id: UUID
    idempotency_key: str
    created_at: datetime
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class SpendingLimit:
    """``lp.spending_limits``: a viewer's own cap for one period, as ``api.set_spending_limit`` left it."""

    user_id: UUID
    period: str
    #: The cap in force (None: no cap).
    limit_tokens: int | None
    #: A raise or removal (None with ``pending_effective_at`` set) waiting for the cooling-off period.
    pending_limit_tokens: int | None
    pending_effective_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SpendingLimitStatus:
    """A row of ``api.get_spending_limits``: one period's cap as it stands now and the window's usage."""

    period: str
    limit_tokens: int | None
    pending_limit_tokens: int | None
    pending_effective_at: datetime | None
    window_start: datetime
    spent: int
    reserved: int
    #: What may still be spent in the window (None when there is no cap).
    remaining: int | None


@dataclass(frozen=True, slots=True)
class FraudLimit:
    """A row of ``api.get_fraud_limits``: the fraud controls on one kind of spend (``"tip"`` or
    ``"purchase"``) of a user as they stand now (docs/trust-and-safety.md, "Fraud controls on money")."""

    kind: str
    #: Younger than ``fraud.new_account_days``, or without a completed payment.
    new_account: bool
    verified_payment: bool
    new_account_until: datetime
    #: The new-account cap per tip or purchase in force (None: none).
    max_tokens: int | None
    #: The new-account cap per UTC day in force (None: none).
    daily_tokens: int | None
    tokens_today: int
    #: The velocity threshold per UTC clock hour (None: off).
    per_hour: int | None
    this_hour: int


@dataclass(frozen=True, slots=True)
class Adjustment:
    """``lp.adjustments``: an admin correction (positive credits the user, negative debits them)."""

    id: UUID
    user_id: UUID
    amount: int
    reason: str
    created_by: UUID | None
    transaction_id: UUID
    idempotency_key: str
    created_at: datetime
    #: Who made it as everyone may see it, e.g. ``'admin #3f9a'`` (``created_by`` is for staff only).
    created_by_label: str | None
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class KycVerification:
    """``lp.kyc_verifications``: an age or identity verification and its review."""

    id: UUID
    user_id: UUID
    level: str
    status: str
    provider: str
    provider_reference: str | None
    document_type: str | None
    document_country: str | None
    document_front_url: str | None
    document_back_url: str | None
    selfie_url: str | None
    #: Encrypted in the database under a key no application role can read; api functions return None here.
    legal_name_encrypted: bytes | None = field(repr=False)
    verification_score: Decimal | None
    verified_date_of_birth: date | None
    submitted_at: datetime
    reviewed_at: datetime | None
    reviewed_by: UUID | None
    rejection_reason: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    #: The reviewer as everyone may see them, e.g. ``'admin #3f9a'``; ``reviewed_by`` (the id) is None unless
    #: the caller is staff.
    reviewed_by_label: str | None
    #: When it was first approved: from then on its record is frozen (LP130).
    approved_at: datetime | None
    #: Who made the current decision: admin, provider, score, age_check or override.
    decided_by: str | None
    #: The provider's reason codes of its latest applied webhook.
    reasons: list[str] | None
    #: When the latest applied provider webhook occurred.
    last_event_at: datetime | None
    #: When an approval stopped counting (document expired, or ``kyc.approval_valid_days`` passed): the
    #: performer needs re-verification (``api.expire_kyc_approvals``).
    approval_ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class KycWebhookEvent:
    """``lp.kyc_webhook_events``: one provider webhook and what ``api.apply_kyc_webhook`` did with it
    (``outcome`` applied, or ignored with a ``note``: out of order, not a forward move)."""

    provider: str
    event_id: str
    verification_id: UUID
    requested_status: str
    score: Decimal | None
    status_before: str
    status_after: str
    outcome: str
    note: str | None
    occurred_at: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class KycRecord:
    """``api.kyc_record``: a verification's record decrypted, for compliance officers only (audited)."""

    verification_id: UUID
    user_id: UUID
    level: str
    status: str
    provider: str
    provider_reference: str | None
    legal_name: str | None = field(repr=False)
    date_of_birth: date | None = field(repr=False)
    document_type: str | None
    document_country: str | None
    document_front_url: str | None
    document_back_url: str | None
    selfie_url: str | None
    aliases: list[str]
    approved_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Payout:
    """``lp.payouts``: a performer's cash-out (``amount_minor`` in minor units of ``currency``).

    ``status``: requested -> approved -> sending (``send_payout``) -> paid or failed; approved may also be
    paid or fail directly; requested or approved may be rejected, requested cancelled."""

    id: UUID
    user_id: UUID
    kyc_verification_id: UUID
    tokens: int
    tokens_per_unit: int
    amount_minor: int
    currency: str
    method: str
    status: str
    reviewed_by: UUID | None
    reviewed_at: datetime | None
    rejection_reason: str | None
    provider_reference: str | None
    failure_reason: str | None
    paid_at: datetime | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    #: The reviewer as everyone may see them, e.g. ``'admin #3f9a'``; ``reviewed_by`` (the id) is None unless
    #: the caller is staff.
    reviewed_by_label: str | None
    #: When the payout processor claimed it to release the transfer (``send_payout``); None if never sent so.
    sending_at: datetime | None
    #: True when this is the answer of a money call to a used idempotency key (a replay: nothing was done
    #: again); set by the client, False in listings and lookups, not compared (a replay == the original).
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Wallet:
    """``api.get_wallet``: a user's wallet; ``available = total - reserved`` is what the user can spend."""

    wallet_id: UUID
    user_id: UUID
    #: The main balance; ``pending_credits`` wait in the credit shards; ``total`` is their sum.
    balance: int
    pending_credits: int
    total: int
    reserved: int
    available: int
    in_debt: bool
    debt_since: datetime | None
    currency: str
    tokens_per_unit: int
    #: ``total`` in minor currency units (cents), rounded down.
    value_minor: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A row of ``api.wallet_history``: one ledger entry of the wallet (main balance: shard 0, or a credit
    shard), with the before/after balances of that account."""

    id: int
    transaction_id: UUID
    shard: int
    amount: int
    balance_before: int
    balance_after: int
    entry_kind: str
    reference_type: str
    reference_id: UUID
    description: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EarningsSummary:
    """``api.earnings_summary``: a performer's earnings over a period (open ends: None) and now."""

    user_id: UUID
    period_from: datetime | None
    period_to: datetime | None
    tips_count: int
    tips_gross: int
    tips_fees: int
    tips_net: int
    captures_count: int
    captures_gross: int
    captures_fees: int
    captures_net: int
    balance: int
    #: What ``request_payout`` would allow now.
    payable: int
    #: Earnings still within ``payouts.hold_days``.
    in_hold: int
    #: Tokens of requested, approved and sending payouts.
    in_clearing: int
    paid_out: int
    currency: str
    tokens_per_unit: int


@dataclass(frozen=True, slots=True)
class LedgerViolation:
    """A row of ``api.verify_ledger``: one broken invariant (``check_name`` says which, docs/ledger.md)."""

    check_name: str
    wallet_id: UUID | None
    shard: int | None
    transaction_id: UUID | None
    detail: str


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """``api.ledger_totals``: issued - burned = circulating = user + system holdings; ``imbalance`` is 0 when
    sound."""

    issued: int
    burned: int
    circulating: int
    in_user_wallets: int
    in_system_wallets: int
    imbalance: int


@dataclass(frozen=True, slots=True)
class LedgerChunk:
    """A row of ``api.ledger_stats``: one chunk of a chunked verification (wallet-id range, None = open)."""

    chunk: int
    wallet_from: UUID | None
    wallet_to: UUID | None
    wallets: int
    entries: int


@dataclass(frozen=True, slots=True)
class LedgerPeriod:
    """A row of ``api.ledger_periods``: one period of a chunked verification's transaction pass ([from, to),
    None = open); ``approx_entries`` estimates its ledger entries."""

    period: int
    period_from: datetime | None
    period_to: datetime | None
    approx_entries: int


@dataclass(frozen=True, slots=True)
class Stream:
    """``api.stream``: a stream as its API functions return it (no ingest key), with its co-performers."""

    id: UUID
    host_id: UUID
    title: str
    description: str | None
    category: str
    tags: list[str]
    #: scheduled, live, ended or cancelled (``livepanty-db values stream_status``).
    status: str
    visibility: str
    is_mature: bool
    thumbnail_url: str | None
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    peak_viewers: int
    #: Final statistics, written when the stream ends.
    unique_viewers: int
    watch_seconds: int
    tips_count: int
    tips_tokens: int
    #: Co-performers on camera besides the host.
    performers: list[UUID]
    created_at: datetime
    updated_at: datetime
    #: Viewers watching now (0 unless live).
    current_viewers: int


@dataclass(frozen=True, slots=True)
class StreamStart:
    """``api.stream_start``: a live stream and its ingest key, shown this once (only its hash is stored)."""

    stream_id: UUID
    status: str
    started_at: datetime | None
    stream_key: str = field(repr=False)
    key_issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TopTipper:
    """``api.stream_top_tippers``: a place on a stream's leaderboard (anonymous: no id, unless admin)."""

    rank: int
    tipper_id: UUID | None
    tipper_name: str
    anonymous: bool
    tokens: int
    tips: int


@dataclass(frozen=True, slots=True)
class PerformerTopTipper(TopTipper):
    """``api.performer_top_tippers``: a place on a performer's leaderboard (the columns of TopTipper)."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """``api.stream_events``: one event of a stream, in its log's order."""

    #: Where the reader is after this event: pass it back as ``after`` (no event ever appears behind it).
    position: str
    id: int
    #: stream_started, stream_ended, tip, viewer_count.
    kind: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StreamListing:
    """``api.list_live_streams``: a live public stream in the discovery listing."""

    id: UUID
    host_id: UUID
    host_name: str
    title: str
    category: str
    tags: list[str]
    is_mature: bool
    thumbnail_url: str | None
    started_at: datetime
    #: The count the listing orders by (refreshed by the viewer sweep).
    viewers: int


@dataclass(frozen=True, slots=True)
class Viewing:
    """``api.viewing``: the acting user's viewing session of a stream, and the stream's viewer count."""

    session_id: int
    stream_id: UUID
    joined_at: datetime
    last_heartbeat_at: datetime
    left_at: datetime | None
    viewers: int


@dataclass(frozen=True, slots=True)
class StreamViewer:
    """``api.list_stream_viewers``: someone watching a stream now (host and staff)."""

    user_id: UUID
    username: str
    joined_at: datetime
    last_heartbeat_at: datetime
    #: Their total watch time in this stream, every session (the open one up to now).
    watch_seconds: int


@dataclass(frozen=True, slots=True)
class PerformerBlock:
    """``lp.performer_blocks``: a user a performer keeps out of their streams."""

    performer_id: UUID
    blocked_id: UUID
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StreamConsent:
    """``lp.stream_consents``: a performer's immutable consent to appear in one stream."""

    stream_id: UUID
    performer_id: UUID
    consented_at: datetime
    ip_address: IPv4Address | IPv6Address
    user_agent: str | None


#: Every model that mirrors a SQL row type, with that type's name (tests compare fields with the catalog).
@dataclass(frozen=True, slots=True)
class Erasure:
    """``lp.erasures``: one row of the erasure log (api.request_erasure, api.erase_user, api.list_erasures):
    what was erased (row counts per category), when, by whom, and what is kept until when; never an erased
    value."""

    id: UUID
    user_id: UUID
    #: ``self`` (the user's own request) or ``admin``.
    via: str
    requested_by: UUID | None
    reason: str | None
    erased_at: datetime
    #: Row counts per category erased or pseudonymised, e.g. ``{"sessions": 2, "tip_messages": 1, ...}``.
    erased: dict[str, Any]
    #: What is kept for its legal retention: ``[{"category", "until", "what", "why"}, ...]``.
    retained: list[dict[str, Any]]
    kyc_retained_until: datetime | None
    kyc_destroyed_at: datetime | None
    replayed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ErasureReplay:
    """``api.replay_erasure``: what re-applying one exported erasure did (``replayed``, ``already_applied``,
    ``kyc_destroyed`` or ``user_absent``)."""

    erasure_id: UUID
    user_id: UUID
    outcome: str


# --- review queue: reports and automated flags (issue 9, section 2) -----------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewCase:
    """``lp.reports``: a review case (reports and flags of one target and reason), as staff read it."""

    id: UUID
    #: The first reporter (every reporter: ReportFiling); never shown to the reported user.
    reporter_id: UUID | None
    reported_user_id: UUID | None
    stream_id: UUID | None
    reason: str
    description: str | None
    #: open, in_review (claimed), escalated, resolved or dismissed.
    status: str
    #: low, normal, high or critical.
    priority: str
    priority_rank: int
    assigned_to: UUID | None
    resolution: str | None
    resolved_by: UUID | None
    resolved_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    assigned_to_label: str | None
    resolved_by_label: str | None
    #: report, flag, fraud or system.
    source: str
    #: user, stream, tip or profile.
    target_type: str
    tip_id: UUID | None
    reporter_count: int
    trusted_reporter_count: int
    flag_count: int
    confidence: Decimal | None
    priority_score: int
    details: dict[str, Any]
    #: SLA due time (business days, review.sla_business_days).
    due_at: datetime | None
    claimed_at: datetime | None
    claim_expires_at: datetime | None
    #: dismiss, warn, remove_content, end_stream or sanction.
    action: str | None
    #: Statement of reasons: facts, rule, automated, appeal.
    decision: dict[str, Any] | None
    sanction_id: UUID | None
    #: Who last gave the case back (api.release_case) and when (migration 0065; None from an older database):
    #: api.claim_case does not hand it back to them for review.claim_minutes.
    released_by: UUID | None = None
    released_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportFiling:
    """``lp.report_filings``: one user's report, merged into a case (``api.report``)."""

    id: UUID
    case_id: UUID
    reporter_id: UUID | None
    description: str | None
    #: False when the reporter was deprioritised by reporter reputation.
    trusted: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ModerationFlag:
    """``lp.moderation_flags``: an automated detection (``api.raise_flag``)."""

    id: UUID
    stream_id: UUID | None
    user_id: UUID | None
    content_type: str
    content_ref: str | None
    detector: str
    category: str
    confidence: Decimal
    #: pending, confirmed, dismissed or escalated (acted upon at once).
    status: str
    priority: str
    priority_rank: int
    details: dict[str, Any]
    reviewed_by: UUID | None
    reviewed_at: datetime | None
    review_notes: str | None
    created_at: datetime
    case_id: UUID | None
    #: ignored, queued or acted.
    disposition: str | None


@dataclass(frozen=True, slots=True)
class ReviewQueueEntry:
    """A row of ``api.review_queue``: a case in claim order, overdue or not, with its detectors' precision."""

    case_id: UUID
    source: str
    target_type: str
    reason: str
    status: str
    priority: str
    priority_score: int
    reporter_count: int
    flag_count: int
    confidence: Decimal | None
    reported_user_id: UUID | None
    stream_id: UUID | None
    tip_id: UUID | None
    assigned_to: UUID | None
    claim_expires_at: datetime | None
    due_at: datetime | None
    overdue: bool
    escalated_at: datetime | None
    created_at: datetime
    detector_precision: Decimal | None


@dataclass(frozen=True, slots=True)
class CaseDecision:
    """A row of ``api.my_case_decisions``: a decision about the acting user, with its statement of reasons."""

    case_id: UUID
    target_type: str
    reason: str
    status: str
    action: str | None
    automated: bool | None
    facts: str | None
    rule: str | None
    appeal: str | None
    sanction_id: UUID | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class DetectorPrecision:
    """A row of ``api.detector_precision``: a detector's flags confirmed and dismissed by moderators."""

    detector: str
    confirmed: int
    dismissed: int
    #: confirmed / (confirmed + dismissed), 4 decimals.
    precision_ratio: Decimal


#: Results of money calls with an idempotency key: their last field, ``replayed``, is the client's (not a
#: column of the SQL type): true when the call was answered from its key (livepanty_db.sql, lp.note_replay).
REPLAYABLE: tuple[type, ...] = (Adjustment, Hold, HoldCapture, Payment, Payout, Show, ShowParticipant, Tip)

SQL_TYPES: dict[type, str] = {
    UserAccount: "api.user_account",
    SessionInfo: "api.session_info",
    LoginResult: "api.login_result",
    PasswordChangeResult: "api.password_change_result",
    Authenticated: "api.authenticated",
    Preferences: "lp.user_preferences",
    Sanction: "lp.user_sanctions",
    SanctionAppeal: "lp.sanction_appeals",
    ReviewCase: "lp.reports",
    ReportFiling: "lp.report_filings",
    ModerationFlag: "lp.moderation_flags",
    Setting: "lp.settings",
    UserSummary: "api.user_summary",
    StreamSummary: "api.stream_summary",
    Tip: "lp.tips",
    TipMenuItem: "lp.tip_menu_items",
    TipGoal: "lp.tip_goals",
    ShowPrice: "lp.show_prices",
    Show: "lp.shows",
    ShowParticipant: "lp.show_participants",
    Bundle: "lp.token_bundles",
    Payment: "lp.payments",
    Hold: "lp.holds",
    HoldCapture: "lp.hold_captures",
    SpendingLimit: "lp.spending_limits",
    Adjustment: "lp.adjustments",
    KycVerification: "lp.kyc_verifications",
    KycWebhookEvent: "lp.kyc_webhook_events",
    Payout: "lp.payouts",
    Stream: "api.stream",
    StreamStart: "api.stream_start",
    StreamConsent: "lp.stream_consents",
    Viewing: "api.viewing",
    PerformerBlock: "lp.performer_blocks",
    Erasure: "lp.erasures",
}

#: ``RETURNS TABLE (...)`` functions whose rows have the columns of another function's model.
SAME_ROWS: dict[str, type] = {
    "api.verify_ledger_period": LedgerViolation,
}

#: Every model that mirrors the columns of a ``RETURNS TABLE (...)`` function, with that function's name.
SQL_FUNCTIONS: dict[type, str] = {
    PartitionMade: "api.maintain_partitions",
    ArchivePlan: "api.archive_prepare",
    ArchiveRecord: "api.list_archives",
    PublicProfile: "api.public_profile",
    OutboxMessage: "api.claim_messages",
    StreamStats: "api.stream_stats",
    TipListing: "api.list_tips",
    TipOutcome: "api.tip_many",
    SpendingLimitStatus: "api.get_spending_limits",
    FraudLimit: "api.get_fraud_limits",
    Wallet: "api.get_wallet",
    LedgerEntry: "api.wallet_history",
    EarningsSummary: "api.earnings_summary",
    LedgerViolation: "api.verify_ledger",
    LedgerTotals: "api.ledger_totals",
    LedgerChunk: "api.ledger_stats",
    LedgerPeriod: "api.ledger_periods",
    StreamViewer: "api.list_stream_viewers",
    StreamListing: "api.list_live_streams",
    TopTipper: "api.stream_top_tippers",
    StreamEvent: "api.stream_events",
    PerformerTopTipper: "api.performer_top_tippers",
    StreamGoal: "api.stream_goals",
    GoalSettlement: "api.settle_tip_goals",
    StreamShow: "api.stream_shows",
    ShowBilling: "api.bill_shows",
    ErasureReplay: "api.replay_erasure",
    KycRecord: "api.kyc_record",
    AppealQueueEntry: "api.list_appeals",
    ReviewQueueEntry: "api.review_queue",
    CaseDecision: "api.my_case_decisions",
    DetectorPrecision: "api.detector_precision",
    MySanction: "api.my_sanctions",
}
