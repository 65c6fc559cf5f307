-- Row types returned by the api functions. Python dataclasses in livepanty_db/models.py mirror them.
SET ROLE livepanty_owner;

CREATE TYPE api.user_account AS (
    id                uuid,
    email             text,
    username          text,
    display_name      text,
    role              text,
    date_of_birth     date,
    country_code      text,
    email_verified_at timestamptz,
    age_verified_at   timestamptz,
    last_login_at     timestamptz,
    created_at        timestamptz,
    deleted_at        timestamptz
);
COMMENT ON TYPE api.user_account IS 'A user as the API returns it: never the password hash.';

CREATE TYPE api.session_info AS (
    id            uuid,
    user_id       uuid,
    ip_address    inet,
    user_agent    text,
    device_info   jsonb,
    created_at    timestamptz,
    last_seen_at  timestamptz,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    revoke_reason text,
    is_current    boolean
);
COMMENT ON TYPE api.session_info IS 'A login session as its owner sees it: never the token or its hash.';

CREATE TYPE api.login_result AS (
    success    boolean,
    error_code text,
    user_id    uuid,
    session_id uuid,
    token      text,
    expires_at timestamptz
);
COMMENT ON TYPE api.login_result IS 'Outcome of api.login. Failures are reported in-band (success false, error_code LP020 or LP022) so that the failure counter, the lockout and the audit record are committed; the token appears only here, once.';

CREATE TYPE api.authenticated AS (
    user_id    uuid,
    session_id uuid,
    role       text,
    expires_at timestamptz
);
COMMENT ON TYPE api.authenticated IS 'The user and session a valid token belongs to (api.authenticate).';

CREATE TYPE api.password_change_result AS (
    success          boolean,
    error_code       text,
    sessions_revoked integer
);
COMMENT ON TYPE api.password_change_result IS 'Outcome of api.change_password. A wrong current password is reported in-band (success false, error_code LP020) so that it counts towards the lockout and is audited.';

CREATE TYPE api.stream AS (
    id                   uuid,
    host_id              uuid,
    title                text,
    description          text,
    category             text,
    tags                 text[],
    status               text,
    visibility           text,
    is_mature            boolean,
    thumbnail_url        text,
    scheduled_at         timestamptz,
    started_at           timestamptz,
    ended_at             timestamptz,
    end_reason           text,
    peak_viewers         integer,
    unique_viewers       integer,
    watch_seconds        bigint,
    tips_count           bigint,
    tips_tokens          bigint,
    performers           uuid[],
    created_at           timestamptz,
    updated_at           timestamptz,
    current_viewers      integer
);
COMMENT ON TYPE api.stream IS 'A stream as its API functions return it: lp.streams without the ingest key hash, with its co-performers (performers: ids, host excluded).';

CREATE TYPE api.stream_start AS (
    stream_id     uuid,
    status        text,
    started_at    timestamptz,
    stream_key    text,
    key_issued_at timestamptz
);
COMMENT ON TYPE api.stream_start IS 'What api.start_stream and api.rotate_stream_key return: the stream, its state and its ingest key, shown this once (only its SHA-256 is stored).';

CREATE TYPE api.viewing AS (
    session_id        bigint,
    stream_id         uuid,
    joined_at         timestamptz,
    last_heartbeat_at timestamptz,
    left_at           timestamptz,
    viewers           integer
);
COMMENT ON TYPE api.viewing IS 'A viewing session of the acting user (api.join_stream, api.heartbeat_stream, api.leave_stream) and the stream''s current viewer count.';

RESET ROLE;
