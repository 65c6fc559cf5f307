CREATE FUNCTION api.current_user_id() RETURNS uuid
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user text := current_setting('lp.user_id', true);
    v_key  bytea;
BEGIN
    IF v_user IS NULL OR v_user = '' THEN
        RETURN NULL;
    END IF;
    SELECT s.value INTO v_key FROM lp.secrets AS s WHERE s.name = 'identity';
    -- Digests are compared, not the proofs: no byte-by-byte timing of a guessed proof.
    IF v_key IS NULL
       OR sha256(convert_to(coalesce(current_setting('lp.identity_proof', true), ''), 'UTF8'))
          <> sha256(convert_to(lp.identity_proof(v_user, current_setting('lp.session_id', true),
                                                 current_setting('lp.acting_via', true), v_key), 'UTF8')) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP005', MESSAGE = 'the acting identity is not proven',
            DETAIL = 'lp.user_id is set, but not by api.authenticate or api.act_as in this transaction.',
            HINT = 'Call api.authenticate(session_token) (or api.act_as(user, reason) as livepanty_service) in the same transaction; identity settings are never taken on trust.';
    END IF;
    RETURN v_user::uuid;
END
$$;
COMMENT ON FUNCTION api.current_user_id() IS 'The platform user acting in this transaction, or NULL. The identity is proven: it must have been set by api.authenticate or api.act_as in this very transaction (an HMAC over user, session, backend and transaction, keyed by an owner-only secret); one set any other way (set_config, SET, a connection option, carried over from an earlier transaction) raises LP005.';
REVOKE ALL ON FUNCTION api.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.current_user_id() TO livepanty_app, livepanty_service, livepanty_readonly;
