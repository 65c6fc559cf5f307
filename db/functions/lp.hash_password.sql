CREATE FUNCTION lp.hash_password(p_password text) RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT ext.crypt(p_password, ext.gen_salt('bf', (lp.setting('auth.bcrypt_cost'))::integer))
$$;
COMMENT ON FUNCTION lp.hash_password(text) IS 'bcrypt hash of a password at the work factor auth.bcrypt_cost, as stored (no clamp here: api.set_setting enforces the floor of 10 where settings are written; the test template sets 4 directly, as the superuser, for speed).';
REVOKE ALL ON FUNCTION lp.hash_password(text) FROM PUBLIC;
