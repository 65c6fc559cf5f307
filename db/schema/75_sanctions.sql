SET ROLE livepanty_owner;

-- Sanctions that restrict one action each, a suspension that sends the account back to review when it
-- ends, and appeals (issue 9, section 3).
ALTER TABLE lp.user_sanctions
    ADD COLUMN review_on_expiry  boolean NOT NULL DEFAULT false,
    ADD COLUMN expiry_handled_at timestamptz,
    ADD COLUMN expiry_case_id    uuid,
    ADD CONSTRAINT user_sanctions_review_on_expiry_check CHECK (NOT review_on_expiry OR sanction_type = 'suspension');
COMMENT ON TABLE lp.user_sanctions IS 'Sanctions of a user: warning (recorded only), mute (no tip messages), tip_block (no tips or holds), stream_block (cannot go live), payout_hold (no payouts), suspension (timed) and ban (everything, login included). What each type forbids: lp.sanction_types; the one check: lp.sanction_refusal / lp.assert_sanction_allows.';
COMMENT ON COLUMN lp.user_sanctions.review_on_expiry IS 'A suspension that, once it ends, sends the account back to the review queue (api.expire_sanctions files a case) instead of just lifting.';
COMMENT ON COLUMN lp.user_sanctions.expiry_handled_at IS 'When api.expire_sanctions handled the end of a review_on_expiry suspension (set once: the job is idempotent).';
COMMENT ON COLUMN lp.user_sanctions.expiry_case_id IS 'The review case api.expire_sanctions filed (lp.open_case) when the suspension ended.';
CREATE INDEX user_sanctions_review_due_idx ON lp.user_sanctions (ends_at)
    WHERE review_on_expiry AND expiry_handled_at IS NULL AND (revoked_at IS NULL OR revoked_at >= ends_at);

CREATE TABLE lp.sanction_appeals (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sanction_id      uuid NOT NULL UNIQUE REFERENCES lp.user_sanctions (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    statement        text NOT NULL CHECK (char_length(statement) BETWEEN 1 AND 4000),
    status           lp.appeal_status NOT NULL DEFAULT 'pending',
    decided_by       uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    decision_reasons text CHECK (char_length(decision_reasons) BETWEEN 1 AND 2000),
    decided_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_by_label text,
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((decided_at IS NULL) = (decision_reasons IS NULL))
);
COMMENT ON TABLE lp.sanction_appeals IS 'Appeals against sanctions: one per sanction (UNIQUE sanction_id), by the sanctioned user within appeals.window_days of the sanction (api.appeal_sanction); decided by a moderator or admin other than the issuer (api.decide_appeal). A granted appeal revokes the sanction. An appeal pending when its sanction is lifted otherwise is closed as moot (lp.moot_appeal: decided_by the one who lifted it, decision_reasons why).';
COMMENT ON COLUMN lp.sanction_appeals.statement IS 'The appellant''s text.';
COMMENT ON COLUMN lp.sanction_appeals.decision_reasons IS 'The decider''s statement of reasons, readable by the appellant.';
COMMENT ON COLUMN lp.sanction_appeals.decided_by_label IS 'What users who are not staff see instead of decided_by: lp.staff_label(decided_by), set by a trigger; decided_by itself is not granted to the application roles.';
CREATE INDEX sanction_appeals_pending_idx ON lp.sanction_appeals (created_at) WHERE status = 'pending';
CREATE INDEX sanction_appeals_user_idx ON lp.sanction_appeals (user_id, created_at);
ALTER TABLE lp.sanction_appeals ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_appeals FORCE ROW LEVEL SECURITY;
CREATE TRIGGER sanction_appeals_label_staff BEFORE INSERT OR UPDATE ON lp.sanction_appeals
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('decided_by', 'decided_by_label');

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('appeals.window_days', '14', 'Days after a sanction starts during which its user may appeal it (api.appeal_sanction).');
