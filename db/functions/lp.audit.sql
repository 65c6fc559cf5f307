CREATE FUNCTION lp.audit(
    p_action      text,
    p_target_type text DEFAULT NULL,
    p_target_id   text DEFAULT NULL,
    p_details     jsonb DEFAULT '{}',
    p_ip_address  inet DEFAULT NULL,
    p_actor_id    uuid DEFAULT api.current_user_id()
) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := p_actor_id;
    v_service boolean := false;
BEGIN
    -- What a back-office login did in a user's name stays visible as such (api.act_as). The setting alone
    -- proves nothing (anyone can SET it): the marker is written only when the proven acting identity, set by
    -- api.act_as in this transaction, is this row's actor. The check runs only when the setting says so.
    IF v_actor IS NOT NULL AND current_setting('lp.acting_via', true) = 'service' THEN
        BEGIN
            v_service := api.current_user_id() IS NOT DISTINCT FROM v_actor;
        EXCEPTION WHEN SQLSTATE 'LP005' THEN
            v_service := false;
        END;
    END IF;
    INSERT INTO lp.audit_logs (actor_id, actor_role, action, target_type, target_id, ip_address, details)
    VALUES (v_actor,
            (SELECT u.role FROM lp.users AS u WHERE u.id = v_actor),
            p_action, p_target_type, p_target_id, p_ip_address,
            CASE WHEN v_service THEN coalesce(p_details, '{}') || '{"acting_via": "service"}'
                 ELSE coalesce(p_details, '{}') END);
END
$$;
COMMENT ON FUNCTION lp.audit(text, text, text, jsonb, inet, uuid) IS 'Appends one audit_logs row. The actor defaults to the acting user (pass NULL explicitly for an anonymous action); details must never contain secrets.';
REVOKE ALL ON FUNCTION lp.audit(text, text, text, jsonb, inet, uuid) FROM PUBLIC;
