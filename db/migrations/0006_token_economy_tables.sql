-- 0006_token_economy_tables: frozen copy of the canonical definitions as of this migration.

-- from db/schema/20_wallets.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.wallets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'system')),
    user_id         uuid UNIQUE REFERENCES lp.users (id) ON DELETE RESTRICT,
    system_code     text UNIQUE CHECK (system_code ~ '^[a-z][a-z0-9_]{2,40}$'),
    balance         bigint NOT NULL DEFAULT 0,
    reserved        bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    currency        text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    tokens_per_unit integer NOT NULL DEFAULT 100 CHECK (tokens_per_unit > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'user') = (user_id IS NOT NULL)),
    CHECK ((kind = 'system') = (system_code IS NOT NULL)),
    CHECK (kind = 'system' OR balance >= 0),
    CHECK (kind = 'system' OR reserved <= balance)
);
COMMENT ON TABLE lp.wallets IS 'Token balances. One wallet per user, plus system wallets (issuance, platform fees, payout clearing, ...) so every movement is double-entry. Written only by api functions, through the ledger.';
COMMENT ON COLUMN lp.wallets.kind IS 'user: belongs to user_id; system: a platform account named by system_code.';
COMMENT ON COLUMN lp.wallets.balance IS 'Tokens held (bigint minor units; 100 tokens = 1 USD by default). Equals the sum of the wallet''s ledger entries.';
COMMENT ON COLUMN lp.wallets.reserved IS 'Tokens reserved by open holds; available = balance - reserved. Prevents double spending.';
COMMENT ON COLUMN lp.wallets.tokens_per_unit IS 'Conversion rate: tokens per currency unit (100 per USD by default).';

ALTER TABLE lp.wallets ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.wallets FORCE ROW LEVEL SECURITY;
CREATE TRIGGER wallets_touch_updated_at BEFORE UPDATE ON lp.wallets
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;

-- from db/schema/21_ledger.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id uuid NOT NULL,
    wallet_id      uuid NOT NULL REFERENCES lp.wallets (id) ON DELETE RESTRICT,
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_before bigint NOT NULL,
    balance_after  bigint NOT NULL,
    entry_kind     text NOT NULL CHECK (entry_kind IN (
                       'purchase', 'tip', 'tip_fee', 'hold_capture', 'hold_fee', 'payout', 'payout_return',
                       'refund', 'chargeback', 'chargeback_loss', 'adjustment')),
    reference_type text NOT NULL CHECK (reference_type IN (
                       'payment', 'tip', 'hold', 'payout', 'refund', 'chargeback', 'adjustment')),
    reference_id   uuid NOT NULL,
    description    text CHECK (char_length(description) <= 500),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (balance_after = balance_before + amount)
);
COMMENT ON TABLE lp.ledger IS 'Immutable, append-only token history (double entry): every movement is one transaction_id whose entries sum to zero. UPDATE, DELETE and TRUNCATE are rejected by triggers, also for the owner.';
COMMENT ON COLUMN lp.ledger.transaction_id IS 'Groups the entries of one movement; they sum to zero.';
COMMENT ON COLUMN lp.ledger.amount IS 'Signed token amount: positive credits the wallet, negative debits it.';
COMMENT ON COLUMN lp.ledger.balance_before IS 'Wallet balance just before this entry.';
COMMENT ON COLUMN lp.ledger.balance_after IS 'Wallet balance just after this entry (= balance_before + amount).';
COMMENT ON COLUMN lp.ledger.entry_kind IS 'What the entry is: purchase, tip, tip_fee (platform fee), hold_capture, payout, refund, chargeback, adjustment, ...';
COMMENT ON COLUMN lp.ledger.reference_type IS 'Kind of business object the entry belongs to; reference_id is its id.';

CREATE INDEX ledger_wallet_history_idx ON lp.ledger (wallet_id, id);
CREATE INDEX ledger_wallet_created_at_idx ON lp.ledger (wallet_id, created_at);
CREATE INDEX ledger_transaction_idx ON lp.ledger (transaction_id);
CREATE INDEX ledger_reference_idx ON lp.ledger (reference_type, reference_id);

ALTER TABLE lp.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON lp.ledger
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON lp.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

RESET ROLE;

-- from db/schema/24_tips.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.tips (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sender_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    recipient_id    uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    stream_id       uuid REFERENCES lp.streams (id) ON DELETE SET NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    fee_amount      bigint NOT NULL CHECK (fee_amount >= 0),
    message         text CHECK (char_length(message) <= 500),
    is_anonymous    boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'completed' CHECK (status IN ('completed', 'refunded')),
    transaction_id  uuid NOT NULL,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (sender_id <> recipient_id),
    CHECK (fee_amount <= amount),
    UNIQUE (sender_id, idempotency_key)
);
COMMENT ON TABLE lp.tips IS 'Tips from a viewer to a performer, optionally during a stream. The token movement is the ledger transaction transaction_id; the platform fee goes to the fee wallet in the same transaction.';
COMMENT ON COLUMN lp.tips.amount IS 'Tokens paid by the sender (gross).';
COMMENT ON COLUMN lp.tips.fee_amount IS 'Platform fee part of amount; the performer receives amount - fee_amount.';
COMMENT ON COLUMN lp.tips.is_anonymous IS 'Sender hidden from the performer and the public (never from admins).';
COMMENT ON COLUMN lp.tips.idempotency_key IS 'Caller-chosen key, unique per sender: a retry with the same key returns the original tip.';

CREATE INDEX tips_recipient_idx ON lp.tips (recipient_id, created_at DESC);
CREATE INDEX tips_sender_idx ON lp.tips (sender_id, created_at DESC);
CREATE INDEX tips_stream_idx ON lp.tips (stream_id, created_at) WHERE stream_id IS NOT NULL;

ALTER TABLE lp.tips ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tips FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/25_payments.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.payments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    provider           text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{1,31}$'),
    provider_reference text CHECK (char_length(provider_reference) BETWEEN 1 AND 255),
    bundle_code        text CHECK (bundle_code ~ '^[a-z0-9_]{1,40}$'),
    tokens             bigint NOT NULL CHECK (tokens > 0),
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'completed', 'failed', 'refunded', 'chargeback', 'cancelled')),
    failure_reason     text CHECK (char_length(failure_reason) <= 500),
    idempotency_key    text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    refunded_at        timestamptz,
    charged_back_at    timestamptz,
    UNIQUE (user_id, idempotency_key),
    UNIQUE (provider, provider_reference),
    CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    CHECK (status <> 'refunded' OR refunded_at IS NOT NULL),
    CHECK (status <> 'chargeback' OR charged_back_at IS NOT NULL)
);
COMMENT ON TABLE lp.payments IS 'Token purchases through a payment provider: pending until the service role completes, fails, refunds or charges back the payment.';
COMMENT ON COLUMN lp.payments.provider_reference IS 'The provider''s id for the charge; unique per provider.';
COMMENT ON COLUMN lp.payments.tokens IS 'Tokens credited from the issuance wallet on completion.';
COMMENT ON COLUMN lp.payments.amount_minor IS 'Price paid in minor units of currency (cents for USD).';

CREATE INDEX payments_user_idx ON lp.payments (user_id, created_at DESC);
CREATE INDEX payments_status_idx ON lp.payments (status, created_at) WHERE status = 'pending';

ALTER TABLE lp.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payments FORCE ROW LEVEL SECURITY;
CREATE TRIGGER payments_touch_updated_at BEFORE UPDATE ON lp.payments
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;

-- from db/schema/27_payouts.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.payouts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    kyc_verification_id uuid NOT NULL REFERENCES lp.kyc_verifications (id) ON DELETE RESTRICT,
    tokens              bigint NOT NULL CHECK (tokens > 0),
    tokens_per_unit     integer NOT NULL CHECK (tokens_per_unit > 0),
    amount_minor        bigint NOT NULL CHECK (amount_minor >= 0),
    currency            text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    method              text NOT NULL CHECK (method IN ('bank_transfer', 'paypal', 'paxum', 'wire', 'check')),
    status              text NOT NULL DEFAULT 'requested'
                        CHECK (status IN ('requested', 'approved', 'rejected', 'paid', 'failed', 'cancelled')),
    reviewed_by         uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    reviewed_at         timestamptz,
    rejection_reason    text CHECK (char_length(rejection_reason) <= 1000),
    provider_reference  text CHECK (char_length(provider_reference) <= 255),
    failure_reason      text CHECK (char_length(failure_reason) <= 1000),
    paid_at             timestamptz,
    idempotency_key     text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key),
    CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL)
);
COMMENT ON TABLE lp.payouts IS 'Performer cash-out requests: tokens move to the payout clearing wallet on request, back on rejection or failure. Requires an approved KYC verification.';
COMMENT ON COLUMN lp.payouts.tokens_per_unit IS 'Conversion rate used, copied from the wallet at request time.';
COMMENT ON COLUMN lp.payouts.amount_minor IS 'Amount to pay in minor currency units, computed from tokens and tokens_per_unit (rounded down).';

CREATE INDEX payouts_user_idx ON lp.payouts (user_id, created_at DESC);
CREATE INDEX payouts_status_idx ON lp.payouts (status, created_at) WHERE status IN ('requested', 'approved');

ALTER TABLE lp.payouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payouts FORCE ROW LEVEL SECURITY;
CREATE TRIGGER payouts_touch_updated_at BEFORE UPDATE ON lp.payouts
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;
