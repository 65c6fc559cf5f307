-- Undo 0026_kyc_lifecycle (the repeatable functions and views that use these objects are dropped before this runs).
-- Refuses while a compliance officer exists (the role cannot be taken back silently). Statuses go back to the
-- old text list: started, submitted, in_review and resubmission_requested -> pending; declined and abandoned ->
-- rejected (with a reason).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.users WHERE role::text = 'compliance_officer') THEN
        RAISE EXCEPTION 'compliance officers exist: 0026 cannot be rolled back before their role is changed';
    END IF;
END
$$;
DELETE FROM lp.settings WHERE key IN ('kyc.auto_approve_score', 'kyc.auto_decline_score', 'kyc.max_declines');
DELETE FROM lp.secrets WHERE name = 'kyc';
SET ROLE livepanty_owner;
DROP TRIGGER kyc_verifications_record_frozen ON lp.kyc_verifications;
DROP TABLE lp.kyc_webhook_events;
DROP TABLE lp.kyc_aliases;
DROP FUNCTION lp.kyc_record_frozen();
DROP FUNCTION lp.kyc_aliases_frozen();
DROP INDEX lp.kyc_verifications_reference_idx;
COMMENT ON COLUMN lp.kyc_verifications.legal_name_encrypted IS 'Legal name encrypted by the application (envelope encryption); the database never sees the key.';
ALTER TABLE lp.kyc_verifications DROP COLUMN approved_at, DROP COLUMN decided_by, DROP COLUMN reasons,
    DROP COLUMN last_event_at;
ALTER TABLE lp.users DROP COLUMN kyc_extra_attempts;

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

DROP INDEX lp.kyc_verifications_one_open_key;
DROP INDEX lp.kyc_verifications_queue_idx;
ALTER TABLE lp.kyc_verifications DROP CONSTRAINT kyc_verifications_check, DROP CONSTRAINT kyc_verifications_check1,
    ALTER COLUMN status DROP DEFAULT;
UPDATE lp.kyc_verifications SET rejection_reason = coalesce(rejection_reason, status::text)
 WHERE status IN ('declined', 'abandoned');
ALTER TABLE lp.kyc_verifications ALTER COLUMN status TYPE text
    USING CASE WHEN status IN ('started', 'submitted', 'in_review', 'resubmission_requested') THEN 'pending'
               WHEN status IN ('declined', 'abandoned') THEN 'rejected'
               ELSE status::text END;
ALTER TABLE lp.kyc_verifications ALTER COLUMN status SET DEFAULT 'pending',
    ADD CONSTRAINT kyc_verifications_status_check CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    ADD CONSTRAINT kyc_verifications_check CHECK (status = 'pending' OR reviewed_at IS NOT NULL),
    ADD CONSTRAINT kyc_verifications_check1 CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL);
CREATE UNIQUE INDEX kyc_verifications_one_pending_key ON lp.kyc_verifications (user_id) WHERE status = 'pending';
CREATE INDEX kyc_verifications_queue_idx ON lp.kyc_verifications (submitted_at) WHERE status = 'pending';
DROP TYPE lp.kyc_status;

-- The enum value cannot be dropped: the type is re-created without it.
DROP INDEX lp.users_role_idx;
ALTER TABLE lp.users ALTER COLUMN role DROP DEFAULT;
ALTER TYPE lp.user_role RENAME TO user_role_0026;
CREATE TYPE lp.user_role AS ENUM ('viewer', 'performer', 'moderator', 'admin');
COMMENT ON TYPE lp.user_role IS 'Platform role of a user (lp.users.role).';
ALTER TABLE lp.users ALTER COLUMN role TYPE lp.user_role USING role::text::lp.user_role;
ALTER TABLE lp.users ALTER COLUMN role SET DEFAULT 'viewer';
CREATE INDEX users_role_idx ON lp.users (role, created_at) WHERE deleted_at IS NULL;
DROP TYPE lp.user_role_0026;
RESET ROLE;
