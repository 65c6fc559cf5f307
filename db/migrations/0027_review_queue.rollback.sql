-- Undo 0027_review_queue (the repeatable functions that use these objects are dropped before this runs).
-- Cases keep their merged form (one row per target and reason); filings and flag links are dropped.
DELETE FROM lp.settings WHERE key IN ('review.severity', 'review.critical_reasons', 'review.sla_business_days',
    'review.escalate_hours', 'review.claim_minutes', 'reports.reputation_days', 'reports.reputation_min_dismissed',
    'reports.reputation_dismissed_percent', 'flags.thresholds', 'flags.suspension_days');
SET ROLE livepanty_owner;
DROP TABLE lp.report_filings;
DROP INDEX lp.moderation_flags_case_idx;
DROP INDEX lp.moderation_flags_detector_idx;
ALTER TABLE lp.moderation_flags DROP COLUMN case_id, DROP COLUMN disposition;
COMMENT ON COLUMN lp.moderation_flags.reviewed_by IS NULL;
ALTER TABLE lp.moderation_flags ALTER COLUMN category TYPE text USING category::text;
ALTER TABLE lp.moderation_flags ADD CONSTRAINT moderation_flags_category_check CHECK (category IN (
    'minor_detected', 'nudity', 'sexual_activity', 'violence', 'weapons', 'drugs', 'hate_symbols', 'spam', 'other'));
ALTER TABLE lp.moderation_flags ALTER COLUMN content_type TYPE text USING content_type::text;
ALTER TABLE lp.moderation_flags ADD CONSTRAINT moderation_flags_content_type_check CHECK (content_type IN (
    'stream_video', 'stream_audio', 'chat_message', 'tip_message', 'profile', 'thumbnail'));
DROP INDEX lp.reports_open_case_key;
DROP INDEX lp.reports_due_idx;
ALTER TABLE lp.reports
    DROP CONSTRAINT reports_claim_check,
    DROP COLUMN source, DROP COLUMN target_type, DROP COLUMN tip_id, DROP COLUMN reporter_count,
    DROP COLUMN trusted_reporter_count, DROP COLUMN flag_count, DROP COLUMN confidence, DROP COLUMN priority_score,
    DROP COLUMN details, DROP COLUMN due_at, DROP COLUMN claimed_at, DROP COLUMN claim_expires_at,
    DROP COLUMN action, DROP COLUMN decision, DROP COLUMN sanction_id;
ALTER TABLE lp.reports ALTER COLUMN reason TYPE text USING reason::text;
ALTER TABLE lp.reports DROP CONSTRAINT reports_check2;
ALTER TABLE lp.reports ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.reports ALTER COLUMN status TYPE text USING status::text;
ALTER TABLE lp.reports ALTER COLUMN status SET DEFAULT 'open';
ALTER TABLE lp.reports ADD CONSTRAINT reports_status_check
    CHECK (status IN ('open', 'in_review', 'escalated', 'resolved', 'dismissed'));
ALTER TABLE lp.reports ADD CONSTRAINT reports_check2 CHECK ((status IN ('resolved', 'dismissed')) = (resolved_at IS NOT NULL));
ALTER TABLE lp.reports ADD CONSTRAINT reports_reason_check CHECK (reason IN (
    'underage', 'non_consensual', 'illegal_content', 'harassment', 'hate_speech',
    'self_harm', 'violence', 'fraud', 'spam', 'copyright', 'other'));
COMMENT ON TABLE lp.reports IS 'User reports and moderation cases: a human review queue ordered by status and priority, with escalation.';
COMMENT ON COLUMN lp.reports.reporter_id IS 'Who reported (kept anonymous from the reported user); NULL after the reporter is erased.';
COMMENT ON COLUMN lp.reports.description IS NULL;
DROP TYPE lp.case_reason;
DROP TYPE lp.report_target;
DROP TYPE lp.case_source;
DROP TYPE lp.case_action;
DROP TYPE lp.case_status;
DROP TYPE lp.flag_category;
DROP TYPE lp.flag_content_type;
DROP TYPE lp.flag_disposition;
RESET ROLE;
