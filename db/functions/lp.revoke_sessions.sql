CREATE FUNCTION lp.revoke_sessions(
    p_user_id uuid,
    p_reason  text,
    p_except  uuid DEFAULT NULL
) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE lp.auth_sessions AS s
       SET revoked_at = now(), revoke_reason = p_reason
     WHERE s.user_id = p_user_id
       AND s.revoked_at IS NULL
       AND s.expires_at > now()
       AND s.id IS DISTINCT FROM p_except;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION lp.revoke_sessions(uuid, text, uuid) IS 'Revokes every live session of a user except p_except; returns how many.';
REVOKE ALL ON FUNCTION lp.revoke_sessions(uuid, text, uuid) FROM PUBLIC;
