-- Undo 0030_privacy (the repeatable functions that use these objects are dropped before this runs). The erasure
-- log goes with it: export it first (livepanty-db privacy export-erasures) to re-apply it later.
DELETE FROM lp.settings WHERE key IN ('privacy.financial_retention_years', 'privacy.kyc_retention_years',
                                      'privacy.session_retention_days', 'privacy.reset_token_retention_days',
                                      'privacy.viewer_retention_days', 'privacy.ip_retention_days',
                                      'privacy.dismissed_report_retention_days', 'privacy.erasure_login_minutes',
                                      'privacy.email_retention_days');
SET ROLE livepanty_owner;
DROP INDEX lp.audit_logs_ip_idx, lp.audit_logs_ip_age_idx, lp.auth_sessions_ended_idx, lp.auth_sessions_ip_age_idx,
    lp.stream_viewers_left_idx, lp.stream_viewers_ip_age_idx, lp.reports_dismissed_idx, lp.outbox_finished_idx;
DROP TRIGGER stream_consents_append_only ON lp.stream_consents;
CREATE TRIGGER stream_consents_append_only BEFORE UPDATE OR DELETE ON lp.stream_consents
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
DROP TRIGGER audit_logs_append_only ON lp.audit_logs;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON lp.audit_logs
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
DROP FUNCTION lp.reject_mutation_unless_scrubbing();
DROP TABLE lp.erasures;
DROP TYPE lp.retention_category;
RESET ROLE;
