CREATE FUNCTION lp.open_wallet(p_user_id uuid) RETURNS uuid
    LANGUAGE sql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    INSERT INTO lp.wallets (kind, user_id) VALUES ('user', p_user_id) RETURNING id
$$;
COMMENT ON FUNCTION lp.open_wallet(uuid) IS 'Creates the wallet of a new user (default rate: 100 tokens per USD); returns its id.';
REVOKE ALL ON FUNCTION lp.open_wallet(uuid) FROM PUBLIC;
