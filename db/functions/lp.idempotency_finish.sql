CREATE FUNCTION lp.idempotency_finish(p_scope text, p_key text, p_response jsonb) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    UPDATE lp.idempotency_keys AS k SET response = p_response WHERE k.scope = p_scope AND k.key = lp.idempotency_slot(p_scope, p_key)
$$;
COMMENT ON FUNCTION lp.idempotency_finish(text, text, jsonb) IS 'Stores the response of an idempotent state transition (see lp.idempotency_begin).';
REVOKE ALL ON FUNCTION lp.idempotency_finish(text, text, jsonb) FROM PUBLIC;
