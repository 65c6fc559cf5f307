CREATE FUNCTION api.get_wallet(p_user_id uuid DEFAULT NULL)
RETURNS TABLE (
    wallet_id       uuid,
    user_id         uuid,
    balance         bigint,
    pending_credits bigint,
    total           bigint,
    reserved        bigint,
    available       bigint,
    in_debt         boolean,
    debt_since      timestamptz,
    currency        text,
    tokens_per_unit integer,
    value_minor     bigint
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_target uuid := coalesce(p_user_id, v_actor);
BEGIN
    IF v_target <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
    RETURN QUERY
    SELECT w.id, w.user_id, w.balance, s.credits, w.balance + s.credits, w.reserved,
           -- A debit sweeps the shards into the main balance when it needs them, so they count as available.
           w.balance + s.credits - w.reserved,
           w.debt_since IS NOT NULL, w.debt_since, w.currency, w.tokens_per_unit,
           -- Minor currency units (cents: 100 per unit), rounded down (towards minus infinity for a debt).
           floor((w.balance + s.credits)::numeric * 100 / w.tokens_per_unit)::bigint
      FROM lp.wallets AS w
     CROSS JOIN LATERAL (SELECT coalesce(sum(ws.balance), 0)::bigint AS credits
                           FROM lp.wallet_shards AS ws WHERE ws.wallet_id = w.id) AS s
     WHERE w.user_id = v_target;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
END
$$;
COMMENT ON FUNCTION api.get_wallet(uuid) IS 'A user''s wallet (one row): the acting user''s own (default), or anyone''s for admins; LP003 otherwise or when the user has no wallet. balance is the main balance, pending_credits the credits waiting in the credit shards (swept into the main balance when needed), total = balance + pending_credits, available = total - reserved (what the user can spend: a debit sweeps the shards into the main balance when it needs them), in_debt when a clawback left the wallet owing tokens. value_minor is total in minor currency units (cents) at the wallet''s rate, rounded down: floor(total * 100 / tokens_per_unit).';
REVOKE ALL ON FUNCTION api.get_wallet(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_wallet(uuid) TO livepanty_app, livepanty_service;
