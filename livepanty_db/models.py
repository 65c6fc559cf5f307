"""Typed rows: frozen dataclasses mirroring the row types the SQL API returns.

Field names and order are the column names and order of the SQL type (tests compare them with the catalog), so
rows load with ``psycopg.rows.class_row``. Column types: uuid -> UUID, timestamptz -> aware datetime, inet ->
``ipaddress`` address, jsonb -> Python JSON values, interval -> timedelta, bigint -> int.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
class ResetRequest:
    """``api.reset_request``: a reset token to e-mail; token is None when the address is unknown."""

    token: str | None
    expires_at: datetime | None

    def __repr__(self) -> str:
        shown = None if self.token is None else "'***'"
        return f"ResetRequest(token={shown}, expires_at={self.expires_at!r})"


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
    """``lp.user_sanctions``: a warning, mute, suspension or ban."""

    id: UUID
    user_id: UUID
    sanction_type: str
    reason: str
    report_id: UUID | None
    issued_by: UUID | None
    starts_at: datetime
    ends_at: datetime | None
    revoked_at: datetime | None
    revoked_by: UUID | None
    revoke_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Setting:
    """``lp.settings``: one runtime setting."""

    key: str
    value: Any
    description: str
    updated_at: datetime
    updated_by: UUID | None


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
    tokens_tipped: int


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
    peak_viewers: int
    tip_count: int | None
    tokens_tipped: int | None


#: Every model that mirrors a SQL row type, with that type's name (tests compare fields with the catalog).
SQL_TYPES: dict[type, str] = {
    UserAccount: "api.user_account",
    SessionInfo: "api.session_info",
    LoginResult: "api.login_result",
    PasswordChangeResult: "api.password_change_result",
    Authenticated: "api.authenticated",
    ResetRequest: "api.reset_request",
    Preferences: "lp.user_preferences",
    Sanction: "lp.user_sanctions",
    Setting: "lp.settings",
    UserSummary: "api.user_summary",
    StreamSummary: "api.stream_summary",
}
