-- Trigger functions the tables need. They belong to the schema (not the repeatable definitions) because
-- triggers depend on them.
SET ROLE livepanty_owner;

CREATE FUNCTION lp.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lp.touch_updated_at() IS 'BEFORE UPDATE trigger: keeps updated_at current.';
REVOKE ALL ON FUNCTION lp.touch_updated_at() FROM PUBLIC;

CREATE FUNCTION lp.reject_mutation() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'LP090',
        MESSAGE = pg_catalog.format('%s.%s is append-only: %s is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP),
        HINT = 'Record a correcting entry instead of changing history.';
END
$$;
COMMENT ON FUNCTION lp.reject_mutation() IS 'Trigger that rejects UPDATE, DELETE and TRUNCATE on append-only tables (audit_logs, ledger), for every role including the owner.';
REVOKE ALL ON FUNCTION lp.reject_mutation() FROM PUBLIC;

-- What a non-staff user sees instead of a staff member's id (docs/api.md, "Staff labels").
CREATE FUNCTION lp.staff_label(p_user_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(CASE WHEN u.role::text IN ('moderator', 'admin', 'compliance_officer') THEN u.role::text END,
                            'staff') || ' #'
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

RESET ROLE;
