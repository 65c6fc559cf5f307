CREATE FUNCTION lp.idempotency_slot(p_key text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- One key space per caller: the acting user, or the back office when nobody acts. The caller's key is
    -- stored hashed, so any key of up to 128 characters fits beside the prefix.
    SELECT coalesce(api.current_user_id()::text, 'service') || ':' || encode(sha256(convert_to(p_key, 'UTF8')), 'hex')
$$;
COMMENT ON FUNCTION lp.idempotency_slot(text) IS 'Where a transition''s idempotency key is recorded: per caller (acting user id, or service), so one caller''s keys never collide with another''s.';
REVOKE ALL ON FUNCTION lp.idempotency_slot(text) FROM PUBLIC;
