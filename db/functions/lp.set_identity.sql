CREATE FUNCTION lp.set_identity(p_user_id uuid, p_session_id uuid, p_via text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_session text := coalesce(p_session_id::text, '');
BEGIN
    IF p_user_id IS NULL OR p_via NOT IN ('session', 'service') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.set_identity: a user and a known way of acting are required';
    END IF;
    -- Transaction-local (is_local = true): nothing outlives the transaction, and the proof would not either.
    PERFORM set_config('lp.user_id', p_user_id::text, true);
    PERFORM set_config('lp.session_id', v_session, true);
    PERFORM set_config('lp.acting_via', p_via, true);
    PERFORM set_config('lp.identity_proof', lp.identity_proof(p_user_id::text, v_session, p_via), true);
END
$$;
COMMENT ON FUNCTION lp.set_identity(uuid, uuid, text) IS 'Makes p_user_id the proven acting user for the rest of the transaction (via ''session'': api.authenticate; ''service'': api.act_as). Owner only: called by those two functions (and by the superuser''s test helpers).';
REVOKE ALL ON FUNCTION lp.set_identity(uuid, uuid, text) FROM PUBLIC;
