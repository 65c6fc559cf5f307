CREATE FUNCTION lp.kyc_decrypt(p_ciphertext bytea) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT CASE WHEN p_ciphertext IS NOT NULL THEN ext.pgp_sym_decrypt(p_ciphertext, encode(s.value, 'hex')) END
      FROM lp.secrets AS s WHERE s.name = 'kyc'
$$;
COMMENT ON FUNCTION lp.kyc_decrypt(bytea) IS 'Decrypts what lp.kyc_encrypt made; NULL stays NULL. Owner only: called by api.kyc_record (compliance officers, audited).';
REVOKE ALL ON FUNCTION lp.kyc_decrypt(bytea) FROM PUBLIC;
