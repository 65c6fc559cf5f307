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

RESET ROLE;
