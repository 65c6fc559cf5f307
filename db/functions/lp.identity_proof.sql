CREATE FUNCTION lp.identity_proof(p_user_id text, p_session_id text, p_via text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- The proof binds the claim to this backend and this transaction (its start time, in epoch seconds so
    -- that no DateStyle or TimeZone setting changes the text): it is worthless anywhere else.
    RETURN (SELECT encode(ext.hmac(convert_to(concat_ws('|', 'lp-identity-v1', p_user_id, coalesce(p_session_id, ''),
                                                        coalesce(p_via, ''), pg_backend_pid(),
                                                        extract(epoch FROM transaction_timestamp())), 'UTF8'),
                                   s.value, 'sha256'), 'base64')
              FROM lp.secrets AS s WHERE s.name = 'identity');
END
$$;
COMMENT ON FUNCTION lp.identity_proof(text, text, text) IS 'HMAC-SHA256, keyed by lp.secrets ''identity'', of an acting identity (user, session, how it was established) bound to the backend and the current transaction. Owner only: whoever could call it could forge identities.';
REVOKE ALL ON FUNCTION lp.identity_proof(text, text, text) FROM PUBLIC;
