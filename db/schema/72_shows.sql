-- Shows billed per minute through holds (migration 0023; issue 8, section 3).
SET ROLE livepanty_owner;

CREATE TYPE lp.show_type AS ENUM ('private', 'group', 'ticket');
COMMENT ON TYPE lp.show_type IS 'Kind of show (lp.shows.show_type): private (one viewer asks, pays per minute; others may spy at their own rate), group (the host opens it, viewers commit, it runs once enough have), ticket (the host opens it, viewers buy a ticket before it starts).';
CREATE TYPE lp.show_status AS ENUM ('requested', 'open', 'running', 'ended', 'declined', 'expired', 'cancelled');
COMMENT ON TYPE lp.show_status IS 'Where a show is (lp.shows.status): requested (a private show, waiting for the host), open (a group or ticket show taking viewers), running, ended, declined (by the host), expired (not answered in time), cancelled (before it ran).';
CREATE TYPE lp.show_role AS ENUM ('payer', 'spy', 'ticket');
COMMENT ON TYPE lp.show_role IS 'How a viewer takes part in a show (lp.show_participants.role): payer (per minute: the private show''s requester, a group show''s viewers), spy (per minute at the spy rate, watching a private show), ticket (one price).';

CREATE TABLE lp.show_prices (
    performer_id     uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    show_type        lp.show_type NOT NULL,
    rate             bigint NOT NULL CHECK (rate > 0),
    spy_rate         bigint CHECK (spy_rate > 0),
    min_minutes      integer NOT NULL DEFAULT 1 CHECK (min_minutes BETWEEN 1 AND 600),
    min_participants integer CHECK (min_participants BETWEEN 2 AND 1000),
    is_enabled       boolean NOT NULL DEFAULT true,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (performer_id, show_type),
    CHECK (spy_rate IS NULL OR show_type = 'private'),
    CHECK ((min_participants IS NOT NULL) = (show_type = 'group'))
);
COMMENT ON TABLE lp.show_prices IS 'A performer''s show prices (api.set_show_price): tokens per minute for private and group shows (spy_rate: what a spy pays per minute of a private show), the ticket price for ticket shows; the minimum duration billed; a group show''s minimum participants. Within shows.min_rate..shows.max_rate.';
COMMENT ON COLUMN lp.show_prices.rate IS 'Tokens per minute (private, group) or the ticket price (ticket).';
ALTER TABLE lp.show_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.show_prices FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.shows (
    id               uuid PRIMARY KEY DEFAULT lp.uuid_v7(),
    stream_id        uuid NOT NULL REFERENCES lp.streams (id) ON DELETE CASCADE,
    host_id          uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    show_type        lp.show_type NOT NULL,
    status           lp.show_status NOT NULL,
    rate             bigint NOT NULL CHECK (rate > 0),
    spy_rate         bigint CHECK (spy_rate > 0),
    min_minutes      integer NOT NULL CHECK (min_minutes >= 1),
    min_participants integer,
    requested_by     uuid REFERENCES lp.users (id) ON DELETE RESTRICT,
    answer_by        timestamptz,
    started_at       timestamptz,
    ended_at         timestamptz,
    ended_by         text CHECK (ended_by IN ('host', 'viewer', 'system', 'admin')),
    end_reason       text CHECK (char_length(end_reason) <= 1000),
    refunded_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((show_type = 'private') = (requested_by IS NOT NULL)),
    CHECK ((status IN ('ended', 'declined', 'expired', 'cancelled')) = (ended_at IS NOT NULL))
);
COMMENT ON TABLE lp.shows IS 'Shows in a live stream, billed through holds (docs/streams.md, "Shows"): the prices are copied from lp.show_prices when the show is asked for or opened. One running show per stream. Money moves only in api.bill_shows, one participant per transaction.';
COMMENT ON COLUMN lp.shows.ended_by IS 'Who ended it: host (the performer stopped, went offline or was sanctioned: only completed minutes are billed), viewer (the private show''s payer left or ran out of tokens: the started minute and the minimum are billed), system, admin.';
CREATE UNIQUE INDEX shows_one_running_key ON lp.shows (stream_id) WHERE status = 'running';
CREATE INDEX shows_stream_idx ON lp.shows (stream_id, created_at);
CREATE INDEX shows_pending_idx ON lp.shows (answer_by) WHERE status = 'requested';
ALTER TABLE lp.shows ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.shows FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.show_participants (
    id            uuid PRIMARY KEY DEFAULT lp.uuid_v7(),
    show_id       uuid NOT NULL REFERENCES lp.shows (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    role          lp.show_role NOT NULL,
    rate          bigint NOT NULL CHECK (rate > 0),
    hold_id       uuid NOT NULL REFERENCES lp.holds (id) ON DELETE RESTRICT,
    joined_at     timestamptz NOT NULL DEFAULT now(),
    billed_from   timestamptz,
    left_at       timestamptz,
    viewer_caused boolean,
    due_tokens    bigint,
    billed_tokens bigint NOT NULL DEFAULT 0 CHECK (billed_tokens >= 0),
    settled_at    timestamptz,
    refunded      bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    UNIQUE (show_id, user_id),
    CONSTRAINT show_participants_hold_id_key UNIQUE (hold_id),
    CHECK (due_tokens IS NULL OR billed_tokens <= due_tokens),
    CHECK (settled_at IS NULL OR due_tokens IS NOT NULL)
);
COMMENT ON TABLE lp.show_participants IS 'The viewers of a show, each with the hold their tokens are reserved on (placed when they asked or committed, topped up ahead while it runs). billed_from: when their billing starts (the show''s start, or a spy''s join); left_at and viewer_caused once they are out; due_tokens once what they owe is fixed; billed_tokens what was captured so far; settled_at once the rest of the hold was released.';
CREATE INDEX show_participants_open_idx ON lp.show_participants (show_id) WHERE settled_at IS NULL;
CREATE INDEX show_participants_user_idx ON lp.show_participants (user_id, joined_at DESC);
ALTER TABLE lp.show_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.show_participants FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('shows.min_rate',               '1',     'Lowest show price a performer may set (tokens per minute, or a ticket).'),
    ('shows.max_rate',               '10000', 'Highest show price a performer may set (tokens per minute, or a ticket).'),
    ('shows.answer_seconds',         '120',   'A private show request the host has not answered in this many seconds expires (its hold is released).'),
    ('shows.prepay_minutes',         '2',     'While a show runs, each viewer''s hold is kept topped up this many minutes ahead.');
