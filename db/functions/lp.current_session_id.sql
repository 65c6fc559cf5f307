CREATE FUNCTION lp.current_session_id() RETURNS uuid
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- api.current_user_id() proves lp.session_id together with lp.user_id (LP005 when forged).
    IF api.current_user_id() IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN nullif(current_setting('lp.session_id', true), '')::uuid;
END
$$;
COMMENT ON FUNCTION lp.current_session_id() IS 'The session through which the acting user authenticated in this transaction (NULL when nobody acts, or a service acts through api.act_as); proven like api.current_user_id.';
REVOKE ALL ON FUNCTION lp.current_session_id() FROM PUBLIC;
