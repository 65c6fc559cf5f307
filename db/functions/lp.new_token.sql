CREATE FUNCTION lp.new_token() RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT translate(rtrim(encode(ext.gen_random_bytes(32), 'base64'), '='), '+/', '-_')
$$;
COMMENT ON FUNCTION lp.new_token() IS 'A new bearer token: 256 bits from pgcrypto''s CSPRNG, base64url without padding (43 characters).';
REVOKE ALL ON FUNCTION lp.new_token() FROM PUBLIC;
