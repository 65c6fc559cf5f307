-- 0007_moderation_tables: frozen copy of the canonical definitions as of this migration.

-- from db/schema/30_reports.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.reports (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reporter_id      uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    reported_user_id uuid REFERENCES lp.users (id) ON DELETE RESTRICT,
    stream_id        uuid REFERENCES lp.streams (id) ON DELETE SET NULL,
    reason           text NOT NULL CHECK (reason IN (
                         'underage', 'non_consensual', 'illegal_content', 'harassment', 'hate_speech',
                         'self_harm', 'violence', 'fraud', 'spam', 'copyright', 'other')),
    description      text CHECK (char_length(description) <= 5000),
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'in_review', 'escalated', 'resolved', 'dismissed')),
    priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    priority_rank    smallint GENERATED ALWAYS AS (
                         CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END
                     ) STORED,
    assigned_to      uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    resolution       text CHECK (char_length(resolution) <= 5000),
    resolved_by      uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    resolved_at      timestamptz,
    escalated_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (reported_user_id IS NOT NULL OR stream_id IS NOT NULL),
    CHECK (reporter_id IS NULL OR reporter_id IS DISTINCT FROM reported_user_id),
    CHECK ((status IN ('resolved', 'dismissed')) = (resolved_at IS NOT NULL))
);
COMMENT ON TABLE lp.reports IS 'User reports and moderation cases: a human review queue ordered by status and priority, with escalation.';
COMMENT ON COLUMN lp.reports.reporter_id IS 'Who reported (kept anonymous from the reported user); NULL after the reporter is erased.';
COMMENT ON COLUMN lp.reports.priority_rank IS 'Sort key derived from priority (0 = critical) for the moderation queue.';

CREATE INDEX reports_queue_idx ON lp.reports (status, priority_rank, created_at);
CREATE INDEX reports_reported_user_idx ON lp.reports (reported_user_id, created_at DESC);
CREATE INDEX reports_reporter_idx ON lp.reports (reporter_id, created_at DESC);
CREATE INDEX reports_stream_idx ON lp.reports (stream_id) WHERE stream_id IS NOT NULL;

ALTER TABLE lp.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.reports FORCE ROW LEVEL SECURITY;
CREATE TRIGGER reports_touch_updated_at BEFORE UPDATE ON lp.reports
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;

-- from db/schema/31_moderation_flags.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.moderation_flags (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    stream_id     uuid REFERENCES lp.streams (id) ON DELETE SET NULL,
    user_id       uuid REFERENCES lp.users (id) ON DELETE RESTRICT,
    content_type  text NOT NULL CHECK (content_type IN (
                      'stream_video', 'stream_audio', 'chat_message', 'tip_message', 'profile', 'thumbnail')),
    content_ref   text CHECK (char_length(content_ref) <= 2048),
    detector      text NOT NULL CHECK (char_length(detector) BETWEEN 1 AND 100),
    category      text NOT NULL CHECK (category IN (
                      'minor_detected', 'nudity', 'sexual_activity', 'violence', 'weapons', 'drugs',
                      'hate_symbols', 'spam', 'other')),
    confidence    numeric(5, 4) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'dismissed', 'escalated')),
    priority      text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    priority_rank smallint GENERATED ALWAYS AS (
                      CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END
                  ) STORED,
    details       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    reviewed_by   uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    reviewed_at   timestamptz,
    review_notes  text CHECK (char_length(review_notes) <= 5000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (stream_id IS NOT NULL OR user_id IS NOT NULL),
    CHECK ((status IN ('confirmed', 'dismissed')) = (reviewed_at IS NOT NULL))
);
COMMENT ON TABLE lp.moderation_flags IS 'Automated moderation detections with confidence scores, queued for human review by status and priority.';
COMMENT ON COLUMN lp.moderation_flags.detector IS 'Name and version of the model or rule that raised the flag.';
COMMENT ON COLUMN lp.moderation_flags.confidence IS 'Detector confidence 0..1.';
COMMENT ON COLUMN lp.moderation_flags.content_ref IS 'Pointer to the flagged content (segment URL, chat message id, ...).';

CREATE INDEX moderation_flags_queue_idx ON lp.moderation_flags (status, priority_rank, created_at);
CREATE INDEX moderation_flags_stream_idx ON lp.moderation_flags (stream_id, created_at) WHERE stream_id IS NOT NULL;
CREATE INDEX moderation_flags_user_idx ON lp.moderation_flags (user_id, created_at) WHERE user_id IS NOT NULL;

ALTER TABLE lp.moderation_flags ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.moderation_flags FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/32_user_sanctions.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.user_sanctions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    sanction_type text NOT NULL CHECK (sanction_type IN ('warning', 'mute', 'suspension', 'ban')),
    reason        text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    report_id     uuid REFERENCES lp.reports (id) ON DELETE SET NULL,
    issued_by     uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    starts_at     timestamptz NOT NULL DEFAULT now(),
    ends_at       timestamptz,
    revoked_at    timestamptz,
    revoked_by    uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    revoke_reason text CHECK (char_length(revoke_reason) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at IS NULL OR ends_at > starts_at),
    CHECK (sanction_type <> 'suspension' OR ends_at IS NOT NULL),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
COMMENT ON TABLE lp.user_sanctions IS 'Warnings, mutes, suspensions and bans. An active suspension or ban blocks login, tipping, payouts (lp.active_sanction).';
COMMENT ON COLUMN lp.user_sanctions.ends_at IS 'NULL = permanent (bans); suspensions always end.';
COMMENT ON COLUMN lp.user_sanctions.revoked_at IS 'Lifted early by a moderator or admin (revoke_reason says why).';

CREATE INDEX user_sanctions_user_active_idx ON lp.user_sanctions (user_id, starts_at) WHERE revoked_at IS NULL;

ALTER TABLE lp.user_sanctions ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.user_sanctions FORCE ROW LEVEL SECURITY;

RESET ROLE;
