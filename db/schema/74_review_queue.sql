SET ROLE livepanty_owner;

-- One review queue for user reports and automated detections (issue 9, section 2). lp.reports is the case:
-- one row per target and reason while it is open, with the individual filings in lp.report_filings (one per
-- reporter per case) and the detections in lp.moderation_flags (case_id).
CREATE TYPE lp.case_reason AS ENUM (
    'underage', 'non_consensual', 'illegal_content', 'harassment', 'hate_speech', 'self_harm', 'violence',
    'fraud', 'spam', 'copyright', 'other', 'content_policy', 'sanction_review');
COMMENT ON TYPE lp.case_reason IS 'Why a review case exists (lp.reports.reason): the reasons a user may report (every value but sanction_review, which only the system files), what automated flags map to (lp.flag_case_reason) and fraud cases. Severity per reason: setting review.severity.';
CREATE TYPE lp.report_target AS ENUM ('user', 'stream', 'tip', 'profile');
COMMENT ON TYPE lp.report_target IS 'What a report is about (lp.reports.target_type): a user, a stream, a tip message or a profile.';
CREATE TYPE lp.case_source AS ENUM ('report', 'flag', 'fraud', 'system');
COMMENT ON TYPE lp.case_source IS 'Who opened a review case first (lp.reports.source): a user report, an automated flag, the fraud controls or another system job.';
CREATE TYPE lp.case_action AS ENUM ('dismiss', 'warn', 'remove_content', 'end_stream', 'sanction');
COMMENT ON TYPE lp.case_action IS 'How a moderator resolves a case (api.resolve_case): dismiss it, or act: warn the user, remove the content referred to, end the stream, or sanction the user.';
CREATE TYPE lp.case_status AS ENUM ('open', 'in_review', 'escalated', 'resolved', 'dismissed');
COMMENT ON TYPE lp.case_status IS 'Status of a review case (lp.reports.status): open, in_review (claimed), escalated (near or past due), resolved (acted upon) or dismissed.';
CREATE TYPE lp.flag_category AS ENUM (
    'minor_detected', 'nudity', 'sexual_activity', 'violence', 'weapons', 'drugs', 'hate_symbols', 'spam', 'other');
COMMENT ON TYPE lp.flag_category IS 'What a detector found (lp.moderation_flags.category); thresholds per category: setting flags.thresholds.';
CREATE TYPE lp.flag_content_type AS ENUM (
    'stream_video', 'stream_audio', 'chat_message', 'tip_message', 'profile', 'thumbnail');
COMMENT ON TYPE lp.flag_content_type IS 'Kind of content an automated flag points at (lp.moderation_flags.content_type).';
CREATE TYPE lp.flag_disposition AS ENUM ('ignored', 'queued', 'acted');
COMMENT ON TYPE lp.flag_disposition IS 'What api.raise_flag did with a flag by its category thresholds: ignored (below review), queued for review, or acted at once (and queued).';

ALTER TABLE lp.reports DROP CONSTRAINT reports_reason_check;
ALTER TABLE lp.reports ALTER COLUMN reason TYPE lp.case_reason USING reason::lp.case_reason;
ALTER TABLE lp.reports DROP CONSTRAINT reports_status_check, DROP CONSTRAINT reports_check2;
ALTER TABLE lp.reports ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.reports ALTER COLUMN status TYPE lp.case_status USING status::lp.case_status;
ALTER TABLE lp.reports ALTER COLUMN status SET DEFAULT 'open';
ALTER TABLE lp.reports ADD CONSTRAINT reports_check2
    CHECK ((status IN ('resolved', 'dismissed')) = (resolved_at IS NOT NULL));
ALTER TABLE lp.reports
    ADD COLUMN source                 lp.case_source NOT NULL DEFAULT 'report',
    ADD COLUMN target_type            lp.report_target NOT NULL DEFAULT 'user',
    ADD COLUMN tip_id                 uuid REFERENCES lp.tips (id) ON DELETE SET NULL,
    ADD COLUMN reporter_count         integer NOT NULL DEFAULT 0 CHECK (reporter_count >= 0),
    ADD COLUMN trusted_reporter_count integer NOT NULL DEFAULT 0 CHECK (trusted_reporter_count >= 0),
    ADD COLUMN flag_count             integer NOT NULL DEFAULT 0 CHECK (flag_count >= 0),
    ADD COLUMN confidence             numeric(5, 4) CHECK (confidence BETWEEN 0 AND 1),
    ADD COLUMN priority_score         integer NOT NULL DEFAULT 0,
    ADD COLUMN details                jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    ADD COLUMN due_at                 timestamptz,
    ADD COLUMN claimed_at             timestamptz,
    ADD COLUMN claim_expires_at       timestamptz,
    ADD COLUMN action                 lp.case_action,
    ADD COLUMN decision               jsonb CHECK (jsonb_typeof(decision) = 'object'),
    ADD COLUMN sanction_id            uuid REFERENCES lp.user_sanctions (id) ON DELETE SET NULL,
    ADD CONSTRAINT reports_claim_check CHECK (claim_expires_at IS NULL OR claimed_at IS NOT NULL);
COMMENT ON TABLE lp.reports IS 'Review cases: one per target (user, stream, tip message, profile) and reason while open, fed by user reports (lp.report_filings), automated flags (lp.moderation_flags.case_id), fraud controls and system jobs (lp.open_case). Ordered by priority (api.review_queue), claimed with a lease (api.claim_case), due in business days, escalated near due (api.escalate_cases), resolved with a statement of reasons (api.resolve_case).';
COMMENT ON COLUMN lp.reports.reporter_id IS 'The first user who reported the case (every reporter: lp.report_filings); kept from the reported user; NULL for automated cases and after the reporter is erased.';
COMMENT ON COLUMN lp.reports.description IS 'Free text of a case opened by the system (fraud, sanction review); user reports keep theirs in lp.report_filings.';
COMMENT ON COLUMN lp.reports.source IS 'What opened the case first (a case may later gather filings and flags of other sources).';
COMMENT ON COLUMN lp.reports.reporter_count IS 'Users who filed a report on this case (one filing each).';
COMMENT ON COLUMN lp.reports.trusted_reporter_count IS 'Filings whose reporter was not deprioritised by reporter reputation when filing; only they raise the priority.';
COMMENT ON COLUMN lp.reports.flag_count IS 'Automated flags merged into this case.';
COMMENT ON COLUMN lp.reports.confidence IS 'Highest detector confidence among the case''s flags (NULL when none).';
COMMENT ON COLUMN lp.reports.priority_score IS 'Score computed by lp.case_priority (severity, confidence, reporters, history); the queue sorts by priority_rank, then this, descending.';
COMMENT ON COLUMN lp.reports.details IS 'Facts gathered by automated sources (flag ids, sanction, payment, ...): never a reporter id.';
COMMENT ON COLUMN lp.reports.due_at IS 'SLA: when the case must be resolved, in business days from opening (setting review.sla_business_days; Saturdays and Sundays skipped).';
COMMENT ON COLUMN lp.reports.claim_expires_at IS 'End of the claimant''s lease (api.claim_case, api.extend_case_claim); after it another moderator may claim the case.';
COMMENT ON COLUMN lp.reports.action IS 'How the case was resolved (api.resolve_case).';
COMMENT ON COLUMN lp.reports.decision IS 'Statement of reasons: facts, rule broken, whether automated, how to appeal; readable by the affected user through api.my_case_decisions.';
COMMENT ON COLUMN lp.reports.sanction_id IS 'The sanction the resolution issued (lp.issue_sanction), or the automated suspension of a flag acted upon at once.';
CREATE UNIQUE INDEX reports_open_case_key ON lp.reports (target_type, reason, reported_user_id, stream_id, tip_id)
    NULLS NOT DISTINCT WHERE status IN ('open', 'in_review', 'escalated');
CREATE INDEX reports_due_idx ON lp.reports (due_at) WHERE status IN ('open', 'in_review', 'escalated');
-- Who last gave the case back, and when (migration 0065): api.claim_case does not hand them the case again for
-- review.claim_minutes (a claim is not renewed past review.max_claim_minutes by releasing and claiming again).
ALTER TABLE lp.reports
    ADD COLUMN released_by uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    ADD COLUMN released_at timestamptz;
COMMENT ON COLUMN lp.reports.released_by IS 'The moderator who last gave the case back (api.release_case); with released_at: api.claim_case does not hand them the case again for review.claim_minutes, so a claim is not renewed past review.max_claim_minutes by releasing and claiming again. Not granted to the application roles (a staff id).';
COMMENT ON COLUMN lp.reports.released_at IS 'When released_by last gave the case back (api.release_case).';

ALTER TABLE lp.moderation_flags DROP CONSTRAINT moderation_flags_category_check;
ALTER TABLE lp.moderation_flags ALTER COLUMN category TYPE lp.flag_category USING category::lp.flag_category;
ALTER TABLE lp.moderation_flags DROP CONSTRAINT moderation_flags_content_type_check;
ALTER TABLE lp.moderation_flags
    ALTER COLUMN content_type TYPE lp.flag_content_type USING content_type::lp.flag_content_type;
ALTER TABLE lp.moderation_flags
    ADD COLUMN case_id     uuid REFERENCES lp.reports (id) ON DELETE SET NULL,
    ADD COLUMN disposition lp.flag_disposition;
COMMENT ON COLUMN lp.moderation_flags.case_id IS 'The review case the flag was queued in (NULL when ignored below its review threshold).';
COMMENT ON COLUMN lp.moderation_flags.disposition IS 'What api.raise_flag did by the category thresholds (flags.thresholds): ignored, queued or acted.';
COMMENT ON COLUMN lp.moderation_flags.reviewed_by IS 'The moderator whose resolution of the case confirmed or dismissed the flag (NULL for a flag ignored automatically); feeds the detector precision.';
CREATE INDEX moderation_flags_case_idx ON lp.moderation_flags (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX moderation_flags_detector_idx ON lp.moderation_flags (detector) WHERE reviewed_by IS NOT NULL;

CREATE TABLE lp.report_filings (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id     uuid NOT NULL REFERENCES lp.reports (id) ON DELETE CASCADE,
    reporter_id uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    description text CHECK (char_length(description) <= 2000),
    trusted     boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, reporter_id)
);
COMMENT ON TABLE lp.report_filings IS 'Each user report (api.report): one per reporter per case, merged into the open case of the same target and reason. The reporter''s identity is never shown to the reported user.';
COMMENT ON COLUMN lp.report_filings.trusted IS 'false when the reporter''s reputation was low when filing (many dismissed reports: settings reports.reputation_*): the filing counts but does not raise the priority.';
COMMENT ON COLUMN lp.report_filings.description IS 'The reporter''s own words (personal data of the reporter).';
CREATE INDEX report_filings_reporter_idx ON lp.report_filings (reporter_id, created_at);
ALTER TABLE lp.report_filings ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.report_filings FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('review.severity', '{"underage": 100, "non_consensual": 100, "illegal_content": 80, "self_harm": 70, "violence": 60, "hate_speech": 50, "fraud": 50, "harassment": 40, "sanction_review": 40, "content_policy": 30, "copyright": 30, "spam": 20, "other": 20}',
     'Severity 0..100 of each case reason (lp.case_priority): the base of a case''s priority score.'),
    ('review.critical_reasons', '["underage", "non_consensual"]',
     'Case reasons that are always critical: they jump the queue whatever else the score says.'),
    ('review.sla_business_days', '{"default": 7, "underage": 1, "non_consensual": 1, "illegal_content": 2}',
     'Business days (Monday to Friday) from opening to a case''s due time, per reason; "default" for the others (content complaints: 7).'),
    ('review.escalate_hours', '24',
     'api.escalate_cases escalates an open case whose due time is less than this many hours away (or past).'),
    ('review.claim_minutes', '30',
     'Length in minutes of a moderator''s lease on a claimed case (api.claim_case); api.extend_case_claim renews it from now. Also how long api.claim_case does not hand a moderator back a case whose claim of theirs ended (given back with api.release_case, or run out): meanwhile the others may claim it, so a claim is not renewed past review.max_claim_minutes by taking the case again.'),
    ('reports.reputation_days', '90',
     'Window of reporter reputation: the reporter''s filings on cases decided in the last this many days.'),
    ('reports.reputation_min_dismissed', '5',
     'A reporter with at least this many dismissed filings in the window ...'),
    ('reports.reputation_dismissed_percent', '80',
     '... and at least this percentage of their decided filings dismissed is deprioritised: their new filings count, but do not raise the priority.'),
    ('flags.thresholds', '{"minor_detected": {"review": 0.3, "act": 0.9, "suspend": true}, "sexual_activity": {"review": 0.8, "act": null, "suspend": false}, "nudity": {"review": 0.95, "act": null, "suspend": false}, "violence": {"review": 0.6, "act": 0.97, "suspend": false}, "weapons": {"review": 0.7, "act": null, "suspend": false}, "drugs": {"review": 0.7, "act": null, "suspend": false}, "hate_symbols": {"review": 0.6, "act": null, "suspend": false}, "spam": {"review": 0.8, "act": null, "suspend": false}, "other": {"review": 0.9, "act": null, "suspend": false}}',
     'Per flag category: below "review" a flag is ignored; from "review" it is queued; from "act" (null: never) the stream ends at once and, when "suspend", the user is suspended pending review.'),
    ('flags.suspension_days', '30',
     'Length of the automated suspension of a flag acted upon at once (a moderator lifts it or confirms by resolving the case).');
