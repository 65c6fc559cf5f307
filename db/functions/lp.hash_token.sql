CREATE FUNCTION lp.hash_token(p_token text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT sha256(convert_to(p_token, 'UTF8'))
$$;
COMMENT ON FUNCTION lp.hash_token(text) IS 'SHA-256 of a bearer token: what the database stores instead of the token. A fast hash is right here: tokens carry 256 random bits.';
REVOKE ALL ON FUNCTION lp.hash_token(text) FROM PUBLIC;
