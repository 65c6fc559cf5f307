CREATE FUNCTION lp.kyc_encrypt(p_plaintext text) RETURNS bytea
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- OpenPGP symmetric encryption (AES-256, salted and iterated S2K) under the installation's 'kyc' key.
    SELECT CASE WHEN p_plaintext IS NOT NULL THEN
               ext.pgp_sym_encrypt(p_plaintext, encode(s.value, 'hex'), 'cipher-algo=aes256, s2k-mode=3')
           END
      FROM lp.secrets AS s WHERE s.name = 'kyc'
$$;
COMMENT ON FUNCTION lp.kyc_encrypt(text) IS 'Encrypts a KYC record value (the legal name) with pgcrypto (ext.pgp_sym_encrypt, AES-256) under lp.secrets ''kyc''; NULL stays NULL. Owner only: the key never leaves owner code.';
REVOKE ALL ON FUNCTION lp.kyc_encrypt(text) FROM PUBLIC;
