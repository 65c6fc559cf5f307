-- 0017_vocabularies: allowed values in one place. Frozen once landed.
-- Each closed list of values a caller may pass (a platform role, a hold purpose, a payout method, a status to
-- filter by, ...) was written three times: a CHECK on the column, an IN list in the function that validates
-- the argument, a tuple in the CLI. Now it is an enum type in schema lp: the column has that type, functions
-- validate arguments against it (lp.check_choice), and the CLI lists it from the catalog
-- (`livepanty-db values`). A CHECK that compared such a column with text is re-created as it was (the enum
-- literal now); so are the partial indexes whose predicate names one of the values.
SET ROLE livepanty_owner;

CREATE TYPE lp.user_role AS ENUM ('viewer', 'performer', 'moderator', 'admin');
COMMENT ON TYPE lp.user_role IS 'Platform role of a user (lp.users.role).';
CREATE TYPE lp.hold_purpose AS ENUM ('private_show', 'group_show', 'tip', 'other');
COMMENT ON TYPE lp.hold_purpose IS 'What a hold reserves tokens for (lp.holds.purpose).';
CREATE TYPE lp.hold_status AS ENUM ('open', 'captured', 'released', 'expired');
COMMENT ON TYPE lp.hold_status IS 'State of a hold (lp.holds.status).';
CREATE TYPE lp.payment_status AS ENUM ('pending', 'completed', 'failed', 'refunded', 'chargeback', 'cancelled');
COMMENT ON TYPE lp.payment_status IS 'State of a token purchase (lp.payments.status).';
CREATE TYPE lp.payout_method AS ENUM ('bank_transfer', 'paypal', 'paxum', 'wire', 'check');
COMMENT ON TYPE lp.payout_method IS 'How a payout is paid (lp.payouts.method).';
CREATE TYPE lp.payout_status AS ENUM ('requested', 'approved', 'rejected', 'paid', 'failed', 'cancelled');
COMMENT ON TYPE lp.payout_status IS 'State of a payout (lp.payouts.status).';
CREATE TYPE lp.sanction_type AS ENUM ('warning', 'mute', 'suspension', 'ban');
COMMENT ON TYPE lp.sanction_type IS 'Kind of sanction (lp.user_sanctions.sanction_type).';
CREATE TYPE lp.kyc_level AS ENUM ('age', 'identity');
COMMENT ON TYPE lp.kyc_level IS 'What an identity verification proves (lp.kyc_verifications.level).';
CREATE TYPE lp.document_type AS ENUM ('passport', 'drivers_license', 'national_id', 'residence_permit');
COMMENT ON TYPE lp.document_type IS 'Identity document of a verification (lp.kyc_verifications.document_type).';
CREATE TYPE lp.limit_period AS ENUM ('daily', 'weekly', 'monthly');
COMMENT ON TYPE lp.limit_period IS 'Period of a spending limit (lp.spending_limits.period).';
CREATE TYPE lp.ui_theme AS ENUM ('light', 'dark', 'system');
COMMENT ON TYPE lp.ui_theme IS 'Theme preference (lp.user_preferences.theme).';
CREATE TYPE lp.content_filter AS ENUM ('strict', 'standard', 'off');
COMMENT ON TYPE lp.content_filter IS 'Content filter preference (lp.user_preferences.content_filter).';

-- users.role
DROP INDEX lp.users_role_idx;
ALTER TABLE lp.users DROP CONSTRAINT users_role_check, ALTER COLUMN role DROP DEFAULT;
ALTER TABLE lp.users ALTER COLUMN role TYPE lp.user_role USING role::lp.user_role;
ALTER TABLE lp.users ALTER COLUMN role SET DEFAULT 'viewer';
CREATE INDEX users_role_idx ON lp.users (role, created_at) WHERE deleted_at IS NULL;

-- holds.purpose, holds.status
DROP INDEX lp.holds_wallet_open_idx;
DROP INDEX lp.holds_expiry_idx;
ALTER TABLE lp.holds DROP CONSTRAINT holds_purpose_check, DROP CONSTRAINT holds_status_check,
    DROP CONSTRAINT holds_check3, ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.holds ALTER COLUMN purpose TYPE lp.hold_purpose USING purpose::lp.hold_purpose,
    ALTER COLUMN status TYPE lp.hold_status USING status::lp.hold_status;
ALTER TABLE lp.holds ALTER COLUMN status SET DEFAULT 'open',
    ADD CONSTRAINT holds_check3 CHECK ((status = 'open') = (closed_at IS NULL));
CREATE INDEX holds_wallet_open_idx ON lp.holds (wallet_id) WHERE status = 'open';
CREATE INDEX holds_expiry_idx ON lp.holds (expires_at) WHERE status = 'open';

-- payments.status
DROP INDEX lp.payments_status_idx;
ALTER TABLE lp.payments DROP CONSTRAINT payments_status_check, DROP CONSTRAINT payments_check,
    DROP CONSTRAINT payments_check1, DROP CONSTRAINT payments_check2, ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.payments ALTER COLUMN status TYPE lp.payment_status USING status::lp.payment_status;
ALTER TABLE lp.payments ALTER COLUMN status SET DEFAULT 'pending',
    ADD CONSTRAINT payments_check CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    ADD CONSTRAINT payments_check1 CHECK (status <> 'refunded' OR refunded_at IS NOT NULL),
    ADD CONSTRAINT payments_check2 CHECK (status <> 'chargeback' OR charged_back_at IS NOT NULL);
CREATE INDEX payments_status_idx ON lp.payments (status, created_at) WHERE status = 'pending';

-- payouts.method, payouts.status
DROP INDEX lp.payouts_status_idx;
ALTER TABLE lp.payouts DROP CONSTRAINT payouts_method_check, DROP CONSTRAINT payouts_status_check,
    DROP CONSTRAINT payouts_check, DROP CONSTRAINT payouts_check1, ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.payouts ALTER COLUMN method TYPE lp.payout_method USING method::lp.payout_method,
    ALTER COLUMN status TYPE lp.payout_status USING status::lp.payout_status;
ALTER TABLE lp.payouts ALTER COLUMN status SET DEFAULT 'requested',
    ADD CONSTRAINT payouts_check CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    ADD CONSTRAINT payouts_check1 CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL);
CREATE INDEX payouts_status_idx ON lp.payouts (status, created_at) WHERE status IN ('requested', 'approved');

-- user_sanctions.sanction_type
ALTER TABLE lp.user_sanctions DROP CONSTRAINT user_sanctions_sanction_type_check,
    DROP CONSTRAINT user_sanctions_check1;
ALTER TABLE lp.user_sanctions ALTER COLUMN sanction_type TYPE lp.sanction_type USING sanction_type::lp.sanction_type;
ALTER TABLE lp.user_sanctions
    ADD CONSTRAINT user_sanctions_check1 CHECK (sanction_type <> 'suspension' OR ends_at IS NOT NULL);

-- kyc_verifications.level, kyc_verifications.document_type
ALTER TABLE lp.kyc_verifications DROP CONSTRAINT kyc_verifications_level_check,
    DROP CONSTRAINT kyc_verifications_document_type_check, ALTER COLUMN level DROP DEFAULT;
ALTER TABLE lp.kyc_verifications ALTER COLUMN level TYPE lp.kyc_level USING level::lp.kyc_level,
    ALTER COLUMN document_type TYPE lp.document_type USING document_type::lp.document_type;
ALTER TABLE lp.kyc_verifications ALTER COLUMN level SET DEFAULT 'identity';

-- spending_limits.period
ALTER TABLE lp.spending_limits DROP CONSTRAINT spending_limits_period_check;
ALTER TABLE lp.spending_limits ALTER COLUMN period TYPE lp.limit_period USING period::lp.limit_period;

-- user_preferences.theme, user_preferences.content_filter
ALTER TABLE lp.user_preferences DROP CONSTRAINT user_preferences_theme_check,
    DROP CONSTRAINT user_preferences_content_filter_check,
    ALTER COLUMN theme DROP DEFAULT, ALTER COLUMN content_filter DROP DEFAULT;
ALTER TABLE lp.user_preferences ALTER COLUMN theme TYPE lp.ui_theme USING theme::lp.ui_theme,
    ALTER COLUMN content_filter TYPE lp.content_filter USING content_filter::lp.content_filter;
ALTER TABLE lp.user_preferences ALTER COLUMN theme SET DEFAULT 'system',
    ALTER COLUMN content_filter SET DEFAULT 'standard';

-- lp.staff_label (a schema function: the label column triggers use it) names the role as text.
CREATE OR REPLACE FUNCTION lp.staff_label(p_user_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(CASE WHEN u.role IN ('moderator', 'admin') THEN u.role::text END, 'staff') || ' #'
                   || left(encode(ext.hmac(convert_to('lp-staff-label-v1|' || p_user_id::text, 'UTF8'), s.value,
                                           'sha256'), 'hex'), 4)
              FROM lp.secrets AS s
              LEFT JOIN lp.users AS u ON u.id = p_user_id
             WHERE s.name = 'pseudonym' AND p_user_id IS NOT NULL);
END
$$;

RESET ROLE;
