-- No SET search_path (owner-only helper, see lp.identity_proof): its callers pin theirs.
CREATE FUNCTION lp.set_identity(p_user_id uuid, p_session_id uuid, p_via text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    v_session text := coalesce(p_session_id::text, '');
    v_key     bytea;
BEGIN
    IF p_user_id IS NULL OR p_via IS NULL OR p_via NOT IN ('session', 'service') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.set_identity: a user and a known way of acting are required';
    END IF;
    SELECT s.value INTO v_key FROM lp.secrets AS s WHERE s.name = 'identity';
    -- Transaction-local (is_local = true): nothing outlives the transaction, and the proof would not either.
    PERFORM pg_catalog.set_config('lp.user_id', p_user_id::text, true),
            pg_catalog.set_config('lp.session_id', v_session, true),
            pg_catalog.set_config('lp.acting_via', p_via, true),
            pg_catalog.set_config('lp.identity_proof', lp.identity_proof(p_user_id::text, v_session, p_via, v_key), true);
END
$$;
COMMENT ON FUNCTION lp.set_identity(uuid, uuid, text) IS 'Makes p_user_id the proven acting user for the rest of the transaction (via ''session'': api.authenticate; ''service'': api.act_as). Owner only: called by those two functions (and by the superuser''s test helpers).';
REVOKE ALL ON FUNCTION lp.set_identity(uuid, uuid, text) FROM PUBLIC;
