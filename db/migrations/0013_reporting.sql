-- 0013_reporting: who may read what (issue 6, point 5). Frozen once landed.
--  * Staff labels: users read 'admin #3f9a' (lp.staff_label) instead of a staff member's id; the *_label columns
--    are filled by the trigger lp.label_staff, and db/policies no longer grants the id columns.
--  * Schema reporting for the pseudonymised views of livepanty_readonly (db/views/reporting.*.sql, repeatables),
--    which loses schema lp and every lp table.
-- Grants and policies are repeatables (db/policies): this file only revokes what earlier deploys granted
-- livepanty_readonly, so that nothing is left behind until the deploy re-applies them.

SET ROLE livepanty_owner;

-- from db/schema/02_trigger_functions.sql
-- What a non-staff user sees instead of a staff member's id (docs/api.md, "Staff labels").
CREATE FUNCTION lp.staff_label(p_user_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(CASE WHEN u.role IN ('moderator', 'admin') THEN u.role END, 'staff') || ' #'
                   || left(encode(ext.hmac(convert_to('lp-staff-label-v1|' || p_user_id::text, 'UTF8'), s.value,
                                           'sha256'), 'hex'), 4)
              FROM lp.secrets AS s
              LEFT JOIN lp.users AS u ON u.id = p_user_id
             WHERE s.name = 'pseudonym' AND p_user_id IS NOT NULL);
END
$$;
COMMENT ON FUNCTION lp.staff_label(uuid) IS 'The label shown to users instead of a staff member''s id: the member''s role now (moderator or admin; staff otherwise) and 4 hex digits of an HMAC-SHA256 of the id keyed by lp.secrets ''pseudonym'' (domain lp-staff-label-v1), e.g. ''admin #3f9a''. Stable per member, not reversible without the key. Reads lp.secrets, so only owner code (and superusers) can compute it.';
REVOKE ALL ON FUNCTION lp.staff_label(uuid) FROM PUBLIC;

CREATE FUNCTION lp.label_staff() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_new   jsonb := to_jsonb(NEW);
    v_old   jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
    v_set   jsonb := '{}'::jsonb;
    v_id    uuid;
    v_label text;
BEGIN
    -- TG_ARGV holds pairs (staff id column, its label column). A label is computed when the id is set and kept
    -- while the id stays the same (so it names the role the member had when they acted); nobody can write one.
    FOR i IN 0 .. TG_NARGS - 2 BY 2 LOOP
        v_id := (v_new ->> TG_ARGV[i])::uuid;
        IF v_id IS NULL THEN
            v_label := NULL;
        ELSIF v_old IS NOT NULL AND (v_old ->> TG_ARGV[i])::uuid = v_id AND v_old ->> TG_ARGV[i + 1] IS NOT NULL THEN
            v_label := v_old ->> TG_ARGV[i + 1];
        ELSE
            v_label := lp.staff_label(v_id);
        END IF;
        v_set := v_set || jsonb_build_object(TG_ARGV[i + 1], v_label);
    END LOOP;
    NEW := jsonb_populate_record(NEW, v_set);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lp.label_staff() IS 'Trigger: fills the label column of each (staff id column, label column) pair given as arguments with lp.staff_label(id) when the id is set, keeps it while the id is unchanged, clears it with the id. Runs inside the owner''s api functions (which may read lp.secrets).';
REVOKE ALL ON FUNCTION lp.label_staff() FROM PUBLIC;

-- from db/schema/26_kyc_verifications.sql, 27_payouts.sql, 30_reports.sql, 32_user_sanctions.sql, 64_adjustments.sql
ALTER TABLE lp.kyc_verifications
    ADD COLUMN reviewed_by_label text;
COMMENT ON COLUMN lp.kyc_verifications.reviewed_by_label IS 'What users who are not staff see instead of reviewed_by: lp.staff_label(reviewed_by) (e.g. ''admin #3f9a''), set by a trigger when reviewed_by is set; reviewed_by itself is not granted to the application roles.';
ALTER TABLE lp.payouts
    ADD COLUMN reviewed_by_label text;
COMMENT ON COLUMN lp.payouts.reviewed_by_label IS 'What users who are not staff see instead of reviewed_by: lp.staff_label(reviewed_by) (e.g. ''admin #3f9a''), set by a trigger when reviewed_by is set; reviewed_by itself is not granted to the application roles.';
ALTER TABLE lp.reports
    ADD COLUMN assigned_to_label text,
    ADD COLUMN resolved_by_label text;
COMMENT ON COLUMN lp.reports.assigned_to_label IS 'What users who are not staff see instead of assigned_to: lp.staff_label(assigned_to) (e.g. ''admin #3f9a''), set by a trigger when assigned_to is set; assigned_to itself is not granted to the application roles.';
COMMENT ON COLUMN lp.reports.resolved_by_label IS 'What users who are not staff see instead of resolved_by: lp.staff_label(resolved_by) (e.g. ''admin #3f9a''), set by a trigger when resolved_by is set; resolved_by itself is not granted to the application roles.';
ALTER TABLE lp.user_sanctions
    ADD COLUMN issued_by_label text,
    ADD COLUMN revoked_by_label text;
COMMENT ON COLUMN lp.user_sanctions.issued_by_label IS 'What users who are not staff see instead of issued_by: lp.staff_label(issued_by) (e.g. ''admin #3f9a''), set by a trigger when issued_by is set; issued_by itself is not granted to the application roles.';
COMMENT ON COLUMN lp.user_sanctions.revoked_by_label IS 'What users who are not staff see instead of revoked_by: lp.staff_label(revoked_by) (e.g. ''admin #3f9a''), set by a trigger when revoked_by is set; revoked_by itself is not granted to the application roles.';
ALTER TABLE lp.adjustments
    ADD COLUMN created_by_label text;
COMMENT ON COLUMN lp.adjustments.created_by_label IS 'What users who are not staff see instead of created_by: lp.staff_label(created_by) (e.g. ''admin #3f9a''), set by a trigger when created_by is set; created_by itself is not granted to the application roles.';

RESET ROLE;

-- Label the rows written before (with the role the member has now: the one they had then is not recorded), as
-- the superuser, which reads lp.secrets whatever policies exist at this point, and with triggers off so that
-- updated_at stays as it was.
SET session_replication_role = replica;
UPDATE lp.kyc_verifications SET reviewed_by_label = lp.staff_label(reviewed_by) WHERE reviewed_by IS NOT NULL;
UPDATE lp.payouts SET reviewed_by_label = lp.staff_label(reviewed_by) WHERE reviewed_by IS NOT NULL;
UPDATE lp.reports SET assigned_to_label = lp.staff_label(assigned_to), resolved_by_label = lp.staff_label(resolved_by) WHERE assigned_to IS NOT NULL OR resolved_by IS NOT NULL;
UPDATE lp.user_sanctions SET issued_by_label = lp.staff_label(issued_by), revoked_by_label = lp.staff_label(revoked_by) WHERE issued_by IS NOT NULL OR revoked_by IS NOT NULL;
UPDATE lp.adjustments SET created_by_label = lp.staff_label(created_by) WHERE created_by IS NOT NULL;
RESET session_replication_role;

SET ROLE livepanty_owner;
CREATE TRIGGER kyc_verifications_label_staff BEFORE INSERT OR UPDATE ON lp.kyc_verifications
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('reviewed_by', 'reviewed_by_label');
CREATE TRIGGER payouts_label_staff BEFORE INSERT OR UPDATE ON lp.payouts
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('reviewed_by', 'reviewed_by_label');
CREATE TRIGGER reports_label_staff BEFORE INSERT OR UPDATE ON lp.reports
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('assigned_to', 'assigned_to_label', 'resolved_by', 'resolved_by_label');
CREATE TRIGGER user_sanctions_label_staff BEFORE INSERT OR UPDATE ON lp.user_sanctions
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('issued_by', 'issued_by_label', 'revoked_by', 'revoked_by_label');
CREATE TRIGGER adjustments_label_staff BEFORE INSERT OR UPDATE ON lp.adjustments
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('created_by', 'created_by_label');
RESET ROLE;

-- from db/schema/00_roles.sql, 01_schemas.sql and 03_reporting_schema.sql
COMMENT ON ROLE livepanty_readonly IS 'Reporting role: SELECT on the pseudonymised views of schema reporting only (no privilege on schema lp or its tables), no writers.';
CREATE SCHEMA reporting AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA reporting IS 'Pseudonymised read-only views for reporting (livepanty_readonly): every id is an HMAC pseudonym, no e-mail, username, date of birth, IP address, document location or free text. Definer views: the reader needs no privilege on lp.';

SET ROLE livepanty_owner;
GRANT USAGE ON SCHEMA reporting TO livepanty_readonly;
REVOKE USAGE ON SCHEMA lp FROM livepanty_readonly;
REVOKE ALL ON ALL TABLES IN SCHEMA lp FROM livepanty_readonly;
RESET ROLE;
