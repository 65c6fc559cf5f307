-- 0010_token_economy_core: hot-wallet shards, holds, spending limits, adjustments, idempotency keys,
-- token bundles, system wallets and the token economy settings. Frozen once landed.

SET ROLE livepanty_owner;

-- from db/schema/20_wallets.sql
ALTER TABLE lp.wallets
    DROP CONSTRAINT wallets_check2,
    DROP CONSTRAINT wallets_check3,
    ADD COLUMN debt_since timestamptz,
    ADD COLUMN shard_count smallint NOT NULL DEFAULT 0 CHECK (shard_count BETWEEN 0 AND 64),
    ADD CONSTRAINT wallets_user_balance_check
        CHECK (kind = 'system' OR debt_since IS NOT NULL OR (balance >= 0 AND reserved <= balance));
COMMENT ON COLUMN lp.wallets.balance IS 'Spendable tokens of the wallet''s main account (bigint minor units; 100 tokens = 1 USD by default); the wallet''s total also counts its credit shards. Equals the last balance_after of the wallet''s shard-0 ledger entries.';
COMMENT ON COLUMN lp.wallets.debt_since IS 'Set when a refund or chargeback clawed back tokens that were already spent and the shortfall policy is debt: the balance may then be negative and the wallet cannot spend until it is positive again.';
COMMENT ON COLUMN lp.wallets.shard_count IS 'Number of credit shards (lp.wallet_shards) of a hot wallet (performers, system wallets); 0 = every movement uses balance. See docs/ledger.md.';

-- from db/schema/21_ledger.sql
ALTER TABLE lp.ledger
    DROP CONSTRAINT ledger_entry_kind_check,
    DROP CONSTRAINT ledger_reference_type_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (entry_kind IN (
        'purchase', 'refund', 'chargeback', 'write_off', 'tip', 'tip_fee', 'hold_capture',
        'hold_fee', 'payout', 'payout_return', 'payout_paid', 'adjustment', 'sweep')),
    ADD CONSTRAINT ledger_reference_type_check CHECK (reference_type IN (
        'payment', 'tip', 'hold', 'payout', 'adjustment', 'sweep')),
    ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 64);
CREATE INDEX ledger_account_chain_idx ON lp.ledger (wallet_id, shard, id);
COMMENT ON COLUMN lp.ledger.entry_kind IS 'What the entry is: purchase, refund, chargeback, write_off (loss booked), tip, tip_fee (platform fee), hold_capture, hold_fee, payout, payout_return, payout_paid, adjustment, sweep (shard to main).';
COMMENT ON COLUMN lp.ledger.shard IS 'Which account of the wallet the entry moved: 0 = the main balance (lp.wallets.balance), n > 0 = credit shard n (lp.wallet_shards). balance_before/after are that account''s.';

-- from db/schema/25_payments.sql
ALTER TABLE lp.payments
    ADD COLUMN recovered_tokens bigint CHECK (recovered_tokens >= 0),
    ADD COLUMN written_off_tokens bigint CHECK (written_off_tokens >= 0),
    ADD COLUMN debt_tokens bigint CHECK (debt_tokens >= 0),
    ADD COLUMN reversal_reason text CHECK (char_length(reversal_reason) <= 500);
COMMENT ON COLUMN lp.payments.recovered_tokens IS 'On refund or chargeback: tokens taken back from the buyer''s wallet.';
COMMENT ON COLUMN lp.payments.written_off_tokens IS 'On refund or chargeback: tokens already spent that were booked to the chargeback-loss wallet (shortfall policy write_off).';
COMMENT ON COLUMN lp.payments.debt_tokens IS 'On refund or chargeback: tokens already spent that the buyer now owes (shortfall policy debt; the wallet goes negative and cannot spend).';

RESET ROLE;

-- from db/schema/60_wallet_shards.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.wallet_shards (
    wallet_id  uuid NOT NULL REFERENCES lp.wallets (id) ON DELETE RESTRICT,
    shard      smallint NOT NULL CHECK (shard BETWEEN 1 AND 64),
    balance    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (wallet_id, shard)
);
COMMENT ON TABLE lp.wallet_shards IS 'Credit shards of hot wallets (performers, system wallets): concurrent credits each lock a different shard row instead of one wallet row. Every shard is an account with its own ledger chain (lp.ledger.shard); the wallet''s total is balance + the sum of its shards. Sweeps move shard balances to the main balance.';
COMMENT ON COLUMN lp.wallet_shards.balance IS 'Tokens credited to this shard and not yet swept (system wallets: may be negative, e.g. issuance).';

ALTER TABLE lp.wallet_shards ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.wallet_shards FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/61_token_bundles.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.token_bundles (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,40}$'),
    tokens      bigint NOT NULL CHECK (tokens > 0),
    price_minor bigint NOT NULL CHECK (price_minor > 0),
    currency    text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.token_bundles IS 'Token bundles on sale and their prices (runtime configuration, changed by admins through api.set_bundle, audited). A payment copies tokens and price at creation.';
COMMENT ON COLUMN lp.token_bundles.price_minor IS 'Price in minor units of currency (cents for USD).';

INSERT INTO lp.token_bundles (code, tokens, price_minor) VALUES
    ('small', 500, 499),
    ('medium', 1100, 999),
    ('large', 6000, 4999);

CREATE TRIGGER token_bundles_touch_updated_at BEFORE UPDATE ON lp.token_bundles
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();
-- Seed rows first: once row level security is forced, only policies let rows in.
ALTER TABLE lp.token_bundles ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.token_bundles FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/62_holds.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.holds (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    wallet_id       uuid NOT NULL REFERENCES lp.wallets (id) ON DELETE RESTRICT,
    payee_id        uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    stream_id       uuid REFERENCES lp.streams (id) ON DELETE SET NULL,
    purpose         text NOT NULL CHECK (purpose IN ('private_show', 'group_show', 'tip', 'other')),
    amount          bigint NOT NULL CHECK (amount > 0),
    captured        bigint NOT NULL DEFAULT 0 CHECK (captured >= 0),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'captured', 'released', 'expired')),
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

ALTER TABLE lp.hold_captures ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.hold_captures FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/63_spending_limits.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.spending_limits (
    user_id              uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    period               text NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
    limit_tokens         bigint CHECK (limit_tokens > 0),
    pending_limit_tokens bigint CHECK (pending_limit_tokens > 0),
    pending_effective_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, period),
    CHECK (pending_limit_tokens IS NULL OR pending_effective_at IS NOT NULL)
);
COMMENT ON TABLE lp.spending_limits IS 'Caps a viewer sets on their own spending over a rolling day (24 h), week (7 days) or month (30 days). Lowering applies at once; raising or removing waits for limits.raise_cooldown_hours.';
COMMENT ON COLUMN lp.spending_limits.limit_tokens IS 'Cap in force (NULL = none).';
COMMENT ON COLUMN lp.spending_limits.pending_limit_tokens IS 'Raised cap (NULL = removal) that takes over at pending_effective_at.';

ALTER TABLE lp.spending_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.spending_limits FORCE ROW LEVEL SECURITY;
CREATE TRIGGER spending_limits_touch_updated_at BEFORE UPDATE ON lp.spending_limits
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;

-- from db/schema/64_adjustments.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.adjustments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    amount          bigint NOT NULL CHECK (amount <> 0),
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    created_by      uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    transaction_id  uuid NOT NULL,
    idempotency_key text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.adjustments IS 'Admin corrections: a transfer between a user''s wallet and the adjustments system wallet, with a mandatory reason (audited). Nothing ever edits a ledger entry.';
COMMENT ON COLUMN lp.adjustments.amount IS 'Signed: positive credits the user, negative debits them.';

CREATE INDEX adjustments_user_idx ON lp.adjustments (user_id, created_at DESC);

ALTER TABLE lp.adjustments ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.adjustments FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/65_idempotency_keys.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.idempotency_keys (
    scope      text NOT NULL CHECK (scope ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
    key        text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 128),
    request    jsonb NOT NULL,
    response   jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
COMMENT ON TABLE lp.idempotency_keys IS 'Idempotency of state transitions (complete/fail/refund a payment, approve/reject/pay a payout, release a hold, ...): the first call with a key stores its request and response; a replay with the same request returns the stored response, a different request is rejected (LP106). Creations use a unique key column on their own table instead.';
COMMENT ON COLUMN lp.idempotency_keys.scope IS 'The operation, e.g. payments.complete.';

ALTER TABLE lp.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.idempotency_keys FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/66_system_wallets_and_settings.sql
-- System wallets (each with 16 credit shards), credit shards for performers, and the token economy settings.
-- Runs as the migrating superuser: row level security is forced on these tables and the policies that let
-- the owner in are re-applied only after the migrations.
INSERT INTO lp.wallets (kind, system_code, shard_count)
SELECT 'system', code, 16
  FROM unnest(ARRAY['issuance', 'platform_fees', 'payout_clearing', 'chargeback_losses', 'adjustments']) AS code;
UPDATE lp.wallets AS w SET shard_count = 8
  FROM lp.users AS u
 WHERE w.user_id = u.id AND u.role = 'performer';
INSERT INTO lp.wallet_shards (wallet_id, shard)
SELECT w.id, s FROM lp.wallets AS w CROSS JOIN LATERAL generate_series(1, w.shard_count) AS s;

INSERT INTO lp.settings (key, value, description) VALUES
    ('tips.fee_bps',                '2000',    'Platform fee on tips and hold captures, in basis points of the gross amount (rounded down: the performer keeps the odd token).'),
    ('tips.min_tokens',             '1',       'Smallest tip, in tokens.'),
    ('tips.max_tokens',             '1000000', 'Largest tip, in tokens.'),
    ('payouts.min_tokens',          '5000',    'Smallest payout, in tokens.'),
    ('payouts.hold_days',           '7',       'Earnings become payable this many days after they were received.'),
    ('holds.max_minutes',           '1440',    'Longest a hold may stay open before it expires, in minutes.'),
    ('limits.raise_cooldown_hours', '24',      'Raising or removing a spending limit takes effect after this many hours.'),
    ('refunds.shortfall_policy',    '"debt"',  'When a refund or chargeback claws back tokens already spent: "debt" (the wallet goes negative and cannot spend) or "write_off" (the shortfall is booked to the chargeback-loss wallet).'),
    ('wallets.performer_shards',    '8',       'Credit shards given to a performer''s wallet (hot-account spreading).');

-- from db/schema/67_ledger_types.sql
SET ROLE livepanty_owner;

CREATE TYPE lp.posting AS (
    wallet_id        uuid,
    amount           bigint,
    entry_kind       text,
    release_reserved bigint,
    allow_debt       boolean
);
COMMENT ON TYPE lp.posting IS 'One leg of a ledger transaction for lp.post: signed amount on a wallet, optionally releasing reserved tokens at the same time (hold captures), optionally allowed to push the wallet into debt (refund and chargeback clawbacks).';

RESET ROLE;
