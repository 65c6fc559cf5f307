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
    status             lp.payment_status NOT NULL DEFAULT 'pending',
    failure_reason     text CHECK (char_length(failure_reason) <= 500),
    idempotency_key    text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    refunded_at        timestamptz,
    charged_back_at    timestamptz,
    recovered_tokens   bigint CHECK (recovered_tokens >= 0),
    written_off_tokens bigint CHECK (written_off_tokens >= 0),
    debt_tokens        bigint CHECK (debt_tokens >= 0),
    reversal_reason    text CHECK (char_length(reversal_reason) <= 500),
    UNIQUE (user_id, idempotency_key),
    UNIQUE (provider, provider_reference),
    CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    CHECK (status <> 'refunded' OR refunded_at IS NOT NULL),
    CHECK (status <> 'chargeback' OR charged_back_at IS NOT NULL)
);
COMMENT ON TABLE lp.payments IS 'Token purchases through a payment provider: pending until the service role completes, fails, refunds or charges back the payment.';
COMMENT ON COLUMN lp.payments.provider_reference IS 'The provider''s id for the charge; unique per provider.';
COMMENT ON COLUMN lp.payments.tokens IS 'Tokens credited from the issuance wallet on completion.';
COMMENT ON COLUMN lp.payments.recovered_tokens IS 'On refund or chargeback: tokens taken back from the buyer''s wallet.';
COMMENT ON COLUMN lp.payments.written_off_tokens IS 'On refund or chargeback: tokens already spent that were booked to the chargeback-loss wallet (shortfall policy write_off).';
COMMENT ON COLUMN lp.payments.debt_tokens IS 'On refund or chargeback: tokens already spent that the buyer now owes (shortfall policy debt; the wallet goes negative and cannot spend).';
COMMENT ON COLUMN lp.payments.amount_minor IS 'Price paid in minor units of currency (cents for USD).';

CREATE INDEX payments_user_idx ON lp.payments (user_id, created_at DESC);
CREATE INDEX payments_status_idx ON lp.payments (status, created_at) WHERE status = 'pending';

ALTER TABLE lp.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payments FORCE ROW LEVEL SECURITY;
CREATE TRIGGER payments_touch_updated_at BEFORE UPDATE ON lp.payments
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;
