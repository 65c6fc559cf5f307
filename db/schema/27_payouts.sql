SET ROLE livepanty_owner;

CREATE TABLE lp.payouts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    kyc_verification_id uuid NOT NULL REFERENCES lp.kyc_verifications (id) ON DELETE RESTRICT,
    tokens              bigint NOT NULL CHECK (tokens > 0),
    tokens_per_unit     integer NOT NULL CHECK (tokens_per_unit > 0),
    amount_minor        bigint NOT NULL CHECK (amount_minor >= 0),
    currency            text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    method              lp.payout_method NOT NULL,
    status              lp.payout_status NOT NULL DEFAULT 'requested',
    reviewed_by         uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    reviewed_at         timestamptz,
    rejection_reason    text CHECK (char_length(rejection_reason) <= 1000),
    provider_reference  text CHECK (char_length(provider_reference) <= 255),
    failure_reason      text CHECK (char_length(failure_reason) <= 1000),
    paid_at             timestamptz,
    idempotency_key     text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    reviewed_by_label   text,
    sending_at          timestamptz,
    UNIQUE (user_id, idempotency_key),
    CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL),
    CONSTRAINT payouts_sending_since CHECK (status <> 'sending' OR sending_at IS NOT NULL)
);
COMMENT ON TABLE lp.payouts IS 'Performer cash-out requests: tokens move to the payout clearing wallet on request, back on rejection or failure. Requires an approved KYC verification.';
COMMENT ON COLUMN lp.payouts.sending_at IS 'When the payout processor claimed the payout to release its transfer (api.send_payout; status sending, then paid or failed). NULL for a payout never sent that way (migration 0054).';
COMMENT ON COLUMN lp.payouts.tokens_per_unit IS 'Conversion rate used, copied from the wallet at request time.';
COMMENT ON COLUMN lp.payouts.amount_minor IS 'Amount to pay in minor currency units, computed from tokens and tokens_per_unit (rounded down).';
COMMENT ON COLUMN lp.payouts.reviewed_by_label IS 'What users who are not staff see instead of reviewed_by: lp.staff_label(reviewed_by) (e.g. ''admin #3f9a''), set by a trigger when reviewed_by is set; reviewed_by itself is not granted to the application roles.';

CREATE INDEX payouts_user_idx ON lp.payouts (user_id, created_at DESC);
CREATE INDEX payouts_status_idx ON lp.payouts (status, created_at) WHERE status IN ('requested', 'approved', 'sending');

ALTER TABLE lp.payouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payouts FORCE ROW LEVEL SECURITY;
CREATE TRIGGER payouts_touch_updated_at BEFORE UPDATE ON lp.payouts
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();
CREATE TRIGGER payouts_label_staff BEFORE INSERT OR UPDATE ON lp.payouts
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('reviewed_by', 'reviewed_by_label');

RESET ROLE;
