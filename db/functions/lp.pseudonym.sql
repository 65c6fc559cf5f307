CREATE FUNCTION lp.pseudonym(p_value text, p_key bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT left(encode(ext.hmac(convert_to('lp-pseudonym-v1|' || p_value, 'UTF8'), p_key, 'sha256'), 'hex'), 16)
$$;
COMMENT ON FUNCTION lp.pseudonym(text, bytea) IS 'The reporting pseudonym of an id (its text form): the first 16 hex digits (64 bits) of HMAC-SHA256 keyed by p_key, which the reporting views read from lp.secrets ''pseudonym'' with the owner''s rights. Deterministic, so pseudonyms join across views; worthless without the key, which livepanty_readonly cannot read. SECURITY INVOKER: the views call it as the reader, hence the grant.';
REVOKE ALL ON FUNCTION lp.pseudonym(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.pseudonym(text, bytea) TO livepanty_readonly;
