SET ROLE livepanty_owner;

CREATE TABLE lp.holds (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    wallet_id       uuid NOT NULL REFERENCES lp.wallets (id) ON DELETE RESTRICT,
    payee_id        uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    stream_id       uuid,
    purpose         lp.hold_purpose NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    captured        bigint NOT NULL DEFAULT 0 CHECK (captured >= 0),
    status          lp.hold_status NOT NULL DEFAULT 'open',
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key),
    CHECK (captured <= amount),
    CHECK (user_id <> payee_id),
    CHECK (expires_at > created_at),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
COMMENT ON TABLE lp.holds IS 'Reservations of a viewer''s available balance for a payee (private and group shows bill per minute through captures). While open, amount - captured counts in the wallet''s reserved.';
COMMENT ON COLUMN lp.holds.stream_id IS 'The payee''s live stream the hold was placed for, if any (checked when placed: api.place_hold). No foreign key: on a sharded installation the stream may live on the payee''s shard while the hold lives on the holder''s (docs/scale-out.md); the API never deletes a stream, it only marks it.';
COMMENT ON COLUMN lp.holds.captured IS 'Tokens captured so far (one or more captures, lp.hold_captures).';
COMMENT ON COLUMN lp.holds.status IS 'open; captured (fully); released (the rest returned to available); expired (released by expiry).';
COMMENT ON COLUMN lp.holds.expires_at IS 'An open hold past this time releases itself (lazily when touched, and by api.expire_holds).';

CREATE INDEX holds_wallet_open_idx ON lp.holds (wallet_id) WHERE status = 'open';
CREATE INDEX holds_expiry_idx ON lp.holds (expires_at) WHERE status = 'open';
CREATE INDEX holds_payee_idx ON lp.holds (payee_id, created_at DESC);
CREATE INDEX holds_user_idx ON lp.holds (user_id, created_at DESC);

ALTER TABLE lp.holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.holds FORCE ROW LEVEL SECURITY;
CREATE TRIGGER holds_touch_updated_at BEFORE UPDATE ON lp.holds
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

CREATE TABLE lp.hold_captures (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hold_id         uuid NOT NULL REFERENCES lp.holds (id) ON DELETE RESTRICT,
    amount          bigint NOT NULL CHECK (amount > 0),
    fee_amount      bigint NOT NULL CHECK (fee_amount >= 0),
    transaction_id  uuid NOT NULL,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hold_id, idempotency_key),
    CHECK (fee_amount <= amount)
);
COMMENT ON TABLE lp.hold_captures IS 'Captures of a hold: tokens moved from the holder to the payee (minus the platform fee) in ledger transaction transaction_id.';

CREATE INDEX hold_captures_hold_idx ON lp.hold_captures (hold_id, created_at);
-- The verification's transaction pass reads the captures of one period (migration 0036).
CREATE INDEX hold_captures_created_at_brin ON lp.hold_captures USING brin (created_at);

ALTER TABLE lp.hold_captures ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.hold_captures FORCE ROW LEVEL SECURITY;

RESET ROLE;
