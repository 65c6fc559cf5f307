-- Privacy: the right to erasure and retention purges (issue 9, section 5; migration 0030).
--   * lp.erasures: the erasure log (who was erased, when, by whom, what categories and how many rows; never the
--     erased values), kept outside backups by `livepanty-db privacy export-erasures` and re-applied after a
--     restore by `livepanty-db privacy replay-erasures` (api.replay_erasure);
--   * append-only tables that hold personal data (audit_logs, stream_consents) accept one kind of UPDATE: the
--     columns named in the trigger's arguments, changed by owner code that runs an erasure or a retention purge
--     in this very transaction (lp.begin_scrub); every other UPDATE, DELETE or TRUNCATE is still rejected;
--   * the retention periods (settings privacy.*).
SET ROLE livepanty_owner;

CREATE TYPE lp.retention_category AS ENUM ('sessions', 'reset_tokens', 'viewer_rows', 'stream_events',
                                           'ip_addresses', 'dismissed_reports', 'kyc_records', 'emails');
COMMENT ON TYPE lp.retention_category IS 'What a retention purge deletes or scrubs (api.purge_personal_data): expired sessions, reset tokens, ended viewer rows, stream events, IP addresses older than privacy.ip_retention_days, dismissed reports, KYC records of erased users past their legal retention, e-mails no longer queued (their recipient address).';

CREATE TABLE lp.erasures (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL UNIQUE,
    via                text NOT NULL CHECK (via IN ('self', 'admin')),
    requested_by       uuid,
    reason             text CHECK (char_length(reason) <= 1000),
    erased_at          timestamptz NOT NULL DEFAULT now(),
    erased             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(erased) = 'object'),
    retained           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(retained) = 'array'),
    kyc_retained_until timestamptz,
    kyc_destroyed_at   timestamptz,
    replayed_at        timestamptz,
    CHECK (kyc_destroyed_at IS NULL OR kyc_retained_until IS NOT NULL)
);
COMMENT ON TABLE lp.erasures IS 'The erasure log: one row per erased user. What was erased (categories and row counts), when, by whom and why; never an erased value. No foreign key on purpose: a row outlives a restore of an older backup and is re-applied from an export (api.replay_erasure). Owner only: read through api.list_erasures.';
COMMENT ON COLUMN lp.erasures.user_id IS 'The erased user: from then on a pseudonymous id (the account row stays, emptied, for the retained financial records).';
COMMENT ON COLUMN lp.erasures.via IS 'self: the user''s own request with their password (api.request_erasure); admin: an admin''s decision (api.erase_user).';
COMMENT ON COLUMN lp.erasures.requested_by IS 'Who asked: the user themself (via self) or the admin (via admin).';
COMMENT ON COLUMN lp.erasures.erased IS 'Row counts per category of personal data erased or pseudonymised (account, sessions, tip_messages, ...).';
COMMENT ON COLUMN lp.erasures.retained IS 'Categories kept for their legal retention, each {category, until, why}: what the user is told.';
COMMENT ON COLUMN lp.erasures.kyc_retained_until IS 'Until when the identity verification records are kept; then api.purge_personal_data(''kyc_records'') destroys them.';
COMMENT ON COLUMN lp.erasures.kyc_destroyed_at IS 'When the KYC records were destroyed (NULL: still retained, or there were none).';
COMMENT ON COLUMN lp.erasures.replayed_at IS 'Set when this row was re-applied by api.replay_erasure on a database restored from a backup older than it.';
CREATE INDEX erasures_kyc_due_idx ON lp.erasures (kyc_retained_until) WHERE kyc_destroyed_at IS NULL;
ALTER TABLE lp.erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.erasures FORCE ROW LEVEL SECURITY;

CREATE FUNCTION lp.reject_mutation_unless_scrubbing() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_proof text;
BEGIN
    -- The proof that owner code runs an erasure or a purge in this transaction: an HMAC over this backend and
    -- this transaction's start, keyed by lp.secrets 'identity' (only the owner reads it), set transaction-local
    -- by lp.begin_scrub. Then only the columns named in TG_ARGV may change.
    IF TG_OP = 'UPDATE' AND current_setting('lp.scrub', true) IS NOT NULL THEN
        SELECT encode(ext.hmac(convert_to(concat_ws('|', 'lp-scrub-v1', pg_backend_pid(),
                                                    EXTRACT(epoch FROM transaction_timestamp())), 'UTF8'),
                               s.value, 'sha256'), 'base64')
          INTO v_proof FROM lp.secrets AS s WHERE s.name = 'identity';
        IF current_setting('lp.scrub', true) = v_proof AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'LP090',
        MESSAGE = format('%s.%s is append-only: %s is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP),
        HINT = 'Record a correcting entry instead of changing history; only an erasure or a retention purge may scrub personal data.';
END
$$;
COMMENT ON FUNCTION lp.reject_mutation_unless_scrubbing() IS 'Trigger of append-only tables that hold personal data (audit_logs, stream_consents): like lp.reject_mutation, except an UPDATE that changes only the columns named in the trigger arguments, made by owner code running an erasure or a retention purge in this transaction (lp.begin_scrub sets the proof).';
REVOKE ALL ON FUNCTION lp.reject_mutation_unless_scrubbing() FROM PUBLIC;

DROP TRIGGER audit_logs_append_only ON lp.audit_logs;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON lp.audit_logs
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation_unless_scrubbing('ip_address', 'details');
DROP TRIGGER stream_consents_append_only ON lp.stream_consents;
CREATE TRIGGER stream_consents_append_only BEFORE UPDATE OR DELETE ON lp.stream_consents
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation_unless_scrubbing('ip_address', 'user_agent');

-- The retention purges read the oldest due rows of each category, and an erasure finds the anonymous audit rows
-- made from the user's addresses: partial indexes keep both from scanning what was already purged.
CREATE INDEX audit_logs_ip_idx ON lp.audit_logs (ip_address) WHERE ip_address IS NOT NULL;
CREATE INDEX audit_logs_ip_age_idx ON lp.audit_logs (occurred_at) WHERE ip_address IS NOT NULL;
CREATE INDEX auth_sessions_ended_idx ON lp.auth_sessions ((least(expires_at, coalesce(revoked_at, 'infinity'::timestamptz))));
CREATE INDEX auth_sessions_ip_age_idx ON lp.auth_sessions (created_at) WHERE ip_address IS NOT NULL;
CREATE INDEX stream_viewers_left_idx ON lp.stream_viewers (left_at) WHERE left_at IS NOT NULL;
CREATE INDEX stream_viewers_ip_age_idx ON lp.stream_viewers (joined_at) WHERE ip_address IS NOT NULL;
CREATE INDEX reports_dismissed_idx ON lp.reports (resolved_at) WHERE status = 'dismissed';
CREATE INDEX outbox_finished_idx ON lp.outbox (updated_at) WHERE status <> 'queued';

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('privacy.financial_retention_years', '5', 'Years an erased user''s financial records (ledger, tips, payments, payouts, adjustments) are kept after the erasure (anti-money-laundering record keeping).'),
    ('privacy.kyc_retention_years', '5', 'Years an erased user''s identity verification records (and consent records) are kept after the erasure; then api.purge_personal_data(''kyc_records'') destroys the KYC records.'),
    ('privacy.session_retention_days', '30', 'Days a session is kept after it expired or was revoked (then deleted by the sessions purge).'),
    ('privacy.reset_token_retention_days', '7', 'Days a password reset token is kept after it expired, was used or revoked.'),
    ('privacy.viewer_retention_days', '90', 'Days a stream viewer row is kept after the viewer left.'),
    ('privacy.ip_retention_days', '90', 'Days IP addresses (sessions, reset tokens, viewer rows, audit trail) are kept before they are nulled.'),
    ('privacy.dismissed_report_retention_days', '180', 'Days a dismissed report is kept after it was resolved.'),
    ('privacy.email_retention_days', '30', 'Days an outgoing e-mail (lp.outbox, with its recipient address) is kept after it was sent or given up.'),
    ('privacy.erasure_login_minutes', '10', 'A user may ask for their own erasure (api.request_erasure), or delete their own account unless they are an admin (api.delete_user), only through a session opened by a login at most this many minutes ago (lp.require_recent_login, LP171).');
