-- STABLE, not IMMUTABLE: convert_to is STABLE, and an IMMUTABLE SQL function with a STABLE body is never inlined,
-- so each call ran through the SQL-function executor, parsed and planned again per statement (api.authenticate:
-- ~15 us of every tip). STABLE, it is inlined into its callers' cached plans. No index or constraint uses it.
CREATE FUNCTION lp.hash_token(p_token text) RETURNS bytea
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$
    SELECT sha256(convert_to(p_token, 'UTF8'))
$$;
COMMENT ON FUNCTION lp.hash_token(text) IS 'SHA-256 of a bearer token: what the database stores instead of the token. A fast hash is right here: tokens carry 256 random bits.';
REVOKE ALL ON FUNCTION lp.hash_token(text) FROM PUBLIC;
