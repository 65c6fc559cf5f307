CREATE FUNCTION api.get_spending_limits()
RETURNS TABLE (
    period               text,
    limit_tokens         bigint,
    pending_limit_tokens bigint,
    pending_effective_at timestamptz,
    window_start         timestamptz,
    spent                bigint,
    reserved             bigint,
    remaining            bigint
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user uuid := lp.require_user();
BEGIN
    RETURN QUERY
        SELECT u.period, u.limit_tokens, u.pending_limit_tokens, u.pending_effective_at, u.window_start,
               u.spent, u.reserved,
               CASE WHEN u.limit_tokens IS NOT NULL THEN greatest(u.limit_tokens - u.spent - u.reserved, 0) END
          FROM lp.spending_limit_usage(v_user) AS u;
END
$$;
COMMENT ON FUNCTION api.get_spending_limits() IS 'The acting user''s spending limits (daily, weekly, monthly; only those set), each as it stands now: limit_tokens = the cap in force (a pending change whose time has come already counts), the pending raise or removal (pending_effective_at set; pending_limit_tokens NULL = removal), the rolling window''s start, tokens spent in it (tips, hold captures), tokens reserved by open holds, and remaining = what may still be spent. LP001 nobody acting.';
REVOKE ALL ON FUNCTION api.get_spending_limits() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_spending_limits() TO livepanty_app, livepanty_service;
