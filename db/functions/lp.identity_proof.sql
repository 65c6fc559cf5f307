-- No SET search_path (an exception to docs/CONVENTIONS.md, allowed by the catalog test for owner-only helpers):
-- a SQL function with a SET clause is never inlined, and this one runs on every api.current_user_id() call.
-- Only the owner's SECURITY DEFINER functions (whose search path is pinned) can call it; every name is qualified.
CREATE FUNCTION lp.identity_proof(p_user_id text, p_session_id text, p_via text, p_key bytea) RETURNS text
    LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
    -- The proof binds the claim to this backend and this transaction (its start time, in epoch seconds so
    -- that no DateStyle or TimeZone setting changes the text): it is worthless anywhere else. EXTRACT gives
    -- a numeric, printed in full whatever the session says: date_part's float8 follows extra_float_digits, and
    -- at -15 every transaction of a backend printed as the same '2e+09', so a proof copied to session level
    -- stayed valid in later transactions.
    SELECT pg_catalog.encode(
               ext.hmac(pg_catalog.convert_to(pg_catalog.concat_ws('|', 'lp-identity-v1', p_user_id,
                                                                    coalesce(p_session_id, ''), coalesce(p_via, ''),
                                                                    pg_catalog.pg_backend_pid(),
                                                                    EXTRACT(epoch FROM pg_catalog.transaction_timestamp())),
                                              'UTF8'),
                        p_key, 'sha256'),
               'base64')
$$;
COMMENT ON FUNCTION lp.identity_proof(text, text, text, bytea) IS 'HMAC-SHA256, keyed by p_key (lp.secrets ''identity''), of an acting identity (user, session, how it was established) bound to the backend and the current transaction. The one definition of the proof, used by lp.set_identity and api.current_user_id. Owner only.';
REVOKE ALL ON FUNCTION lp.identity_proof(text, text, text, bytea) FROM PUBLIC;
