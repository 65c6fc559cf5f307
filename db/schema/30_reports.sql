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
    assigned_to_label text,
    resolved_by_label text,
    CHECK (reported_user_id IS NOT NULL OR stream_id IS NOT NULL),
    CHECK (reporter_id IS NULL OR reporter_id IS DISTINCT FROM reported_user_id),
    CHECK ((status IN ('resolved', 'dismissed')) = (resolved_at IS NOT NULL))
);
COMMENT ON TABLE lp.reports IS 'User reports and moderation cases: a human review queue ordered by status and priority, with escalation.';
COMMENT ON COLUMN lp.reports.reporter_id IS 'Who reported (kept anonymous from the reported user); NULL after the reporter is erased.';
COMMENT ON COLUMN lp.reports.priority_rank IS 'Sort key derived from priority (0 = critical) for the moderation queue.';
COMMENT ON COLUMN lp.reports.assigned_to_label IS 'What users who are not staff see instead of assigned_to: lp.staff_label(assigned_to) (e.g. ''admin #3f9a''), set by a trigger when assigned_to is set; assigned_to itself is not granted to the application roles.';
COMMENT ON COLUMN lp.reports.resolved_by_label IS 'What users who are not staff see instead of resolved_by: lp.staff_label(resolved_by) (e.g. ''admin #3f9a''), set by a trigger when resolved_by is set; resolved_by itself is not granted to the application roles.';

CREATE INDEX reports_queue_idx ON lp.reports (status, priority_rank, created_at);
CREATE INDEX reports_reported_user_idx ON lp.reports (reported_user_id, created_at DESC);
CREATE INDEX reports_reporter_idx ON lp.reports (reporter_id, created_at DESC);
CREATE INDEX reports_stream_idx ON lp.reports (stream_id) WHERE stream_id IS NOT NULL;

ALTER TABLE lp.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.reports FORCE ROW LEVEL SECURITY;
CREATE TRIGGER reports_touch_updated_at BEFORE UPDATE ON lp.reports
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();
CREATE TRIGGER reports_label_staff BEFORE INSERT OR UPDATE ON lp.reports
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('assigned_to', 'assigned_to_label', 'resolved_by', 'resolved_by_label');

RESET ROLE;
