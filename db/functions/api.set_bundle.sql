CREATE FUNCTION api.set_bundle(
    p_code        text,
    p_tokens      bigint,
    p_price_minor bigint,
    p_currency    text DEFAULT 'USD',
    p_active      boolean DEFAULT true
) RETURNS lp.token_bundles
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user('admin');
    v_old    lp.token_bundles;
    v_bundle lp.token_bundles;
    v_max_price bigint := (lp.setting('money.max_price_minor'))::bigint;
BEGIN
    IF p_code IS NULL OR p_code !~ '^[a-z0-9_]{1,40}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'bundle code must be 1-40 lower-case letters, digits or underscores';
    END IF;
    -- LP103 unless 1..money.max_tokens tokens (each payment of the bundle credits them).
    PERFORM lp.check_tokens(p_tokens, 'bundle tokens');
    IF p_price_minor IS NULL OR p_price_minor < 1 OR p_price_minor > v_max_price THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'a bundle price is out of range (minor units)',
            DETAIL = format('between 1 and %s (money.max_price_minor)', v_max_price);
    END IF;
    IF p_currency IS NULL OR p_currency !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'currency must be an ISO 4217 code (three capital letters)';
    END IF;
    IF p_active IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'active must be true or false';
    END IF;

    SELECT b.* INTO v_old FROM lp.token_bundles AS b WHERE b.code = p_code FOR UPDATE;
    -- Payments copy tokens and price when they are created: a change applies to payments created after it.
    INSERT INTO lp.token_bundles AS b (code, tokens, price_minor, currency, active)
    VALUES (p_code, p_tokens, p_price_minor, p_currency, p_active)
    ON CONFLICT (code) DO UPDATE
       SET tokens = excluded.tokens, price_minor = excluded.price_minor, currency = excluded.currency,
           active = excluded.active
    RETURNING b.* INTO v_bundle;
    PERFORM lp.audit('config.bundle_change', 'bundle', p_code,
        jsonb_build_object(
            'old', CASE WHEN v_old.code IS NOT NULL THEN
                       jsonb_build_object('tokens', v_old.tokens, 'price_minor', v_old.price_minor,
                                          'currency', v_old.currency, 'active', v_old.active) END,
            'new', jsonb_build_object('tokens', v_bundle.tokens, 'price_minor', v_bundle.price_minor,
                                      'currency', v_bundle.currency, 'active', v_bundle.active)),
        NULL, v_actor);
    RETURN v_bundle;
END
$$;
COMMENT ON FUNCTION api.set_bundle(text, bigint, bigint, text, boolean) IS 'Admins: creates or changes a token bundle (code, tokens, price in minor units, currency, on sale or not); audited as config.bundle_change with the old and new values. Payments already created keep the tokens and price they copied. LP018 malformed code or currency, LP103 tokens not in 1..money.max_tokens or price not in 1..money.max_price_minor.';
REVOKE ALL ON FUNCTION api.set_bundle(text, bigint, bigint, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_bundle(text, bigint, bigint, text, boolean) TO livepanty_app, livepanty_service;
