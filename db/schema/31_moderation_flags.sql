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
