CREATE FUNCTION api.unblock_viewer(p_user_id uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_performer uuid := lp.require_user('performer');
BEGIN
    DELETE FROM lp.performer_blocks AS b WHERE b.performer_id = v_performer AND b.blocked_id = p_user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'that user is not blocked';
    END IF;
    PERFORM lp.audit('stream.unblock', 'user', p_user_id::text);
END
$$;
COMMENT ON FUNCTION api.unblock_viewer(uuid) IS 'The acting performer lifts a block (api.block_viewer). LP002 not a performer, LP003 the user is not on their block list. Audited (stream.unblock).';
REVOKE ALL ON FUNCTION api.unblock_viewer(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.unblock_viewer(uuid) TO livepanty_app, livepanty_service;
