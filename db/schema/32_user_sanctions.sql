SET ROLE livepanty_owner;

CREATE TABLE lp.user_sanctions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    sanction_type lp.sanction_type NOT NULL,
    reason        text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    report_id     uuid REFERENCES lp.reports (id) ON DELETE SET NULL,
    issued_by     uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    starts_at     timestamptz NOT NULL DEFAULT now(),
    ends_at       timestamptz,
    revoked_at    timestamptz,
    revoked_by    uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    revoke_reason text CHECK (char_length(revoke_reason) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    issued_by_label  text,
    revoked_by_label text,
    CHECK (ends_at IS NULL OR ends_at > starts_at),
    CHECK (sanction_type <> 'suspension' OR ends_at IS NOT NULL),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
COMMENT ON TABLE lp.user_sanctions IS 'Warnings, mutes, suspensions and bans. An active suspension or ban blocks login, tipping, payouts (lp.active_sanction).';
COMMENT ON COLUMN lp.user_sanctions.ends_at IS 'NULL = permanent (bans); suspensions always end.';
COMMENT ON COLUMN lp.user_sanctions.revoked_at IS 'Lifted early by a moderator or admin (revoke_reason says why).';
COMMENT ON COLUMN lp.user_sanctions.issued_by_label IS 'What users who are not staff see instead of issued_by: lp.staff_label(issued_by) (e.g. ''admin #3f9a''), set by a trigger when issued_by is set; issued_by itself is not granted to the application roles.';
COMMENT ON COLUMN lp.user_sanctions.revoked_by_label IS 'What users who are not staff see instead of revoked_by: lp.staff_label(revoked_by) (e.g. ''admin #3f9a''), set by a trigger when revoked_by is set; revoked_by itself is not granted to the application roles.';

CREATE INDEX user_sanctions_user_active_idx ON lp.user_sanctions (user_id, starts_at) WHERE revoked_at IS NULL;

ALTER TABLE lp.user_sanctions ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.user_sanctions FORCE ROW LEVEL SECURITY;
CREATE TRIGGER user_sanctions_label_staff BEFORE INSERT OR UPDATE ON lp.user_sanctions
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('issued_by', 'issued_by_label', 'revoked_by', 'revoked_by_label');

RESET ROLE;
