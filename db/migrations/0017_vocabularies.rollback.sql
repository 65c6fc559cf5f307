-- Undo 0017_vocabularies: the columns back to text with their CHECK lists; the enum types dropped.
SET ROLE livepanty_owner;

CREATE OR REPLACE FUNCTION lp.staff_label(p_user_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(CASE WHEN u.role IN ('moderator', 'admin') THEN u.role END, 'staff') || ' #'
                   || left(encode(ext.hmac(convert_to('lp-staff-label-v1|' || p_user_id::text, 'UTF8'), s.value,
                                           'sha256'), 'hex'), 4)
              FROM lp.secrets AS s
              LEFT JOIN lp.users AS u ON u.id = p_user_id
             WHERE s.name = 'pseudonym' AND p_user_id IS NOT NULL);
END
$$;

DROP INDEX lp.users_role_idx;
ALTER TABLE lp.users ALTER COLUMN role DROP DEFAULT;
ALTER TABLE lp.users ALTER COLUMN role TYPE text;
ALTER TABLE lp.users ALTER COLUMN role SET DEFAULT 'viewer',
    ADD CONSTRAINT users_role_check CHECK (role IN ('viewer', 'performer', 'moderator', 'admin'));
CREATE INDEX users_role_idx ON lp.users (role, created_at) WHERE deleted_at IS NULL;

DROP INDEX lp.holds_wallet_open_idx;
DROP INDEX lp.holds_expiry_idx;
ALTER TABLE lp.holds DROP CONSTRAINT holds_check3, ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.holds ALTER COLUMN purpose TYPE text, ALTER COLUMN status TYPE text;
ALTER TABLE lp.holds ALTER COLUMN status SET DEFAULT 'open',
    ADD CONSTRAINT holds_purpose_check CHECK (purpose IN ('private_show', 'group_show', 'tip', 'other')),
    ADD CONSTRAINT holds_status_check CHECK (status IN ('open', 'captured', 'released', 'expired')),
    ADD CONSTRAINT holds_check3 CHECK ((status = 'open') = (closed_at IS NULL));
CREATE INDEX holds_wallet_open_idx ON lp.holds (wallet_id) WHERE status = 'open';
CREATE INDEX holds_expiry_idx ON lp.holds (expires_at) WHERE status = 'open';

DROP INDEX lp.payments_status_idx;
ALTER TABLE lp.payments DROP CONSTRAINT payments_check, DROP CONSTRAINT payments_check1,
    DROP CONSTRAINT payments_check2, ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.payments ALTER COLUMN status TYPE text;
ALTER TABLE lp.payments ALTER COLUMN status SET DEFAULT 'pending',
    ADD CONSTRAINT payments_status_check
        CHECK (status IN ('pending', 'completed', 'failed', 'refunded', 'chargeback', 'cancelled')),
    ADD CONSTRAINT payments_check CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    ADD CONSTRAINT payments_check1 CHECK (status <> 'refunded' OR refunded_at IS NOT NULL),
    ADD CONSTRAINT payments_check2 CHECK (status <> 'chargeback' OR charged_back_at IS NOT NULL);
CREATE INDEX payments_status_idx ON lp.payments (status, created_at) WHERE status = 'pending';

DROP INDEX lp.payouts_status_idx;
ALTER TABLE lp.payouts DROP CONSTRAINT payouts_check, DROP CONSTRAINT payouts_check1,
    ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.payouts ALTER COLUMN method TYPE text, ALTER COLUMN status TYPE text;
ALTER TABLE lp.payouts ALTER COLUMN status SET DEFAULT 'requested',
    ADD CONSTRAINT payouts_method_check CHECK (method IN ('bank_transfer', 'paypal', 'paxum', 'wire', 'check')),
    ADD CONSTRAINT payouts_status_check
        CHECK (status IN ('requested', 'approved', 'rejected', 'paid', 'failed', 'cancelled')),
    ADD CONSTRAINT payouts_check CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    ADD CONSTRAINT payouts_check1 CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL);
CREATE INDEX payouts_status_idx ON lp.payouts (status, created_at) WHERE status IN ('requested', 'approved');

ALTER TABLE lp.user_sanctions DROP CONSTRAINT user_sanctions_check1;
ALTER TABLE lp.user_sanctions ALTER COLUMN sanction_type TYPE text;
ALTER TABLE lp.user_sanctions
    ADD CONSTRAINT user_sanctions_sanction_type_check CHECK (sanction_type IN ('warning', 'mute', 'suspension', 'ban')),
    ADD CONSTRAINT user_sanctions_check1 CHECK (sanction_type <> 'suspension' OR ends_at IS NOT NULL);

ALTER TABLE lp.kyc_verifications ALTER COLUMN level DROP DEFAULT;
ALTER TABLE lp.kyc_verifications ALTER COLUMN level TYPE text, ALTER COLUMN document_type TYPE text;
ALTER TABLE lp.kyc_verifications ALTER COLUMN level SET DEFAULT 'identity',
    ADD CONSTRAINT kyc_verifications_level_check CHECK (level IN ('age', 'identity')),
    ADD CONSTRAINT kyc_verifications_document_type_check
        CHECK (document_type IN ('passport', 'drivers_license', 'national_id', 'residence_permit'));

ALTER TABLE lp.spending_limits ALTER COLUMN period TYPE text;
ALTER TABLE lp.spending_limits
    ADD CONSTRAINT spending_limits_period_check CHECK (period IN ('daily', 'weekly', 'monthly'));

ALTER TABLE lp.user_preferences ALTER COLUMN theme DROP DEFAULT, ALTER COLUMN content_filter DROP DEFAULT;
ALTER TABLE lp.user_preferences ALTER COLUMN theme TYPE text, ALTER COLUMN content_filter TYPE text;
ALTER TABLE lp.user_preferences ALTER COLUMN theme SET DEFAULT 'system',
    ALTER COLUMN content_filter SET DEFAULT 'standard',
    ADD CONSTRAINT user_preferences_theme_check CHECK (theme IN ('light', 'dark', 'system')),
    ADD CONSTRAINT user_preferences_content_filter_check CHECK (content_filter IN ('strict', 'standard', 'off'));

DROP TYPE lp.user_role, lp.hold_purpose, lp.hold_status, lp.payment_status, lp.payout_method, lp.payout_status,
    lp.sanction_type, lp.kyc_level, lp.document_type, lp.limit_period, lp.ui_theme, lp.content_filter;

RESET ROLE;
